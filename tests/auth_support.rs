//! The client side of user authorisation, written here on purpose apart from the SDK so the
//! tests check the contract (API.md, "User action signing", "One-shot signed requests",
//! "Registration and login") from outside: Key credentials of the three algorithms, client
//! data, the one-shot headers, the three calls of a user action, registration and login.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Stack;

/// base64url without padding, as API.md writes binary values.
pub fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The inverse of [`b64u`].
pub fn unb64u(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// `n` random bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("random bytes");
    bytes
}

/// A fresh `X-Request-Id`: 22 characters of base64url.
pub fn request_id() -> String {
    b64u(&random_bytes(16))
}

/// Milliseconds since the epoch, by this machine's clock (the enclave's in dev).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A Key credential's private key.
pub enum TestKey {
    /// ECDSA P-256 over SHA-256, DER signatures (`ES256`).
    P256(p256::ecdsa::SigningKey),
    /// ECDSA secp256k1 over SHA-256, DER low-S signatures (`ES256K`).
    K256(k256::ecdsa::SigningKey),
    /// Ed25519 (`EdDSA`).
    Ed25519(ed25519_dalek::SigningKey),
}

impl TestKey {
    /// A new random key of `algorithm` (`ES256`, `ES256K` or `EdDSA`).
    pub fn generate(algorithm: &str) -> TestKey {
        loop {
            let bytes = random_bytes(32);
            let key = match algorithm {
                "ES256" => p256::ecdsa::SigningKey::from_slice(&bytes).ok().map(TestKey::P256),
                "ES256K" => k256::ecdsa::SigningKey::from_slice(&bytes).ok().map(TestKey::K256),
                "EdDSA" => {
                    Some(TestKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&bytes.try_into().unwrap())))
                }
                other => panic!("unknown algorithm {other}"),
            };
            if let Some(key) = key {
                return key;
            }
        }
    }

    /// Loads a PKCS#8 PEM private key (the `privateKeyPem` of `dev-credentials.json`).
    pub fn from_pkcs8_pem(algorithm: &str, pem: &str) -> TestKey {
        use p256::pkcs8::DecodePrivateKey as _;
        match algorithm {
            "ES256" => TestKey::P256(p256::ecdsa::SigningKey::from_pkcs8_pem(pem).expect("P-256 PKCS#8")),
            "ES256K" => {
                TestKey::K256(k256::ecdsa::SigningKey::from_pkcs8_pem(pem).expect("secp256k1 PKCS#8"))
            }
            "EdDSA" => TestKey::Ed25519(
                ed25519_dalek::pkcs8::DecodePrivateKey::from_pkcs8_pem(pem).expect("Ed25519 PKCS#8"),
            ),
            other => panic!("unknown algorithm {other}"),
        }
    }

    /// `ES256`, `ES256K` or `EdDSA`.
    pub fn algorithm(&self) -> &'static str {
        match self {
            TestKey::P256(_) => "ES256",
            TestKey::K256(_) => "ES256K",
            TestKey::Ed25519(_) => "EdDSA",
        }
    }

    /// The public key as a PEM SubjectPublicKeyInfo.
    pub fn public_key_pem(&self) -> String {
        use p256::pkcs8::{EncodePublicKey as _, LineEnding};
        match self {
            TestKey::P256(k) => k.verifying_key().to_public_key_pem(LineEnding::LF).unwrap(),
            TestKey::K256(k) => k.verifying_key().to_public_key_pem(LineEnding::LF).unwrap(),
            TestKey::Ed25519(k) => ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_pem(
                &k.verifying_key(),
                ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF,
            )
            .unwrap(),
        }
    }

    /// Signs `message`: ECDSA over SHA-256(message) as DER, Ed25519 over the message.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            TestKey::P256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, message);
                sig.to_der().as_bytes().to_vec()
            }
            TestKey::K256(k) => {
                let sig: k256::ecdsa::Signature = k256::ecdsa::signature::Signer::sign(k, message);
                sig.normalize_s().to_der().as_bytes().to_vec()
            }
            TestKey::Ed25519(k) => ed25519_dalek::Signer::sign(k, message).to_bytes().to_vec(),
        }
    }

    /// Signs `message` and answers the ECDSA signature as its (r, s) scalars (32 bytes each).
    pub fn sign_rs(&self, message: &[u8]) -> ([u8; 32], [u8; 32]) {
        let der = self.sign(message);
        let bytes = match self {
            TestKey::P256(_) => p256::ecdsa::Signature::from_der(&der).unwrap().to_bytes().to_vec(),
            TestKey::K256(_) => k256::ecdsa::Signature::from_der(&der).unwrap().to_bytes().to_vec(),
            TestKey::Ed25519(_) => panic!("Ed25519 signatures have no (r, s)"),
        };
        (bytes[..32].try_into().unwrap(), bytes[32..].try_into().unwrap())
    }
}

/// A Key credential: its key, its id and the origin its client data names.
pub struct TestCredential {
    pub key: TestKey,
    /// base64url.
    pub cred_id: String,
    pub origin: String,
}

impl TestCredential {
    /// A new credential of `algorithm` with a random id.
    pub fn generate(algorithm: &str, origin: &str) -> TestCredential {
        TestCredential {
            key: TestKey::generate(algorithm),
            cred_id: b64u(&random_bytes(16)),
            origin: origin.into(),
        }
    }

    /// The `firstFactor` / `X-Request-Signature` JSON signing `challenge`.
    pub fn sign_challenge(&self, challenge: &str) -> Value {
        let client_data = key_get_client_data(challenge, &self.origin);
        key_first_factor(&self.cred_id, &client_data, &self.key.sign(client_data.as_bytes()))
    }
}

/// A signed-in user.
pub struct TestUser {
    pub org_id: String,
    pub user_id: String,
    pub username: String,
    /// The bearer token (JWT).
    pub token: String,
    pub credential: TestCredential,
}

impl TestUser {
    /// The same user signing with `credential`.
    pub fn with(&self, credential: TestCredential) -> TestUser {
        TestUser {
            org_id: self.org_id.clone(),
            user_id: self.user_id.clone(),
            username: self.username.clone(),
            token: self.token.clone(),
            credential,
        }
    }
}

/// `{"type":"key.get","challenge":...,"origin":...}`, the exact text a Key credential signs.
pub fn key_get_client_data(challenge: &str, origin: &str) -> String {
    json!({ "type": "key.get", "challenge": challenge, "origin": origin }).to_string()
}

/// `{"type":"key.create","challenge":...,"origin":...}`.
pub fn key_create_client_data(challenge: &str, origin: &str) -> String {
    json!({ "type": "key.create", "challenge": challenge, "origin": origin }).to_string()
}

/// `{ kind: "Key", credentialAssertion: { credId, clientData, signature } }`.
pub fn key_first_factor(cred_id: &str, client_data: &str, signature: &[u8]) -> Value {
    json!({
        "kind": "Key",
        "credentialAssertion": {
            "credId": cred_id,
            "clientData": b64u(client_data.as_bytes()),
            "signature": b64u(signature),
        }
    })
}

/// The challenge of a one-shot request, computed here from API.md's text (not with
/// `signer_common::userauth::request_challenge`; a test pins the two together):
/// base64url(SHA-256("signer-request-v1" LF METHOD LF PATH LF hex(SHA-256(body)) LF TIME LF ID)).
pub fn one_shot_challenge(method: &str, path: &str, body: &[u8], time_ms: u64, id: &str) -> String {
    let mut text = String::from("signer-request-v1\n");
    text.push_str(&method.to_ascii_uppercase());
    text.push('\n');
    text.push_str(path);
    text.push('\n');
    text.push_str(&hex::encode(Sha256::digest(body)));
    text.push('\n');
    text.push_str(&time_ms.to_string());
    text.push('\n');
    text.push_str(id);
    b64u(&Sha256::digest(text.as_bytes()))
}

/// The three headers of a one-shot request whose signature is `first_factor` (the JSON of
/// [`TestCredential::sign_challenge`] or of a passkey).
pub fn one_shot_headers_with(first_factor: &Value, time_ms: u64, id: &str) -> Vec<(String, String)> {
    vec![
        ("X-Request-Time".into(), time_ms.to_string()),
        ("X-Request-Id".into(), id.into()),
        ("X-Request-Signature".into(), b64u(first_factor.to_string().as_bytes())),
    ]
}

/// The three headers of a one-shot request signed by a Key credential.
pub fn one_shot_headers(
    credential: &TestCredential,
    method: &str,
    path: &str,
    body: &[u8],
    time_ms: u64,
    id: &str,
) -> Vec<(String, String)> {
    let challenge = one_shot_challenge(method, path, body, time_ms, id);
    one_shot_headers_with(&credential.sign_challenge(&challenge), time_ms, id)
}

/// The headers of a one-shot request by `credential` now, with a fresh id.
pub fn one_shot_now(
    credential: &TestCredential,
    method: &str,
    path: &str,
    body: &[u8],
) -> Vec<(String, String)> {
    one_shot_headers(credential, method, path, body, now_ms(), &request_id())
}

/// An answer: status and JSON body (`Null` when not JSON).
pub type Answer = (u16, Value);

/// Asserts an API.md error: this status, this code, a message.
pub fn assert_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"]["code"], code, "{}", answer.1);
    assert!(answer.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", answer.1);
}

/// Asserts a 400 in the API.md error shape (any code).
pub fn assert_bad_request(answer: &Answer) {
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert!(answer.1["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "{}", answer.1);
    assert!(answer.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", answer.1);
}

/// A user action's first two calls: `POST /auth/action/init` (asserted), then `first_factor`
/// signs its answer (`ChallengeAnswer` JSON), then `POST /auth/action`: that call's answer.
pub fn action_answer(
    stack: &Stack,
    bearer: &str,
    method: &str,
    path: &str,
    body: &str,
    first_factor: impl FnOnce(&Value) -> Value,
) -> Answer {
    let init = json!({
        "userActionPayload": body,
        "userActionHttpMethod": method,
        "userActionHttpPath": path,
    });
    let (status, challenge) =
        stack.send("POST", "/auth/action/init", init.to_string().as_bytes(), Some(bearer), &[]);
    assert_eq!(status, 200, "action init: {challenge}");
    let signed = json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": first_factor(&challenge),
    });
    stack.send("POST", "/auth/action", signed.to_string().as_bytes(), Some(bearer), &[])
}

/// [`action_answer`] that must succeed: the `userAction` token.
pub fn user_action_with(
    stack: &Stack,
    bearer: &str,
    method: &str,
    path: &str,
    body: &str,
    first_factor: impl FnOnce(&Value) -> Value,
) -> String {
    let (status, answer) = action_answer(stack, bearer, method, path, body, first_factor);
    assert_eq!(status, 200, "action: {answer}");
    answer["userAction"].as_str().expect("userAction").to_owned()
}

/// The three calls' first two with a Key credential: the `X-User-Action` token for the call.
pub fn user_action(
    stack: &Stack,
    bearer: &str,
    credential: &TestCredential,
    method: &str,
    path: &str,
    body: &str,
) -> String {
    user_action_with(stack, bearer, method, path, body, |challenge| {
        credential.sign_challenge(challenge["challenge"].as_str().expect("challenge"))
    })
}

/// A call with a user action made by `user` (all three calls): the call's answer.
pub fn call_with_user_action(stack: &Stack, user: &TestUser, method: &str, path: &str, body: &str) -> Answer {
    let token = user_action(stack, &user.token, &user.credential, method, path, body);
    stack.send(method, path, body.as_bytes(), Some(&user.token), &[("X-User-Action".into(), token)])
}

/// A one-shot call signed by `user`'s credential now.
pub fn call_one_shot(stack: &Stack, user: &TestUser, method: &str, path: &str, body: &str) -> Answer {
    let headers = one_shot_now(&user.credential, method, path, body.as_bytes());
    stack.send(method, path, body.as_bytes(), Some(&user.token), &headers)
}

/// The dev admin of `signer-parent dev`, from `dev-credentials.json`.
pub fn dev_user(stack: &Stack) -> TestUser {
    let creds = stack.credentials();
    let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("dev-credentials.json: {creds}")).to_owned();
    let credential = &creds["credential"];
    assert_eq!(credential["kind"], "Key", "{creds}");
    TestUser {
        org_id: text(&creds["orgId"]),
        user_id: text(&creds["userId"]),
        username: text(&creds["username"]),
        token: text(&creds["accessToken"]),
        credential: TestCredential {
            key: TestKey::from_pkcs8_pem(
                &text(&credential["algorithm"]),
                &text(&credential["privateKeyPem"]),
            ),
            cred_id: text(&credential["credId"]),
            origin: text(&creds["origin"]),
        },
    }
}

/// A registration code made by `admin`'s user action on `POST /auth/registration/codes`.
pub fn registration_code(
    stack: &Stack,
    admin: &TestUser,
    username: Option<&str>,
    role: Option<&str>,
) -> String {
    let mut body = json!({});
    if let Some(name) = username {
        body["username"] = json!(name);
    }
    if let Some(role) = role {
        body["role"] = json!(role);
    }
    let (status, answer) = call_one_shot(stack, admin, "POST", "/auth/registration/codes", &body.to_string());
    assert!(status == 200 || status == 201, "registration code: {status} {answer}");
    answer["registrationCode"].as_str().expect("registrationCode").to_owned()
}

/// `POST /auth/registration/init`: the creation options (panics unless 200).
pub fn registration_init(stack: &Stack, org_id: &str, username: &str, code: &str) -> Value {
    let body = json!({ "username": username, "orgId": org_id, "registrationCode": code });
    let (status, options) =
        stack.send("POST", "/auth/registration/init", body.to_string().as_bytes(), None, &[]);
    assert_eq!(status, 200, "registration init: {options}");
    options
}

/// The `credentialInfo` of a new Key credential signing `challenge`.
pub fn key_credential_info(credential: &TestCredential, challenge: &str) -> Value {
    let client_data = key_create_client_data(challenge, &credential.origin);
    let attestation = json!({
        "publicKey": credential.key.public_key_pem(),
        "signature": b64u(&credential.key.sign(client_data.as_bytes())),
    });
    json!({
        "credId": credential.cred_id,
        "clientData": b64u(client_data.as_bytes()),
        "attestationData": b64u(attestation.to_string().as_bytes()),
    })
}

/// `POST /auth/registration` with the temporary token as bearer.
pub fn register(stack: &Stack, temporary_token: &str, kind: &str, credential_info: &Value) -> Answer {
    let body =
        json!({ "firstFactorCredential": { "credentialKind": kind, "credentialInfo": credential_info } });
    stack.send("POST", "/auth/registration", body.to_string().as_bytes(), Some(temporary_token), &[])
}

/// Logs in: `POST /auth/login/init`, `first_factor` signs the challenge answer, `POST
/// /auth/login`. Answers the login call's answer.
pub fn login_with(
    stack: &Stack,
    org_id: &str,
    username: &str,
    first_factor: impl FnOnce(&Value) -> Value,
) -> Answer {
    let body = json!({ "username": username, "orgId": org_id });
    let (status, challenge) = stack.send("POST", "/auth/login/init", body.to_string().as_bytes(), None, &[]);
    assert_eq!(status, 200, "login init: {challenge}");
    let signed = json!({ "challengeIdentifier": challenge["challengeIdentifier"], "firstFactor": first_factor(&challenge) });
    stack.send("POST", "/auth/login", signed.to_string().as_bytes(), None, &[])
}

/// Logs in with a Key credential: the token.
pub fn login(stack: &Stack, org_id: &str, username: &str, credential: &TestCredential) -> String {
    let (status, answer) = login_with(stack, org_id, username, |challenge| {
        credential.sign_challenge(challenge["challenge"].as_str().expect("challenge"))
    });
    assert_eq!(status, 200, "login: {answer}");
    answer["token"].as_str().expect("token").to_owned()
}

/// Registers `username` in `org_id` with a new Key credential of `algorithm` through `code`,
/// then logs in.
pub fn register_key_user(
    stack: &Stack,
    org_id: &str,
    username: &str,
    code: &str,
    algorithm: &str,
) -> TestUser {
    let options = registration_init(stack, org_id, username, code);
    let origin = options["origin"]
        .as_str()
        .map_or_else(|| stack.credentials()["origin"].as_str().unwrap().to_owned(), str::to_owned);
    let credential = TestCredential::generate(algorithm, &origin);
    let challenge = options["challenge"].as_str().expect("challenge");
    let temporary = options["temporaryAuthenticationToken"].as_str().expect("temporaryAuthenticationToken");
    let (status, registered) =
        register(stack, temporary, "Key", &key_credential_info(&credential, challenge));
    assert!(status == 200 || status == 201, "registration: {status} {registered}");
    assert_eq!(registered["user"]["username"], username, "{registered}");
    assert_eq!(registered["user"]["orgId"], org_id, "{registered}");
    assert_eq!(registered["credential"]["credId"], credential.cred_id.as_str(), "{registered}");
    assert_eq!(registered["credential"]["kind"], "Key", "{registered}");
    let token = login(stack, org_id, username, &credential);
    TestUser {
        org_id: org_id.into(),
        user_id: registered["user"]["id"].as_str().expect("user id").to_owned(),
        username: username.into(),
        token,
        credential,
    }
}

/// A new member of the dev org with a Key credential of `algorithm` (code from the dev admin).
pub fn new_member(stack: &Stack, username: &str, algorithm: &str) -> TestUser {
    let admin = dev_user(stack);
    let code = registration_code(stack, &admin, Some(username), None);
    register_key_user(stack, &admin.org_id, username, &code, algorithm)
}

/// `POST /auth/credentials/init` for `kind`: the creation options with `challengeIdentifier`.
pub fn credential_init(stack: &Stack, bearer: &str, kind: &str) -> Value {
    let body = json!({ "kind": kind }).to_string();
    let (status, options) = stack.send("POST", "/auth/credentials/init", body.as_bytes(), Some(bearer), &[]);
    assert_eq!(status, 200, "credentials init: {options}");
    options
}

/// The body of `POST /auth/credentials` adding a new Key credential (init made here).
pub fn add_key_credential_body(stack: &Stack, bearer: &str, new: &TestCredential) -> String {
    let options = credential_init(stack, bearer, "Key");
    let challenge = options["challenge"].as_str().expect("challenge");
    json!({
        "challengeIdentifier": options["challengeIdentifier"],
        "credentialName": format!("{} key", new.key.algorithm()),
        "credentialKind": "Key",
        "credentialInfo": key_credential_info(new, challenge),
    })
    .to_string()
}

/// Adds a new Key credential of `algorithm` to `user`, authorised by a user action of the
/// user's current credential; answers it.
pub fn add_key_credential(stack: &Stack, user: &TestUser, algorithm: &str) -> TestCredential {
    let new = TestCredential::generate(algorithm, &user.credential.origin);
    let body = add_key_credential_body(stack, &user.token, &new);
    let (status, answer) = call_with_user_action(stack, user, "POST", "/auth/credentials", &body);
    assert!(status == 200 || status == 201, "add credential: {status} {answer}");
    assert_eq!(answer["credential"]["credId"], new.cred_id.as_str(), "{answer}");
    assert_eq!(answer["credential"]["status"], "Active", "{answer}");
    new
}

/// `PUT /auth/credentials/{activate|deactivate}` of `cred_id`, one-shot by `user`.
pub fn set_credential_status(stack: &Stack, user: &TestUser, cred_id: &str, activate: bool) -> Answer {
    let path = if activate { "/auth/credentials/activate" } else { "/auth/credentials/deactivate" };
    call_one_shot(stack, user, "PUT", path, &json!({ "credId": cred_id }).to_string())
}

/// `POST /wallets` one-shot by `user`: the wallet (panics unless it succeeds).
pub fn create_wallet(stack: &Stack, user: &TestUser, curve: &str) -> Value {
    let (status, wallet) =
        call_one_shot(stack, user, "POST", "/wallets", &json!({ "curve": curve }).to_string());
    assert!(status == 200 || status == 201, "create wallet: {status} {wallet}");
    wallet
}

/// The body of a hash signature request.
pub fn hash_body(hash: &[u8; 32]) -> String {
    json!({ "kind": "Hash", "hash": format!("0x{}", hex::encode(hash)) }).to_string()
}

/// `GET /wallets` as `bearer`: how many wallets the list shows.
pub fn wallet_count(stack: &Stack, bearer: &str) -> usize {
    let (status, body) = stack.get("/wallets?limit=100", Some(bearer)).unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["items"].as_array().unwrap().len()
}

/// `GET /auth/credentials` as `user`: the list's items.
pub fn credentials_of(stack: &Stack, user: &TestUser) -> Vec<Value> {
    let (status, body) = stack.get("/auth/credentials", Some(&user.token)).unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["items"].as_array().unwrap().clone()
}
