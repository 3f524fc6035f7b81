//! The HTTP API (see `API.md` in the shared docs and `parent/openapi.json`).
//!
//! Authentication: `/wallets*` requires `Authorization: Bearer <jwt>` and is scoped to the token's
//! organisation. Known gap: until user-action signing (`X-User-Action`) lands, that token is the
//! only authentication, also for creating wallets and signing, although the design says a JWT
//! alone must never suffice to sign.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Path, Query, Request, State};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use signer_common::encoding::{from_hex0x, to_b64url, to_hex0x};
use signer_common::protocol::{
    self, AttestRequest, AttestationMode, CreateWallet, Curve, Evidence, MAX_MESSAGE_LEN, MAX_NONCE_LEN,
    Request as EnclaveRequest, Response as EnclaveResponse, SessionQuery, SignKind, SignRequest,
};
use tracing::Instrument as _;

use crate::auth::{Caller, HasTokenKeys, TokenKeys};
use crate::enclave::EnclaveClient;
use crate::error::ApiError;
use crate::metrics::{self, Metrics};
use crate::store::{StoreError, WalletRecord, WalletStore};

/// The largest request body accepted (256 KiB).
pub const BODY_LIMIT: usize = 256 * 1024;

/// The header carrying the client's attestation nonce.
pub const NONCE_HEADER: &str = "x-request-nonce";
/// `fresh` (default) or `session`: how a signature is attested.
pub const ATTESTATION_HEADER: &str = "x-attestation";

/// The header carrying the per-request id in responses.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Page size of `GET /wallets` when `limit` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// The largest `limit` of `GET /wallets`.
pub const MAX_PAGE_SIZE: usize = 200;

/// The longest wallet name accepted.
pub const MAX_NAME_LEN: usize = 256;

/// The hand-written OpenAPI document.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Everything the handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The enclave connection pool.
    pub enclave: EnclaveClient,
    /// Wallets and identities.
    pub store: Arc<dyn WalletStore>,
    /// Access-token keys.
    pub tokens: Arc<TokenKeys>,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
}

impl HasTokenKeys for AppState {
    fn token_keys(&self) -> &TokenKeys {
        &self.tokens
    }
}

impl AppState {
    /// Sends a request to the enclave, records its latency, and turns an enclave error answer into
    /// an [`ApiError`].
    pub async fn enclave_call(&self, request: EnclaveRequest) -> Result<EnclaveResponse, ApiError> {
        let kind = request_type(&request);
        let started = Instant::now();
        let result = self.enclave.call(request).await;
        let outcome = match &result {
            Ok(EnclaveResponse::Error(_)) => "error",
            Ok(_) => "ok",
            Err(_) => "unavailable",
        };
        self.metrics.observe_enclave(kind, outcome, started.elapsed());
        match result? {
            EnclaveResponse::Error(e) => {
                tracing::info!(code = ?e.code, "enclave refused the request");
                Err(e.into())
            }
            other => Ok(other),
        }
    }
}

fn request_type(request: &EnclaveRequest) -> &'static str {
    match request {
        EnclaveRequest::Ping => "Ping",
        EnclaveRequest::CreateWallet(_) => "CreateWallet",
        EnclaveRequest::Sign(_) => "Sign",
        EnclaveRequest::Attest(_) => "Attest",
        EnclaveRequest::RootCertificate => "RootCertificate",
        EnclaveRequest::SessionDocument(_) => "SessionDocument",
        _ => "Other",
    }
}

fn unexpected(answer: &EnclaveResponse) -> ApiError {
    let name = match answer {
        EnclaveResponse::Pong(_) => "Pong",
        EnclaveResponse::WalletCreated(_) => "WalletCreated",
        EnclaveResponse::Signed(_) => "Signed",
        EnclaveResponse::Attestation(_) => "Attestation",
        EnclaveResponse::RootCertificate(_) => "RootCertificate",
        EnclaveResponse::SessionDocument(_) => "SessionDocument",
        _ => "another answer",
    };
    ApiError::Internal(format!("unexpected enclave answer: {name}"))
}

/// The API router with its middleware (request ids, tracing, metrics, body limit, JSON errors).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/wallets", post(create_wallet).get(list_wallets))
        .route("/wallets/{id}", get(get_wallet))
        .route("/wallets/{id}/signatures", post(sign))
        .route("/enclave/attestation", get(attestation))
        .route("/enclave/attestation/session", get(session_document))
        .route("/enclave/root", get(root_certificate))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::NotFound("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// Up to this size an oversized body is read (and dropped) before the 413 is sent.
const OVERSIZED_BODY_DRAIN_LIMIT: usize = 1 << 20;
/// The longest the parent waits for such a body.
const OVERSIZED_BODY_DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Per-request middleware: request id, tracing span, early 413 on a declared oversized body,
/// metrics by route template.
async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
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

/// Parses a client nonce: hex with an optional `0x`, 1 to 64 bytes.
pub fn parse_nonce(text: &str) -> Result<Vec<u8>, ApiError> {
    let digits = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")).unwrap_or(text);
    let bytes = hex::decode(digits).map_err(|_| ApiError::InvalidNonce)?;
    if bytes.is_empty() || bytes.len() > MAX_NONCE_LEN {
        return Err(ApiError::InvalidNonce);
    }
    Ok(bytes)
}

/// The `X-Request-Nonce` header, if present.
pub fn header_nonce(headers: &HeaderMap) -> Result<Option<ByteBuf>, ApiError> {
    match headers.get(NONCE_HEADER) {
        None => Ok(None),
        Some(value) => {
            let text = value.to_str().map_err(|_| ApiError::InvalidNonce)?;
            Ok(Some(ByteBuf::from(parse_nonce(text.trim())?)))
        }
    }
}

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> Result<String, ApiError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("random number generator: {e}")))?;
    Ok(hex::encode(bytes))
}

/// The current time as RFC 3339 in UTC with millisecond precision (sorts as text).
pub fn now_rfc3339() -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let now = time::OffsetDateTime::now_utc();
    now.format(FORMAT).unwrap_or_else(|_| now.unix_timestamp().to_string())
}

fn store_error(e: StoreError) -> ApiError {
    ApiError::Internal(format!("store: {e}"))
}

/// A wallet in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletJson {
    /// Wallet id (chosen by the enclave).
    pub id: String,
    /// `secp256k1` or `ed25519`.
    pub curve: String,
    /// `ECDSA` or `EdDSA`.
    pub scheme: String,
    /// `0x` hex: SEC1 compressed for secp256k1, 32 bytes for Ed25519.
    pub public_key: String,
    /// `Active`.
    pub status: String,
    /// RFC 3339.
    pub date_created: String,
    /// The name given at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// base64url COSE_Sign1 attestation document of the creation receipt.
    pub attestation: String,
    /// base64url deterministic CBOR receipt (`kind: WalletCreated`).
    pub receipt: String,
}

impl From<&WalletRecord> for WalletJson {
    fn from(w: &WalletRecord) -> Self {
        WalletJson {
            id: w.id.clone(),
            curve: w.curve.as_str().to_owned(),
            scheme: w.curve.scheme().to_owned(),
            public_key: to_hex0x(&w.public_key),
            status: w.status.clone(),
            date_created: w.date_created.clone(),
            name: w.name.clone(),
            attestation: to_b64url(&w.attestation),
            receipt: to_b64url(&w.receipt),
        }
    }
}

#[derive(Debug, Deserialize)]
struct CreateWalletBody {
    curve: String,
    #[serde(default)]
    name: Option<String>,
}

async fn create_wallet(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CreateWalletBody>,
) -> Result<(StatusCode, Json<WalletJson>), ApiError> {
    let curve: Curve = body.curve.parse().map_err(|_| ApiError::UnknownCurve)?;
    if body.name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_LEN) {
        return Err(ApiError::InvalidParameter(format!("`name` is longer than {MAX_NAME_LEN} characters")));
    }
    let nonce = header_nonce(&headers)?;
    let request_id = format!("wc-{}", random_hex(16)?);
    tracing::info!(request_id = %request_id, curve = curve.as_str(), "creating a wallet");
    // Wallet creation is rare: always a fresh document, which the wallet record keeps.
    let create = CreateWallet { request_id, curve, nonce, attestation: AttestationMode::Fresh };
    let answer = state.enclave_call(EnclaveRequest::CreateWallet(create)).await?;
    let created = match answer {
        EnclaveResponse::WalletCreated(created) => created,
        other => return Err(unexpected(&other)),
    };
    let wallet = created.wallet;
    if wallet.curve != curve
        || wallet.public_key.len() != curve.public_key_len()
        || wallet.wallet_id.is_empty()
        || wallet.wallet_id.len() > 128
        || wallet.sealed.is_empty()
    {
        return Err(ApiError::Internal("the enclave answered a malformed WalletCreated".into()));
    }
    let record = WalletRecord {
        id: wallet.wallet_id,
        org_id: caller.org_id,
        curve,
        public_key: wallet.public_key.into_vec(),
        sealed: wallet.sealed.into_vec(),
        name: body.name,
        status: "Active".to_owned(),
        date_created: now_rfc3339(),
        receipt: created.receipt.into_vec(),
        attestation: match created.evidence {
            Evidence::Document(document) => document.into_vec(),
            Evidence::Session { .. } => {
                return Err(ApiError::Internal(
                    "the enclave answered session evidence to a fresh request".into(),
                ));
            }
        },
    };
    // Only now is anything stored; if this fails the enclave's key is simply never stored.
    state.store.insert_wallet(record.clone()).await.map_err(store_error)?;
    tracing::info!(wallet_id = %record.id, "wallet created");
    Ok((StatusCode::CREATED, Json(WalletJson::from(&record))))
}

fn wallet_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id).map_err(|_| ApiError::NotFound("wallet"))
}

async fn get_wallet(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<WalletJson>, ApiError> {
    let id = wallet_id(path)?;
    let wallet = state.store.get_wallet(&caller.org_id, &id).await.map_err(store_error)?;
    let wallet = wallet.ok_or(ApiError::NotFound("wallet"))?;
    Ok(Json(WalletJson::from(&wallet)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    limit: Option<String>,
    pagination_token: Option<String>,
}

/// `GET /wallets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletList {
    /// One page, oldest first.
    pub items: Vec<WalletJson>,
    /// Pass as `paginationToken` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

async fn list_wallets(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<WalletList>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
    let limit = match query.limit.as_deref() {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            _ => {
                return Err(ApiError::InvalidParameter(format!(
                    "`limit` must be an integer from 1 to {MAX_PAGE_SIZE}"
                )));
            }
        },
    };
    let after = query.pagination_token.filter(|t| !t.is_empty());
    let page =
        state.store.list_wallets(&caller.org_id, after.as_deref(), limit).await.map_err(store_error)?;
    let page = page.ok_or_else(|| ApiError::InvalidParameter("unknown `paginationToken`".into()))?;
    Ok(Json(WalletList {
        items: page.items.iter().map(WalletJson::from).collect(),
        next_page_token: page.next,
    }))
}

#[derive(Debug, Deserialize)]
struct SignBody {
    kind: String,
    #[serde(default)]
    hash: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The parts of a signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureParts {
    /// `0x` hex, 32 bytes.
    pub r: String,
    /// `0x` hex, 32 bytes.
    pub s: String,
    /// The recovery id (0 or 1), secp256k1 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recid: Option<u8>,
    /// `0x` hex of the chain-ready signature: `r||s||v` (65 bytes) or Ed25519's 64 bytes.
    pub encoded: String,
}

/// `POST /wallets/{id}/signatures`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureJson {
    /// The signature request id (`sig-...`), also in the receipt.
    pub id: String,
    /// The wallet.
    pub wallet_id: String,
    /// `Hash` or `Message`.
    pub kind: String,
    /// `Signed`.
    pub status: String,
    /// The signature.
    pub signature: SignatureParts,
    /// base64url deterministic CBOR receipt.
    pub receipt: String,
    /// What binds the receipt to the enclave.
    #[serde(flatten)]
    pub evidence: EvidenceJson,
    /// RFC 3339.
    pub date_signed: String,
}

/// The evidence fields of a signature answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceJson {
    /// `fresh` (default) or `session`, as asked with `X-Attestation`.
    pub attestation_mode: String,
    /// Fresh mode: base64url COSE_Sign1 attestation document with `user_data` = SHA-256(receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Session mode: base64url Ed25519 signature of the session receipt key over the receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_signature: Option<String>,
    /// Session mode: hex SHA-256 of the session document (`GET /enclave/attestation/session?id=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

impl From<Evidence> for EvidenceJson {
    fn from(evidence: Evidence) -> Self {
        match evidence {
            Evidence::Document(document) => EvidenceJson {
                attestation_mode: "fresh".into(),
                attestation: Some(to_b64url(&document)),
                receipt_signature: None,
                session_id: None,
            },
            Evidence::Session { session_id, signature } => EvidenceJson {
                attestation_mode: "session".into(),
                attestation: None,
                receipt_signature: Some(to_b64url(&signature)),
                session_id: Some(hex::encode(&session_id)),
            },
        }
    }
}

/// The `X-Attestation` header: `fresh` (default) or `session`.
pub fn header_attestation_mode(headers: &HeaderMap) -> Result<AttestationMode, ApiError> {
    match headers.get(ATTESTATION_HEADER).map(|v| v.to_str().map(str::trim)) {
        None => Ok(AttestationMode::Fresh),
        Some(Ok(v)) if v.eq_ignore_ascii_case("fresh") => Ok(AttestationMode::Fresh),
        Some(Ok(v)) if v.eq_ignore_ascii_case("session") => Ok(AttestationMode::Session),
        Some(_) => Err(ApiError::InvalidParameter("X-Attestation must be `fresh` or `session`".into())),
    }
}

/// Splits the enclave's encoded signature into its parts.
pub fn signature_parts(curve: Curve, encoded: &[u8]) -> Result<SignatureParts, ApiError> {
    let bad = || {
        ApiError::Internal(format!(
            "the enclave answered a {}-byte {} signature",
            encoded.len(),
            curve.as_str()
        ))
    };
    let (r, s, recid) = match curve {
        Curve::Secp256k1 => {
            if encoded.len() != 65 || encoded[64] > 3 {
                return Err(bad());
            }
            (&encoded[..32], &encoded[32..64], Some(encoded[64]))
        }
        Curve::Ed25519 => {
            if encoded.len() != 64 {
                return Err(bad());
            }
            (&encoded[..32], &encoded[32..], None)
        }
    };
    Ok(SignatureParts { r: to_hex0x(r), s: to_hex0x(s), recid, encoded: to_hex0x(encoded) })
}

fn parse_sign_body(body: SignBody) -> Result<(SignKind, Vec<u8>), ApiError> {
    match body.kind.as_str() {
        "Hash" => {
            let text = body
                .hash
                .ok_or_else(|| ApiError::InvalidParameter("`hash` is required for kind Hash".into()))?;
            let hash = from_hex0x(&text).map_err(|_| ApiError::InvalidHex("hash"))?;
            if hash.len() != 32 {
                return Err(ApiError::InvalidHashLength);
            }
            Ok((SignKind::Hash, hash))
        }
        "Message" => {
            let text = body
                .message
                .ok_or_else(|| ApiError::InvalidParameter("`message` is required for kind Message".into()))?;
            let message = from_hex0x(&text).map_err(|_| ApiError::InvalidHex("message"))?;
            if message.len() > MAX_MESSAGE_LEN {
                return Err(ApiError::InvalidParameter(format!(
                    "`message` is longer than {MAX_MESSAGE_LEN} bytes"
                )));
            }
            Ok((SignKind::Message, message))
        }
        _ => Err(ApiError::UnknownKind),
    }
}

async fn sign(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SignBody>,
) -> Result<Json<SignatureJson>, ApiError> {
    let id = wallet_id(path)?;
    let (kind, payload) = parse_sign_body(body)?;
    let nonce = header_nonce(&headers)?;
    let mode = header_attestation_mode(&headers)?;
    let wallet = state.store.get_sealed_wallet(&caller.org_id, &id).await.map_err(store_error)?;
    let wallet = wallet.ok_or(ApiError::NotFound("wallet"))?;
    let request_id = format!("sig-{}", random_hex(16)?);
    // Into the request's span, so the one access-log line per request names them.
    tracing::Span::current()
        .record("signature_id", request_id.as_str())
        .record("wallet_id", wallet.wallet_id.as_str());
    let curve = wallet.curve;
    let wallet_id = wallet.wallet_id.clone();
    let request = SignRequest {
        request_id: request_id.clone(),
        wallet,
        kind,
        payload: ByteBuf::from(payload),
        nonce,
        attestation: mode,
    };
    let signed = match state.enclave_call(EnclaveRequest::Sign(request)).await {
        Ok(EnclaveResponse::Signed(signed)) => signed,
        Ok(other) => return Err(unexpected(&other)),
        Err(e) => {
            if e == ApiError::SealedWalletInvalid {
                // Read the row again next time rather than a remembered copy.
                state.store.forget_sealed_wallet(&wallet_id);
            }
            return Err(e);
        }
    };
    Ok(Json(SignatureJson {
        id: request_id,
        wallet_id,
        kind: kind.as_str().to_owned(),
        status: "Signed".to_owned(),
        signature: signature_parts(curve, &signed.signature)?,
        receipt: to_b64url(&signed.receipt),
        evidence: signed.evidence.into(),
        date_signed: now_rfc3339(),
    }))
}

#[derive(Debug, Deserialize)]
struct SessionQueryParams {
    id: Option<String>,
}

/// `GET /enclave/attestation/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDocumentJson {
    /// Hex SHA-256 of the document.
    pub id: String,
    /// base64url COSE_Sign1 attestation document whose `public_key` is the receipt key.
    pub attestation: String,
}

async fn session_document(
    State(state): State<AppState>,
    query: Result<Query<SessionQueryParams>, QueryRejection>,
) -> Result<Json<SessionDocumentJson>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
    let id = match query.id {
        None => None,
        Some(text) => {
            let id =
                signer_common::encoding::from_hex_lenient(&text).map_err(|_| ApiError::InvalidHex("id"))?;
            if id.len() != 32 {
                return Err(ApiError::InvalidParameter("`id` must be 32 bytes of hex".into()));
            }
            Some(ByteBuf::from(id))
        }
    };
    match state.enclave_call(EnclaveRequest::SessionDocument(SessionQuery { id })).await? {
        EnclaveResponse::SessionDocument(doc) => {
            Ok(Json(SessionDocumentJson { id: hex::encode(&doc.id), attestation: to_b64url(&doc.document) }))
        }
        other => Err(unexpected(&other)),
    }
}

#[derive(Debug, Deserialize)]
struct AttestQuery {
    nonce: Option<String>,
}

/// `GET /enclave/attestation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationJson {
    /// base64url COSE_Sign1 attestation document.
    pub attestation: String,
    /// PCR index (decimal) to lowercase hex without `0x` (as nitro-cli prints PCRs).
    pub pcrs: std::collections::BTreeMap<String, String>,
}

async fn attestation(
    State(state): State<AppState>,
    query: Result<Query<AttestQuery>, QueryRejection>,
) -> Result<Json<AttestationJson>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
    let nonce = query.nonce.as_deref().map(parse_nonce).transpose()?.map(ByteBuf::from);
    let answer = state.enclave_call(EnclaveRequest::Attest(AttestRequest { nonce })).await?;
    let protocol::Response::Attestation(doc) = answer else {
        return Err(unexpected(&answer));
    };
    // Plain hex, like the PCR values nitro-cli prints and clients pass to `--pcr N=HEX`.
    let pcrs = doc.pcrs.iter().map(|(i, v)| (i.to_string(), hex::encode(v))).collect();
    Ok(Json(AttestationJson { attestation: to_b64url(&doc.document), pcrs }))
}

async fn root_certificate(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.enclave_call(EnclaveRequest::RootCertificate).await? {
        EnclaveResponse::RootCertificate(root) => {
            Ok(([(CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"))], root.pem)
                .into_response())
        }
        other => Err(unexpected(&other)),
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    match state.enclave_call(EnclaveRequest::Ping).await? {
        EnclaveResponse::Pong(pong) if pong.ready => {
            Ok(Json(serde_json::json!({ "status": "ready", "nsm": pong.nsm })))
        }
        EnclaveResponse::Pong(_) => {
            Err(ApiError::EnclaveNotReady("the enclave has no master key yet".into()))
        }
        other => Err(unexpected(&other)),
    }
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static(metrics::CONTENT_TYPE))], state.metrics.render())
        .into_response()
}

async fn openapi() -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces() {
        assert_eq!(parse_nonce("0xab01").unwrap(), vec![0xab, 0x01]);
        assert_eq!(parse_nonce("AB01").unwrap(), vec![0xab, 0x01]);
        assert_eq!(parse_nonce(&"00".repeat(64)).unwrap().len(), 64);
        for bad in ["", "0x", "abc", "zz", "0x0g", &"00".repeat(65), "0x 01"] {
            assert_eq!(parse_nonce(bad), Err(ApiError::InvalidNonce), "{bad:?}");
        }
        let mut headers = HeaderMap::new();
        assert_eq!(header_nonce(&headers).unwrap(), None);
        headers.insert(NONCE_HEADER, HeaderValue::from_static("0x01"));
        assert_eq!(header_nonce(&headers).unwrap(), Some(ByteBuf::from(vec![1])));
        headers.insert(NONCE_HEADER, HeaderValue::from_static("nope"));
        assert_eq!(header_nonce(&headers), Err(ApiError::InvalidNonce));
    }

    #[test]
    fn sign_bodies() {
        let body = |kind: &str, hash: Option<&str>, message: Option<&str>| SignBody {
            kind: kind.into(),
            hash: hash.map(Into::into),
            message: message.map(Into::into),
        };
        let hash = format!("0x{}", "11".repeat(32));
        assert_eq!(
            parse_sign_body(body("Hash", Some(&hash), None)).unwrap(),
            (SignKind::Hash, vec![0x11; 32])
        );
        assert_eq!(parse_sign_body(body("Hash", Some("0x1111"), None)), Err(ApiError::InvalidHashLength));
        assert_eq!(parse_sign_body(body("Hash", Some(&hash[2..]), None)), Err(ApiError::InvalidHex("hash")));
        assert!(matches!(parse_sign_body(body("Hash", None, None)), Err(ApiError::InvalidParameter(_))));
        assert_eq!(parse_sign_body(body("Message", None, Some("0x"))).unwrap(), (SignKind::Message, vec![]));
        assert_eq!(
            parse_sign_body(body("Message", None, Some("0xzz"))),
            Err(ApiError::InvalidHex("message"))
        );
        assert_eq!(parse_sign_body(body("hash", Some(&hash), None)), Err(ApiError::UnknownKind));
    }

    #[test]
    fn signature_parts_by_curve() {
        let mut k1 = vec![0xaa; 32];
        k1.extend([0xbb; 32]);
        k1.push(1);
        let parts = signature_parts(Curve::Secp256k1, &k1).unwrap();
        assert_eq!(parts.r, format!("0x{}", "aa".repeat(32)));
        assert_eq!(parts.s, format!("0x{}", "bb".repeat(32)));
        assert_eq!(parts.recid, Some(1));
        assert_eq!(parts.encoded, to_hex0x(&k1));
        let parts = signature_parts(Curve::Ed25519, &k1[..64]).unwrap();
        assert_eq!(parts.recid, None);
        assert_eq!(parts.s, format!("0x{}", "bb".repeat(32)));
        assert!(signature_parts(Curve::Ed25519, &k1).is_err());
        assert!(signature_parts(Curve::Secp256k1, &k1[..64]).is_err());
    }

    #[test]
    fn dates_sort_as_text() {
        let date = now_rfc3339();
        assert_eq!(date.len(), "2026-11-25T10:00:00.000Z".len(), "{date}");
        assert!(date.ends_with('Z'));
        assert_eq!(&date[4..5], "-");
        assert_eq!(&date[10..11], "T");
        assert_eq!(&date[19..20], ".");
    }
}
