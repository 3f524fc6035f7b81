//! User authorisation, sans-I/O on `EnclaveCore`: the flows work, and every attack the enclave
//! stops is refused with nothing changed (the same honest request then succeeds).
#![cfg(feature = "mock-nsm")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use serde_bytes::ByteBuf;
use signer_common::identity::{CredentialKind, Notarized, Record, Role, Status};
use signer_common::protocol::{
    CallAuth, ChallengeKind, ErrorCode, Outcome, Request, Response, WalletCreated,
};
use support::{Enclave, T0, User, admin, assert_refused, binding, create_org, try_register, wallet_context};

const SIGN_BODY: &[u8] =
    br#"{"kind":"Hash","hash":"0x1111111111111111111111111111111111111111111111111111111111111111"}"#;
const CREATE_BODY: &[u8] = br#"{"curve":"ed25519"}"#;

fn setup() -> (Enclave, User) {
    let e = Enclave::new(9);
    let user = admin(&mut |r| e.send(r), "or-1", 7);
    (e, user)
}

fn called(response: Response) -> signer_common::protocol::Called {
    match response {
        Response::Called(c) => *c,
        other => panic!("{other:?}"),
    }
}

fn create_wallet(e: &Enclave, user: &User, id: &str) -> WalletCreated {
    match called(e.send(user.one_shot("POST", "/wallets", CREATE_BODY, e.time(), id))).outcome {
        Outcome::WalletCreated(w) => w,
        other => panic!("{other:?}"),
    }
}

fn sign_call(user: &User, wallet: &WalletCreated, auth: CallAuth) -> Request {
    let path = format!("/wallets/{}/signatures", wallet.wallet.wallet_id);
    let mut call = user.call("POST", &path, SIGN_BODY, auth);
    call.wallet = Some(wallet_context(wallet));
    Request::Call(Box::new(call))
}

fn one_shot_sign(e: &Enclave, user: &User, wallet: &WalletCreated, id: &str) -> Request {
    let path = format!("/wallets/{}/signatures", wallet.wallet.wallet_id);
    sign_call(user, wallet, user.one_shot_auth("POST", &path, SIGN_BODY, e.time(), id))
}

fn record(n: &Notarized) -> Record {
    n.decode_unverified().unwrap()
}

#[test]
fn registered_admin_logs_in_creates_a_wallet_and_signs() {
    let (e, user) = setup();
    let Record::User(u) = record(&user.user) else { panic!() };
    assert_eq!((u.role, u.status, u.version), (Role::Admin, Status::Active, 1));
    assert!(u.user_id.starts_with("us-") && u.user_id.len() == 27);
    let Record::Credential(c) = record(&user.credential) else { panic!() };
    assert_eq!(
        (c.kind, c.status, c.user_id.as_str()),
        (CredentialKind::Key, Status::Active, u.user_id.as_str())
    );

    let login = user.assert_request(&mut |r| e.send(r), ChallengeKind::Login);
    match e.send(Request::Login(login)) {
        Response::LoggedIn(l) => assert_eq!((l.user_id, l.credential), (u.user_id.clone(), None)),
        other => panic!("{other:?}"),
    }
    let wallet = create_wallet(&e, &user, "create-request-0001");
    let Record::Wallet(w) = record(&wallet.record) else { panic!() };
    assert_eq!(
        (w.owner_user_id.as_str(), w.wallet_id.as_str()),
        (u.user_id.as_str(), wallet.wallet.wallet_id.as_str())
    );
    assert_eq!(w.public_key, wallet.wallet.public_key);
    let signed = called(e.send(one_shot_sign(&e, &user, &wallet, "sign-request-00001")));
    let Outcome::Signed(s) = signed.outcome else { panic!() };
    assert_eq!(s.signature.len(), 64);

    // The same through a user action.
    let path = format!("/wallets/{}/signatures", wallet.wallet.wallet_id);
    let token = user.user_action(&mut |r| e.send(r), "POST", &path, SIGN_BODY);
    let again = called(e.send(sign_call(&user, &wallet, CallAuth::UserAction { token })));
    let Outcome::Signed(s2) = again.outcome else { panic!() };
    // Ed25519 is deterministic.
    assert_eq!(s.signature, s2.signature);
}

// ---- user actions ----

#[test]
fn a_user_action_token_is_for_its_call_only() {
    let (e, user) = setup();
    let a = create_wallet(&e, &user, "create-request-0001");
    let b = create_wallet(&e, &user, "create-request-0002");
    let path = format!("/wallets/{}/signatures", a.wallet.wallet_id);
    let token = user.user_action(&mut |r| e.send(r), "POST", &path, SIGN_BODY);
    let with = |method: &str, path: &str, body: &[u8], wallet: &WalletCreated| {
        let mut call = user.call(method, path, body, CallAuth::UserAction { token: token.clone() });
        call.wallet = Some(wallet_context(wallet));
        Request::Call(Box::new(call))
    };
    let other_body =
        br#"{"kind":"Hash","hash":"0x2222222222222222222222222222222222222222222222222222222222222222"}"#;
    for attack in [
        with("POST", &path, other_body, &a),
        with("PUT", &path, SIGN_BODY, &a),
        with("POST", &format!("{path}?x=1"), SIGN_BODY, &a),
        with("POST", &format!("/wallets/{}/signatures", b.wallet.wallet_id), SIGN_BODY, &b),
        with("POST", "/wallets", SIGN_BODY, &a),
    ] {
        assert_eq!(assert_refused(e.send(attack), ErrorCode::Forbidden), "user action is for another call");
    }
    // Nothing was consumed: the token still works for its call, once.
    assert!(matches!(e.send(with("POST", &path, SIGN_BODY, &a)), Response::Called(_)));
    assert_eq!(
        assert_refused(e.send(with("POST", &path, SIGN_BODY, &a)), ErrorCode::Forbidden),
        "token already used"
    );
}

#[test]
fn a_user_action_challenge_is_single_use_and_for_its_purpose() {
    let (e, user) = setup();
    let request = user
        .assert_request(&mut |r| e.send(r), ChallengeKind::Action(binding("POST", "/wallets", CREATE_BODY)));
    // Not a login challenge.
    assert_refused(e.send(Request::Login(request.clone())), ErrorCode::Forbidden);
    assert!(matches!(e.send(Request::UserAction(request.clone())), Response::UserActionIssued(_)));
    assert_eq!(
        assert_refused(e.send(Request::UserAction(request)), ErrorCode::Forbidden),
        "token already used"
    );
    // A login challenge is not a user action.
    let login = user.assert_request(&mut |r| e.send(r), ChallengeKind::Login);
    assert_refused(e.send(Request::UserAction(login.clone())), ErrorCode::Forbidden);
    assert!(matches!(e.send(Request::Login(login)), Response::LoggedIn(_)));
}

#[test]
fn a_bad_assertion_consumes_nothing() {
    let (e, user) = setup();
    let mut request = user.assert_request(&mut |r| e.send(r), ChallengeKind::Login);
    let honest = request.clone();
    request.assertion.signature[0] ^= 1;
    assert_eq!(
        assert_refused(e.send(Request::Login(request.clone())), ErrorCode::Forbidden),
        "signature does not verify"
    );
    // Wrong origin in the client data (signed by the user for another site).
    let (challenge, identifier) = user.challenge(&mut |r| e.send(r), ChallengeKind::Login);
    let mut phished = honest.clone();
    phished.challenge_identifier = identifier;
    phished.assertion = user.assertion(&challenge, "https://evil.example");
    assert_eq!(
        assert_refused(e.send(Request::Login(phished)), ErrorCode::Forbidden),
        "origin does not match the application's"
    );
    // Malformed client data is a bad request.
    request.assertion.client_data = ByteBuf::from(b"not json".to_vec());
    assert_refused(e.send(Request::Login(request)), ErrorCode::BadRequest);
    assert!(matches!(e.send(Request::Login(honest)), Response::LoggedIn(_)));
}

// ---- one-shot requests ----

#[test]
fn a_one_shot_request_is_single_use() {
    let (e, user) = setup();
    let wallet = create_wallet(&e, &user, "create-request-0001");
    assert!(matches!(e.send(one_shot_sign(&e, &user, &wallet, "sign-request-00001")), Response::Called(_)));
    assert_eq!(
        assert_refused(e.send(one_shot_sign(&e, &user, &wallet, "sign-request-00001")), ErrorCode::Forbidden),
        "request id already used"
    );
    // Still refused at the edge of the window, forgotten after it (when its time is refused anyway).
    e.advance(60_000);
    assert_refused(e.send(one_shot_sign(&e, &user, &wallet, "sign-request-00001")), ErrorCode::Forbidden);
    // A new id is a new request.
    assert!(matches!(e.send(one_shot_sign(&e, &user, &wallet, "sign-request-00002")), Response::Called(_)));
}

#[test]
fn a_one_shot_signature_is_for_its_call_only() {
    let (e, user) = setup();
    let wallet = create_wallet(&e, &user, "create-request-0001");
    let path = format!("/wallets/{}/signatures", wallet.wallet.wallet_id);
    let auth = user.one_shot_auth("POST", &path, SIGN_BODY, e.time(), "sign-request-00001");
    let other_body =
        br#"{"kind":"Hash","hash":"0x2222222222222222222222222222222222222222222222222222222222222222"}"#;
    let with = |method: &str, path: &str, body: &[u8]| {
        let mut call = user.call(method, path, body, auth.clone());
        call.wallet = Some(wallet_context(&wallet));
        Request::Call(Box::new(call))
    };
    for attack in [
        with("POST", &path, other_body),
        with("PUT", &path, SIGN_BODY),
        with("POST", &format!("{path}?a=b"), SIGN_BODY),
    ] {
        assert_eq!(assert_refused(e.send(attack), ErrorCode::Forbidden), "challenge does not match");
    }
    // Another time with the same signature.
    let CallAuth::OneShot { request_id, assertion, .. } = auth.clone() else { panic!() };
    let shifted = CallAuth::OneShot { time_ms: e.time() + 1, request_id, assertion };
    let mut call = user.call("POST", &path, SIGN_BODY, shifted);
    call.wallet = Some(wallet_context(&wallet));
    assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::Forbidden);
    assert!(matches!(e.send(with("POST", &path, SIGN_BODY)), Response::Called(_)));
}

#[test]
fn a_one_shot_time_outside_the_window_is_refused_both_ways() {
    let (e, user) = setup();
    let now = e.time();
    for time in [now - 60_001, now + 60_001] {
        let r = user.one_shot("POST", "/wallets", CREATE_BODY, time, "create-request-0001");
        assert_eq!(
            assert_refused(e.send(r), ErrorCode::Forbidden),
            "request time is outside the accepted window"
        );
    }
    // The edges are inside, and the refused id was not consumed.
    assert!(matches!(
        e.send(user.one_shot("POST", "/wallets", CREATE_BODY, now - 60_000, "create-request-0001")),
        Response::Called(_)
    ));
    assert!(matches!(
        e.send(user.one_shot("POST", "/wallets", CREATE_BODY, now + 60_000, "create-request-0002")),
        Response::Called(_)
    ));
}

#[test]
fn a_configured_window_is_used() {
    let e = Enclave::new(9);
    let user = admin(&mut |r| e.send(r), "or-1", 7);
    let narrow = signer_enclave::core::EnclaveCore::new(
        std::sync::Arc::new(
            signer_enclave::nsm::mock::MockNsm::open(tempfile::tempdir().unwrap().path(), b"x").unwrap(),
        ),
        Some(signer_enclave::keys::MasterKey::from_bytes([9; 32])),
        std::sync::Arc::new(|| T0),
    )
    .with_request_window_ms(1_000);
    let r = user.one_shot("POST", "/wallets", CREATE_BODY, T0 - 1_001, "create-request-0001");
    assert_refused(narrow.handle(r), ErrorCode::Forbidden);
    let r = user.one_shot("POST", "/wallets", CREATE_BODY, T0 - 1_000, "create-request-0001");
    assert!(matches!(narrow.handle(r), Response::Called(_)));
}

#[test]
fn a_one_shot_needs_a_valid_request_id_and_its_credential() {
    let (e, user) = setup();
    let r = user.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "short");
    assert_refused(e.send(r), ErrorCode::BadRequest);
    let mut call = user.call(
        "POST",
        "/wallets",
        CREATE_BODY,
        user.one_shot_auth("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001"),
    );
    call.credential = None;
    assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::BadRequest);
}

// ---- boots and clocks ----

#[test]
fn a_challenge_or_token_from_another_boot_is_refused() {
    let (e, user) = setup();
    let restarted = Enclave::new(9);
    let login = user.assert_request(&mut |r| e.send(r), ChallengeKind::Login);
    assert_eq!(
        assert_refused(restarted.send(Request::Login(login.clone())), ErrorCode::Forbidden),
        "token from another enclave boot"
    );
    let token = user.user_action(&mut |r| e.send(r), "POST", "/wallets", CREATE_BODY);
    let call = user.call("POST", "/wallets", CREATE_BODY, CallAuth::UserAction { token: token.clone() });
    assert_refused(restarted.send(Request::Call(Box::new(call.clone()))), ErrorCode::Forbidden);
    // The records themselves survive the restart (same master key), and the tokens still work
    // where they were made.
    assert!(matches!(
        restarted.send(user.one_shot("POST", "/wallets", CREATE_BODY, T0, "create-request-0001")),
        Response::Called(_)
    ));
    assert!(matches!(e.send(Request::Login(login)), Response::LoggedIn(_)));
    assert!(matches!(e.send(Request::Call(Box::new(call))), Response::Called(_)));
}

#[test]
fn an_expired_challenge_or_token_is_refused() {
    let (e, user) = setup();
    let login = user.assert_request(&mut |r| e.send(r), ChallengeKind::Login);
    let token = user.user_action(&mut |r| e.send(r), "POST", "/wallets", CREATE_BODY);
    e.advance(5 * 60 * 1000);
    assert_eq!(assert_refused(e.send(Request::Login(login)), ErrorCode::Forbidden), "token expired");
    let call = user.call("POST", "/wallets", CREATE_BODY, CallAuth::UserAction { token });
    assert_eq!(assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::Forbidden), "token expired");
}

#[test]
fn a_forged_or_edited_token_is_refused() {
    let (e, user) = setup();
    let token = user.user_action(&mut |r| e.send(r), "POST", "/wallets", CREATE_BODY);
    let mut bytes = signer_common::encoding::from_b64(&token).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    let forged = signer_common::encoding::to_b64url(&bytes);
    let call = user.call("POST", "/wallets", CREATE_BODY, CallAuth::UserAction { token: forged });
    assert_eq!(
        assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::Forbidden),
        "token tag does not verify"
    );
    let call = user.call("POST", "/wallets", CREATE_BODY, CallAuth::UserAction { token: "%%%".into() });
    assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::BadRequest);
    let call = user.call("POST", "/wallets", CREATE_BODY, CallAuth::UserAction { token });
    assert!(matches!(e.send(Request::Call(Box::new(call))), Response::Called(_)));
}

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

fn record_user_id(user: &User) -> String {
    match record(&user.user) {
        Record::User(u) => u.user_id,
        _ => panic!(),
    }
}

// ---- credentials ----

fn status_call(
    e: &Enclave,
    user: &User,
    verb: &str,
    cred_id: &[u8],
    credentials: Vec<Notarized>,
    id: &str,
) -> Request {
    let path = format!("/auth/credentials/{verb}");
    let body =
        serde_json::to_vec(&serde_json::json!({ "credId": signer_common::encoding::to_b64url(cred_id) }))
            .unwrap();
    let mut call = user.call("PUT", &path, &body, user.one_shot_auth("PUT", &path, &body, e.time(), id));
    call.credentials = credentials;
    Request::Call(Box::new(call))
}

fn credential_body(identifier: &str, new: &signer_common::protocol::NewCredential) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "challengeIdentifier": identifier,
        "credentialName": "phone",
        "credentialKind": "Key",
        "credentialInfo": {
            "credId": signer_common::encoding::to_b64url(&new.cred_id),
            "clientData": signer_common::encoding::to_b64url(&new.client_data),
            "attestationData": signer_common::encoding::to_b64url(&new.attestation_data),
        }
    }))
    .unwrap()
}

/// Adds a second Key credential (seed 99, id `second`) to `user`; answers its record.
fn add_credential(
    e: &Enclave,
    user: &User,
    request_id: &str,
    credentials: Vec<Notarized>,
) -> Result<Notarized, String> {
    let (challenge, identifier) =
        user.challenge(&mut |r| e.send(r), ChallengeKind::NewCredential(CredentialKind::Key));
    let key = ed25519_dalek::SigningKey::from_bytes(&[99; 32]);
    let new = support::new_credential(&key, b"second", &challenge, support::ORIGIN);
    let body = credential_body(&identifier, &new);
    let mut call = user.call(
        "POST",
        "/auth/credentials",
        &body,
        user.one_shot_auth("POST", "/auth/credentials", &body, e.time(), request_id),
    );
    call.credentials = credentials;
    match e.send(Request::Call(Box::new(call))) {
        Response::Called(c) => match c.outcome {
            Outcome::CredentialAdded(n) => Ok(n),
            other => panic!("{other:?}"),
        },
        Response::Error(err) => Err(err.message),
        other => panic!("{other:?}"),
    }
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

fn member_code(e: &Enclave, admin: &User, username: Option<&str>) -> String {
    let body = serde_json::to_vec(&serde_json::json!({ "username": username })).unwrap();
    let body = if username.is_none() { b"{}".to_vec() } else { body };
    let id = format!("code-request-{:04}", e.time() % 10_000 + body.len() as u64);
    match called(e.send(admin.one_shot("POST", "/auth/registration/codes", &body, e.time(), &id))).outcome {
        Outcome::RegistrationCode(c) => c.code,
        other => panic!("{other:?}"),
    }
}

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

// ---- malformed calls ----

#[test]
fn malformed_calls_are_bad_requests() {
    let (e, user) = setup();
    let cases: [(&str, &str, &[u8]); 5] = [
        ("POST", "/wallets", b"{\"curve\":\"p256\"}"),
        ("POST", "/wallets", b"not json"),
        ("POST", "/wallets", b"{\"curve\":\"ed25519\",\"extra\":1}"),
        ("DELETE", "/wallets", b""),
        ("GET", "/nothing", b""),
    ];
    for (i, (method, path, body)) in cases.iter().enumerate() {
        let r = user.one_shot(method, path, body, e.time(), &format!("bad-request-{i:05}"));
        assert_refused(e.send(r), ErrorCode::BadRequest);
    }
    let r = user.one_shot("post", "/wallets", CREATE_BODY, e.time(), "bad-request-99999");
    assert_refused(e.send(r), ErrorCode::BadRequest);
    // Those ids were not consumed by the refusals.
    assert!(matches!(
        e.send(user.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "bad-request-00000")),
        Response::Called(_)
    ));
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

#[test]
fn another_users_user_action_token_is_refused() {
    let (e, alice) = setup();
    let code = member_code(&e, &alice, None);
    let bob = try_register(&mut |r| e.send(r), &alice.app, "or-1", "bob", &code, 8).unwrap();
    let token = alice.user_action(&mut |r| e.send(r), "POST", "/wallets", CREATE_BODY);
    let stolen = bob.call("POST", "/wallets", CREATE_BODY, CallAuth::UserAction { token: token.clone() });
    assert_eq!(
        assert_refused(e.send(Request::Call(Box::new(stolen))), ErrorCode::Forbidden),
        "user action of another user"
    );
    let own = alice.call("POST", "/wallets", CREATE_BODY, CallAuth::UserAction { token });
    assert!(matches!(e.send(Request::Call(Box::new(own))), Response::Called(_)));
}

#[test]
fn tokens_live_five_minutes_and_codes_up_to_thirty_days() {
    let (e, user) = setup();
    let login = user.assert_request(&mut |r| e.send(r), ChallengeKind::Login);
    e.advance(5 * 60 * 1000 - 1);
    assert!(matches!(e.send(Request::Login(login)), Response::LoggedIn(_)));
    let org = |ttl: u64| {
        e.send(Request::CreateOrg(signer_common::protocol::CreateOrg {
            org_id: "or-9".into(),
            app_id: "ap-9".into(),
            origin: support::ORIGIN.into(),
            rp_id: "localhost".into(),
            rp_name: "Signer".into(),
            user_verification: signer_common::identity::UserVerification::Required,
            admin_username: "root".into(),
            code_ttl_secs: ttl,
        }))
    };
    assert_refused(org(30 * 24 * 3600 + 1), ErrorCode::BadRequest);
    assert_refused(org(0), ErrorCode::BadRequest);
    let Response::OrgCreated(created) = org(30 * 24 * 3600) else { panic!() };
    assert_eq!(created.expires_at_ms, e.time() + 30 * 24 * 3600 * 1000);
}
