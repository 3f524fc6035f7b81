//! `PUT /auth/users/{id}/deactivate` and `/activate`: an admin's user action, executed by the
//! enclave (admin only, the organisation keeps an active admin). The parent sends the target's
//! record and the organisation's other active admins', and stores the changed record; from the
//! next request on, the parent refuses a deactivated user's tokens and the enclave their calls.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use signer_common::api::auth::UserStatusAnswer;
use signer_common::identity::{Notarized, Record, Role, Status, UserRecord};
use signer_common::protocol::{AttestationMode, Outcome};

use super::calls::{Forward, checked_call_auth, forward};
use super::middleware::RawBody;
use super::state::{AppState, random_hex, store_error};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::store::StoreError;

fn user_of(record: &Notarized) -> Result<UserRecord, ApiError> {
    match record.decode_unverified() {
        Ok(Record::User(u)) => Ok(u),
        _ => Err(ApiError::Internal("a stored user record does not decode".into())),
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

/// `PUT /auth/users/{id}/deactivate` and `/activate` (the last path segment decides).
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
    // The target first, then the organisation's other active admins.
    let mut target = None;
    let mut admins = Vec::new();
    for record in state.store.org_users(&caller.org_id).await.map_err(store_error)? {
        let user = user_of(&record)?;
        if user.user_id == id {
            target = Some((user.version, record));
        } else if user.role == Role::Admin && user.status == Status::Active {
            admins.push(record);
        }
    }
    let (read_version, target) = target.ok_or(ApiError::NotFound("user"))?;
    let mut users = vec![target];
    users.extend(admins);
    let forwarded = forward(
        &state,
        Forward {
            caller: &caller,
            headers: &headers,
            method: &method,
            uri: &uri,
            body: bytes,
            auth,
            request_id: format!("us-{}", random_hex(16)?),
            wallet: None,
            with_credentials: false,
            users,
            attestation: AttestationMode::Fresh,
        },
    )
    .await?;
    let Outcome::UserUpdated(record) = forwarded.called.outcome else {
        return Err(ApiError::Internal(
            "the enclave answered another outcome to a user status change".into(),
        ));
    };
    let user = user_of(&record)?;
    match state.store.replace_record(read_version, record).await {
        Ok(()) => Ok(Json(user_status_answer(&user))),
        Err(StoreError::Stale) => Err(ApiError::Conflict("the user changed meanwhile; try again".into())),
        Err(e) => Err(store_error(e)),
    }
}
