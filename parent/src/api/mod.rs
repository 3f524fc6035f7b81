//! The HTTP API (see `API.md` in the shared docs and `parent/openapi.json`), one file per resource:
//!
//! - [`state`]: what the handlers share ([`AppState`], the enclave call, headers, ids).
//! - [`middleware`]: request ids, the access-log line, metrics, the early 413, the JSON body
//!   extractor.
//! - [`wallets`]: `POST /wallets`, `GET /wallets`, `GET /wallets/{id}`.
//! - [`signatures`]: `POST /wallets/{id}/signatures`.
//! - [`enclave`]: `GET /enclave/attestation`, `/enclave/attestation/session`, `/enclave/root`.
//! - [`health`]: `GET /healthz`, `/readyz`, `/openapi.json`, `/metrics`.
//!
//! The JSON shapes are [`signer_common::api`]'s, shared with clients.
//!
//! Authentication: `/wallets*` requires `Authorization: Bearer <jwt>` and is scoped to the token's
//! organisation. Known gap: until user-action signing (`X-User-Action`) lands, that token is the
//! only authentication, also for creating wallets and signing, although the design says a JWT
//! alone must never suffice to sign.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::error::ApiError;
use crate::limits::BODY_LIMIT;

pub mod enclave;
pub mod health;
pub mod middleware;
pub mod signatures;
pub mod state;
pub mod wallets;

pub use middleware::{JsonBody, REQUEST_ID_HEADER};
pub use state::{AppState, header_attestation_mode, header_nonce, now_rfc3339, random_hex};

/// The API router with its middleware (request ids, tracing, metrics, body limit, JSON errors).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/wallets", post(wallets::create_wallet).get(wallets::list_wallets))
        .route("/wallets/{id}", get(wallets::get_wallet))
        .route("/wallets/{id}/signatures", post(signatures::sign))
        .route("/enclave/attestation", get(enclave::attestation))
        .route("/enclave/attestation/session", get(enclave::session_document))
        .route("/enclave/root", get(enclave::root_certificate))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics_text))
        .route("/openapi.json", get(health::openapi))
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), middleware::track))
        .with_state(state)
}
