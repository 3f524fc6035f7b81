//! The SDK's errors: a failed call ([`ClientError`]) and a result that does not verify
//! ([`VerifyResultError`], [`SignatureError`]). A leaf module: every other module may use it.

use signer_common::attestation::VerifyError;
use signer_common::receipt::ReceiptError;

/// Why a call to the parent failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The parent answered with an error status; `code` and `message` are from its JSON error
    /// body (`{ "error": { "code", "message" } }`), or made up when the body had another form.
    #[error("HTTP {status} {code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable snake_case error code.
        code: String,
        /// The human-readable reason.
        message: String,
    },
    /// The request did not complete: connection refused, timeout, malformed HTTP, ...
    #[error("transport error: {0}")]
    Transport(#[source] Box<ureq::Error>),
    /// The parent answered 2xx with a body this client cannot read.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// The credentials file could not be read or parsed.
    #[error("{0}")]
    Credentials(String),
    /// An argument is invalid (an oversized nonce, an unsupported URL scheme, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl From<ureq::Error> for ClientError {
    fn from(e: ureq::Error) -> Self {
        ClientError::Transport(Box::new(e))
    }
}

/// Why a receipt's signature is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A signature receipt without its payload, payload digest or signature.
    #[error("the receipt lacks its {0}")]
    Missing(&'static str),
    /// The payload does not match `payloadSha256`.
    #[error("the payload does not match payloadSha256")]
    PayloadDigest,
    /// A receipt kind or curve/kind combination this client cannot check.
    #[error("cannot verify a {kind} signature on {curve}")]
    Unsupported {
        /// The receipt kind.
        kind: &'static str,
        /// The curve.
        curve: &'static str,
    },
    /// A `Hash` payload that is not 32 bytes.
    #[error("a Hash payload must be 32 bytes, not {0}")]
    HashLength(usize),
    /// The signature has the wrong length for its curve.
    #[error("the signature must be {expected} bytes, not {actual}")]
    Length {
        /// The length for this curve.
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// The public key does not decode as a point of the curve.
    #[error("the public key is not a valid {0} key")]
    PublicKey(&'static str),
    /// `r` or `s` is zero or not below the group order.
    #[error("the signature scalars are out of range")]
    Scalars,
    /// A secp256k1 signature whose `s` is in the upper half (malleable; never emitted).
    #[error("the secp256k1 signature is not low-S")]
    HighS,
    /// The recovery byte `v` is not a valid recovery id.
    #[error("the recovery id {0} is invalid")]
    RecoveryIdByte(u8),
    /// Recovering the key with `v` does not give the receipt's public key.
    #[error("the recovery id does not recover the wallet's public key")]
    RecoveryMismatch,
    /// The signature does not verify under the public key.
    #[error("the signature does not verify under the receipt's public key")]
    Invalid,
}

/// Why a signing result is not valid. The message names the step that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyResultError {
    /// The inputs could not be decoded (base64, hex, ...).
    #[error("input: {0}")]
    Input(String),
    /// Step 1: the attestation document is not authentic, not bound to this receipt, or not
    /// what the caller expects (PCRs, nonce).
    #[error("step 1 (attestation document): {0}")]
    Attestation(VerifyError),
    /// Step 1: the attestation document is authentic but its `user_data` is not SHA-256 of these
    /// receipt bytes: the receipt was changed or belongs to another result.
    #[error("step 1 (attestation document): its user_data is not SHA-256 of this receipt")]
    NotBound,
    /// Step 1 (session mode): the session document is not authentic or not what the caller
    /// expects (PCRs).
    #[error("step 1 (session document): {0}")]
    SessionDocument(VerifyError),
    /// Step 1 (session mode): the document is authentic but its `user_data` is not the session
    /// marker: it was made for another purpose and its `public_key` is no receipt key.
    #[error("step 1 (session document): its user_data is not the session receipt-key marker")]
    NotSessionDocument,
    /// Step 1 (session mode): the session document's `public_key` is not a usable Ed25519 key.
    #[error("step 1 (session document): its public_key is not a usable Ed25519 receipt key")]
    ReceiptKey,
    /// Step 1 (session mode): the session document could not be obtained from the parent.
    #[error("step 1 (session document): cannot fetch it from the parent: {0}")]
    SessionDocumentUnavailable(String),
    /// Step 1 (session mode): the result names another session document than the one verified.
    #[error("step 1 (session document): the result's sessionId is not this document's SHA-256")]
    SessionIdMismatch,
    /// Step 1 (session mode): the receipt signature is not the attested receipt key's signature
    /// over these receipt bytes.
    #[error(
        "step 1 (receipt key signature): the receipt is not signed by the session document's receipt key"
    )]
    ReceiptKeySignature,
    /// Step 2: the receipt does not decode.
    #[error("step 2 (receipt): {0}")]
    Receipt(#[from] ReceiptError),
    /// Step 3: the receipt's signature does not verify.
    #[error("step 3 (receipt signature): {0}")]
    Signature(#[from] SignatureError),
    /// No expected enclave image: a pinned [`crate::ImagePolicy`] needs PCR0.
    #[error("no expected enclave image: PCR0 must be pinned, or any image allowed explicitly")]
    NoExpectedImage,
    /// Step 4: the receipt differs from what the caller expects.
    #[error("step 4 (expectations): the receipt's {field} is not the expected one")]
    Mismatch {
        /// `walletId`, `publicKey`, `curve`, `kind`, `payload`, `nonce`, `signature`, ...
        field: &'static str,
    },
}

impl From<signer_common::api::AnswerError> for ClientError {
    fn from(e: signer_common::api::AnswerError) -> ClientError {
        ClientError::Decode(e.to_string())
    }
}
