//! `POST /auth/credentials` (a new credential for the signed-in user) and
//! `PUT /auth/credentials/activate` / `deactivate`.

use std::collections::BTreeSet;

use serde_bytes::ByteBuf;
use signer_common::api::auth::{CreateCredentialRequest, CredentialStatusRequest};
use signer_common::encoding::from_b64;
use signer_common::identity::{
    AppRecord, CredentialKind, CredentialRecord, Notarized, RECORD_FORMAT, Record, Status, TokenPurpose,
    UserRecord,
};
use signer_common::protocol::{ErrorCode, Outcome};
use signer_common::userauth::{Expected, verify_registration};

use super::registration::{MAX_NAME_LEN, check_cred_id};
use super::wallets::parse_json;
use crate::auth::{Auth, Pending, auth_refusal};
use crate::core::EnclaveCore;
use crate::refusal::{Refusal, bad, check_text, conflict, forbidden};

pub(crate) fn b64(name: &str, text: &str) -> Result<Vec<u8>, Refusal> {
    from_b64(text).map_err(|_| bad(format!("{name} is not base64url")))
}

/// The user's credentials as presented: each must be this enclave's, not rolled back, and the
/// user's (a forged or foreign record refuses the call); duplicates refused.
pub(crate) fn user_credentials(
    auth: &Auth,
    presented: &[Notarized],
    user: &UserRecord,
    pending: &mut Pending,
) -> Result<Vec<CredentialRecord>, Refusal> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(presented.len());
    for notarized in presented {
        let credential = auth.credential_of(notarized, user, pending)?;
        if !seen.insert(credential.cred_id.to_vec()) {
            return Err(bad("a credential is listed twice"));
        }
        out.push(credential);
    }
    Ok(out)
}

impl EnclaveCore {
    /// `POST /auth/credentials`. Order: body (1), the challenge identifier (2: tag, boot,
    /// expiry, purpose NewCredential of this kind, this user, not used), the id is new among
    /// the user's credentials (3), the registration (4); the identifier is consumed with the
    /// call's authorisation.
    pub(crate) fn add_credential(
        &self,
        app: &AppRecord,
        user: &UserRecord,
        credentials: &[Notarized],
        body: &[u8],
        now: u64,
        pending: &mut Pending,
    ) -> Result<Outcome, Refusal> {
        let auth = &self.keys()?.auth;
        // 1. The body.
        let req: CreateCredentialRequest = parse_json(body)?;
        let kind: CredentialKind =
            req.credential_kind.parse().map_err(|_| bad("credentialKind must be Key or Fido2"))?;
        check_text("credentialName", &req.credential_name, MAX_NAME_LEN)?;
        let info = &req.credential_info;
        let cred_id = b64("credId", &info.cred_id)?;
        check_cred_id(&cred_id)?;
        let client_data = b64("clientData", &info.client_data)?;
        let attestation_data = b64("attestationData", &info.attestation_data)?;
        // 2. The challenge the new credential signed.
        let token = auth.tokens.open(&req.challenge_identifier, now)?;
        if token.purpose != (TokenPurpose::NewCredential { kind }) {
            return Err(forbidden("challenge is not for a new credential of this kind"));
        }
        if token.org_id != user.org_id || token.user_id != user.user_id {
            return Err(forbidden("challenge is for another user"));
        }
        auth.use_token(&token.nonce, token.expires_at_ms, now, pending)?;
        // 3. A credential id the user does not have yet.
        let existing = user_credentials(auth, credentials, user, pending)?;
        if existing.iter().any(|c| c.cred_id.as_slice() == cred_id.as_slice()) {
            return Err(conflict("the user already has a credential with this id"));
        }
        // 4. The registration, for this application.
        let expected = Expected {
            challenge: &token.challenge,
            origin: &app.origin,
            rp_id: &app.rp_id,
            user_verification: app.user_verification,
        };
        let registered = verify_registration(kind, &expected, &cred_id, &client_data, &attestation_data)
            .map_err(auth_refusal)?;
        let record = Record::Credential(CredentialRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: user.org_id.clone(),
            user_id: user.user_id.clone(),
            cred_id: ByteBuf::from(cred_id),
            kind,
            public_key: registered.public_key,
            name: req.credential_name,
            status: Status::Active,
            sign_count: registered.sign_count,
            pat_expires_at_ms: None,
        });
        let notarized = auth.notary.issue(&record);
        pending.records.push(record);
        Ok(Outcome::CredentialAdded(notarized))
    }

    /// `PUT /auth/credentials/activate` and `/deactivate`. Order: body (1), the user's
    /// credentials as presented (2), the named one among them (3), not already so (4), and for
    /// a deactivation another active credential remains (5); then the record, version + 1.
    pub(crate) fn set_credential_status(
        &self,
        user: &UserRecord,
        credentials: &[Notarized],
        body: &[u8],
        activate: bool,
        pending: &mut Pending,
    ) -> Result<Outcome, Refusal> {
        let auth = &self.keys()?.auth;
        // 1. The body.
        let req: CredentialStatusRequest = parse_json(body)?;
        let cred_id = b64("credId", &req.cred_id)?;
        // 2. Every presented record must verify and be the user's.
        let all = user_credentials(auth, credentials, user, pending)?;
        // 3. The named credential.
        let target = all
            .iter()
            .find(|c| c.cred_id.as_slice() == cred_id.as_slice())
            .ok_or((ErrorCode::NotFound, "the user has no credential with this id".to_owned()))?;
        let status = if activate { Status::Active } else { Status::Inactive };
        // 4. A change.
        if target.status == status {
            return Err(conflict(format!("credential is already {}", status.as_str())));
        }
        // 5. The user keeps an active credential (counting only records that verified).
        // A personal access token's key does not count: it cannot log in.
        let sign_in = |c: &&CredentialRecord| c.pat_expires_at_ms.is_none();
        if !activate
            && !all.iter().filter(sign_in).any(|c| c.status == Status::Active && c.cred_id != target.cred_id)
        {
            return Err(conflict("cannot deactivate the user's last active credential"));
        }
        let record =
            Record::Credential(CredentialRecord { version: target.version + 1, status, ..target.clone() });
        let notarized = auth.notary.issue(&record);
        pending.records.push(record);
        Ok(Outcome::CredentialUpdated(notarized))
    }
}
