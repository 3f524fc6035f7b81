//! Personal access tokens: `POST /auth/pats` (the user's user action) and `DELETE
//! /auth/pats/{id}`, executed by the enclave (`enclave/src/ops/pats.rs`). A token's key is a
//! credential of its user; the token names it (`pat` claim), and the bearer check refuses the
//! token once that credential is inactive, or its user is.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use signer_common::api::auth::{CreatePatRequest, PatAnswer, PatRevoked};
use signer_common::encoding::to_b64url;
use signer_common::identity::Record;
use signer_common::protocol::Outcome;

use super::calls::checked_call_auth;
use super::middleware::{RawBody, parse_json};
use super::state::{AppState, now_rfc3339, store_error};
use super::users::UserCall;
use crate::auth::Caller;
use crate::auth::tokens::TokenKind;
use crate::error::ApiError;
use crate::store::StoreError;

/// `POST /auth/pats`.
pub(super) async fn create_pat(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<(StatusCode, Json<PatAnswer>), ApiError> {
    let _: CreatePatRequest = parse_json(&bytes)?;
    let auth = checked_call_auth(&headers)?;
    let call = UserCall { caller: &caller, headers: &headers, method: &method, uri: &uri };
    let Outcome::PatCreated(credential) =
        call.forward(&state, bytes, auth, "pa", (Vec::new(), false)).await?
    else {
        return Err(ApiError::Internal(
            "the enclave answered another outcome to a personal access token".into(),
        ));
    };
    let Ok(Record::Credential(key)) = credential.decode_unverified() else {
        return Err(ApiError::Internal("the enclave answered a record that does not decode".into()));
    };
    let expires_at_ms =
        key.pat_expires_at_ms.ok_or_else(|| ApiError::Internal("a token's key without expiry".into()))?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    let id = to_b64url(&key.cred_id);
    match state.store.insert_credential(credential, now_rfc3339()).await {
        Ok(()) => {}
        Err(StoreError::Duplicate) => return Err(ApiError::Conflict("the credential id exists".into())),
        Err(e) => return Err(store_error(e)),
    }
    let lifetime = Duration::from_millis(expires_at_ms.saturating_sub(now_ms));
    let access_token =
        state.tokens.issue_as(TokenKind::Pat, &caller.user_id, &caller.org_id, lifetime, Some(id.clone()))?;
    Ok((StatusCode::CREATED, Json(PatAnswer { id: id.clone(), access_token, cred_id: id })))
}

/// `DELETE /auth/pats/{id}`.
pub(super) async fn revoke_pat(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<Json<PatRevoked>, ApiError> {
    let id = path.map(|Path(id)| id).map_err(|_| ApiError::NotFound("personal access token"))?;
    let auth = checked_call_auth(&headers)?;
    let call = UserCall { caller: &caller, headers: &headers, method: &method, uri: &uri };
    let Outcome::CredentialUpdated(record) =
        call.forward(&state, bytes, auth, "pr", (Vec::new(), true)).await?
    else {
        return Err(ApiError::Internal("the enclave answered another outcome to a revocation".into()));
    };
    let version =
        record.decode_unverified().map_err(|e| ApiError::Internal(format!("revoked record: {e}")))?.version();
    match state.store.replace_record(version.saturating_sub(1), record).await {
        Ok(()) => Ok(Json(PatRevoked { id, is_active: false })),
        Err(StoreError::Stale) => Err(ApiError::Conflict("the token changed meanwhile; try again".into())),
        Err(e) => Err(store_error(e)),
    }
}
