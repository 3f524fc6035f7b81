//! The text forms of binary values in the JSON API: `0x`-prefixed lowercase hex for hashes, keys
//! and signature parts; unpadded base64url for attestation documents, receipts and credentials.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Why a text value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not `0x` followed by an even number of hex digits.
    #[error("expected 0x-prefixed hex")]
    Hex,
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
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).ok_or(DecodeError::Hex)?;
    hex::decode(digits).map_err(|_| DecodeError::Hex)
}

/// Parses hex with or without a `0x` prefix (command-line arguments).
pub fn from_hex_lenient(text: &str) -> Result<Vec<u8>, DecodeError> {
    let text = text.trim();
    from_hex0x(text).or_else(|_| hex::decode(text).map_err(|_| DecodeError::Hex))
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
        assert_eq!(from_hex0x("ab01"), Err(DecodeError::Hex));
        assert_eq!(from_hex0x("0xabc"), Err(DecodeError::Hex));
        assert_eq!(from_hex_lenient("ab01").unwrap(), vec![0xab, 0x01]);
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
