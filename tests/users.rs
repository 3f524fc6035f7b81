//! User deactivation and activation on the real stack: an admin's user action; from the next
//! request on the deactivated user's token is refused by the parent and their calls by the
//! enclave, and they cannot log in; a member changes nobody; the last admin stays; refusals
//! change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use signer_e2e::Stack;
use signer_e2e::auth_support::{
    Answer, TestUser, assert_error, call_one_shot, create_wallet, dev_user, hash_body, login, new_member,
};
use signer_e2e::db::Db;

fn status_path(user: &TestUser, verb: &str) -> String {
    format!("/auth/users/{}/{verb}", user.user_id)
}

fn assert_status(answer: &Answer, status: &str) {
    assert_eq!(answer.0, 200, "{}", answer.1);
    assert_eq!(answer.1["status"], status, "{}", answer.1);
    assert_eq!(answer.1["isActive"], status == "Active", "{}", answer.1);
}

#[test]
fn a_deactivated_user_is_refused_from_the_next_request_until_activated() {
    let stack = Stack::start();
    let admin = dev_user(&stack);
    let bob = new_member(&stack, "bob", "EdDSA");
    let wallet = create_wallet(&stack, &bob, "ed25519")["id"].as_str().unwrap().to_owned();
    let sign = format!("/wallets/{wallet}/signatures");
    let h = hash_body(&[7; 32]);
    assert_eq!(call_one_shot(&stack, &bob, "POST", &sign, &h).0, 200);

    // The bearer alone changes nothing; a member changes nobody.
    let answer = stack.send("PUT", &status_path(&bob, "deactivate"), b"", Some(&admin.token), &[]);
    assert_error(&answer, 403, "user_action_required");
    assert_error(
        &call_one_shot(&stack, &bob, "PUT", &status_path(&admin, "deactivate"), ""),
        403,
        "forbidden",
    );
    assert_eq!(stack.get("/wallets", Some(&bob.token)).unwrap().0, 200, "Bob is untouched");

    let active_record = Db::open(&stack).user_record(&bob.user_id);
    // Deactivated: Bob's token, his signatures and his login are refused at once.
    assert_status(&call_one_shot(&stack, &admin, "PUT", &status_path(&bob, "deactivate"), ""), "Inactive");
    assert_eq!(stack.get("/wallets", Some(&bob.token)).unwrap().0, 401);
    assert_error(&call_one_shot(&stack, &bob, "POST", &sign, &h), 401, "unauthorized");
    let init = serde_json::json!({ "username": bob.username, "orgId": bob.org_id }).to_string();
    assert_error(&stack.send("POST", "/auth/login/init", init.as_bytes(), None, &[]), 403, "forbidden");
    // A compromised host marking Bob active again: its bearer check is fooled (reads are the
    // parent's to give), but the enclave signs nothing for him, with the inactive record or with
    // his old active one put back (rolled back within this boot).
    let db = Db::open(&stack);
    let inactive = db.user_record(&bob.user_id);
    db.set_user_row(&bob.user_id, &inactive, "Active");
    assert_eq!(stack.get("/wallets", Some(&bob.token)).unwrap().0, 200);
    assert_error(&call_one_shot(&stack, &bob, "POST", &sign, &h), 403, "forbidden");
    db.set_user_row(&bob.user_id, &active_record, "Active");
    assert_error(&call_one_shot(&stack, &bob, "POST", &sign, &h), 403, "forbidden");
    db.set_user_row(&bob.user_id, &inactive, "Inactive");
    // Twice is a conflict; the only admin cannot leave the organisation without one.
    assert_error(
        &call_one_shot(&stack, &admin, "PUT", &status_path(&bob, "deactivate"), ""),
        409,
        "conflict",
    );
    assert_error(
        &call_one_shot(&stack, &admin, "PUT", &status_path(&admin, "deactivate"), "{}"),
        409,
        "conflict",
    );
    assert_eq!(stack.get("/wallets", Some(&admin.token)).unwrap().0, 200, "the admin is untouched");
    // An unknown user: 404.
    let answer = call_one_shot(&stack, &admin, "PUT", "/auth/users/us-nobody/deactivate", "");
    assert_error(&answer, 404, "not_found");

    // Activated: the same token works again.
    assert_status(&call_one_shot(&stack, &admin, "PUT", &status_path(&bob, "activate"), ""), "Active");
    assert_eq!(stack.get("/wallets", Some(&bob.token)).unwrap().0, 200);
    assert_eq!(call_one_shot(&stack, &bob, "POST", &sign, &h).0, 200);
    login(&stack, &bob.org_id, &bob.username, &bob.credential);
}
