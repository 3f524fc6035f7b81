//! The HTTP API (see `API.md` in the shared docs and `parent/openapi.json`), one file per resource:
//!
//! - [`state`]: what the handlers share ([`AppState`], the enclave call, headers, ids).
//! - [`middleware`]: request ids, the access-log line, metrics, the early 413, the JSON body
//!   extractor.
//! - [`wallets`]: `POST /wallets`, `GET /wallets`, `GET /wallets/{id}`.
//! - [`signatures`]: `POST /wallets/{id}/signatures`.
//! - [`enclave`]: `GET /enclave/attestation`, `/enclave/attestation/session`, `/enclave/root`.
//! - [`health`]: `GET /healthz`, `/readyz`, `/openapi.json`, `/.well-known/jwks.json` (the
//!   access tokens' verifying keys), and `/metrics` (on its own listener).
//!
//! The JSON shapes are [`signer_common::api`]'s, shared with clients.
//!
//! - [`calls`]: the calls the enclave executes after checking the user's signature.
//! - [`userauth`]: registration, login, user actions, credentials.
//! - [`users`]: user deactivation and activation, service accounts.
//! - [`pats`]: personal access tokens.
//!
//! Authentication: every route but the health, enclave and the four registration and login
//! routes requires `Authorization: Bearer <jwt>`, scoped to the token's organisation. The bearer
//! alone authorises reads only: state-changing calls also carry the user's signature
//! (`X-User-Action` or the one-shot headers), which the enclave checks.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post, put};

use crate::error::ApiError;
use crate::limits::{BODY_LIMIT, defaults};
use crate::ratelimit::{self, Rate, RateLimiter};

pub mod calls;
pub mod enclave;
pub mod health;
pub mod middleware;
pub mod pats;
pub mod signatures;
pub mod state;
pub mod userauth;
pub mod users;
pub mod wallets;

pub use middleware::{JsonBody, REQUEST_ID_HEADER};
pub use state::{AppState, header_attestation_mode, header_nonce, now_rfc3339, random_hex};

/// The API router with default limits: see [`router_with`].
pub fn router(state: AppState) -> Router {
    let rate = Rate { per_second: defaults::ATTESTATION_RATE, burst: defaults::ATTESTATION_BURST };
    router_with(state, Duration::from_millis(defaults::REQUEST_TIMEOUT_MS), rate)
}

/// The API router with its middleware (request ids, tracing, metrics, request timeout, body
/// limit, JSON errors) and the per-client rate limit of the attestation routes. `/metrics` is not
/// on it: it is served on its own listener ([`health::metrics_router`]).
pub fn router_with(state: AppState, request_timeout: Duration, attestation_rate: Rate) -> Router {
    let limiter = Arc::new(RateLimiter::new(attestation_rate));
    let attestation = Router::new()
        .route("/enclave/attestation", get(enclave::attestation))
        .route("/enclave/attestation/session", get(enclave::session_document))
        .route_layer(from_fn_with_state(limiter, ratelimit::limit));
    Router::new()
        .route("/wallets", post(wallets::create_wallet).get(wallets::list_wallets))
        .route("/wallets/{id}", get(wallets::get_wallet))
        .route("/wallets/{id}/signatures", post(signatures::sign))
        .route("/auth/registration/init", post(userauth::registration_init))
        .route("/auth/registration", post(userauth::register))
        .route("/auth/registration/codes", post(userauth::registration_codes))
        .route("/auth/login/init", post(userauth::login_init))
        .route("/auth/login", post(userauth::login))
        .route("/auth/action/init", post(userauth::action_init))
        .route("/auth/action", post(userauth::action))
        .route("/auth/credentials/init", post(userauth::credentials_init))
        .route("/auth/credentials", post(userauth::create_credential).get(userauth::list_credentials))
        .route("/auth/credentials/activate", put(userauth::set_credential_status))
        .route("/auth/credentials/deactivate", put(userauth::set_credential_status))
        .route("/auth/users/{id}/deactivate", put(users::set_user_status))
        .route("/auth/users/{id}/activate", put(users::set_user_status))
        .route("/auth/service-accounts", post(users::create_service_account))
        .route("/auth/pats", post(pats::create_pat))
        .route("/auth/pats/{id}", delete(pats::revoke_pat))
        .route("/auth/service-accounts/{id}/deactivate", put(users::set_user_status))
        .route("/auth/service-accounts/{id}/activate", put(users::set_user_status))
        .merge(attestation)
        .route("/enclave/root", get(enclave::root_certificate))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics_with_token))
        .route("/openapi.json", get(health::openapi))
        .route("/.well-known/jwks.json", get(health::jwks))
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(request_timeout, middleware::timeout))
        .layer(from_fn_with_state(state.clone(), middleware::track))
        .with_state(state)
}
