//! The text forms of binary values in the JSON API: `0x`-prefixed lowercase hex for hashes, keys
//! and signature parts; unpadded base64url for attestation documents, receipts and credentials.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Why a text value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not hex (the lenient parser of command-line arguments).
    #[error("expected hex")]
    Hex,
    /// Hex without the required `0x` prefix.
    #[error("must start with 0x")]
    MissingHexPrefix,
    /// An odd number of hex digits.
    #[error("has an odd number of hex digits")]
    OddHexLength,
    /// A character that is not a hex digit, at this position of the text.
    #[error("has a character that is not a hex digit at position {0}")]
    InvalidHexDigit(usize),
    /// Not base64 or base64url.
    #[error("expected base64url")]
    Base64,
}

/// `0x` followed by lowercase hex.
pub fn to_hex0x(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// Parses `0x`-prefixed hex: the one rule for binary values in JSON (hashes, messages, keys,
/// signature parts). The prefix is required (`0x` or `0X`), digits of either case are accepted,
/// nothing else (no white space). `0x` alone is the empty byte string.
///
/// The error says what is wrong: a missing prefix, an odd number of digits, or the position of
/// the first character that is not a hex digit (counted in characters of `text`).
pub fn from_hex0x(text: &str) -> Result<Vec<u8>, DecodeError> {
    let digits =
        text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).ok_or(DecodeError::MissingHexPrefix)?;
    if let Some(position) = digits.chars().position(|c| !c.is_ascii_hexdigit()) {
        return Err(DecodeError::InvalidHexDigit(position + 2));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(DecodeError::OddHexLength);
    }
    hex::decode(digits).map_err(|_| DecodeError::Hex)
}

/// Parses hex with or without a `0x` prefix (command-line arguments).
pub fn from_hex_lenient(text: &str) -> Result<Vec<u8>, DecodeError> {
    let text = text.trim();
    match from_hex0x(text) {
        Err(DecodeError::MissingHexPrefix) => from_hex0x(&format!("0x{text}")).map_err(|e| match e {
            // Positions in `text`, which has no prefix.
            DecodeError::InvalidHexDigit(p) => DecodeError::InvalidHexDigit(p - 2),
            other => other,
        }),
        other => other,
    }
}

/// Unpadded base64url.
pub fn to_b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Parses base64url or standard base64, padded or not, ignoring surrounding white space.
pub fn from_b64(text: &str) -> Result<Vec<u8>, DecodeError> {
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
        assert_eq!(from_hex0x("0x").unwrap(), Vec::<u8>::new());
        assert_eq!(from_hex0x("ab01"), Err(DecodeError::MissingHexPrefix));
        assert_eq!(from_hex0x(""), Err(DecodeError::MissingHexPrefix));
        assert_eq!(from_hex0x("0xabc"), Err(DecodeError::OddHexLength));
        assert_eq!(from_hex0x("0xabcg"), Err(DecodeError::InvalidHexDigit(5)));
        assert_eq!(from_hex0x("0xzz"), Err(DecodeError::InvalidHexDigit(2)));
        assert_eq!(from_hex0x("0x ab"), Err(DecodeError::InvalidHexDigit(2)));
        assert_eq!(from_hex0x("0xé"), Err(DecodeError::InvalidHexDigit(2)));
        assert_eq!(from_hex_lenient("ab01").unwrap(), vec![0xab, 0x01]);
        assert_eq!(from_hex_lenient(" 0xab01 ").unwrap(), vec![0xab, 0x01]);
        assert_eq!(from_hex_lenient("abc"), Err(DecodeError::OddHexLength));
        assert_eq!(from_hex_lenient("abx1"), Err(DecodeError::InvalidHexDigit(2)));
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
