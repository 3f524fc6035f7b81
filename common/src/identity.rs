//! Notarized records and enclave tokens: what the parent stores and shows back to the enclave,
//! authenticated by the enclave. See `SPEC.md` beside this crate, "Notarized records".
//!
//! The parent keeps users, credentials, applications and wallet ownership, but it is not trusted
//! with them: each record is a CBOR body plus an HMAC tag that only the enclave can make (the key
//! derives from the master key). The parent may decode a body to index it (nothing here is
//! secret); only the enclave checks tags.
//!
//! Tokens (challenge identifiers, user-action tokens, registration codes, temporary registration
//! tokens) have the same shape: a CBOR [`TokenBody`] and a tag, as base64url text. The parent may
//! read them (to find the user a login challenge is for) but cannot make or change one.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::protocol::{CodecError, Curve, decode_cbor, encode_cbor};
use crate::userauth::CredentialPublicKey;

/// The format of every record body this build writes; a body of another format is refused.
pub const RECORD_FORMAT: u8 = 1;

/// The length of a tag: HMAC-SHA256.
pub const TAG_LEN: usize = 32;

/// A record body and the enclave's tag over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notarized {
    /// The CBOR encoding of a [`Record`], exactly as the enclave wrote it.
    pub body: ByteBuf,
    /// HMAC-SHA256 under the notarization key over `"signer/record/v1" || 0x00 || body`.
    pub tag: ByteBuf,
}

impl Notarized {
    /// Decodes the body without checking the tag: for the parent, which indexes records. The
    /// enclave checks the tag before it decodes.
    pub fn decode_unverified(&self) -> Result<Record, CodecError> {
        Record::decode(&self.body)
    }
}

/// Whether a user or credential may act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// May act.
    Active,
    /// May not act until reactivated.
    Inactive,
}

impl Status {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "Active",
            Status::Inactive => "Inactive",
        }
    }
}

/// What a user may do in their organisation (issue 9 replaces this with permissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Issues registration codes, besides everything a member does.
    Admin,
    /// Creates wallets and signs with the wallets they own.
    Member,
}

impl Role {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Member => "Member",
        }
    }
}

/// The kind of a user's credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CredentialKind {
    /// A key pair the user holds (ECDSA P-256, ECDSA secp256k1 or Ed25519); signs `key.get`
    /// client data.
    Key,
    /// A WebAuthn passkey.
    Fido2,
}

impl CredentialKind {
    /// The name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Key => "Key",
            CredentialKind::Fido2 => "Fido2",
        }
    }
}

impl std::str::FromStr for CredentialKind {
    type Err = crate::protocol::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Key" => Ok(CredentialKind::Key),
            "Fido2" => Ok(CredentialKind::Fido2),
            _ => Err(crate::protocol::UnknownName),
        }
    }
}

/// When an application wants the authenticator to verify the user (PIN, biometrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserVerification {
    /// Assertions without the UV flag are refused.
    Required,
    /// Asked for, not enforced.
    Preferred,
    /// Not asked for.
    Discouraged,
}

impl UserVerification {
    /// The WebAuthn name.
    pub fn as_str(self) -> &'static str {
        match self {
            UserVerification::Required => "required",
            UserVerification::Preferred => "preferred",
            UserVerification::Discouraged => "discouraged",
        }
    }
}

/// A user of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// [`RECORD_FORMAT`].
    pub format: u8,
    /// Starts at 1; each change the enclave makes adds one.
    pub version: u64,
    /// The organisation.
    pub org_id: String,
    /// The user id, chosen by the enclave at registration.
    pub user_id: String,
    /// The login name, unique in the organisation (the parent enforces uniqueness).
    pub username: String,
    /// What the user may do.
    pub role: Role,
    /// Whether the user may act.
    pub status: Status,
    /// A service account (a machine user whose Key credential an admin registered), not a
    /// person. Absent from the encoding when false, so the records of before read the same.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub service_account: bool,
}

/// A user's credential: its public key, status and WebAuthn sign counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// [`RECORD_FORMAT`].
    pub format: u8,
    /// Starts at 1; each change the enclave makes (status, counter) adds one.
    pub version: u64,
    /// The owner's organisation.
    pub org_id: String,
    /// The owner.
    pub user_id: String,
    /// The credential id (raw bytes; base64url in JSON).
    pub cred_id: ByteBuf,
    /// Key or Fido2.
    pub kind: CredentialKind,
    /// The public key that verifies the credential's signatures.
    pub public_key: CredentialPublicKey,
    /// A display name.
    pub name: String,
    /// Whether it may sign.
    pub status: Status,
    /// The last WebAuthn signature counter seen (0 for Key credentials).
    pub sign_count: u32,
    /// When set, the key of a personal access token, usable until then (milliseconds since
    /// the epoch): it signs its user's calls but never logs in. Absent from the encoding when
    /// unset, so the records of before read the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pat_expires_at_ms: Option<u64>,
}

/// An application: the origin and relying party that user signatures must name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRecord {
    /// [`RECORD_FORMAT`].
    pub format: u8,
    /// Starts at 1.
    pub version: u64,
    /// The organisation.
    pub org_id: String,
    /// The application id.
    pub app_id: String,
    /// The expected origin, e.g. `http://localhost:8080`.
    pub origin: String,
    /// The WebAuthn relying-party id, e.g. `localhost`.
    pub rp_id: String,
    /// The relying party's display name.
    pub rp_name: String,
    /// Whether assertions must carry the UV flag.
    pub user_verification: UserVerification,
}

/// Who owns a wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletRecord {
    /// [`RECORD_FORMAT`].
    pub format: u8,
    /// Starts at 1.
    pub version: u64,
    /// The organisation.
    pub org_id: String,
    /// The wallet id (also bound into the sealed wallet).
    pub wallet_id: String,
    /// The user who created it and alone may sign with it.
    pub owner_user_id: String,
    /// The wallet's curve.
    pub curve: Curve,
    /// The wallet's public key, as in the sealed wallet.
    pub public_key: ByteBuf,
}

/// Any notarized record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// A user.
    User(UserRecord),
    /// A credential.
    Credential(CredentialRecord),
    /// An application.
    App(AppRecord),
    /// A wallet's owner.
    Wallet(WalletRecord),
}

impl Record {
    /// The CBOR body that the enclave tags.
    pub fn encode(&self) -> Vec<u8> {
        encode_cbor(self)
    }

    /// Decodes a body (no trailing bytes, format checked).
    pub fn decode(bytes: &[u8]) -> Result<Record, CodecError> {
        let record: Record = decode_cbor(bytes)?;
        if record.format() != RECORD_FORMAT {
            return Err(CodecError::Version(record.format()));
        }
        Ok(record)
    }

    /// The record's format.
    pub fn format(&self) -> u8 {
        match self {
            Record::User(r) => r.format,
            Record::Credential(r) => r.format,
            Record::App(r) => r.format,
            Record::Wallet(r) => r.format,
        }
    }

    /// The record's version.
    pub fn version(&self) -> u64 {
        match self {
            Record::User(r) => r.version,
            Record::Credential(r) => r.version,
            Record::App(r) => r.version,
            Record::Wallet(r) => r.version,
        }
    }
}

/// What a token is for. A token made for one purpose is refused for every other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenPurpose {
    /// A one-time registration code for `username` (any name when `None`) with `role`.
    RegistrationCode {
        /// The name the code is for, if bound.
        username: Option<String>,
        /// The role the new user gets.
        role: Role,
    },
    /// The temporary token of a registration: the new user's id and name, and the code it
    /// consumed.
    Registration {
        /// The new user's name.
        username: String,
        /// The new user's role.
        role: Role,
        /// The `nonce` of the registration code, so it is used once.
        code_nonce: ByteBuf,
    },
    /// A login challenge.
    Login,
    /// A user-action challenge, bound to the call.
    ActionChallenge(ActionBinding),
    /// A user-action token, bound to the call, made by `credential`.
    UserAction {
        /// The call it authorises.
        binding: ActionBinding,
        /// The credential that signed the challenge.
        cred_id: ByteBuf,
    },
    /// The challenge a new credential of `kind` signs when it is added.
    NewCredential {
        /// The kind of the new credential.
        kind: CredentialKind,
    },
}

/// The call a user action is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionBinding {
    /// The HTTP method in capitals.
    pub method: String,
    /// The path with its query string, if any.
    pub path: String,
    /// SHA-256 of the body bytes (of `""` for a call without one).
    pub payload_sha256: ByteBuf,
}

/// The readable part of an enclave token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBody {
    /// [`RECORD_FORMAT`].
    pub format: u8,
    /// The enclave boot that made it: a restarted enclave refuses tokens of another boot.
    pub boot_id: ByteBuf,
    /// 16 random bytes: the token's identity for single use.
    pub nonce: ByteBuf,
    /// Milliseconds since the epoch (enclave clock) after which it is refused.
    pub expires_at_ms: u64,
    /// The organisation.
    pub org_id: String,
    /// The user it is for (for a registration code, empty until the user exists).
    pub user_id: String,
    /// For challenges: the base64url challenge the credential signs (empty otherwise).
    pub challenge: String,
    /// What it is for.
    pub purpose: TokenPurpose,
}

impl TokenBody {
    /// Reads a token's body without checking its tag (for the parent). Token text is
    /// base64url(`body || tag`), the tag being the last [`TAG_LEN`] bytes.
    pub fn peek(token: &str) -> Result<TokenBody, CodecError> {
        let bytes = crate::encoding::from_b64(token).map_err(|e| CodecError::Malformed(e.to_string()))?;
        if bytes.len() <= TAG_LEN {
            return Err(CodecError::Malformed("token too short".into()));
        }
        decode_cbor(&bytes[..bytes.len() - TAG_LEN])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_refuse_other_formats() {
        let record = Record::Wallet(WalletRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: "or-1".into(),
            wallet_id: "wa-1".into(),
            owner_user_id: "us-1".into(),
            curve: Curve::Ed25519,
            public_key: ByteBuf::from(vec![7; 32]),
        });
        let bytes = record.encode();
        assert_eq!(Record::decode(&bytes).unwrap(), record);
        let Record::Wallet(mut w) = record else { unreachable!() };
        w.format = 2;
        assert!(matches!(Record::decode(&Record::Wallet(w).encode()), Err(CodecError::Version(2))));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Record::decode(&trailing).is_err());
    }
}
