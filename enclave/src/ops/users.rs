//! Users an admin manages with a user action:
//! - `PUT /auth/users/{id}/deactivate` and `/activate` (and `/auth/service-accounts/{id}/...`)
//!   change a user's status. A deactivated user can authorise nothing the enclave executes
//!   (its user record is refused as not active), and an organisation keeps an active admin.
//! - `POST /auth/service-accounts` makes a service account: a member user marked as such, with
//!   the Key credential of the public key the admin gives.

use serde_bytes::ByteBuf;
use signer_common::api::auth::CreateServiceAccountRequest;
use signer_common::identity::{
    CredentialKind, CredentialRecord, Notarized, RECORD_FORMAT, Record, Role, Status, UserRecord,
};
use signer_common::protocol::{ErrorCode, Outcome};
use signer_common::userauth::CredentialPublicKey;

use super::registration::MAX_NAME_LEN;
use super::wallets::parse_json;
use crate::auth::{Pending, auth_refusal};
use crate::core::EnclaveCore;
use crate::refusal::{Refusal, bad, check_id, check_text, conflict, forbidden};

/// Which users a status change may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Any user (`/auth/users/{id}/...`).
    AnyUser,
    /// A service account only (`/auth/service-accounts/{id}/...`).
    ServiceAccount,
}

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
        (target_id, kind): (&str, Target),
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
            .find(|u| u.user_id == target_id && (kind == Target::AnyUser || u.service_account))
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

    /// `POST /auth/service-accounts`. Order: the acting user is an admin (1), the body and its
    /// public key (2), then the account's records (3).
    pub(crate) fn create_service_account(
        &self,
        acting: &UserRecord,
        body: &[u8],
        pending: &mut Pending,
    ) -> Result<Outcome, Refusal> {
        let auth = &self.keys()?.auth;
        // 1. Only an admin.
        if acting.role != Role::Admin {
            return Err(forbidden("only an admin may create a service account"));
        }
        // 2. The body: a name, a public key, no permission set yet.
        let req: CreateServiceAccountRequest = parse_json(body)?;
        check_text("name", &req.name, MAX_NAME_LEN)?;
        if req.permission_id.is_some() {
            return Err(bad("permission sets are not supported yet: leave permissionId out"));
        }
        // P-256, secp256k1 or Ed25519 (what SPKI parsing accepts), on the curve.
        let public_key = CredentialPublicKey::from_spki_pem(&req.public_key).map_err(auth_refusal)?;
        // 3. A member user marked as a service account, and its Key credential.
        let user_id = format!("us-{}", hex::encode(self.random_array::<12>()?));
        let cred_id = self.random_array::<16>()?;
        let user = Record::User(UserRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: acting.org_id.clone(),
            user_id: user_id.clone(),
            username: req.name.clone(),
            role: Role::Member,
            status: Status::Active,
            service_account: true,
        });
        let credential = Record::Credential(CredentialRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: acting.org_id.clone(),
            user_id,
            cred_id: ByteBuf::from(cred_id.to_vec()),
            kind: CredentialKind::Key,
            public_key,
            name: req.name,
            status: Status::Active,
            sign_count: 0,
            pat_expires_at_ms: None,
        });
        let (user_n, credential_n) = (auth.notary.issue(&user), auth.notary.issue(&credential));
        pending.records.push(user);
        pending.records.push(credential);
        Ok(Outcome::ServiceAccountCreated { user: user_n, credential: credential_n })
    }
}
