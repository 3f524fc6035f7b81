//! The stub parent's user signatures, checked as the enclave checks them (in a few lines): the
//! auth endpoints (registration with a code, login, user actions, credentials, registration
//! codes), and on every state-changing call an `X-User-Action` token bound to its method, path
//! and body, or a one-shot `X-Request-Signature` over `request_challenge` of what arrived.
//! Calls with neither pass, as they did before user signatures (the old tests send none).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1, ECDSA_P256K1_SHA256_ASN1, ED25519, UnparsedPublicKey, VerificationAlgorithm,
};
use ed25519_dalek::pkcs8::spki::der::pem::{self, LineEnding};
use ed25519_dalek::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, KeypairBytes};
use sha2::{Digest as _, Sha256};
use signer_common::api::auth::{
    ActionInitRequest, CreateCredentialRequest, CredentialInfo, CredentialStatusRequest, KeyAttestation,
    LoginInitRequest, RegistrationCodeRequest, RegistrationInitRequest, RegistrationRequest,
    RequestSignature, SignedChallenge,
};
use signer_common::encoding::{from_b64, to_b64url};
use signer_common::userauth::request_challenge;

use super::{StubRequest, error, ok};

/// The application's origin in the stub.
pub const ORIGIN: &str = "http://localhost";
/// The admin's credential id in the stub's credentials file.
pub const ADMIN_CRED_ID: &str = "Y3JlZA";
/// A registration code the stub accepts once from the start.
pub const PRESET_CODE: &str = "preset-code-1";
/// The organisation.
pub const ORG_ID: &str = "or-1";
const ADMIN_SEED: [u8; 32] = [0x11; 32];

/// The admin's Ed25519 key as PKCS#8 v1 PEM.
pub fn admin_pem() -> String {
    let bytes = KeypairBytes { secret_key: ADMIN_SEED, public_key: None };
    bytes.to_pkcs8_pem(LineEnding::LF).unwrap().as_str().to_owned()
}

fn admin_spki() -> Vec<u8> {
    let key = ed25519_dalek::SigningKey::from_bytes(&ADMIN_SEED);
    key.verifying_key().to_public_key_der().unwrap().as_bytes().to_vec()
}

type Answer = (u16, &'static str, Vec<u8>);
/// Method, path with query, SHA-256 of the body.
type Binding = (String, String, [u8; 32]);

/// A stored credential.
#[derive(Clone)]
pub struct Cred {
    pub user: String,
    pub algorithm: &'static str,
    spki: Vec<u8>,
    pub active: bool,
    pub name: String,
}

enum Pending {
    Login { user: String, challenge: String },
    Action { challenge: String, binding: Binding },
    NewCredential { user: String, challenge: String },
}

/// The stub's users, credentials, challenges and tokens.
pub struct AuthState {
    counter: AtomicU64,
    pub creds: Mutex<BTreeMap<String, Cred>>,
    pending: Mutex<BTreeMap<String, Pending>>,
    /// Unused `X-User-Action` tokens and what they were issued for.
    actions: Mutex<BTreeMap<String, Binding>>,
    seen_ids: Mutex<BTreeSet<String>>,
    /// Access token -> user.
    tokens: Mutex<BTreeMap<String, String>>,
    codes: Mutex<BTreeSet<String>>,
    /// Temporary registration token -> (user, challenge).
    registrations: Mutex<BTreeMap<String, (String, String)>>,
    /// Which form each signed call that passed used: (path, "one-shot" | "user-action" | "none").
    pub forms: Mutex<Vec<(String, &'static str)>>,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn forbidden(what: &str) -> Answer {
    error(403, "forbidden", what)
}

fn parse<T: for<'de> serde::Deserialize<'de>>(body: &[u8]) -> Result<T, Answer> {
    serde_json::from_slice(body).map_err(|e| error(400, "bad_request", &e.to_string()))
}

fn verifier(algorithm: &str) -> &'static dyn VerificationAlgorithm {
    match algorithm {
        "ES256" => &ECDSA_P256_SHA256_ASN1,
        "ES256K" => &ECDSA_P256K1_SHA256_ASN1,
        _ => &ED25519,
    }
}

/// Checks Key client data (type, challenge, origin) and the signature over its exact bytes.
fn check_signed_data(
    algorithm: &str,
    spki: &[u8],
    client_data: &str,
    signature: &str,
    kind: &str,
    challenge: &str,
) -> Result<(), Answer> {
    let data = from_b64(client_data).map_err(|_| error(400, "bad_request", "clientData"))?;
    let signature = from_b64(signature).map_err(|_| error(400, "bad_request", "signature"))?;
    let json: serde_json::Value = parse(&data)?;
    if json["type"] != kind || json["challenge"] != challenge || json["origin"] != ORIGIN {
        return Err(forbidden("client data does not match"));
    }
    UnparsedPublicKey::new(verifier(algorithm), spki)
        .verify(&data, &signature)
        .map_err(|_| forbidden("signature does not verify"))
}

impl AuthState {
    pub fn new() -> AuthState {
        let admin = Cred {
            user: "admin".into(),
            algorithm: "EdDSA",
            spki: admin_spki(),
            active: true,
            name: "dev".into(),
        };
        AuthState {
            counter: AtomicU64::new(0),
            creds: Mutex::new(BTreeMap::from([(ADMIN_CRED_ID.to_owned(), admin)])),
            pending: Mutex::new(BTreeMap::new()),
            actions: Mutex::new(BTreeMap::new()),
            seen_ids: Mutex::new(BTreeSet::new()),
            tokens: Mutex::new(BTreeMap::from([("test-token".to_owned(), "admin".to_owned())])),
            codes: Mutex::new(BTreeSet::from([PRESET_CODE.to_owned()])),
            registrations: Mutex::new(BTreeMap::new()),
            forms: Mutex::new(Vec::new()),
        }
    }

    fn fresh(&self, prefix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        format!("{prefix}-{n}")
    }

    fn challenge(&self) -> String {
        to_b64url(&sha256(self.fresh("challenge").as_bytes()))
    }

    /// The user of `Authorization: Bearer <token>`.
    pub fn user_of(&self, authorization: Option<&str>) -> Option<String> {
        let token = authorization?.strip_prefix("Bearer ")?;
        self.tokens.lock().unwrap().get(token).cloned()
    }

    /// The calls without an access token; `None` for other routes.
    pub fn unauthenticated(&self, request: &StubRequest) -> Option<Answer> {
        let answer = match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/auth/registration/init") => self.registration_init(request),
            ("POST", "/auth/registration") => self.registration(request),
            ("POST", "/auth/login/init") => self.login_init(request),
            ("POST", "/auth/login") => self.login(request),
            _ => return None,
        };
        Some(answer.unwrap_or_else(|answer| answer))
    }

    /// The auth calls of a signed-in `user`; `None` for other routes.
    pub fn authenticated(&self, request: &StubRequest, user: &str) -> Option<Answer> {
        let answer = match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/auth/action/init") => self.action_init(request),
            ("POST", "/auth/action") => self.action(request, user),
            ("POST", "/auth/credentials/init") => Ok(self.credentials_init(user)),
            ("POST", "/auth/credentials") => self.add_credential(request, user),
            ("GET", "/auth/credentials") => Ok(self.list(user)),
            ("PUT", "/auth/credentials/activate") => self.set_active(request, user, true),
            ("PUT", "/auth/credentials/deactivate") => self.set_active(request, user, false),
            ("POST", "/auth/registration/codes") => self.registration_code(request, user),
            _ => return None,
        };
        Some(answer.unwrap_or_else(|answer| answer))
    }

    /// Whether the call changes state (and so must carry the user's signature).
    pub fn is_state_changing(request: &StubRequest) -> bool {
        let path = request.path.split('?').next().unwrap_or_default();
        match request.method.as_str() {
            "POST" => {
                path == "/wallets"
                    || (path.starts_with("/wallets/") && path.ends_with("/signatures"))
                    || path == "/auth/credentials"
                    || path == "/auth/registration/codes"
            }
            "PUT" => path.starts_with("/auth/credentials/"),
            _ => false,
        }
    }

    /// The user signature of a state-changing call by `user`: a user-action token issued for
    /// this method, path and body (used once), or a one-shot signature over the request
    /// challenge recomputed from what arrived, by an active credential of `user`, with an id not
    /// seen before.
    pub fn check_signed(&self, request: &StubRequest, user: &str) -> Result<(), Answer> {
        let binding = (request.method.clone(), request.path.clone(), sha256(&request.body));
        let form = if let Some(token) = request.header("x-user-action") {
            match self.actions.lock().unwrap().remove(token) {
                Some(issued) if issued == binding => "user-action",
                Some(_) => return Err(forbidden("user action token is for another request")),
                None => return Err(forbidden("unknown or used user action token")),
            }
        } else if let Some(header) = request.header("x-request-signature") {
            let time: u64 = request
                .header("x-request-time")
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| error(400, "bad_request", "X-Request-Time"))?;
            let id =
                request.header("x-request-id").ok_or_else(|| error(400, "bad_request", "X-Request-Id"))?;
            let signature: RequestSignature =
                parse(&from_b64(header).map_err(|_| error(400, "bad_request", "X-Request-Signature"))?)?;
            let challenge = request_challenge(&request.method, &request.path, &request.body, time, id);
            self.check_assertion(&signature, user, &challenge)?;
            if !self.seen_ids.lock().unwrap().insert(id.to_owned()) {
                return Err(forbidden("request id seen before"));
            }
            "one-shot"
        } else {
            "none"
        };
        self.forms.lock().unwrap().push((request.path.clone(), form));
        Ok(())
    }

    /// A `key.get` assertion over `challenge` by an active credential of `user`.
    fn check_assertion(
        &self,
        signature: &RequestSignature,
        user: &str,
        challenge: &str,
    ) -> Result<(), Answer> {
        let assertion = &signature.credential_assertion;
        let cred = self.creds.lock().unwrap().get(&assertion.cred_id).cloned();
        let cred = cred.ok_or_else(|| forbidden("unknown credential"))?;
        if cred.user != user || !cred.active {
            return Err(forbidden("credential not usable by this user"));
        }
        check_signed_data(
            cred.algorithm,
            &cred.spki,
            &assertion.client_data,
            &assertion.signature,
            "key.get",
            challenge,
        )
    }

    /// A `key.create` registration of `info` for `challenge`: its algorithm and SPKI.
    fn check_registration(info: &CredentialInfo, challenge: &str) -> Result<(&'static str, Vec<u8>), Answer> {
        let attestation: KeyAttestation = parse(
            &from_b64(&info.attestation_data).map_err(|_| error(400, "bad_request", "attestationData"))?,
        )?;
        let (label, spki) = pem::decode_vec(attestation.public_key.as_bytes())
            .map_err(|_| error(400, "bad_request", "PEM"))?;
        assert_eq!(label, "PUBLIC KEY");
        for algorithm in ["ES256", "ES256K", "EdDSA"] {
            if check_signed_data(
                algorithm,
                &spki,
                &info.client_data,
                &attestation.signature,
                "key.create",
                challenge,
            )
            .is_ok()
            {
                return Ok((algorithm, spki));
            }
        }
        Err(forbidden("registration signature does not verify"))
    }

    fn creation_options(&self, user: &str, challenge: &str) -> serde_json::Value {
        serde_json::json!({
            "challenge": challenge,
            "rp": { "id": "localhost", "name": "stub" },
            "user": { "id": to_b64url(user.as_bytes()), "name": user, "displayName": user },
            "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }, { "type": "public-key", "alg": -8 }],
            "supportedCredentialKinds": { "firstFactor": ["Key", "Fido2"], "secondFactor": [] },
            "attestation": "none",
            "authenticatorSelection": { "residentKey": "required", "requireResidentKey": true, "userVerification": "preferred" },
            "excludeCredentials": [],
            "origin": ORIGIN,
        })
    }

    fn credential_json(id: &str, cred: &Cred) -> serde_json::Value {
        serde_json::json!({
            "credId": id, "kind": "Key", "name": cred.name, "algorithm": cred.algorithm,
            "status": if cred.active { "Active" } else { "Inactive" },
        })
    }

    fn registration_init(&self, request: &StubRequest) -> Result<Answer, Answer> {
        let init: RegistrationInitRequest = parse(&request.body)?;
        if init.org_id != ORG_ID || !self.codes.lock().unwrap().remove(&init.registration_code) {
            return Err(error(401, "unauthorized", "bad registration code"));
        }
        let challenge = self.challenge();
        let temp = self.fresh("temp");
        self.registrations.lock().unwrap().insert(temp.clone(), (init.username.clone(), challenge.clone()));
        let mut options = self.creation_options(&init.username, &challenge);
        options["temporaryAuthenticationToken"] = temp.into();
        Ok(ok(options))
    }

    fn registration(&self, request: &StubRequest) -> Result<Answer, Answer> {
        let temp =
            request.header("authorization").and_then(|h| h.strip_prefix("Bearer ")).unwrap_or_default();
        let (user, challenge) = self
            .registrations
            .lock()
            .unwrap()
            .remove(temp)
            .ok_or_else(|| error(401, "unauthorized", "bad temporary token"))?;
        let registration: RegistrationRequest = parse(&request.body)?;
        let info = &registration.first_factor_credential.credential_info;
        let (algorithm, spki) = Self::check_registration(info, &challenge)?;
        let cred = Cred { user: user.clone(), algorithm, spki, active: true, name: "first".into() };
        let json = Self::credential_json(&info.cred_id, &cred);
        self.creds.lock().unwrap().insert(info.cred_id.clone(), cred);
        Ok(ok(serde_json::json!({
            "user": { "id": format!("us-{user}"), "username": user, "orgId": ORG_ID },
            "credential": json,
        })))
    }

    fn login_init(&self, request: &StubRequest) -> Result<Answer, Answer> {
        let init: LoginInitRequest = parse(&request.body)?;
        let challenge = self.challenge();
        let id = self.fresh("login");
        self.pending
            .lock()
            .unwrap()
            .insert(id.clone(), Pending::Login { user: init.username, challenge: challenge.clone() });
        Ok(ok(serde_json::json!({
            "challenge": challenge, "challengeIdentifier": id,
            "allowCredentials": { "key": [], "webauthn": [] },
        })))
    }

    fn login(&self, request: &StubRequest) -> Result<Answer, Answer> {
        let signed: SignedChallenge = parse(&request.body)?;
        let Some(Pending::Login { user, challenge }) =
            self.pending.lock().unwrap().remove(&signed.challenge_identifier)
        else {
            return Err(forbidden("unknown login challenge"));
        };
        self.check_assertion(&signed.first_factor, &user, &challenge)?;
        let token = self.fresh("test-token");
        self.tokens.lock().unwrap().insert(token.clone(), user);
        Ok(ok(serde_json::json!({ "token": token })))
    }

    fn action_init(&self, request: &StubRequest) -> Result<Answer, Answer> {
        let init: ActionInitRequest = parse(&request.body)?;
        let binding = (
            init.user_action_http_method,
            init.user_action_http_path,
            sha256(init.user_action_payload.as_bytes()),
        );
        let challenge = self.challenge();
        let id = self.fresh("action");
        self.pending
            .lock()
            .unwrap()
            .insert(id.clone(), Pending::Action { challenge: challenge.clone(), binding });
        Ok(ok(serde_json::json!({
            "challenge": challenge, "challengeIdentifier": id,
            "allowCredentials": { "key": [], "webauthn": [] }, "origin": ORIGIN,
        })))
    }

    fn action(&self, request: &StubRequest, user: &str) -> Result<Answer, Answer> {
        let signed: SignedChallenge = parse(&request.body)?;
        let Some(Pending::Action { challenge, binding }) =
            self.pending.lock().unwrap().remove(&signed.challenge_identifier)
        else {
            return Err(forbidden("unknown action challenge"));
        };
        self.check_assertion(&signed.first_factor, user, &challenge)?;
        let token = self.fresh("ua");
        self.actions.lock().unwrap().insert(token.clone(), binding);
        Ok(ok(serde_json::json!({ "userAction": token })))
    }

    fn credentials_init(&self, user: &str) -> Answer {
        let challenge = self.challenge();
        let id = self.fresh("cred");
        self.pending.lock().unwrap().insert(
            id.clone(),
            Pending::NewCredential { user: user.to_owned(), challenge: challenge.clone() },
        );
        let mut options = self.creation_options(user, &challenge);
        options["challengeIdentifier"] = id.into();
        ok(options)
    }

    fn add_credential(&self, request: &StubRequest, user: &str) -> Result<Answer, Answer> {
        let create: CreateCredentialRequest = parse(&request.body)?;
        let pending = self.pending.lock().unwrap().remove(&create.challenge_identifier);
        let Some(Pending::NewCredential { user: owner, challenge }) = pending else {
            return Err(forbidden("unknown credential challenge"));
        };
        if owner != user {
            return Err(forbidden("challenge of another user"));
        }
        let (algorithm, spki) = Self::check_registration(&create.credential_info, &challenge)?;
        let cred =
            Cred { user: user.to_owned(), algorithm, spki, active: true, name: create.credential_name };
        let json = Self::credential_json(&create.credential_info.cred_id, &cred);
        self.creds.lock().unwrap().insert(create.credential_info.cred_id, cred);
        Ok(ok(serde_json::json!({ "credential": json })))
    }

    fn list(&self, user: &str) -> Answer {
        let creds = self.creds.lock().unwrap();
        let items: Vec<_> = creds
            .iter()
            .filter(|(_, c)| c.user == user)
            .map(|(id, c)| Self::credential_json(id, c))
            .collect();
        ok(serde_json::json!({ "items": items }))
    }

    fn set_active(&self, request: &StubRequest, user: &str, active: bool) -> Result<Answer, Answer> {
        let change: CredentialStatusRequest = parse(&request.body)?;
        let mut creds = self.creds.lock().unwrap();
        let cred = creds
            .get_mut(&change.cred_id)
            .filter(|c| c.user == user)
            .ok_or_else(|| error(404, "not_found", "no such credential"))?;
        cred.active = active;
        Ok(ok(serde_json::json!({ "credential": Self::credential_json(&change.cred_id, cred) })))
    }

    fn registration_code(&self, request: &StubRequest, user: &str) -> Result<Answer, Answer> {
        if user != "admin" {
            return Err(forbidden("admins only"));
        }
        let ask: RegistrationCodeRequest = parse(&request.body)?;
        let code = self.fresh("code");
        self.codes.lock().unwrap().insert(code.clone());
        Ok(ok(serde_json::json!({
            "registrationCode": code, "orgId": ORG_ID, "username": ask.username,
            "role": ask.role.unwrap_or_else(|| "Member".into()), "expiresAt": "2099-01-01T00:00:00Z",
        })))
    }
}
