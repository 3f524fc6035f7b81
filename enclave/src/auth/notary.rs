//! Notarized records: the enclave tags the records the parent stores for it (users,
//! credentials, applications, wallet owners), and checks the tag before it reads one back.
//!
//! Tag = HMAC-SHA256(notarization key, `"signer/record/v1" || 0x00 || body`), body = the CBOR
//! [`Record`]. The tag is checked (constant time) before the body is decoded.

use serde_bytes::ByteBuf;
use signer_common::identity::{AppRecord, CredentialRecord, Notarized, Record, UserRecord, WalletRecord};

use super::mac;
use crate::keys::DerivedKey;
use crate::refusal::{Refusal, forbidden};

/// The tag's domain.
pub const RECORD_DOMAIN: &[u8] = b"signer/record/v1";

/// Makes and checks record tags.
pub struct Notary {
    key: DerivedKey,
}

impl std::fmt::Debug for Notary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notary(<redacted>)")
    }
}

impl Notary {
    /// A notary with the notarization key.
    pub fn new(key: DerivedKey) -> Self {
        Notary { key }
    }

    /// The record, encoded and tagged.
    pub fn issue(&self, record: &Record) -> Notarized {
        let body = record.encode();
        let tag = mac::tag(&self.key, RECORD_DOMAIN, &body);
        Notarized { body: ByteBuf::from(body), tag: ByteBuf::from(tag.to_vec()) }
    }

    /// The record, when its tag is this enclave's (1) and its body decodes (2).
    pub fn open(&self, notarized: &Notarized) -> Result<Record, Refusal> {
        // 1. The tag, before anything reads the body.
        if !mac::verify(&self.key, RECORD_DOMAIN, &notarized.body, &notarized.tag) {
            return Err(forbidden("record tag does not verify"));
        }
        // 2. A tagged body always decodes unless it was written in another format.
        Record::decode(&notarized.body).map_err(|_| forbidden("record of an unknown format"))
    }
}

/// The kind a handler expects, for refusals that name it.
pub fn as_user(record: Record) -> Result<UserRecord, Refusal> {
    match record {
        Record::User(r) => Ok(r),
        _ => Err(forbidden("record is not a user")),
    }
}

/// See [`as_user`].
pub fn as_credential(record: Record) -> Result<CredentialRecord, Refusal> {
    match record {
        Record::Credential(r) => Ok(r),
        _ => Err(forbidden("record is not a credential")),
    }
}

/// See [`as_user`].
pub fn as_app(record: Record) -> Result<AppRecord, Refusal> {
    match record {
        Record::App(r) => Ok(r),
        _ => Err(forbidden("record is not an application")),
    }
}

/// See [`as_user`].
pub fn as_wallet(record: Record) -> Result<WalletRecord, Refusal> {
    match record {
        Record::Wallet(r) => Ok(r),
        _ => Err(forbidden("record is not a wallet")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKey, labels};
    use signer_common::identity::{RECORD_FORMAT, Role, Status};

    fn notary(seed: u8) -> Notary {
        Notary::new(MasterKey::from_bytes([seed; 32]).derive(labels::NOTARIZATION))
    }

    fn user() -> Record {
        Record::User(UserRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: "or-1".into(),
            user_id: "us-1".into(),
            username: "alice".into(),
            role: Role::Member,
            status: Status::Active,
            service_account: false,
        })
    }

    #[test]
    fn opens_its_own_records_only() {
        let n = notary(1);
        let issued = n.issue(&user());
        assert_eq!(n.open(&issued).unwrap(), user());
        // Another deployment's key.
        assert_eq!(notary(2).open(&issued).unwrap_err().0, signer_common::protocol::ErrorCode::Forbidden);
        // A flipped tag bit, a flipped body bit, a truncated tag.
        let mut tag = issued.clone();
        tag.tag[0] ^= 1;
        assert!(n.open(&tag).is_err());
        let mut body = issued.clone();
        let last = body.body.len() - 1;
        body.body[last] ^= 1;
        assert!(n.open(&body).is_err());
        let mut short = issued.clone();
        short.tag.truncate(16);
        assert!(n.open(&short).is_err());
        assert!(n.open(&issued).is_ok());
    }

    #[test]
    fn golden_tag() {
        // Pins the domain and the key label: a change orphans every stored record.
        let n = Notary::new(MasterKey::from_bytes([0; 32]).derive(labels::NOTARIZATION));
        let tag = mac::tag(&n.key, RECORD_DOMAIN, b"body");
        assert_eq!(hex::encode(tag), GOLDEN_TAG);
    }

    // Computed independently (Python hmac and hashlib: HKDF-SHA256 then HMAC-SHA256).
    const GOLDEN_TAG: &str = "698f9562f10ae0e375c6e69c2ded0bebdd2c58ef09e2f19d9daa05a287372202";

    #[test]
    fn kinds_are_refused_for_each_other() {
        assert!(as_credential(user()).is_err());
        assert!(as_app(user()).is_err());
        assert!(as_wallet(user()).is_err());
        assert!(as_user(user()).is_ok());
    }
}
