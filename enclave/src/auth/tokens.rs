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

    /// This boot's id.
    pub fn boot_id(&self) -> &[u8; 16] {
        &self.boot_id
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
