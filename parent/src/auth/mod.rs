//! API access: access tokens ([`tokens`]: EdDSA JWTs) signed by the key set of the data
//! directory ([`keyset`]), and the [`Caller`] a bearer token names.
//!
//! A token alone authorises reads only: every state-changing call also carries the user's
//! signature (`X-User-Action` or the one-shot headers), which the enclave checks (see
//! [`crate::api::calls`]).

pub mod keyset;
pub mod tokens;

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use signer_common::identity::Notarized;

use crate::error::ApiError;
pub use tokens::{Claims, ISSUER, TokenKeys};

/// How long a dev-mode access token is valid.
pub const DEV_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

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
    /// The user's record, read by the bearer check (the enclave checks it; the parent sends it).
    pub user: Notarized,
}

/// What a request's future answers (the store's checks).
pub type CheckFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, ApiError>> + Send + 'a>>;

/// Something that can check bearer tokens (the app state).
pub trait HasTokenKeys {
    /// The keys.
    fn token_keys(&self) -> &TokenKeys;
    /// The token's user record, if the token's records allow it: its user known and active,
    /// and for a personal access token its key's credential active. Every bearer request asks,
    /// so a deactivated user's tokens, or a revoked token, are refused from their next request
    /// on.
    fn current_user<'a>(&'a self, claims: &'a Claims) -> CheckFuture<'a, Option<Notarized>>;
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
        // The token's records: its user still active (an unknown user is refused too), and a
        // personal access token not revoked.
        let Some(user) = state.current_user(&claims).await? else {
            tracing::debug!("access token of an inactive or unknown user, or a revoked one, refused");
            return Err(ApiError::Unauthorized);
        };
        Ok(Caller { user_id: claims.sub, org_id: claims.org, user })
    }
}
