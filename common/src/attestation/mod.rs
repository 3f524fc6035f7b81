//! AWS Nitro attestation documents: the payload model, the COSE_Sign1 envelope and a verifier
//! that follows the AWS procedure (aws-nitro-enclaves-nsm-api, `docs/attestation_process.md`):
//!
//! 1. decode the COSE_Sign1 (tagged or untagged; protected header exactly `{1: -35}`, ES384);
//! 2. decode the payload and check every field's presence, type and size;
//! 3. verify the certificate chain leaf -> `cabundle[n-1]` ... `cabundle[1]` -> the pinned root
//!    (the root inside the document is ignored), every certificate valid at the given time;
//! 4. verify the ES384 signature with the leaf's key;
//! 5. compare PCRs, `user_data`, `nonce` and `public_key` with what the caller expects.
//!
//! It accepts what real NSMs emit: optional fields as CBOR null, fields up to 1024 bytes,
//! definite or indefinite-length maps, high-S signatures, up to 32 PCRs.

mod cbor;
pub mod cose;
mod doc;
mod root;
#[cfg(any(test, feature = "test-pki"))]
pub mod test_pki;
mod verify;

use base64::Engine as _;

pub use doc::{
    AttestationDoc, DIGEST_SHA384, MAX_CABUNDLE_LEN, MAX_CERTIFICATE_LEN, MAX_OPTIONAL_FIELD_LEN, MAX_PCRS,
};
pub use root::{AWS_NITRO_ROOT_G1_SHA256_HEX, TrustedRoot};
pub use verify::{Expectations, MAX_DOCUMENT_LEN, verify};

/// Why a document (or a root certificate) was rejected. The message names the step that failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The input is neither CBOR nor base64 text.
    #[error("document encoding: {0}")]
    Encoding(String),
    /// Step 1: the COSE_Sign1 envelope is malformed or not ES384.
    #[error("step 1 (COSE_Sign1): {0}")]
    Cose(String),
    /// Step 2: the payload is malformed or a field is missing, mistyped or out of range.
    #[error("step 2 (payload): {0}")]
    Payload(String),
    /// Step 3: the certificate chain does not lead to the trusted root at the given time.
    #[error("step 3 (certificate chain): {0}")]
    Chain(String),
    /// Step 4: the COSE signature does not verify with the leaf certificate's key.
    #[error("step 4 (signature): {0}")]
    Signature(String),
    /// Step 5: an expected PCR is not in the document.
    #[error("step 5 (expectations): PCR{index} is not in the document")]
    PcrMissing {
        /// The PCR index.
        index: u8,
    },
    /// Step 5: a PCR differs from the expected value.
    #[error("step 5 (expectations): PCR{index} differs from the expected value")]
    PcrMismatch {
        /// The PCR index.
        index: u8,
    },
    /// Step 5: `user_data`, `nonce` or `public_key` is absent or differs from the expected value.
    #[error("step 5 (expectations): {field} is absent or differs from the expected value")]
    FieldMismatch {
        /// `"user_data"`, `"nonce"` or `"public_key"`.
        field: &'static str,
    },
    /// Step 5: the document's timestamp is further from the verification time than allowed.
    #[error(
        "step 5 (expectations): the document's timestamp {timestamp_ms} ms is more than \
         {max_age_seconds} s from the verification time {at_unix_seconds} s"
    )]
    Age {
        /// The document's `timestamp` (Unix milliseconds).
        timestamp_ms: u64,
        /// The verification time (Unix seconds).
        at_unix_seconds: u64,
        /// The largest distance allowed, in seconds.
        max_age_seconds: u64,
    },
    /// The root certificate given to trust is unusable.
    #[error("trusted root: {0}")]
    InvalidRoot(String),
}

/// Decodes a document WITHOUT verifying its signature, chain or contents (steps 1 and 2 only).
/// Nothing in the result is authentic; use [`verify`] for anything that matters.
pub fn decode_unverified(document: &[u8]) -> Result<AttestationDoc, VerifyError> {
    verify::decode(document).map(|(_, doc)| doc)
}

/// Turns the contents of a document file into COSE bytes: raw CBOR is returned as is; otherwise
/// the input is read as base64 or base64url text (padding optional, whitespace ignored).
pub fn document_from_file_bytes(bytes: &[u8]) -> Result<Vec<u8>, VerifyError> {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    match first {
        None => return Err(VerifyError::Encoding("the input is empty".to_string())),
        // A COSE_Sign1 starts with an array of 4 (0x84) or tag 18 (0xd2): neither is ASCII.
        Some(0x84 | 0xd2) => return Ok(bytes.to_vec()),
        Some(_) => {}
    }
    if bytes.len() > 4 * MAX_DOCUMENT_LEN {
        return Err(VerifyError::Encoding(format!(
            "the input is {} bytes, too large for a document",
            bytes.len()
        )));
    }
    let text: Vec<u8> = bytes.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let url_safe = text.iter().any(|b| matches!(b, b'-' | b'_'));
    let config = base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent);
    let alphabet = if url_safe { &base64::alphabet::URL_SAFE } else { &base64::alphabet::STANDARD };
    let decoded = base64::engine::GeneralPurpose::new(alphabet, config)
        .decode(&text)
        .map_err(|e| VerifyError::Encoding(format!("neither raw CBOR nor valid base64 text: {e}")))?;
    if decoded.is_empty() {
        return Err(VerifyError::Encoding("the input decodes to nothing".to_string()));
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests;
