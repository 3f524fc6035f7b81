//! Personal access tokens, sans-I/O on `EnclaveCore`: a user's token key signs their calls until
//! it expires or is revoked, never logs in, is not counted as the user's last sign-in
//! credential, and dies with its user's deactivation. Each refusal changes nothing.
#![cfg(feature = "mock-nsm")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use ed25519_dalek::pkcs8::EncodePublicKey as _;
use signer_common::encoding::to_b64url;
use signer_common::identity::{CredentialRecord, Notarized, Record, Status};
use signer_common::protocol::{ChallengeKind, ErrorCode, Outcome, Request, Response};
use support::calls::*;
use support::{Enclave, User, assert_refused, try_register};

const DAY_MS: u64 = 24 * 3600 * 1000;

fn pat_body(key: &ed25519_dalek::SigningKey, days: Option<u32>) -> String {
    let pem = key.verifying_key().to_public_key_pem(Default::default()).unwrap();
    serde_json::json!({ "name": "ci", "publicKey": pem, "daysValid": days }).to_string()
}

fn record_of(n: &Notarized) -> CredentialRecord {
    match Record::decode(&n.body).unwrap() {
        Record::Credential(c) => c,
        other => panic!("{other:?}"),
    }
}

/// `user`'s token made with `seed`'s key, and the same user signing with it.
fn make_pat(e: &Enclave, user: &User, seed: u8, days: Option<u32>, id: &str) -> (Notarized, User) {
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let body = pat_body(&key, days);
    let Outcome::PatCreated(credential) =
        called(e.send(user.one_shot("POST", "/auth/pats", body.as_bytes(), e.time(), id))).outcome
    else {
        panic!("no token")
    };
    let record = record_of(&credential);
    let as_pat =
        User { key, cred_id: record.cred_id.to_vec(), credential: credential.clone(), ..user.clone() };
    (credential, as_pat)
}

fn revoke(e: &Enclave, user: &User, pat_id: &str, credentials: &[&Notarized], id: &str) -> Response {
    let path = format!("/auth/pats/{pat_id}");
    let mut call = user.call("DELETE", &path, b"", user.one_shot_auth("DELETE", &path, b"", e.time(), id));
    call.credentials = credentials.iter().map(|n| (*n).clone()).collect();
    e.send(Request::Call(Box::new(call)))
}

#[test]
fn a_token_key_signs_until_it_expires_and_never_logs_in() {
    let (e, alice) = setup();
    let (credential, as_pat) = make_pat(&e, &alice, 30, Some(2), "pat-request-000001");
    let record = record_of(&credential);
    assert_eq!(record.pat_expires_at_ms, Some(e.time() + 2 * DAY_MS));
    assert_eq!((record.user_id.as_str(), record.status), (alice.user_id.as_str(), Status::Active));
    assert!(matches!(
        e.send(as_pat.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001")),
        Response::Called(_)
    ));
    // A user action signed by the token's key is fine; a login is not.
    as_pat.user_action(&mut |r| e.send(r), "POST", "/wallets", CREATE_BODY);
    let login = as_pat.assert_request(&mut |r| e.send(r), ChallengeKind::Login);
    assert_eq!(
        assert_refused(e.send(Request::Login(login)), ErrorCode::Forbidden),
        "a personal access token's key does not log in"
    );
    // Expired: refused; the user's own key still signs.
    e.advance(2 * DAY_MS);
    let r = as_pat.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0002");
    assert_eq!(assert_refused(e.send(r), ErrorCode::Forbidden), "personal access token expired");
    assert!(matches!(
        e.send(alice.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0002")),
        Response::Called(_)
    ));
}

#[test]
fn bad_requests_make_no_token() {
    let (e, alice) = setup();
    let key = ed25519_dalek::SigningKey::from_bytes(&[31; 32]);
    for (body, id) in [
        (pat_body(&key, Some(0)), "pat-request-000001"),
        (pat_body(&key, Some(366)), "pat-request-000002"),
        (serde_json::json!({ "name": "ci", "publicKey": "nope" }).to_string(), "pat-request-000003"),
        (
            serde_json::json!({ "name": "ci", "publicKey": key.verifying_key().to_public_key_pem(Default::default()).unwrap(), "permissionId": "pm-1" }).to_string(),
            "pat-request-000004",
        ),
    ] {
        assert_refused(e.send(alice.one_shot("POST", "/auth/pats", body.as_bytes(), e.time(), id)), ErrorCode::BadRequest);
    }
    let (credential, _) = make_pat(&e, &alice, 31, Some(365), "pat-request-000005");
    assert_eq!(record_of(&credential).pat_expires_at_ms, Some(e.time() + 365 * DAY_MS));
    let (credential, _) = make_pat(&e, &alice, 32, None, "pat-request-000006");
    assert_eq!(record_of(&credential).pat_expires_at_ms, Some(e.time() + 30 * DAY_MS), "30 days by default");
}

#[test]
fn a_revoked_token_signs_nothing_and_others_tokens_are_not_found() {
    let (e, alice) = setup();
    let code = member_code(&e, &alice, Some("bob"));
    let bob = try_register(&mut |r| e.send(r), &alice.app, "or-1", "bob", &code, 8).unwrap();
    let (credential, as_pat) = make_pat(&e, &alice, 30, None, "pat-request-000001");
    let pat_id = to_b64url(&record_of(&credential).cred_id);
    // Bob cannot revoke Alice's token (it is not among his credentials; presenting it is refused).
    assert_refused(revoke(&e, &bob, &pat_id, &[&bob.credential], "revoke-req-000001"), ErrorCode::NotFound);
    assert_refused(
        revoke(&e, &bob, &pat_id, &[&bob.credential, &credential], "revoke-req-000002"),
        ErrorCode::Forbidden,
    );
    // Alice's sign-in key is no token.
    let own = to_b64url(&alice.cred_id);
    assert_refused(
        revoke(&e, &alice, &own, &[&alice.credential, &credential], "revoke-req-000003"),
        ErrorCode::NotFound,
    );
    // The token is not counted as Alice's last sign-in credential.
    let path = "/auth/credentials/deactivate";
    let body = serde_json::json!({ "credId": own }).to_string();
    let mut call = alice.call(
        "PUT",
        path,
        body.as_bytes(),
        alice.one_shot_auth("PUT", path, body.as_bytes(), e.time(), "deact-req-000001"),
    );
    call.credentials = vec![alice.credential.clone(), credential.clone()];
    assert_eq!(
        assert_refused(e.send(Request::Call(Box::new(call))), ErrorCode::Conflict),
        "cannot deactivate the user's last active credential"
    );
    // Revoked: its key signs nothing; twice is a conflict.
    let Outcome::CredentialUpdated(revoked) =
        called(revoke(&e, &alice, &pat_id, &[&alice.credential, &credential], "revoke-req-000004")).outcome
    else {
        panic!("not revoked")
    };
    assert_eq!(record_of(&revoked).status, Status::Inactive);
    let as_revoked = User { credential: revoked.clone(), ..as_pat.clone() };
    let r = as_revoked.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0001");
    assert_eq!(assert_refused(e.send(r), ErrorCode::Forbidden), "credential is not active");
    let r = as_pat.one_shot("POST", "/wallets", CREATE_BODY, e.time(), "create-request-0002");
    assert_eq!(assert_refused(e.send(r), ErrorCode::Forbidden), "record rolled back");
    assert_refused(
        revoke(&e, &alice, &pat_id, &[&alice.credential, &revoked], "revoke-req-000005"),
        ErrorCode::Conflict,
    );
}
