//! User authorisation, sans-I/O on `EnclaveCore`: the attacks on notarized records (users,
//! credentials, wallets), credential changes and registration codes, each refused with nothing
//! changed (the same honest request then succeeds).
#![cfg(feature = "mock-nsm")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use serde_bytes::ByteBuf;
use signer_common::identity::{Notarized, Record, Role, Status};
use signer_common::protocol::{ChallengeKind, ErrorCode, Outcome, Request, Response};
use support::calls::*;
use support::{Enclave, User, admin, assert_refused, create_org, try_register, wallet_context};

// ---- records ----

#[test]
fn another_users_credential_is_refused() {
    let (e, alice) = setup();
    let code = member_code(&e, &alice, Some("bob"));
    let bob = try_register(&mut |r| e.send(r), &alice.app, "or-1", "bob", &code, 8).unwrap();
    // Alice's user with Bob's credential, signed by Bob.
    let mut mixed = bob.clone();
    mixed.user = alice.user.clone();
    assert_eq!(
        assert_refused(
            e.send(mixed.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
            ErrorCode::Forbidden
        ),
        "credential of another user"
    );
    let mut login = mixed.assert_request(&mut |r| e.send(r), ChallengeKind::Login);
    login.credential = bob.credential.clone();
    assert_refused(e.send(Request::Login(login)), ErrorCode::Forbidden);
    // Bob's own works.
    assert!(matches!(
        e.send(bob.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
        Response::Called(_)
    ));
}

#[test]
fn a_forged_or_edited_credential_record_is_refused() {
    let (e, user) = setup();
    let mut forged = user.clone();
    forged.credential.tag[3] ^= 0x40;
    assert_eq!(
        assert_refused(
            e.send(forged.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
            ErrorCode::Forbidden
        ),
        "record tag does not verify"
    );
    // An edited body: another public key (the attacker's) under the honest tag.
    let attacker = ed25519_dalek::SigningKey::from_bytes(&[66; 32]);
    let Record::Credential(mut c) = record(&user.credential) else { panic!() };
    c.public_key = signer_common::userauth::CredentialPublicKey::Ed25519(ByteBuf::from(
        attacker.verifying_key().to_bytes().to_vec(),
    ));
    let mut edited = user.clone();
    edited.key = attacker;
    edited.credential =
        Notarized { body: ByteBuf::from(Record::Credential(c).encode()), tag: user.credential.tag.clone() };
    assert_refused(
        e.send(edited.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
        ErrorCode::Forbidden,
    );
    // A record of another kind in the credential's place (the user record, honestly tagged).
    let mut swapped = user.clone();
    swapped.credential = user.user.clone();
    assert_eq!(
        assert_refused(
            e.send(swapped.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
            ErrorCode::Forbidden
        ),
        "record is not a credential"
    );
    // A record from another deployment.
    let other = Enclave::new(1);
    let stranger = admin(&mut |r| other.send(r), "or-1", 7);
    assert_refused(
        e.send(stranger.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
        ErrorCode::Forbidden,
    );
    assert!(matches!(
        e.send(user.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
        Response::Called(_)
    ));
}

#[test]
fn an_edited_or_swapped_wallet_record_is_refused() {
    let e = Enclave::new(9);
    let alice = admin(&mut |r| e.send(r), "or-1", 7);
    let code = member_code(&e, &alice, None);
    let bob = try_register(&mut |r| e.send(r), &alice.app, "or-1", "bob", &code, 8).unwrap();
    let alices = create_wallet(&e, &alice, "create-request-0001");
    let bobs = create_wallet(&e, &bob, "create-request-0002");
    // Bob signs with Alice's wallet.
    assert_eq!(
        assert_refused(e.send(one_shot_sign(&e, &bob, &alices, "sign-request-00001")), ErrorCode::Forbidden),
        "wallet of another user"
    );
    // Alice's record edited to name Bob as owner (the tag no longer verifies).
    let Record::Wallet(mut w) = record(&alices.record) else { panic!() };
    w.owner_user_id = record_user_id(&bob);
    let mut edited = alices.clone();
    edited.record.body = ByteBuf::from(Record::Wallet(w).encode());
    assert_eq!(
        assert_refused(e.send(one_shot_sign(&e, &bob, &edited, "sign-request-00002")), ErrorCode::Forbidden),
        "record tag does not verify"
    );
    // Bob's own record beside Alice's sealed wallet.
    let mut swapped = alices.clone();
    swapped.record = bobs.record.clone();
    let path = format!("/wallets/{}/signatures", alices.wallet.wallet_id);
    let mut call = bob.call(
        "POST",
        &path,
        SIGN_BODY,
        bob.one_shot_auth("POST", &path, SIGN_BODY, e.time(), "sign-request-00003"),
    );
    call.wallet = Some(wallet_context(&swapped));
    assert_eq!(
        assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::Forbidden),
        "wallet record is for another wallet"
    );
    // Bob's path and record with Alice's sealed key.
    let mut sealed_swap = bobs.clone();
    sealed_swap.wallet = alices.wallet.clone();
    sealed_swap.wallet.wallet_id = bobs.wallet.wallet_id.clone();
    assert_refused(e.send(one_shot_sign(&e, &bob, &sealed_swap, "sign-request-00004")), ErrorCode::Forbidden);
    // A signature call without the wallet.
    let path = format!("/wallets/{}/signatures", bobs.wallet.wallet_id);
    assert_refused(
        e.send(bob.one_shot("POST", &path, SIGN_BODY, e.time(), "sign-request-00005")),
        ErrorCode::BadRequest,
    );
    // The honest calls work, with the ids the refused ones named.
    assert!(matches!(e.send(one_shot_sign(&e, &bob, &bobs, "sign-request-00001")), Response::Called(_)));
    assert!(matches!(e.send(one_shot_sign(&e, &alice, &alices, "sign-request-00002")), Response::Called(_)));
}

#[test]
fn the_last_active_credential_cannot_be_deactivated() {
    let (e, user) = setup();
    let r = status_call(
        &e,
        &user,
        "deactivate",
        &user.cred_id,
        vec![user.credential.clone()],
        "deactivate-000001",
    );
    assert_eq!(
        assert_refused(e.send(r), ErrorCode::Conflict),
        "cannot deactivate the user's last active credential"
    );
    // With a second credential it can.
    let second = add_credential(&e, &user, "add-credential-001", vec![user.credential.clone()]).unwrap();
    let r = status_call(
        &e,
        &user,
        "deactivate",
        &user.cred_id,
        vec![user.credential.clone(), second.clone()],
        "deactivate-000001",
    );
    let Outcome::CredentialUpdated(updated) = called(e.send(r)).outcome else { panic!() };
    let Record::Credential(c) = record(&updated) else { panic!() };
    assert_eq!((c.status, c.version), (Status::Inactive, 2));
    // Deactivated: it no longer signs, even with its new record.
    let mut inactive = user.clone();
    inactive.credential = updated.clone();
    assert_eq!(
        assert_refused(
            e.send(inactive.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
            ErrorCode::Forbidden
        ),
        "credential is not active"
    );
    // Rolled back: the old active record is refused within this boot.
    assert_eq!(
        assert_refused(
            e.send(user.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0002")),
            ErrorCode::Forbidden
        ),
        "record rolled back"
    );
}

#[test]
fn a_new_credential_signs_and_its_id_is_added_once() {
    let (e, user) = setup();
    let second = add_credential(&e, &user, "add-credential-001", vec![user.credential.clone()]).unwrap();
    let Record::Credential(c) = record(&second) else { panic!() };
    assert_eq!((c.status, c.version, c.name.as_str()), (Status::Active, 1, "phone"));
    let phone = User {
        key: ed25519_dalek::SigningKey::from_bytes(&[99; 32]),
        cred_id: b"second".to_vec(),
        credential: second.clone(),
        ..user.clone()
    };
    assert!(matches!(
        e.send(phone.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
        Response::Called(_)
    ));
    // The same id again, the user's records listing it.
    assert_eq!(
        add_credential(&e, &user, "add-credential-002", vec![user.credential.clone(), second.clone()])
            .unwrap_err(),
        "the user already has a credential with this id"
    );
    // Another user's record among the list refuses the call.
    let code = member_code(&e, &user, None);
    let bob = try_register(&mut |r| e.send(r), &user.app, "or-1", "bob", &code, 8).unwrap();
    assert_eq!(
        add_credential(&e, &user, "add-credential-003", vec![bob.credential.clone()]).unwrap_err(),
        "credential of another user"
    );
}

#[test]
fn a_new_credential_needs_its_own_challenge() {
    let (e, user) = setup();
    // A login challenge in place of a NewCredential one.
    let (challenge, identifier) = user.challenge(&mut |r| e.send(r), ChallengeKind::Login);
    let key = ed25519_dalek::SigningKey::from_bytes(&[99; 32]);
    let new = support::new_credential(&key, b"second", &challenge, support::ORIGIN);
    let body = credential_body(&identifier, &new);
    let mut call = user.call(
        "POST",
        "/auth/credentials",
        &body,
        user.one_shot_auth("POST", "/auth/credentials", &body, e.time(), "add-credential-001"),
    );
    call.credentials = vec![user.credential.clone()];
    assert_eq!(
        assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::Forbidden),
        "challenge is not for a new credential of this kind"
    );
    // The request id was not consumed.
    add_credential(&e, &user, "add-credential-001", vec![user.credential.clone()]).unwrap();
}

// ---- registration codes ----

#[test]
fn a_member_cannot_issue_registration_codes() {
    let (e, alice) = setup();
    let code = member_code(&e, &alice, Some("bob"));
    let bob = try_register(&mut |r| e.send(r), &alice.app, "or-1", "bob", &code, 8).unwrap();
    let Record::User(b) = record(&bob.user) else { panic!() };
    assert_eq!(b.role, Role::Member);
    let r = bob.one_shot("POST", "/auth/registration/codes", b"{}", e.time(), "code-request-00001");
    assert_eq!(assert_refused(e.send(r), ErrorCode::Forbidden), "only admins issue registration codes");
}

#[test]
fn a_registration_code_is_single_use_bound_and_expires() {
    let (e, alice) = setup();
    // For another username.
    let code = member_code(&e, &alice, Some("bob"));
    assert_eq!(
        try_register(&mut |r| e.send(r), &alice.app, "or-1", "mallory", &code, 8).unwrap_err().message,
        "registration code is for another username"
    );
    // For another organisation (its app record).
    let (other_app, _) = create_org(&mut |r| e.send(r), "or-2", "carol");
    assert_refused(
        e.send(Request::RegistrationInit(signer_common::protocol::RegistrationInit {
            app: other_app.clone(),
            org_id: "or-2".into(),
            username: "bob".into(),
            registration_code: code.clone(),
        })),
        ErrorCode::Forbidden,
    );
    // Used once.
    try_register(&mut |r| e.send(r), &alice.app, "or-1", "bob", &code, 8).unwrap();
    assert_eq!(
        try_register(&mut |r| e.send(r), &alice.app, "or-1", "bob", &code, 9).unwrap_err().message,
        "token already used"
    );
    // Expired after 24 hours; a registration code survives a restart until then.
    let unbound = member_code(&e, &alice, None);
    let restarted = Enclave::new(9);
    restarted.advance(24 * 3600 * 1000 - 1);
    try_register(&mut |r| restarted.send(r), &alice.app, "or-1", "dave", &unbound, 10).unwrap();
    let late = member_code(&e, &alice, Some("erin"));
    e.advance(24 * 3600 * 1000);
    assert_eq!(
        try_register(&mut |r| e.send(r), &alice.app, "or-1", "erin", &late, 11).unwrap_err().message,
        "token expired"
    );
}

#[test]
fn a_failed_registration_consumes_nothing() {
    let e = Enclave::new(9);
    let (app, code) = create_org(&mut |r| e.send(r), "or-1", "admin");
    let init = match e.send(Request::RegistrationInit(signer_common::protocol::RegistrationInit {
        app: app.clone(),
        org_id: "or-1".into(),
        username: "admin".into(),
        registration_code: code.clone(),
    })) {
        Response::RegistrationChallenge(c) => c,
        other => panic!("{other:?}"),
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    // Signed for another origin.
    let phished = support::new_credential(&key, b"c", &init.challenge, "https://evil.example");
    let register = |credential| {
        Request::Register(signer_common::protocol::Register {
            app: app.clone(),
            temporary_token: init.temporary_token.clone(),
            credential,
        })
    };
    assert_refused(e.send(register(phished)), ErrorCode::Forbidden);
    // Malformed attestation data.
    let mut malformed = support::new_credential(&key, b"c", &init.challenge, support::ORIGIN);
    malformed.attestation_data = ByteBuf::from(b"{".to_vec());
    assert_refused(e.send(register(malformed)), ErrorCode::BadRequest);
    // Then the honest registration works, once.
    let honest = support::new_credential(&key, b"c", &init.challenge, support::ORIGIN);
    assert!(matches!(e.send(register(honest.clone())), Response::Registered(_)));
    assert_refused(e.send(register(honest)), ErrorCode::Forbidden);
}

#[test]
fn two_deactivations_prepared_together_cannot_leave_the_user_without_a_credential() {
    let (e, user) = setup();
    let second = add_credential(&e, &user, "add-credential-001", vec![user.credential.clone()]).unwrap();
    let both = vec![user.credential.clone(), second.clone()];
    let first = status_call(&e, &user, "deactivate", &user.cred_id, both.clone(), "deactivate-000001");
    let other = status_call(&e, &user, "deactivate", b"second", both, "deactivate-000002");
    assert!(matches!(e.send(first), Response::Called(_)));
    // The second presents the first credential as still active: that record was rolled back.
    assert_eq!(assert_refused(e.send(other), ErrorCode::Forbidden), "record rolled back");
}
