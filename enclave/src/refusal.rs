//! Refusals: an error code and a one-line message that never contains key material, and the
//! shape checks every handler shares.

use signer_common::protocol::{ErrorCode, MAX_ID_LEN, MAX_NONCE_LEN};

/// A refusal: an error code and a message that never contains key material.
pub type Refusal = (ErrorCode, String);

/// A malformed request (HTTP 400).
pub fn bad(message: impl Into<String>) -> Refusal {
    (ErrorCode::BadRequest, message.into())
}

/// The user's authorisation does not hold (HTTP 403).
pub fn forbidden(message: impl Into<String>) -> Refusal {
    (ErrorCode::Forbidden, message.into())
}

/// The call conflicts with the current state (HTTP 409).
pub fn conflict(message: impl Into<String>) -> Refusal {
    (ErrorCode::Conflict, message.into())
}

/// An enclave component failed.
pub fn internal(message: impl Into<String>) -> Refusal {
    (ErrorCode::Internal, message.into())
}

/// 1 to [`MAX_ID_LEN`] characters of `[A-Za-z0-9_-]`.
pub fn check_id(name: &str, id: &str) -> Result<(), Refusal> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(bad(format!("{name} must be 1 to {MAX_ID_LEN} characters of [A-Za-z0-9_-]")))
    }
}

/// A client nonce of at most [`MAX_NONCE_LEN`] bytes.
pub fn check_nonce(nonce: Option<&[u8]>) -> Result<(), Refusal> {
    match nonce {
        Some(n) if n.len() > MAX_NONCE_LEN => Err(bad(format!("nonce is longer than {MAX_NONCE_LEN} bytes"))),
        _ => Ok(()),
    }
}

/// Display text (a username, a credential or relying-party name): 1 to `max` bytes, no control
/// characters.
pub fn check_text(name: &str, text: &str, max: usize) -> Result<(), Refusal> {
    if text.is_empty() || text.len() > max || text.chars().any(char::is_control) {
        return Err(bad(format!("{name} must be 1 to {max} bytes without control characters")));
    }
    Ok(())
}
