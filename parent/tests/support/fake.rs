//! The fake enclave: plays protocol 2 on a socket (see [`Fake`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ed25519_dalek::pkcs8::DecodePublicKey as _;
use serde_bytes::ByteBuf;
use serde_json::Value;
use sha2::{Digest, Sha256};
use signer_common::api::auth::KeyAttestation;
use signer_common::encoding::{from_b64, to_b64url};
use signer_common::identity::{
    ActionBinding, AppRecord, CredentialKind, CredentialRecord, Notarized, RECORD_FORMAT, Record, Role,
    Status, TokenBody, TokenPurpose, UserRecord, WalletRecord,
};
use signer_common::protocol::{
    AssertRequest, Attestation, AttestationMode, Call, CallAuth, Called, Challenge, ChallengeKind, Curve,
    ErrorCode, Evidence, LoggedIn, OrgCreated, Outcome, Pong, Registered, RegistrationChallenge,
    RegistrationCodeIssued, Request, RequestFrame, Response, ResponseFrame, RootCertificate, SealedWallet,
    Signed, UserActionIssued, WalletCreated,
};
use signer_common::userauth::{CredentialPublicKey, Expected, request_challenge, verify_assertion};
use signer_transport::{Listener, read_frame, write_frame};

use super::now_ms;

/// What the fake enclave knows and how it behaves. It plays the agreed protocol: records are
/// tagged with a fixed dummy tag, tokens are base64url(CBOR(TokenBody) || 32 zero bytes) and
/// single use, and it checks Ed25519 Key signatures (registration, login, user action, one-shot)
/// with `signer_common::userauth`, so a test that passes here made real signatures.
#[derive(Default)]
pub struct Fake {
    pub ready: AtomicBool,
    /// Answer the wallet creation Call with this error instead.
    pub refuse_create: Mutex<Option<ErrorCode>>,
    /// Answer the wallet creation with a public key one byte short (a lying or broken enclave).
    pub malformed_create: AtomicBool,
    pub next_wallet: AtomicU64,
    next_id: AtomicU64,
    /// wallet id -> sealed blob it issued.
    pub sealed: Mutex<HashMap<String, Vec<u8>>>,
    /// Token nonces already used.
    used: Mutex<std::collections::HashSet<Vec<u8>>>,
    /// Every request, by name, in order.
    pub requests: Mutex<Vec<&'static str>>,
    /// The last Call received.
    pub last_call: Mutex<Option<Call>>,
}

pub fn seal(record: Record) -> Notarized {
    Notarized { body: ByteBuf::from(record.encode()), tag: ByteBuf::from(vec![0xee; 32]) }
}

pub fn token(body: &TokenBody) -> String {
    let mut bytes = Vec::new();
    ciborium::into_writer(body, &mut bytes).unwrap();
    bytes.extend([0u8; 32]);
    to_b64url(&bytes)
}

fn name(request: &Request) -> &'static str {
    match request {
        Request::Ping => "Ping",
        Request::Attest(_) => "Attest",
        Request::RootCertificate => "RootCertificate",
        Request::CreateOrg(_) => "CreateOrg",
        Request::RegistrationInit(_) => "RegistrationInit",
        Request::Register(_) => "Register",
        Request::Challenge(_) => "Challenge",
        Request::Login(_) => "Login",
        Request::UserAction(_) => "UserAction",
        Request::Call(_) => "Call",
        _ => "Other",
    }
}

fn forbidden(message: &str) -> Response {
    Response::error(ErrorCode::Forbidden, message)
}

fn app_of(n: &Notarized) -> AppRecord {
    match n.decode_unverified().unwrap() {
        Record::App(a) => a,
        other => panic!("not an app: {other:?}"),
    }
}

fn user_of(n: &Notarized) -> UserRecord {
    match n.decode_unverified().unwrap() {
        Record::User(u) => u,
        other => panic!("not a user: {other:?}"),
    }
}

fn credential_of(n: &Notarized) -> CredentialRecord {
    match n.decode_unverified().unwrap() {
        Record::Credential(c) => c,
        other => panic!("not a credential: {other:?}"),
    }
}

impl Fake {
    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::SeqCst)
    }

    fn token_body(&self, org_id: &str, user_id: &str, challenge: String, purpose: TokenPurpose) -> TokenBody {
        TokenBody {
            format: RECORD_FORMAT,
            boot_id: ByteBuf::from(vec![1; 16]),
            nonce: ByteBuf::from(self.id().to_be_bytes().to_vec()),
            expires_at_ms: now_ms() + 300_000,
            org_id: org_id.into(),
            user_id: user_id.into(),
            challenge,
            purpose,
        }
    }

    /// Reads a token and marks it used; `None` when unreadable or used before.
    fn consume(&self, text: &str) -> Option<TokenBody> {
        let body = TokenBody::peek(text).ok()?;
        self.used.lock().unwrap().insert(body.nonce.to_vec()).then_some(body)
    }

    fn check_assertion(
        &self,
        app: &AppRecord,
        credential: &CredentialRecord,
        challenge: &str,
        assertion: &signer_common::protocol::Assertion,
    ) -> Result<(), Response> {
        if credential.cred_id != assertion.cred_id || credential.status != Status::Active {
            return Err(forbidden("credential"));
        }
        let expected = Expected {
            challenge,
            origin: &app.origin,
            rp_id: &app.rp_id,
            user_verification: app.user_verification,
        };
        verify_assertion(
            assertion.kind,
            &expected,
            &credential.public_key,
            credential.sign_count,
            &assertion.client_data,
            assertion.authenticator_data.as_deref().map(|v| v.as_slice()),
            &assertion.signature,
        )
        .map(|_| ())
        .map_err(|e| forbidden(&e.to_string()))
    }

    fn assert_request(
        &self,
        r: &AssertRequest,
        login: bool,
    ) -> Result<(TokenBody, CredentialRecord), Response> {
        let body = self.consume(&r.challenge_identifier).ok_or_else(|| forbidden("challenge"))?;
        let user = user_of(&r.user);
        let credential = credential_of(&r.credential);
        if body.user_id != user.user_id || credential.user_id != user.user_id {
            return Err(forbidden("another user's"));
        }
        match (&body.purpose, login) {
            (TokenPurpose::Login, true) | (TokenPurpose::ActionChallenge(_), false) => {}
            _ => return Err(forbidden("wrong purpose")),
        }
        self.check_assertion(&app_of(&r.app), &credential, &body.challenge, &r.assertion)?;
        Ok((body, credential))
    }

    pub fn answer(&self, request: Request) -> Response {
        self.requests.lock().unwrap().push(name(&request));
        match request {
            Request::Ping => {
                Response::Pong(Pong { ready: self.ready.load(Ordering::SeqCst), nsm: "mock".into() })
            }
            Request::CreateOrg(c) => {
                let app = seal(Record::App(AppRecord {
                    format: RECORD_FORMAT,
                    version: 1,
                    org_id: c.org_id.clone(),
                    app_id: c.app_id,
                    origin: c.origin,
                    rp_id: c.rp_id,
                    rp_name: c.rp_name,
                    user_verification: c.user_verification,
                }));
                let purpose =
                    TokenPurpose::RegistrationCode { username: Some(c.admin_username), role: Role::Admin };
                let body = self.token_body(&c.org_id, "", String::new(), purpose);
                Response::OrgCreated(OrgCreated {
                    app,
                    registration_code: token(&body),
                    expires_at_ms: body.expires_at_ms,
                })
            }
            Request::RegistrationInit(r) => {
                let Some(code) = self.consume(&r.registration_code) else { return forbidden("code") };
                let TokenPurpose::RegistrationCode { username, role } = code.purpose else {
                    return forbidden("code");
                };
                if code.org_id != r.org_id || username.is_some_and(|u| u != r.username) {
                    return forbidden("code is for another");
                }
                let user_id = format!("us-{:04}", self.id());
                let challenge = to_b64url(&self.id().to_be_bytes());
                let purpose =
                    TokenPurpose::Registration { username: r.username, role, code_nonce: code.nonce };
                let body = self.token_body(&r.org_id, &user_id, challenge.clone(), purpose);
                Response::RegistrationChallenge(RegistrationChallenge {
                    challenge,
                    temporary_token: token(&body),
                    user_id,
                    expires_at_ms: body.expires_at_ms,
                })
            }
            Request::Register(r) => {
                let Some(body) = self.consume(&r.temporary_token) else { return forbidden("token") };
                let TokenPurpose::Registration { username, role, .. } = body.purpose else {
                    return forbidden("token");
                };
                let app = app_of(&r.app);
                let Ok(public_key) = self.check_key_registration(&app, &body.challenge, &r.credential) else {
                    return forbidden("registration signature");
                };
                let user = UserRecord {
                    format: RECORD_FORMAT,
                    version: 1,
                    org_id: body.org_id.clone(),
                    user_id: body.user_id.clone(),
                    username,
                    role,
                    status: Status::Active,
                    service_account: false,
                };
                let credential = CredentialRecord {
                    format: RECORD_FORMAT,
                    version: 1,
                    org_id: body.org_id,
                    user_id: body.user_id,
                    cred_id: r.credential.cred_id,
                    kind: CredentialKind::Key,
                    public_key,
                    name: r.credential.name,
                    status: Status::Active,
                    sign_count: 0,
                    pat_expires_at_ms: None,
                };
                Response::Registered(Registered {
                    user: seal(Record::User(user)),
                    credential: seal(Record::Credential(credential)),
                })
            }
            Request::Challenge(c) => {
                let user = user_of(&c.user);
                let purpose = match c.kind {
                    ChallengeKind::Login => TokenPurpose::Login,
                    ChallengeKind::Action(b) => TokenPurpose::ActionChallenge(b),
                    ChallengeKind::NewCredential(kind) => TokenPurpose::NewCredential { kind },
                };
                let challenge = to_b64url(&Sha256::digest(self.id().to_be_bytes()));
                let body = self.token_body(&user.org_id, &user.user_id, challenge.clone(), purpose);
                Response::Challenge(Challenge {
                    challenge,
                    challenge_identifier: token(&body),
                    expires_at_ms: body.expires_at_ms,
                })
            }
            Request::Login(r) => match self.assert_request(&r, true) {
                Ok((body, _)) => Response::LoggedIn(LoggedIn {
                    org_id: body.org_id,
                    user_id: body.user_id,
                    credential: None,
                }),
                Err(e) => e,
            },
            Request::UserAction(r) => match self.assert_request(&r, false) {
                Ok((body, credential)) => {
                    let TokenPurpose::ActionChallenge(binding) = body.purpose else { unreachable!() };
                    let purpose = TokenPurpose::UserAction { binding, cred_id: credential.cred_id };
                    let t = self.token_body(&body.org_id, &body.user_id, String::new(), purpose);
                    Response::UserActionIssued(UserActionIssued {
                        token: token(&t),
                        expires_at_ms: t.expires_at_ms,
                        credential: None,
                    })
                }
                Err(e) => e,
            },
            Request::Call(call) => {
                *self.last_call.lock().unwrap() = Some((*call).clone());
                match self.call(*call) {
                    Ok(outcome) => Response::Called(Box::new(Called { outcome, credential: None })),
                    Err(e) => e,
                }
            }
            Request::Attest(a) => {
                let mut pcrs = BTreeMap::new();
                pcrs.insert(0u8, ByteBuf::from(vec![0xaa; 48]));
                pcrs.insert(1u8, ByteBuf::from(vec![0xbb; 48]));
                Response::Attestation(Attestation {
                    document: ByteBuf::from(attestation_bytes(a.nonce.as_ref().map(|n| n.as_slice()))),
                    pcrs,
                })
            }
            Request::RootCertificate => Response::RootCertificate(RootCertificate {
                pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
            }),
            _ => Response::error(ErrorCode::BadRequest, "unknown"),
        }
    }

    fn check_key_registration(
        &self,
        app: &AppRecord,
        challenge: &str,
        c: &signer_common::protocol::NewCredential,
    ) -> Result<CredentialPublicKey, ()> {
        let data: Value = serde_json::from_slice(&c.client_data).map_err(|_| ())?;
        if data["type"] != "key.create"
            || data["challenge"] != challenge
            || data["origin"] != app.origin.as_str()
        {
            return Err(());
        }
        let attestation: KeyAttestation = serde_json::from_slice(&c.attestation_data).map_err(|_| ())?;
        let key =
            ed25519_dalek::VerifyingKey::from_public_key_pem(&attestation.public_key).map_err(|_| ())?;
        let signature = from_b64(&attestation.signature).map_err(|_| ())?;
        let signature = ed25519_dalek::Signature::from_slice(&signature).map_err(|_| ())?;
        key.verify_strict(&c.client_data, &signature).map_err(|_| ())?;
        Ok(CredentialPublicKey::Ed25519(ByteBuf::from(key.to_bytes().to_vec())))
    }

    fn call(&self, call: Call) -> Result<Outcome, Response> {
        let user = user_of(&call.user);
        let app = app_of(&call.app);
        let binding = ActionBinding {
            method: call.method.clone(),
            path: call.path.clone(),
            payload_sha256: ByteBuf::from(Sha256::digest(&call.body).to_vec()),
        };
        // 1. The user's authorisation.
        match &call.auth {
            CallAuth::UserAction { token } => {
                let body = self.consume(token).ok_or_else(|| forbidden("user action used or unreadable"))?;
                let TokenPurpose::UserAction { binding: bound, .. } = body.purpose else {
                    return Err(forbidden("not a user action"));
                };
                if bound != binding || body.user_id != user.user_id {
                    return Err(forbidden("the user action is for another call"));
                }
            }
            CallAuth::OneShot { time_ms, request_id, assertion } => {
                let credential =
                    credential_of(call.credential.as_ref().ok_or_else(|| forbidden("no credential"))?);
                if credential.user_id != user.user_id || now_ms().abs_diff(*time_ms) > 60_000 {
                    return Err(forbidden("one-shot"));
                }
                if !self.used.lock().unwrap().insert(request_id.as_bytes().to_vec()) {
                    return Err(forbidden("request id replayed"));
                }
                let challenge = request_challenge(&call.method, &call.path, &call.body, *time_ms, request_id);
                self.check_assertion(&app, &credential, &challenge, assertion)?;
            }
        }
        // 2. The call, as its method and path say.
        let body: Value = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
        let path = call.path.split('?').next().unwrap_or_default().to_owned();
        match (call.method.as_str(), path.as_str()) {
            ("POST", "/wallets") => {
                if let Some(code) = *self.refuse_create.lock().unwrap() {
                    return Err(Response::error(code, "refused"));
                }
                let curve: Curve = body["curve"].as_str().unwrap().parse().unwrap();
                let n = self.next_wallet.fetch_add(1, Ordering::SeqCst);
                let wallet_id = format!("wa-{n:04}");
                let sealed = format!("sealed:{wallet_id}").into_bytes();
                self.sealed.lock().unwrap().insert(wallet_id.clone(), sealed.clone());
                let short = usize::from(self.malformed_create.load(Ordering::SeqCst));
                let public_key = ByteBuf::from(vec![2u8; curve.public_key_len() - short]);
                let record = seal(Record::Wallet(WalletRecord {
                    format: RECORD_FORMAT,
                    version: 1,
                    org_id: user.org_id.clone(),
                    wallet_id: wallet_id.clone(),
                    owner_user_id: user.user_id.clone(),
                    curve,
                    public_key: public_key.clone(),
                }));
                Ok(Outcome::WalletCreated(WalletCreated {
                    wallet: SealedWallet { wallet_id, curve, public_key, sealed: ByteBuf::from(sealed) },
                    record,
                    receipt: ByteBuf::from(format!("receipt:{}", call.request_id).into_bytes()),
                    evidence: Evidence::Document(ByteBuf::from(attestation_bytes(
                        call.nonce.as_ref().map(|n| n.as_slice()),
                    ))),
                }))
            }
            ("POST", p) if p.starts_with("/wallets/") && p.ends_with("/signatures") => {
                let wallet =
                    call.wallet.ok_or_else(|| Response::error(ErrorCode::BadRequest, "no wallet"))?;
                let Record::Wallet(record) = wallet.record.decode_unverified().unwrap() else { panic!() };
                if record.owner_user_id != user.user_id {
                    return Err(forbidden("not the wallet's owner"));
                }
                let s = &wallet.sealed;
                let expected = self.sealed.lock().unwrap().get(&s.wallet_id).cloned();
                if expected.as_deref() != Some(&s.sealed[..]) {
                    return Err(Response::error(ErrorCode::SealedWalletInvalid, "does not open"));
                }
                if body["kind"] == "Message" && s.curve != Curve::Ed25519 {
                    return Err(Response::error(ErrorCode::Unsupported, "Message needs ed25519"));
                }
                let mut signature = vec![0x11u8; 32];
                signature.extend([0x22u8; 32]);
                if s.curve == Curve::Secp256k1 {
                    signature.push(1);
                }
                Ok(Outcome::Signed(Signed {
                    signature: ByteBuf::from(signature),
                    receipt: ByteBuf::from(format!("receipt:{}", call.request_id).into_bytes()),
                    evidence: match call.attestation {
                        AttestationMode::Session => Evidence::Session {
                            session_id: ByteBuf::from(vec![0x5e; 32]),
                            signature: ByteBuf::from(vec![0x51; 64]),
                        },
                        _ => Evidence::Document(ByteBuf::from(attestation_bytes(
                            call.nonce.as_ref().map(|n| n.as_slice()),
                        ))),
                    },
                }))
            }
            ("POST", "/auth/credentials") => {
                let challenge_id = body["challengeIdentifier"].as_str().unwrap_or_default();
                let chal = self.consume(challenge_id).ok_or_else(|| forbidden("challenge"))?;
                let info = &body["credentialInfo"];
                let new = signer_common::protocol::NewCredential {
                    kind: CredentialKind::Key,
                    cred_id: ByteBuf::from(from_b64(info["credId"].as_str().unwrap()).unwrap()),
                    client_data: ByteBuf::from(from_b64(info["clientData"].as_str().unwrap()).unwrap()),
                    attestation_data: ByteBuf::from(
                        from_b64(info["attestationData"].as_str().unwrap()).unwrap(),
                    ),
                    name: body["credentialName"].as_str().unwrap().into(),
                };
                let public_key = self
                    .check_key_registration(&app, &chal.challenge, &new)
                    .map_err(|()| forbidden("registration"))?;
                Ok(Outcome::CredentialAdded(seal(Record::Credential(CredentialRecord {
                    format: RECORD_FORMAT,
                    version: 1,
                    org_id: user.org_id,
                    user_id: user.user_id,
                    cred_id: new.cred_id,
                    kind: CredentialKind::Key,
                    public_key,
                    name: new.name,
                    status: Status::Active,
                    sign_count: 0,
                    pat_expires_at_ms: None,
                }))))
            }
            ("PUT", "/auth/credentials/activate" | "/auth/credentials/deactivate") => {
                let cred_id = from_b64(body["credId"].as_str().unwrap_or_default()).unwrap_or_default();
                let records: Vec<CredentialRecord> = call.credentials.iter().map(credential_of).collect();
                let mut target = records
                    .iter()
                    .find(|c| c.cred_id.as_slice() == cred_id.as_slice())
                    .cloned()
                    .ok_or_else(|| forbidden("not the user's credential"))?;
                let activate = path.ends_with("/activate");
                let others_active = records
                    .iter()
                    .filter(|c| c.cred_id != target.cred_id && c.status == Status::Active)
                    .count();
                if !activate && others_active == 0 {
                    return Err(Response::error(ErrorCode::Conflict, "the last active credential"));
                }
                target.status = if activate { Status::Active } else { Status::Inactive };
                target.version += 1;
                Ok(Outcome::CredentialUpdated(seal(Record::Credential(target))))
            }
            ("POST", "/auth/registration/codes") => {
                if user.role != Role::Admin {
                    return Err(forbidden("admins only"));
                }
                let role = if body["role"] == "Admin" { Role::Admin } else { Role::Member };
                let username = body["username"].as_str().map(str::to_owned);
                let t = self.token_body(
                    &user.org_id,
                    "",
                    String::new(),
                    TokenPurpose::RegistrationCode { username, role },
                );
                Ok(Outcome::RegistrationCode(RegistrationCodeIssued {
                    code: token(&t),
                    expires_at_ms: t.expires_at_ms,
                }))
            }
            _ => Err(Response::error(ErrorCode::BadRequest, "unknown call")),
        }
    }
}

/// The fake's "attestation document": the nonce it was given, so tests can see it passed through.
pub fn attestation_bytes(nonce: Option<&[u8]>) -> Vec<u8> {
    let mut doc = b"doc:".to_vec();
    doc.extend_from_slice(nonce.unwrap_or(b"none"));
    doc
}

pub async fn run_fake(mut listener: Listener, fake: Arc<Fake>) {
    loop {
        let Ok(mut stream) = listener.accept().await else { return };
        let fake = fake.clone();
        tokio::spawn(async move {
            while let Ok(Some(bytes)) = read_frame(&mut stream).await {
                let frame = RequestFrame::decode(&bytes).unwrap();
                let answer = ResponseFrame::new(frame.id, fake.answer(frame.body));
                if write_frame(&mut stream, &answer.encode()).await.is_err() {
                    return;
                }
            }
        });
    }
}
