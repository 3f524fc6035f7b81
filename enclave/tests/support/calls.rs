//! Calls the attack tests share: a registered admin, wallets, signing and credential calls,
//! registration codes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use signer_common::identity::{CredentialKind, Notarized, Record};
use signer_common::protocol::{CallAuth, ChallengeKind, Outcome, Request, Response, WalletCreated};

use super::{Enclave, User, admin, wallet_context};

pub const SIGN_BODY: &[u8] =
    br#"{"kind":"Hash","hash":"0x1111111111111111111111111111111111111111111111111111111111111111"}"#;
pub const CREATE_BODY: &[u8] = br#"{"curve":"ed25519"}"#;

pub fn setup() -> (Enclave, User) {
    let e = Enclave::new(9);
    let user = admin(&mut |r| e.send(r), "or-1", 7);
    (e, user)
}

pub fn called(response: Response) -> signer_common::protocol::Called {
    match response {
        Response::Called(c) => *c,
        other => panic!("{other:?}"),
    }
}

pub fn create_wallet(e: &Enclave, user: &User, id: &str) -> WalletCreated {
    match called(e.send(user.one_shot("POST", "/wallets", CREATE_BODY, e.time(), id))).outcome {
        Outcome::WalletCreated(w) => w,
        other => panic!("{other:?}"),
    }
}

pub fn sign_call(user: &User, wallet: &WalletCreated, auth: CallAuth) -> Request {
    let path = format!("/wallets/{}/signatures", wallet.wallet.wallet_id);
    let mut call = user.call("POST", &path, SIGN_BODY, auth);
    call.wallet = Some(wallet_context(wallet));
    Request::Call(Box::new(call))
}

pub fn one_shot_sign(e: &Enclave, user: &User, wallet: &WalletCreated, id: &str) -> Request {
    let path = format!("/wallets/{}/signatures", wallet.wallet.wallet_id);
    sign_call(user, wallet, user.one_shot_auth("POST", &path, SIGN_BODY, e.time(), id))
}

pub fn record(n: &Notarized) -> Record {
    n.decode_unverified().unwrap()
}

pub fn record_user_id(user: &User) -> String {
    match record(&user.user) {
        Record::User(u) => u.user_id,
        _ => panic!(),
    }
}

// ---- credentials ----

pub fn status_call(
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

pub fn credential_body(identifier: &str, new: &signer_common::protocol::NewCredential) -> Vec<u8> {
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
pub fn add_credential(
    e: &Enclave,
    user: &User,
    request_id: &str,
    credentials: Vec<Notarized>,
) -> Result<Notarized, String> {
    let (challenge, identifier) =
        user.challenge(&mut |r| e.send(r), ChallengeKind::NewCredential(CredentialKind::Key));
    let key = ed25519_dalek::SigningKey::from_bytes(&[99; 32]);
    let new = super::new_credential(&key, b"second", &challenge, super::ORIGIN);
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

pub fn member_code(e: &Enclave, admin: &User, username: Option<&str>) -> String {
    let body = serde_json::to_vec(&serde_json::json!({ "username": username })).unwrap();
    let body = if username.is_none() { b"{}".to_vec() } else { body };
    let id = format!("code-request-{:04}", e.time() % 10_000 + body.len() as u64);
    match called(e.send(admin.one_shot("POST", "/auth/registration/codes", &body, e.time(), &id))).outcome {
        Outcome::RegistrationCode(c) => c.code,
        other => panic!("{other:?}"),
    }
}
