//! Messages between the parent and the enclave. See `SPEC.md` beside this crate.
//!
//! Each frame body is one CBOR-encoded [`RequestFrame`] or [`ResponseFrame`]. A frame carries a
//! request id chosen by the parent, so one connection carries many requests in flight and the
//! enclave may answer them in any order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// The protocol version this build speaks; a frame with another version is refused.
pub const PROTOCOL_VERSION: u8 = 1;

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
    /// Generate a key, seal it, and attest to its public key.
    CreateWallet(CreateWallet),
    /// Unseal a wallet and sign with it.
    Sign(SignRequest),
    /// A fresh attestation document.
    Attest(AttestRequest),
    /// The root certificate that the enclave's documents chain to.
    RootCertificate,
    /// A session document: the attestation of a receipt-signing key (see [`Evidence::Session`]).
    SessionDocument(SessionQuery),
}

/// What the enclave answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Response {
    /// Answer to [`Request::Ping`].
    Pong(Pong),
    /// Answer to [`Request::CreateWallet`].
    WalletCreated(WalletCreated),
    /// Answer to [`Request::Sign`].
    Signed(Signed),
    /// Answer to [`Request::Attest`].
    Attestation(Attestation),
    /// Answer to [`Request::RootCertificate`].
    RootCertificate(RootCertificate),
    /// Answer to [`Request::SessionDocument`].
    SessionDocument(SessionDocument),
    /// The request was refused or failed; nothing was changed.
    Error(EnclaveError),
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

/// [`Request::CreateWallet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateWallet {
    /// The parent's id for this request; it goes into the receipt.
    pub request_id: String,
    /// The curve of the new key.
    pub curve: Curve,
    /// The client's nonce for the attestation document, if any.
    pub nonce: Option<ByteBuf>,
    /// How the result is attested.
    #[serde(default)]
    pub attestation: AttestationMode,
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

/// [`Request::Sign`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequest {
    /// The parent's id for this signature; it goes into the receipt.
    pub request_id: String,
    /// The wallet to sign with, as stored by the parent (untrusted: the enclave checks the seal).
    pub wallet: SealedWallet,
    /// How to read `payload`.
    pub kind: SignKind,
    /// The 32-byte hash or the message.
    pub payload: ByteBuf,
    /// The client's nonce for the attestation document, if any.
    pub nonce: Option<ByteBuf>,
    /// How the result is attested.
    #[serde(default)]
    pub attestation: AttestationMode,
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

/// [`Response::WalletCreated`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletCreated {
    /// What the parent must store.
    pub wallet: SealedWallet,
    /// The deterministic CBOR receipt (`kind: WalletCreated`).
    pub receipt: ByteBuf,
    /// What binds the receipt to the enclave.
    pub evidence: Evidence,
}

/// [`Response::Signed`].
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

fn encode_cbor<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    // Writing into a Vec cannot fail, and these types have no maps with non-string keys that
    // ciborium could refuse; an error here would be a bug in this module.
    if let Err(e) = ciborium::into_writer(value, &mut out) {
        unreachable!("CBOR encoding into memory failed: {e}");
    }
    out
}

fn decode_cbor<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, CodecError> {
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

    fn sample_sign() -> RequestFrame {
        RequestFrame::new(
            7,
            Request::Sign(SignRequest {
                request_id: "sig-1".into(),
                wallet: SealedWallet {
                    wallet_id: "wa-1".into(),
                    curve: Curve::Ed25519,
                    public_key: ByteBuf::from(vec![1, 2]),
                    sealed: ByteBuf::from(vec![3]),
                },
                kind: SignKind::Hash,
                payload: ByteBuf::from(vec![0xaa]),
                nonce: None,
                attestation: AttestationMode::Fresh,
            }),
        )
    }

    // The bytes below pin the encoding: a change here is a protocol change and needs a new
    // PROTOCOL_VERSION. They are listed in SPEC.md.
    #[test]
    fn golden_ping() {
        let bytes = RequestFrame::new(1, Request::Ping).encode();
        assert_eq!(hex::encode(&bytes), "a36176016269640164626f64796450696e67");
        assert_eq!(RequestFrame::decode(&bytes).unwrap(), RequestFrame::new(1, Request::Ping));
    }

    #[test]
    fn golden_sign() {
        let bytes = sample_sign().encode();
        let expected = concat!(
            "a3",
            "6176",
            "01",
            "626964",
            "07",
            "64626f6479", // {v: 1, id: 7, body:
            "a1",
            "645369676e",
            "a6", //  {"Sign": {
            "6a726571756573745f6964",
            "657369672d31", //   request_id: "sig-1",
            "6677616c6c6574",
            "a4", //   wallet: {
            "6977616c6c65745f6964",
            "6477612d31", //     wallet_id: "wa-1",
            "656375727665",
            "6765643235353139", //     curve: "ed25519",
            "6a7075626c69635f6b6579",
            "420102", //     public_key: h'0102',
            "667365616c6564",
            "4103", //     sealed: h'03'},
            "646b696e64",
            "6448617368", //   kind: "Hash",
            "677061796c6f6164",
            "41aa", //   payload: h'aa',
            "656e6f6e6365",
            "f6", //   nonce: null,
            "6b6174746573746174696f6e",
            "654672657368", //   attestation: "Fresh"}}}
        );
        assert_eq!(hex::encode(&bytes), expected);
        assert_eq!(RequestFrame::decode(&bytes).unwrap(), sample_sign());
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
        let mut v2 = RequestFrame::new(1, Request::Ping);
        v2.v = 2;
        assert!(matches!(RequestFrame::decode(&v2.encode()), Err(CodecError::Version(2))));
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
