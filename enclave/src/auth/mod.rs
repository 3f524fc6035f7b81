//! User authorisation, sans-I/O: notarized records ([`notary`]), their versions
//! ([`versions`]), tokens ([`tokens`]), single use ([`replay`]), the checks of presented
//! records and assertions (this module) and of a call's authorisation ([`authorize`]).
//!
//! Every handler checks first and changes state last: checks fill a [`Pending`] (the records
//! seen, the single uses to record), and [`Auth::commit`] applies it once the answer is ready.
//! A refusal anywhere before leaves the used set and the version map as they were.

pub mod authorize;
mod mac;
pub mod notary;
pub mod replay;
pub mod tokens;
pub mod versions;

use signer_common::identity::{
    AppRecord, CredentialRecord, Notarized, Record, Status, UserRecord, WalletRecord,
};
use signer_common::protocol::Assertion;
use signer_common::userauth::{AuthError, Expected, verify_assertion};

use crate::refusal::{Refusal, bad, forbidden};
use notary::Notary;
use replay::{SingleUse, Use, UseKey};
use tokens::Tokens;
use versions::Versions;

/// The default one-shot window: a request's time may differ from the enclave's by this much.
pub const DEFAULT_REQUEST_WINDOW_MS: u64 = 60_000;

/// The authorisation state of an enclave.
#[derive(Debug)]
pub struct Auth {
    /// Record tags.
    pub notary: Notary,
    /// Token tags and this boot.
    pub tokens: Tokens,
    /// Newest record versions since boot.
    pub versions: Versions,
    /// Used tokens and request ids.
    pub used: SingleUse,
    /// The one-shot window.
    pub request_window_ms: u64,
    /// How long challenges, user-action tokens and temporary registration tokens live (at
    /// most [`tokens::SHORT_TTL_MS`]).
    pub short_ttl_ms: u64,
}

/// What a request will record once it succeeds.
#[derive(Debug, Default)]
pub struct Pending {
    /// Records presented or issued: their versions are remembered.
    pub records: Vec<Record>,
    /// Single uses.
    pub uses: Vec<Use>,
}

impl Auth {
    /// Records the pending uses (all or none) and versions. The last step of a handler.
    ///
    /// Atomic against concurrent requests: the records are re-checked against versions issued
    /// since they were read (two concurrent deactivations of a user's two credentials: the
    /// second is refused), then the uses recorded, then the versions.
    pub fn commit(&self, pending: Pending, now_ms: u64) -> Result<(), Refusal> {
        self.versions.commit_if_current(&pending.records, || self.used.consume(&pending.uses, now_ms))
    }

    /// Refuses a token already used; otherwise notes it for single use until it expires.
    pub fn use_token(
        &self,
        nonce: &[u8],
        until_ms: u64,
        now_ms: u64,
        pending: &mut Pending,
    ) -> Result<(), Refusal> {
        let key = UseKey::Token(nonce.to_vec());
        self.used.check(&key, now_ms)?;
        pending.uses.push((key, until_ms));
        Ok(())
    }

    /// A presented record: tag (1), not rolled back (2); noted as seen.
    fn open(&self, notarized: &Notarized, pending: &mut Pending) -> Result<Record, Refusal> {
        let record = self.notary.open(notarized)?;
        self.versions.check(&record)?;
        pending.records.push(record.clone());
        Ok(record)
    }

    /// An application record of `org_id` (any organisation when `None`).
    pub fn app(
        &self,
        notarized: &Notarized,
        org_id: Option<&str>,
        pending: &mut Pending,
    ) -> Result<AppRecord, Refusal> {
        let app = notary::as_app(self.open(notarized, pending)?)?;
        if org_id.is_some_and(|org| org != app.org_id) {
            return Err(forbidden("application of another organisation"));
        }
        Ok(app)
    }

    /// A user of `org_id`, of any status.
    pub fn org_user(
        &self,
        notarized: &Notarized,
        org_id: &str,
        pending: &mut Pending,
    ) -> Result<UserRecord, Refusal> {
        let user = notary::as_user(self.open(notarized, pending)?)?;
        if user.org_id != org_id {
            return Err(forbidden("user of another organisation"));
        }
        Ok(user)
    }

    /// An active user of `org_id`.
    pub fn user(
        &self,
        notarized: &Notarized,
        org_id: &str,
        pending: &mut Pending,
    ) -> Result<UserRecord, Refusal> {
        let user = self.org_user(notarized, org_id, pending)?;
        if user.status != Status::Active {
            return Err(forbidden("user is not active"));
        }
        Ok(user)
    }

    /// A credential owned by `user` (any status).
    pub fn credential_of(
        &self,
        notarized: &Notarized,
        user: &UserRecord,
        pending: &mut Pending,
    ) -> Result<CredentialRecord, Refusal> {
        let credential = notary::as_credential(self.open(notarized, pending)?)?;
        if credential.org_id != user.org_id || credential.user_id != user.user_id {
            return Err(forbidden("credential of another user"));
        }
        Ok(credential)
    }

    /// An active credential owned by `user`, not an expired personal access token's key at
    /// `now_ms`.
    pub fn active_credential(
        &self,
        notarized: &Notarized,
        user: &UserRecord,
        now_ms: u64,
        pending: &mut Pending,
    ) -> Result<CredentialRecord, Refusal> {
        let credential = self.credential_of(notarized, user, pending)?;
        if credential.status != Status::Active {
            return Err(forbidden("credential is not active"));
        }
        if credential.pat_expires_at_ms.is_some_and(|expires| now_ms >= expires) {
            return Err(forbidden("personal access token expired"));
        }
        Ok(credential)
    }

    /// A wallet record owned by `user`.
    pub fn wallet_of(
        &self,
        notarized: &Notarized,
        user: &UserRecord,
        pending: &mut Pending,
    ) -> Result<WalletRecord, Refusal> {
        let wallet = notary::as_wallet(self.open(notarized, pending)?)?;
        if wallet.org_id != user.org_id || wallet.owner_user_id != user.user_id {
            return Err(forbidden("wallet of another user"));
        }
        Ok(wallet)
    }
}

/// The refusal for a failed user signature: 400 when it did not decode, 403 otherwise.
pub fn auth_refusal(e: AuthError) -> Refusal {
    if e.is_malformed() { bad(e.to_string()) } else { forbidden(e.to_string()) }
}

/// Checks `assertion` by `credential` over `challenge` for `app`: the credential is the one
/// named (1) and of the kind named (2), and the signature verifies (3). Answers the record with
/// its new counter when the counter moved (version + 1).
pub fn check_assertion(
    app: &AppRecord,
    credential: &CredentialRecord,
    assertion: &Assertion,
    challenge: &str,
) -> Result<Option<CredentialRecord>, Refusal> {
    // 1. The assertion names this credential.
    if assertion.cred_id != credential.cred_id {
        return Err(forbidden("assertion is by another credential"));
    }
    // 2. Of this kind.
    if assertion.kind != credential.kind {
        return Err(forbidden("assertion kind does not match the credential"));
    }
    // 3. The signature, over the challenge, origin and relying party of the application.
    let expected = Expected {
        challenge,
        origin: &app.origin,
        rp_id: &app.rp_id,
        user_verification: app.user_verification,
    };
    let asserted = verify_assertion(
        credential.kind,
        &expected,
        &credential.public_key,
        credential.sign_count,
        &assertion.client_data,
        assertion.authenticator_data.as_deref().map(|d| d.as_slice()),
        &assertion.signature,
    )
    .map_err(auth_refusal)?;
    if asserted.sign_count == credential.sign_count {
        return Ok(None);
    }
    Ok(Some(CredentialRecord {
        version: credential.version + 1,
        sign_count: asserted.sign_count,
        ..credential.clone()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;
    use serde_bytes::ByteBuf;
    use signer_common::identity::{CredentialKind, RECORD_FORMAT, UserVerification};
    use signer_common::userauth::CredentialPublicKey;

    fn app() -> AppRecord {
        AppRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: "or-1".into(),
            app_id: "ap-1".into(),
            origin: "http://localhost:8080".into(),
            rp_id: "localhost".into(),
            rp_name: "Signer".into(),
            user_verification: UserVerification::Preferred,
        }
    }

    fn signed(key: &ed25519_dalek::SigningKey, challenge: &str) -> Assertion {
        let client_data =
            format!(r#"{{"type":"key.get","challenge":"{challenge}","origin":"http://localhost:8080"}}"#);
        Assertion {
            kind: CredentialKind::Key,
            cred_id: ByteBuf::from(vec![1]),
            signature: ByteBuf::from(key.sign(client_data.as_bytes()).to_bytes().to_vec()),
            client_data: ByteBuf::from(client_data.into_bytes()),
            authenticator_data: None,
            user_handle: None,
        }
    }

    /// A counter that moves makes the record again, version + 1, with the new counter; one that
    /// does not answers nothing to store.
    #[test]
    fn a_moved_counter_issues_the_next_version() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[4; 32]);
        let mut credential = CredentialRecord {
            format: RECORD_FORMAT,
            version: 3,
            org_id: "or-1".into(),
            user_id: "us-1".into(),
            cred_id: ByteBuf::from(vec![1]),
            kind: CredentialKind::Key,
            public_key: CredentialPublicKey::Ed25519(ByteBuf::from(key.verifying_key().to_bytes().to_vec())),
            name: "k".into(),
            status: Status::Active,
            sign_count: 0,
            pat_expires_at_ms: None,
        };
        assert_eq!(check_assertion(&app(), &credential, &signed(&key, "c"), "c").unwrap(), None);
        // A stored counter that the assertion's (0 for Key credentials) differs from.
        credential.sign_count = 5;
        let updated = check_assertion(&app(), &credential, &signed(&key, "c"), "c").unwrap().unwrap();
        assert_eq!(updated, CredentialRecord { version: 4, sign_count: 0, ..credential.clone() });
        // Another credential id or kind is refused before the signature.
        let mut other = signed(&key, "c");
        other.cred_id = ByteBuf::from(vec![2]);
        assert_eq!(
            check_assertion(&app(), &credential, &other, "c").unwrap_err().1,
            "assertion is by another credential"
        );
        let mut fido = signed(&key, "c");
        fido.kind = CredentialKind::Fido2;
        assert_eq!(
            check_assertion(&app(), &credential, &fido, "c").unwrap_err().1,
            "assertion kind does not match the credential"
        );
    }
}
