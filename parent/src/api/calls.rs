//! The calls the enclave executes (`POST /wallets`, `POST /wallets/{id}/signatures`, the
//! credential changes, registration codes): the user's authorisation headers, and the
//! forwarding as a [`Call`] with the exact method, path, query and body bytes.
//!
//! A bearer token alone never suffices here: each call carries `X-User-Action` (from
//! `POST /auth/action`) or the three one-shot headers, and the enclave checks the user's
//! signature. The parent checks what it can before any enclave work (headers present and well
//! formed, the credential known and the bearer user's), so bad input changes nothing.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use serde_bytes::ByteBuf;
use signer_common::api::auth::{
    APP_ID_HEADER, REQUEST_ID_HEADER, REQUEST_SIGNATURE_HEADER, REQUEST_TIME_HEADER, RequestSignature,
    USER_ACTION_HEADER,
};
use signer_common::encoding::from_b64;
use signer_common::identity::{CredentialKind, Notarized, Record, TokenBody, TokenPurpose};
use signer_common::protocol::{
    Assertion, AttestationMode, Call, CallAuth, Called, Request, Response, WalletContext,
};
use signer_common::userauth::is_valid_request_id;

use super::state::{AppState, header_nonce, store_error, unexpected};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::store::{CallRecordsQuery, StoreError, Stored};

/// The longest `X-User-Action` or `X-Request-Signature` header accepted.
pub const MAX_AUTH_HEADER_LEN: usize = 16 * 1024;

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => {
            if value.len() > MAX_AUTH_HEADER_LEN {
                return Err(ApiError::InvalidParameter(format!("`{name}` is too long")));
            }
            value
                .to_str()
                .map(|v| Some(v.trim()))
                .map_err(|_| ApiError::InvalidParameter(format!("`{name}` is not text")))
        }
    }
}

/// base64url text of a field, decoded.
pub fn b64_field(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    from_b64(text).map_err(|_| ApiError::InvalidParameter(format!("`{field}` is not base64url")))
}

/// `Key` or `Fido2`.
pub fn credential_kind(text: &str) -> Result<CredentialKind, ApiError> {
    text.parse().map_err(|_| {
        ApiError::InvalidParameter(format!("unknown credential kind {text:?}; expected Key or Fido2"))
    })
}

/// A `firstFactor` or `X-Request-Signature` in the enclave's form (base64url decoded).
pub fn decode_assertion(signature: &RequestSignature) -> Result<Assertion, ApiError> {
    let a = &signature.credential_assertion;
    let kind = credential_kind(&signature.kind)?;
    let authenticator_data =
        a.authenticator_data.as_deref().map(|t| b64_field("authenticatorData", t)).transpose()?;
    let user_handle = a.user_handle.as_deref().map(|t| b64_field("userHandle", t)).transpose()?;
    Ok(Assertion {
        kind,
        cred_id: ByteBuf::from(b64_field("credId", &a.cred_id)?),
        client_data: ByteBuf::from(b64_field("clientData", &a.client_data)?),
        authenticator_data: authenticator_data.map(ByteBuf::from),
        signature: ByteBuf::from(b64_field("signature", &a.signature)?),
        user_handle: user_handle.map(ByteBuf::from),
    })
}

/// The user's authorisation of a state-changing call, from its headers: `X-User-Action`, or
/// `X-Request-Time`, `X-Request-Id` and `X-Request-Signature` (all three). Neither: 403
/// `user_action_required`; both, or a part missing or malformed: 400.
pub fn call_auth(headers: &HeaderMap) -> Result<CallAuth, ApiError> {
    let action = header(headers, USER_ACTION_HEADER)?;
    let time = header(headers, REQUEST_TIME_HEADER)?;
    let id = header(headers, REQUEST_ID_HEADER)?;
    let signature = header(headers, REQUEST_SIGNATURE_HEADER)?;
    let one_shot = time.is_some() || id.is_some() || signature.is_some();
    match (action, one_shot) {
        (None, false) => Err(ApiError::UserActionRequired),
        (Some(_), true) => Err(ApiError::InvalidParameter(
            "send either X-User-Action or the one-shot signature headers, not both".into(),
        )),
        (Some(token), false) => Ok(CallAuth::UserAction { token: token.to_owned() }),
        (None, true) => {
            let (Some(time), Some(id), Some(signature)) = (time, id, signature) else {
                return Err(ApiError::InvalidParameter(
                    "a one-shot request needs X-Request-Time, X-Request-Id and X-Request-Signature".into(),
                ));
            };
            let time_ms = time
                .parse::<u64>()
                .ok()
                .filter(|_| time.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    ApiError::InvalidParameter("`X-Request-Time` must be milliseconds since the epoch".into())
                })?;
            if !is_valid_request_id(id) {
                return Err(ApiError::InvalidParameter(
                    "`X-Request-Id` must be 16 to 64 characters of A-Z, a-z, 0-9, - and _".into(),
                ));
            }
            let json = from_b64(signature)
                .map_err(|_| ApiError::InvalidParameter("`X-Request-Signature` is not base64url".into()))?;
            let signature: RequestSignature = serde_json::from_slice(&json).map_err(|e| {
                ApiError::InvalidParameter(format!(
                    "`X-Request-Signature` is not the JSON {{ kind, credentialAssertion }}: {e}"
                ))
            })?;
            let assertion = decode_assertion(&signature)?;
            Ok(CallAuth::OneShot { time_ms, request_id: id.to_owned(), assertion })
        }
    }
}

/// [`call_auth`] after the syntax of `X-Request-Nonce`: a malformed nonce is a 400 before a
/// missing signature is a 403. What each forwarded call parses first, before reading anything.
pub fn checked_call_auth(headers: &HeaderMap) -> Result<CallAuth, ApiError> {
    header_nonce(headers)?;
    call_auth(headers)
}

/// The application of a request: `X-App-Id`, or the organisation's default.
pub async fn app_for(state: &AppState, org_id: &str, headers: &HeaderMap) -> Result<Notarized, ApiError> {
    let app_id = header(headers, APP_ID_HEADER)?;
    let app = state.store.get_app(org_id, app_id).await.map_err(store_error)?;
    known_app(app, app_id)
}

/// The application found for `app_id` (`X-App-Id`), or why there is none.
pub(super) fn known_app(app: Option<Notarized>, app_id: Option<&str>) -> Result<Notarized, ApiError> {
    app.ok_or_else(|| match app_id {
        Some(_) => ApiError::InvalidParameter("unknown `X-App-Id`".into()),
        None => ApiError::NotFound("organisation"),
    })
}

/// The refusal of a credential that is unknown or another user's (one answer for both, so the
/// ids of others cannot be probed).
const NOT_THE_USERS_CREDENTIAL: &str = "unknown credential, or not the user's";

/// The credential found, if it is `user_id`'s: unknown or another's, 403 (the same answer, so
/// the ids of others cannot be probed).
pub(super) fn users_credential(
    stored: Option<Stored>,
    org_id: &str,
    user_id: &str,
) -> Result<Notarized, ApiError> {
    let refused = || ApiError::Forbidden(NOT_THE_USERS_CREDENTIAL.into());
    let stored = stored.ok_or_else(refused)?;
    match stored.record.decode_unverified() {
        Ok(Record::Credential(c)) if c.user_id == user_id && c.org_id == org_id => Ok(stored.record),
        _ => Err(refused()),
    }
}

/// Stores a credential record the enclave answered with a new counter or status, over the
/// version that was sent.
pub async fn store_updated(
    state: &AppState,
    sent: &Notarized,
    new: Option<Notarized>,
) -> Result<(), ApiError> {
    let Some(new) = new else { return Ok(()) };
    let read =
        sent.decode_unverified().map_err(|e| ApiError::Internal(format!("stored record: {e}")))?.version();
    match state.store.replace_record(read, new).await {
        Ok(()) => Ok(()),
        // Another request moved the record first: its newer record stays.
        Err(StoreError::Stale) => {
            tracing::info!("a credential update lost to a concurrent one; the newer record stays");
            Ok(())
        }
        Err(e) => Err(store_error(e)),
    }
}

/// What a forwarded call acts on.
#[derive(Debug)]
pub struct Forward<'a> {
    /// The bearer.
    pub caller: &'a Caller,
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The request's method.
    pub method: &'a Method,
    /// The request's URI (path and query as the request line had them).
    pub uri: &'a Uri,
    /// The exact body bytes.
    pub body: Bytes,
    /// The user's authorisation, from the headers ([`call_auth`]).
    pub auth: CallAuth,
    /// The parent's id of the call (goes into receipts).
    pub request_id: String,
    /// The wallet, for `/wallets/{id}/...`.
    pub wallet: Option<WalletContext>,
    /// Whether the call changes credentials (then every credential of the user is sent).
    pub with_credentials: bool,
    /// For user status changes: the target's record and the organisation's other admins'.
    pub users: Vec<Notarized>,
    /// How a signing result is attested.
    pub attestation: AttestationMode,
}

/// What a forwarded call answered, with the credentials that were sent.
#[derive(Debug)]
pub struct Forwarded {
    /// The enclave's answer.
    pub called: Called,
    /// The user's credentials as sent (empty unless `with_credentials`).
    pub credentials: Vec<Notarized>,
}

/// Checks the authorisation headers, gathers the records and sends the [`Call`]; stores a moved
/// counter of the signing credential.
pub async fn forward(state: &AppState, f: Forward<'_>) -> Result<Forwarded, ApiError> {
    // 1. The user's authorisation (parsed by the caller before any other work).
    let nonce = header_nonce(f.headers)?;
    let auth = f.auth;
    // 2. The records the enclave checks: application, user, signing credential, read in one
    //    store round trip (this is the signing hot path).
    let one_shot_cred = match &auth {
        CallAuth::OneShot { assertion, .. } => Some(assertion.cred_id.to_vec()),
        CallAuth::UserAction { token } => {
            // The token names its user: one of another user is refused here already.
            match TokenBody::peek(token) {
                Ok(body) if body.user_id == f.caller.user_id && body.org_id == f.caller.org_id => {
                    if !matches!(body.purpose, TokenPurpose::UserAction { .. }) {
                        return Err(ApiError::Forbidden("not a user action token".into()));
                    }
                }
                Ok(_) => return Err(ApiError::Forbidden("the user action is another user's".into())),
                Err(_) => return Err(ApiError::Forbidden("malformed user action token".into())),
            }
            None
        }
    };
    let app_id = header(f.headers, APP_ID_HEADER)?;
    let records = state
        .store
        .call_records(CallRecordsQuery {
            org_id: f.caller.org_id.clone(),
            app_id: app_id.map(str::to_owned),
            user_id: f.caller.user_id.clone(),
            cred_id: one_shot_cred.clone(),
            // The bearer check read the user's record already.
            read_user: false,
        })
        .await
        .map_err(store_error)?;
    let app = known_app(records.app, app_id)?;
    let user = f.caller.user.clone();
    let credential = match one_shot_cred {
        // Unknown or another's (the store matched the row's user and organisation).
        Some(_) => Some(
            records.credential.ok_or_else(|| ApiError::Forbidden(NOT_THE_USERS_CREDENTIAL.into()))?.record,
        ),
        None => None,
    };
    let credentials = if f.with_credentials {
        state
            .store
            .user_credentials(&f.caller.user_id)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|s| s.record)
            .collect()
    } else {
        Vec::new()
    };
    // 3. The call, as the HTTP request had it.
    let path = f.uri.path_and_query().map_or_else(|| f.uri.path().to_owned(), |p| p.as_str().to_owned());
    let call = Call {
        request_id: f.request_id,
        method: f.method.as_str().to_ascii_uppercase(),
        path,
        body: ByteBuf::from(f.body.to_vec()),
        auth,
        app,
        user,
        credential: credential.clone(),
        wallet: f.wallet,
        credentials: credentials.clone(),
        users: f.users,
        nonce,
        attestation: f.attestation,
    };
    let called = match state.enclave_call(Request::Call(Box::new(call))).await? {
        Response::Called(called) => *called,
        other => return Err(unexpected(&other)),
    };
    // 4. A moved counter of the one-shot credential.
    if let Some(sent) = &credential {
        store_updated(state, sent, called.credential.clone()).await?;
    }
    Ok(Forwarded { called, credentials })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use signer_common::api::auth::CredentialAssertion;
    use signer_common::encoding::to_b64url;

    use super::*;

    fn signature_header(kind: &str) -> String {
        let sig = RequestSignature {
            kind: kind.into(),
            credential_assertion: CredentialAssertion {
                cred_id: to_b64url(b"cred"),
                client_data: to_b64url(b"{}"),
                authenticator_data: None,
                signature: to_b64url(&[1; 64]),
                user_handle: None,
            },
        };
        to_b64url(&serde_json::to_vec(&sig).unwrap())
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn one_shot_headers_parse_or_are_400() {
        let sig = signature_header("Key");
        let ok = call_auth(&headers(&[
            ("x-request-time", "1700000000000"),
            ("x-request-id", "abcdefghijklmnop"),
            ("x-request-signature", &sig),
        ]))
        .unwrap();
        let CallAuth::OneShot { time_ms, request_id, assertion } = ok else { panic!("{ok:?}") };
        assert_eq!((time_ms, request_id.as_str()), (1_700_000_000_000, "abcdefghijklmnop"));
        assert_eq!((assertion.kind, assertion.cred_id.as_slice()), (CredentialKind::Key, &b"cred"[..]));

        let cases: [(&str, &str, &str); 7] = [
            ("17e5", "abcdefghijklmnop", &sig),
            ("+1", "abcdefghijklmnop", &sig),
            ("1", "short", &sig),
            ("1", "abcdefghijklmnop!", &sig),
            ("1", "abcdefghijklmnop", "%%%"),
            ("1", "abcdefghijklmnop", "e30"), // `{}`: not the shape
            ("1", "abcdefghijklmnop", &signature_header("Password")),
        ];
        for (time, id, sig) in cases {
            let e = call_auth(&headers(&[
                ("x-request-time", time),
                ("x-request-id", id),
                ("x-request-signature", sig),
            ]))
            .unwrap_err();
            assert_eq!(e.status().as_u16(), 400, "{time} {id} {sig}: {e}");
        }
        // A part missing: 400; none at all: 403; both ways at once: 400.
        let e = call_auth(&headers(&[("x-request-time", "1"), ("x-request-id", "abcdefghijklmnop")]))
            .unwrap_err();
        assert_eq!(e.status().as_u16(), 400);
        assert_eq!(call_auth(&HeaderMap::new()).unwrap_err(), ApiError::UserActionRequired);
        let e = call_auth(&headers(&[("x-user-action", "t"), ("x-request-time", "1")])).unwrap_err();
        assert_eq!(e.status().as_u16(), 400);
        assert_eq!(
            call_auth(&headers(&[("x-user-action", " tok ")])).unwrap(),
            CallAuth::UserAction { token: "tok".into() }
        );
    }
}
