//! `verify_signing_result` end to end, with real COSE_Sign1 documents from a throwaway PKI.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use signer_client::{
    Curve, ImagePolicy, ReceiptKind, ResultExpectations, SignatureError, TrustedRoot, VerifyResultError,
    verify_signing_result,
};
use signer_common::attestation::VerifyError;
use support::{MockNsm, WalletKey, now, pcrs};

fn nsm() -> &'static MockNsm {
    static NSM: std::sync::OnceLock<MockNsm> = std::sync::OnceLock::new();
    NSM.get_or_init(MockNsm::new)
}

fn full_expectations(key: &WalletKey, wallet_id: &str, nonce: Option<&[u8]>) -> ResultExpectations {
    ResultExpectations {
        image: ImagePolicy::pinned(pcrs()).unwrap(),
        nonce: nonce.map(<[u8]>::to_vec),
        wallet_id: Some(wallet_id.into()),
        public_key: Some(key.public_key()),
        ..ResultExpectations::new(ImagePolicy::danger_any_image())
    }
}

/// Expectations of authenticity alone (any image).
fn any_image() -> ResultExpectations {
    ResultExpectations::new(ImagePolicy::danger_any_image())
}

#[test]
fn valid_results_verify() {
    for curve in [Curve::Secp256k1, Curve::Ed25519] {
        let key = WalletKey::new(curve, 7);
        let receipt = key.signed_receipt("wa-1", ReceiptKind::Hash, &[9; 32]);
        let (bytes, doc) = nsm().attest_receipt(&receipt, Some(b"n0nce"));
        let expect = full_expectations(&key, "wa-1", Some(b"n0nce"));
        let verified = verify_signing_result(&bytes, &doc, &nsm().root(), now(), &expect).unwrap();
        assert_eq!(verified.receipt, receipt);
        assert_eq!(verified.document.nonce.as_deref(), Some(&b"n0nce"[..]));
        verified.expect_payload(ReceiptKind::Hash, &[9; 32]).unwrap();
        assert_eq!(
            verified.expect_payload(ReceiptKind::Hash, &[8; 32]),
            Err(VerifyResultError::Mismatch { field: "payload" })
        );
        assert_eq!(
            verified.expect_payload(ReceiptKind::Message, &[9; 32]),
            Err(VerifyResultError::Mismatch { field: "kind" })
        );
        // With no expectations at all, authenticity alone.
        verify_signing_result(&bytes, &doc, &nsm().root(), now(), &any_image()).unwrap();
    }
    let key = WalletKey::new(Curve::Ed25519, 8);
    let receipt = key.signed_receipt("wa-2", ReceiptKind::Message, b"hello enclave");
    let (bytes, doc) = nsm().attest_receipt(&receipt, None);
    let expect = full_expectations(&key, "wa-2", None);
    verify_signing_result(&bytes, &doc, &nsm().root(), now(), &expect).unwrap();
    let created = key.created_receipt("wa-2");
    let (bytes, doc) = nsm().attest_receipt(&created, None);
    let verified = verify_signing_result(&bytes, &doc, &nsm().root(), now(), &expect).unwrap();
    assert_eq!(verified.receipt.kind, ReceiptKind::WalletCreated);
}

#[test]
fn a_receipt_not_bound_to_the_document_is_refused() {
    let key = WalletKey::new(Curve::Secp256k1, 7);
    let receipt = key.signed_receipt("wa-1", ReceiptKind::Hash, &[1; 32]);
    let (_, doc) = nsm().attest_receipt(&receipt, None);
    // Another valid receipt (another hash, correctly signed) with the first document.
    let other = key.signed_receipt("wa-1", ReceiptKind::Hash, &[2; 32]).to_cbor();
    let err = verify_signing_result(&other, &doc, &nsm().root(), now(), &any_image()).unwrap_err();
    assert_eq!(err, VerifyResultError::NotBound);
    assert!(err.to_string().starts_with("step 1 (attestation document)"), "{err}");
}

#[test]
fn a_valid_document_over_a_bad_signature_is_refused_at_step_3() {
    // The enclave would never attest this, but the verifier must not trust the document alone.
    let key = WalletKey::new(Curve::Secp256k1, 7);
    let mut receipt = key.signed_receipt("wa-1", ReceiptKind::Hash, &[1; 32]);
    receipt.signature.as_mut().unwrap()[5] ^= 1;
    let (bytes, doc) = nsm().attest_receipt(&receipt, None);
    let err = verify_signing_result(&bytes, &doc, &nsm().root(), now(), &any_image()).unwrap_err();
    assert!(matches!(err, VerifyResultError::Signature(_)), "{err}");
    assert!(err.to_string().starts_with("step 3"), "{err}");

    let mut receipt = key.signed_receipt("wa-1", ReceiptKind::Hash, &[1; 32]);
    receipt.signature.as_mut().unwrap()[64] ^= 1;
    let (bytes, doc) = nsm().attest_receipt(&receipt, None);
    assert_eq!(
        verify_signing_result(&bytes, &doc, &nsm().root(), now(), &any_image()),
        Err(VerifyResultError::Signature(SignatureError::RecoveryMismatch))
    );
}

#[test]
fn expectations_are_enforced() {
    let key = WalletKey::new(Curve::Ed25519, 7);
    let receipt = key.signed_receipt("wa-1", ReceiptKind::Hash, &[1; 32]);
    let (bytes, doc) = nsm().attest_receipt(&receipt, Some(b"abc"));
    let root = nsm().root();
    let good = full_expectations(&key, "wa-1", Some(b"abc"));
    let check =
        |expect: &ResultExpectations| verify_signing_result(&bytes, &doc, &root, now(), expect).unwrap_err();
    let err = check(&ResultExpectations { nonce: Some(b"abd".to_vec()), ..good.clone() });
    assert_eq!(err, VerifyResultError::Attestation(VerifyError::FieldMismatch { field: "nonce" }));
    let mut wrong_pcr = good.clone();
    wrong_pcr.image = wrong_pcr.image.clone().with_pcr(1, vec![0; 48]);
    assert_eq!(check(&wrong_pcr), VerifyResultError::Attestation(VerifyError::PcrMismatch { index: 1 }));
    let mut missing_pcr = good.clone();
    missing_pcr.image = missing_pcr.image.clone().with_pcr(16, vec![0; 48]);
    assert_eq!(check(&missing_pcr), VerifyResultError::Attestation(VerifyError::PcrMissing { index: 16 }));
    assert_eq!(
        check(&ResultExpectations { wallet_id: Some("wa-2".into()), ..good.clone() }),
        VerifyResultError::Mismatch { field: "walletId" }
    );
    assert_eq!(
        check(&ResultExpectations {
            public_key: Some(WalletKey::new(Curve::Ed25519, 6).public_key()),
            ..good.clone()
        }),
        VerifyResultError::Mismatch { field: "publicKey" }
    );
    verify_signing_result(&bytes, &doc, &root, now(), &good).unwrap();
}

#[test]
fn another_root_or_time_is_refused() {
    let key = WalletKey::new(Curve::Ed25519, 7);
    let receipt = key.signed_receipt("wa-1", ReceiptKind::Hash, &[1; 32]);
    let (bytes, doc) = nsm().attest_receipt(&receipt, None);
    let other = MockNsm::new().root();
    for root in [other, TrustedRoot::aws_nitro_root_g1()] {
        let err = verify_signing_result(&bytes, &doc, &root, now(), &any_image()).unwrap_err();
        assert!(matches!(err, VerifyResultError::Attestation(VerifyError::Chain(_))), "{err}");
    }
    // 2023: before every certificate's notBefore.
    let err = verify_signing_result(&bytes, &doc, &nsm().root(), 1_690_000_000, &any_image()).unwrap_err();
    assert!(matches!(err, VerifyResultError::Attestation(VerifyError::Chain(_))), "{err}");
}

#[test]
fn garbage_never_verifies() {
    let key = WalletKey::new(Curve::Secp256k1, 7);
    let receipt = key.signed_receipt("wa-1", ReceiptKind::Hash, &[1; 32]);
    let (bytes, doc) = nsm().attest_receipt(&receipt, None);
    let root = nsm().root();
    assert!(verify_signing_result(&bytes, &[], &root, now(), &any_image()).is_err());
    assert!(verify_signing_result(&[], &doc, &root, now(), &any_image()).is_err());
    for i in (0..doc.len()).step_by(97) {
        let mut bad = doc.clone();
        bad[i] ^= 0x40;
        assert!(verify_signing_result(&bytes, &bad, &root, now(), &any_image()).is_err());
    }
    // A receipt document that binds non-receipt bytes: step 2 refuses them.
    let doc = nsm().attest(&signer_client::Receipt::digest(b"not cbor"), None);
    let err = verify_signing_result(b"not cbor", &doc, &root, now(), &any_image()).unwrap_err();
    assert!(matches!(err, VerifyResultError::Receipt(_)), "{err}");
}
