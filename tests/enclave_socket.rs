//! The enclave socket spoken to directly, as a compromised parent would: sealed keys tampered
//! with or swapped (refused even under a genuine user signature), bad connections dropped,
//! many requests in flight on one connection.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use serde_json::{Value, json};
use signer_common::encoding::to_hex0x;
use signer_common::frame::MAX_FRAME_LEN;
use signer_common::identity::Notarized;
use signer_common::protocol::{AttestationMode, ErrorCode, Outcome, Request, Response, SealedWallet};
use signer_e2e::db::Db;
use signer_e2e::enclave_call::dev_call;
use signer_e2e::{EnclaveConn, Stack};

fn create_wallet(stack: &Stack, curve: &str) -> Value {
    let (status, wallet) = stack.signed_post("/wallets", &json!({ "curve": curve }).to_string(), &[]);
    assert!(status == 200 || status == 201, "{status} {wallet}");
    wallet
}

fn sign(stack: &Stack, wallet_id: &str, body: Value) -> (u16, Value) {
    stack.signed_post(&format!("/wallets/{wallet_id}/signatures"), &body.to_string(), &[])
}

fn sealed_wallet_row(stack: &Stack, id: &str) -> SealedWallet {
    let db = rusqlite::Connection::open(stack.dir.join("parent.sqlite3")).unwrap();
    let (curve, public_key, sealed): (String, Vec<u8>, Vec<u8>) = db
        .query_row("SELECT curve, public_key, sealed FROM wallets WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    SealedWallet {
        wallet_id: id.into(),
        curve: curve.parse().unwrap(),
        public_key: public_key.into(),
        sealed: sealed.into(),
    }
}

fn set_sealed(stack: &Stack, id: &str, sealed: &[u8]) {
    let db = rusqlite::Connection::open(stack.dir.join("parent.sqlite3")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(
        db.execute("UPDATE wallets SET sealed = ?1 WHERE id = ?2", rusqlite::params![sealed, id]).unwrap(),
        1
    );
}

/// A signature `Call` on `path_wallet`'s path with this sealed wallet and ownership record,
/// signed one-shot by the dev admin (the enclave demands a user signature on every call).
fn sign_call(
    stack: &Stack,
    path_wallet: &str,
    wallet: SealedWallet,
    record: Notarized,
    mode: AttestationMode,
) -> Request {
    let body = json!({ "kind": "Hash", "hash": to_hex0x(&[7; 32]) }).to_string();
    dev_call(
        stack,
        "POST",
        &format!("/wallets/{path_wallet}/signatures"),
        body.as_bytes(),
        Some((wallet, record)),
        mode,
    )
}

fn enclave_sign(
    stack: &Stack,
    conn: &mut EnclaveConn,
    id: u64,
    wallet: SealedWallet,
    record: Notarized,
) -> Response {
    let path_wallet = wallet.wallet_id.clone();
    conn.call(id, sign_call(stack, &path_wallet, wallet, record, AttestationMode::Fresh)).body
}

fn is_signed(response: &Response) -> bool {
    matches!(response, Response::Called(called) if matches!(called.outcome, Outcome::Signed(_)))
}

/// Refused as a bad seal, or (a key that disagrees with the ownership record) as forbidden.
fn assert_refused_as_invalid_seal(response: &Response) {
    match response {
        Response::Error(e) => {
            assert!(matches!(e.code, ErrorCode::SealedWalletInvalid | ErrorCode::Forbidden), "{e:?}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn refuses_tampered_and_swapped_sealed_blobs() {
    let stack = Stack::start();
    let a = create_wallet(&stack, "ed25519")["id"].as_str().unwrap().to_owned();
    let b = create_wallet(&stack, "ed25519")["id"].as_str().unwrap().to_owned();
    let row_a = sealed_wallet_row(&stack, &a);
    let row_b = sealed_wallet_row(&stack, &b);
    let (record_a, record_b) = {
        let db = Db::open(&stack);
        (db.wallet_record(&a), db.wallet_record(&b))
    };

    // Straight at the enclave socket, as a compromised parent would (with a genuine user
    // signature): every flipped byte of the sealed key is refused.
    let mut conn = EnclaveConn::connect(&stack.enclave_socket());
    assert!(is_signed(&enclave_sign(&stack, &mut conn, 1, row_a.clone(), record_a.clone())));
    for i in 0..row_a.sealed.len() {
        let mut tampered = row_a.clone();
        tampered.sealed[i] ^= 0x80;
        assert_refused_as_invalid_seal(&enclave_sign(
            &stack,
            &mut conn,
            10 + i as u64,
            tampered,
            record_a.clone(),
        ));
    }
    // Wallet A's blob presented as wallet B (B's id, key and record, A's sealed key): refused.
    let swapped = SealedWallet { sealed: row_a.sealed.clone(), ..row_b.clone() };
    assert_refused_as_invalid_seal(&enclave_sign(&stack, &mut conn, 100, swapped, record_b.clone()));
    // A's blob and key under B's id and record: refused too (the id is bound into the seal).
    let renamed = SealedWallet { wallet_id: b.clone(), ..row_a.clone() };
    assert_refused_as_invalid_seal(&enclave_sign(&stack, &mut conn, 101, renamed, record_b.clone()));
    // The genuine pair still signs: the refusals changed nothing.
    assert!(is_signed(&enclave_sign(&stack, &mut conn, 102, row_b.clone(), record_b)));

    // Through the HTTP API, with the parent's own database rewritten underneath it.
    let hash = json!({ "kind": "Hash", "hash": to_hex0x(&[1; 32]) });
    set_sealed(&stack, &b, &row_a.sealed);
    let (status, body) = sign(&stack, &b, hash.clone());
    assert_eq!(status, 500, "{body}");
    assert_eq!(body["error"]["code"], "sealed_wallet_invalid");
    let mut flipped = row_b.sealed.to_vec();
    flipped[20] ^= 1;
    set_sealed(&stack, &b, &flipped);
    assert_eq!(sign(&stack, &b, hash.clone()).0, 500);
    // Restored, it signs again: the refusals changed nothing.
    set_sealed(&stack, &b, &row_b.sealed);
    assert_eq!(sign(&stack, &b, hash).0, 200);
}

#[test]
fn enclave_drops_bad_connections_and_keeps_serving() {
    let stack = Stack::start();
    let wallet = create_wallet(&stack, "secp256k1")["id"].as_str().unwrap().to_owned();

    // A frame announcing more than the limit: that connection is dropped before any allocation.
    let mut oversized = EnclaveConn::connect(&stack.enclave_socket());
    oversized.send_bytes(&((MAX_FRAME_LEN as u32) + 1).to_be_bytes()).unwrap();
    assert!(oversized.read_response().is_none());

    // Garbage CBOR inside a well-formed frame: dropped too.
    let mut garbage = EnclaveConn::connect(&stack.enclave_socket());
    garbage.send_bytes(&signer_common::frame::encode(b"\xff\x00garbage").unwrap()).unwrap();
    assert!(garbage.read_response().is_none());

    // Other connections, and the parent's pool, are unaffected.
    let mut fresh = EnclaveConn::connect(&stack.enclave_socket());
    assert!(matches!(fresh.call(1, Request::Ping).body, Response::Pong(p) if p.ready));
    let (status, body) = sign(&stack, &wallet, json!({ "kind": "Hash", "hash": to_hex0x(&[9; 32]) }));
    assert_eq!(status, 200, "{body}");
}

#[test]
fn enclave_answers_requests_in_flight_on_one_connection() {
    let stack = Stack::start();
    let wallet = create_wallet(&stack, "secp256k1")["id"].as_str().unwrap().to_owned();
    let row = sealed_wallet_row(&stack, &wallet);
    let record = Db::open(&stack).wallet_record(&wallet);
    let mut conn = EnclaveConn::connect(&stack.enclave_socket());
    // Send many requests before reading any answer; every id comes back exactly once.
    let ids: Vec<u64> = (1000..1032).collect();
    for &id in &ids {
        // Half of them in session mode: both kinds interleave on one connection.
        let mode = if id % 2 == 0 { AttestationMode::Fresh } else { AttestationMode::Session };
        let req = sign_call(&stack, &wallet, row.clone(), record.clone(), mode);
        let bytes =
            signer_common::frame::encode(&signer_common::protocol::RequestFrame::new(id, req).encode())
                .unwrap();
        conn.send_bytes(&bytes).unwrap();
    }
    let mut seen: Vec<u64> = ids
        .iter()
        .map(|_| conn.read_response().unwrap())
        .map(|r| {
            assert!(is_signed(&r.body), "{:?}", r.body);
            r.id
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, ids);
}
