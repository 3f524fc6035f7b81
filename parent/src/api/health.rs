//! `GET /healthz`, `GET /readyz`, `GET /metrics`, `GET /openapi.json`, `GET /.well-known/jwks.json`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use signer_common::api::Health;
use signer_common::protocol::{Request, Response as EnclaveResponse};

use super::state::{AppState, unexpected};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::metrics::{self, Metrics};

/// The hand-written OpenAPI document.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// `GET /.well-known/jwks.json`: the keys that verify access tokens (RFC 7517), the current one
/// first. Public: anyone may check a token the parent issued.
pub(super) async fn jwks(State(state): State<AppState>) -> Json<crate::auth::tokens::Jwks> {
    Json(state.tokens.jwks().clone())
}

pub(super) async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into(), nsm: None })
}

pub(super) async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.enclave_call(Request::Ping).await? {
        EnclaveResponse::Pong(pong) if pong.ready => {
            Ok(Json(Health { status: "ready".into(), nsm: Some(pong.nsm) }))
        }
        EnclaveResponse::Pong(_) => {
            Err(ApiError::EnclaveNotReady("the enclave has no master key yet".into()))
        }
        other => Err(unexpected(&other)),
    }
}

/// The router of the metrics listener: `GET /metrics` only.
pub fn metrics_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .fallback(|| async { ApiError::NotFound("route") })
        .with_state(metrics)
}

/// `GET /metrics` on the API listener: only for a caller with an access token (the metrics
/// listener, loopback by default, serves it without one).
pub(super) async fn metrics_with_token(_caller: Caller, State(state): State<AppState>) -> Response {
    metrics_text(State(state.metrics.clone())).await
}

async fn metrics_text(State(metrics): State<Arc<Metrics>>) -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static(metrics::CONTENT_TYPE))], metrics.render()).into_response()
}

pub(super) async fn openapi() -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}

#[cfg(test)]
mod tests {
    /// Every route of the router (read from its source, `api/mod.rs`) is in the OpenAPI
    /// document with each of its methods.
    #[test]
    fn every_route_and_method_is_in_the_openapi_document() {
        let doc: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        let source = include_str!("mod.rs");
        let mut routes = 0;
        for call in source.split(".route(\"").skip(1) {
            let (path, rest) = call.split_once('"').unwrap();
            let line = rest.lines().next().unwrap();
            let methods: Vec<&str> = ["get", "post", "put", "delete"]
                .into_iter()
                .filter(|m| line.contains(&format!("{m}(")))
                .collect();
            assert!(!methods.is_empty(), "no method found for {path}: {line}");
            for method in methods {
                assert!(doc["paths"][path][method].is_object(), "{method} {path} is not in openapi.json");
            }
            routes += 1;
        }
        assert!(routes >= 20, "only {routes} routes found: has the router's source changed shape?");
    }
}
