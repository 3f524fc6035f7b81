//! Organisations and users: `CreateOrg` (the default application and the first admin's code),
//! `RegistrationInit` and `Register` (a user's first credential), and
//! `POST /auth/registration/codes` (an admin's code for a new user).

use serde_bytes::ByteBuf;
use signer_common::api::auth::RegistrationCodeRequest;
use signer_common::encoding::to_b64url;
use signer_common::identity::{
    AppRecord, CredentialRecord, RECORD_FORMAT, Record, Role, Status, TokenBody, TokenPurpose, UserRecord,
};
use signer_common::protocol::{
    CreateOrg, OrgCreated, Outcome, Register, Registered, RegistrationChallenge, RegistrationCodeIssued,
    RegistrationInit, Response,
};
use signer_common::userauth::{Expected, verify_registration};

use super::wallets::parse_json;
use crate::auth::replay::UseKey;
use crate::auth::tokens::{API_CODE_TTL_SECS, MAX_CODE_TTL_SECS};
use crate::auth::{Pending, auth_refusal};
use crate::core::EnclaveCore;
use crate::refusal::{Refusal, bad, check_id, check_text, forbidden};

/// The longest username, credential name or relying-party name.
pub const MAX_NAME_LEN: usize = 128;

/// The longest credential id (WebAuthn's limit).
pub const MAX_CRED_ID_LEN: usize = 1023;

/// `http(s)://host[:port]`, no path, at most 256 bytes.
fn check_origin(origin: &str) -> Result<(), Refusal> {
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    let ok = origin.len() <= 256
        && rest.is_some_and(|host| {
            !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        });
    if ok { Ok(()) } else { Err(bad("origin must be http(s)://host[:port]")) }
}

/// A domain name: 1 to 253 bytes of `[a-z0-9.-]`.
fn check_rp_id(rp_id: &str) -> Result<(), Refusal> {
    let ok = !rp_id.is_empty()
        && rp_id.len() <= 253
        && rp_id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok { Ok(()) } else { Err(bad("rpId must be a lower-case domain name")) }
}

/// A credential id: 1 to [`MAX_CRED_ID_LEN`] bytes.
pub(crate) fn check_cred_id(cred_id: &[u8]) -> Result<(), Refusal> {
    if cred_id.is_empty() || cred_id.len() > MAX_CRED_ID_LEN {
        return Err(bad(format!("credential id must be 1 to {MAX_CRED_ID_LEN} bytes")));
    }
    Ok(())
}

impl EnclaveCore {
    /// A registration code token for `username` (any when `None`) with `role`, living `ttl_secs`.
    /// Codes carry no boot id: they survive restarts.
    fn registration_code(
        &self,
        org_id: &str,
        username: Option<String>,
        role: Role,
        ttl_secs: u64,
        now: u64,
    ) -> Result<(String, u64), Refusal> {
        let keys = self.keys()?;
        let expires_at_ms = now.saturating_add(ttl_secs.saturating_mul(1000));
        let body = TokenBody {
            format: RECORD_FORMAT,
            boot_id: ByteBuf::new(),
            nonce: ByteBuf::from(self.random_array::<16>()?.to_vec()),
            expires_at_ms,
            org_id: org_id.to_owned(),
            user_id: String::new(),
            challenge: String::new(),
            purpose: TokenPurpose::RegistrationCode { username, role },
        };
        Ok((keys.auth.tokens.issue(&body), expires_at_ms))
    }

    /// [`signer_common::protocol::Request::CreateOrg`]: checks shapes, answers the application
    /// record (v1) and the first admin's code. Changes nothing in the enclave.
    pub(crate) fn create_org(&self, req: CreateOrg) -> Result<Response, Refusal> {
        let keys = self.keys()?;
        check_id("org_id", &req.org_id)?;
        check_id("app_id", &req.app_id)?;
        check_origin(&req.origin)?;
        check_rp_id(&req.rp_id)?;
        check_text("rp_name", &req.rp_name, MAX_NAME_LEN)?;
        check_text("admin_username", &req.admin_username, MAX_NAME_LEN)?;
        if !(1..=MAX_CODE_TTL_SECS).contains(&req.code_ttl_secs) {
            return Err(bad(format!("code_ttl_secs must be 1 to {MAX_CODE_TTL_SECS}")));
        }
        let app = Record::App(AppRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: req.org_id.clone(),
            app_id: req.app_id,
            origin: req.origin,
            rp_id: req.rp_id,
            rp_name: req.rp_name,
            user_verification: req.user_verification,
        });
        let (registration_code, expires_at_ms) = self.registration_code(
            &req.org_id,
            Some(req.admin_username),
            Role::Admin,
            req.code_ttl_secs,
            self.now(),
        )?;
        Ok(Response::OrgCreated(OrgCreated {
            app: keys.auth.notary.issue(&app),
            registration_code,
            expires_at_ms,
        }))
    }

    /// [`signer_common::protocol::Request::RegistrationInit`]. Order: app (1), code (2: tag,
    /// expiry, purpose, organisation, username, not used), then a new user id, a challenge and
    /// a temporary token naming the code. Consumes nothing (the code is used by `Register`).
    pub(crate) fn registration_init(&self, req: RegistrationInit) -> Result<Response, Refusal> {
        let auth = &self.keys()?.auth;
        let now = self.now();
        let mut pending = Pending::default();
        check_text("username", &req.username, MAX_NAME_LEN)?;
        // 1. The application, of the organisation named.
        let app = auth.app(&req.app, Some(&req.org_id), &mut pending)?;
        // 2. The code: any boot, not expired, a code, of this organisation and username.
        let code = auth.tokens.open_any_boot(&req.registration_code, now)?;
        let TokenPurpose::RegistrationCode { username, role } = code.purpose else {
            return Err(forbidden("token is not a registration code"));
        };
        if code.org_id != app.org_id {
            return Err(forbidden("registration code of another organisation"));
        }
        if username.as_ref().is_some_and(|name| *name != req.username) {
            return Err(forbidden("registration code is for another username"));
        }
        auth.used.check(&UseKey::Token(code.nonce.to_vec()), now)?;

        let user_id = format!("us-{}", hex::encode(self.random_array::<12>()?));
        let challenge = to_b64url(&self.random_array::<32>()?);
        let purpose = TokenPurpose::Registration { username: req.username, role, code_nonce: code.nonce };
        let body = self.short_token(now, app.org_id, user_id.clone(), challenge.clone(), purpose)?;
        let expires_at_ms = body.expires_at_ms;
        auth.versions.commit(&pending.records);
        Ok(Response::RegistrationChallenge(RegistrationChallenge {
            challenge,
            temporary_token: auth.tokens.issue(&body),
            user_id,
            expires_at_ms,
        }))
    }

    /// [`signer_common::protocol::Request::Register`]. Order: temporary token (1: tag, boot,
    /// expiry, purpose), app (2), code and token not used (3), the registration (4), then the
    /// code and the token are consumed (5) and the records answered.
    pub(crate) fn register(&self, req: Register) -> Result<Response, Refusal> {
        let auth = &self.keys()?.auth;
        let now = self.now();
        let mut pending = Pending::default();
        // 1. The temporary token.
        let token = auth.tokens.open(&req.temporary_token, now)?;
        let TokenPurpose::Registration { username, role, code_nonce } = &token.purpose else {
            return Err(forbidden("token is not a registration token"));
        };
        // 2. The application, of the token's organisation.
        let app = auth.app(&req.app, Some(&token.org_id), &mut pending)?;
        // 3. Single use: the code for as long as any code can live, the token until it expires.
        auth.use_token(code_nonce, now.saturating_add(MAX_CODE_TTL_SECS * 1000), now, &mut pending)?;
        auth.use_token(&token.nonce, token.expires_at_ms, now, &mut pending)?;
        // 4. The new credential signed the challenge for this application.
        let credential = &req.credential;
        check_cred_id(&credential.cred_id)?;
        check_text("credential name", &credential.name, MAX_NAME_LEN)?;
        let expected = Expected {
            challenge: &token.challenge,
            origin: &app.origin,
            rp_id: &app.rp_id,
            user_verification: app.user_verification,
        };
        let registered = verify_registration(
            credential.kind,
            &expected,
            &credential.cred_id,
            &credential.client_data,
            &credential.attestation_data,
        )
        .map_err(auth_refusal)?;
        let user = Record::User(UserRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: token.org_id.clone(),
            user_id: token.user_id.clone(),
            username: username.clone(),
            role: *role,
            status: Status::Active,
            service_account: false,
        });
        let new_credential = Record::Credential(CredentialRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: token.org_id.clone(),
            user_id: token.user_id.clone(),
            cred_id: credential.cred_id.clone(),
            kind: credential.kind,
            public_key: registered.public_key,
            name: credential.name.clone(),
            status: Status::Active,
            sign_count: registered.sign_count,
            pat_expires_at_ms: None,
        });
        let answer =
            Registered { user: auth.notary.issue(&user), credential: auth.notary.issue(&new_credential) };
        pending.records.extend([user, new_credential]);
        // 5. Consume, last.
        auth.commit(pending, now)?;
        Ok(Response::Registered(answer))
    }

    /// `POST /auth/registration/codes`: admins only; a code living [`API_CODE_TTL_SECS`].
    pub(crate) fn issue_registration_code(
        &self,
        user: &UserRecord,
        body: &[u8],
        now: u64,
    ) -> Result<Outcome, Refusal> {
        if user.role != Role::Admin {
            return Err(forbidden("only admins issue registration codes"));
        }
        let req: RegistrationCodeRequest = parse_json(body)?;
        let role = match req.role.as_deref() {
            None | Some("Member") => Role::Member,
            Some("Admin") => Role::Admin,
            Some(_) => return Err(bad("role must be Admin or Member")),
        };
        if let Some(name) = &req.username {
            check_text("username", name, MAX_NAME_LEN)?;
        }
        let (code, expires_at_ms) =
            self.registration_code(&user.org_id, req.username, role, API_CODE_TTL_SECS, now)?;
        Ok(Outcome::RegistrationCode(RegistrationCodeIssued { code, expires_at_ms }))
    }
}
