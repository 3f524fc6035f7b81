//! Personal access tokens on the real stack: a user makes one with a user action; the token
//! reads and its key signs the user's calls; revoked, the token is refused (401) and its key
//! signs nothing (403) from the next request on; its user deactivated, likewise; its key never
//! logs in.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::{Value, json};
use signer_e2e::Stack;
use signer_e2e::auth_support::{
    TestCredential, TestKey, TestUser, assert_error, call_one_shot, create_wallet, dev_user, hash_body,
    login_with, new_member, unb64u,
};

/// `user` makes a token signed by a new `algorithm` key: (answer, the user signing as the token).
fn make_pat(stack: &Stack, user: &TestUser, algorithm: &str) -> (Value, TestUser) {
    let key = TestKey::generate(algorithm);
    let body = json!({ "name": "ci", "publicKey": key.public_key_pem(), "daysValid": 7 }).to_string();
    let (status, answer) = call_one_shot(stack, user, "POST", "/auth/pats", &body);
    assert_eq!(status, 201, "{answer}");
    let as_pat = TestUser {
        org_id: user.org_id.clone(),
        user_id: user.user_id.clone(),
        username: user.username.clone(),
        token: answer["accessToken"].as_str().unwrap().to_owned(),
        credential: TestCredential {
            key,
            cred_id: answer["credId"].as_str().unwrap().to_owned(),
            origin: user.credential.origin.clone(),
        },
    };
    (answer, as_pat)
}

#[test]
fn a_token_acts_for_its_user_until_revoked_or_the_user_is_deactivated() {
    let stack = Stack::start();
    let admin = dev_user(&stack);
    let alice = new_member(&stack, "alice", "EdDSA");
    let body = json!({ "name": "ci", "publicKey": TestKey::generate("EdDSA").public_key_pem() }).to_string();
    let bare = stack.send("POST", "/auth/pats", body.as_bytes(), Some(&alice.token), &[]);
    assert_error(&bare, 403, "user_action_required");

    let (answer, pat) = make_pat(&stack, &alice, "ES256");
    let claims: Value = serde_json::from_slice(&unb64u(pat.token.split('.').nth(1).unwrap())).unwrap();
    assert_eq!(
        (&claims["kind"], &claims["pat"], &claims["sub"]),
        (&json!("pat"), &answer["id"], &json!(alice.user_id))
    );
    assert!(claims["exp"].as_u64().unwrap() <= claims["iat"].as_u64().unwrap() + 7 * 24 * 3600);
    // It reads, and its key signs Alice's calls.
    assert_eq!(stack.get("/wallets", Some(&pat.token)).unwrap().0, 200);
    let wallet = create_wallet(&stack, &pat, "ed25519")["id"].as_str().unwrap().to_owned();
    let sign = format!("/wallets/{wallet}/signatures");
    let h = hash_body(&[9; 32]);
    assert_eq!(call_one_shot(&stack, &pat, "POST", &sign, &h).0, 200);
    // Its key does not log in.
    let login = login_with(&stack, &alice.org_id, &alice.username, |c| {
        pat.credential.sign_challenge(c["challenge"].as_str().unwrap())
    });
    assert_error(&login, 403, "forbidden");

    // Revoked (Alice's own user action): the token and its key are refused at once.
    let id = answer["id"].as_str().unwrap();
    let (status, revoked) = call_one_shot(&stack, &alice, "DELETE", &format!("/auth/pats/{id}"), "");
    assert_eq!((status, &revoked["isActive"]), (200, &json!(false)), "{revoked}");
    assert_eq!(stack.get("/wallets", Some(&pat.token)).unwrap().0, 401);
    // Its key with Alice's login token: the enclave refuses the inactive credential.
    let key_only = TestUser { token: alice.token.clone(), ..pat };
    assert_error(&call_one_shot(&stack, &key_only, "POST", &sign, &h), 403, "forbidden");
    assert_error(&call_one_shot(&stack, &alice, "DELETE", &format!("/auth/pats/{id}"), ""), 409, "conflict");
    assert_eq!(call_one_shot(&stack, &alice, "POST", &sign, &h).0, 200, "Alice's own key still signs");

    // Another token; Alice deactivated: refused from the next request on.
    let (_, second) = make_pat(&stack, &alice, "EdDSA");
    assert_eq!(stack.get("/wallets", Some(&second.token)).unwrap().0, 200);
    let deactivate = format!("/auth/users/{}/deactivate", alice.user_id);
    assert_eq!(call_one_shot(&stack, &admin, "PUT", &deactivate, "").0, 200);
    assert_eq!(stack.get("/wallets", Some(&second.token)).unwrap().0, 401);
}
