//! The challenge of a one-shot signed request (API.md, "One-shot signed requests").

use sha2::{Digest, Sha256};

use crate::encoding::to_b64url;

/// The shortest and longest `X-Request-Id`.
pub const REQUEST_ID_LEN: std::ops::RangeInclusive<usize> = 16..=64;

/// True when `id` is 16 to 64 characters of `[A-Za-z0-9_-]`.
pub fn is_valid_request_id(id: &str) -> bool {
    REQUEST_ID_LEN.contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// base64url(SHA-256(S)) with S = `signer-request-v1` LF METHOD LF PATH LF
/// hex(SHA-256(body)) LF TIME LF ID: the `challenge` a one-shot request's credential signs.
/// `path` includes the query string, if any; `method` is upper-cased here.
pub fn request_challenge(method: &str, path: &str, body: &[u8], time_ms: u64, request_id: &str) -> String {
    let text = format!(
        "signer-request-v1\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        hex::encode(Sha256::digest(body)),
        time_ms,
        request_id
    );
    to_b64url(&Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids() {
        assert!(is_valid_request_id("abcdefghijklmnop"));
        assert!(is_valid_request_id(&"a-_Z9".repeat(12)));
        assert!(!is_valid_request_id("abcdefghijklmno"));
        assert!(!is_valid_request_id(&"a".repeat(65)));
        assert!(!is_valid_request_id("abcdefghijklmnop!"));
        assert!(!is_valid_request_id("abcdefghijklmnopé"));
    }

    #[test]
    fn challenge_is_over_the_exact_text() {
        let text = "signer-request-v1\nPOST\n/wallets?x=1\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n1700000000000\nabcdefghijklmnop";
        let expected = to_b64url(&Sha256::digest(text.as_bytes()));
        assert_eq!(
            request_challenge("post", "/wallets?x=1", b"", 1_700_000_000_000, "abcdefghijklmnop"),
            expected
        );
        assert_ne!(
            request_challenge("POST", "/wallets", b"", 1_700_000_000_000, "abcdefghijklmnop"),
            expected
        );
    }

    /// The golden vector of SPEC.md ("One-shot challenge"), computed independently (Python
    /// hashlib): any change to the text's layout breaks every client.
    #[test]
    fn golden_vector() {
        let body = br#"{"network":"Ethereum"}"#;
        assert_eq!(
            request_challenge("POST", "/wallets?tag=a%20b", body, 1_764_547_200_000, "req_0123456789abcdef"),
            "cfy2czGheHhIuIZ9TNIOiQT8SfY04a1ULLuwlykKVlI"
        );
    }
}
