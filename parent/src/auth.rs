//! API access keys: HS256 JWTs signed with a per-deployment secret kept in
//! `DATA_DIR/jwt-secret` (32 random bytes, mode 0600, created on first start).
//!
//! A token alone authorises reads only: every state-changing call also carries the user's
//! signature (`X-User-Action` or the one-shot headers), which the enclave checks (see
//! [`crate::api::calls`]).

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// The file holding the HMAC secret, inside the data directory.
pub const SECRET_FILE: &str = "jwt-secret";

/// The `iss` claim of every token this parent issues and accepts.
pub const ISSUER: &str = "signer-parent";

/// How long a dev-mode access token is valid.
pub const DEV_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's organisation.
    pub org: String,
    /// [`ISSUER`].
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expires at (Unix seconds).
    pub exp: u64,
}

/// Why the signing secret could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// Reading or writing the file failed.
    #[error("jwt secret file: {0}")]
    Io(#[from] std::io::Error),
    /// The file exists but is not 32 bytes.
    #[error("jwt secret file has {0} bytes, expected 32")]
    Length(usize),
    /// The system RNG failed.
    #[error("random number generator: {0}")]
    Rng(String),
}

/// Issues and checks access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(..)")
    }
}

impl TokenKeys {
    /// Keys from a 32-byte secret.
    pub fn from_secret(secret: &[u8; 32]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 30;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Loads `data_dir/jwt-secret`, creating it (mode 0600) with 32 random bytes if absent.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, SecretError> {
        let path = data_dir.join(SECRET_FILE);
        let secret = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                getrandom::fill(&mut secret).map_err(|e| SecretError::Rng(e.to_string()))?;
                write_private_file(&path, &secret)?;
                tracing::info!(path = %path.display(), "created a new access-token signing secret");
                secret.to_vec()
            }
            Err(e) => return Err(e.into()),
        };
        let secret: [u8; 32] = secret.as_slice().try_into().map_err(|_| SecretError::Length(secret.len()))?;
        Ok(Self::from_secret(&secret))
    }

    /// A token for `user_id` of `org_id`, valid for `lifetime`.
    pub fn issue(&self, user_id: &str, org_id: &str, lifetime: Duration) -> Result<String, ApiError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let claims = Claims {
            sub: user_id.to_owned(),
            org: org_id.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now.saturating_add(lifetime.as_secs()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("token encoding: {e}")))
    }

    /// Checks a token's signature, algorithm, issuer and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                // The reason only: the token itself is never logged.
                tracing::debug!(reason = %e, "access token refused");
                ApiError::Unauthorized
            })
    }
}

/// Writes `bytes` to a new file readable only by its owner, replacing any existing file.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    std::fs::rename(&tmp, path)
}

/// The authenticated caller of a `/wallets` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user id (`sub`).
    pub user_id: String,
    /// The organisation (`org`): every wallet access is scoped to it.
    pub org_id: String,
}

/// Something that can check bearer tokens (the app state).
pub trait HasTokenKeys {
    /// The keys.
    fn token_keys(&self) -> &TokenKeys;
}

impl<S: HasTokenKeys + Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(ApiError::Unauthorized)?;
        let value = header.to_str().map_err(|_| ApiError::Unauthorized)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(ApiError::Unauthorized);
        }
        let claims = state.token_keys().verify(token.trim())?;
        Ok(Caller { user_id: claims.sub, org_id: claims.org })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bad_ones_are_refused() {
        let keys = TokenKeys::from_secret(&[1; 32]);
        let token = keys.issue("us-1", "or-1", DEV_TOKEN_LIFETIME).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.org.as_str(), claims.iss.as_str()), ("us-1", "or-1", ISSUER));
        assert!(claims.exp > claims.iat + 364 * 24 * 3600);

        let other = TokenKeys::from_secret(&[2; 32]);
        assert_eq!(other.verify(&token), Err(ApiError::Unauthorized));
        assert_eq!(keys.verify("not.a.jwt"), Err(ApiError::Unauthorized));
        // Expiry is checked with 30 s leeway, so use a token that expired long ago.
        let old = Claims { sub: "u".into(), org: "o".into(), iss: ISSUER.into(), iat: 1, exp: 2 };
        let old =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &old, &EncodingKey::from_secret(&[1; 32]))
                .unwrap();
        assert_eq!(keys.verify(&old), Err(ApiError::Unauthorized));
        let wrong_iss = Claims { iss: "someone".into(), ..keys.verify(&token).unwrap() };
        let wrong_iss = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &wrong_iss,
            &EncodingKey::from_secret(&[1; 32]),
        )
        .unwrap();
        assert_eq!(keys.verify(&wrong_iss), Err(ApiError::Unauthorized));
    }

    #[test]
    fn secret_file_is_created_private_and_reused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let keys = TokenKeys::load_or_create(dir.path()).unwrap();
        let path = dir.path().join(SECRET_FILE);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::read(&path).unwrap().len(), 32);
        let token = keys.issue("u", "o", DEV_TOKEN_LIFETIME).unwrap();
        let again = TokenKeys::load_or_create(dir.path()).unwrap();
        assert!(again.verify(&token).is_ok());
        std::fs::write(&path, b"short").unwrap();
        assert!(matches!(TokenKeys::load_or_create(dir.path()), Err(SecretError::Length(5))));
    }
}
