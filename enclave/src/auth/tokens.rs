//! Enclave tokens: challenge identifiers, user-action tokens, registration codes and temporary
//! registration tokens.
//!
//! Text = base64url(CBOR([`TokenBody`]) || tag), tag = HMAC-SHA256(token key,
//! `"signer/token/v1" || 0x00 || body`). Every token but a registration code names this boot
//! (`boot_id`, 16 random bytes drawn at start): a restarted enclave refuses the others.

use serde_bytes::ByteBuf;
use signer_common::encoding::{from_b64, to_b64url};
use signer_common::identity::{RECORD_FORMAT, TAG_LEN, TokenBody};

use super::mac;
use crate::keys::DerivedKey;
use crate::refusal::{Refusal, bad, forbidden};

/// The tag's domain.
pub const TOKEN_DOMAIN: &[u8] = b"signer/token/v1";

/// How long challenges, user-action tokens and temporary registration tokens live.
pub const SHORT_TTL_MS: u64 = 5 * 60 * 1000;

/// The longest a registration code may live.
pub const MAX_CODE_TTL_SECS: u64 = 30 * 24 * 3600;

/// How long a registration code issued through the API lives.
pub const API_CODE_TTL_SECS: u64 = 24 * 3600;

/// The longest token text accepted (a body is a few hundred bytes).
const MAX_TOKEN_LEN: usize = 4096;

/// Makes and checks tokens.
pub struct Tokens {
    key: DerivedKey,
    boot_id: [u8; 16],
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("boot_id", &hex::encode(self.boot_id)).finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens under the token key, naming this boot.
    pub fn new(key: DerivedKey, boot_id: [u8; 16]) -> Self {
        Tokens { key, boot_id }
    }

    /// The token text of `body`.
    pub fn issue(&self, body: &TokenBody) -> String {
        let mut bytes = Vec::with_capacity(256);
        // Writing into a Vec cannot fail and a token body has no map keys ciborium could refuse.
        if let Err(e) = ciborium::into_writer(body, &mut bytes) {
            unreachable!("CBOR encoding into memory failed: {e}");
        }
        let tag = mac::tag(&self.key, TOKEN_DOMAIN, &bytes);
        bytes.extend_from_slice(&tag);
        to_b64url(&bytes)
    }

    /// A token of any boot (registration codes survive restarts): tag (1), format (2), not
    /// expired at `now_ms` (3). The caller checks the purpose and what it is bound to.
    pub fn open_any_boot(&self, text: &str, now_ms: u64) -> Result<TokenBody, Refusal> {
        if text.len() > MAX_TOKEN_LEN {
            return Err(bad("token is too long"));
        }
        let bytes = from_b64(text).map_err(|_| bad("token is not base64url"))?;
        if bytes.len() <= TAG_LEN {
            return Err(bad("token is too short"));
        }
        let (body, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        // 1. The tag, before anything reads the body.
        if !mac::verify(&self.key, TOKEN_DOMAIN, body, tag) {
            return Err(forbidden("token tag does not verify"));
        }
        // 2. The format.
        let token = TokenBody::peek(text).map_err(|_| forbidden("token of an unknown format"))?;
        if token.format != RECORD_FORMAT {
            return Err(forbidden("token of an unknown format"));
        }
        // 3. The expiry, on the enclave's clock.
        if now_ms >= token.expires_at_ms {
            return Err(forbidden("token expired"));
        }
        Ok(token)
    }

    /// A token of this boot: [`Tokens::open_any_boot`], then the boot id.
    pub fn open(&self, text: &str, now_ms: u64) -> Result<TokenBody, Refusal> {
        let token = self.open_any_boot(text, now_ms)?;
        if token.boot_id.as_slice() != self.boot_id {
            return Err(forbidden("token from another enclave boot"));
        }
        Ok(token)
    }

    /// This boot's id, as a token field.
    pub fn boot(&self) -> ByteBuf {
        ByteBuf::from(self.boot_id.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKey, labels};
    use signer_common::identity::TokenPurpose;
    use signer_common::protocol::ErrorCode;

    fn tokens(seed: u8, boot: u8) -> Tokens {
        Tokens::new(MasterKey::from_bytes([seed; 32]).derive(labels::USER_ACTION), [boot; 16])
    }

    fn body(t: &Tokens) -> TokenBody {
        TokenBody {
            format: RECORD_FORMAT,
            boot_id: t.boot(),
            nonce: ByteBuf::from(vec![1; 16]),
            expires_at_ms: 1_000,
            org_id: "or-1".into(),
            user_id: "us-1".into(),
            challenge: "c".into(),
            purpose: TokenPurpose::Login,
        }
    }

    #[test]
    fn golden_tag() {
        let t = tokens(0, 0);
        // Computed independently (Python hmac and hashlib: HKDF-SHA256 then HMAC-SHA256).
        assert_eq!(
            hex::encode(mac::tag(&t.key, TOKEN_DOMAIN, b"body")),
            "ebda1fa417cec616299194b5ff82e720de94bae22d6b355e6181db7f0e85e2ac"
        );
    }

    #[test]
    fn opens_its_own_tokens_of_this_boot_before_they_expire() {
        let t = tokens(1, 1);
        let text = t.issue(&body(&t));
        assert_eq!(t.open(&text, 999).unwrap(), body(&t));
        assert_eq!(TokenBody::peek(&text).unwrap(), body(&t));
        assert_eq!(t.open(&text, 1_000).unwrap_err().1, "token expired");
        // Another boot, same key: only a boot-free opener accepts it.
        let restarted = tokens(1, 2);
        assert_eq!(restarted.open(&text, 0).unwrap_err().1, "token from another enclave boot");
        assert!(restarted.open_any_boot(&text, 0).is_ok());
        // Another key.
        assert_eq!(
            tokens(2, 1).open(&text, 0).unwrap_err(),
            (ErrorCode::Forbidden, "token tag does not verify".into())
        );
    }

    #[test]
    fn refuses_edits_other_formats_and_garbage() {
        let t = tokens(1, 1);
        let mut bytes = from_b64(&t.issue(&body(&t))).unwrap();
        bytes[3] ^= 1;
        assert_eq!(t.open(&to_b64url(&bytes), 0).unwrap_err().1, "token tag does not verify");
        let mut other = body(&t);
        other.format = 2;
        assert_eq!(t.open(&t.issue(&other), 0).unwrap_err().1, "token of an unknown format");
        assert_eq!(t.open("!!", 0).unwrap_err().0, ErrorCode::BadRequest);
        assert_eq!(t.open(&to_b64url(&[0; TAG_LEN]), 0).unwrap_err().0, ErrorCode::BadRequest);
        assert_eq!(t.open(&"A".repeat(MAX_TOKEN_LEN + 1), 0).unwrap_err().1, "token is too long");
        // Exactly the limit is read (and refused for its tag).
        assert_eq!(t.open(&"A".repeat(MAX_TOKEN_LEN), 0).unwrap_err().1, "token tag does not verify");
    }
}
