//! Personal access tokens: `POST /auth/pats` (the user's user action) makes a Key credential of
//! the user marked with an expiry (`pat_expires_at_ms`), whose key signs the token's user
//! actions and one-shot requests and never logs in; `DELETE /auth/pats/{id}` deactivates it.
//! The user's own status covers the token: a deactivated user's token key signs nothing.

use serde_bytes::ByteBuf;
use signer_common::api::auth::CreatePatRequest;
use signer_common::identity::{
    CredentialKind, CredentialRecord, Notarized, RECORD_FORMAT, Record, Status, UserRecord,
};
use signer_common::protocol::{ErrorCode, Outcome};
use signer_common::userauth::CredentialPublicKey;

use super::credentials::{b64, user_credentials};
use super::registration::MAX_NAME_LEN;
use super::wallets::parse_json;
use crate::auth::{Pending, auth_refusal};
use crate::core::EnclaveCore;
use crate::refusal::{Refusal, bad, check_id, check_text, conflict};

/// Days a token lives when the request names none.
pub const DEFAULT_PAT_DAYS: u32 = 30;

/// The most days a token may live.
pub const MAX_PAT_DAYS: u32 = 365;

const DAY_MS: u64 = 24 * 3600 * 1000;

impl EnclaveCore {
    /// `POST /auth/pats`. Order: the body (1), its public key (2), then the key's record (3).
    pub(crate) fn create_pat(
        &self,
        user: &UserRecord,
        body: &[u8],
        now: u64,
        pending: &mut Pending,
    ) -> Result<Outcome, Refusal> {
        let auth = &self.keys()?.auth;
        // 1. A name, a life of 1 to 365 days, no permission set yet.
        let req: CreatePatRequest = parse_json(body)?;
        check_text("name", &req.name, MAX_NAME_LEN)?;
        if req.permission_id.is_some() {
            return Err(bad("permission sets are not supported yet: leave permissionId out"));
        }
        let days = req.days_valid.unwrap_or(DEFAULT_PAT_DAYS);
        if !(1..=MAX_PAT_DAYS).contains(&days) {
            return Err(bad(format!("daysValid must be 1 to {MAX_PAT_DAYS}")));
        }
        // 2. P-256, secp256k1 or Ed25519, on the curve.
        let public_key = CredentialPublicKey::from_spki_pem(&req.public_key).map_err(auth_refusal)?;
        // 3. The user's credential, marked as a token's key with its expiry.
        let record = Record::Credential(CredentialRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: user.org_id.clone(),
            user_id: user.user_id.clone(),
            cred_id: ByteBuf::from(self.random_array::<16>()?.to_vec()),
            kind: CredentialKind::Key,
            public_key,
            name: req.name,
            status: Status::Active,
            sign_count: 0,
            pat_expires_at_ms: Some(now.saturating_add(u64::from(days) * DAY_MS)),
        });
        let notarized = auth.notary.issue(&record);
        pending.records.push(record);
        Ok(Outcome::PatCreated(notarized))
    }

    /// `DELETE /auth/pats/{id}`: every record in `credentials` verified and the user's; the
    /// token's key among them (`NotFound`), not already revoked (`Conflict`); the record again,
    /// inactive, version + 1.
    pub(crate) fn revoke_pat(
        &self,
        user: &UserRecord,
        credentials: &[Notarized],
        pat_id: &str,
        pending: &mut Pending,
    ) -> Result<Outcome, Refusal> {
        let auth = &self.keys()?.auth;
        check_id("token id", pat_id)?;
        let cred_id = b64("token id", pat_id)?;
        let all = user_credentials(auth, credentials, user, pending)?;
        let target = all
            .iter()
            .find(|c| c.cred_id.as_slice() == cred_id.as_slice() && c.pat_expires_at_ms.is_some())
            .ok_or((ErrorCode::NotFound, "the user has no personal access token with this id".to_owned()))?;
        if target.status == Status::Inactive {
            return Err(conflict("the token is already revoked"));
        }
        let record = Record::Credential(CredentialRecord {
            version: target.version + 1,
            status: Status::Inactive,
            ..target.clone()
        });
        let notarized = auth.notary.issue(&record);
        pending.records.push(record);
        Ok(Outcome::CredentialUpdated(notarized))
    }
}
