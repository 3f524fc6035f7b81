//! `Client` against a tiny HTTP stub of the parent on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use signer_client::{Client, ClientError, Curve, ReceiptKind, ResultExpectations, VerifyResultError};
use support::{StubParent, Tamper, now, pcrs};

#[test]
fn creates_lists_signs_and_verifies() {
    let stub = StubParent::start(Tamper::None);
    let client = Client::new(&stub.url, "test-token");
    let root = stub.nsm.root();

    let wallet = client.create_wallet(Curve::Secp256k1, Some("main"), Some(&[1, 2, 3])).unwrap();
    assert_eq!(wallet.curve(), Some(Curve::Secp256k1));
    assert_eq!(wallet.name.as_deref(), Some("main"));
    let expect = ResultExpectations { pcrs: pcrs(), nonce: Some(vec![1, 2, 3]), ..Default::default() };
    let verified = wallet.verify(&root, now(), &expect).unwrap();
    assert_eq!(verified.receipt.kind, ReceiptKind::WalletCreated);
    assert_eq!(verified.receipt.public_key, wallet.public_key_bytes().unwrap());

    let requests = stub.requests();
    let create = &requests[0];
    assert_eq!((create.method.as_str(), create.path.as_str()), ("POST", "/wallets"));
    assert_eq!(create.header("authorization"), Some("Bearer test-token"));
    assert_eq!(create.header("x-request-nonce"), Some("010203"));
    assert_eq!(create.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body, serde_json::json!({ "curve": "secp256k1", "name": "main" }));

    let result = client.sign_hash(&wallet.id, [0x42; 32], None).unwrap();
    assert_eq!(result.wallet_id, wallet.id);
    assert_eq!(result.signature.recid, Some(result.encoded_bytes().unwrap()[64]));
    let verified = result.verify(&root, now(), &ResultExpectations::default()).unwrap();
    verified.expect_payload(ReceiptKind::Hash, &[0x42; 32]).unwrap();
    let sign = stub.requests().pop().unwrap();
    assert_eq!(sign.path, format!("/wallets/{}/signatures", wallet.id));
    assert_eq!(sign.header("x-request-nonce"), None);
    let body: serde_json::Value = serde_json::from_slice(&sign.body).unwrap();
    assert_eq!(body["kind"], "Hash");
    assert_eq!(body["hash"], format!("0x{}", "42".repeat(32)));

    let ed = client.create_wallet(Curve::Ed25519, None, None).unwrap();
    let result = client.sign_message(&ed.id, b"hi there", Some(&[9; 64])).unwrap();
    let expect = ResultExpectations { nonce: Some(vec![9; 64]), ..Default::default() };
    let verified = result.verify(&root, now(), &expect).unwrap();
    verified.expect_payload(ReceiptKind::Message, b"hi there").unwrap();
    // Unknown fields survive a round trip through the typed result.
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["dateRequested"], "2026-01-01T00:00:00Z");

    let listed = client.list_wallets().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(client.get_wallet(&ed.id).unwrap().public_key, ed.public_key);

    let attestation = client.attestation(Some(b"fresh")).unwrap();
    assert_eq!(attestation.pcrs, pcrs());
    let doc = signer_common::attestation::verify(
        &attestation.attestation,
        &root,
        now(),
        &signer_common::attestation::Expectations { nonce: Some(b"fresh".to_vec()), ..Default::default() },
    )
    .unwrap();
    assert_eq!(doc.pcrs, pcrs());
    assert_eq!(client.root_pem().unwrap(), root.to_pem());
}

#[test]
fn error_statuses_are_api_errors() {
    let stub = StubParent::start(Tamper::None);
    let client = Client::new(format!("{}/", stub.url), "test-token");
    match client.get_wallet("wa-missing") {
        Err(ClientError::Api { status, code, message }) => {
            assert_eq!((status, code.as_str(), message.as_str()), (404, "not_found", "no such wallet"));
        }
        other => panic!("{other:?}"),
    }
    let bad = Client::new(&stub.url, "wrong-token");
    let err = bad.list_wallets().unwrap_err();
    assert!(matches!(err, ClientError::Api { status: 401, .. }), "{err}");
    assert_eq!(err.to_string(), "HTTP 401 unauthorized: no or bad token");
    // Ids are one path segment, whatever they contain.
    let _ = client.get_wallet("../enclave/root");
    assert_eq!(stub.requests().last().unwrap().path, "/wallets/..%2Fenclave%2Froot");
}

#[test]
fn transport_errors_are_not_api_errors() {
    let stub = StubParent::start(Tamper::None);
    let url = stub.url.clone();
    drop(stub);
    let err = Client::new(url, "t").list_wallets().unwrap_err();
    assert!(matches!(err, ClientError::Transport(_)), "{err}");
}

#[test]
fn a_lying_parent_is_caught() {
    let stub = StubParent::start(Tamper::WalletPublicKey);
    let client = Client::new(&stub.url, "test-token");
    let wallet = client.create_wallet(Curve::Ed25519, None, None).unwrap();
    assert_eq!(
        wallet.verify(&stub.nsm.root(), now(), &Default::default()),
        Err(VerifyResultError::Mismatch { field: "publicKey" })
    );

    let stub = StubParent::start(Tamper::SwapHash);
    let client = Client::new(&stub.url, "test-token");
    let wallet = client.create_wallet(Curve::Secp256k1, None, None).unwrap();
    let result = client.sign_hash(&wallet.id, [1; 32], None).unwrap();
    // Authentic, but for another hash.
    let verified = result.verify(&stub.nsm.root(), now(), &Default::default()).unwrap();
    assert_eq!(
        verified.expect_payload(ReceiptKind::Hash, &[1; 32]),
        Err(VerifyResultError::Mismatch { field: "payload" })
    );

    let stub = StubParent::start(Tamper::EncodedSignature);
    let client = Client::new(&stub.url, "test-token");
    let wallet = client.create_wallet(Curve::Secp256k1, None, None).unwrap();
    let result = client.sign_hash(&wallet.id, [1; 32], None).unwrap();
    assert_eq!(
        result.verify(&stub.nsm.root(), now(), &Default::default()).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "signature" })
    );
    // Another wallet's result.
    let other = client.create_wallet(Curve::Secp256k1, None, None).unwrap();
    let stub_ok = StubParent::start(Tamper::None);
    let good = Client::new(&stub_ok.url, "test-token");
    let w = good.create_wallet(Curve::Secp256k1, None, None).unwrap();
    let result = good.sign_hash(&w.id, [1; 32], None).unwrap();
    let expect = ResultExpectations { wallet_id: Some(other.id.clone() + "x"), ..Default::default() };
    assert!(result.verify(&stub_ok.nsm.root(), now(), &expect).is_err());
}
