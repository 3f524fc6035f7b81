//! `PUT /auth/users/{id}/deactivate` and `/activate`: an admin's user action changes a user's
//! status. A deactivated user can authorise nothing the enclave executes (its user record is
//! refused as not active), and an organisation keeps at least one active admin.

use signer_common::identity::{Notarized, Record, Role, Status, UserRecord};
use signer_common::protocol::{ErrorCode, Outcome};

use crate::auth::Pending;
use crate::core::EnclaveCore;
use crate::refusal::{Refusal, bad, check_id, conflict, forbidden};

/// The body of a status change: empty, or the empty JSON object.
fn check_empty_body(body: &[u8]) -> Result<(), Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body) {
        Ok(map) if map.is_empty() => Ok(()),
        _ => Err(bad("the body of a user status change is empty or {}")),
    }
}

impl EnclaveCore {
    /// Order: the acting user is an admin (1), the body (2), every presented user record
    /// verifies and is of the organisation (3), the target is among them (4) and changes (5),
    /// and an admin deactivated leaves another active admin (6).
    pub(crate) fn set_user_status(
        &self,
        acting: &UserRecord,
        users: &[Notarized],
        target_id: &str,
        body: &[u8],
        activate: bool,
        pending: &mut Pending,
    ) -> Result<Outcome, Refusal> {
        let auth = &self.keys()?.auth;
        // 1. Only an admin (active: the caller's record was checked so).
        if acting.role != Role::Admin {
            return Err(forbidden("only an admin may change a user's status"));
        }
        check_id("user id", target_id)?;
        // 2. Nothing else is asked.
        check_empty_body(body)?;
        // 3. The records the parent presents: the target and the other admins.
        let records =
            users.iter().map(|n| auth.org_user(n, &acting.org_id, pending)).collect::<Result<Vec<_>, _>>()?;
        // 4. The target.
        let target = records
            .iter()
            .find(|u| u.user_id == target_id)
            .ok_or((ErrorCode::NotFound, "no such user in the organisation".to_owned()))?;
        let status = if activate { Status::Active } else { Status::Inactive };
        // 5. A change.
        if target.status == status {
            return Err(conflict(format!("user is already {}", status.as_str())));
        }
        // 6. Another active admin remains (counting only records that verified).
        let another_admin = records
            .iter()
            .any(|u| u.user_id != target.user_id && u.role == Role::Admin && u.status == Status::Active);
        if !activate && target.role == Role::Admin && !another_admin {
            return Err(conflict("an organisation keeps at least one active admin"));
        }
        let record = Record::User(UserRecord { version: target.version + 1, status, ..target.clone() });
        let notarized = auth.notary.issue(&record);
        pending.records.push(record);
        Ok(Outcome::UserUpdated(notarized))
    }
}
