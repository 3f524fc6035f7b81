//! Attacks on user authorisation with Key credentials, on the real stack: each is refused with
//! the API.md error shape, and nothing changed (no wallet row, no signature, the same call made
//! properly then succeeds, single-use tokens and request ids not consumed by the refusal).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_json::{Value, json};
use signer_e2e::Stack;
use signer_e2e::auth_support::{
    Answer, TestUser, action_answer, add_key_credential, assert_error, call_one_shot, call_with_user_action,
    create_wallet, dev_user, hash_body, login_with, new_member, now_ms, one_shot_headers, one_shot_now,
    request_id, set_credential_status, user_action,
};
use signer_e2e::db::Db;

/// Refused with one of `statuses` and the API.md error shape.
fn assert_refused(answer: &Answer, statuses: &[u16]) {
    assert!(statuses.contains(&answer.0), "expected one of {statuses:?}: {} {}", answer.0, answer.1);
    assert!(answer.1["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "{}", answer.1);
    assert!(answer.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", answer.1);
    assert!(answer.1.get("signature").is_none() && answer.1.get("receipt").is_none(), "{}", answer.1);
}

fn assert_forbidden(answer: &Answer) {
    assert_error(answer, 403, "forbidden");
}

fn assert_ok(answer: &Answer) {
    assert!(answer.0 == 200 || answer.0 == 201, "{} {}", answer.0, answer.1);
}

fn sigs(wallet: &str) -> String {
    format!("/wallets/{wallet}/signatures")
}

fn wallet_rows(stack: &Stack) -> i64 {
    Db::open(stack).count("wallets")
}

/// A call with `headers` and `user`'s bearer.
fn send(
    stack: &Stack,
    user: &TestUser,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(String, String)],
) -> Answer {
    stack.send(method, path, body.as_bytes(), Some(&user.token), headers)
}

#[test]
fn bearer_alone_replays_and_other_calls_are_refused() {
    let stack = Stack::start();
    let admin = dev_user(&stack);
    let w = create_wallet(&stack, &admin, "secp256k1")["id"].as_str().unwrap().to_owned();
    let w2 = create_wallet(&stack, &admin, "secp256k1")["id"].as_str().unwrap().to_owned();
    let create = json!({ "curve": "ed25519" }).to_string();
    let (h1, h2) = (hash_body(&[1; 32]), hash_body(&[2; 32]));
    let rows = wallet_rows(&stack);

    // 1. A bearer token alone on a state-changing call: refused before any signing.
    assert_refused(&send(&stack, &admin, "POST", "/wallets", &create, &[]), &[401, 403]);
    assert_refused(&send(&stack, &admin, "POST", &sigs(&w), &h1, &[]), &[401, 403]);
    assert_eq!(wallet_rows(&stack), rows);

    // 2. A user action replayed: the first use acts, the second is refused.
    let token = user_action(&stack, &admin.token, &admin.credential, "POST", "/wallets", &create);
    let header = [("X-User-Action".to_owned(), token)];
    assert_ok(&send(&stack, &admin, "POST", "/wallets", &create, &header));
    assert_forbidden(&send(&stack, &admin, "POST", "/wallets", &create, &header));
    assert_eq!(wallet_rows(&stack), rows + 1);

    // 3. A one-shot request replayed (same headers, same body): refused.
    let headers = one_shot_now(&admin.credential, "POST", &sigs(&w), h1.as_bytes());
    assert_ok(&send(&stack, &admin, "POST", &sigs(&w), &h1, &headers));
    assert_refused(&send(&stack, &admin, "POST", &sigs(&w), &h1, &headers), &[403, 409]);
    // The same id under a fresh signature over another body: still a replayed id.
    let replayed_id = headers[1].1.clone();
    let again = one_shot_headers(&admin.credential, "POST", &sigs(&w), h2.as_bytes(), now_ms(), &replayed_id);
    assert_refused(&send(&stack, &admin, "POST", &sigs(&w), &h2, &again), &[403, 409]);

    // 4. A user action used for another body, path, method or wallet: refused, and not consumed.
    let token = user_action(&stack, &admin.token, &admin.credential, "POST", &sigs(&w), &h1);
    let header = [("X-User-Action".to_owned(), token)];
    assert_forbidden(&send(&stack, &admin, "POST", &sigs(&w), &h2, &header));
    assert_forbidden(&send(&stack, &admin, "POST", &sigs(&w2), &h1, &header));
    assert_forbidden(&send(&stack, &admin, "POST", &format!("{}?x=1", sigs(&w)), &h1, &header));
    assert_forbidden(&send(&stack, &admin, "POST", "/wallets", &create, &header));
    let put = user_action(&stack, &admin.token, &admin.credential, "PUT", "/wallets", &create);
    assert_forbidden(&send(
        &stack,
        &admin,
        "POST",
        "/wallets",
        &create,
        &[("X-User-Action".to_owned(), put)],
    ));
    assert_eq!(wallet_rows(&stack), rows + 1);
    assert_ok(&send(&stack, &admin, "POST", &sigs(&w), &h1, &header));

    // 5. A one-shot signature used for another body, path, method or wallet: refused, id unused.
    let headers = one_shot_now(&admin.credential, "POST", &sigs(&w), h1.as_bytes());
    assert_forbidden(&send(&stack, &admin, "POST", &sigs(&w), &h2, &headers));
    assert_forbidden(&send(&stack, &admin, "POST", &sigs(&w2), &h1, &headers));
    assert_forbidden(&send(&stack, &admin, "POST", &format!("{}?x=1", sigs(&w)), &h1, &headers));
    let put = one_shot_now(&admin.credential, "PUT", "/wallets", create.as_bytes());
    assert_forbidden(&send(&stack, &admin, "POST", "/wallets", &create, &put));
    assert_eq!(wallet_rows(&stack), rows + 1);
    assert_ok(&send(&stack, &admin, "POST", &sigs(&w), &h1, &headers));

    // 6. A one-shot time outside the window (60 s), both sides; inside it, accepted.
    for skew in [-61_000i64, 61_000, -3_600_000, 3_600_000] {
        let time = now_ms().checked_add_signed(skew).unwrap();
        let headers =
            one_shot_headers(&admin.credential, "POST", "/wallets", create.as_bytes(), time, &request_id());
        assert_forbidden(&send(&stack, &admin, "POST", "/wallets", &create, &headers));
    }
    assert_eq!(wallet_rows(&stack), rows + 1);
    let time = now_ms() - 20_000;
    let headers =
        one_shot_headers(&admin.credential, "POST", "/wallets", create.as_bytes(), time, &request_id());
    assert_ok(&send(&stack, &admin, "POST", "/wallets", &create, &headers));
    assert_eq!(wallet_rows(&stack), rows + 2);
}

/// Signed answers not yet sent, for `POST /wallets` with `create`: an action challenge signed
/// but not exchanged, a user-action token not used, and a login challenge signed but not
/// answered. Each is a body (or token) the attacks below send later.
struct Pending {
    action: String,
    token: String,
    login: String,
}

fn pending(stack: &Stack, admin: &TestUser, create: &str) -> Pending {
    let init = json!({ "userActionPayload": create, "userActionHttpMethod": "POST", "userActionHttpPath": "/wallets" });
    let (status, challenge) =
        stack.send("POST", "/auth/action/init", init.to_string().as_bytes(), Some(&admin.token), &[]);
    assert_eq!(status, 200, "{challenge}");
    let action = json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": admin.credential.sign_challenge(challenge["challenge"].as_str().unwrap()),
    });
    let token = user_action(stack, &admin.token, &admin.credential, "POST", "/wallets", create);
    let login_init = json!({ "username": admin.username, "orgId": admin.org_id });
    let (status, login_challenge) =
        stack.send("POST", "/auth/login/init", login_init.to_string().as_bytes(), None, &[]);
    assert_eq!(status, 200, "{login_challenge}");
    let login = json!({
        "challengeIdentifier": login_challenge["challengeIdentifier"],
        "firstFactor": admin.credential.sign_challenge(login_challenge["challenge"].as_str().unwrap()),
    });
    Pending { action: action.to_string(), token, login: login.to_string() }
}

impl Pending {
    /// Sends the three with `admin`'s bearer; each answer goes to `check`.
    fn send_all(self, stack: &Stack, admin: &TestUser, create: &str, check: impl Fn(&Answer)) {
        check(&stack.send("POST", "/auth/action", self.action.as_bytes(), Some(&admin.token), &[]));
        check(&send(stack, admin, "POST", "/wallets", create, &[("X-User-Action".to_owned(), self.token)]));
        check(&stack.send("POST", "/auth/login", self.login.as_bytes(), None, &[]));
    }
}

#[test]
fn a_challenge_or_token_from_before_an_enclave_restart_is_refused() {
    let mut stack = Stack::start();
    let admin = dev_user(&stack);
    let create = json!({ "curve": "ed25519" }).to_string();
    let before = pending(&stack, &admin, &create);
    let rows = wallet_rows(&stack);

    stack.restart();
    let admin = dev_user(&stack);
    before.send_all(&stack, &admin, &create, assert_forbidden);
    assert_eq!(wallet_rows(&stack), rows);
    // This boot's challenges work.
    assert_ok(&call_with_user_action(&stack, &admin, "POST", "/wallets", &create));
    assert_eq!(wallet_rows(&stack), rows + 1);
}

/// A stack whose enclave lets challenges and user-action tokens live `ttl_secs`
/// (`--user-action-ttl-secs`), through a wrapper script given to `signer-parent dev` as its
/// enclave binary.
fn stack_with_user_action_ttl(dir: &std::path::Path, ttl_secs: u64) -> Stack {
    use std::os::unix::fs::PermissionsExt as _;
    let wrapper = dir.join("enclave-short-ttl.sh");
    let enclave = signer_e2e::bin("signer-enclave");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec '{}' \"$@\" --user-action-ttl-secs {ttl_secs}\n", enclave.display()),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    Stack::start_in_with(&data, &["--enclave-bin", wrapper.to_str().unwrap()])
}

#[test]
fn an_expired_challenge_or_user_action_token_is_refused() {
    const TTL_SECS: u64 = 2;
    let tmp = tempfile::tempdir().unwrap();
    let stack = stack_with_user_action_ttl(tmp.path(), TTL_SECS);
    let admin = dev_user(&stack);
    let create = json!({ "curve": "ed25519" }).to_string();
    let before = pending(&stack, &admin, &create);
    let rows = wallet_rows(&stack);

    std::thread::sleep(std::time::Duration::from_millis(TTL_SECS * 1000 + 500));
    let expired = |answer: &Answer| {
        assert_forbidden(answer);
        assert!(answer.1["error"]["message"].as_str().unwrap().contains("expired"), "{}", answer.1);
    };
    before.send_all(&stack, &admin, &create, expired);
    assert_eq!(wallet_rows(&stack), rows);
    // A challenge answered within its life works.
    assert_ok(&call_with_user_action(&stack, &admin, "POST", "/wallets", &create));
    assert_eq!(wallet_rows(&stack), rows + 1);
}

#[test]
fn another_users_credential_and_deactivated_credentials_are_refused() {
    let stack = Stack::start();
    let alice = new_member(&stack, "alice", "ES256");
    let bob = new_member(&stack, "bob", "EdDSA");
    let wa = create_wallet(&stack, &alice, "secp256k1")["id"].as_str().unwrap().to_owned();
    let h = hash_body(&[9; 32]);
    let create = json!({ "curve": "secp256k1" }).to_string();
    let rows = wallet_rows(&stack);

    // Bob's bearer with Alice's credential, and the other way round: refused.
    let headers = one_shot_now(&alice.credential, "POST", &sigs(&wa), h.as_bytes());
    assert_forbidden(&send(&stack, &bob, "POST", &sigs(&wa), &h, &headers));
    let headers = one_shot_now(&bob.credential, "POST", "/wallets", create.as_bytes());
    assert_forbidden(&send(&stack, &alice, "POST", "/wallets", &create, &headers));
    // Alice's challenge signed by Bob's credential: no user action.
    let init =
        json!({ "userActionPayload": h, "userActionHttpMethod": "POST", "userActionHttpPath": sigs(&wa) });
    let (_, challenge) =
        stack.send("POST", "/auth/action/init", init.to_string().as_bytes(), Some(&alice.token), &[]);
    let signed = json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": bob.credential.sign_challenge(challenge["challenge"].as_str().unwrap()),
    });
    assert_forbidden(&stack.send(
        "POST",
        "/auth/action",
        signed.to_string().as_bytes(),
        Some(&alice.token),
        &[],
    ));
    // Bob, properly signed, on Alice's wallet: refused (he does not own it).
    assert_forbidden(&call_one_shot(&stack, &bob, "POST", &sigs(&wa), &h));
    assert_forbidden(&call_with_user_action(&stack, &bob, "POST", &sigs(&wa), &h));
    assert_eq!(wallet_rows(&stack), rows);
    assert_ok(&call_one_shot(&stack, &alice, "POST", &sigs(&wa), &h));

    // A deactivated credential signs nothing and logs in nowhere, until reactivated.
    let second = alice.with(add_key_credential(&stack, &alice, "ES256K"));
    let cred2 = second.credential.cred_id.clone();
    let answer = set_credential_status(&stack, &alice, &cred2, false);
    assert_ok(&answer);
    assert_eq!(answer.1["credential"]["status"], "Inactive", "{}", answer.1);
    assert_forbidden(&call_one_shot(&stack, &second, "POST", "/wallets", &create));
    let sign2 = |c: &Value| second.credential.sign_challenge(c["challenge"].as_str().unwrap());
    assert_forbidden(&action_answer(&stack, &alice.token, "POST", "/wallets", &create, sign2));
    assert_forbidden(&login_with(&stack, &alice.org_id, &alice.username, sign2));
    assert_eq!(wallet_rows(&stack), rows);
    // Reactivated (by the first credential), it acts again.
    let answer = set_credential_status(&stack, &alice, &cred2, true);
    assert_ok(&answer);
    assert_eq!(answer.1["credential"]["status"], "Active", "{}", answer.1);
    assert_ok(&call_one_shot(&stack, &second, "POST", "/wallets", &create));
    assert_eq!(wallet_rows(&stack), rows + 1);

    // A user keeps one active credential: deactivating the last one is refused (409).
    assert_ok(&set_credential_status(&stack, &alice, &cred2, false));
    let first = alice.credential.cred_id.clone();
    assert_error(&set_credential_status(&stack, &alice, &first, false), 409, "conflict");
    assert_ok(&call_one_shot(&stack, &alice, "POST", &sigs(&wa), &h));
}
