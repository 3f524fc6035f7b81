//! The text forms of binary values in the JSON API: `0x`-prefixed lowercase hex for hashes, keys
//! and signature parts; unpadded base64url for attestation documents, receipts and credentials.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Why a text value could not be decoded. The messages say what is wrong, never echo the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Hex without the required `0x` prefix.
    #[error("must start with 0x")]
    MissingPrefix,
    /// An odd number of hex digits.
    #[error("has an odd number of hex digits ({0})")]
    OddLength(usize),
    /// A character that is not a hex digit, at this position of the text as given (0-based,
    /// counting any `0x`).
    #[error("has a character that is not a hex digit at position {0}")]
    NotHex(usize),
    /// Valid hex of the wrong length.
    #[error("must be {expected} bytes, not {actual}")]
    Length {
        /// The length required.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// Not base64 or base64url.
    #[error("expected base64url")]
    Base64,
}

/// `0x` followed by lowercase hex.
pub fn to_hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Parses `0x`-prefixed hex (the prefix is required; either case of digits is accepted).
pub fn from_hex0x(text: &str) -> Result<Vec<u8>, DecodeError> {
    let digits =
        text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).ok_or(DecodeError::MissingPrefix)?;
    decode_digits(digits, 2)
}

/// Parses `0x`-prefixed hex of exactly `N` bytes (a 32-byte hash: `0x` and 64 hex digits), the
/// rule for binary values in the API and on the command line.
pub fn from_hex0x_array<const N: usize>(text: &str) -> Result<[u8; N], DecodeError> {
    let bytes = from_hex0x(text)?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| DecodeError::Length { expected: N, actual: bytes.len() })
}

/// Parses hex with or without a `0x` prefix (command-line arguments).
pub fn from_hex_lenient(text: &str) -> Result<Vec<u8>, DecodeError> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(digits) => decode_digits(digits, 2),
        None => decode_digits(text, 0),
    }
}

/// Hex digits (no prefix), either case; `offset` is where they start in the text as given.
fn decode_digits(digits: &str, offset: usize) -> Result<Vec<u8>, DecodeError> {
    if let Some(position) = digits.chars().position(|c| !c.is_ascii_hexdigit()) {
        return Err(DecodeError::NotHex(offset + position));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(DecodeError::OddLength(digits.len()));
    }
    hex::decode(digits).map_err(|_| DecodeError::NotHex(0))
}

/// Unpadded base64url.
pub fn to_b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Parses base64url or standard base64, padded or not, ignoring surrounding white space.
pub fn from_b64(text: &str) -> Result<Vec<u8>, DecodeError> {
    // The common case, unpadded base64url as this API writes it, without a copy (a request's
    // signature header is decoded on the signing hot path).
    if let Ok(bytes) = URL_SAFE_NO_PAD.decode(text) {
        return Ok(bytes);
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let unpadded = compact.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(unpadded)
        .or_else(|_| {
            let mut padded = unpadded.to_owned();
            while !padded.len().is_multiple_of(4) {
                padded.push('=');
            }
            STANDARD.decode(padded)
        })
        .map_err(|_| DecodeError::Base64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_prefix_required() {
        assert_eq!(to_hex0x(&[0xab, 0x01]), "0xab01");
        assert_eq!(from_hex0x("0xAB01").unwrap(), vec![0xab, 0x01]);
        assert_eq!(from_hex0x("ab01"), Err(DecodeError::MissingPrefix));
        assert_eq!(from_hex_lenient("ab01").unwrap(), vec![0xab, 0x01]);
        assert_eq!(from_hex_lenient("0Xab01").unwrap(), vec![0xab, 0x01]);
    }

    #[test]
    fn hex_errors_say_what_is_wrong() {
        // `0xabc` is prefixed: the problem is its odd length, and the message says so.
        assert_eq!(from_hex0x("0xabc"), Err(DecodeError::OddLength(3)));
        assert_eq!(from_hex0x("0xabc").unwrap_err().to_string(), "has an odd number of hex digits (3)");
        assert_eq!(from_hex_lenient("abc"), Err(DecodeError::OddLength(3)));
        assert_eq!(from_hex0x("0xabzz"), Err(DecodeError::NotHex(4)));
        assert_eq!(from_hex_lenient("abzz"), Err(DecodeError::NotHex(2)));
        assert_eq!(from_hex0x("0x"), Ok(vec![]));
        assert_eq!(from_hex0x("ab").unwrap_err().to_string(), "must start with 0x");
        // Multi-byte characters are refused, not split.
        assert_eq!(from_hex0x("0xaé"), Err(DecodeError::NotHex(3)));
    }

    #[test]
    fn fixed_length_hex() {
        let hash = format!("0x{}", "ab".repeat(32));
        assert_eq!(from_hex0x_array::<32>(&hash).unwrap(), [0xab; 32]);
        assert_eq!(from_hex0x_array::<32>("0xab"), Err(DecodeError::Length { expected: 32, actual: 1 }));
        assert_eq!(
            from_hex0x_array::<32>(&"ab".repeat(32)),
            Err(DecodeError::MissingPrefix),
            "the prefix is required"
        );
        assert_eq!(from_hex0x_array::<32>("0xab").unwrap_err().to_string(), "must be 32 bytes, not 1");
    }

    #[test]
    fn base64_accepts_both_alphabets() {
        let bytes = [0xfb, 0xff, 0x01, 0x02];
        assert_eq!(to_b64url(&bytes), "-_8BAg");
        assert_eq!(from_b64("-_8BAg").unwrap(), bytes);
        assert_eq!(from_b64("+/8BAg==\n").unwrap(), bytes);
        assert_eq!(from_b64("not base64!"), Err(DecodeError::Base64));
    }
}
