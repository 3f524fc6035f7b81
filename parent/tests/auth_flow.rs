//! The auth endpoints and the user's authorisation of state-changing calls, against the fake
//! enclave (which checks Ed25519 Key signatures as the agreed protocol says). Each check the
//! parent makes is shown as the attack it stops, with nothing stored and, where the parent can
//! tell, no enclave call.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use serde_json::{Value, json};
use signer_common::encoding::to_b64url;
use support::harness::Harness;
use support::{KeyClient, Reply, http};

/// A user of the harness's org other than the admin: their bearer and Key client.
struct User {
    bearer: String,
    client: KeyClient,
    id: String,
}

/// `credentialInfo` of a new Key credential over `challenge` (client side of registration).
fn key_registration(key: &SigningKey, cred_id: &str, challenge: &str, origin: &str) -> Value {
    use ed25519_dalek::Signer as _;
    let client_data =
        serde_json::to_vec(&json!({ "type": "key.create", "challenge": challenge, "origin": origin }))
            .unwrap();
    let public_key =
        key.verifying_key().to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF).unwrap();
    let attestation =
        json!({ "publicKey": public_key, "signature": to_b64url(&key.sign(&client_data).to_bytes()) });
    json!({
        "credId": cred_id,
        "clientData": to_b64url(&client_data),
        "attestationData": to_b64url(&serde_json::to_vec(&attestation).unwrap()),
    })
}

async fn post(h: &Harness, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    http(h.addr, "POST", path, headers, Some(&serde_json::to_vec(body).unwrap())).await
}

/// An admin's registration code, a registration with it, and a login: the new member's bearer.
async fn register_member(h: &Harness, username: &str, seed: u8) -> User {
    let reply = h.post("/auth/registration/codes", &json!({ "username": username })).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let code = reply.json();
    assert_eq!(
        (code["role"].as_str(), code["orgId"].as_str()),
        (Some("Member"), Some(h.dev.org_id.as_str()))
    );
    assert!(code["expiresAt"].as_str().unwrap().ends_with('Z'));

    let init =
        json!({ "username": username, "orgId": h.dev.org_id, "registrationCode": code["registrationCode"] });
    let reply = post(h, "/auth/registration/init", &[], &init).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let options = reply.json();
    assert_eq!(options["rp"], json!({ "id": "localhost", "name": "dev" }));
    assert_eq!(options["user"]["name"], username);
    assert_eq!(options["attestation"], "none");
    assert_eq!(options["origin"], h.dev.origin.as_str());
    let algs: Vec<i64> =
        options["pubKeyCredParams"].as_array().unwrap().iter().map(|p| p["alg"].as_i64().unwrap()).collect();
    assert_eq!(algs, [-7, -8, -257, -47]);

    let key = SigningKey::from_bytes(&[seed; 32]);
    let cred_id = to_b64url(&[seed; 16]);
    let info = key_registration(&key, &cred_id, options["challenge"].as_str().unwrap(), &h.dev.origin);
    let temporary = format!("Bearer {}", options["temporaryAuthenticationToken"].as_str().unwrap());
    let body = json!({ "firstFactorCredential": { "credentialKind": "Key", "credentialInfo": info } });
    let reply = post(h, "/auth/registration", &[("authorization", &temporary)], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let registered = reply.json();
    assert_eq!(registered["user"]["username"], username);
    assert_eq!(registered["credential"]["credId"], cred_id.as_str());
    assert_eq!(registered["credential"]["algorithm"], "EdDSA");
    let id = registered["user"]["id"].as_str().unwrap().to_owned();

    let client = KeyClient { key, cred_id, origin: h.dev.origin.clone() };
    let bearer = login(h, username, &client).await;
    User { bearer, client, id }
}

async fn login(h: &Harness, username: &str, client: &KeyClient) -> String {
    let reply =
        post(h, "/auth/login/init", &[], &json!({ "username": username, "orgId": h.dev.org_id })).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let challenge = reply.json();
    assert_eq!(challenge["allowCredentials"]["key"][0]["id"], client.cred_id.as_str());
    let body = json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": client.assertion(challenge["challenge"].as_str().unwrap()),
    });
    let reply = post(h, "/auth/login", &[], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    format!("Bearer {}", reply.json()["token"].as_str().unwrap())
}

/// A user action of `user` for the call.
async fn user_action(h: &Harness, user: &User, method: &str, path: &str, body: &[u8]) -> String {
    let init = json!({
        "userActionPayload": std::str::from_utf8(body).unwrap(),
        "userActionHttpMethod": method,
        "userActionHttpPath": path,
    });
    let reply = post(h, "/auth/action/init", &[("authorization", &user.bearer)], &init).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let challenge = reply.json();
    let signed = json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": user.client.assertion(challenge["challenge"].as_str().unwrap()),
    });
    let reply = post(h, "/auth/action", &[("authorization", &user.bearer)], &signed).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["userAction"].as_str().unwrap().to_owned()
}

fn one_shot_headers<'a>(bearer: &'a str, signed: &'a [(String, String); 3]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("authorization", bearer)];
    headers.extend(signed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    headers
}

async fn list(h: &Harness) -> Value {
    http(h.addr, "GET", "/auth/credentials", &[("authorization", &h.auth())], None).await.json()
}

async fn wallet_count(h: &Harness) -> usize {
    h.get("/wallets").await.json()["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_member_registers_logs_in_creates_with_a_user_action_and_signs_one_shot() {
    let h = Harness::start().await;
    let ann = register_member(&h, "ann", 3).await;

    // A user action creates a wallet; the call reached the enclave exactly as sent.
    let body = br#"{ "curve": "ed25519", "name": "ann's" }"#;
    let action = user_action(&h, &ann, "POST", "/wallets?tag=x", body).await;
    let headers = [("authorization", ann.bearer.as_str()), ("x-user-action", action.as_str())];
    let reply = http(h.addr, "POST", "/wallets?tag=x", &headers, Some(body)).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let wallet = reply.json();
    let call = h.fake.last_call.lock().unwrap().clone().unwrap();
    assert_eq!(
        (call.method.as_str(), call.path.as_str(), call.body.as_slice()),
        ("POST", "/wallets?tag=x", &body[..])
    );
    assert!(call.credentials.is_empty() && call.wallet.is_none());
    // The same user action again: refused by the enclave (single use), nothing stored.
    let before = wallet_count(&h).await;
    let reply = http(h.addr, "POST", "/wallets?tag=x", &headers, Some(body)).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    assert_eq!(wallet_count(&h).await, before);

    // One-shot signature of a hash.
    let path = format!("/wallets/{}/signatures", wallet["id"].as_str().unwrap());
    let body = json!({ "kind": "Hash", "hash": format!("0x{}", "ab".repeat(32)) }).to_string();
    let signed = ann.client.one_shot("POST", &path, body.as_bytes(), "ann-request-0000001");
    let reply =
        http(h.addr, "POST", &path, &one_shot_headers(&ann.bearer, &signed), Some(body.as_bytes())).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["status"], "Signed");
    let call = h.fake.last_call.lock().unwrap().clone().unwrap();
    assert!(call.credential.is_some() && call.wallet.is_some());
    // Replayed: refused by the enclave.
    let reply =
        http(h.addr, "POST", &path, &one_shot_headers(&ann.bearer, &signed), Some(body.as_bytes())).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));

    // The admin cannot sign with ann's wallet (the enclave checks ownership), and a member
    // cannot issue registration codes.
    let reply = h.call("POST", &path, body.as_bytes(), &[]).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    let action = user_action(&h, &ann, "POST", "/auth/registration/codes", b"{}").await;
    let headers = [("authorization", ann.bearer.as_str()), ("x-user-action", action.as_str())];
    let reply = http(h.addr, "POST", "/auth/registration/codes", &headers, Some(b"{}")).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    assert!(ann.id.starts_with("us-"), "{}", ann.id);
}

#[tokio::test]
async fn a_bearer_alone_or_a_bad_signature_header_changes_nothing_and_asks_the_enclave_nothing() {
    let h = Harness::start().await;
    let wallet = h.create("ed25519").await;
    let sign_path = format!("/wallets/{}/signatures", wallet["id"].as_str().unwrap());
    let sign_body = json!({ "kind": "Hash", "hash": format!("0x{}", "ab".repeat(32)) }).to_string();
    let before = (wallet_count(&h).await, h.enclave_calls("Call"));
    let auth = h.auth();

    // The bearer alone: 403 user_action_required on every state-changing call.
    for (method, path, body) in [
        ("POST", "/wallets", br#"{"curve":"ed25519"}"#.to_vec()),
        ("POST", sign_path.as_str(), sign_body.clone().into_bytes()),
        ("POST", "/auth/registration/codes", b"{}".to_vec()),
        (
            "PUT",
            "/auth/credentials/deactivate",
            format!(r#"{{"credId":"{}"}}"#, h.client.cred_id).into_bytes(),
        ),
    ] {
        let reply = http(h.addr, method, path, &[("authorization", &auth)], Some(&body)).await;
        assert_eq!(
            (reply.status, reply.error_code().as_str()),
            (403, "user_action_required"),
            "{method} {path}"
        );
    }

    // Malformed one-shot headers: 400 with the error shape.
    let good = h.client.one_shot("POST", "/wallets", br#"{"curve":"ed25519"}"#, "abcdefghijklmnop");
    let mut cases: Vec<Vec<(String, String)>> = Vec::new();
    for bad in ["1.5e3", "nope", "", "-1"] {
        let mut c = good.to_vec();
        c[0].1 = bad.into();
        cases.push(c);
    }
    for bad in ["short", "has space in it 123", &"a".repeat(65), "abcdefghijklmnop!"] {
        let mut c = good.to_vec();
        c[1].1 = bad.into();
        cases.push(c);
    }
    for bad in [
        "***",
        &to_b64url(b"not json"),
        &to_b64url(br#"{"kind":"Key"}"#),
        &to_b64url(
            br#"{"kind":"Pwd","credentialAssertion":{"credId":"AA","clientData":"AA","signature":"AA"}}"#,
        ),
    ] {
        let mut c = good.to_vec();
        c[2].1 = bad.into();
        cases.push(c);
    }
    cases.push(good[..2].to_vec()); // a part missing
    let mut both = good.to_vec();
    both.push(("x-user-action".into(), "token".into()));
    cases.push(both);
    for case in cases {
        let mut headers = vec![("authorization", auth.as_str())];
        headers.extend(case.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let reply = http(h.addr, "POST", "/wallets", &headers, Some(br#"{"curve":"ed25519"}"#)).await;
        assert_eq!(reply.status, 400, "{case:?}: {}", reply.text());
        reply.error_code();
    }

    // A one-shot signed by an unknown credential, or by another user's: 403 before the enclave.
    let stranger = KeyClient {
        key: SigningKey::from_bytes(&[9; 32]),
        cred_id: to_b64url(b"unknown"),
        origin: h.dev.origin.clone(),
    };
    let signed = stranger.one_shot("POST", "/wallets", br#"{"curve":"ed25519"}"#, "abcdefghijklmnop");
    let reply =
        http(h.addr, "POST", "/wallets", &one_shot_headers(&auth, &signed), Some(br#"{"curve":"ed25519"}"#))
            .await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    assert_eq!((wallet_count(&h).await, h.enclave_calls("Call")), before);

    let ann = register_member(&h, "ann", 4).await;
    let before = (wallet_count(&h).await, h.enclave_calls("Call"));
    // Ann signs the admin's user-action challenge with her own credential: refused by the parent.
    let init =
        json!({ "userActionPayload": "", "userActionHttpMethod": "POST", "userActionHttpPath": "/wallets" });
    let challenge = h.post_bare("/auth/action/init", &init).await.json();
    let body = json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": ann.client.assertion(challenge["challenge"].as_str().unwrap()),
    });
    let actions = h.enclave_calls("UserAction");
    let reply = post(&h, "/auth/action", &[("authorization", &ann.bearer)], &body).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    assert_eq!(h.enclave_calls("UserAction"), actions, "refused before the enclave");
    // Ann's bearer with the admin's signature, and the admin's user action with ann's bearer.
    let signed = h.client.one_shot("POST", "/wallets", br#"{"curve":"ed25519"}"#, "abcdefghijklmnoq");
    let reply = http(
        h.addr,
        "POST",
        "/wallets",
        &one_shot_headers(&ann.bearer, &signed),
        Some(br#"{"curve":"ed25519"}"#),
    )
    .await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    let action = h.user_action("POST", "/wallets", br#"{"curve":"ed25519"}"#).await;
    let headers = [("authorization", ann.bearer.as_str()), ("x-user-action", action.as_str())];
    let reply = http(h.addr, "POST", "/wallets", &headers, Some(br#"{"curve":"ed25519"}"#)).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    // A user action for another body: refused by the enclave, nothing stored.
    let action = h.user_action("POST", "/wallets", br#"{"curve":"ed25519"}"#).await;
    let headers = [("authorization", auth.as_str()), ("x-user-action", action.as_str())];
    let reply = http(h.addr, "POST", "/wallets", &headers, Some(br#"{"curve":"secp256k1"}"#)).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    assert_eq!(wallet_count(&h).await, before.0);
    assert_eq!(h.enclave_calls("Call"), before.1 + 1, "only the last reached the enclave");
}

#[tokio::test]
async fn registration_and_login_refuse_bad_input_and_store_nothing() {
    let h = Harness::start().await;
    let org = h.dev.org_id.as_str();
    let calls = |h: &Harness| h.enclave_calls("RegistrationInit") + h.enclave_calls("Register");

    // A taken name: 409 before the enclave is asked.
    let body = json!({ "username": h.dev.username, "orgId": org, "registrationCode": "x" });
    let reply = post(&h, "/auth/registration/init", &[], &body).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (409, "conflict"));
    for (body, status, code) in [
        (json!({ "username": "", "orgId": org, "registrationCode": "x" }), 400, "invalid_parameter"),
        (json!({ "username": "bob", "orgId": org }), 400, "invalid_json"),
        (
            json!({ "username": "bob", "orgId": org, "registrationCode": "x", "role": "Admin" }),
            400,
            "invalid_json",
        ),
        (json!({ "username": "bob", "orgId": "or-none", "registrationCode": "x" }), 404, "not_found"),
    ] {
        let reply = post(&h, "/auth/registration/init", &[], &body).await;
        assert_eq!((reply.status, reply.error_code().as_str()), (status, code), "{body}");
    }
    assert_eq!(calls(&h), 0);
    // A bad code: the enclave refuses.
    let body = json!({ "username": "bob", "orgId": org, "registrationCode": "bm90IGEgdG9rZW4gYXQgYWxsIG5vIG5vIG5vIG5vIG5vIG5v" });
    let reply = post(&h, "/auth/registration/init", &[], &body).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));

    // Registration: no temporary token is 401; bad credential data is 400; neither reaches
    // the enclave.
    let info = json!({ "credId": "AAAA", "clientData": "AAAA", "attestationData": "AAAA" });
    let body = json!({ "firstFactorCredential": { "credentialKind": "Key", "credentialInfo": info } });
    let reply = post(&h, "/auth/registration", &[], &body).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (401, "unauthorized"));
    let temp = [("authorization", "Bearer AAAA")];
    for body in [
        json!({ "firstFactorCredential": { "credentialKind": "Password", "credentialInfo": info } }),
        json!({ "firstFactorCredential": { "credentialKind": "Key", "credentialInfo": { "credId": "***", "clientData": "AA", "attestationData": "AA" } } }),
        json!({ "firstFactorCredential": { "credentialKind": "Key" } }),
    ] {
        let reply = post(&h, "/auth/registration", &temp, &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
    }
    assert_eq!(h.enclave_calls("Register"), 0);

    // Login: an unknown user is 404, a malformed challenge identifier 400, an unknown
    // credential 403; no login reaches the enclave.
    let reply = post(&h, "/auth/login/init", &[], &json!({ "username": "nobody", "orgId": org })).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (404, "not_found"));
    let reply = post(&h, "/auth/login/init", &[], &json!({ "username": h.dev.username, "orgId": org })).await;
    let challenge = reply.json();
    let body = json!({ "challengeIdentifier": "%%%", "firstFactor": h.client.assertion("x") });
    let reply = post(&h, "/auth/login", &[], &body).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (400, "invalid_parameter"));
    let stranger = KeyClient {
        key: SigningKey::from_bytes(&[9; 32]),
        cred_id: to_b64url(b"unknown"),
        origin: h.dev.origin.clone(),
    };
    let body = json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": stranger.assertion(challenge["challenge"].as_str().unwrap()),
    });
    let reply = post(&h, "/auth/login", &[], &body).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    assert_eq!(h.enclave_calls("Login"), 0);
    // The admin's own signature over another challenge: refused by the enclave, no token.
    let body = json!({ "challengeIdentifier": challenge["challengeIdentifier"], "firstFactor": h.client.assertion("other") });
    let reply = post(&h, "/auth/login", &[], &body).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    assert!(reply.json().get("token").is_none());
    // The real thing works.
    login(&h, &h.dev.username, &h.client).await;
}

#[tokio::test]
async fn credentials_are_added_listed_deactivated_but_never_the_last() {
    let h = Harness::start().await;
    let items = list(&h).await;
    assert_eq!(items["items"].as_array().unwrap().len(), 1);
    assert_eq!(items["items"][0]["status"], "Active");

    // Deactivating the only active credential: the enclave answers 409, nothing changes.
    let body = format!(r#"{{"credId":"{}"}}"#, h.client.cred_id);
    let reply = h.call("PUT", "/auth/credentials/deactivate", body.as_bytes(), &[]).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (409, "conflict"));
    assert_eq!(list(&h).await, items);

    // A second credential through init and a user action.
    let reply = h.post_bare("/auth/credentials/init", &json!({ "kind": "Key" })).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let options = reply.json();
    assert_eq!(options["excludeCredentials"][0]["id"], h.client.cred_id.as_str());
    let key = SigningKey::from_bytes(&[5; 32]);
    let cred_id = to_b64url(&[5; 16]);
    let info = key_registration(&key, &cred_id, options["challenge"].as_str().unwrap(), &h.dev.origin);
    let body = json!({
        "challengeIdentifier": options["challengeIdentifier"],
        "credentialName": "laptop",
        "credentialKind": "Key",
        "credentialInfo": info,
    });
    let reply = h.post("/auth/credentials", &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["credential"]["name"], "laptop");
    let call = h.fake.last_call.lock().unwrap().clone().unwrap();
    assert_eq!(call.credentials.len(), 1, "the user's credentials went with the call");
    assert_eq!(list(&h).await["items"].as_array().unwrap().len(), 2);

    // Now the first can be deactivated, and it no longer signs (enclave) nor is offered.
    let body = format!(r#"{{"credId":"{}"}}"#, h.client.cred_id);
    let reply = h.call("PUT", "/auth/credentials/deactivate", body.as_bytes(), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["credential"]["status"], "Inactive");
    let statuses: Vec<Value> =
        list(&h).await["items"].as_array().unwrap().iter().map(|c| c["status"].clone()).collect();
    assert_eq!(statuses, [json!("Inactive"), json!("Active")]);
    let init =
        json!({ "userActionPayload": "", "userActionHttpMethod": "POST", "userActionHttpPath": "/wallets" });
    let reply = h.post_bare("/auth/action/init", &init).await;
    assert_eq!(reply.json()["allowCredentials"]["key"][0]["id"], cred_id.as_str());

    // Bad inputs: 400 and nothing stored.
    for body in [json!({ "kind": "Password" }), json!({})] {
        let reply = h.post_bare("/auth/credentials/init", &body).await;
        assert_eq!(reply.status, 400, "{body}");
    }
    let before = list(&h).await;
    let auth = h.auth();
    for body in [
        json!({ "challengeIdentifier": "x", "credentialName": "n", "credentialKind": "Key", "credentialInfo": { "credId": "***", "clientData": "", "attestationData": "" } }),
        json!({ "credentialName": "n" }),
    ] {
        let bytes = serde_json::to_vec(&body).unwrap();
        let reply = http(
            h.addr,
            "POST",
            "/auth/credentials",
            &[("authorization", &auth), ("x-user-action", "t")],
            Some(&bytes),
        )
        .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
    }
    let reply = http(
        h.addr,
        "PUT",
        "/auth/credentials/activate",
        &[("authorization", &auth), ("x-user-action", "t")],
        Some(br#"{"credId":"***"}"#),
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(list(&h).await, before);
}

#[tokio::test]
async fn user_action_and_code_requests_refuse_bad_input_before_the_enclave() {
    let h = Harness::start().await;
    let before = (h.enclave_calls("Challenge"), h.enclave_calls("UserAction"), h.enclave_calls("Call"));
    for body in [
        json!({ "userActionPayload": "", "userActionHttpMethod": "", "userActionHttpPath": "/wallets" }),
        json!({ "userActionPayload": "", "userActionHttpMethod": "POST", "userActionHttpPath": "wallets" }),
        json!({ "userActionPayload": "", "userActionHttpMethod": "POST" }),
        json!({ "userActionPayload": "", "userActionHttpMethod": "POST", "userActionHttpPath": "/w", "extra": 1 }),
    ] {
        let reply = h.post_bare("/auth/action/init", &body).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text());
        reply.error_code();
    }
    let stranger = KeyClient {
        key: SigningKey::from_bytes(&[9; 32]),
        cred_id: to_b64url(b"unknown"),
        origin: h.dev.origin.clone(),
    };
    let mut not_b64 = h.client.assertion("x");
    not_b64["credentialAssertion"]["signature"] = json!("***");
    for (body, status) in [
        (json!({ "challengeIdentifier": "%%%", "firstFactor": h.client.assertion("x") }), 400),
        (json!({ "challengeIdentifier": "AAAA", "firstFactor": not_b64 }), 400),
        (
            json!({ "challengeIdentifier": "AAAA", "firstFactor": { "kind": "Password", "credentialAssertion": {} } }),
            400,
        ),
        (json!({ "challengeIdentifier": "AAAA" }), 400),
    ] {
        let reply = h.post_bare("/auth/action", &body).await;
        assert_eq!(reply.status, status, "{body}: {}", reply.text());
        reply.error_code();
    }
    // A real challenge signed by an unknown credential: 403 before the enclave.
    let init =
        json!({ "userActionPayload": "", "userActionHttpMethod": "POST", "userActionHttpPath": "/wallets" });
    let challenge = h.post_bare("/auth/action/init", &init).await.json();
    let body = json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": stranger.assertion(challenge["challenge"].as_str().unwrap()),
    });
    let reply = h.post_bare("/auth/action", &body).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"));
    // Registration codes: a bad role or name is 400 even with a user action.
    let auth = h.auth();
    for body in [&br#"{"role":"Owner"}"#[..], br#"{"username":""}"#, br#"{"unknown":1}"#] {
        let reply = http(
            h.addr,
            "POST",
            "/auth/registration/codes",
            &[("authorization", &auth), ("x-user-action", "t")],
            Some(body),
        )
        .await;
        assert_eq!(reply.status, 400, "{}", reply.text());
    }
    assert_eq!(
        (h.enclave_calls("Challenge"), h.enclave_calls("UserAction"), h.enclave_calls("Call")),
        (before.0 + 1, before.1, before.2)
    );
}
