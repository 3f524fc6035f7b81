//! User signatures from the SDK against the stub parent, which checks them as the enclave does:
//! one-shot request signatures, the three-call user action, registration, login and
//! credentials.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::sync::Arc;

use signer_client::{
    AuthFlow, Client, ClientError, Credentials, Curve, KeyAlgorithm, KeySigner, UserActionSigner,
    one_shot_headers,
};
use signer_common::api::auth::RequestSignature;
use signer_common::encoding::from_b64;
use signer_common::userauth::request_challenge;
use support::auth::{ADMIN_CRED_ID, ORG_ID, ORIGIN, PRESET_CODE};
use support::{StubParent, StubRequest, Tamper};

fn admin(stub: &StubParent) -> (Client, Credentials) {
    let dir = tempfile::tempdir().unwrap();
    let credentials = Credentials::from_file(stub.credentials_file(dir.path())).unwrap();
    (Client::from_credentials(&credentials).unwrap(), credentials)
}

/// The challenge in a recorded one-shot request's client data.
fn signed_challenge(request: &StubRequest) -> String {
    let header = request.header("x-request-signature").unwrap();
    let signature: RequestSignature = serde_json::from_slice(&from_b64(header).unwrap()).unwrap();
    assert_eq!(signature.kind, "Key");
    assert_eq!(signature.credential_assertion.cred_id, ADMIN_CRED_ID);
    let data = from_b64(&signature.credential_assertion.client_data).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(json["type"], "key.get");
    assert_eq!(json["origin"], ORIGIN);
    json["challenge"].as_str().unwrap().to_owned()
}

/// Sends `request` again as it was, but with `body`, through a plain agent.
fn resend(stub: &StubParent, request: &StubRequest, body: &[u8]) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut builder = agent.post(format!("{}{}", stub.url, request.path));
    for (name, value) in &request.headers {
        if !["content-length", "host", "connection"].contains(&name.as_str()) {
            builder = builder.header(name, value);
        }
    }
    builder.send(body).unwrap().status().as_u16()
}

#[test]
fn one_shot_signatures_by_default_over_the_exact_bytes_sent() {
    let stub = StubParent::start(Tamper::None);
    let (client, _) = admin(&stub);
    assert_eq!(client.auth_flow(), AuthFlow::OneShot);
    let wallet = client.create_wallet(Curve::Ed25519, Some("w"), None).unwrap().wallet;
    client.sign_message(&wallet.id, b"hello", None).unwrap();
    let requests = stub.requests();
    assert_eq!(requests.len(), 2, "one round trip each");
    for request in &requests {
        assert_eq!(request.header("authorization"), Some("Bearer test-token"), "the bearer token stays");
        assert!(request.header("x-user-action").is_none());
        // Recomputed here from what arrived: the challenge signed is over these exact bytes.
        let time: u64 = request.header("x-request-time").unwrap().parse().unwrap();
        let id = request.header("x-request-id").unwrap();
        assert!(id.len() >= 22, "{id}");
        let expected = request_challenge(&request.method, &request.path, &request.body, time, id);
        assert_eq!(signed_challenge(request), expected);
    }
    assert_ne!(requests[0].header("x-request-id"), requests[1].header("x-request-id"));
    let forms: Vec<_> = stub.signed_forms().into_iter().map(|(_, form)| form).collect();
    assert_eq!(forms, ["one-shot", "one-shot"], "and the stub verified the signatures");
}

#[test]
fn a_one_shot_signature_covers_the_body_and_is_single_use() {
    let stub = StubParent::start(Tamper::None);
    let (client, _) = admin(&stub);
    client.create_wallet(Curve::Ed25519, None, None).unwrap();
    let sent = stub.requests().pop().unwrap();
    // The same headers over another body: refused.
    assert_eq!(resend(&stub, &sent, br#"{"curve":"secp256k1"}"#), 403);
    // The same request again (a replay): refused.
    assert_eq!(resend(&stub, &sent, &sent.body), 403);
    assert_eq!(stub.signed_forms().len(), 1);
}

#[test]
fn the_user_action_flow_makes_three_calls_bound_to_the_call() {
    let stub = StubParent::start(Tamper::None);
    let (client, _) = admin(&stub);
    let client = client.with_auth_flow(AuthFlow::UserAction);
    let wallet = client.create_wallet(Curve::Secp256k1, Some("ua"), None).unwrap().wallet;
    let requests = stub.requests();
    let paths: Vec<_> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/auth/action/init", "/auth/action", "/wallets"]);
    let init: serde_json::Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(init["userActionHttpMethod"], "POST");
    assert_eq!(init["userActionHttpPath"], "/wallets");
    // The exact body string of the call that follows.
    assert_eq!(init["userActionPayload"].as_str().unwrap().as_bytes(), requests[2].body.as_slice());
    let token = requests[2].header("x-user-action").unwrap();
    assert!(requests[2].header("x-request-signature").is_none());
    assert_eq!(stub.signed_forms(), [("/wallets".to_owned(), "user-action")]);
    // The token was single use and for this call only.
    assert_eq!(resend(&stub, &requests[2], &requests[2].body), 403);
    assert!(!token.is_empty());
    client.sign_hash(&wallet.id, [1; 32], None).unwrap();
    assert_eq!(stub.signed_forms().len(), 2);
}

#[test]
fn a_key_other_than_the_credentials_is_refused() {
    let stub = StubParent::start(Tamper::None);
    let (_, credentials) = admin(&stub);
    // The admin's credential id, another key: the stub (as the enclave) refuses with 403.
    let other = KeySigner::generate(KeyAlgorithm::EdDsa, ORIGIN).unwrap();
    let mut forged = credentials.clone();
    forged.credential.private_key_pem = other.local_credential().unwrap().private_key_pem;
    let client = Client::from_credentials(&forged).unwrap();
    match client.create_wallet(Curve::Ed25519, None, None) {
        Err(ClientError::Api { status: 403, code, .. }) => assert_eq!(code, "forbidden"),
        other => panic!("{other:?}"),
    }
    // Without a signer nothing is signed (the new parent refuses that; the stub lets it pass).
    let bare = Client::new(&stub.url, "test-token");
    bare.create_wallet(Curve::Ed25519, None, None).unwrap();
    assert_eq!(stub.signed_forms(), [("/wallets".to_owned(), "none")]);
}

#[test]
fn signing_steps_work_with_a_signer_held_elsewhere() {
    /// A signer the SDK knows only through the trait (an HSM, say), counting its uses.
    #[derive(Debug)]
    struct Remote(KeySigner, std::sync::atomic::AtomicUsize);
    impl UserActionSigner for Remote {
        fn sign_challenge(&self, challenge: &str) -> Result<RequestSignature, ClientError> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.0.sign_challenge(challenge)
        }
    }
    let stub = StubParent::start(Tamper::None);
    let (_, credentials) = admin(&stub);
    let remote = Arc::new(Remote(KeySigner::from_credentials(&credentials).unwrap(), Default::default()));
    let client = Client::new(&stub.url, "test-token").with_signer(Some(remote.clone()));
    client.create_wallet(Curve::Ed25519, None, None).unwrap();
    let token = client.user_action(remote.as_ref(), "POST", "/wallets", br#"{"curve":"ed25519"}"#).unwrap();
    assert!(token.starts_with("ua-"));
    let headers =
        one_shot_headers(remote.as_ref(), "POST", "/wallets", b"{}", 5, "abcdefghijklmnopqrstuv").unwrap();
    assert_eq!(headers.request_id, "abcdefghijklmnopqrstuv");
    assert_eq!(remote.1.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[test]
fn register_login_and_manage_credentials_with_each_algorithm() {
    let stub = StubParent::start(Tamper::None);
    let (admin, _) = admin(&stub);
    for (n, algorithm) in
        [KeyAlgorithm::Es256, KeyAlgorithm::Es256k, KeyAlgorithm::EdDsa].into_iter().enumerate()
    {
        let username = format!("user{n}");
        let code = admin.create_registration_code(Some(&username), Some("Member")).unwrap();
        assert_eq!((code.org_id.as_str(), code.role.as_str()), (ORG_ID, "Member"));
        let anonymous = Client::new(&stub.url, "");
        let registered = anonymous.register(ORG_ID, &username, &code.registration_code, algorithm).unwrap();
        assert_eq!(registered.credential.algorithm.as_deref(), Some(algorithm.as_str()));
        let credentials = &registered.credentials;
        assert_eq!((credentials.username.as_str(), credentials.origin.as_str()), (username.as_str(), ORIGIN));
        assert!(credentials.access_token.expose().starts_with("test-token-"), "logged in with the new key");
        // The code was single use.
        assert!(anonymous.register(ORG_ID, &username, &code.registration_code, algorithm).is_err());

        // The new user signs with the new key; a member may not make registration codes.
        let user = Client::from_credentials(credentials).unwrap();
        user.create_wallet(Curve::Ed25519, None, None).unwrap();
        assert!(matches!(
            user.create_registration_code(None, None),
            Err(ClientError::Api { status: 403, .. })
        ));

        // A second credential, signed by the first; then the first deactivated and refused.
        let (added, key) = user.add_key_credential(KeyAlgorithm::Es256, "second", ORIGIN).unwrap();
        assert_eq!((added.status.as_str(), added.name.as_str()), ("Active", "second"));
        let ids: Vec<_> = user.list_credentials().unwrap().into_iter().map(|c| c.cred_id).collect();
        assert_eq!(ids.len(), 2);
        let first = &credentials.credential.cred_id;
        let second =
            Client::new(&stub.url, credentials.access_token.expose()).with_signer(Some(Arc::new(key)));
        assert_eq!(second.set_credential_active(first, false).unwrap().status, "Inactive");
        assert!(matches!(
            user.create_wallet(Curve::Ed25519, None, None),
            Err(ClientError::Api { status: 403, .. })
        ));
        assert_eq!(second.set_credential_active(first, true).unwrap().status, "Active");
        user.create_wallet(Curve::Ed25519, None, None).unwrap();

        // Login again with the first key.
        let signer = KeySigner::from_credentials(credentials).unwrap();
        let token = anonymous.login(ORG_ID, &username, &signer).unwrap();
        assert_ne!(token, credentials.access_token.expose());
    }
    // The preset code registers too.
    Client::new(&stub.url, "").register(ORG_ID, "preset", PRESET_CODE, KeyAlgorithm::EdDsa).unwrap();
}
