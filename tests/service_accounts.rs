//! Service accounts on the real stack: an admin creates one with a public key (a user action);
//! its token reads, and its key signs its own one-shot requests, so it creates and uses a
//! wallet; a member, a bearer alone, a taken name or a bad key create nothing; deactivated, its
//! token is refused until it is activated again.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::{Value, json};
use signer_e2e::Stack;
use signer_e2e::auth_support::{
    TestCredential, TestKey, TestUser, assert_error, call_one_shot, create_wallet, dev_user, hash_body,
    new_member, unb64u,
};
use signer_e2e::db::Db;

fn create_body(name: &str, key: &TestKey) -> String {
    json!({ "name": name, "publicKey": key.public_key_pem() }).to_string()
}

/// The service account `answer` names, signing with `key`.
fn account(admin: &TestUser, name: &str, answer: &Value, key: TestKey) -> TestUser {
    TestUser {
        org_id: admin.org_id.clone(),
        user_id: answer["id"].as_str().unwrap().to_owned(),
        username: name.to_owned(),
        token: answer["accessToken"].as_str().unwrap().to_owned(),
        credential: TestCredential {
            key,
            cred_id: answer["credId"].as_str().unwrap().to_owned(),
            origin: admin.credential.origin.clone(),
        },
    }
}

#[test]
fn a_service_account_signs_with_its_own_key_until_deactivated() {
    let stack = Stack::start();
    let admin = dev_user(&stack);
    let key = TestKey::generate("ES256");
    let body = create_body("ci-bot", &key);
    let users = Db::open(&stack).count("users");

    // Not by a member, not with the bearer alone, not with a bad key.
    let bob = new_member(&stack, "bob", "EdDSA");
    assert_error(&call_one_shot(&stack, &bob, "POST", "/auth/service-accounts", &body), 403, "forbidden");
    let bare = stack.send("POST", "/auth/service-accounts", body.as_bytes(), Some(&admin.token), &[]);
    assert_error(&bare, 403, "user_action_required");
    let bad = json!({ "name": "ci-bot", "publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" });
    assert_eq!(call_one_shot(&stack, &admin, "POST", "/auth/service-accounts", &bad.to_string()).0, 400);
    let with_permission =
        json!({ "name": "ci-bot", "publicKey": key.public_key_pem(), "permissionId": "pm-1" });
    assert_eq!(
        call_one_shot(&stack, &admin, "POST", "/auth/service-accounts", &with_permission.to_string()).0,
        400
    );
    assert_eq!(Db::open(&stack).count("users"), users + 1, "only Bob was added");

    // Created: a token of kind serviceAccount, and a credential id for its key.
    let (status, answer) = call_one_shot(&stack, &admin, "POST", "/auth/service-accounts", &body);
    assert_eq!(status, 201, "{answer}");
    let claims: Value =
        serde_json::from_slice(&unb64u(answer["accessToken"].as_str().unwrap().split('.').nth(1).unwrap()))
            .unwrap();
    assert_eq!((&claims["kind"], &claims["sub"]), (&json!("serviceAccount"), &answer["id"]));
    let bot = account(&admin, "ci-bot", &answer, key);
    // A taken name.
    let again = call_one_shot(
        &stack,
        &admin,
        "POST",
        "/auth/service-accounts",
        &create_body("ci-bot", &TestKey::generate("EdDSA")),
    );
    assert_error(&again, 409, "conflict");

    // It reads, creates a wallet and signs with its own key.
    assert_eq!(stack.get("/wallets", Some(&bot.token)).unwrap().0, 200);
    let wallet = create_wallet(&stack, &bot, "secp256k1")["id"].as_str().unwrap().to_owned();
    let sign = format!("/wallets/{wallet}/signatures");
    let h = hash_body(&[3; 32]);
    assert_eq!(call_one_shot(&stack, &bot, "POST", &sign, &h).0, 200);
    // Another key under its credential id does not sign for it.
    let forged = bot.with(TestCredential {
        cred_id: bot.credential.cred_id.clone(),
        ..TestCredential::generate("ES256", &bot.credential.origin)
    });
    assert_error(&call_one_shot(&stack, &forged, "POST", &sign, &h), 403, "forbidden");

    // The service-account routes name service accounts only.
    let person = call_one_shot(
        &stack,
        &admin,
        "PUT",
        &format!("/auth/service-accounts/{}/deactivate", bob.user_id),
        "",
    );
    assert_error(&person, 404, "not_found");
    // Deactivated: refused from the next request; activated: back.
    let path = |verb: &str| format!("/auth/service-accounts/{}/{verb}", bot.user_id);
    let (status, changed) = call_one_shot(&stack, &admin, "PUT", &path("deactivate"), "");
    assert_eq!((status, &changed["status"]), (200, &json!("Inactive")), "{changed}");
    assert_eq!(stack.get("/wallets", Some(&bot.token)).unwrap().0, 401);
    assert_error(&call_one_shot(&stack, &bot, "POST", &sign, &h), 401, "unauthorized");
    assert_eq!(call_one_shot(&stack, &admin, "PUT", &path("activate"), "").0, 200);
    assert_eq!(call_one_shot(&stack, &bot, "POST", &sign, &h).0, 200);
}
