//! Session mode: `verify_session_result` and `SessionCache` with real session documents from a
//! throwaway PKI, and the attacks each step must stop.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::time::Duration;

use signer_client::{
    AttestationMode, Curve, DEFAULT_SESSION_TTL, ImagePolicy, ReceiptKind, ResultExpectations, SessionCache,
    TrustedRoot, VerifyResultError, verify_session_result, verify_signing_result,
};
use signer_common::attestation::VerifyError;
use signer_common::attestation::test_pki::{TestPki, TestPkiParams};
use signer_common::session::{SESSION_REFRESH_MS, encode_receipt_key, session_id};
use support::{MockNsm, WalletKey, now, pcrs, receipt_key, sign_receipt};

fn nsm() -> &'static MockNsm {
    static NSM: std::sync::OnceLock<MockNsm> = std::sync::OnceLock::new();
    NSM.get_or_init(MockNsm::new)
}

/// A session-mode result: receipt bytes (with `nonce`), the receipt key's signature, and the
/// session document attesting that key.
struct Session {
    wallet: WalletKey,
    receipt: Vec<u8>,
    signature: Vec<u8>,
    document: Vec<u8>,
}

/// The session document of receipt key 0x11: one document serves many receipts.
fn shared_document() -> Vec<u8> {
    static DOC: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    DOC.get_or_init(|| nsm().session_document(&receipt_key(0x11))).clone()
}

fn session(curve: Curve, nonce: Option<&[u8]>, payload: &[u8]) -> Session {
    let wallet = WalletKey::new(curve, 7);
    let mut receipt = wallet.signed_receipt("wa-1", ReceiptKind::Hash, payload);
    receipt.nonce = nonce.map(<[u8]>::to_vec);
    let receipt = receipt.to_cbor();
    let key = receipt_key(0x11);
    Session { signature: sign_receipt(&key, &receipt), document: shared_document(), receipt, wallet }
}

fn expectations(s: &Session, nonce: Option<&[u8]>) -> ResultExpectations {
    ResultExpectations {
        image: ImagePolicy::pinned(pcrs()).unwrap(),
        nonce: nonce.map(<[u8]>::to_vec),
        wallet_id: Some("wa-1".into()),
        public_key: Some(s.wallet.public_key()),
        ..ResultExpectations::new(ImagePolicy::danger_any_image())
    }
}

fn verify(s: &Session, expect: &ResultExpectations, cache: &SessionCache) -> Result<(), VerifyResultError> {
    verify_session_result(&s.receipt, &s.signature, &s.document, &nsm().root(), now(), expect, cache)
        .map(|_| ())
}

/// Expectations of authenticity alone (any image).
fn any_image() -> ResultExpectations {
    ResultExpectations::new(ImagePolicy::danger_any_image())
}

#[test]
fn a_valid_session_result_verifies() {
    for curve in [Curve::Secp256k1, Curve::Ed25519] {
        let s = session(curve, Some(b"n0nce"), &[9; 32]);
        let cache = SessionCache::new();
        let verified = verify_session_result(
            &s.receipt,
            &s.signature,
            &s.document,
            &nsm().root(),
            now(),
            &expectations(&s, Some(b"n0nce")),
            &cache,
        )
        .unwrap();
        assert_eq!(verified.mode, AttestationMode::Session);
        assert_eq!(verified.session_id, Some(session_id(&s.document)));
        assert_eq!(verified.receipt.nonce.as_deref(), Some(&b"n0nce"[..]));
        assert_eq!(verified.document.pcrs, pcrs());
        assert_eq!(verified.document.nonce, None);
        verified.expect_payload(ReceiptKind::Hash, &[9; 32]).unwrap();
        // Authenticity alone, no expectations.
        verify(&s, &ResultExpectations::new(ImagePolicy::danger_any_image()), &cache).unwrap();
        assert_eq!(cache.verifications(), 1);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.document(&session_id(&s.document)).as_deref(), Some(s.document.as_slice()));
    }
}

#[test]
fn a_receipt_signature_by_another_key_is_refused() {
    let s = session(Curve::Ed25519, None, &[1; 32]);
    let forged = Session { signature: sign_receipt(&receipt_key(0x12), &s.receipt), ..s };
    let err = verify(&forged, &any_image(), &SessionCache::new()).unwrap_err();
    assert_eq!(err, VerifyResultError::ReceiptKeySignature);
    assert!(err.to_string().starts_with("step 1 (receipt key signature)"), "{err}");
    // Not a signature at all.
    let short = Session { signature: vec![0; 63], ..forged };
    assert_eq!(
        verify(&short, &any_image(), &SessionCache::new()),
        Err(VerifyResultError::ReceiptKeySignature)
    );
}

#[test]
fn a_signature_over_another_receipt_is_refused() {
    let s = session(Curve::Secp256k1, Some(b"a"), &[1; 32]);
    let other = session(Curve::Secp256k1, Some(b"a"), &[2; 32]);
    // A valid receipt (another hash) with the first receipt's signature, and the reverse.
    let swapped =
        Session { receipt: other.receipt.clone(), ..session(Curve::Secp256k1, Some(b"a"), &[1; 32]) };
    let cache = SessionCache::new();
    assert_eq!(verify(&swapped, &any_image(), &cache), Err(VerifyResultError::ReceiptKeySignature));
    // The same receipt with another nonce (so another request) is not covered either.
    let renonced = session(Curve::Secp256k1, Some(b"b"), &[1; 32]);
    let mixed = Session { signature: s.signature.clone(), ..renonced };
    assert_eq!(verify(&mixed, &any_image(), &cache), Err(VerifyResultError::ReceiptKeySignature));
    // A flipped bit anywhere in the receipt.
    for i in (0..s.receipt.len()).step_by(13) {
        let mut receipt = s.receipt.clone();
        receipt[i] ^= 0x01;
        let bad = Session {
            receipt,
            signature: s.signature.clone(),
            document: s.document.clone(),
            wallet: WalletKey::new(Curve::Secp256k1, 7),
        };
        assert_eq!(
            verify(&bad, &any_image(), &cache),
            Err(VerifyResultError::ReceiptKeySignature),
            "byte {i}"
        );
    }
    // Without the domain separation prefix: a bare signature over the receipt.
    use ed25519_dalek::Signer as _;
    let bare = receipt_key(0x11).sign(&s.receipt).to_bytes().to_vec();
    let bad = Session { signature: bare, ..s };
    assert_eq!(verify(&bad, &any_image(), &cache), Err(VerifyResultError::ReceiptKeySignature));
}

#[test]
fn a_document_made_for_another_purpose_is_refused() {
    let s = session(Curve::Ed25519, None, &[1; 32]);
    let key = receipt_key(0x11);
    let cose_key = encode_receipt_key(&key.verifying_key().to_bytes());
    // A fresh-mode document (user_data = a receipt digest) that happens to carry the key.
    let digest = signer_client::Receipt::digest(&s.receipt);
    let fresh = nsm().pki.sign(&nsm().doc(Some(&digest), None, Some(&cose_key)));
    // No user_data at all; another marker.
    let none = nsm().pki.sign(&nsm().doc(None, None, Some(&cose_key)));
    let other = nsm().pki.sign(&nsm().doc(Some(b"signer/provisioning-key/v1"), None, Some(&cose_key)));
    for document in [fresh, none, other] {
        let bad = Session {
            document,
            receipt: s.receipt.clone(),
            signature: s.signature.clone(),
            wallet: WalletKey::new(Curve::Ed25519, 7),
        };
        let cache = SessionCache::new();
        let err = verify(&bad, &any_image(), &cache).unwrap_err();
        assert_eq!(err, VerifyResultError::NotSessionDocument);
        assert!(err.to_string().starts_with("step 1 (session document)"), "{err}");
        assert!(cache.is_empty());
    }
    // The marker, but no key or not an Ed25519 COSE_Key.
    let marker = signer_common::session::SESSION_DOCUMENT_USER_DATA;
    for public_key in [None, Some(&b"\xa0"[..]), Some(&[7u8; 32][..])] {
        let document = nsm().pki.sign(&nsm().doc(Some(marker), None, public_key));
        let bad = Session {
            document,
            receipt: s.receipt.clone(),
            signature: s.signature.clone(),
            wallet: WalletKey::new(Curve::Ed25519, 7),
        };
        assert_eq!(verify(&bad, &any_image(), &SessionCache::new()), Err(VerifyResultError::ReceiptKey));
    }
    // A small-order "key" (the identity point) would accept forged signatures under a lax check.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let document = nsm().pki.sign(&nsm().doc(Some(marker), None, Some(&encode_receipt_key(&identity))));
    let bad = Session { document, ..s };
    assert_eq!(verify(&bad, &any_image(), &SessionCache::new()), Err(VerifyResultError::ReceiptKey));
}

#[test]
fn a_document_from_another_root_is_refused() {
    let s = session(Curve::Ed25519, None, &[1; 32]);
    let cache = SessionCache::new();
    for root in [MockNsm::new().root(), TrustedRoot::aws_nitro_root_g1()] {
        let err =
            verify_session_result(&s.receipt, &s.signature, &s.document, &root, now(), &any_image(), &cache)
                .unwrap_err();
        assert!(matches!(err, VerifyResultError::SessionDocument(VerifyError::Chain(_))), "{err}");
    }
    // A document made by another NSM for the same key is refused with this NSM's root.
    let stranger = MockNsm::new();
    let foreign = Session { document: stranger.session_document(&receipt_key(0x11)), ..s };
    let err = verify(&foreign, &any_image(), &cache).unwrap_err();
    assert!(matches!(err, VerifyResultError::SessionDocument(VerifyError::Chain(_))), "{err}");
    assert!(cache.is_empty());
    // Verified and cached against its own root, it still does not serve this one.
    verify_session_result(
        &foreign.receipt,
        &foreign.signature,
        &foreign.document,
        &stranger.root(),
        now(),
        &any_image(),
        &cache,
    )
    .unwrap();
    assert_eq!(cache.len(), 1);
    let err = verify(&foreign, &any_image(), &cache).unwrap_err();
    assert!(matches!(err, VerifyResultError::SessionDocument(VerifyError::Chain(_))), "{err}");
}

#[test]
fn a_tampered_document_is_refused_even_after_the_original_is_cached() {
    let s = session(Curve::Ed25519, None, &[1; 32]);
    let cache = SessionCache::new();
    verify(&s, &any_image(), &cache).unwrap();
    for i in (0..s.document.len()).step_by(61) {
        let mut document = s.document.clone();
        document[i] ^= 0x20;
        let bad = Session {
            document,
            receipt: s.receipt.clone(),
            signature: s.signature.clone(),
            wallet: WalletKey::new(Curve::Ed25519, 7),
        };
        let err = verify(&bad, &any_image(), &cache).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyResultError::SessionDocument(_)
                    | VerifyResultError::NotSessionDocument
                    | VerifyResultError::ReceiptKey
            ),
            "byte {i}: {err}"
        );
    }
    // The same payload re-signed with a key swapped in: only a real NSM signature verifies.
    let forger = MockNsm::new();
    let mut doc = signer_common::attestation::decode_unverified(&s.document).unwrap();
    doc.public_key = Some(encode_receipt_key(&receipt_key(0x66).verifying_key().to_bytes()));
    let resigned = forger.pki.sign(&doc);
    let bad = Session { document: resigned, signature: sign_receipt(&receipt_key(0x66), &s.receipt), ..s };
    let err = verify(&bad, &any_image(), &cache).unwrap_err();
    assert!(
        matches!(err, VerifyResultError::SessionDocument(VerifyError::Signature(_) | VerifyError::Chain(_))),
        "{err}"
    );
}

#[test]
fn the_nonce_is_checked_in_the_receipt() {
    let s = session(Curve::Ed25519, Some(b"mine"), &[1; 32]);
    let cache = SessionCache::new();
    verify(&s, &expectations(&s, Some(b"mine")), &cache).unwrap();
    let err = verify(&s, &expectations(&s, Some(b"yours")), &cache).unwrap_err();
    assert_eq!(err, VerifyResultError::Mismatch { field: "nonce" });
    assert!(err.to_string().starts_with("step 4 (expectations)"), "{err}");
    // A receipt without a nonce when one is expected: the session document cannot vouch for it.
    let bare = session(Curve::Ed25519, None, &[1; 32]);
    assert_eq!(
        verify(&bare, &expectations(&bare, Some(b"mine")), &cache),
        Err(VerifyResultError::Mismatch { field: "nonce" })
    );
    // Other expectations as in fresh mode.
    let wrong_wallet = ResultExpectations { wallet_id: Some("wa-2".into()), ..expectations(&s, None) };
    assert_eq!(verify(&s, &wrong_wallet, &cache), Err(VerifyResultError::Mismatch { field: "walletId" }));
    let mut wrong_pcr = expectations(&s, None);
    wrong_pcr.image = wrong_pcr.image.clone().with_pcr(1, vec![0; 48]);
    assert_eq!(
        verify(&s, &wrong_pcr, &cache),
        Err(VerifyResultError::SessionDocument(VerifyError::PcrMismatch { index: 1 }))
    );
    let mut missing_pcr = expectations(&s, None);
    missing_pcr.image = missing_pcr.image.clone().with_pcr(16, vec![0; 48]);
    assert_eq!(
        verify(&s, &missing_pcr, &cache),
        Err(VerifyResultError::SessionDocument(VerifyError::PcrMissing { index: 16 }))
    );
    // PCRs are checked on cache hits too: still one verification.
    assert_eq!(cache.verifications(), 1);
}

#[test]
fn fresh_mode_checks_the_receipt_nonce_too() {
    let key = WalletKey::new(Curve::Ed25519, 7);
    let mut receipt = key.signed_receipt("wa-1", ReceiptKind::Hash, &[1; 32]);
    // The document carries the expected nonce but the receipt another one.
    receipt.nonce = Some(b"other".to_vec());
    let (bytes, doc) = nsm().attest_receipt(&receipt, Some(b"mine"));
    let expect = ResultExpectations {
        nonce: Some(b"mine".to_vec()),
        ..ResultExpectations::new(ImagePolicy::danger_any_image())
    };
    assert_eq!(
        verify_signing_result(&bytes, &doc, &nsm().root(), now(), &expect),
        Err(VerifyResultError::Mismatch { field: "nonce" })
    );
    // The same nonce in both: fine; no nonce in the receipt (older enclaves): fine.
    receipt.nonce = Some(b"mine".to_vec());
    let (bytes, doc) = nsm().attest_receipt(&receipt, Some(b"mine"));
    let verified = verify_signing_result(&bytes, &doc, &nsm().root(), now(), &expect).unwrap();
    assert_eq!(verified.mode, AttestationMode::Fresh);
    assert_eq!(verified.session_id, None);
    receipt.nonce = None;
    let (bytes, doc) = nsm().attest_receipt(&receipt, Some(b"mine"));
    verify_signing_result(&bytes, &doc, &nsm().root(), now(), &expect).unwrap();
}

#[test]
fn a_cached_document_is_not_verified_again_until_it_expires() {
    let s = session(Curve::Ed25519, Some(b"n"), &[1; 32]);
    let cache = SessionCache::new();
    assert_eq!(cache.ttl(), Duration::from_millis(SESSION_REFRESH_MS * 3));
    assert_eq!(DEFAULT_SESSION_TTL.as_secs(), 3 * 3600);
    let root = nsm().root();
    let t0 = now();
    let at = |t: u64| {
        verify_session_result(
            &s.receipt,
            &s.signature,
            &s.document,
            &root,
            t,
            &expectations(&s, Some(b"n")),
            &cache,
        )
    };
    at(t0).unwrap();
    assert_eq!(cache.verifications(), 1);
    // Many receipts later, within the TTL: no new verification.
    for i in 0..50u64 {
        at(t0 + i * 200).unwrap();
    }
    at(t0 + 3 * 3600 - 1).unwrap();
    assert_eq!(cache.verifications(), 1);
    // Other receipts signed by the same key under the same document also hit.
    let other = session(Curve::Secp256k1, Some(b"n"), &[2; 32]);
    verify(&other, &expectations(&other, Some(b"n")), &cache).unwrap();
    assert_eq!(cache.verifications(), 1);
    // At the TTL the entry has expired: verified again (and cached again from then on).
    at(t0 + 3 * 3600).unwrap();
    assert_eq!(cache.verifications(), 2);
    at(t0 + 3 * 3600 + 10).unwrap();
    assert_eq!(cache.verifications(), 2);
    // A time before the cached verification is not covered by it.
    at(t0 - 10).unwrap();
    assert_eq!(cache.verifications(), 3);
    // A failed verification is counted and not cached.
    let fresh_cache = SessionCache::new();
    let err = verify_session_result(
        &s.receipt,
        &s.signature,
        &s.document,
        &root,
        1_600_000_000,
        &any_image(),
        &fresh_cache,
    );
    assert!(matches!(err, Err(VerifyResultError::SessionDocument(VerifyError::Chain(_)))), "{err:?}");
    assert_eq!((fresh_cache.verifications(), fresh_cache.len()), (1, 0));
    // A TTL of zero caches nothing.
    let no_cache = SessionCache::new().with_ttl(Duration::ZERO);
    for _ in 0..3 {
        verify(&s, &any_image(), &no_cache).unwrap();
    }
    assert_eq!((no_cache.verifications(), no_cache.len()), (3, 0));
}

#[test]
fn a_cached_entry_never_outlives_the_leaf_certificate() {
    // A leaf that expires at the next midnight (UTC) but one, while the CAs live on.
    let today = now() / 86_400;
    let civil = |days: u64| {
        // Back from days since the epoch to (y, m, d), H. Hinnant's algorithm.
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + u64::from(m <= 2);
        (i32::try_from(y).unwrap(), u8::try_from(m).unwrap(), u8::try_from(d).unwrap())
    };
    let mut params = TestPkiParams::new("short", (2024, 1, 1), (2100, 1, 1));
    params.leaf_validity = Some(((2024, 1, 1), civil(today + 2)));
    let nsm = MockNsm { pki: TestPki::new(&params) };
    let leaf_end = (today + 2) * 86_400;
    let key = receipt_key(0x21);
    let document = nsm.session_document(&key);
    let wallet = WalletKey::new(Curve::Ed25519, 3);
    let receipt = wallet.signed_receipt("wa-1", ReceiptKind::Hash, &[1; 32]).to_cbor();
    let signature = sign_receipt(&key, &receipt);
    let cache = SessionCache::new();
    let root = nsm.root();
    let at = |t: u64| verify_session_result(&receipt, &signature, &document, &root, t, &any_image(), &cache);
    // Verified an hour before the leaf expires: cached until it does, not for the full TTL.
    at(leaf_end - 3600).unwrap();
    at(leaf_end).unwrap();
    assert_eq!(cache.verifications(), 1);
    let err = at(leaf_end + 1).unwrap_err();
    assert!(matches!(err, VerifyResultError::SessionDocument(VerifyError::Chain(_))), "{err}");
    assert_eq!(cache.verifications(), 2);
}

#[test]
fn the_cache_is_bounded_and_evicts_the_oldest() {
    let cache = SessionCache::new().with_capacity(3);
    let wallet = WalletKey::new(Curve::Ed25519, 3);
    let receipt = wallet.signed_receipt("wa-1", ReceiptKind::Hash, &[1; 32]).to_cbor();
    let sessions: Vec<(Vec<u8>, Vec<u8>)> = (0..5u8)
        .map(|i| {
            let key = receipt_key(0x30 + i);
            (nsm().session_document(&key), sign_receipt(&key, &receipt))
        })
        .collect();
    let root = nsm().root();
    let verify = |i: usize| {
        let (document, signature) = &sessions[i];
        verify_session_result(&receipt, signature, document, &root, now(), &any_image(), &cache).unwrap();
    };
    for i in 0..5 {
        verify(i);
    }
    assert_eq!((cache.len(), cache.verifications()), (3, 5));
    // 0 and 1 were evicted; 2, 3 and 4 are held.
    verify(4);
    verify(2);
    assert_eq!(cache.verifications(), 5);
    assert!(cache.document(&session_id(&sessions[0].0)).is_none());
    verify(0);
    assert_eq!(cache.verifications(), 6);
    cache.clear();
    assert!(cache.is_empty());
    // The cache is shared between threads.
    let cache = SessionCache::new();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..10 {
                    let (document, signature) = &sessions[1];
                    verify_session_result(&receipt, signature, document, &root, now(), &any_image(), &cache)
                        .unwrap();
                }
            });
        }
    });
    assert!((1..=4).contains(&cache.verifications()));
    assert_eq!(cache.len(), 1);
}
