//! What the handlers share: the state, the enclave call, header parsing, ids and dates.

use signer_common::identity::Notarized;
use std::sync::Arc;
use std::time::Instant;

use axum::http::HeaderMap;
use serde_bytes::ByteBuf;
use signer_common::api::{ATTESTATION_HEADER, NONCE_HEADER, parse_attestation_mode, parse_nonce};
use signer_common::protocol::{AttestationMode, Request as EnclaveRequest, Response as EnclaveResponse};

use crate::auth::{CheckFuture, Claims, HasTokenKeys, TokenKeys};
use crate::enclave::EnclaveClient;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Everything the handlers share. Cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The enclave connection pool.
    pub enclave: EnclaveClient,
    /// Wallets and identities.
    pub store: Arc<dyn Store>,
    /// Access-token keys.
    pub tokens: Arc<TokenKeys>,
    /// Counters and histograms for `/metrics`.
    pub metrics: Arc<Metrics>,
}

impl HasTokenKeys for AppState {
    fn token_keys(&self) -> &TokenKeys {
        &self.tokens
    }

    fn current_user<'a>(&'a self, claims: &'a Claims) -> CheckFuture<'a, Option<Notarized>> {
        Box::pin(async move {
            let user = self.store.active_user(&claims.org, &claims.sub).await.map_err(store_error)?;
            let Some(pat) = &claims.pat else { return Ok(user) };
            let Ok(cred_id) = signer_common::encoding::from_b64(pat) else { return Ok(None) };
            let key = self.store.credential_is_active(&claims.sub, &cred_id).await.map_err(store_error)?;
            Ok(user.filter(|_| key == Some(true)))
        })
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
        EnclaveRequest::CreateOrg(_) => "CreateOrg",
        EnclaveRequest::RegistrationInit(_) => "RegistrationInit",
        EnclaveRequest::Register(_) => "Register",
        EnclaveRequest::Challenge(_) => "Challenge",
        EnclaveRequest::Login(_) => "Login",
        EnclaveRequest::UserAction(_) => "UserAction",
        EnclaveRequest::Call(_) => "Call",
        EnclaveRequest::Attest(_) => "Attest",
        EnclaveRequest::RootCertificate => "RootCertificate",
        EnclaveRequest::SessionDocument(_) => "SessionDocument",
        _ => "Other",
    }
}

/// The error for an enclave answer of the wrong kind.
pub fn unexpected(answer: &EnclaveResponse) -> ApiError {
    let name = match answer {
        EnclaveResponse::Pong(_) => "Pong",
        EnclaveResponse::OrgCreated(_) => "OrgCreated",
        EnclaveResponse::RegistrationChallenge(_) => "RegistrationChallenge",
        EnclaveResponse::Registered(_) => "Registered",
        EnclaveResponse::Challenge(_) => "Challenge",
        EnclaveResponse::LoggedIn(_) => "LoggedIn",
        EnclaveResponse::UserActionIssued(_) => "UserActionIssued",
        EnclaveResponse::Called(_) => "Called",
        EnclaveResponse::Attestation(_) => "Attestation",
        EnclaveResponse::RootCertificate(_) => "RootCertificate",
        EnclaveResponse::SessionDocument(_) => "SessionDocument",
        _ => "another answer",
    };
    ApiError::Internal(format!("unexpected enclave answer: {name}"))
}

/// A store failure as an API error (the detail is logged, not returned).
pub fn store_error(e: StoreError) -> ApiError {
    ApiError::Internal(format!("store: {e}"))
}

/// The `X-Request-Nonce` header, if present.
pub fn header_nonce(headers: &HeaderMap) -> Result<Option<ByteBuf>, ApiError> {
    match headers.get(NONCE_HEADER) {
        None => Ok(None),
        Some(value) => {
            let text = value.to_str().map_err(|_| ApiError::InvalidParameter("nonce is not text".into()))?;
            Ok(Some(ByteBuf::from(parse_nonce(text)?)))
        }
    }
}

/// The `X-Attestation` header: `fresh` (default) or `session`.
pub fn header_attestation_mode(headers: &HeaderMap) -> Result<AttestationMode, ApiError> {
    match headers.get(ATTESTATION_HEADER) {
        None => Ok(AttestationMode::Fresh),
        Some(value) => {
            value.to_str().ok().and_then(parse_attestation_mode).ok_or_else(|| {
                ApiError::InvalidParameter("X-Attestation must be `fresh` or `session`".into())
            })
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

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn nonce_and_attestation_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(header_nonce(&headers).unwrap(), None);
        assert_eq!(header_attestation_mode(&headers).unwrap(), AttestationMode::Fresh);
        headers.insert(NONCE_HEADER, HeaderValue::from_static("0x01"));
        headers.insert(ATTESTATION_HEADER, HeaderValue::from_static("Session"));
        assert_eq!(header_nonce(&headers).unwrap(), Some(ByteBuf::from(vec![1])));
        assert_eq!(header_attestation_mode(&headers).unwrap(), AttestationMode::Session);
        headers.insert(NONCE_HEADER, HeaderValue::from_static("nope"));
        headers.insert(ATTESTATION_HEADER, HeaderValue::from_static("stale"));
        assert_eq!(header_nonce(&headers).unwrap_err().code(), "invalid_nonce");
        assert_eq!(header_attestation_mode(&headers).unwrap_err().code(), "invalid_parameter");
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
