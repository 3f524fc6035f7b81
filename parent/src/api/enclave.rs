//! `GET /enclave/attestation`, `GET /enclave/attestation/session`, `GET /enclave/root`: the
//! enclave's evidence, without authentication.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_bytes::ByteBuf;
use signer_common::api::{AttestationAnswer, SessionDocumentAnswer, parse_nonce};
use signer_common::encoding::{from_hex_lenient, to_b64url};
use signer_common::protocol::{AttestRequest, Request, Response as EnclaveResponse, SessionQuery};

use super::state::{AppState, unexpected};
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
pub(super) struct SessionQueryParams {
    id: Option<String>,
}

pub(super) async fn session_document(
    State(state): State<AppState>,
    query: Result<Query<SessionQueryParams>, QueryRejection>,
) -> Result<Json<SessionDocumentAnswer>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
    let id = match query.id {
        None => None,
        Some(text) => {
            let id =
                from_hex_lenient(&text).map_err(|reason| ApiError::InvalidHex { field: "id", reason })?;
            if id.len() != 32 {
                return Err(ApiError::InvalidParameter("`id` must be 32 bytes of hex".into()));
            }
            Some(ByteBuf::from(id))
        }
    };
    match state.enclave_call(Request::SessionDocument(SessionQuery { id })).await? {
        EnclaveResponse::SessionDocument(doc) => Ok(Json(SessionDocumentAnswer {
            id: hex::encode(&doc.id),
            attestation: to_b64url(&doc.document),
        })),
        other => Err(unexpected(&other)),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct AttestQuery {
    nonce: Option<String>,
}

pub(super) async fn attestation(
    State(state): State<AppState>,
    query: Result<Query<AttestQuery>, QueryRejection>,
) -> Result<Json<AttestationAnswer>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::InvalidParameter(e.body_text()))?;
    let nonce = query.nonce.as_deref().map(parse_nonce).transpose()?.map(ByteBuf::from);
    let answer = state.enclave_call(Request::Attest(AttestRequest { nonce })).await?;
    let EnclaveResponse::Attestation(doc) = answer else {
        return Err(unexpected(&answer));
    };
    // Plain hex, like the PCR values nitro-cli prints and clients pass to `--pcr N=HEX`.
    let pcrs = doc.pcrs.iter().map(|(i, v)| (i.to_string(), hex::encode(v))).collect();
    Ok(Json(AttestationAnswer { attestation: to_b64url(&doc.document), pcrs }))
}

pub(super) async fn root_certificate(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.enclave_call(Request::RootCertificate).await? {
        EnclaveResponse::RootCertificate(root) => {
            Ok(([(CONTENT_TYPE, HeaderValue::from_static("application/x-pem-file"))], root.pem)
                .into_response())
        }
        other => Err(unexpected(&other)),
    }
}
