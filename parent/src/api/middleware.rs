//! Per-request middleware (request id, the one access-log line, metrics by route template, the
//! early 413) and the JSON body extractor.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

use super::state::{AppState, random_hex};
use crate::error::ApiError;
use crate::limits::BODY_LIMIT;

/// The header carrying the per-request id in responses.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Up to this size an oversized body is read (and dropped) before the 413 is sent.
const OVERSIZED_BODY_DRAIN_LIMIT: usize = 1 << 20;
/// The longest the parent waits for such a body.
const OVERSIZED_BODY_DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Per-request middleware: request id, tracing span, early 413 on a declared oversized body,
/// metrics by route template.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = metric_method(request.method());
    let request_id = random_hex(8).map(|h| format!("req-{h}")).unwrap_or_else(|_| "req-unknown".into());
    let span = tracing::info_span!(
        "http",
        request_id = %request_id,
        method,
        route = %route,
        wallet_id = tracing::field::Empty,
        signature_id = tracing::field::Empty,
    );
    let declared_len = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut response = if declared_len.is_some_and(|n| n > BODY_LIMIT as u64) {
        // Read and drop a moderately oversized body before answering: a client that writes the
        // whole body before reading (most do) then gets the 413 instead of a broken pipe or a
        // reset. Anything larger is refused without reading.
        // The wait is bounded, so a client that never sends the body is still answered.
        if declared_len.is_some_and(|n| n <= OVERSIZED_BODY_DRAIN_LIMIT as u64) {
            let drain = axum::body::to_bytes(request.into_body(), OVERSIZED_BODY_DRAIN_LIMIT);
            let _ = tokio::time::timeout(OVERSIZED_BODY_DRAIN_TIMEOUT, drain).await;
        }
        ApiError::PayloadTooLarge.into_response()
    } else {
        next.run(request).instrument(span.clone()).await
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state.metrics.observe_http(&route, method, status, elapsed);
    span.in_scope(|| {
        tracing::info!(status, elapsed_us = elapsed.as_micros() as u64, "request");
    });
    response
}

/// Middleware: a request (reading its body included) that takes longer than the timeout is
/// answered 408 and dropped.
pub async fn timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::RequestTimeout.into_response(),
    }
}

/// Standard methods by name; anything else as `OTHER`, so labels stay bounded.
fn metric_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// A JSON body read under the body limit, whatever its content type; its rejections are
/// [`ApiError`]s (413 for an oversized body, 400 for anything malformed).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidJson(e.body_text())
            }
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| ApiError::InvalidJson(e.to_string()))
    }
}

/// The exact body bytes, read under the body limit (413 past it): for the calls the enclave
/// executes, which get the bytes as sent.
#[derive(Debug, Clone)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state).await.map(RawBody).map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidJson(e.body_text())
            }
        })
    }
}

/// Parses JSON body bytes (400 `invalid_json` when they are not of the shape).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))
}
