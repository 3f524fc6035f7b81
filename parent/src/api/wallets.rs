//! `POST /wallets`, `GET /wallets/{id}`, `GET /wallets`.
//!
//! Reads need the bearer token alone and are scoped to its organisation (not to the wallet's
//! owner: every member of an organisation sees its wallets; signing is the owner's only, which
//! the enclave checks against the wallet's ownership record).

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde::Deserialize;
use signer_common::api::{CreateWalletRequest, Wallet, WalletList};
use signer_common::encoding::{to_b64url, to_hex0x};
use signer_common::identity::Record;
use signer_common::protocol::{AttestationMode, Curve, Evidence, Outcome};

use super::calls::{Forward, checked_call_auth, forward as forward_call};
use super::middleware::{RawBody, parse_json};
use super::state::{AppState, now_rfc3339, random_hex, store_error};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::store::WalletRecord;

/// Page size of `GET /wallets` when `limit` is absent.
pub const DEFAULT_PAGE_SIZE: usize = 50;

/// The largest `limit` of `GET /wallets`.
pub const MAX_PAGE_SIZE: usize = 200;

/// The longest wallet name accepted.
pub const MAX_NAME_LEN: usize = 256;

/// A stored wallet in its JSON form.
pub fn wallet_json(w: &WalletRecord) -> Wallet {
    Wallet {
        id: w.id.clone(),
        curve: w.curve.as_str().to_owned(),
        scheme: w.curve.scheme().to_owned(),
        public_key: to_hex0x(&w.public_key),
        address: None,
        status: w.status.clone(),
        date_created: w.date_created.clone(),
        name: w.name.clone(),
        attestation: to_b64url(&w.attestation),
        receipt: to_b64url(&w.receipt),
    }
}

/// `POST /wallets`: executed by the enclave after it checks the user's signature (`X-User-Action`
/// or one-shot headers); the sealed wallet and its ownership record are stored.
pub(super) async fn create_wallet(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<(StatusCode, Json<Wallet>), ApiError> {
    let body: CreateWalletRequest = parse_json(&bytes)?;
    let curve: Curve = body.curve.parse().map_err(|_| ApiError::UnknownCurve)?;
    if body.name.as_ref().is_some_and(|n| n.chars().count() > MAX_NAME_LEN) {
        return Err(ApiError::InvalidParameter(format!("`name` is longer than {MAX_NAME_LEN} characters")));
    }
    let request_id = format!("wc-{}", random_hex(16)?);
    tracing::info!(request_id = %request_id, curve = curve.as_str(), "creating a wallet");
    // Wallet creation is rare: always a fresh document, which the wallet record keeps.
    let forward = Forward {
        caller: &caller,
        headers: &headers,
        method: &method,
        uri: &uri,
        body: bytes,
        auth: checked_call_auth(&headers)?,
        request_id,
        wallet: None,
        with_credentials: false,
        users: Vec::new(),
        attestation: AttestationMode::Fresh,
    };
    let created = match forward_call(&state, forward).await?.called.outcome {
        Outcome::WalletCreated(created) => created,
        _ => return Err(ApiError::Internal("the enclave answered another outcome to POST /wallets".into())),
    };
    let wallet = created.wallet;
    let owner = match created.record.decode_unverified() {
        Ok(Record::Wallet(r)) if r.wallet_id == wallet.wallet_id && r.org_id == caller.org_id => {
            r.owner_user_id
        }
        _ => {
            return Err(ApiError::Internal(
                "the enclave answered a wallet record that does not match".into(),
            ));
        }
    };
    if wallet.curve != curve
        || wallet.public_key.len() != curve.public_key_len()
        || wallet.wallet_id.is_empty()
        || wallet.wallet_id.len() > signer_common::protocol::MAX_ID_LEN
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
        owner_user_id: Some(owner),
        record: Some(created.record),
    };
    // Only now is anything stored; if this fails the enclave's key is simply never stored.
    state.store.insert_wallet(record.clone()).await.map_err(store_error)?;
    tracing::info!(wallet_id = %record.id, "wallet created");
    Ok((StatusCode::CREATED, Json(wallet_json(&record))))
}

/// The `{id}` of a wallet route; a malformed one is simply not found.
pub(super) fn wallet_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id).map_err(|_| ApiError::NotFound("wallet"))
}

pub(super) async fn get_wallet(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<Wallet>, ApiError> {
    let id = wallet_id(path)?;
    let wallet = state.store.get_wallet(&caller.org_id, &id).await.map_err(store_error)?;
    let wallet = wallet.ok_or(ApiError::NotFound("wallet"))?;
    Ok(Json(wallet_json(&wallet)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListQuery {
    limit: Option<String>,
    pagination_token: Option<String>,
}

pub(super) async fn list_wallets(
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
    Ok(Json(WalletList { items: page.items.iter().map(wallet_json).collect(), next_page_token: page.next }))
}
