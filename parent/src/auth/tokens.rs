//! Access tokens: EdDSA (Ed25519) JWTs, `kid` naming the key of the set ([`super::keyset`])
//! that signed them. The algorithm is pinned: a token whose header names another (`none`,
//! HS256 made with a public key as its secret, ES256) is refused before any key is tried, and
//! a `kid` outside the set is refused.
//!
//! An Ed25519 verification costs about 40 us, and a client sends the same token with every
//! request: a token that verified is remembered (by its SHA-256) with its claims until it
//! expires, and each later request re-checks only its times. Removing a key takes a restart,
//! which empties the memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use signer_common::encoding::to_b64url;

use super::keyset::{KeySet, SigningEntry};
use crate::error::ApiError;

/// The `iss` claim of every token this parent issues and accepts.
pub const ISSUER: &str = "signer-parent";

/// Seconds of clock difference allowed on `exp` and `nbf`.
pub const LEEWAY_SECS: u64 = 30;

/// The most verified tokens remembered.
const REMEMBERED: usize = 16_384;

/// The kind of a token: what it stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TokenKind {
    /// A user logged in (or dev mode's bootstrap).
    Login,
    /// A service account's token, given when an admin creates the account.
    ServiceAccount,
    /// A personal access token: acts for its user while its key's credential is active.
    Pat,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's organisation.
    pub org: String,
    /// What the token stands for.
    pub kind: TokenKind,
    /// [`ISSUER`].
    pub iss: String,
    /// The token's own id (random).
    pub jti: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Not valid before (Unix seconds; = `iat`).
    pub nbf: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
    /// A personal access token's id (its key's credential id, base64url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pat: Option<String>,
}

impl Claims {
    /// Within `exp` and `nbf` at `now`, with [`LEEWAY_SECS`] either way (as jsonwebtoken checks).
    fn current_at(&self, now: u64) -> bool {
        self.exp.saturating_add(LEEWAY_SECS) >= now && self.nbf <= now.saturating_add(LEEWAY_SECS)
    }
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// One verifying key of the set, published at `/.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    /// `OKP`.
    pub kty: &'static str,
    /// `Ed25519`.
    pub crv: &'static str,
    /// The public key, base64url.
    pub x: String,
    /// The key id.
    pub kid: String,
    /// `EdDSA`.
    pub alg: &'static str,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
}

/// `GET /.well-known/jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwks {
    /// The current key first, then the previous ones.
    pub keys: Vec<Jwk>,
}

/// Issues and checks access tokens.
pub struct TokenKeys {
    kid: String,
    encoding: EncodingKey,
    decoding: HashMap<String, DecodingKey>,
    jwks: Jwks,
    validation: Validation,
    verified: Mutex<HashMap<[u8; 32], Claims>>,
    remembered_at_most: usize,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// The keys of a set.
    pub fn new(set: &KeySet) -> Result<Self, ApiError> {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        let der = set
            .current
            .key
            .to_pkcs8_der()
            .map_err(|_| ApiError::Internal("the token signing key does not encode".into()))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let entries = std::iter::once(&set.current).chain(&set.previous);
        let jwk = |e: &SigningEntry| Jwk {
            kty: "OKP",
            crv: "Ed25519",
            x: to_b64url(e.key.verifying_key().as_bytes()),
            kid: e.kid.clone(),
            alg: "EdDSA",
            use_: "sig",
        };
        Ok(TokenKeys {
            kid: set.current.kid.clone(),
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            decoding: entries
                .clone()
                .map(|e| (e.kid.clone(), DecodingKey::from_ed_der(e.key.verifying_key().as_bytes())))
                .collect(),
            jwks: Jwks { keys: entries.map(jwk).collect() },
            validation,
            verified: Mutex::default(),
            remembered_at_most: REMEMBERED,
        })
    }

    /// The published verifying keys.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// A login token for `user_id` of `org_id`, valid for `lifetime`, signed by the current key.
    pub fn issue(&self, user_id: &str, org_id: &str, lifetime: Duration) -> Result<String, ApiError> {
        self.issue_as(TokenKind::Login, user_id, org_id, lifetime, None)
    }

    /// A token of `kind` for `user_id` of `org_id`, valid for `lifetime`; `pat` names a personal
    /// access token's id.
    pub fn issue_as(
        &self,
        kind: TokenKind,
        user_id: &str,
        org_id: &str,
        lifetime: Duration,
        pat: Option<String>,
    ) -> Result<String, ApiError> {
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti).map_err(|e| ApiError::Internal(format!("random token id: {e}")))?;
        let now = now_secs();
        let claims = Claims {
            sub: user_id.to_owned(),
            org: org_id.to_owned(),
            kind,
            iss: ISSUER.to_owned(),
            jti: to_b64url(&jti),
            iat: now,
            nbf: now,
            exp: now.saturating_add(lifetime.as_secs()),
            pat,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("token encoding: {e}")))
    }

    /// Checks a token: EdDSA only, a `kid` of the set, its signature, issuer and times.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        self.verify_at(token, now_secs())
    }

    fn verify_at(&self, token: &str, now: u64) -> Result<Claims, ApiError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(claims) = self.remembered().get(&digest) {
            return if claims.current_at(now) { Ok(claims.clone()) } else { Err(ApiError::Unauthorized) };
        }
        let refused = |reason: &dyn std::fmt::Display| {
            // The reason only: the token itself is never logged.
            tracing::debug!(reason = %reason, "access token refused");
            ApiError::Unauthorized
        };
        let header = jsonwebtoken::decode_header(token).map_err(|e| refused(&e))?;
        if header.alg != Algorithm::EdDSA {
            return Err(refused(&"not an EdDSA token"));
        }
        let key = header
            .kid
            .as_ref()
            .and_then(|kid| self.decoding.get(kid))
            .ok_or_else(|| refused(&"unknown kid"))?;
        let claims =
            jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| refused(&e))?.claims;
        // jsonwebtoken checked the times against its own clock; `now` decides what is remembered.
        if !claims.current_at(now) {
            return Err(refused(&"outside its times"));
        }
        self.remember(digest, &claims, now);
        Ok(claims)
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Claims>> {
        // Entries are inserted and removed whole: a poisoned map is still a valid one.
        self.verified.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn remember(&self, digest: [u8; 32], claims: &Claims, now: u64) {
        let mut verified = self.remembered();
        if verified.len() >= self.remembered_at_most {
            verified.retain(|_, c| c.current_at(now));
            if verified.len() >= self.remembered_at_most {
                verified.clear();
            }
        }
        verified.insert(digest, claims.clone());
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;

    use super::*;
    use crate::auth::keyset;

    const YEAR: Duration = Duration::from_secs(365 * 24 * 3600);

    fn set(seed: u8) -> KeySet {
        KeySet::single(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
    }

    fn claims(keys: &TokenKeys, token: &str) -> Claims {
        keys.verify(token).unwrap()
    }

    /// A token of `claims` signed by `seed`'s key with `header`.
    fn forge(seed: u8, header: &Header, claims: &Claims) -> String {
        let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let der = key.to_pkcs8_der().unwrap();
        jsonwebtoken::encode(header, claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    }

    fn eddsa(kid: &str) -> Header {
        Header { kid: Some(kid.to_owned()), ..Header::new(Algorithm::EdDSA) }
    }

    #[test]
    fn tokens_round_trip_with_kid_and_claims() {
        let keys = TokenKeys::new(&set(1)).unwrap();
        let token = keys.issue("us-1", "or-1", YEAR).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!((header.alg, header.kid.as_deref()), (Algorithm::EdDSA, Some(keys.kid.as_str())));
        let c = claims(&keys, &token);
        assert_eq!(
            (c.sub.as_str(), c.org.as_str(), c.iss.as_str(), c.kind),
            ("us-1", "or-1", ISSUER, TokenKind::Login)
        );
        assert!(c.exp > c.iat + 364 * 24 * 3600 && c.nbf == c.iat);
        assert_ne!(c.jti, claims(&keys, &keys.issue("us-1", "or-1", YEAR).unwrap()).jti, "fresh ids");
        // Remembered once verified, and still the same answer.
        assert_eq!(keys.remembered().len(), 2);
        assert_eq!(claims(&keys, &token), c);
        let jwks = serde_json::to_value(keys.jwks()).unwrap();
        assert_eq!(jwks["keys"][0]["kid"], keys.kid.as_str());
        assert_eq!(jwks["keys"][0]["kty"], "OKP");
        assert_eq!(jwks["keys"][0]["use"], "sig");
    }

    #[test]
    fn refused_tokens() {
        let keys = TokenKeys::new(&set(1)).unwrap();
        let good = claims(&keys, &keys.issue("us-1", "or-1", YEAR).unwrap());
        let kid = keys.kid.clone();
        let now = now_secs();
        let refuse =
            |token: &str, why: &str| assert_eq!(keys.verify(token), Err(ApiError::Unauthorized), "{why}");
        refuse("not.a.jwt", "garbage");
        // Expired and not yet valid (beyond the leeway).
        refuse(&forge(1, &eddsa(&kid), &Claims { exp: now - 120, ..good.clone() }), "expired");
        refuse(&forge(1, &eddsa(&kid), &Claims { nbf: now + 120, ..good.clone() }), "not yet valid");
        // Another issuer.
        refuse(&forge(1, &eddsa(&kid), &Claims { iss: "someone".into(), ..good.clone() }), "issuer");
        // Signed by a key outside the set under the set's kid, and an unknown kid.
        refuse(&forge(2, &eddsa(&kid), &good), "another key");
        refuse(&forge(1, &eddsa("unknown"), &good), "unknown kid");
        refuse(&forge(1, &Header::new(Algorithm::EdDSA), &good), "no kid");
        // A flipped signature byte.
        let token = forge(1, &eddsa(&kid), &good);
        let (head, signature) = token.rsplit_once('.').unwrap();
        let mut bytes = signer_common::encoding::from_b64(signature).unwrap();
        bytes[10] ^= 1;
        refuse(&format!("{head}.{}", to_b64url(&bytes)), "flipped signature");
        // alg none, and HS256 made with the public key as the secret.
        let body = |header: &str| {
            format!("{}.{}", to_b64url(header.as_bytes()), to_b64url(&serde_json::to_vec(&good).unwrap()))
        };
        refuse(&format!("{}.", body(&format!(r#"{{"alg":"none","kid":"{kid}"}}"#))), "alg none");
        let public = ed25519_dalek::SigningKey::from_bytes(&[1; 32]).verifying_key().to_bytes();
        let hs = jsonwebtoken::encode(
            &Header { kid: Some(kid.clone()), ..Header::new(Algorithm::HS256) },
            &good,
            &EncodingKey::from_secret(&public),
        )
        .unwrap();
        refuse(&hs, "HS256 with the public key");
        assert!(keys.remembered().len() <= 1, "no refused token is remembered");
    }

    #[test]
    fn a_remembered_token_is_refused_once_expired() {
        let keys = TokenKeys::new(&set(1)).unwrap();
        let token = keys.issue("us-1", "or-1", Duration::from_secs(60)).unwrap();
        let now = now_secs();
        assert!(keys.verify_at(&token, now).is_ok());
        assert!(keys.verify_at(&token, now + 60 + LEEWAY_SECS).is_ok());
        assert_eq!(keys.verify_at(&token, now + 61 + LEEWAY_SECS), Err(ApiError::Unauthorized));
    }

    #[test]
    fn the_memory_drops_expired_tokens_first_then_everything_when_full() {
        let mut keys = TokenKeys::new(&set(1)).unwrap();
        keys.remembered_at_most = 4;
        assert!(format!("{keys:?}").contains(&keys.kid), "{keys:?}");
        let now = now_secs();
        let short: Vec<String> =
            (0..2).map(|_| keys.issue("us-1", "or-1", Duration::from_secs(60)).unwrap()).collect();
        let long: Vec<String> = (0..3).map(|_| keys.issue("us-1", "or-1", YEAR).unwrap()).collect();
        for token in short.iter().chain(&long[..2]) {
            keys.verify_at(token, now).unwrap();
        }
        assert_eq!(keys.remembered().len(), 4);
        // Full, two of them expired by then: those two go.
        keys.verify_at(&long[2], now + 200).unwrap();
        assert_eq!(keys.remembered().len(), 3);
        // Full of current ones: all go.
        keys.verify_at(&keys.issue("us-1", "or-1", YEAR).unwrap(), now).unwrap();
        assert_eq!(keys.remembered().len(), 4);
        keys.verify_at(&keys.issue("us-1", "or-1", YEAR).unwrap(), now).unwrap();
        assert_eq!(keys.remembered().len(), 1);
    }

    #[test]
    fn previous_keys_verify_and_removed_ones_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let before = TokenKeys::new(&keyset::load_or_create(dir.path()).unwrap()).unwrap();
        let old = before.issue("us-1", "or-1", YEAR).unwrap();
        let old_kid = before.kid.clone();
        keyset::rotate(dir.path()).unwrap();
        let after = TokenKeys::new(&keyset::load(dir.path()).unwrap()).unwrap();
        assert_ne!(after.kid, old_kid);
        assert!(after.verify(&old).is_ok(), "the previous key still verifies");
        let new = after.issue("us-1", "or-1", YEAR).unwrap();
        assert_eq!(jsonwebtoken::decode_header(&new).unwrap().kid, Some(after.kid.clone()));
        assert_eq!(after.jwks().keys.len(), 2);
        keyset::remove(dir.path(), &old_kid).unwrap();
        let removed = TokenKeys::new(&keyset::load(dir.path()).unwrap()).unwrap();
        assert_eq!(removed.verify(&old), Err(ApiError::Unauthorized));
        assert!(removed.verify(&new).is_ok());
    }
}
