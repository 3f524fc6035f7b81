//! The parent's database edited underneath it, as a compromised host would: a credential row
//! inserted, a wallet-ownership row edited or swapped, a credential record rolled back to an
//! older version within a boot. The enclave's tags and version checks refuse each; nothing
//! changes, and once the rows are restored the owner signs as before.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use rusqlite::types::Value as SqlValue;
use serde_bytes::ByteBuf;
use serde_json::json;
use signer_common::identity::{CredentialKind, Notarized, Record};
use signer_common::userauth::CredentialPublicKey;
use signer_e2e::Stack;
use signer_e2e::auth_support::{
    Answer, TestCredential, TestKey, TestUser, action_answer, add_key_credential, assert_error,
    call_one_shot, create_wallet, hash_body, login, new_member, set_credential_status, unb64u,
};
use signer_e2e::db::{Db, set_value, value};

fn assert_forbidden(answer: &Answer) {
    assert_error(answer, 403, "forbidden");
}

fn assert_ok(answer: &Answer) {
    assert!(answer.0 == 200 || answer.0 == 201, "{} {}", answer.0, answer.1);
}

fn sigs(wallet: &str) -> String {
    format!("/wallets/{wallet}/signatures")
}

/// A record's body re-encoded after `edit`, under the old tag.
fn edited(record: &Notarized, edit: impl FnOnce(&mut Record)) -> Notarized {
    let mut decoded = Record::decode(&record.body).unwrap();
    edit(&mut decoded);
    Notarized { body: ByteBuf::from(decoded.encode()), tag: record.tag.clone() }
}

#[test]
fn inserted_credentials_and_edited_wallet_ownership_are_refused() {
    let mut stack = Stack::start();
    let mut alice = new_member(&stack, "alice", "ES256");
    let mut bob = new_member(&stack, "bob", "ES256K");
    let wa = create_wallet(&stack, &alice, "secp256k1")["id"].as_str().unwrap().to_owned();
    let wb = create_wallet(&stack, &bob, "secp256k1")["id"].as_str().unwrap().to_owned();
    let h = hash_body(&[4; 32]);
    let create = json!({ "curve": "ed25519" }).to_string();

    // 1. A credential row for Alice inserted by the host: its own key, Alice's record's tag.
    let forged = TestCredential::generate("EdDSA", &alice.credential.origin);
    let TestKey::Ed25519(forged_key) = &forged.key else { unreachable!() };
    let db = Db::open(&stack);
    let mut row = db.credential_row(&alice.credential.cred_id);
    let record = signer_e2e::db::notarized_of(&row, "body", "tag");
    let record = edited(&record, |r| {
        let Record::Credential(c) = r else { panic!("not a credential record") };
        c.cred_id = ByteBuf::from(unb64u(&forged.cred_id));
        c.kind = CredentialKind::Key;
        c.public_key =
            CredentialPublicKey::Ed25519(ByteBuf::from(forged_key.verifying_key().to_bytes().to_vec()));
    });
    let id = match value(&row, "cred_id") {
        SqlValue::Blob(_) => SqlValue::Blob(unb64u(&forged.cred_id)),
        _ => SqlValue::Text(forged.cred_id.clone()),
    };
    set_value(&mut row, "cred_id", id);
    set_value(&mut row, "body", SqlValue::Blob(record.body.to_vec()));
    db.put_credential_row(&row);
    // Also a copy of Alice's genuine row under another id (the record names the real id).
    let mut copy = db.credential_row(&alice.credential.cred_id);
    let copy_id = TestCredential::generate("ES256", &alice.credential.origin);
    let id = match value(&copy, "cred_id") {
        SqlValue::Blob(_) => SqlValue::Blob(unb64u(&copy_id.cred_id)),
        _ => SqlValue::Text(copy_id.cred_id.clone()),
    };
    set_value(&mut copy, "cred_id", id);
    db.put_credential_row(&copy);

    // 2. Alice's wallet row given to Bob: the owner edited under the old tag...
    let genuine = db.wallet_record(&wa);
    db.set_wallet_record(
        &wa,
        &edited(&genuine, |r| {
            let Record::Wallet(w) = r else { panic!("not a wallet record") };
            w.owner_user_id.clone_from(&bob.user_id);
        }),
    );
    let rows = db.count("wallets");
    drop(db);
    // A restart after each edit, so the parent reads the rows from disk (its cache of wallet
    // rows would otherwise hide an edit).
    restart(&mut stack, &mut [&mut alice, &mut bob]);
    let as_forged = alice.with(forged);
    assert_forbidden(&call_one_shot(&stack, &as_forged, "POST", "/wallets", &create));
    let sign = |c: &serde_json::Value| as_forged.credential.sign_challenge(c["challenge"].as_str().unwrap());
    assert_forbidden(&action_answer(&stack, &alice.token, "POST", "/wallets", &create, sign));
    // The copied row with Alice's real key signing under the copy's id: refused.
    let as_copy =
        alice.with(TestCredential { key: TestKey::from_pkcs8_pem("ES256", &pem_of(&alice)), ..copy_id });
    assert_forbidden(&call_one_shot(&stack, &as_copy, "POST", "/wallets", &create));
    assert_forbidden(&call_one_shot(&stack, &bob, "POST", &sigs(&wa), &h));
    // ...and Bob's own authentic wallet record put on Alice's wallet row: refused too.
    let db = Db::open(&stack);
    db.set_wallet_record(&wa, &db.wallet_record(&wb));
    restart(&mut stack, &mut [&mut alice, &mut bob]);
    assert_forbidden(&call_one_shot(&stack, &bob, "POST", &sigs(&wa), &h));
    assert_eq!(db.count("wallets"), rows, "no wallet made");

    // Restored, Alice signs with her wallet; Bob with his.
    db.set_wallet_record(&wa, &genuine);
    restart(&mut stack, &mut [&mut alice, &mut bob]);
    assert_ok(&call_one_shot(&stack, &alice, "POST", &sigs(&wa), &h));
    assert_ok(&call_one_shot(&stack, &bob, "POST", &sigs(&wb), &h));
}

/// A wallet row edited before the parent read it: refused; once the row is put right, the next
/// request signs without a restart (the parent forgets a refused wallet's remembered row).
#[test]
fn a_wallet_row_put_right_signs_again_without_a_restart() {
    let mut stack = Stack::start();
    let mut alice = new_member(&stack, "alice", "EdDSA");
    let mut bob = new_member(&stack, "bob", "EdDSA");
    let wa = create_wallet(&stack, &alice, "ed25519")["id"].as_str().unwrap().to_owned();
    let h = hash_body(&[6; 32]);
    let db = Db::open(&stack);
    let genuine = db.wallet_record(&wa);
    db.set_wallet_record(
        &wa,
        &edited(&genuine, |r| {
            let Record::Wallet(w) = r else { panic!("not a wallet record") };
            w.owner_user_id.clone_from(&bob.user_id);
        }),
    );
    // A restart, so the parent has not read the row before the edit.
    restart(&mut stack, &mut [&mut alice, &mut bob]);
    assert_forbidden(&call_one_shot(&stack, &alice, "POST", &sigs(&wa), &h));
    assert_forbidden(&call_one_shot(&stack, &bob, "POST", &sigs(&wa), &h));
    db.set_wallet_record(&wa, &genuine);
    assert_ok(&call_one_shot(&stack, &alice, "POST", &sigs(&wa), &h));
    assert_forbidden(&call_one_shot(&stack, &bob, "POST", &sigs(&wa), &h));
}

/// Restarts the stack and logs `users` in again (a new port; tokens of before may not hold).
fn restart(stack: &mut Stack, users: &mut [&mut TestUser]) {
    stack.restart();
    for user in users {
        user.token = login(stack, &user.org_id, &user.username, &user.credential);
    }
}

/// Alice's credential as PKCS#8 PEM (only to re-load the same key under another id).
fn pem_of(user: &TestUser) -> String {
    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
    let TestKey::P256(key) = &user.credential.key else { panic!("an ES256 credential") };
    key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string()
}

#[test]
fn a_credential_record_rolled_back_within_a_boot_is_refused() {
    let stack = Stack::start();
    let alice = new_member(&stack, "alice", "EdDSA");
    let second = alice.with(add_key_credential(&stack, &alice, "ES256"));
    let wa = create_wallet(&stack, &alice, "ed25519")["id"].as_str().unwrap().to_owned();
    let h = hash_body(&[5; 32]);
    let db = Db::open(&stack);
    let active_row = db.credential_row(&second.credential.cred_id);
    assert_ok(&call_one_shot(&stack, &second, "POST", &sigs(&wa), &h));

    // Deactivated (a newer version), then the host puts the older, active row back.
    assert_ok(&set_credential_status(&stack, &alice, &second.credential.cred_id, false));
    let inactive_row = db.credential_row(&second.credential.cred_id);
    assert_ne!(value(&inactive_row, "body"), value(&active_row, "body"));
    db.put_credential_row(&active_row);
    let rows = db.count("wallets");

    assert_forbidden(&call_one_shot(&stack, &second, "POST", &sigs(&wa), &h));
    assert_forbidden(&call_one_shot(
        &stack,
        &second,
        "POST",
        "/wallets",
        &json!({ "curve": "ed25519" }).to_string(),
    ));
    let sign = |c: &serde_json::Value| second.credential.sign_challenge(c["challenge"].as_str().unwrap());
    assert_forbidden(&action_answer(&stack, &alice.token, "POST", &sigs(&wa), &h, sign));
    assert_eq!(db.count("wallets"), rows);
    // The other credential is untouched.
    assert_ok(&call_one_shot(&stack, &alice, "POST", &sigs(&wa), &h));
}
