//! Wallet calls, sans-I/O on `EnclaveCore`: creation and signing through one-shot calls, the
//! receipts and their attestation, and the sealed-wallet checks.
#![cfg(feature = "mock-nsm")]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use serde_bytes::ByteBuf;
use signer_common::attestation::{Expectations, TrustedRoot, verify};
use signer_common::protocol::{
    AttestationMode, Call, Curve, ErrorCode, Evidence, MAX_ID_LEN, Outcome, Pong, Request, Response,
    SessionQuery, WalletCreated,
};
use signer_common::receipt::{Receipt, ReceiptKind};
use signer_enclave::keys::{MasterKey, labels};
use signer_enclave::seal::WalletSealer;
use support::{Enclave, T0, User, admin, assert_refused, wallet_context};

const HASH: [u8; 32] = [5; 32];

fn setup() -> (Enclave, User) {
    let e = Enclave::new(9);
    let user = admin(&mut |r| e.send(r), "or-1", 7);
    (e, user)
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn root(e: &Enclave) -> TrustedRoot {
    match e.send(Request::RootCertificate) {
        Response::RootCertificate(r) => TrustedRoot::from_pem(&r.pem).unwrap(),
        other => panic!("{other:?}"),
    }
}

fn counter() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("request-id-{:08}", N.fetch_add(1, Ordering::SeqCst))
}

fn signed_call(e: &Enclave, user: &User, build: impl FnOnce(&mut Call), body: &[u8], path: &str) -> Response {
    let id = counter();
    let mut call = user.call("POST", path, body, user.one_shot_auth("POST", path, body, e.time(), &id));
    build(&mut call);
    e.send(Request::Call(Box::new(call)))
}

fn create(e: &Enclave, user: &User, curve: Curve, mode: AttestationMode) -> WalletCreated {
    let body = format!(r#"{{"curve":"{}"}}"#, curve.as_str());
    match signed_call(e, user, |c| c.attestation = mode, body.as_bytes(), "/wallets") {
        Response::Called(c) => match c.outcome {
            Outcome::WalletCreated(w) => w,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn hash_body(hash: &[u8]) -> Vec<u8> {
    format!(r#"{{"kind":"Hash","hash":"0x{}"}}"#, hex::encode(hash)).into_bytes()
}

fn sign(e: &Enclave, user: &User, wallet: &WalletCreated, body: &[u8], mode: AttestationMode) -> Response {
    let path = format!("/wallets/{}/signatures", wallet.wallet.wallet_id);
    signed_call(
        e,
        user,
        |c| {
            c.wallet = Some(wallet_context(wallet));
            c.attestation = mode;
            c.nonce = Some(ByteBuf::from(vec![7; 8]));
        },
        body,
        &path,
    )
}

fn signed(response: Response) -> signer_common::protocol::Signed {
    match response {
        Response::Called(c) => match c.outcome {
            Outcome::Signed(s) => s,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn document(evidence: &Evidence) -> &[u8] {
    match evidence {
        Evidence::Document(d) => d,
        other => panic!("expected a document, got {other:?}"),
    }
}

#[test]
fn signs_with_a_receipt_bound_to_an_attestation() {
    let (e, user) = setup();
    let root = root(&e);
    for curve in [Curve::Secp256k1, Curve::Ed25519] {
        let created = create(&e, &user, curve, AttestationMode::Fresh);
        let receipt = Receipt::from_cbor(&created.receipt).unwrap();
        assert_eq!(receipt.kind, ReceiptKind::WalletCreated);
        assert_eq!(receipt.public_key, created.wallet.public_key.as_slice());
        assert_eq!(receipt.wallet_id, created.wallet.wallet_id);
        let user_data = Some(Receipt::digest(&created.receipt).to_vec());
        verify(
            document(&created.evidence),
            &root,
            now_s(),
            &Expectations { user_data, ..Default::default() },
        )
        .unwrap();

        let s = signed(sign(&e, &user, &created, &hash_body(&HASH), AttestationMode::Fresh));
        let receipt = Receipt::from_cbor(&s.receipt).unwrap();
        assert_eq!(receipt.signature.as_deref(), Some(s.signature.as_slice()));
        assert_eq!(receipt.payload.as_deref(), Some(&HASH[..]));
        assert_eq!(receipt.time, T0);
        assert_eq!(receipt.nonce, Some(vec![7; 8]));
        let expect = Expectations {
            user_data: Some(Receipt::digest(&s.receipt).to_vec()),
            nonce: Some(vec![7; 8]),
            ..Default::default()
        };
        verify(document(&s.evidence), &root, now_s(), &expect).unwrap();
    }
}

#[test]
fn session_mode_signs_receipts_with_the_attested_receipt_key() {
    use signer_common::session::{SESSION_DOCUMENT_USER_DATA, decode_receipt_key, signed_message};
    let (e, user) = setup();
    let wallet = create(&e, &user, Curve::Secp256k1, AttestationMode::Session);
    let s = signed(sign(&e, &user, &wallet, &hash_body(&HASH), AttestationMode::Session));
    let Evidence::Session { session_id, signature } = &s.evidence else {
        panic!("expected session evidence")
    };
    let Response::SessionDocument(session) =
        e.send(Request::SessionDocument(SessionQuery { id: Some(session_id.clone()) }))
    else {
        panic!("no session document")
    };
    let expect = Expectations { user_data: Some(SESSION_DOCUMENT_USER_DATA.to_vec()), ..Default::default() };
    let doc = verify(&session.document, &root(&e), now_s(), &expect).unwrap();
    let key = decode_receipt_key(doc.public_key.as_deref().unwrap()).unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
    let sig = ed25519_dalek::Signature::from_slice(signature).unwrap();
    vk.verify_strict(&signed_message(&s.receipt), &sig).unwrap();
    assert!(vk.verify_strict(&signed_message(b"another receipt"), &sig).is_err());
    let unknown = Request::SessionDocument(SessionQuery { id: Some(ByteBuf::from(vec![0; 32])) });
    assert_refused(e.send(unknown), ErrorCode::NotFound);
}

#[test]
fn refuses_everything_but_ping_without_a_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let nsm = std::sync::Arc::new(signer_enclave::nsm::mock::MockNsm::open(dir.path(), b"x").unwrap());
    let core = signer_enclave::core::EnclaveCore::new(nsm, None, std::sync::Arc::new(|| T0));
    assert!(matches!(core.handle(Request::Ping), Response::Pong(Pong { ready: false, .. })));
    let (_e, user) = setup();
    let r = user.one_shot("POST", "/wallets", br#"{"curve":"ed25519"}"#, T0, "create-request-0001");
    assert_refused(core.handle(r), ErrorCode::NotReady);
}

#[test]
fn refuses_a_wallet_sealed_under_another_master_key() {
    let (e, user) = setup();
    let other = Enclave::new(1);
    let stranger = admin(&mut |r| other.send(r), "or-1", 7);
    let theirs = create(&other, &stranger, Curve::Ed25519, AttestationMode::Session);
    // Our record for the wallet id cannot exist, so borrow ours and put their blob in it.
    let mut mixed = create(&e, &user, Curve::Ed25519, AttestationMode::Session);
    mixed.wallet.sealed = theirs.wallet.sealed;
    assert_refused(
        sign(&e, &user, &mixed, &hash_body(&HASH), AttestationMode::Session),
        ErrorCode::SealedWalletInvalid,
    );
}

/// A blob whose seal is valid but whose secret is not the announced key's (what a sealing bug
/// would make): an Ed25519 wallet is refused rather than signed with a key it does not
/// announce (two public keys for one secret would let signatures leak it).
#[test]
fn refuses_an_ed25519_blob_sealed_with_a_mismatched_key() {
    let (e, user) = setup();
    let mut a = create(&e, &user, Curve::Ed25519, AttestationMode::Session);
    let sealer = WalletSealer::new(&MasterKey::from_bytes([9; 32]).derive(labels::WALLET_SEALING));
    let w = &a.wallet;
    a.wallet.sealed =
        ByteBuf::from(sealer.seal(&w.wallet_id, Curve::Ed25519, &w.public_key, &[0x5a; 32], [3; 12]));
    assert_refused(
        sign(&e, &user, &a, &hash_body(&HASH), AttestationMode::Session),
        ErrorCode::SealedWalletInvalid,
    );
}

#[test]
fn refuses_bad_payloads_before_touching_the_key() {
    let (e, user) = setup();
    let k1 = create(&e, &user, Curve::Secp256k1, AttestationMode::Session);
    assert_refused(
        sign(&e, &user, &k1, &hash_body(&[0; 31]), AttestationMode::Session),
        ErrorCode::BadRequest,
    );
    let message = br#"{"kind":"Message","message":"0x01"}"#;
    assert_refused(sign(&e, &user, &k1, message, AttestationMode::Session), ErrorCode::Unsupported);
    let both = br#"{"kind":"Hash","hash":"0x01","message":"0x01"}"#;
    assert_refused(sign(&e, &user, &k1, both, AttestationMode::Session), ErrorCode::BadRequest);
    let ed = create(&e, &user, Curve::Ed25519, AttestationMode::Session);
    assert!(matches!(sign(&e, &user, &ed, message, AttestationMode::Session), Response::Called(_)));
    // A nonce too long, a request id too long.
    let body = hash_body(&HASH);
    let path = format!("/wallets/{}/signatures", ed.wallet.wallet_id);
    let long_nonce = signed_call(
        &e,
        &user,
        |c| {
            c.wallet = Some(wallet_context(&ed));
            c.nonce = Some(ByteBuf::from(vec![0; 65]));
        },
        &body,
        &path,
    );
    assert_refused(long_nonce, ErrorCode::BadRequest);
    let long_id = signed_call(
        &e,
        &user,
        |c| {
            c.wallet = Some(wallet_context(&ed));
            c.request_id = "s".repeat(MAX_ID_LEN + 1);
        },
        &body,
        &path,
    );
    assert_refused(long_id, ErrorCode::BadRequest);
    let max_id = signed_call(
        &e,
        &user,
        |c| {
            c.wallet = Some(wallet_context(&ed));
            c.request_id = "s".repeat(MAX_ID_LEN);
        },
        &body,
        &path,
    );
    assert!(matches!(max_id, Response::Called(_)));
}
