//! `Client` against a tiny HTTP stub of the parent on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use signer_client::{
    Client, ClientError, Curve, ImagePolicy, ReceiptKind, VerifyResultError, WalletKey,
    verify_wallet_record_of,
};
use support::{StubParent, Tamper, now, pcrs};

/// The mock enclave's image, pinned.
fn image() -> ImagePolicy {
    ImagePolicy::pinned(pcrs()).unwrap()
}

#[test]
fn creates_lists_signs_and_verifies() {
    let stub = StubParent::start(Tamper::None);
    let client = Client::new(&stub.url, "test-token");
    let root = stub.nsm.root();

    let created = client.create_wallet(Curve::Secp256k1, Some("main"), Some(&[1, 2, 3])).unwrap();
    assert_eq!(created.request.nonce, vec![1, 2, 3]);
    let wallet = &created.wallet;
    assert_eq!(wallet.curve(), Some(Curve::Secp256k1));
    assert_eq!(wallet.name.as_deref(), Some("main"));
    let verified = created.verify(&root, now(), &image()).unwrap();
    assert_eq!(verified.receipt.kind, ReceiptKind::WalletCreated);
    assert_eq!(verified.receipt.public_key, wallet.public_key_bytes().unwrap());
    let key = verified.wallet_key();

    let requests = stub.requests();
    let create = &requests[0];
    assert_eq!((create.method.as_str(), create.path.as_str()), ("POST", "/wallets"));
    assert_eq!(create.header("authorization"), Some("Bearer test-token"));
    assert_eq!(create.header("x-request-nonce"), Some("010203"));
    assert_eq!(create.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&create.body).unwrap();
    assert_eq!(body, serde_json::json!({ "curve": "secp256k1", "name": "main" }));

    let signed = client.sign_hash(&wallet.id, [0x42; 32], None).unwrap();
    let result = &signed.result;
    assert_eq!(result.wallet_id, wallet.id);
    assert_eq!(result.signature.recid, Some(result.encoded_bytes().unwrap()[64]));
    let verified = signed.verify(&root, now(), &image(), Some(&key)).unwrap();
    verified.expect_payload(ReceiptKind::Hash, &[0x42; 32]).unwrap();
    let sign = stub.requests().pop().unwrap();
    assert_eq!(sign.path, format!("/wallets/{}/signatures", wallet.id));
    // Fresh by default: a random 32-byte nonce, sent and then required in the document.
    assert_eq!(signed.request.nonce.len(), 32);
    assert_eq!(sign.header("x-request-nonce"), Some(hex::encode(&signed.request.nonce).as_str()));
    assert_eq!(verified.document.nonce.as_ref(), Some(&signed.request.nonce));
    let again = client.sign_hash(&wallet.id, [0x42; 32], None).unwrap();
    assert_ne!(again.request.nonce, signed.request.nonce);
    let body: serde_json::Value = serde_json::from_slice(&sign.body).unwrap();
    assert_eq!(body["kind"], "Hash");
    assert_eq!(body["hash"], format!("0x{}", "42".repeat(32)));

    let ed = client.create_wallet(Curve::Ed25519, None, None).unwrap().wallet;
    let signed = client.sign_message(&ed.id, b"hi there", Some(&[9; 64])).unwrap();
    let verified = signed.verify(&root, now(), &image(), None).unwrap();
    verified.expect_payload(ReceiptKind::Message, b"hi there").unwrap();
    assert_eq!(verified.document.nonce, Some(vec![9; 64]));
    // The typed result serialises back to the parent's wire form (signer_common::api).
    let json = serde_json::to_value(&signed.result).unwrap();
    assert_eq!(json["dateSigned"], "2026-01-01T00:00:00Z");
    assert_eq!(json["attestationMode"], "fresh");

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
    let created = client.create_wallet(Curve::Ed25519, None, None).unwrap();
    assert_eq!(
        created.verify(&stub.nsm.root(), now(), &image()),
        Err(VerifyResultError::Mismatch { field: "publicKey" })
    );

    let stub = StubParent::start(Tamper::SwapHash);
    let client = Client::new(&stub.url, "test-token");
    let wallet = client.create_wallet(Curve::Secp256k1, None, None).unwrap().wallet;
    let signed = client.sign_hash(&wallet.id, [1; 32], None).unwrap();
    // Authentic, but for another hash: the request says which.
    assert_eq!(
        signed.verify(&stub.nsm.root(), now(), &image(), None).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "payload" })
    );

    let stub = StubParent::start(Tamper::EncodedSignature);
    let client = Client::new(&stub.url, "test-token");
    let wallet = client.create_wallet(Curve::Secp256k1, None, None).unwrap().wallet;
    let signed = client.sign_hash(&wallet.id, [1; 32], None).unwrap();
    assert_eq!(
        signed.verify(&stub.nsm.root(), now(), &image(), None).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "signature" })
    );
}

/// Attacks on the kind of receipt: an attested receipt of the right key, but of another kind than
/// asked, passes off as the answer.
#[test]
fn answers_of_another_kind_are_refused() {
    // A creation answered with an attested signature receipt of the new key.
    let stub = StubParent::start(Tamper::NotWalletCreated);
    let client = Client::new(&stub.url, "test-token");
    let created = client.create_wallet(Curve::Ed25519, None, None).unwrap();
    assert_eq!(
        created.verify(&stub.nsm.root(), now(), &image()).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "kind" })
    );
    // ... and the same record read back with GET /wallets/{id}.
    let read = client.get_wallet(&created.wallet.id).unwrap();
    assert_eq!(
        verify_wallet_record_of(&read, &created.wallet.id, &stub.nsm.root(), now(), &image()).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "kind" })
    );

    // A Hash signature request answered with a Message signature over the same 32 bytes.
    let stub = StubParent::start(Tamper::SwapKind);
    let client = Client::new(&stub.url, "test-token");
    let wallet = client.create_wallet(Curve::Ed25519, None, None).unwrap().wallet;
    let signed = client.sign_hash(&wallet.id, [3; 32], None).unwrap();
    assert_eq!(signed.result.kind, "Message", "the stub swapped it");
    assert_eq!(
        signed.verify(&stub.nsm.root(), now(), &image(), None).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "kind" })
    );
}

/// A wallet's record read back for one id but belonging to another wallet is refused.
#[test]
fn another_wallets_record_is_refused() {
    let stub = StubParent::start(Tamper::OtherWalletRecord);
    let client = Client::new(&stub.url, "test-token");
    let first = client.create_wallet(Curve::Secp256k1, None, None).unwrap().wallet;
    let second = client.create_wallet(Curve::Secp256k1, None, None).unwrap().wallet;
    let read = client.get_wallet(&second.id).unwrap();
    assert_eq!(read.id, first.id, "the stub answered the first wallet's record");
    let root = stub.nsm.root();
    assert_eq!(
        verify_wallet_record_of(&read, &second.id, &root, now(), &image()).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "walletId" })
    );
    // The first wallet's own record, asked for by its id, verifies.
    verify_wallet_record_of(&client.get_wallet(&first.id).unwrap(), &first.id, &root, now(), &image())
        .unwrap();
}

/// Attacks on the request binding: each passed the SDK's verification when its expectations came
/// from the parent's JSON (wallet id, curve) or were optional (nonce).
#[test]
fn answers_for_another_request_are_refused() {
    let root = |stub: &StubParent| stub.nsm.root();
    // A wallet created on another curve than asked.
    let stub = StubParent::start(Tamper::SwapCurve);
    let client = Client::new(&stub.url, "test-token");
    let created = client.create_wallet(Curve::Ed25519, None, None).unwrap();
    assert_eq!(created.wallet.curve, "secp256k1", "the stub swapped it");
    assert_eq!(
        created.verify(&root(&stub), now(), &image()).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "curve" })
    );

    // A signature made with another wallet than asked.
    let stub = StubParent::start(Tamper::OtherWallet);
    let client = Client::new(&stub.url, "test-token");
    let first = client.create_wallet(Curve::Secp256k1, None, None).unwrap();
    let second = client.create_wallet(Curve::Secp256k1, None, None).unwrap();
    let signed = client.sign_hash(&second.wallet.id, [1; 32], None).unwrap();
    assert_eq!(signed.result.wallet_id, first.wallet.id, "the stub signed with the first wallet");
    let cache = signer_client::SessionCache::new();
    assert_eq!(
        client.verify_signature(&signed, &root(&stub), now(), &image(), None, &cache).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "walletId" })
    );
    // Pinning the second wallet's verified key refuses it as well.
    let key = second.verify(&root(&stub), now(), &image()).unwrap().wallet_key();
    let mut honest = signed.clone();
    honest.request.wallet_id = first.wallet.id.clone();
    assert_eq!(
        honest.verify(&root(&stub), now(), &image(), Some(&key)).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "publicKey" })
    );
    let wrong_curve = WalletKey { curve: Curve::Ed25519, public_key: key.public_key.clone() };
    let first_key = first.verify(&root(&stub), now(), &image()).unwrap().wallet_key();
    assert_eq!(honest.verify(&root(&stub), now(), &image(), Some(&first_key)).map(|_| ()), Ok(()));
    assert!(honest.verify(&root(&stub), now(), &image(), Some(&wrong_curve)).is_err());

    // A parent that drops the fresh nonce (e.g. to replay an older answer) is refused.
    let stub = StubParent::start(Tamper::DropNonce);
    let client = Client::new(&stub.url, "test-token");
    let created = client.create_wallet(Curve::Ed25519, None, None).unwrap();
    let err = created.verify(&root(&stub), now(), &image()).unwrap_err();
    assert!(err.to_string().contains("nonce"), "{err}");
    let signed = client.sign_hash(&created.wallet.id, [1; 32], None).unwrap();
    let err = signed.verify(&root(&stub), now(), &image(), None).unwrap_err();
    assert!(err.to_string().contains("nonce"), "{err}");
}

/// Another enclave image (another PCR0) under the same root is refused by a pinned client.
#[test]
fn another_image_is_refused() {
    let stub = StubParent::start(Tamper::None);
    let client = Client::new(&stub.url, "test-token");
    let created = client.create_wallet(Curve::Ed25519, None, None).unwrap();
    let other = ImagePolicy::pcr0(vec![0xee; 48]).unwrap();
    let err = created.verify(&stub.nsm.root(), now(), &other).unwrap_err();
    assert!(err.to_string().contains("PCR"), "{err}");
    created.verify(&stub.nsm.root(), now(), &ImagePolicy::danger_any_image()).unwrap();
}

#[test]
fn session_mode_signs_fetches_and_verifies_once_per_document() {
    use signer_client::{AttestationMode, SessionCache, SignatureEvidence};
    let stub = StubParent::start(Tamper::None);
    let client = Client::new(&stub.url, "test-token");
    let root = stub.nsm.root();
    let wallet = client.create_wallet(Curve::Secp256k1, None, None).unwrap().wallet;

    let signed =
        client.sign_hash_with(&wallet.id, [0x42; 32], Some(b"nonce-1"), AttestationMode::Session).unwrap();
    let result = &signed.result;
    let sign = stub.requests().pop().unwrap();
    assert_eq!(sign.header("x-attestation"), Some("session"));
    assert_eq!(sign.header("x-request-nonce"), Some(hex::encode(b"nonce-1").as_str()));
    assert_eq!(result.mode().unwrap(), AttestationMode::Session);
    assert!(result.evidence.attestation.is_none());
    let SignatureEvidence::Session { receipt_signature, session_id } = result.evidence_bytes().unwrap()
    else {
        panic!("not session evidence");
    };
    assert_eq!(receipt_signature.len(), 64);
    // The fresh-mode verifier refuses it with a clear message rather than a decoding error.
    let err = signed.verify(&root, now(), &image(), None).unwrap_err();
    assert!(err.to_string().contains("session mode"), "{err}");

    // The session document by id, and the current one.
    let (id, document) = client.session_document(Some(session_id)).unwrap();
    assert_eq!(id, session_id);
    assert!(stub.requests().pop().unwrap().path.ends_with(&format!("?id={}", hex::encode(session_id))));
    assert_eq!(client.session_document(None).unwrap(), (id, document.clone()));

    let cache = SessionCache::new();
    let verified = client.verify_signature(&signed, &root, now(), &image(), None, &cache).unwrap();
    verified.expect_payload(ReceiptKind::Hash, &[0x42; 32]).unwrap();
    assert_eq!(verified.mode, AttestationMode::Session);
    assert_eq!(verified.session_id, Some(session_id));
    assert_eq!(verified.receipt.nonce.as_deref(), Some(&b"nonce-1"[..]));
    // Another nonce than the one sent is refused.
    let mut other_nonce = signed.clone();
    other_nonce.request.nonce = b"nonce-2".to_vec();
    assert_eq!(
        client.verify_signature(&other_nonce, &root, now(), &image(), None, &cache).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "nonce" })
    );
    // With the document in hand, no client needed.
    signed.verify_session(&document, &root, now(), &image(), None, &cache).unwrap();

    // More results under the same document: neither fetched nor verified again.
    let fetches =
        || stub.requests().iter().filter(|r| r.path.starts_with("/enclave/attestation/session")).count();
    let before = fetches();
    let ed = client.create_wallet(Curve::Ed25519, None, None).unwrap().wallet;
    for i in 0..5u8 {
        let signed = client.sign_message_with(&ed.id, &[i; 5], None, AttestationMode::Session).unwrap();
        let verified = client.verify_signature(&signed, &root, now(), &image(), None, &cache).unwrap();
        verified.expect_payload(ReceiptKind::Message, &[i; 5]).unwrap();
    }
    assert_eq!(fetches(), before);
    assert_eq!(cache.verifications(), 1);

    // Fresh mode is still the default, without the header, and verify_signature takes it too.
    let fresh = client.sign_hash(&wallet.id, [1; 32], Some(b"f")).unwrap();
    assert_eq!(stub.requests().pop().unwrap().header("x-attestation"), None);
    assert_eq!(fresh.result.mode().unwrap(), AttestationMode::Fresh);
    let verified = client.verify_signature(&fresh, &root, now(), &image(), None, &cache).unwrap();
    assert_eq!(verified.mode, AttestationMode::Fresh);
    let err = fresh.verify_session(&document, &root, now(), &image(), None, &cache).unwrap_err();
    assert!(matches!(err, VerifyResultError::Input(_)), "{err}");
    // A session result checked against another document than the one it names.
    let wrong_doc = stub.nsm.session_document(&support::receipt_key(0x5e));
    assert_eq!(
        signed.verify_session(&wrong_doc, &root, now(), &image(), None, &cache).map(|_| ()),
        Err(VerifyResultError::SessionIdMismatch)
    );
}

#[test]
fn session_mode_lies_are_caught() {
    use signer_client::{AttestationMode, SessionCache};
    // The result names another (valid) session document than the one whose key signed.
    let stub = StubParent::start(Tamper::SessionId);
    let client = Client::new(&stub.url, "test-token");
    let wallet = client.create_wallet(Curve::Ed25519, None, None).unwrap().wallet;
    let signed = client.sign_hash_with(&wallet.id, [1; 32], None, AttestationMode::Session).unwrap();
    let err = client.verify_signature(&signed, &stub.nsm.root(), now(), &image(), None, &SessionCache::new());
    assert_eq!(err.map(|_| ()), Err(VerifyResultError::ReceiptKeySignature));

    // Receipts signed by a key no document attests.
    let stub = StubParent::start(Tamper::SessionSignature);
    let client = Client::new(&stub.url, "test-token");
    let wallet = client.create_wallet(Curve::Ed25519, None, None).unwrap().wallet;
    let signed = client.sign_hash_with(&wallet.id, [1; 32], None, AttestationMode::Session).unwrap();
    let err = client.verify_signature(&signed, &stub.nsm.root(), now(), &image(), None, &SessionCache::new());
    assert_eq!(err.map(|_| ()), Err(VerifyResultError::ReceiptKeySignature));

    // A document that does not hash to the id asked for is refused before any verification.
    let stub = StubParent::start(Tamper::SessionDocumentSwap);
    let client = Client::new(&stub.url, "test-token");
    let wallet = client.create_wallet(Curve::Ed25519, None, None).unwrap().wallet;
    let signed = client.sign_hash_with(&wallet.id, [1; 32], None, AttestationMode::Session).unwrap();
    let result = signed.result.clone();
    let signer_client::SignatureEvidence::Session { session_id: id, .. } = result.evidence_bytes().unwrap()
    else {
        panic!("a session answer")
    };
    let err = client.session_document(Some(id)).unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)) && err.to_string().contains("SHA-256"), "{err}");
    let cache = SessionCache::new();
    let err = client.verify_signature(&signed, &stub.nsm.root(), now(), &image(), None, &cache).unwrap_err();
    assert!(matches!(err, VerifyResultError::SessionDocumentUnavailable(_)), "{err}");
    assert_eq!(cache.verifications(), 0);

    // Malformed evidence fields.
    let mut bad = result.clone();
    bad.evidence.attestation_mode = "weekly".into();
    assert!(bad.evidence_bytes().is_err());
    let mut bad = result.clone();
    bad.evidence.session_id = Some("abcd".into());
    assert!(bad.evidence_bytes().is_err());
    let mut bad = result.clone();
    bad.evidence.attestation = Some("AA".into());
    assert!(bad.evidence_bytes().is_err());
    let mut bad = signed;
    bad.result.evidence.receipt_signature = None;
    assert!(matches!(
        client.verify_signature(&bad, &stub.nsm.root(), now(), &image(), None, &cache),
        Err(VerifyResultError::Input(_))
    ));
}
