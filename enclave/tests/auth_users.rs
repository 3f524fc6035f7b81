//! User status changes, sans-I/O on `EnclaveCore`: an admin deactivates and activates a user
//! with a user action; a deactivated user authorises nothing; a member cannot change anyone; an
//! organisation keeps an active admin; forged or rolled-back user records are refused. Each
//! refusal changes nothing (the honest request then succeeds).
#![cfg(feature = "mock-nsm")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use serde_bytes::ByteBuf;
use signer_common::identity::{Notarized, Record, Role, Status};
use signer_common::protocol::{CallAuth, ErrorCode, Outcome, Request, Response};
use support::calls::*;
use support::{Enclave, User, assert_refused, try_register};

/// `acting`'s one-shot `PUT /auth/users/{target}/{verb}` presenting `users`.
fn status_call(
    e: &Enclave,
    acting: &User,
    target: &str,
    verb: &str,
    users: &[&Notarized],
    id: &str,
) -> Request {
    let path = format!("/auth/users/{target}/{verb}");
    let auth = acting.one_shot_auth("PUT", &path, b"", e.time(), id);
    let mut call = acting.call("PUT", &path, b"", auth);
    call.users = users.iter().map(|n| (*n).clone()).collect();
    Request::Call(Box::new(call))
}

fn updated(response: Response) -> Notarized {
    match called(response).outcome {
        Outcome::UserUpdated(n) => n,
        other => panic!("{other:?}"),
    }
}

fn status_of(n: &Notarized) -> (Status, u64) {
    match Record::decode(&n.body).unwrap() {
        Record::User(u) => (u.status, u.version),
        other => panic!("{other:?}"),
    }
}

fn member(e: &Enclave, admin: &User, name: &str, seed: u8) -> User {
    let code = member_code(e, admin, Some(name));
    try_register(&mut |r| e.send(r), &admin.app, "or-1", name, &code, seed).unwrap()
}

#[test]
fn an_admin_deactivates_and_activates_a_member() {
    let (e, alice) = setup();
    let mut bob = member(&e, &alice, "bob", 8);
    let inactive = updated(e.send(status_call(
        &e,
        &alice,
        &bob.user_id,
        "deactivate",
        &[&bob.user],
        "status-req-000001",
    )));
    assert_eq!(status_of(&inactive), (Status::Inactive, 2));
    // Bob with his new record: not active; with the old one: rolled back.
    let old = bob.user.clone();
    bob.user = inactive.clone();
    let r = bob.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001");
    assert_eq!(assert_refused(e.send(r), ErrorCode::Forbidden), "user is not active");
    bob.user = old;
    let r = bob.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0002");
    assert_eq!(assert_refused(e.send(r), ErrorCode::Forbidden), "record rolled back");
    // Twice: a conflict. Then activated, Bob works again.
    let r = status_call(&e, &alice, &bob.user_id, "deactivate", &[&inactive], "status-req-000002");
    assert_eq!(assert_refused(e.send(r), ErrorCode::Conflict), "user is already Inactive");
    let active =
        updated(e.send(status_call(&e, &alice, &bob.user_id, "activate", &[&inactive], "status-req-000003")));
    assert_eq!(status_of(&active), (Status::Active, 3));
    bob.user = active;
    assert!(matches!(
        e.send(bob.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0003")),
        Response::Called(_)
    ));
}

#[test]
fn a_member_changes_nobody_and_the_last_admin_stays() {
    let (e, alice) = setup();
    let bob = member(&e, &alice, "bob", 8);
    let r = status_call(&e, &bob, &alice.user_id, "deactivate", &[&alice.user], "status-req-000001");
    assert_eq!(assert_refused(e.send(r), ErrorCode::Forbidden), "only an admin may change a user's status");
    let r = status_call(&e, &bob, &bob.user_id, "deactivate", &[&bob.user], "status-req-000002");
    assert_refused(e.send(r), ErrorCode::Forbidden);
    // Alice is the only admin: she cannot deactivate herself, even presenting Bob (a member).
    let r =
        status_call(&e, &alice, &alice.user_id, "deactivate", &[&alice.user, &bob.user], "status-req-000003");
    assert_eq!(
        assert_refused(e.send(r), ErrorCode::Conflict),
        "an organisation keeps at least one active admin"
    );
    // A target that is not presented, a malformed id, a body that asks for more.
    let r = status_call(&e, &alice, &bob.user_id, "deactivate", &[&alice.user], "status-req-000004");
    assert_refused(e.send(r), ErrorCode::NotFound);
    let r = status_call(&e, &alice, "us bob", "deactivate", &[&bob.user], "status-req-000005");
    assert_refused(e.send(r), ErrorCode::BadRequest);
    let path = format!("/auth/users/{}/deactivate", bob.user_id);
    let body = br#"{"status":"Active"}"#;
    let mut call = alice.call(
        "PUT",
        &path,
        body,
        alice.one_shot_auth("PUT", &path, body, e.time(), "status-req-000006"),
    );
    call.users = vec![bob.user.clone()];
    assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::BadRequest);
    // The honest change works, and `{}` is as good as no body.
    let mut call = alice.call(
        "PUT",
        &path,
        b"{}",
        alice.one_shot_auth("PUT", &path, b"{}", e.time(), "status-req-000007"),
    );
    call.users = vec![bob.user.clone()];
    assert!(matches!(called(e.send(Request::Call(Box::new(call)))).outcome, Outcome::UserUpdated(_)));
}

#[test]
fn another_active_admin_lets_an_admin_go() {
    let (e, alice) = setup();
    let code = admin_code(&e, &alice, "carol");
    let carol = try_register(&mut |r| e.send(r), &alice.app, "or-1", "carol", &code, 9).unwrap();
    assert_eq!(role_of(&carol.user), Role::Admin);
    // Without Carol's record presented, Alice is the last admin as far as the enclave can tell.
    let r = status_call(&e, &carol, &alice.user_id, "deactivate", &[&alice.user], "status-req-000001");
    assert_refused(e.send(r), ErrorCode::Conflict);
    let r = status_call(
        &e,
        &carol,
        &alice.user_id,
        "deactivate",
        &[&alice.user, &carol.user],
        "status-req-000002",
    );
    assert_eq!(status_of(&updated(e.send(r))).0, Status::Inactive);
}

#[test]
fn forged_user_records_are_refused() {
    let (e, alice) = setup();
    let bob = member(&e, &alice, "bob", 8);
    // Bob's record re-encoded as an admin under its old tag; and a record of another org's key.
    let mut forged = Record::decode(&bob.user.body).unwrap();
    let Record::User(u) = &mut forged else { panic!() };
    u.role = Role::Admin;
    let forged = Notarized { body: ByteBuf::from(forged.encode()), tag: bob.user.tag.clone() };
    let r =
        status_call(&e, &alice, &alice.user_id, "deactivate", &[&alice.user, &forged], "status-req-000001");
    assert_eq!(assert_refused(e.send(r), ErrorCode::Forbidden), "record tag does not verify");
    let other = Enclave::new(9);
    let stranger = support::admin(&mut |r| other.send(r), "or-2", 5);
    let r = status_call(&e, &alice, &stranger.user_id, "deactivate", &[&stranger.user], "status-req-000002");
    assert_refused(e.send(r), ErrorCode::Forbidden);
    // A user action token for another user's change is no use either.
    let path = format!("/auth/users/{}/deactivate", bob.user_id);
    let token = alice.user_action(&mut |r| e.send(r), "PUT", "/auth/users/us-x/deactivate", b"");
    let mut call = alice.call("PUT", &path, b"", CallAuth::UserAction { token });
    call.users = vec![bob.user.clone()];
    assert_eq!(
        assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::Forbidden),
        "user action is for another call"
    );
    // Nothing changed: the honest change works.
    assert!(matches!(
        called(e.send(status_call(
            &e,
            &alice,
            &bob.user_id,
            "deactivate",
            &[&bob.user],
            "status-req-000003"
        )))
        .outcome,
        Outcome::UserUpdated(_)
    ));
}

#[test]
fn an_admin_creates_a_service_account_that_signs_with_its_key() {
    use ed25519_dalek::pkcs8::EncodePublicKey as _;
    let (e, alice) = setup();
    let bob = member(&e, &alice, "bob", 8);
    let key = ed25519_dalek::SigningKey::from_bytes(&[21; 32]);
    let pem = key.verifying_key().to_public_key_pem(Default::default()).unwrap();
    let body = serde_json::json!({ "name": "ci-bot", "publicKey": pem }).to_string();
    let create = |who: &User, body: &str, id: &str| {
        e.send(who.one_shot("POST", "/auth/service-accounts", body.as_bytes(), e.time(), id))
    };
    assert_eq!(
        assert_refused(create(&bob, &body, "account-req-000001"), ErrorCode::Forbidden),
        "only an admin may create a service account"
    );
    let with_permission =
        serde_json::json!({ "name": "ci-bot", "publicKey": pem, "permissionId": "pm-1" }).to_string();
    assert_refused(create(&alice, &with_permission, "account-req-000002"), ErrorCode::BadRequest);
    let bad_key = serde_json::json!({ "name": "ci-bot", "publicKey": "not a key" }).to_string();
    assert_refused(create(&alice, &bad_key, "account-req-000003"), ErrorCode::BadRequest);
    let Outcome::ServiceAccountCreated { user, credential } =
        called(create(&alice, &body, "account-req-000004")).outcome
    else {
        panic!("no service account")
    };
    let (Record::User(u), Record::Credential(c)) =
        (Record::decode(&user.body).unwrap(), Record::decode(&credential.body).unwrap())
    else {
        panic!("records")
    };
    assert!(
        u.service_account && u.role == Role::Member && u.status == Status::Active && u.username == "ci-bot"
    );
    assert_eq!(
        (c.user_id.as_str(), c.kind),
        (u.user_id.as_str(), signer_common::identity::CredentialKind::Key)
    );
    // It signs its own calls with its key.
    let bot = User {
        key,
        cred_id: c.cred_id.to_vec(),
        org_id: "or-1".into(),
        user_id: u.user_id,
        app: alice.app.clone(),
        user,
        credential,
    };
    assert!(matches!(
        e.send(bot.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
        Response::Called(_)
    ));
    // `/auth/service-accounts/{id}/...` names service accounts only.
    let r = status_call(&e, &alice, &bob.user_id, "deactivate", &[&bob.user], "status-req-000001");
    let mut call = match r {
        Request::Call(c) => *c,
        _ => unreachable!(),
    };
    call.path = format!("/auth/service-accounts/{}/deactivate", bob.user_id);
    call.auth = alice.one_shot_auth("PUT", &call.path, b"", e.time(), "status-req-000002");
    assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::NotFound);
}

fn role_of(n: &Notarized) -> Role {
    match Record::decode(&n.body).unwrap() {
        Record::User(u) => u.role,
        other => panic!("{other:?}"),
    }
}

/// A registration code for an admin named `username`.
fn admin_code(e: &Enclave, admin: &User, username: &str) -> String {
    let body = serde_json::to_vec(&serde_json::json!({ "username": username, "role": "Admin" })).unwrap();
    match called(e.send(admin.one_shot(
        "POST",
        "/auth/registration/codes",
        &body,
        e.time(),
        "code-request-admin1",
    )))
    .outcome
    {
        Outcome::RegistrationCode(c) => c.code,
        other => panic!("{other:?}"),
    }
}
