//! WebAuthn assertions that break a rule, on the real stack, with a Fido2 credential built by
//! hand (`signer_e2e::fido2`): another origin or rpId, another client data type, UP missing, UV
//! missing where the application requires it, a counter going backwards, ECDSA signatures in
//! BER or with a padded integer (Fido2 and Key). Each refused, nothing changed, and the honest
//! assertion then accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use serde_bytes::ByteBuf;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use signer_common::identity::{ActionBinding, CredentialKind, UserVerification};
use signer_common::protocol::{
    AssertRequest, Assertion, ChallengeKind, ChallengeRequest, CreateOrg, ErrorCode, NewCredential, Register,
    RegistrationInit, Request, Response,
};
use signer_e2e::auth_support::{
    Answer, action_answer, assert_error, call_one_shot, dev_user, hash_body, key_first_factor,
    key_get_client_data, login_with, new_member, now_ms, one_shot_challenge, one_shot_headers_with,
    random_bytes, register, registration_code, registration_init, request_id,
};
use signer_e2e::db::Db;
use signer_e2e::fido2::{HandPasskey, SignatureForm, Tweak, UP, UV, encode_signature};
use signer_e2e::{EnclaveConn, Stack};

fn assert_ok(answer: &Answer) {
    assert!(answer.0 == 200 || answer.0 == 201, "{} {}", answer.0, answer.1);
}

/// Refused as bad (400) or forbidden (403), in the API.md error shape.
fn assert_refused_encoding(answer: &Answer) {
    assert!(answer.0 == 400 || answer.0 == 403, "{} {}", answer.0, answer.1);
    assert!(
        answer.1["error"]["code"].is_string() && answer.1["error"]["message"].is_string(),
        "{}",
        answer.1
    );
}

/// Registers `username` with a hand-made passkey and logs in with counter 1: (passkey, token).
fn register_hand_passkey(stack: &Stack, username: &str) -> (HandPasskey, String) {
    let admin = dev_user(stack);
    let code = registration_code(stack, &admin, Some(username), None);
    let options = registration_init(stack, &admin.org_id, username, &code);
    let passkey = HandPasskey::new(&admin.credential.origin, options["rp"]["id"].as_str().unwrap());
    let info = passkey.registration_info(options["challenge"].as_str().unwrap());
    let temporary = options["temporaryAuthenticationToken"].as_str().unwrap();
    assert_ok(&register(stack, temporary, "Fido2", &info));
    let (status, login) = login_with(stack, &admin.org_id, username, |c| {
        passkey.sign(c["challenge"].as_str().unwrap(), &Tweak::honest(1))
    });
    assert_eq!(status, 200, "{login}");
    (passkey, login["token"].as_str().unwrap().to_owned())
}

/// A one-shot request signed by the hand-made passkey with `tweak`.
fn fido_one_shot(
    stack: &Stack,
    token: &str,
    passkey: &HandPasskey,
    path: &str,
    body: &str,
    tweak: &Tweak,
) -> Answer {
    let (time, id) = (now_ms(), request_id());
    let challenge = one_shot_challenge("POST", path, body.as_bytes(), time, &id);
    let headers = one_shot_headers_with(&passkey.sign(&challenge, tweak), time, &id);
    stack.send("POST", path, body.as_bytes(), Some(token), &headers)
}

#[test]
fn fido2_assertions_that_break_a_rule_are_refused() {
    let stack = Stack::start();
    let (passkey, token) = register_hand_passkey(&stack, "dave");
    let create = json!({ "curve": "secp256k1" }).to_string();
    let (status, wallet) = fido_one_shot(&stack, &token, &passkey, "/wallets", &create, &Tweak::honest(2));
    assert!(status == 200 || status == 201, "{status} {wallet}");
    let sigs = format!("/wallets/{}/signatures", wallet["id"].as_str().unwrap());
    let h = hash_body(&[0xd0; 32]);
    let rows = Db::open(&stack).count("wallets");

    // Each departure from an honest assertion, at a counter that moves forward (so the counter
    // is not the reason), is refused.
    let mut counter = 3;
    let mut next = || {
        counter += 1;
        counter
    };
    let cases: Vec<(&str, Tweak)> = vec![
        ("another origin", Tweak { origin: Some("http://evil.example".into()), ..Tweak::honest(next()) }),
        ("another port", Tweak { origin: Some("http://localhost:1".into()), ..Tweak::honest(next()) }),
        ("another rpId", Tweak { rp_id: Some("evil.example".into()), ..Tweak::honest(next()) }),
        ("a creation, not an assertion", Tweak { kind: "webauthn.create", ..Tweak::honest(next()) }),
        ("UP missing", Tweak { flags: UV, ..Tweak::honest(next()) }),
        ("no flags", Tweak { flags: 0, ..Tweak::honest(next()) }),
    ];
    for (what, tweak) in &cases {
        let answer = fido_one_shot(&stack, &token, &passkey, &sigs, &h, tweak);
        assert_eq!(answer.0, 403, "{what}: {}", answer.1);
        assert_error(&answer, 403, "forbidden");
    }
    // The same through a user action: refused at `POST /auth/action`.
    let evil = Tweak { origin: Some("http://evil.example".into()), ..Tweak::honest(next()) };
    let answer = action_answer(&stack, &token, "POST", &sigs, &h, |c| {
        passkey.sign(c["challenge"].as_str().unwrap(), &evil)
    });
    assert_error(&answer, 403, "forbidden");
    // ECDSA signatures in BER or with a padded integer.
    for form in [SignatureForm::BerLongLength, SignatureForm::PaddedInteger] {
        let tweak = Tweak { signature: form, ..Tweak::honest(next()) };
        assert_refused_encoding(&fido_one_shot(&stack, &token, &passkey, &sigs, &h, &tweak));
    }
    assert_eq!(Db::open(&stack).count("wallets"), rows);

    // The counter: forward accepted, backwards refused, forward again accepted.
    assert_ok(&fido_one_shot(&stack, &token, &passkey, &sigs, &h, &Tweak::honest(100)));
    let answer = fido_one_shot(&stack, &token, &passkey, &sigs, &h, &Tweak::honest(99));
    assert_error(&answer, 403, "forbidden");
    let answer = fido_one_shot(&stack, &token, &passkey, &sigs, &h, &Tweak::honest(50));
    assert_error(&answer, 403, "forbidden");
    assert_ok(&fido_one_shot(&stack, &token, &passkey, &sigs, &h, &Tweak::honest(101)));
    // UV is only preferred by the dev application: an assertion without it is accepted.
    assert_ok(&fido_one_shot(
        &stack,
        &token,
        &passkey,
        &sigs,
        &h,
        &Tweak { flags: UP, ..Tweak::honest(102) },
    ));
    assert_eq!(Db::open(&stack).count("wallets"), rows);
}

#[test]
fn key_signatures_in_ber_or_with_padded_integers_are_refused() {
    let stack = Stack::start();
    for algorithm in ["ES256", "ES256K"] {
        let user = new_member(&stack, &format!("erin-{}", algorithm.to_ascii_lowercase()), algorithm);
        let create = json!({ "curve": "ed25519" }).to_string();
        let rows = Db::open(&stack).count("wallets");
        for form in [SignatureForm::BerLongLength, SignatureForm::PaddedInteger] {
            let (time, id) = (now_ms(), request_id());
            let challenge = one_shot_challenge("POST", "/wallets", create.as_bytes(), time, &id);
            let client_data = key_get_client_data(&challenge, &user.credential.origin);
            let (r, s) = user.credential.key.sign_rs(client_data.as_bytes());
            let first_factor =
                key_first_factor(&user.credential.cred_id, &client_data, &encode_signature(&r, &s, form));
            let headers = one_shot_headers_with(&first_factor, time, &id);
            assert_refused_encoding(&stack.send(
                "POST",
                "/wallets",
                create.as_bytes(),
                Some(&user.token),
                &headers,
            ));
        }
        assert_eq!(Db::open(&stack).count("wallets"), rows);
        assert_ok(&call_one_shot(&stack, &user, "POST", "/wallets", &create));
    }
}

fn expect<T>(response: Response, pick: impl FnOnce(Response) -> Option<T>) -> T {
    let shown = format!("{response:?}");
    pick(response).unwrap_or_else(|| panic!("unexpected answer: {shown}"))
}

fn assert_forbidden_frame(response: &Response) {
    match response {
        Response::Error(e) => assert_eq!(e.code, ErrorCode::Forbidden, "{e:?}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn fido_assertion(passkey: &HandPasskey, challenge: &str, flags: u8, counter: u32) -> Assertion {
    let tweak = Tweak { flags, ..Tweak::honest(counter) };
    let (client_data, auth_data, signature) = passkey.assertion_parts(challenge, &tweak);
    Assertion {
        kind: CredentialKind::Fido2,
        cred_id: ByteBuf::from(passkey.cred_id.clone()),
        client_data: ByteBuf::from(client_data),
        authenticator_data: Some(ByteBuf::from(auth_data)),
        signature: ByteBuf::from(signature),
        user_handle: None,
    }
}

/// UV where the application requires it. The dev app only prefers it, and no endpoint makes
/// another app yet, so this talks to the real enclave's socket: an org whose app requires UV,
/// its admin registered with a hand-made passkey; an assertion without UV is refused (login
/// and user action), and the same challenge then accepted with UV (the refusal consumed
/// nothing).
#[test]
fn uv_missing_is_refused_where_the_application_requires_it() {
    let stack = Stack::start();
    let mut conn = EnclaveConn::connect(&stack.enclave_socket());
    let origin = "http://localhost:4242";
    let suffix = hex::encode(random_bytes(12));
    let org_id = format!("or-{suffix}");
    let created = conn.call(
        1,
        Request::CreateOrg(CreateOrg {
            org_id: org_id.clone(),
            app_id: format!("ap-{suffix}"),
            origin: origin.into(),
            rp_id: "localhost".into(),
            rp_name: "uv test".into(),
            user_verification: UserVerification::Required,
            admin_username: "uv-admin".into(),
            code_ttl_secs: 3600,
        }),
    );
    let org = expect(created.body, |r| if let Response::OrgCreated(o) = r { Some(o) } else { None });
    let init = Request::RegistrationInit(RegistrationInit {
        app: org.app.clone(),
        org_id,
        username: "uv-admin".into(),
        registration_code: org.registration_code.clone(),
    });
    let challenge = expect(conn.call(2, init).body, |r| {
        if let Response::RegistrationChallenge(c) = r { Some(c) } else { None }
    });
    let passkey = HandPasskey::new(origin, "localhost");
    let info = passkey.registration_info(&challenge.challenge);
    let field = |name: &str| ByteBuf::from(signer_e2e::auth_support::unb64u(info[name].as_str().unwrap()));
    let register = Request::Register(Register {
        app: org.app.clone(),
        temporary_token: challenge.temporary_token,
        credential: NewCredential {
            kind: CredentialKind::Fido2,
            cred_id: ByteBuf::from(passkey.cred_id.clone()),
            client_data: field("clientData"),
            attestation_data: field("attestationData"),
            name: "hand-made".into(),
        },
    });
    let registered =
        expect(conn.call(3, register).body, |r| if let Response::Registered(r) = r { Some(r) } else { None });

    let binding = ActionBinding {
        method: "POST".into(),
        path: "/wallets".into(),
        payload_sha256: ByteBuf::from(Sha256::digest(b"{}").to_vec()),
    };
    // The credential record as it now is: each accepted assertion moves its counter, and the
    // enclave refuses the older record from then on.
    let mut credential = registered.credential.clone();
    for (i, kind) in [ChallengeKind::Login, ChallengeKind::Action(binding)].into_iter().enumerate() {
        let id = 10 + 10 * i as u64;
        let ask = Request::Challenge(ChallengeRequest {
            app: org.app.clone(),
            user: registered.user.clone(),
            kind,
        });
        let issued =
            expect(conn.call(id, ask).body, |r| if let Response::Challenge(c) = r { Some(c) } else { None });
        let request = |flags: u8, counter: u32| {
            let assert = AssertRequest {
                app: org.app.clone(),
                user: registered.user.clone(),
                credential: credential.clone(),
                challenge_identifier: issued.challenge_identifier.clone(),
                assertion: fido_assertion(&passkey, &issued.challenge, flags, counter),
            };
            if i == 0 { Request::Login(assert) } else { Request::UserAction(assert) }
        };
        assert_forbidden_frame(&conn.call(id + 1, request(UP, 5 + 2 * i as u32)).body);
        let moved = match conn.call(id + 2, request(UP | UV, 6 + 2 * i as u32)).body {
            Response::LoggedIn(done) => done.credential,
            Response::UserActionIssued(done) => done.credential,
            other => panic!("with UV: {other:?}"),
        };
        credential = moved.expect("the counter moved: an updated record");
    }
}

#[test]
fn bad_input_gets_a_400_and_changes_nothing() {
    let stack = Stack::start();
    let admin = dev_user(&stack);
    let member = new_member(&stack, "frank", "ES256");
    let create = json!({ "curve": "ed25519" }).to_string();
    let rows = Db::open(&stack).count("wallets");
    let bad = |answer: Answer, what: &str| {
        assert_eq!(answer.0, 400, "{what}: {}", answer.1);
        assert!(
            answer.1["error"]["code"].is_string() && answer.1["error"]["message"].is_string(),
            "{what}: {}",
            answer.1
        );
    };
    let b64 = |bytes: &[u8]| signer_e2e::auth_support::b64u(bytes);

    // One-shot headers.
    let (time, id) = (now_ms(), request_id());
    let challenge = one_shot_challenge("POST", "/wallets", create.as_bytes(), time, &id);
    let good = member.credential.sign_challenge(&challenge);
    let with = |signature: String, time: String, id: String| {
        let headers = vec![
            ("X-Request-Time".to_owned(), time),
            ("X-Request-Id".to_owned(), id),
            ("X-Request-Signature".to_owned(), signature),
        ];
        stack.send("POST", "/wallets", create.as_bytes(), Some(&member.token), &headers)
    };
    let sig_of = |v: &Value| b64(v.to_string().as_bytes());
    bad(with("%%not base64url%%".into(), time.to_string(), id.clone()), "signature not base64url");
    bad(with(b64(b"not json"), time.to_string(), id.clone()), "signature not JSON");
    let mut kind = good.clone();
    kind["kind"] = json!("Password");
    bad(with(sig_of(&kind), time.to_string(), id.clone()), "unknown credential kind");
    let mut data = good.clone();
    data["credentialAssertion"]["clientData"] = json!("***");
    bad(with(sig_of(&data), time.to_string(), id.clone()), "clientData not base64url");
    let mut der = good.clone();
    der["credentialAssertion"]["signature"] = json!(b64(&[0x30, 0x06, 0x02, 0x01]));
    bad(with(sig_of(&der), time.to_string(), id.clone()), "signature not DER");
    let mut json_data = good.clone();
    json_data["credentialAssertion"]["clientData"] = json!(b64(b"{not json"));
    bad(with(sig_of(&json_data), time.to_string(), id.clone()), "clientData not JSON");
    bad(with(sig_of(&good), "soon".into(), id.clone()), "time not a number");
    bad(with(sig_of(&good), time.to_string(), "short".into()), "id too short");
    bad(with(sig_of(&good), time.to_string(), "x".repeat(65)), "id too long");
    bad(with(sig_of(&good), time.to_string(), "abcdefghijklmnop!".into()), "id charset");
    // The request id was not consumed: the good signature still works.
    assert_ok(&with(sig_of(&good), time.to_string(), id));

    // Auth endpoints.
    let send =
        |path: &str, body: &str, bearer: Option<&str>| stack.send("POST", path, body.as_bytes(), bearer, &[]);
    bad(send("/auth/action/init", "{not json", Some(&member.token)), "action init JSON");
    bad(
        send("/auth/credentials/init", &json!({ "kind": "Banana" }).to_string(), Some(&member.token)),
        "credential kind",
    );
    let (_, challenge) = send(
        "/auth/action/init",
        &json!({ "userActionPayload": create, "userActionHttpMethod": "POST", "userActionHttpPath": "/wallets" }).to_string(),
        Some(&member.token),
    );
    let mut first = member.credential.sign_challenge(challenge["challenge"].as_str().unwrap());
    first["kind"] = json!("Password");
    let body =
        json!({ "challengeIdentifier": challenge["challengeIdentifier"], "firstFactor": first }).to_string();
    bad(send("/auth/action", &body, Some(&member.token)), "action with an unknown kind");
    let long_name = json!({ "username": "n".repeat(10_000), "orgId": admin.org_id, "registrationCode": "x" });
    bad(send("/auth/registration/init", &long_name.to_string(), None), "oversized username");
    bad(send("/auth/login/init", "[]", None), "login init JSON");

    // Registration: every malformed credential refused with the same temporary token, which
    // then still registers the good one.
    let code = registration_code(&stack, &admin, Some("grace"), None);
    let options = registration_init(&stack, &admin.org_id, "grace", &code);
    let temporary = options["temporaryAuthenticationToken"].as_str().unwrap();
    let challenge = options["challenge"].as_str().unwrap();
    let passkey = HandPasskey::new(&admin.credential.origin, "localhost");
    let good_info = passkey.registration_info(challenge);
    let mut cases: Vec<(&str, &str, Value)> = Vec::new();
    cases.push(("Password", "unknown credential kind", good_info.clone()));
    let mut info = good_info.clone();
    info["attestationData"] = json!(b64(b"not cbor at all"));
    cases.push(("Fido2", "attestationObject not CBOR", info));
    // COSE keys: EC2 without y, an unknown key type, an x of the wrong length.
    let cose = |pairs: Vec<(i64, ciborium::Value)>| {
        signer_e2e::fido2::cbor(&ciborium::Value::Map(
            pairs.into_iter().map(|(k, v)| (ciborium::Value::Integer(k.into()), v)).collect(),
        ))
    };
    let int = |v: i64| ciborium::Value::Integer(v.into());
    let bytes = |n: usize| ciborium::Value::Bytes(vec![1; n]);
    for (what, key) in [
        ("COSE key without y", cose(vec![(1, int(2)), (3, int(-7)), (-1, int(1)), (-2, bytes(32))])),
        (
            "COSE key of an unknown type",
            cose(vec![(1, int(99)), (3, int(-7)), (-1, int(1)), (-2, bytes(32)), (-3, bytes(32))]),
        ),
        (
            "COSE key x too short",
            cose(vec![(1, int(2)), (3, int(-7)), (-1, int(1)), (-2, bytes(31)), (-3, bytes(32))]),
        ),
        ("COSE key not a map", signer_e2e::fido2::cbor(&int(7))),
    ] {
        cases.push(("Fido2", what, passkey.registration_info_with(challenge, &key)));
    }
    let mut info = good_info.clone();
    info["clientData"] = json!("!!");
    cases.push(("Fido2", "clientData not base64url", info));
    let mut info = good_info.clone();
    info["credId"] = json!(b64(&[7; 2048]));
    cases.push(("Fido2", "oversized credential id", info));
    let key_attestation = |public_key: &str| {
        json!({
            "credId": b64(&random_bytes(16)),
            "clientData": b64(json!({ "type": "key.create", "challenge": challenge, "origin": admin.credential.origin }).to_string().as_bytes()),
            "attestationData": b64(json!({ "publicKey": public_key, "signature": b64(&[1; 64]) }).to_string().as_bytes()),
        })
    };
    cases.push((
        "Key",
        "public key PEM garbage",
        key_attestation("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
    ));
    let mut info = key_attestation("x");
    info["attestationData"] = json!(b64(b"{not json"));
    cases.push(("Key", "attestationData not JSON", info));
    for (kind, what, info) in cases {
        bad(register(&stack, temporary, kind, &info), what);
    }
    let registered = register(&stack, temporary, "Fido2", &good_info);
    assert_ok(&registered);

    // Nothing was made by any refused request; the member's credentials are as they were.
    assert_eq!(Db::open(&stack).count("wallets"), rows + 1, "only the one good creation");
    assert_eq!(signer_e2e::auth_support::credentials_of(&stack, &member).len(), 1);
    assert_ok(&call_one_shot(&stack, &member, "POST", "/wallets", &create));
}
