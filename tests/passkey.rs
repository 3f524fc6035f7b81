//! The full flow with a software passkey this project did not write: 1Password's passkey-rs
//! (`passkey-client`, a WebAuthn Level 3 client, over `passkey-authenticator`, a CTAP2
//! authenticator). The stack's creation and request options go to it as a relying party's
//! JSON would go to a browser; its credentials come back as a browser gives them. Register a
//! Fido2 credential through a registration code, log in with it, add a Key credential, create a
//! wallet and sign with the passkey's user actions (and a one-shot request), receipts verified.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::future::Future;
use std::task::{Context, Poll, Waker};

use passkey_authenticator::{Authenticator, UiHint, UserCheck, UserValidationMethod};
use passkey_client::{Client, DefaultClientData};
use passkey_crypto::rust_crypto::RustCryptoBackend;
use passkey_types::Passkey;
use passkey_types::ctap2::{Aaguid, Ctap2Error};
use passkey_types::webauthn::{
    CredentialCreationOptions, CredentialRequestOptions, PublicKeyCredentialCreationOptions,
    PublicKeyCredentialRequestOptions,
};
use serde_json::{Value, json};
use signer_client::ReceiptKind;
use signer_e2e::Stack;
use signer_e2e::auth_support::{
    TestUser, add_key_credential_body, b64u, call_one_shot, dev_user, hash_body, login_with, now_ms,
    one_shot_challenge, one_shot_headers_with, register, registration_code, registration_init, request_id,
    user_action_with,
};
use signer_e2e::receipts::verify_answer;

/// The authenticator's user: present, and verified (a PIN or biometric check that passes).
struct Present;

#[async_trait::async_trait]
impl UserValidationMethod for Present {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck { presence, verification })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

type SoftwarePasskey =
    Client<Option<Passkey>, Present, RustCryptoBackend, public_suffix::PublicSuffixList, ()>;

/// Runs a future of the passkey crates (no I/O: they are ready after a few polls).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        std::thread::yield_now();
    }
}

/// The `firstFactor` of the passkey over a `ChallengeAnswer` (login or user action).
fn passkey_sign(passkey: &mut SoftwarePasskey, origin: &url::Url, answer: &Value) -> Value {
    let rp_id = answer["rp"]["id"].as_str().unwrap_or("localhost");
    assert_eq!(rp_id, "localhost", "{answer}");
    let allow: Vec<Value> = answer["allowCredentials"]["webauthn"]
        .as_array()
        .unwrap_or_else(|| panic!("allowCredentials.webauthn in {answer}"))
        .iter()
        .map(|c| json!({ "type": "public-key", "id": c["id"] }))
        .collect();
    assert!(!allow.is_empty(), "the passkey is among the allowed credentials: {answer}");
    let options: PublicKeyCredentialRequestOptions = serde_json::from_value(json!({
        "challenge": answer["challenge"],
        "rpId": rp_id,
        "allowCredentials": allow,
        "userVerification": answer["userVerification"].as_str().unwrap_or("preferred"),
    }))
    .unwrap();
    let credential = block_on(passkey.authenticate(
        origin,
        CredentialRequestOptions { public_key: options },
        DefaultClientData,
    ))
    .unwrap_or_else(|e| panic!("the passkey refused to sign: {e:?}"));
    let mut assertion = json!({
        "credId": b64u(&credential.raw_id),
        "clientData": b64u(&credential.response.client_data_json),
        "authenticatorData": b64u(&credential.response.authenticator_data),
        "signature": b64u(&credential.response.signature),
    });
    if let Some(handle) = &credential.response.user_handle {
        assertion["userHandle"] = json!(b64u(handle));
    }
    json!({ "kind": "Fido2", "credentialAssertion": assertion })
}

#[test]
fn a_software_passkey_registers_logs_in_adds_a_key_and_signs() {
    let stack = Stack::start();
    let admin = dev_user(&stack);
    let origin = url::Url::parse(&format!("http://localhost:{}", stack.port)).unwrap();
    assert_eq!(admin.credential.origin, origin.as_str().trim_end_matches('/'), "the dev app's origin");
    let authenticator = Authenticator::new(Aaguid::new_empty(), None, Present, RustCryptoBackend);
    let mut passkey: SoftwarePasskey = Client::new(authenticator).allows_insecure_localhost(true);

    // 1. Registration: the creation options as a browser would take them.
    let code = registration_code(&stack, &admin, Some("carol"), None);
    let options = registration_init(&stack, &admin.org_id, "carol", &code);
    assert_eq!(options["rp"]["id"], "localhost", "{options}");
    let public_key: PublicKeyCredentialCreationOptions = serde_json::from_value(options.clone())
        .unwrap_or_else(|e| panic!("not WebAuthn creation options: {e}: {options}"));
    let created =
        block_on(passkey.register(&origin, CredentialCreationOptions { public_key }, DefaultClientData))
            .unwrap_or_else(|e| panic!("the passkey refused to register: {e:?}"));
    let cred_id = b64u(&created.raw_id);
    let info = json!({
        "credId": cred_id,
        "clientData": b64u(&created.response.client_data_json),
        "attestationData": b64u(&created.response.attestation_object),
    });
    let temporary = options["temporaryAuthenticationToken"].as_str().unwrap();
    let (status, registered) = register(&stack, temporary, "Fido2", &info);
    assert!(status == 200 || status == 201, "{status} {registered}");
    assert_eq!(registered["credential"]["kind"], "Fido2", "{registered}");
    assert_eq!(registered["credential"]["credId"], cred_id.as_str(), "{registered}");
    assert_eq!(registered["user"]["username"], "carol", "{registered}");

    // 2. Login with the passkey.
    let (status, login) =
        login_with(&stack, &admin.org_id, "carol", |c| passkey_sign(&mut passkey, &origin, c));
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap().to_owned();

    // 3. A Key credential added by the passkey's user action.
    let key = signer_e2e::auth_support::TestCredential::generate("ES256", &admin.credential.origin);
    let body = add_key_credential_body(&stack, &token, &key);
    let action = user_action_with(&stack, &token, "POST", "/auth/credentials", &body, |c| {
        passkey_sign(&mut passkey, &origin, c)
    });
    let (status, added) = stack.send(
        "POST",
        "/auth/credentials",
        body.as_bytes(),
        Some(&token),
        &[("X-User-Action".into(), action)],
    );
    assert!(status == 200 || status == 201, "{status} {added}");
    assert_eq!(added["credential"]["credId"], key.cred_id.as_str(), "{added}");

    // 4. A wallet made and used with the passkey's user actions.
    let mut act = |method: &str, path: &str, body: &str| {
        let action =
            user_action_with(&stack, &token, method, path, body, |c| passkey_sign(&mut passkey, &origin, c));
        stack.send(method, path, body.as_bytes(), Some(&token), &[("X-User-Action".into(), action)])
    };
    let (status, wallet) = act("POST", "/wallets", &json!({ "curve": "secp256k1" }).to_string());
    assert!(status == 200 || status == 201, "{status} {wallet}");
    let id = wallet["id"].as_str().unwrap().to_owned();
    verify_answer(&stack, &wallet, ReceiptKind::WalletCreated, &id);
    let sigs = format!("/wallets/{id}/signatures");
    let (status, signed) = act("POST", &sigs, &hash_body(&[0xc0; 32]));
    assert_eq!(status, 200, "{signed}");
    verify_answer(&stack, &signed, ReceiptKind::Hash, &id);

    // 5. The passkey signs a one-shot request too (the challenge computed by the client).
    let body = hash_body(&[0xc1; 32]);
    let (time, rid) = (now_ms(), request_id());
    let challenge = one_shot_challenge("POST", &sigs, body.as_bytes(), time, &rid);
    let first_factor = passkey_sign(
        &mut passkey,
        &origin,
        &json!({
            "challenge": challenge,
            "rp": { "id": "localhost" },
            "allowCredentials": { "key": [], "webauthn": [{ "type": "public-key", "id": cred_id }] },
            "userVerification": "preferred",
        }),
    );
    let headers = one_shot_headers_with(&first_factor, time, &rid);
    let (status, signed) = stack.send("POST", &sigs, body.as_bytes(), Some(&token), &headers);
    assert_eq!(status, 200, "{signed}");
    verify_answer(&stack, &signed, ReceiptKind::Hash, &id);

    // 6. The added Key credential signs on the same wallet.
    let carol = TestUser {
        org_id: admin.org_id.clone(),
        user_id: registered["user"]["id"].as_str().unwrap().to_owned(),
        username: "carol".into(),
        token,
        credential: key,
    };
    let (status, signed) = call_one_shot(&stack, &carol, "POST", &sigs, &hash_body(&[0xc2; 32]));
    assert_eq!(status, 200, "{signed}");
    verify_answer(&stack, &signed, ReceiptKind::Hash, &id);
}

/// The software passkey on its own, with options of the shape the stack sends: it accepts an
/// insecure localhost origin with rpId `localhost`, and what it gives back has the WebAuthn
/// shape the enclave checks (client data naming our challenge and origin, rpIdHash, UP and UV).
#[test]
fn the_software_passkey_speaks_webauthn_for_localhost() {
    use sha2::{Digest, Sha256};
    let origin = url::Url::parse("http://localhost:18080").unwrap();
    let authenticator = Authenticator::new(Aaguid::new_empty(), None, Present, RustCryptoBackend);
    let mut passkey: SoftwarePasskey = Client::new(authenticator).allows_insecure_localhost(true);
    let challenge = b64u(&[7u8; 32]);
    let options = json!({
        "challenge": challenge,
        "rp": { "id": "localhost", "name": "signer" },
        "user": { "id": b64u(b"us-0123"), "name": "carol", "displayName": "carol" },
        "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }, { "type": "public-key", "alg": -8 }],
        "attestation": "none",
        "authenticatorSelection": { "residentKey": "preferred", "requireResidentKey": false, "userVerification": "preferred" },
        "excludeCredentials": [],
        "temporaryAuthenticationToken": "ignored by browsers",
    });
    let public_key: PublicKeyCredentialCreationOptions = serde_json::from_value(options).unwrap();
    let created =
        block_on(passkey.register(&origin, CredentialCreationOptions { public_key }, DefaultClientData))
            .unwrap();
    let client_data: Value = serde_json::from_slice(&created.response.client_data_json).unwrap();
    assert_eq!(
        (&client_data["type"], &client_data["challenge"], &client_data["origin"]),
        (&json!("webauthn.create"), &json!(challenge), &json!("http://localhost:18080"))
    );
    let cred_id = b64u(&created.raw_id);

    let answer = json!({
        "challenge": b64u(&[8u8; 32]),
        "rp": { "id": "localhost", "name": "signer" },
        "allowCredentials": { "key": [], "webauthn": [{ "type": "public-key", "id": cred_id }] },
        "userVerification": "preferred",
    });
    let first_factor = passkey_sign(&mut passkey, &origin, &answer);
    assert_eq!(first_factor["kind"], "Fido2");
    let assertion = &first_factor["credentialAssertion"];
    assert_eq!(assertion["credId"], cred_id.as_str());
    let auth_data = signer_e2e::auth_support::unb64u(assertion["authenticatorData"].as_str().unwrap());
    assert_eq!(&auth_data[..32], &Sha256::digest(b"localhost")[..], "rpIdHash");
    assert_eq!(auth_data[32] & 0x05, 0x05, "UP and UV set");
    let client_data: Value =
        serde_json::from_slice(&signer_e2e::auth_support::unb64u(assertion["clientData"].as_str().unwrap()))
            .unwrap();
    assert_eq!(
        (&client_data["type"], &client_data["challenge"]),
        (&json!("webauthn.get"), &answer["challenge"])
    );
}
