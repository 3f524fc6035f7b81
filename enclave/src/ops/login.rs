//! Challenges, logins and user actions: a user's credential signs a challenge the enclave
//! issued; the enclave answers who logged in, or a single-use token for one call.

use signer_common::encoding::to_b64url;
use signer_common::identity::{Record, TokenPurpose};
use signer_common::protocol::{
    AssertRequest, Challenge, ChallengeKind, ChallengeRequest, LoggedIn, Response, UserActionIssued,
};

use crate::auth::{Pending, check_assertion};
use crate::core::EnclaveCore;
use crate::refusal::{Refusal, bad, forbidden};

/// What an assertion was for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asserting {
    Login,
    Action,
}

impl EnclaveCore {
    /// [`signer_common::protocol::Request::Challenge`]. Order: app (1), user (2: same
    /// organisation, active), then a challenge token of the purpose. Changes nothing.
    pub(crate) fn challenge(&self, req: ChallengeRequest) -> Result<Response, Refusal> {
        let auth = &self.keys()?.auth;
        let now = self.now();
        let mut pending = Pending::default();
        let app = auth.app(&req.app, None, &mut pending)?;
        let user = auth.user(&req.user, &app.org_id, &mut pending)?;
        let purpose = match req.kind {
            ChallengeKind::Login => TokenPurpose::Login,
            ChallengeKind::Action(binding) => {
                if binding.method.is_empty() || !binding.method.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(bad("method must be in capitals"));
                }
                if binding.payload_sha256.len() != 32 {
                    return Err(bad("payload hash must be 32 bytes"));
                }
                TokenPurpose::ActionChallenge(binding)
            }
            ChallengeKind::NewCredential(kind) => TokenPurpose::NewCredential { kind },
        };
        let challenge = to_b64url(&self.random_array::<32>()?);
        let body = self.short_token(now, user.org_id, user.user_id, challenge.clone(), purpose)?;
        let expires_at_ms = body.expires_at_ms;
        auth.versions.commit(&pending.records);
        Ok(Response::Challenge(Challenge {
            challenge,
            challenge_identifier: auth.tokens.issue(&body),
            expires_at_ms,
        }))
    }

    /// [`signer_common::protocol::Request::Login`].
    pub(crate) fn login(&self, req: AssertRequest) -> Result<Response, Refusal> {
        self.assert(req, Asserting::Login)
    }

    /// [`signer_common::protocol::Request::UserAction`].
    pub(crate) fn user_action(&self, req: AssertRequest) -> Result<Response, Refusal> {
        self.assert(req, Asserting::Action)
    }

    /// Order: challenge identifier (1: tag, boot, expiry, purpose, not used), app (2), user (3:
    /// the token's, active), credential (4: the user's, active), the assertion (5), then the
    /// identifier is consumed (6).
    fn assert(&self, req: AssertRequest, asserting: Asserting) -> Result<Response, Refusal> {
        let auth = &self.keys()?.auth;
        let now = self.now();
        let mut pending = Pending::default();
        // 1. The challenge identifier.
        let token = auth.tokens.open(&req.challenge_identifier, now)?;
        let binding = match (&token.purpose, asserting) {
            (TokenPurpose::Login, Asserting::Login) => None,
            (TokenPurpose::ActionChallenge(binding), Asserting::Action) => Some(binding.clone()),
            _ => return Err(forbidden("challenge is for another purpose")),
        };
        auth.use_token(&token.nonce, token.expires_at_ms, now, &mut pending)?;
        // 2. The application, of the token's organisation.
        let app = auth.app(&req.app, Some(&token.org_id), &mut pending)?;
        // 3. The user the challenge was issued to.
        let user = auth.user(&req.user, &token.org_id, &mut pending)?;
        if user.user_id != token.user_id {
            return Err(forbidden("challenge is for another user"));
        }
        // 4. The user's active credential.
        let credential = auth.active_credential(&req.credential, &user, now, &mut pending)?;
        if asserting == Asserting::Login && credential.pat_expires_at_ms.is_some() {
            return Err(forbidden("a personal access token's key does not log in"));
        }
        // 5. The signature.
        let updated = check_assertion(&app, &credential, &req.assertion, &token.challenge)?;
        let updated = updated.map(|c| {
            let record = Record::Credential(c);
            let notarized = auth.notary.issue(&record);
            pending.records.push(record);
            notarized
        });
        let answer = match binding {
            None => Response::LoggedIn(LoggedIn {
                org_id: user.org_id,
                user_id: user.user_id,
                credential: updated,
            }),
            Some(binding) => {
                let purpose = TokenPurpose::UserAction { binding, cred_id: credential.cred_id };
                let body = self.short_token(now, user.org_id, user.user_id, String::new(), purpose)?;
                let expires_at_ms = body.expires_at_ms;
                Response::UserActionIssued(UserActionIssued {
                    token: auth.tokens.issue(&body),
                    expires_at_ms,
                    credential: updated,
                })
            }
        };
        // 6. Consume, last.
        auth.commit(pending, now)?;
        Ok(answer)
    }
}
