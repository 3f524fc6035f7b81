//! Test support: an enclave core with a clock the test moves, and a user with an Ed25519 Key
//! credential made through the enclave (CreateOrg, RegistrationInit, Register) who signs
//! `key.get` client data for logins, user actions and one-shot calls.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::EncodePublicKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};
use signer_common::encoding::to_b64url;
use signer_common::identity::{ActionBinding, CredentialKind, Notarized, UserVerification};
use signer_common::protocol::{
    AssertRequest, Assertion, AttestationMode, Call, CallAuth, ChallengeKind, ChallengeRequest, CreateOrg,
    EnclaveError, ErrorCode, NewCredential, Register, RegistrationInit, Request, Response, WalletContext,
};
use signer_common::userauth::request_challenge;
use signer_enclave::core::EnclaveCore;
use signer_enclave::keys::MasterKey;
use signer_enclave::nsm::mock::MockNsm;

pub mod calls;

pub const ORIGIN: &str = "http://localhost:8080";
pub const T0: u64 = 1_700_000_000_000;

/// An enclave whose clock is `now`.
pub struct Enclave {
    pub core: EnclaveCore,
    pub now: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

impl Enclave {
    /// A ready enclave under master key `[seed; 32]`, clock at [`T0`].
    pub fn new(seed: u8) -> Enclave {
        let dir = tempfile::tempdir().unwrap();
        let nsm = Arc::new(MockNsm::open(dir.path(), b"test image").unwrap());
        let now = Arc::new(AtomicU64::new(T0));
        let clock = now.clone();
        let core = EnclaveCore::new(
            nsm,
            Some(MasterKey::from_bytes([seed; 32])),
            Arc::new(move || clock.load(Ordering::SeqCst)),
        );
        Enclave { core, now, _dir: dir }
    }

    pub fn send(&self, request: Request) -> Response {
        self.core.handle(request)
    }

    pub fn advance(&self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn time(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// The error of a refused request (panics on success).
pub fn refused(response: Response) -> EnclaveError {
    match response {
        Response::Error(e) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Asserts a refusal with this code; answers its message.
#[track_caller]
pub fn assert_refused(response: Response, code: ErrorCode) -> String {
    let e = refused(response);
    assert_eq!(e.code, code, "{}", e.message);
    e.message
}

/// A new organisation: its application record and the admin's registration code.
pub fn create_org(
    send: &mut dyn FnMut(Request) -> Response,
    org_id: &str,
    admin: &str,
) -> (Notarized, String) {
    match send(Request::CreateOrg(CreateOrg {
        org_id: org_id.into(),
        app_id: format!("ap-{org_id}"),
        origin: ORIGIN.into(),
        rp_id: "localhost".into(),
        rp_name: "Signer".into(),
        user_verification: UserVerification::Preferred,
        admin_username: admin.into(),
        code_ttl_secs: 24 * 3600,
    })) {
        Response::OrgCreated(created) => (created.app, created.registration_code),
        other => panic!("{other:?}"),
    }
}

/// A user with an Ed25519 Key credential.
#[derive(Debug, Clone)]
pub struct User {
    pub key: ed25519_dalek::SigningKey,
    pub cred_id: Vec<u8>,
    pub org_id: String,
    pub user_id: String,
    pub app: Notarized,
    pub user: Notarized,
    pub credential: Notarized,
}

/// Key client data.
pub fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
    format!(r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{origin}"}}"#).into_bytes()
}

/// A `key.create` registration of `key` over `challenge`.
pub fn new_credential(
    key: &ed25519_dalek::SigningKey,
    cred_id: &[u8],
    challenge: &str,
    origin: &str,
) -> NewCredential {
    let client_data = client_data("key.create", challenge, origin);
    let pem = key.verifying_key().to_public_key_pem(LineEnding::LF).unwrap();
    let attestation = serde_json::json!({
        "publicKey": pem,
        "signature": to_b64url(&key.sign(&client_data).to_bytes()),
    });
    NewCredential {
        kind: CredentialKind::Key,
        cred_id: ByteBuf::from(cred_id.to_vec()),
        client_data: ByteBuf::from(client_data),
        attestation_data: ByteBuf::from(serde_json::to_vec(&attestation).unwrap()),
        name: "laptop".into(),
    }
}

/// Registers `username` with `code`; the credential key is `[seed; 32]`.
pub fn try_register(
    send: &mut dyn FnMut(Request) -> Response,
    app: &Notarized,
    org_id: &str,
    username: &str,
    code: &str,
    seed: u8,
) -> Result<User, EnclaveError> {
    let init = match send(Request::RegistrationInit(RegistrationInit {
        app: app.clone(),
        org_id: org_id.into(),
        username: username.into(),
        registration_code: code.into(),
    })) {
        Response::RegistrationChallenge(c) => c,
        Response::Error(e) => return Err(e),
        other => panic!("{other:?}"),
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let cred_id = vec![seed, 1, 2, 3];
    let credential = new_credential(&key, &cred_id, &init.challenge, ORIGIN);
    match send(Request::Register(Register {
        app: app.clone(),
        temporary_token: init.temporary_token,
        credential,
    })) {
        Response::Registered(r) => Ok(User {
            key,
            cred_id,
            org_id: org_id.into(),
            user_id: init.user_id,
            app: app.clone(),
            user: r.user,
            credential: r.credential,
        }),
        Response::Error(e) => Err(e),
        other => panic!("{other:?}"),
    }
}

/// An organisation and its admin, registered through the enclave.
pub fn admin(send: &mut dyn FnMut(Request) -> Response, org_id: &str, seed: u8) -> User {
    let (app, code) = create_org(send, org_id, "admin");
    try_register(send, &app, org_id, "admin", &code, seed).unwrap()
}

impl User {
    /// A `key.get` assertion over `challenge`.
    pub fn assertion(&self, challenge: &str, origin: &str) -> Assertion {
        let client_data = client_data("key.get", challenge, origin);
        Assertion {
            kind: CredentialKind::Key,
            cred_id: ByteBuf::from(self.cred_id.clone()),
            signature: ByteBuf::from(self.key.sign(&client_data).to_bytes().to_vec()),
            client_data: ByteBuf::from(client_data),
            authenticator_data: None,
            user_handle: None,
        }
    }

    /// A challenge of `kind`: (challenge, identifier).
    pub fn challenge(
        &self,
        send: &mut dyn FnMut(Request) -> Response,
        kind: ChallengeKind,
    ) -> (String, String) {
        match send(Request::Challenge(ChallengeRequest {
            app: self.app.clone(),
            user: self.user.clone(),
            kind,
        })) {
            Response::Challenge(c) => (c.challenge, c.challenge_identifier),
            other => panic!("{other:?}"),
        }
    }

    /// The assertion request over a fresh challenge of `kind`.
    pub fn assert_request(
        &self,
        send: &mut dyn FnMut(Request) -> Response,
        kind: ChallengeKind,
    ) -> AssertRequest {
        let (challenge, identifier) = self.challenge(send, kind);
        AssertRequest {
            app: self.app.clone(),
            user: self.user.clone(),
            credential: self.credential.clone(),
            challenge_identifier: identifier,
            assertion: self.assertion(&challenge, ORIGIN),
        }
    }

    /// A user-action token for the call.
    pub fn user_action(
        &self,
        send: &mut dyn FnMut(Request) -> Response,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> String {
        let request = self.assert_request(send, ChallengeKind::Action(binding(method, path, body)));
        match send(Request::UserAction(request)) {
            Response::UserActionIssued(u) => u.token,
            other => panic!("{other:?}"),
        }
    }

    /// A call authorised by `auth`.
    pub fn call(&self, method: &str, path: &str, body: &[u8], auth: CallAuth) -> Call {
        let credential = matches!(auth, CallAuth::OneShot { .. }).then(|| self.credential.clone());
        Call {
            request_id: "rq-1".into(),
            method: method.into(),
            path: path.into(),
            body: ByteBuf::from(body.to_vec()),
            auth,
            app: self.app.clone(),
            user: self.user.clone(),
            credential,
            wallet: None,
            credentials: vec![],
            users: vec![],
            nonce: None,
            attestation: AttestationMode::Session,
        }
    }

    /// The one-shot authorisation of a call at `time_ms` with `request_id`.
    pub fn one_shot_auth(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        time_ms: u64,
        request_id: &str,
    ) -> CallAuth {
        let challenge = request_challenge(method, path, body, time_ms, request_id);
        CallAuth::OneShot {
            time_ms,
            request_id: request_id.into(),
            assertion: self.assertion(&challenge, ORIGIN),
        }
    }

    /// A one-shot call.
    pub fn one_shot(&self, method: &str, path: &str, body: &[u8], time_ms: u64, request_id: &str) -> Request {
        Request::Call(Box::new(self.call(
            method,
            path,
            body,
            self.one_shot_auth(method, path, body, time_ms, request_id),
        )))
    }
}

/// The binding of a call.
pub fn binding(method: &str, path: &str, body: &[u8]) -> ActionBinding {
    ActionBinding {
        method: method.into(),
        path: path.into(),
        payload_sha256: ByteBuf::from(Sha256::digest(body).to_vec()),
    }
}

/// A wallet context from a creation answer.
pub fn wallet_context(created: &signer_common::protocol::WalletCreated) -> WalletContext {
    WalletContext { sealed: created.wallet.clone(), record: created.record.clone() }
}
