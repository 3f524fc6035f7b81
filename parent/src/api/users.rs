//! Users an admin manages, each an admin's user action executed by the enclave:
//! - `PUT /auth/users/{id}/deactivate` and `/activate`, and the same under
//!   `/auth/service-accounts/{id}/` for service accounts: the parent sends the target's record
//!   and the organisation's other active admins' (the enclave keeps one), and stores the changed
//!   record; from the next request on, the parent refuses a deactivated user's tokens and the
//!   enclave their calls.
//! - `POST /auth/service-accounts`: the enclave makes the account's user and Key credential
//!   records; the parent stores them and answers the account's access token.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use std::time::Duration;

use signer_common::api::auth::{CreateServiceAccountRequest, ServiceAccountAnswer, UserStatusAnswer};
use signer_common::encoding::to_b64url;
use signer_common::identity::{Notarized, Record, Role, Status, UserRecord};
use signer_common::protocol::{AttestationMode, Outcome};

use super::calls::{Forward, checked_call_auth, forward};
use super::middleware::{RawBody, parse_json};
use super::state::{AppState, now_rfc3339, random_hex, store_error};
use super::userauth::user_body;
use crate::auth::Caller;
use crate::auth::tokens::TokenKind;
use crate::error::ApiError;
use crate::store::StoreError;

/// A call on users or tokens as the HTTP request had it.
pub(super) struct UserCall<'a> {
    pub(super) caller: &'a Caller,
    pub(super) headers: &'a HeaderMap,
    pub(super) method: &'a Method,
    pub(super) uri: &'a Uri,
}

impl UserCall<'_> {
    /// Forwards the call with `users` (records the enclave checks), and with every credential
    /// of the caller when `with_credentials`; answers its outcome.
    pub(super) async fn forward(
        &self,
        state: &AppState,
        body: axum::body::Bytes,
        auth: signer_common::protocol::CallAuth,
        id_prefix: &str,
        (users, with_credentials): (Vec<Notarized>, bool),
    ) -> Result<Outcome, ApiError> {
        let call = Forward {
            caller: self.caller,
            headers: self.headers,
            method: self.method,
            uri: self.uri,
            body,
            auth,
            request_id: format!("{id_prefix}-{}", random_hex(16)?),
            wallet: None,
            with_credentials,
            users,
            attestation: AttestationMode::Fresh,
        };
        Ok(forward(state, call).await?.called.outcome)
    }
}

/// The answer for a user record.
pub fn user_status_answer(user: &UserRecord) -> UserStatusAnswer {
    UserStatusAnswer {
        id: user.user_id.clone(),
        username: user.username.clone(),
        org_id: user.org_id.clone(),
        role: user.role.as_str().to_owned(),
        status: user.status.as_str().to_owned(),
        is_active: user.status == Status::Active,
    }
}

/// How long a service account's token is valid: it has no login of its own, so a year; an
/// admin deactivates the account to stop it sooner.
pub const SERVICE_ACCOUNT_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// `POST /auth/service-accounts`.
pub(super) async fn create_service_account(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<(axum::http::StatusCode, Json<ServiceAccountAnswer>), ApiError> {
    let req: CreateServiceAccountRequest = parse_json(&bytes)?;
    let auth = checked_call_auth(&headers)?;
    // A taken name is refused before any enclave work (and by the store, should two race).
    if state.store.find_user(&caller.org_id, &req.name).await.map_err(store_error)?.is_some() {
        return Err(ApiError::Conflict("a user of the organisation has this name".into()));
    }
    let call = UserCall { caller: &caller, headers: &headers, method: &method, uri: &uri };
    let outcome = call.forward(&state, bytes, auth, "sa", (Vec::new(), false)).await?;
    let Outcome::ServiceAccountCreated { user, credential } = outcome else {
        return Err(ApiError::Internal("the enclave answered another outcome to a service account".into()));
    };
    let (account, cred_id) = match (user.decode_unverified(), credential.decode_unverified()) {
        (Ok(Record::User(u)), Ok(Record::Credential(c))) => (u, c.cred_id),
        _ => return Err(ApiError::Internal("the enclave answered records that do not decode".into())),
    };
    match state.store.insert_user(user, credential, now_rfc3339()).await {
        Ok(()) => {}
        Err(StoreError::Duplicate) => {
            return Err(ApiError::Conflict("a user of the organisation has this name".into()));
        }
        Err(e) => return Err(store_error(e)),
    }
    let access_token = state.tokens.issue_as(
        TokenKind::ServiceAccount,
        &account.user_id,
        &account.org_id,
        SERVICE_ACCOUNT_TOKEN_LIFETIME,
        None,
    )?;
    tracing::info!(user_id = %account.user_id, "service account created");
    Ok((
        axum::http::StatusCode::CREATED,
        Json(ServiceAccountAnswer { id: account.user_id, access_token, cred_id: to_b64url(&cred_id) }),
    ))
}

/// `PUT /auth/users/{id}/deactivate` and `/activate` (the last path segment decides), and the
/// same under `/auth/service-accounts/` (the enclave then requires a service account).
pub(super) async fn set_user_status(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<Json<UserStatusAnswer>, ApiError> {
    let id = path.map(|Path(id)| id).map_err(|_| ApiError::NotFound("user"))?;
    let auth = checked_call_auth(&headers)?;
    let accounts_only = uri.path().starts_with("/auth/service-accounts/");
    // The target first, then the organisation's other active admins.
    let mut target = None;
    let mut admins = Vec::new();
    for record in state.store.org_users(&caller.org_id).await.map_err(store_error)? {
        let user = user_body(&record)?;
        if user.user_id == id && (user.service_account || !accounts_only) {
            target = Some((user.version, record));
        } else if user.role == Role::Admin && user.status == Status::Active {
            admins.push(record);
        }
    }
    let (read_version, target) = target.ok_or(ApiError::NotFound("user"))?;
    let mut users = vec![target];
    users.extend(admins);
    let call = UserCall { caller: &caller, headers: &headers, method: &method, uri: &uri };
    let Outcome::UserUpdated(record) = call.forward(&state, bytes, auth, "us", (users, false)).await? else {
        return Err(ApiError::Internal(
            "the enclave answered another outcome to a user status change".into(),
        ));
    };
    let user = user_body(&record)?;
    match state.store.replace_record(read_version, record).await {
        Ok(()) => Ok(Json(user_status_answer(&user))),
        Err(StoreError::Stale) => Err(ApiError::Conflict("the user changed meanwhile; try again".into())),
        Err(e) => Err(store_error(e)),
    }
}
