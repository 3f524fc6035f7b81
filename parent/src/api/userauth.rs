//! The auth endpoints (API.md, "User action signing", "Registration and login"):
//! registration, login, user-action challenges and tokens, and the user's credentials. The
//! enclave makes and checks every challenge, token and signature; the parent finds the records,
//! stores what the enclave answers and shapes the JSON.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method, Uri};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use signer_common::api::auth::{
    APP_ID_HEADER, ActionInitRequest, AllowCredential, AllowCredentials, AuthenticatorSelection,
    ChallengeAnswer, CreateCredentialRequest, CreationOptions, CredentialAnswer, CredentialChangeAnswer,
    CredentialInfo, CredentialInitRequest, CredentialList, CredentialStatusRequest, LoginAnswer,
    LoginInitRequest, PubKeyCredParam, RegistrationAnswer, RegistrationCodeAnswer, RegistrationCodeRequest,
    RegistrationInitRequest, RegistrationRequest, RelyingParty, SignedChallenge, SupportedCredentialKinds,
    UserActionAnswer, UserEntity, UserInfo,
};
use signer_common::encoding::to_b64url;
use signer_common::identity::{
    ActionBinding, AppRecord, CredentialKind, CredentialRecord, Notarized, Record, Status, TokenBody,
    UserRecord,
};
use signer_common::protocol::{
    AssertRequest, AttestationMode, ChallengeKind, ChallengeRequest, NewCredential, Outcome, Register,
    RegistrationInit, Request, Response,
};

use super::calls::{
    Forward, app_for, b64_field, checked_call_auth, credential_kind, decode_assertion, forward, header,
    known_app, store_updated, users_credential,
};
use super::middleware::{JsonBody, RawBody, parse_json};
use super::state::{AppState, random_hex, store_error, unexpected};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::store::{CallRecordsQuery, StoreError, Stored};

/// How long an access token from `POST /auth/login` is valid.
pub const LOGIN_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// The longest username accepted.
pub const MAX_USERNAME_LEN: usize = 128;

/// The longest credential name accepted.
pub const MAX_CREDENTIAL_NAME_LEN: usize = 256;

/// COSE algorithms offered to new credentials: ES256, EdDSA, RS256, ES256K.
pub const PUB_KEY_ALGORITHMS: [i64; 4] = [-7, -8, -257, -47];

fn corrupt(what: &str) -> ApiError {
    ApiError::Internal(format!("stored {what} record does not decode"))
}

/// An application record's body (the parent decodes to index and shape answers; the enclave
/// checks tags).
pub fn app_body(app: &Notarized) -> Result<AppRecord, ApiError> {
    match app.decode_unverified() {
        Ok(Record::App(a)) => Ok(a),
        _ => Err(corrupt("application")),
    }
}

pub(super) fn user_body(user: &Notarized) -> Result<UserRecord, ApiError> {
    match user.decode_unverified() {
        Ok(Record::User(u)) => Ok(u),
        _ => Err(corrupt("user")),
    }
}

fn credential_body(credential: &Notarized) -> Result<CredentialRecord, ApiError> {
    match credential.decode_unverified() {
        Ok(Record::Credential(c)) => Ok(c),
        _ => Err(corrupt("credential")),
    }
}

/// A credential in answers.
pub fn credential_answer(
    credential: &Notarized,
    date_created: Option<&str>,
) -> Result<CredentialAnswer, ApiError> {
    let c = credential_body(credential)?;
    Ok(CredentialAnswer {
        cred_id: to_b64url(&c.cred_id),
        kind: c.kind.as_str().to_owned(),
        name: c.name,
        status: c.status.as_str().to_owned(),
        algorithm: Some(c.public_key.algorithm().to_owned()),
        date_created: date_created.map(str::to_owned),
    })
}

fn allow_credentials(credentials: &[Stored]) -> Result<AllowCredentials, ApiError> {
    let mut allow = AllowCredentials::default();
    for stored in credentials {
        let c = credential_body(&stored.record)?;
        if c.status != Status::Active {
            continue;
        }
        let entry = AllowCredential { kind: "public-key".into(), id: to_b64url(&c.cred_id) };
        match c.kind {
            CredentialKind::Key => allow.key.push(entry),
            CredentialKind::Fido2 => allow.webauthn.push(entry),
        }
    }
    Ok(allow)
}

/// WebAuthn creation options for `user_id`/`username` under the application `app`.
pub fn creation_options(
    app: &AppRecord,
    user_id: &str,
    username: &str,
    challenge: String,
    exclude: Vec<AllowCredential>,
) -> CreationOptions {
    CreationOptions {
        challenge,
        temporary_authentication_token: None,
        challenge_identifier: None,
        rp: RelyingParty { id: app.rp_id.clone(), name: app.rp_name.clone() },
        user: UserEntity {
            id: to_b64url(user_id.as_bytes()),
            name: username.to_owned(),
            display_name: username.to_owned(),
        },
        pub_key_cred_params: PUB_KEY_ALGORITHMS
            .iter()
            .map(|&alg| PubKeyCredParam { kind: "public-key".into(), alg })
            .collect(),
        supported_credential_kinds: SupportedCredentialKinds {
            first_factor: vec!["Fido2".into(), "Key".into()],
            second_factor: vec![],
        },
        attestation: "none".into(),
        authenticator_selection: AuthenticatorSelection {
            resident_key: "required".into(),
            require_resident_key: true,
            user_verification: app.user_verification.as_str().to_owned(),
        },
        exclude_credentials: exclude,
        origin: Some(app.origin.clone()),
    }
}

fn check_username(username: &str) -> Result<(), ApiError> {
    if username.is_empty()
        || username.chars().count() > MAX_USERNAME_LEN
        || username.chars().any(char::is_control)
    {
        return Err(ApiError::InvalidParameter(format!(
            "`username` must be 1 to {MAX_USERNAME_LEN} characters without control characters"
        )));
    }
    Ok(())
}

fn new_credential(kind: &str, info: &CredentialInfo, name: Option<&str>) -> Result<NewCredential, ApiError> {
    let kind = credential_kind(kind)?;
    let name = name.unwrap_or(kind.as_str());
    if name.chars().count() > MAX_CREDENTIAL_NAME_LEN {
        return Err(ApiError::InvalidParameter(format!(
            "`credentialName` is longer than {MAX_CREDENTIAL_NAME_LEN} characters"
        )));
    }
    Ok(NewCredential {
        kind,
        cred_id: ByteBuf::from(b64_field("credId", &info.cred_id)?),
        client_data: ByteBuf::from(b64_field("clientData", &info.client_data)?),
        attestation_data: ByteBuf::from(b64_field("attestationData", &info.attestation_data)?),
        name: name.to_owned(),
    })
}

fn peek(token: &str, field: &str) -> Result<TokenBody, ApiError> {
    TokenBody::peek(token).map_err(|_| ApiError::InvalidParameter(format!("`{field}` is malformed")))
}

/// RFC 3339 of milliseconds since the epoch.
pub fn rfc3339_ms(ms: u64) -> String {
    let nanos = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// `POST /auth/registration/init` (no bearer): a registration code for a new user.
pub(super) async fn registration_init(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RegistrationInitRequest>,
) -> Result<Json<CreationOptions>, ApiError> {
    check_username(&body.username)?;
    let app = app_for(&state, &body.org_id, &headers).await?;
    if state.store.find_user(&body.org_id, &body.username).await.map_err(store_error)?.is_some() {
        return Err(ApiError::Conflict("the username is taken in this organisation".into()));
    }
    let init = RegistrationInit {
        app: app.clone(),
        org_id: body.org_id,
        username: body.username.clone(),
        registration_code: body.registration_code,
    };
    let answer = match state.enclave_call(Request::RegistrationInit(init)).await? {
        Response::RegistrationChallenge(answer) => answer,
        other => return Err(unexpected(&other)),
    };
    let mut options =
        creation_options(&app_body(&app)?, &answer.user_id, &body.username, answer.challenge, vec![]);
    options.temporary_authentication_token = Some(answer.temporary_token);
    Ok(Json(options))
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(AUTHORIZATION).ok_or(ApiError::Unauthorized)?;
    let value = value.to_str().map_err(|_| ApiError::Unauthorized)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(ApiError::Unauthorized)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized);
    }
    Ok(token.trim())
}

/// `POST /auth/registration` (bearer: the temporary token): the first credential; the user and
/// credential records are stored in one transaction.
pub(super) async fn register(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RegistrationRequest>,
) -> Result<Json<RegistrationAnswer>, ApiError> {
    let token = bearer(&headers)?.to_owned();
    let first = &body.first_factor_credential;
    let credential =
        new_credential(&first.credential_kind, &first.credential_info, first.credential_name.as_deref())?;
    let org_id = TokenBody::peek(&token).map_err(|_| ApiError::Unauthorized)?.org_id;
    let app = app_for(&state, &org_id, &headers).await?;
    let register = Register { app, temporary_token: token, credential };
    let registered = match state.enclave_call(Request::Register(register)).await? {
        Response::Registered(r) => r,
        other => return Err(unexpected(&other)),
    };
    let user = user_body(&registered.user)?;
    let date = super::now_rfc3339();
    match state.store.insert_user(registered.user, registered.credential.clone(), date.clone()).await {
        Ok(()) => {}
        Err(StoreError::Duplicate) => {
            return Err(ApiError::Conflict("the username or credential id is taken".into()));
        }
        Err(e) => return Err(store_error(e)),
    }
    tracing::info!(user_id = %user.user_id, org_id = %user.org_id, "user registered");
    Ok(Json(RegistrationAnswer {
        user: UserInfo { id: user.user_id, username: user.username, org_id: user.org_id },
        credential: credential_answer(&registered.credential, Some(&date))?,
    }))
}

async fn challenge_answer(
    state: &AppState,
    app: Notarized,
    user: Notarized,
    user_id: &str,
    kind: ChallengeKind,
) -> Result<ChallengeAnswer, ApiError> {
    let a = app_body(&app)?;
    let credentials = state.store.user_credentials(user_id).await.map_err(store_error)?;
    let request = ChallengeRequest { app, user, kind };
    let challenge = match state.enclave_call(Request::Challenge(request)).await? {
        Response::Challenge(c) => c,
        other => return Err(unexpected(&other)),
    };
    Ok(ChallengeAnswer {
        challenge: challenge.challenge,
        challenge_identifier: challenge.challenge_identifier,
        allow_credentials: allow_credentials(&credentials)?,
        rp: Some(RelyingParty { id: a.rp_id, name: a.rp_name }),
        user_verification: Some(a.user_verification.as_str().to_owned()),
        origin: Some(a.origin),
    })
}

/// `POST /auth/login/init` (no bearer).
pub(super) async fn login_init(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginInitRequest>,
) -> Result<Json<ChallengeAnswer>, ApiError> {
    check_username(&body.username)?;
    let app = app_for(&state, &body.org_id, &headers).await?;
    let user = state.store.find_user(&body.org_id, &body.username).await.map_err(store_error)?;
    let user = user.ok_or(ApiError::NotFound("user"))?;
    let user_id = user_body(&user)?.user_id;
    Ok(Json(challenge_answer(&state, app, user, &user_id, ChallengeKind::Login).await?))
}

/// The enclave request of a signed challenge (`POST /auth/login`, `POST /auth/action`): the
/// application, the user and the signing credential (which must be the user's), read in one store
/// round trip. `no_user` is the refusal when the store does not know the user.
async fn assert_request(
    state: &AppState,
    headers: &HeaderMap,
    org_id: &str,
    user_id: &str,
    body: SignedChallenge,
    no_user: impl FnOnce() -> ApiError,
) -> Result<AssertRequest, ApiError> {
    let assertion = decode_assertion(&body.first_factor)?;
    let app_id = header(headers, APP_ID_HEADER)?;
    let records = state
        .store
        .call_records(CallRecordsQuery {
            org_id: org_id.to_owned(),
            app_id: app_id.map(str::to_owned),
            user_id: user_id.to_owned(),
            cred_id: Some(assertion.cred_id.to_vec()),
            read_user: true,
        })
        .await
        .map_err(store_error)?;
    let user = records.user.ok_or_else(no_user)?;
    Ok(AssertRequest {
        app: known_app(records.app, app_id)?,
        user,
        credential: users_credential(records.credential, org_id, user_id)?,
        challenge_identifier: body.challenge_identifier,
        assertion,
    })
}

/// `POST /auth/login` (no bearer): the signed login challenge for an access token.
pub(super) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SignedChallenge>,
) -> Result<Json<LoginAnswer>, ApiError> {
    let named = peek(&body.challenge_identifier, "challengeIdentifier")?;
    let no_user = || ApiError::Forbidden("the challenge names no known user".into());
    let request = assert_request(&state, &headers, &named.org_id, &named.user_id, body, no_user).await?;
    let credential = request.credential.clone();
    let logged_in = match state.enclave_call(Request::Login(request)).await? {
        Response::LoggedIn(l) => l,
        other => return Err(unexpected(&other)),
    };
    if (logged_in.org_id.as_str(), logged_in.user_id.as_str())
        != (named.org_id.as_str(), named.user_id.as_str())
    {
        return Err(ApiError::Internal("the enclave logged in another user than the challenge names".into()));
    }
    store_updated(&state, &credential, logged_in.credential).await?;
    let token = state.tokens.issue(&logged_in.user_id, &logged_in.org_id, LOGIN_TOKEN_LIFETIME)?;
    Ok(Json(LoginAnswer { token }))
}

/// The binding of a user action: method in capitals, path with query, SHA-256 of the payload.
pub fn action_binding(method: &str, path: &str, payload: &[u8]) -> Result<ActionBinding, ApiError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ApiError::InvalidParameter("`userActionHttpMethod` must be an HTTP method".into()));
    }
    if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::InvalidParameter("`userActionHttpPath` must be a path starting with /".into()));
    }
    Ok(ActionBinding {
        method: method.to_ascii_uppercase(),
        path: path.to_owned(),
        payload_sha256: ByteBuf::from(Sha256::digest(payload).to_vec()),
    })
}

/// `POST /auth/action/init` (bearer).
pub(super) async fn action_init(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ActionInitRequest>,
) -> Result<Json<ChallengeAnswer>, ApiError> {
    let binding = action_binding(
        &body.user_action_http_method,
        &body.user_action_http_path,
        body.user_action_payload.as_bytes(),
    )?;
    let app = app_for(&state, &caller.org_id, &headers).await?;
    let user = caller.user.clone();
    Ok(Json(challenge_answer(&state, app, user, &caller.user_id, ChallengeKind::Action(binding)).await?))
}

/// `POST /auth/action` (bearer): the signed challenge for a single-use user-action token.
pub(super) async fn action(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SignedChallenge>,
) -> Result<Json<UserActionAnswer>, ApiError> {
    let named = peek(&body.challenge_identifier, "challengeIdentifier")?;
    if (named.org_id.as_str(), named.user_id.as_str()) != (caller.org_id.as_str(), caller.user_id.as_str()) {
        return Err(ApiError::Forbidden("the challenge is another user's".into()));
    }
    let request =
        assert_request(&state, &headers, &caller.org_id, &caller.user_id, body, || ApiError::Unauthorized)
            .await?;
    let credential = request.credential.clone();
    let issued = match state.enclave_call(Request::UserAction(request)).await? {
        Response::UserActionIssued(i) => i,
        other => return Err(unexpected(&other)),
    };
    store_updated(&state, &credential, issued.credential).await?;
    Ok(Json(UserActionAnswer { user_action: issued.token }))
}

/// `POST /auth/credentials/init` (bearer): creation options for a new credential.
pub(super) async fn credentials_init(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<CredentialInitRequest>,
) -> Result<Json<CreationOptions>, ApiError> {
    let kind = credential_kind(&body.kind)?;
    let app = app_for(&state, &caller.org_id, &headers).await?;
    let user = caller.user.clone();
    let u = user_body(&user)?;
    let existing = state.store.user_credentials(&caller.user_id).await.map_err(store_error)?;
    let mut exclude = Vec::with_capacity(existing.len());
    for stored in &existing {
        let c = credential_body(&stored.record)?;
        exclude.push(AllowCredential { kind: "public-key".into(), id: to_b64url(&c.cred_id) });
    }
    let request = ChallengeRequest { app: app.clone(), user, kind: ChallengeKind::NewCredential(kind) };
    let challenge = match state.enclave_call(Request::Challenge(request)).await? {
        Response::Challenge(c) => c,
        other => return Err(unexpected(&other)),
    };
    let mut options =
        creation_options(&app_body(&app)?, &u.user_id, &u.username, challenge.challenge, exclude);
    options.challenge_identifier = Some(challenge.challenge_identifier);
    Ok(Json(options))
}

/// `GET /auth/credentials` (bearer): the user's credentials.
pub(super) async fn list_credentials(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CredentialList>, ApiError> {
    let stored = state.store.user_credentials(&caller.user_id).await.map_err(store_error)?;
    let mut items = Vec::with_capacity(stored.len());
    for s in &stored {
        if credential_body(&s.record)?.org_id == caller.org_id {
            items.push(credential_answer(&s.record, Some(&s.date_created))?);
        }
    }
    Ok(Json(CredentialList { items }))
}

fn forward_of<'a>(
    caller: &'a Caller,
    headers: &'a HeaderMap,
    method: &'a Method,
    uri: &'a Uri,
    body: axum::body::Bytes,
    request_id: String,
) -> Result<Forward<'a>, ApiError> {
    Ok(Forward {
        caller,
        headers,
        method,
        uri,
        body,
        auth: checked_call_auth(headers)?,
        request_id,
        wallet: None,
        with_credentials: true,
        users: Vec::new(),
        attestation: AttestationMode::Fresh,
    })
}

/// `POST /auth/credentials` (bearer and user action): a new credential, added by the enclave.
pub(super) async fn create_credential(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<Json<CredentialChangeAnswer>, ApiError> {
    let body: CreateCredentialRequest = parse_json(&bytes)?;
    new_credential(&body.credential_kind, &body.credential_info, Some(&body.credential_name))?;
    peek(&body.challenge_identifier, "challengeIdentifier")?;
    let request_id = format!("cr-{}", random_hex(16)?);
    let forwarded = forward(&state, forward_of(&caller, &headers, &method, &uri, bytes, request_id)?).await?;
    let Outcome::CredentialAdded(record) = forwarded.called.outcome else {
        return Err(ApiError::Internal(
            "the enclave answered another outcome to POST /auth/credentials".into(),
        ));
    };
    let c = credential_body(&record)?;
    if c.user_id != caller.user_id || c.org_id != caller.org_id {
        return Err(ApiError::Internal("the enclave added a credential to another user".into()));
    }
    let date = super::now_rfc3339();
    match state.store.insert_credential(record.clone(), date.clone()).await {
        Ok(()) => {}
        Err(StoreError::Duplicate) => return Err(ApiError::Conflict("the credential id exists".into())),
        Err(e) => return Err(store_error(e)),
    }
    Ok(Json(CredentialChangeAnswer { credential: credential_answer(&record, Some(&date))? }))
}

/// `PUT /auth/credentials/activate` and `/deactivate` (bearer and user action).
pub(super) async fn set_credential_status(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<Json<CredentialChangeAnswer>, ApiError> {
    let body: CredentialStatusRequest = parse_json(&bytes)?;
    let cred_id = b64_field("credId", &body.cred_id)?;
    let request_id = format!("cs-{}", random_hex(16)?);
    let forwarded = forward(&state, forward_of(&caller, &headers, &method, &uri, bytes, request_id)?).await?;
    let Outcome::CredentialUpdated(record) = forwarded.called.outcome else {
        return Err(ApiError::Internal("the enclave answered another outcome to a credential change".into()));
    };
    let c = credential_body(&record)?;
    let sent = forwarded
        .credentials
        .iter()
        .find(|s| credential_body(s).is_ok_and(|s| s.cred_id == c.cred_id))
        .filter(|_| c.cred_id.as_slice() == cred_id.as_slice() && c.user_id == caller.user_id)
        .ok_or_else(|| ApiError::Internal("the enclave changed another credential than asked".into()))?;
    let read = credential_body(sent)?.version;
    match state.store.replace_record(read, record.clone()).await {
        Ok(()) => {}
        Err(StoreError::Stale) => {
            return Err(ApiError::Conflict("the credential changed meanwhile; retry".into()));
        }
        Err(e) => return Err(store_error(e)),
    }
    Ok(Json(CredentialChangeAnswer { credential: credential_answer(&record, None)? }))
}

/// `POST /auth/registration/codes` (an admin, bearer and user action).
pub(super) async fn registration_codes(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(bytes): RawBody,
) -> Result<Json<RegistrationCodeAnswer>, ApiError> {
    let body: RegistrationCodeRequest = parse_json(&bytes)?;
    if let Some(name) = &body.username {
        check_username(name)?;
    }
    let role = body.role.clone().unwrap_or_else(|| "Member".into());
    if role != "Admin" && role != "Member" {
        return Err(ApiError::InvalidParameter("`role` must be Admin or Member".into()));
    }
    let request_id = format!("rc-{}", random_hex(16)?);
    let mut f = forward_of(&caller, &headers, &method, &uri, bytes, request_id)?;
    f.with_credentials = false;
    let forwarded = forward(&state, f).await?;
    let Outcome::RegistrationCode(issued) = forwarded.called.outcome else {
        return Err(ApiError::Internal("the enclave answered another outcome to a registration code".into()));
    };
    Ok(Json(RegistrationCodeAnswer {
        registration_code: issued.code,
        org_id: caller.org_id,
        username: body.username,
        role,
        expires_at: rfc3339_ms(issued.expires_at_ms),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_bindings() {
        let b = action_binding("post", "/wallets?x=1", b"{}").unwrap();
        assert_eq!((b.method.as_str(), b.path.as_str()), ("POST", "/wallets?x=1"));
        assert_eq!(b.payload_sha256.as_slice(), Sha256::digest(b"{}").as_slice());
        assert!(action_binding("", "/w", b"").is_err());
        assert!(action_binding("PO ST", "/w", b"").is_err());
        assert!(action_binding("POST", "wallets", b"").is_err());
        assert!(action_binding("POST", "/wal lets", b"").is_err());
    }

    #[test]
    fn dates_of_milliseconds() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
