//! User authorisation, sans-I/O on `EnclaveCore`: the flows, and the attacks on tokens,
//! challenges and one-shot requests, each refused with nothing changed (the same honest request
//! then succeeds).
#![cfg(feature = "mock-nsm")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use serde_bytes::ByteBuf;
use signer_common::identity::{CredentialKind, Record, Role, Status};
use signer_common::protocol::{
    CallAuth, ChallengeKind, ErrorCode, Outcome, Request, Response, WalletCreated,
};
use support::calls::*;
use support::{Enclave, T0, admin, assert_refused, binding, try_register, wallet_context};

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

/// `--user-action-ttl-secs`: a shorter life is used; a longer one than five minutes is not.
#[test]
fn a_configured_token_life_is_used_up_to_five_minutes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    for (ttl_ms, life_ms) in [(1_000, 1_000), (10 * 60 * 1000, 5 * 60 * 1000)] {
        let now = Arc::new(AtomicU64::new(T0));
        let clock = now.clone();
        let core = signer_enclave::core::EnclaveCore::new(
            Arc::new(
                signer_enclave::nsm::mock::MockNsm::open(tempfile::tempdir().unwrap().path(), b"x").unwrap(),
            ),
            Some(signer_enclave::keys::MasterKey::from_bytes([9; 32])),
            Arc::new(move || clock.load(Ordering::SeqCst)),
        )
        .with_short_ttl_ms(ttl_ms);
        let user = admin(&mut |r| core.handle(r), "or-1", 7);
        let first = user.assert_request(&mut |r| core.handle(r), ChallengeKind::Login);
        let second = user.assert_request(&mut |r| core.handle(r), ChallengeKind::Login);
        now.store(T0 + life_ms - 1, Ordering::SeqCst);
        assert!(matches!(core.handle(Request::Login(first)), Response::LoggedIn(_)), "{ttl_ms}");
        now.store(T0 + life_ms, Ordering::SeqCst);
        assert_eq!(
            assert_refused(core.handle(Request::Login(second)), ErrorCode::Forbidden),
            "token expired"
        );
    }
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
