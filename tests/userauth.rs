//! User authorisation end to end on the real stack, with Key credentials of each algorithm
//! (ES256, ES256K, EdDSA), driven by this crate's own client side (not the SDK): a registration
//! code from the dev admin, registration, login, a second credential, then a wallet made and
//! used both through the three-call user action and through a one-shot request; every receipt
//! verified with the client SDK against the dev `pcrs.json`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use signer_client::ReceiptKind;
use signer_common::userauth::request_challenge;
use signer_e2e::Stack;
use signer_e2e::auth_support::{
    TestCredential, TestUser, add_key_credential, call_one_shot, call_with_user_action, credentials_of,
    dev_user, hash_body, login, one_shot_challenge, register_key_user, registration_code, wallet_count,
};
use signer_e2e::receipts::verify_answer;

/// Creates a wallet and signs a hash with it, all through `call` (one of the two flows), and
/// verifies both receipts.
fn create_and_sign(
    stack: &Stack,
    user: &TestUser,
    curve: &str,
    call: fn(&Stack, &TestUser, &str, &str, &str) -> (u16, Value),
) {
    let (status, wallet) = call(stack, user, "POST", "/wallets", &json!({ "curve": curve }).to_string());
    assert!(status == 200 || status == 201, "{status} {wallet}");
    let id = wallet["id"].as_str().unwrap().to_owned();
    assert_eq!(wallet["curve"], curve);
    verify_answer(stack, &wallet, ReceiptKind::WalletCreated, &id);
    let hash: [u8; 32] = Sha256::digest(id.as_bytes()).into();
    let (status, signed) = call(stack, user, "POST", &format!("/wallets/{id}/signatures"), &hash_body(&hash));
    assert_eq!(status, 200, "{signed}");
    assert_eq!(signed["status"], "Signed");
    assert_eq!(signed["walletId"], id.as_str());
    verify_answer(stack, &signed, ReceiptKind::Hash, &id);
}

#[test]
fn one_shot_challenge_is_the_same_on_both_sides() {
    // This crate's reading of API.md and the common crate's implementation agree...
    let cases: [(&str, &str, &[u8], u64, &str); 4] = [
        ("POST", "/wallets", br#"{"curve":"ed25519"}"#, 1_700_000_000_000, "abcdefghijklmnop"),
        ("post", "/wallets/wa-1/signatures?x=1&y=2", b"{}", 1, "A-_z9A-_z9A-_z9A-_z9"),
        ("PUT", "/auth/credentials/deactivate", b"", u64::MAX, &"x".repeat(64)),
        ("POST", "/auth/registration/codes", "{\"username\":\"\u{e9}\"}".as_bytes(), 42, "0123456789abcdef"),
    ];
    for (method, path, body, time, id) in cases {
        assert_eq!(
            one_shot_challenge(method, path, body, time, id),
            request_challenge(method, path, body, time, id)
        );
    }
    // ...and each input moves the challenge.
    let base = one_shot_challenge("POST", "/wallets", b"{}", 1, "abcdefghijklmnop");
    for other in [
        one_shot_challenge("PUT", "/wallets", b"{}", 1, "abcdefghijklmnop"),
        one_shot_challenge("POST", "/wallets?a=1", b"{}", 1, "abcdefghijklmnop"),
        one_shot_challenge("POST", "/wallets", b"{ }", 1, "abcdefghijklmnop"),
        one_shot_challenge("POST", "/wallets", b"{}", 2, "abcdefghijklmnop"),
        one_shot_challenge("POST", "/wallets", b"{}", 1, "abcdefghijklmnoq"),
    ] {
        assert_ne!(other, base);
    }
    // The text is exactly API.md's (no trailing LF): pinned by a digest computed by hand.
    let text = "signer-request-v1\nPOST\n/wallets\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\n1\nabcdefghijklmnop";
    assert_eq!(
        hex::encode(Sha256::digest(b"{}")),
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    assert_eq!(base, signer_e2e::auth_support::b64u(&Sha256::digest(text.as_bytes())));
}

#[test]
fn key_credentials_of_each_algorithm_register_log_in_add_a_credential_and_sign() {
    let stack = Stack::start();
    let admin = dev_user(&stack);
    // The dev admin's own credential signs both flows too.
    create_and_sign(&stack, &admin, "ed25519", call_one_shot);
    create_and_sign(&stack, &admin, "secp256k1", call_with_user_action);

    for (first, second) in [("ES256", "ES256K"), ("ES256K", "EdDSA"), ("EdDSA", "ES256")] {
        let username = format!("user-{}", first.to_ascii_lowercase());
        let code = registration_code(&stack, &admin, Some(&username), None);
        let user = register_key_user(&stack, &admin.org_id, &username, &code, first);
        assert_eq!(user.org_id, admin.org_id);
        assert_ne!(user.user_id, admin.user_id);

        // The first credential acts (both flows), then adds a second of another algorithm.
        create_and_sign(&stack, &user, "secp256k1", call_one_shot);
        let added = add_key_credential(&stack, &user, second);
        let items = credentials_of(&stack, &user);
        assert_eq!(items.len(), 2, "{items:?}");
        assert!(items.iter().all(|c| c["status"] == "Active" && c["kind"] == "Key"), "{items:?}");
        assert!(items.iter().any(|c| c["credId"] == added.cred_id.as_str()), "{items:?}");

        // The second credential logs in and signs, in both flows, on both curves.
        let token = login(&stack, &user.org_id, &user.username, &added);
        let user = TestUser { token, credential: added, ..user };
        create_and_sign(&stack, &user, "ed25519", call_with_user_action);
        create_and_sign(&stack, &user, "secp256k1", call_one_shot);
        assert!(wallet_count(&stack, &user.token) >= 3, "the user's wallets are listed");
    }
}

#[test]
fn a_registration_code_is_single_use_and_for_its_name() {
    let stack = Stack::start();
    let admin = dev_user(&stack);
    let code = registration_code(&stack, &admin, Some("alice"), None);
    let init = |username: &str, code: &str| {
        let body =
            json!({ "username": username, "orgId": admin.org_id, "registrationCode": code }).to_string();
        stack.send("POST", "/auth/registration/init", body.as_bytes(), None, &[])
    };
    // Bound to "alice": refused for another name.
    let (status, answer) = init("mallory", &code);
    assert!(status == 403 || status == 400, "{status} {answer}");
    // Used once by alice, then refused.
    let alice = register_key_user(&stack, &admin.org_id, "alice", &code, "ES256");
    let (status, answer) = init("alice2", &code);
    assert!(status >= 400, "a used code was accepted: {answer}");
    // A member may not issue codes (admins only).
    let (status, answer) = call_one_shot(&stack, &alice, "POST", "/auth/registration/codes", "{}");
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("forbidden")), "{answer}");
    // The admin still can: nothing changed.
    let code = registration_code(&stack, &admin, None, Some("Member"));
    let bob = register_key_user(&stack, &admin.org_id, "bob", &code, "EdDSA");
    // A second credential's registration signed by a key that is not the one in the PEM: refused.
    let bad = TestCredential::generate("ES256", &bob.credential.origin);
    let body = signer_e2e::auth_support::add_key_credential_body(&stack, &bob.token, &bad);
    let mut parsed: Value = serde_json::from_str(&body).unwrap();
    let other = TestCredential::generate("ES256", &bob.credential.origin);
    let info = &parsed["credentialInfo"];
    let client_data =
        String::from_utf8(signer_e2e::auth_support::unb64u(info["clientData"].as_str().unwrap())).unwrap();
    let attestation = json!({
        "publicKey": bad.key.public_key_pem(),
        "signature": signer_e2e::auth_support::b64u(&other.key.sign(client_data.as_bytes())),
    });
    parsed["credentialInfo"]["attestationData"] =
        json!(signer_e2e::auth_support::b64u(attestation.to_string().as_bytes()));
    let (status, answer) = call_one_shot(&stack, &bob, "POST", "/auth/credentials", &parsed.to_string());
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("forbidden")), "{answer}");
    assert_eq!(credentials_of(&stack, &bob).len(), 1, "nothing added");
}
