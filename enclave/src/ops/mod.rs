//! The operations: registration and login ([`registration`], [`login`]), and the calls a user
//! authorises ([`wallets`], [`credentials`], [`users`], [`pats`]), routed here on method and path.
//!
//! A call is authorised (see [`crate::auth::authorize`]), executed, and only then are its single
//! uses consumed and its record versions remembered: a refusal at any step changes nothing, and
//! an answer computed for a call whose token was consumed meanwhile (a concurrent replay) is
//! dropped.

pub mod credentials;
pub mod login;
pub mod pats;
pub mod registration;
pub mod users;
pub mod wallets;

use signer_common::identity::Record;
use signer_common::protocol::{Call, Called, Outcome, Response};

use crate::auth::Pending;
use crate::core::EnclaveCore;
use crate::refusal::{Refusal, bad, check_id, check_nonce};
use users::Target;
use wallets::WalletCall;

impl EnclaveCore {
    /// [`signer_common::protocol::Request::Call`]. Order: shapes (1), authorisation (2),
    /// execution (3), then the single uses and versions (4).
    pub(crate) fn call(&self, call: Call) -> Result<Response, Refusal> {
        let keys = self.keys()?;
        let now = self.now();
        // 1. Shapes.
        check_id("request_id", &call.request_id)?;
        check_nonce(call.nonce.as_ref().map(|n| n.as_slice()))?;
        if call.method.is_empty() || !call.method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad("method must be in capitals"));
        }
        // 2. Who is calling.
        let mut pending = Pending::default();
        let authorized = keys.auth.authorize(&call, now, &mut pending)?;
        // 3. What they asked for.
        let outcome = self.execute(&call, &authorized, now, &mut pending)?;
        // 4. Consume and remember, last.
        let credential = authorized.updated_credential.map(|c| {
            let record = Record::Credential(c);
            let notarized = keys.auth.notary.issue(&record);
            pending.records.push(record);
            notarized
        });
        keys.auth.commit(pending, now)?;
        Ok(Response::Called(Box::new(Called { outcome, credential })))
    }

    fn execute(
        &self,
        call: &Call,
        authorized: &crate::auth::authorize::Authorized,
        now: u64,
        pending: &mut Pending,
    ) -> Result<Outcome, Refusal> {
        let path = call.path.split_once('?').map_or(call.path.as_str(), |(p, _)| p);
        let segments: Vec<&str> = path.split('/').collect();
        let user = &authorized.user;
        let body = call.body.as_slice();
        match (call.method.as_str(), segments.as_slice()) {
            ("POST", ["", "wallets"]) => self.create_wallet(WalletCall::of(call), body, user, pending),
            ("POST", ["", "wallets", id, "signatures"]) => {
                self.sign(WalletCall::of(call), id, call.wallet.as_ref(), body, user, pending)
            }
            ("POST", ["", "auth", "credentials"]) => {
                self.add_credential(&authorized.app, user, &call.credentials, body, now, pending)
            }
            ("PUT", ["", "auth", "credentials", "activate"]) => {
                self.set_credential_status(user, &call.credentials, body, true, pending)
            }
            ("PUT", ["", "auth", "credentials", "deactivate"]) => {
                self.set_credential_status(user, &call.credentials, body, false, pending)
            }
            ("POST", ["", "auth", "registration", "codes"]) => self.issue_registration_code(user, body, now),
            ("PUT", ["", "auth", "users", id, verb @ ("deactivate" | "activate")]) => self.set_user_status(
                user,
                &call.users,
                (id, Target::AnyUser),
                body,
                *verb == "activate",
                pending,
            ),
            ("POST", ["", "auth", "service-accounts"]) => self.create_service_account(user, body, pending),
            ("POST", ["", "auth", "pats"]) => self.create_pat(user, body, now, pending),
            ("DELETE", ["", "auth", "pats", id]) => self.revoke_pat(user, &call.credentials, id, pending),
            ("PUT", ["", "auth", "service-accounts", id, verb @ ("deactivate" | "activate")]) => {
                let target = (*id, Target::ServiceAccount);
                self.set_user_status(user, &call.users, target, body, *verb == "activate", pending)
            }
            _ => Err(bad("no such operation")),
        }
    }
}
