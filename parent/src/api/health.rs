//! `GET /healthz`, `GET /readyz`, `GET /metrics`, `GET /openapi.json`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use signer_common::api::Health;
use signer_common::protocol::{Request, Response as EnclaveResponse};

use super::state::{AppState, unexpected};
use crate::error::ApiError;
use crate::metrics;

/// The hand-written OpenAPI document.
pub const OPENAPI: &str = include_str!("../../openapi.json");

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

pub(super) async fn metrics_text(State(state): State<AppState>) -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static(metrics::CONTENT_TYPE))], state.metrics.render())
        .into_response()
}

pub(super) async fn openapi() -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}
