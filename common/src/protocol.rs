//! Messages between the parent and the enclave. See `SPEC.md` beside this crate.
//!
//! Each frame body is one CBOR-encoded [`RequestFrame`] or [`ResponseFrame`]. A frame carries a
//! request id chosen by the parent, so one connection carries many requests in flight and the
//! enclave may answer them in any order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::identity::{ActionBinding, CredentialKind, Notarized, UserVerification};

/// The protocol version this build speaks; a frame with another version is refused.
pub const PROTOCOL_VERSION: u8 = 2;

/// The largest client nonce the API accepts (it goes into the attestation document).
pub const MAX_NONCE_LEN: usize = 64;

/// The longest request id or wallet id, in bytes (each is `[A-Za-z0-9_-]`, so also in
/// characters). The API's `X-Request-Id` is 16 to 64 characters and the enclave's wallet ids
/// are 27 (`wa-` and 24 hex digits); the parent and the enclave both check against this one
/// value, so an id the parent accepts is never refused by the enclave.
pub const MAX_ID_LEN: usize = 64;

/// The largest message the enclave signs with `kind: Message`.
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// One message on the enclave socket: a version, the request id and the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame<B> {
    /// Always [`PROTOCOL_VERSION`].
    pub v: u8,
    /// Chosen by the parent, unique among its requests in flight on this connection; an answer
    /// carries the id of the request it answers.
    pub id: u64,
    /// The request or the answer.
    pub body: B,
}

/// A request from the parent to the enclave.
pub type RequestFrame = Frame<Request>;

/// The enclave's answer to the request with the same `id`.
pub type ResponseFrame = Frame<Response>;

/// What the parent can ask of the enclave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Request {
    /// Liveness and readiness.
    Ping,
    /// A fresh attestation document.
    Attest(AttestRequest),
    /// The root certificate that the enclave's documents chain to.
    RootCertificate,
    /// A session document: the attestation of a receipt-signing key (see [`Evidence::Session`]).
    SessionDocument(SessionQuery),
    /// Operator: a new organisation's default application and a one-time registration code for
    /// its first admin.
    CreateOrg(CreateOrg),
    /// `POST /auth/registration/init`: checks a registration code, answers a challenge and a
    /// temporary token.
    RegistrationInit(RegistrationInit),
    /// `POST /auth/registration`: checks the new credential, answers the user and credential
    /// records.
    Register(Register),
    /// A challenge for a login, a user action or a new credential.
    Challenge(ChallengeRequest),
    /// `POST /auth/login`: checks an assertion over a login challenge.
    Login(AssertRequest),
    /// `POST /auth/action`: checks an assertion over a user-action challenge, answers the
    /// single-use user-action token.
    UserAction(AssertRequest),
    /// A state-changing call (wallet creation, signature, credential change, registration
    /// code), authorised by a user-action token or a one-shot signature, which the enclave
    /// executes as its method, path and body say.
    Call(Box<Call>),
}

/// What the enclave answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Response {
    /// Answer to [`Request::Ping`].
    Pong(Pong),
    /// Answer to [`Request::Attest`].
    Attestation(Attestation),
    /// Answer to [`Request::RootCertificate`].
    RootCertificate(RootCertificate),
    /// Answer to [`Request::SessionDocument`].
    SessionDocument(SessionDocument),
    /// Answer to [`Request::CreateOrg`].
    OrgCreated(OrgCreated),
    /// Answer to [`Request::RegistrationInit`].
    RegistrationChallenge(RegistrationChallenge),
    /// Answer to [`Request::Register`].
    Registered(Registered),
    /// Answer to [`Request::Challenge`].
    Challenge(Challenge),
    /// Answer to [`Request::Login`].
    LoggedIn(LoggedIn),
    /// Answer to [`Request::UserAction`].
    UserActionIssued(UserActionIssued),
    /// Answer to [`Request::Call`].
    Called(Box<Called>),
    /// The request was refused or failed; nothing was changed.
    Error(EnclaveError),
}

/// [`Request::CreateOrg`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrg {
    /// The new organisation's id (chosen by the parent, `[A-Za-z0-9_-]`).
    pub org_id: String,
    /// Its default application's id.
    pub app_id: String,
    /// The application's expected origin.
    pub origin: String,
    /// The application's relying-party id.
    pub rp_id: String,
    /// The relying party's display name.
    pub rp_name: String,
    /// The application's user-verification policy.
    pub user_verification: UserVerification,
    /// The first admin's login name.
    pub admin_username: String,
    /// How long the registration code lives, in seconds.
    pub code_ttl_secs: u64,
}

/// [`Response::OrgCreated`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgCreated {
    /// The default application's record.
    pub app: Notarized,
    /// The first admin's one-time registration code.
    pub registration_code: String,
    /// When the code expires (ms since the epoch, enclave clock).
    pub expires_at_ms: u64,
}

/// [`Request::RegistrationInit`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationInit {
    /// The application the credential is created for.
    pub app: Notarized,
    /// The organisation named in the request.
    pub org_id: String,
    /// The new user's name.
    pub username: String,
    /// The registration code.
    pub registration_code: String,
}

/// [`Response::RegistrationChallenge`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationChallenge {
    /// The base64url challenge the new credential signs.
    pub challenge: String,
    /// The token that `POST /auth/registration` presents.
    pub temporary_token: String,
    /// The new user's id.
    pub user_id: String,
    /// When challenge and token expire.
    pub expires_at_ms: u64,
}

/// A new credential, as the client sent it (`credentialInfo`), decoded from base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCredential {
    /// Key or Fido2.
    pub kind: CredentialKind,
    /// `credId`.
    pub cred_id: ByteBuf,
    /// `clientData`: the exact bytes that were signed.
    pub client_data: ByteBuf,
    /// `attestationData`: the attestationObject (Fido2) or the JSON `{ publicKey, signature }`
    /// (Key).
    pub attestation_data: ByteBuf,
    /// A display name.
    pub name: String,
}

/// [`Request::Register`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Register {
    /// The application the credential is created for.
    pub app: Notarized,
    /// From [`RegistrationChallenge`].
    pub temporary_token: String,
    /// The first credential.
    pub credential: NewCredential,
}

/// [`Response::Registered`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    /// The new user's record.
    pub user: Notarized,
    /// The new credential's record.
    pub credential: Notarized,
}

/// What a challenge is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChallengeKind {
    /// A login.
    Login,
    /// A user action for this call.
    Action(ActionBinding),
    /// A new credential of this kind.
    NewCredential(CredentialKind),
}

/// [`Request::Challenge`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRequest {
    /// The application the user signs for.
    pub app: Notarized,
    /// The user the challenge is for.
    pub user: Notarized,
    /// What it is for.
    pub kind: ChallengeKind,
}

/// [`Response::Challenge`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The base64url challenge the credential signs.
    pub challenge: String,
    /// The token that names and authenticates it.
    pub challenge_identifier: String,
    /// When it expires.
    pub expires_at_ms: u64,
}

/// A credential's signature over a challenge, decoded from base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assertion {
    /// Key or Fido2.
    pub kind: CredentialKind,
    /// `credId`.
    pub cred_id: ByteBuf,
    /// `clientData`: the exact bytes that were signed.
    pub client_data: ByteBuf,
    /// `authenticatorData` (Fido2 only).
    pub authenticator_data: Option<ByteBuf>,
    /// `signature`.
    pub signature: ByteBuf,
    /// `userHandle` (Fido2, informative).
    pub user_handle: Option<ByteBuf>,
}

/// [`Request::Login`] and [`Request::UserAction`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertRequest {
    /// The application.
    pub app: Notarized,
    /// The user.
    pub user: Notarized,
    /// The credential that signed.
    pub credential: Notarized,
    /// From [`Challenge`].
    pub challenge_identifier: String,
    /// The signature.
    pub assertion: Assertion,
}

/// [`Response::LoggedIn`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedIn {
    /// The organisation.
    pub org_id: String,
    /// The user.
    pub user_id: String,
    /// The credential's record with its new counter, when the counter moved: store it.
    pub credential: Option<Notarized>,
}

/// [`Response::UserActionIssued`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserActionIssued {
    /// The single-use token (`X-User-Action`).
    pub token: String,
    /// When it expires.
    pub expires_at_ms: u64,
    /// The credential's record with its new counter, when the counter moved: store it.
    pub credential: Option<Notarized>,
}

/// How a [`Call`] is authorised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallAuth {
    /// `X-User-Action`.
    UserAction {
        /// The token.
        token: String,
    },
    /// `X-Request-Time`, `X-Request-Id`, `X-Request-Signature`.
    OneShot {
        /// Milliseconds since the epoch.
        time_ms: u64,
        /// The request id.
        request_id: String,
        /// The decoded signature.
        assertion: Assertion,
    },
}

/// The wallet a call acts on, as stored by the parent (untrusted: the enclave checks both).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletContext {
    /// The sealed key.
    pub sealed: SealedWallet,
    /// Its ownership record.
    pub record: Notarized,
}

/// [`Request::Call`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The parent's id for this call; it goes into receipts.
    pub request_id: String,
    /// The HTTP method, in capitals.
    pub method: String,
    /// The HTTP path, with its query string if any.
    pub path: String,
    /// The exact body bytes of the HTTP request.
    pub body: ByteBuf,
    /// The user's authorisation.
    pub auth: CallAuth,
    /// The application (`X-App-Id` or the org's default).
    pub app: Notarized,
    /// The acting user.
    pub user: Notarized,
    /// The credential that signed a one-shot request (`None` with a user-action token).
    pub credential: Option<Notarized>,
    /// The wallet, for calls on `/wallets/{id}/...`.
    pub wallet: Option<WalletContext>,
    /// Every credential of the user, for credential changes (so the enclave can keep one
    /// active).
    pub credentials: Vec<Notarized>,
    /// For user status changes: the target user's record and those of the organisation's other
    /// admins (so the enclave can keep one active). Absent from the encoding when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<Notarized>,
    /// The client's nonce for the attestation document, if any.
    pub nonce: Option<ByteBuf>,
    /// How a signing result is attested.
    pub attestation: AttestationMode,
}

/// What a [`Call`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// `POST /wallets`.
    WalletCreated(WalletCreated),
    /// `POST /wallets/{id}/signatures`.
    Signed(Signed),
    /// `POST /auth/credentials`: the new credential's record.
    CredentialAdded(Notarized),
    /// `PUT /auth/credentials/activate` or `/deactivate`: the changed record.
    CredentialUpdated(Notarized),
    /// `POST /auth/registration/codes`.
    RegistrationCode(RegistrationCodeIssued),
    /// `PUT /auth/users/{id}/activate` or `/deactivate` (and `/auth/service-accounts/...`): the
    /// changed user record.
    UserUpdated(Notarized),
    /// `POST /auth/pats`: the token's key, a credential record of the user with
    /// `pat_expires_at_ms`.
    PatCreated(Notarized),
    /// `POST /auth/service-accounts`: the account's user record and Key credential record.
    ServiceAccountCreated {
        /// The user record (`service_account`).
        user: Notarized,
        /// Its Key credential's record.
        credential: Notarized,
    },
}

/// [`Outcome::RegistrationCode`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationCodeIssued {
    /// The one-time code.
    pub code: String,
    /// When it expires.
    pub expires_at_ms: u64,
}

/// [`Response::Called`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Called {
    /// What was done.
    pub outcome: Outcome,
    /// The signing credential's record with its new counter (one-shot Fido2), when it moved:
    /// store it.
    pub credential: Option<Notarized>,
}

/// A signature curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Curve {
    /// secp256k1, signed with ECDSA (RFC 6979, low-S).
    Secp256k1,
    /// Ed25519 (RFC 8032).
    Ed25519,
}

impl Curve {
    /// The name used in JSON and receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            Curve::Secp256k1 => "secp256k1",
            Curve::Ed25519 => "ed25519",
        }
    }

    /// The signature scheme used with this curve, as the API names it.
    pub fn scheme(self) -> &'static str {
        match self {
            Curve::Secp256k1 => "ECDSA",
            Curve::Ed25519 => "EdDSA",
        }
    }

    /// Length of the public key as stored and attested (SEC1 compressed for secp256k1).
    pub fn public_key_len(self) -> usize {
        match self {
            Curve::Secp256k1 => 33,
            Curve::Ed25519 => 32,
        }
    }
}

impl std::str::FromStr for Curve {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "secp256k1" => Ok(Curve::Secp256k1),
            "ed25519" => Ok(Curve::Ed25519),
            _ => Err(UnknownName),
        }
    }
}

/// A name that is not one of the known values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown name")]
pub struct UnknownName;

/// What kind of payload is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignKind {
    /// A 32-byte digest, signed as is.
    Hash,
    /// Raw bytes (Ed25519 only: signed directly).
    Message,
}

impl SignKind {
    /// The name used in JSON and receipts.
    pub fn as_str(self) -> &'static str {
        match self {
            SignKind::Hash => "Hash",
            SignKind::Message => "Message",
        }
    }
}

/// How the signing result is attested.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttestationMode {
    /// A fresh NSM attestation document per request, with `user_data` = SHA-256(receipt).
    #[default]
    Fresh,
    /// The receipt signed by the enclave's session receipt key, whose public key is attested
    /// once in a session document. Much cheaper: no NSM call per request.
    Session,
}

/// What binds a receipt to a measured enclave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Evidence {
    /// A fresh attestation document (COSE_Sign1) with `user_data` = SHA-256(receipt) and the
    /// client's nonce.
    Document(ByteBuf),
    /// An Ed25519 signature over the receipt by the session receipt key that the session
    /// document `session_id` attests (see `common/SPEC.md`, "Session receipts").
    Session {
        /// SHA-256 of the session document.
        session_id: ByteBuf,
        /// Ed25519 signature over `"signer/receipt/v1" || 0x00 || receipt`.
        signature: ByteBuf,
    },
}

/// [`Request::SessionDocument`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionQuery {
    /// A specific document by id (SHA-256 of the document), or the current one when absent.
    pub id: Option<ByteBuf>,
}

/// [`Response::SessionDocument`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDocument {
    /// SHA-256 of `document`.
    pub id: ByteBuf,
    /// COSE_Sign1 attestation document whose `public_key` is the receipt key.
    pub document: ByteBuf,
}

/// A wallet as the parent stores it: public record plus the sealed key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedWallet {
    /// The wallet id, chosen by the enclave at creation and bound into the seal.
    pub wallet_id: String,
    /// The key's curve, bound into the seal.
    pub curve: Curve,
    /// The public key, bound into the seal.
    pub public_key: ByteBuf,
    /// `version || nonce || AES-256-GCM(ciphertext || tag)`, see `enclave/SPEC.md`.
    pub sealed: ByteBuf,
}

/// [`Request::Attest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestRequest {
    /// The client's nonce, if any.
    pub nonce: Option<ByteBuf>,
}

/// [`Response::Pong`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    /// True when the enclave holds its master key and can serve signing requests.
    pub ready: bool,
    /// Which NSM backend is in use ("mock" or "nitro").
    pub nsm: String,
}

/// [`Outcome::WalletCreated`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletCreated {
    /// What the parent must store.
    pub wallet: SealedWallet,
    /// The wallet's ownership record: the parent stores it beside the sealed wallet.
    pub record: Notarized,
    /// The deterministic CBOR receipt (`kind: WalletCreated`).
    pub receipt: ByteBuf,
    /// What binds the receipt to the enclave.
    pub evidence: Evidence,
}

/// [`Outcome::Signed`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// The chain-ready signature: `r || s || v` (65 bytes) for secp256k1, 64 bytes for Ed25519.
    pub signature: ByteBuf,
    /// The deterministic CBOR receipt.
    pub receipt: ByteBuf,
    /// What binds the receipt to the enclave.
    pub evidence: Evidence,
}

/// [`Response::Attestation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// COSE_Sign1 attestation document.
    pub document: ByteBuf,
    /// The PCRs the document carries.
    pub pcrs: BTreeMap<u8, ByteBuf>,
}

/// [`Response::RootCertificate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootCertificate {
    /// PEM.
    pub pem: String,
}

/// Who is at fault when the enclave refuses a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ErrorCode {
    /// The request is malformed or names something invalid (a hash of the wrong length, say).
    BadRequest,
    /// The request is well-formed but this combination is not supported (Message on secp256k1).
    Unsupported,
    /// The sealed wallet does not open under this enclave's key with this id, curve and public
    /// key: tampered, swapped between wallets, or sealed by another deployment.
    SealedWalletInvalid,
    /// The enclave has no master key yet.
    NotReady,
    /// The thing asked for (a session document by id) is not known to this enclave.
    NotFound,
    /// The NSM or another enclave component failed.
    Internal,
    /// The user's authorisation is missing or does not hold: a bad or replayed signature or
    /// token, an expired challenge, a record whose tag fails or that was rolled back, a
    /// credential or wallet of another user, an inactive credential.
    Forbidden,
    /// The call conflicts with the current state (deactivating a user's last active credential).
    Conflict,
}

/// [`Response::Error`]. Messages never contain key material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnclaveError {
    /// The class of failure.
    pub code: ErrorCode,
    /// Human-readable reason.
    pub message: String,
}

/// Why a frame body could not be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Not valid CBOR for this message type.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Bytes after the CBOR item.
    #[error("trailing bytes after the message")]
    TrailingBytes,
    /// A protocol version this build does not speak.
    #[error("unsupported protocol version {0}")]
    Version(u8),
}

pub(crate) fn encode_cbor<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    // Writing into a Vec cannot fail, and these types have no maps with non-string keys that
    // ciborium could refuse; an error here would be a bug in this module.
    if let Err(e) = ciborium::into_writer(value, &mut out) {
        unreachable!("CBOR encoding into memory failed: {e}");
    }
    out
}

pub(crate) fn decode_cbor<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, CodecError> {
    let mut reader = bytes;
    let value = ciborium::de::from_reader_with_recursion_limit(&mut reader, 32)
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if !reader.is_empty() {
        return Err(CodecError::TrailingBytes);
    }
    Ok(value)
}

impl<B: Serialize + for<'de> Deserialize<'de>> Frame<B> {
    /// A frame of the current version.
    pub fn new(id: u64, body: B) -> Self {
        Frame { v: PROTOCOL_VERSION, id, body }
    }

    /// CBOR body of the frame.
    pub fn encode(&self) -> Vec<u8> {
        encode_cbor(self)
    }

    /// Decodes and checks the version.
    pub fn decode(bytes: &[u8]) -> Result<Self, CodecError> {
        let frame: Self = decode_cbor(bytes)?;
        if frame.v != PROTOCOL_VERSION {
            return Err(CodecError::Version(frame.v));
        }
        Ok(frame)
    }
}

impl Response {
    /// An error response.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Response::Error(EnclaveError { code, message: message.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The bytes below pin the encoding: a change here is a protocol change and needs a new
    // PROTOCOL_VERSION. They are listed in SPEC.md.
    #[test]
    fn golden_ping() {
        let bytes = RequestFrame::new(1, Request::Ping).encode();
        assert_eq!(hex::encode(&bytes), "a36176026269640164626f64796450696e67");
        assert_eq!(RequestFrame::decode(&bytes).unwrap(), RequestFrame::new(1, Request::Ping));
    }

    /// A one-shot `Call` creating a wallet, every field set: pins the encoding of `Call`,
    /// `CallAuth`, `Assertion` and `Notarized` (listed in SPEC.md).
    #[test]
    fn golden_call() {
        use crate::identity::CredentialKind;
        let notarized = |b: u8| Notarized { body: ByteBuf::from(vec![b]), tag: ByteBuf::from(vec![b + 1]) };
        let call = Call {
            request_id: "rq-1".into(),
            method: "POST".into(),
            path: "/wallets".into(),
            body: ByteBuf::from(b"{}".to_vec()),
            auth: CallAuth::OneShot {
                time_ms: 1,
                request_id: "abcdefghijklmnop".into(),
                assertion: Assertion {
                    kind: CredentialKind::Key,
                    cred_id: ByteBuf::from(vec![9]),
                    client_data: ByteBuf::from(b"{}".to_vec()),
                    authenticator_data: None,
                    signature: ByteBuf::from(vec![8]),
                    user_handle: None,
                },
            },
            app: notarized(1),
            user: notarized(3),
            credential: Some(notarized(5)),
            wallet: None,
            credentials: vec![],
            users: vec![],
            nonce: None,
            attestation: AttestationMode::Session,
        };
        let frame = RequestFrame::new(7, Request::Call(Box::new(call)));
        let bytes = frame.encode();
        assert_eq!(hex::encode(&bytes), GOLDEN_CALL);
        assert_eq!(RequestFrame::decode(&bytes).unwrap(), frame);
    }

    // Read by hand against RFC 8949: {v: 2, id: 7, body: {"Call": {12 fields in declaration
    // order}}}, byte strings as major type 2, absent optionals as null (f6).
    const GOLDEN_CALL: &str = concat!(
        "a36176026269640764626f6479a16443616c6cac6a726571756573745f69646472712d31666d6574686f6464",
        "504f53546470617468682f77616c6c65747364626f6479427b7d6461757468a1674f6e6553686f74a3677469",
        "6d655f6d73016a726571756573745f6964706162636465666768696a6b6c6d6e6f7069617373657274696f6e",
        "a6646b696e64634b657967637265645f696441096b636c69656e745f64617461427b7d7261757468656e7469",
        "6361746f725f64617461f6697369676e617475726541086b757365725f68616e646c65f663617070a264626f",
        "647941016374616741026475736572a264626f647941036374616741046a63726564656e7469616ca264626f",
        "647941056374616741066677616c6c6574f66b63726564656e7469616c7380656e6f6e6365f66b6174746573",
        "746174696f6e6753657373696f6e",
    );

    /// A call without a user's authorisation cannot be expressed: `auth` null or absent does
    /// not decode.
    #[test]
    fn a_call_without_auth_does_not_decode() {
        use ciborium::Value;
        let bytes = hex::decode(GOLDEN_CALL).unwrap();
        let value: Value = ciborium::from_reader(bytes.as_slice()).unwrap();
        type Fields = Vec<(Value, Value)>;
        let edit = |f: &dyn Fn(&mut Fields)| {
            let mut value = value.clone();
            let Value::Map(frame) = &mut value else { panic!() };
            let Value::Map(body) = &mut frame[2].1 else { panic!() };
            let Value::Map(call) = &mut body[0].1 else { panic!() };
            f(call);
            let mut out = Vec::new();
            ciborium::into_writer(&value, &mut out).unwrap();
            RequestFrame::decode(&out)
        };
        assert!(edit(&|_| {}).is_ok());
        assert!(
            edit(&|call| call
                .iter_mut()
                .filter(|(k, _)| *k == Value::from("auth"))
                .for_each(|e| e.1 = Value::Null))
            .is_err()
        );
        assert!(edit(&|call| call.retain(|(k, _)| *k != Value::from("auth"))).is_err());
    }

    #[test]
    fn golden_forbidden() {
        let frame = ResponseFrame::new(3, Response::error(ErrorCode::Forbidden, "token expired"));
        let bytes = frame.encode();
        assert_eq!(
            hex::encode(&bytes),
            "a36176026269640364626f6479a1654572726f72a264636f646569466f7262696464656e676d6573736167656d746f6b656e2065787069726564"
        );
        assert_eq!(ResponseFrame::decode(&bytes).unwrap(), frame);
    }

    #[test]
    fn golden_error_response() {
        let frame = ResponseFrame::new(
            2,
            Response::error(ErrorCode::SealedWalletInvalid, "sealed wallet does not open"),
        );
        let bytes = frame.encode();
        assert_eq!(ResponseFrame::decode(&bytes).unwrap(), frame);
        assert_eq!(&bytes[..3], [0xa3, 0x61, b'v']);
    }

    #[test]
    fn refuses_trailing_bytes_and_other_versions() {
        let mut bytes = RequestFrame::new(1, Request::Ping).encode();
        bytes.push(0);
        assert!(matches!(RequestFrame::decode(&bytes), Err(CodecError::TrailingBytes)));
        let mut v1 = RequestFrame::new(1, Request::Ping);
        v1.v = 1;
        assert!(matches!(RequestFrame::decode(&v1.encode()), Err(CodecError::Version(1))));
    }

    #[test]
    fn refuses_garbage_without_panicking() {
        for bytes in [&b""[..], b"\xff", b"\xa3", b"\x9f\x9f\x9f", &[0x5b; 12]] {
            assert!(RequestFrame::decode(bytes).is_err());
        }
        // Deep nesting stops at the recursion limit instead of overflowing the stack.
        let deep = vec![0x81u8; 100_000];
        assert!(RequestFrame::decode(&deep).is_err());
    }
}
