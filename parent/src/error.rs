//! The API's errors: one enum, one mapping to an HTTP status and a stable snake_case code, one
//! JSON shape: `{ "error": { "code": "...", "message": "..." } }`.
//!
//! Messages are written here or come from the enclave (whose messages never carry key material);
//! internal details are logged, not returned, and nothing a client sent as a secret is echoed.

use axum::Json;
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use signer_common::api::{ErrorAnswer, ErrorDetail, NonceError};
use signer_common::encoding::DecodeError;
use signer_common::protocol::{EnclaveError, ErrorCode};

use crate::enclave::EnclaveUnavailable;

/// Every error the HTTP API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not JSON of the expected shape.
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    /// A query parameter or body field has an invalid value.
    #[error("{0}")]
    InvalidParameter(String),
    /// `curve` is not a supported curve.
    #[error("unknown curve; expected secp256k1 or ed25519")]
    UnknownCurve,
    /// `kind` is not a supported signature kind.
    #[error("unknown kind; expected Hash or Message")]
    UnknownKind,
    /// A field that must be hex is not ([`signer_common::encoding::from_hex0x`] says why).
    #[error("`{field}` {reason}")]
    InvalidHex {
        /// The field's JSON name.
        field: &'static str,
        /// What is wrong with it.
        reason: DecodeError,
    },
    /// `hash` is not exactly 32 bytes.
    #[error("`hash` must be exactly 32 bytes")]
    InvalidHashLength,
    /// `X-Request-Nonce` or `?nonce=` is not hex of 1 to 64 bytes.
    #[error("{0}")]
    InvalidNonce(#[from] NonceError),
    /// The enclave refused the request as malformed.
    #[error("{0}")]
    EnclaveBadRequest(String),
    /// The enclave does not support this combination (a Message on secp256k1, say).
    #[error("{0}")]
    Unsupported(String),
    /// No bearer token, or an invalid or expired one.
    #[error("missing or invalid access token")]
    Unauthorized,
    /// A state-changing call without `X-User-Action` or the one-shot signature headers.
    #[error(
        "this call needs the user's signature: X-User-Action, or X-Request-Time, X-Request-Id and X-Request-Signature"
    )]
    UserActionRequired,
    /// Not permitted: the enclave refused the user's signature, token or record, or the
    /// credential is unknown or of another user.
    #[error("{0}")]
    Forbidden(String),
    /// The call conflicts with the current state (a username taken, the last active credential).
    #[error("{0}")]
    Conflict(String),
    /// No such wallet (or one of another organisation), or no such route.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The route exists but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The body is larger than the limit.
    #[error("request body larger than {} bytes", crate::limits::BODY_LIMIT)]
    PayloadTooLarge,
    /// Past the rate limit of this route for this client address.
    #[error("too many requests; retry after {retry_after_secs} s")]
    TooManyRequests {
        /// The `Retry-After` value.
        retry_after_secs: u64,
    },
    /// The request (body included) did not complete within the request timeout.
    #[error("the request did not complete in time")]
    RequestTimeout,
    /// The enclave could not be reached or did not answer in time.
    #[error("enclave unavailable")]
    EnclaveUnavailable,
    /// The enclave is up but has no master key yet.
    #[error("enclave not ready: {0}")]
    EnclaveNotReady(String),
    /// The stored sealed wallet did not open in the enclave: the stored blob was tampered with,
    /// swapped, or sealed by another deployment.
    #[error("the stored sealed wallet was refused by the enclave")]
    SealedWalletInvalid,
    /// Anything else; the detail is logged, the client sees a generic message.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_)
            | ApiError::InvalidParameter(_)
            | ApiError::UnknownCurve
            | ApiError::UnknownKind
            | ApiError::InvalidHex { .. }
            | ApiError::InvalidHashLength
            | ApiError::InvalidNonce(_)
            | ApiError::EnclaveBadRequest(_)
            | ApiError::Unsupported(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::UserActionRequired | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::EnclaveUnavailable | ApiError::EnclaveNotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::SealedWalletInvalid | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable snake_case code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidParameter(_) => "invalid_parameter",
            ApiError::UnknownCurve => "unknown_curve",
            ApiError::UnknownKind => "unknown_kind",
            ApiError::InvalidHex { .. } => "invalid_hex",
            ApiError::InvalidHashLength => "invalid_hash_length",
            ApiError::InvalidNonce(_) => "invalid_nonce",
            ApiError::EnclaveBadRequest(_) => "bad_request",
            ApiError::Unsupported(_) => "unsupported",
            ApiError::Unauthorized => "unauthorized",
            ApiError::UserActionRequired => "user_action_required",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::Conflict(_) => "conflict",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::EnclaveUnavailable => "enclave_unavailable",
            ApiError::EnclaveNotReady(_) => "enclave_not_ready",
            ApiError::SealedWalletInvalid => "sealed_wallet_invalid",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<EnclaveUnavailable> for ApiError {
    fn from(e: EnclaveUnavailable) -> Self {
        tracing::warn!(reason = %e.reason, "enclave unavailable");
        ApiError::EnclaveUnavailable
    }
}

impl From<EnclaveError> for ApiError {
    fn from(e: EnclaveError) -> Self {
        match e.code {
            ErrorCode::BadRequest => ApiError::EnclaveBadRequest(e.message),
            ErrorCode::Unsupported => ApiError::Unsupported(e.message),
            ErrorCode::SealedWalletInvalid => ApiError::SealedWalletInvalid,
            ErrorCode::NotReady => ApiError::EnclaveNotReady(e.message),
            ErrorCode::NotFound => ApiError::NotFound("session document"),
            ErrorCode::Internal => ApiError::Internal(format!("enclave: {}", e.message)),
            ErrorCode::Forbidden => ApiError::Forbidden(e.message),
            ErrorCode::Conflict => ApiError::Conflict(e.message),
            // A code added to the protocol later: the enclave failed in a way this build does not
            // know; treat it as internal.
            _ => ApiError::Internal(format!("enclave: {:?}: {}", e.code, e.message)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(detail = %detail, "internal error");
        } else if self == ApiError::SealedWalletInvalid {
            tracing::error!(
                "the enclave refused a stored sealed wallet: the store may have been tampered with"
            );
        }
        let body = ErrorAnswer { error: ErrorDetail { code: self.code().into(), message: self.to_string() } };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests { retry_after_secs } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enclave_codes_map_to_statuses() {
        let cases = [
            (ErrorCode::BadRequest, 400, "bad_request"),
            (ErrorCode::Unsupported, 400, "unsupported"),
            (ErrorCode::SealedWalletInvalid, 500, "sealed_wallet_invalid"),
            (ErrorCode::NotReady, 503, "enclave_not_ready"),
            (ErrorCode::Internal, 500, "internal"),
            (ErrorCode::Forbidden, 403, "forbidden"),
            (ErrorCode::Conflict, 409, "conflict"),
        ];
        for (code, status, name) in cases {
            let e = ApiError::from(EnclaveError { code, message: "m".into() });
            assert_eq!(e.status().as_u16(), status, "{code:?}");
            assert_eq!(e.code(), name);
        }
        assert_eq!(ApiError::from(EnclaveUnavailable { reason: "x".into() }).status().as_u16(), 503);
    }

    #[test]
    fn internal_details_are_not_returned() {
        let e = ApiError::Internal("database file /secret/path is locked".into());
        assert_eq!(e.to_string(), "internal error");
    }

    #[tokio::test]
    async fn json_shape() {
        let response = ApiError::InvalidHashLength.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["error"]["code"], "invalid_hash_length");
        assert_eq!(v["error"]["message"], "`hash` must be exactly 32 bytes");
        assert_eq!(v.as_object().unwrap().len(), 1);
    }
}
