//! Who is calling: the checks of a [`Call`]'s user authorisation, a user-action token or a
//! one-shot signed request, before the enclave executes it.

use sha2::{Digest, Sha256};
use signer_common::identity::{ActionBinding, AppRecord, CredentialRecord, TokenPurpose, UserRecord};
use signer_common::protocol::{Call, CallAuth};
use signer_common::userauth::{is_valid_request_id, request_challenge};

use super::replay::UseKey;
use super::{Auth, Pending, check_assertion};
use crate::refusal::{Refusal, bad, forbidden};

/// A call whose user authorisation holds.
#[derive(Debug)]
pub struct Authorized {
    /// The application.
    pub app: AppRecord,
    /// The acting user (active).
    pub user: UserRecord,
    /// The one-shot credential's record with its new counter, when it moved.
    pub updated_credential: Option<CredentialRecord>,
}

/// The binding of a call: method, path with query, SHA-256 of the body.
pub fn binding_of(call: &Call) -> ActionBinding {
    ActionBinding {
        method: call.method.clone(),
        path: call.path.clone(),
        payload_sha256: serde_bytes::ByteBuf::from(Sha256::digest(&call.body).to_vec()),
    }
}

impl Auth {
    /// Checks a call's authorisation at `now_ms`, noting in `pending` the single use it
    /// consumes. Changes nothing.
    ///
    /// Order: app (1) and user (2) records; then a user-action token (3a: tag, boot, expiry,
    /// purpose, user, binding, not used) or a one-shot signature (3b: credential record, window,
    /// request id, not used, signature).
    pub fn authorize(&self, call: &Call, now_ms: u64, pending: &mut Pending) -> Result<Authorized, Refusal> {
        // 1. The application (its organisation is the user's, checked next).
        let app = self.app(&call.app, None, pending)?;
        // 2. The user: tag, not rolled back, same organisation, active.
        let user = self.user(&call.user, &app.org_id, pending)?;
        let updated_credential = match &call.auth {
            CallAuth::UserAction { token } => {
                // 3a. A user-action token of this boot, for this user and exactly this call.
                let token = self.tokens.open(token, now_ms)?;
                let TokenPurpose::UserAction { binding, .. } = &token.purpose else {
                    return Err(forbidden("token is not a user-action token"));
                };
                if token.org_id != user.org_id || token.user_id != user.user_id {
                    return Err(forbidden("user action of another user"));
                }
                if *binding != binding_of(call) {
                    return Err(forbidden("user action is for another call"));
                }
                self.use_token(&token.nonce, token.expires_at_ms, now_ms, pending)?;
                None
            }
            CallAuth::OneShot { time_ms, request_id, assertion } => {
                // 3b. The credential: tag, not rolled back, the user's, active.
                let credential = call
                    .credential
                    .as_ref()
                    .ok_or_else(|| bad("a one-shot call needs its credential's record"))?;
                let credential = self.active_credential(credential, &user, now_ms, pending)?;
                // The time, within the window either way.
                if time_ms.abs_diff(now_ms) > self.request_window_ms {
                    return Err(forbidden("request time is outside the accepted window"));
                }
                if !is_valid_request_id(request_id) {
                    return Err(bad("request id must be 16 to 64 characters of [A-Za-z0-9_-]"));
                }
                // Not seen within the window (remembered until the window has passed).
                let key =
                    UseKey::OneShot { cred_id: credential.cred_id.to_vec(), request_id: request_id.clone() };
                self.used.check(&key, now_ms)?;
                pending.uses.push((key, (*time_ms).max(now_ms).saturating_add(self.request_window_ms + 1)));
                // The signature over the challenge the enclave computes from the call itself.
                let challenge = request_challenge(&call.method, &call.path, &call.body, *time_ms, request_id);
                check_assertion(&app, &credential, assertion, &challenge)?
            }
        };
        Ok(Authorized { app, user, updated_credential })
    }
}
