//! End-to-end verification of a signing result: its evidence (an attestation document, or in
//! session mode a receipt-key signature and the session document attesting that key), the
//! receipt, the signature in the receipt, and what the caller expects.
//!
//! The parent is untrusted: it can rewrite any field of its JSON answers. What a client can rely
//! on is only what this module checks: a document signed by an NSM whose chain leads to the
//! pinned root and that binds the receipt bytes (its `user_data` is their SHA-256, or it attests
//! the receipt key that signed them), and a receipt whose signature verifies under the receipt's
//! public key.

use std::collections::BTreeMap;

use signer_common::attestation::{self, AttestationDoc, Expectations, TrustedRoot, VerifyError};
use signer_common::protocol::{AttestationMode, Curve};
use signer_common::receipt::{Receipt, ReceiptKind};
use signer_common::session::signed_message;

use crate::error::VerifyResultError;
use crate::session::SessionCache;
use crate::signature::verify_ed25519;
pub use crate::signature::verify_receipt_signature;

/// The enclave image a document must come from: the PCRs it must carry. Made either pinned
/// ([`ImagePolicy::pinned`], [`ImagePolicy::pcr0`]: PCR0 at least) or explicitly unpinned
/// ([`ImagePolicy::danger_any_image`]); there is no default, so it cannot be forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePolicy {
    pcrs: BTreeMap<u8, Vec<u8>>,
}

impl ImagePolicy {
    /// Documents must carry these PCRs, PCR0 (the image) among them; without a non-empty PCR0
    /// this is [`VerifyResultError::NoExpectedImage`].
    pub fn pinned(pcrs: BTreeMap<u8, Vec<u8>>) -> Result<ImagePolicy, VerifyResultError> {
        if pcrs.get(&0).is_none_or(|pcr0| pcr0.is_empty()) {
            return Err(VerifyResultError::NoExpectedImage);
        }
        Ok(ImagePolicy { pcrs })
    }

    /// Documents must carry this PCR0.
    pub fn pcr0(pcr0: impl Into<Vec<u8>>) -> Result<ImagePolicy, VerifyResultError> {
        ImagePolicy::pinned(BTreeMap::from([(0, pcr0.into())]))
    }

    /// Any enclave image is accepted: a document signed under the root by *any* enclave passes,
    /// including one running other code. For tests and first contact only.
    pub fn danger_any_image() -> ImagePolicy {
        ImagePolicy { pcrs: BTreeMap::new() }
    }

    /// The same policy also requiring PCR `index` to be `value` (PCR0 this way pins the image).
    pub fn with_pcr(mut self, index: u8, value: Vec<u8>) -> ImagePolicy {
        self.pcrs.insert(index, value);
        self
    }

    /// The PCRs required.
    pub fn pcrs(&self) -> &BTreeMap<u8, Vec<u8>> {
        &self.pcrs
    }

    /// True when PCR0 (the image) is pinned.
    pub fn is_pinned(&self) -> bool {
        self.pcrs.contains_key(&0)
    }
}

/// A wallet's key as verified from its creation receipt ([`VerifiedResult::wallet_key`]):
/// pinning it makes a signing result for another key fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletKey {
    /// The wallet's curve.
    pub curve: Curve,
    /// SEC1 compressed (secp256k1) or 32 bytes (Ed25519).
    pub public_key: Vec<u8>,
}

/// What the caller expects of a signing result, beyond its authenticity. Built from the request
/// (see [`crate::SignedResult::expectations`]), never from the parent's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultExpectations {
    /// The enclave image: the PCRs the attestation document (the session document in session
    /// mode) must carry.
    pub image: ImagePolicy,
    /// When set, the `X-Request-Nonce` the client sent. Fresh mode: the document's `nonce` must
    /// be this, and so must the receipt's `nonce` when it has one. Session mode: the receipt's
    /// `nonce` must be this (the shared session document has none).
    pub nonce: Option<Vec<u8>>,
    /// When set, the receipt must name this wallet.
    pub wallet_id: Option<String>,
    /// When set, the receipt's public key must be this (SEC1 compressed, or 32-byte Ed25519).
    pub public_key: Option<Vec<u8>>,
    /// When set, the receipt's curve must be this.
    pub curve: Option<Curve>,
    /// When set, the receipt's kind must be this.
    pub kind: Option<ReceiptKind>,
    /// When set, the receipt's payload must be these bytes (the hash or message asked for).
    pub payload: Option<Vec<u8>>,
}

impl ResultExpectations {
    /// Expectations of the image only; set the other fields as known.
    pub fn new(image: ImagePolicy) -> ResultExpectations {
        ResultExpectations {
            image,
            nonce: None,
            wallet_id: None,
            public_key: None,
            curve: None,
            kind: None,
            payload: None,
        }
    }

    /// The same expectations with the wallet's verified key pinned.
    pub fn with_key(mut self, key: &WalletKey) -> ResultExpectations {
        self.curve = Some(key.curve);
        self.public_key = Some(key.public_key.clone());
        self
    }
}

/// A verified signing result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedResult {
    /// The decoded receipt; for signature receipts its signature has been verified.
    pub receipt: Receipt,
    /// The verified attestation document: in fresh mode the one whose `user_data` is SHA-256 of
    /// the receipt bytes; in session mode the session document attesting the receipt key.
    pub document: AttestationDoc,
    /// How the receipt was bound to the enclave.
    pub mode: AttestationMode,
    /// Session mode: SHA-256 of the session document (computed here).
    pub session_id: Option<[u8; 32]>,
}

/// Verifies a signing result end to end (fresh mode).
///
/// 1. The attestation document verifies against `root` at `at_unix_seconds`, with `user_data`
///    = SHA-256(`receipt`) and the caller's PCRs and nonce.
/// 2. The receipt decodes (deterministic CBOR; `payload` matches `payloadSha256`).
/// 3. For signature receipts, the signature verifies with the receipt's public key
///    ([`verify_receipt_signature`]).
/// 4. The receipt names the expected wallet and public key, and, when it carries a nonce, the
///    expected nonce.
pub fn verify_signing_result(
    receipt: &[u8],
    attestation: &[u8],
    root: &TrustedRoot,
    at_unix_seconds: u64,
    expect: &ResultExpectations,
) -> Result<VerifiedResult, VerifyResultError> {
    // (1) The document is authentic and binds exactly these receipt bytes.
    let doc_expect = Expectations {
        pcrs: expect.image.pcrs().clone(),
        user_data: Some(Receipt::digest(receipt).to_vec()),
        nonce: expect.nonce.clone(),
        public_key: None,
        max_age: None,
    };
    let document =
        attestation::verify(attestation, root, at_unix_seconds, &doc_expect).map_err(|e| match e {
            VerifyError::FieldMismatch { field: "user_data" } => VerifyResultError::NotBound,
            other => VerifyResultError::Attestation(other),
        })?;
    // (2) and (3).
    let decoded = decode_and_verify_receipt(receipt)?;
    // (4) The caller's expectations; the receipt's nonce, when it has one, is the document's.
    check_receipt_expectations(&decoded, expect)?;
    check_receipt_nonce(&decoded, expect.nonce.as_deref(), AttestationMode::Fresh)?;
    Ok(VerifiedResult { receipt: decoded, document, mode: AttestationMode::Fresh, session_id: None })
}

/// Verifies a session-mode signing result end to end: `receipt`, the receipt key's
/// `receipt_signature` over it, and the `session_document` attesting that key.
///
/// 1. Evidence:
///    - the session document is verified by `cache` ([`SessionCache::verify_document`]): found
///      there by its SHA-256 (computed here) when it was verified against `root` within the
///      cache's TTL, otherwise verified against `root` at `at_unix_seconds` with `user_data` =
///      the session marker and the caller's PCRs, and then cached; its `public_key` is the
///      Ed25519 receipt key;
///    - `receipt_signature` verifies strictly (as ed25519-dalek's `verify_strict` would) with
///      the receipt key over `signed_message(receipt)`.
/// 2. and 3. The receipt decodes and its wallet signature verifies, exactly as in
///    [`verify_signing_result`].
/// 4. The receipt names the expected wallet and public key, and carries the expected nonce (in
///    session mode the nonce is only in the receipt).
pub fn verify_session_result(
    receipt: &[u8],
    receipt_signature: &[u8],
    session_document: &[u8],
    root: &TrustedRoot,
    at_unix_seconds: u64,
    expect: &ResultExpectations,
    cache: &SessionCache,
) -> Result<VerifiedResult, VerifyResultError> {
    // (1) The session document (verified once per cache entry) and the receipt key's signature.
    let session = cache.verify_document(session_document, root, at_unix_seconds, expect.image.pcrs())?;
    verify_ed25519(session.receipt_key.as_bytes(), &signed_message(receipt), receipt_signature)
        .map_err(|_| VerifyResultError::ReceiptKeySignature)?;
    // (2) and (3).
    let decoded = decode_and_verify_receipt(receipt)?;
    // (4) The caller's expectations, the nonce included.
    check_receipt_expectations(&decoded, expect)?;
    check_receipt_nonce(&decoded, expect.nonce.as_deref(), AttestationMode::Session)?;
    Ok(VerifiedResult {
        receipt: decoded,
        document: session.document.clone(),
        mode: AttestationMode::Session,
        session_id: Some(session.id),
    })
}

/// Steps 2 and 3: decodes the receipt (which also checks `payload` against `payloadSha256`) and
/// verifies its signature under its public key.
fn decode_and_verify_receipt(receipt: &[u8]) -> Result<Receipt, VerifyResultError> {
    let decoded = Receipt::from_cbor(receipt)?;
    verify_receipt_signature(&decoded)?;
    Ok(decoded)
}

/// Step 4, the nonce in the receipt: in session mode it must be the expected one; in fresh mode
/// (where the document carries it) it must be the expected one when the receipt has one.
fn check_receipt_nonce(
    receipt: &Receipt,
    expected: Option<&[u8]>,
    mode: AttestationMode,
) -> Result<(), VerifyResultError> {
    let Some(expected) = expected else {
        return Ok(());
    };
    match (receipt.nonce.as_deref(), mode) {
        (Some(nonce), _) if nonce == expected => Ok(()),
        (None, AttestationMode::Fresh) => Ok(()),
        _ => Err(VerifyResultError::Mismatch { field: "nonce" }),
    }
}

/// Steps 2 to 4 without the attestation document: decodes `receipt`, verifies its signature and
/// compares it with `expect` (whose `pcrs` and `nonce` are ignored: they concern the document).
/// On its own this proves nothing about where the receipt came from; use
/// [`verify_signing_result`] or [`verify_session_result`] for that.
pub fn verify_receipt_bytes(
    receipt: &[u8],
    expect: &ResultExpectations,
) -> Result<Receipt, VerifyResultError> {
    let decoded = decode_and_verify_receipt(receipt)?;
    check_receipt_expectations(&decoded, expect)?;
    Ok(decoded)
}

/// Step 4: compares the receipt's wallet id, public key, curve, kind and payload with the
/// expected ones (those that are set).
pub fn check_receipt_expectations(
    receipt: &Receipt,
    expect: &ResultExpectations,
) -> Result<(), VerifyResultError> {
    if let Some(kind) = expect.kind
        && kind != receipt.kind
    {
        return Err(VerifyResultError::Mismatch { field: "kind" });
    }
    if let Some(curve) = expect.curve
        && curve != receipt.curve
    {
        return Err(VerifyResultError::Mismatch { field: "curve" });
    }
    if let Some(payload) = &expect.payload
        && receipt.payload.as_deref() != Some(payload.as_slice())
    {
        return Err(VerifyResultError::Mismatch { field: "payload" });
    }
    if let Some(wallet_id) = &expect.wallet_id
        && *wallet_id != receipt.wallet_id
    {
        return Err(VerifyResultError::Mismatch { field: "walletId" });
    }
    if let Some(public_key) = &expect.public_key
        && *public_key != receipt.public_key
    {
        return Err(VerifyResultError::Mismatch { field: "publicKey" });
    }
    Ok(())
}

impl VerifiedResult {
    /// The wallet's key as this verified receipt states it: after verifying a creation against
    /// its request, pin it for the wallet's signatures ([`ResultExpectations::with_key`]).
    pub fn wallet_key(&self) -> WalletKey {
        WalletKey { curve: self.receipt.curve, public_key: self.receipt.public_key.clone() }
    }

    /// Checks that the receipt is for this kind of request over these exact bytes (the hash or
    /// the message the caller asked to sign), so a result for another request is refused.
    pub fn expect_payload(&self, kind: ReceiptKind, payload: &[u8]) -> Result<(), VerifyResultError> {
        if self.receipt.kind != kind {
            return Err(VerifyResultError::Mismatch { field: "kind" });
        }
        if self.receipt.payload.as_deref() != Some(payload) {
            return Err(VerifyResultError::Mismatch { field: "payload" });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::SignatureError;
    use crate::signature::fixtures::{ed_key, ed_receipt, secp_compressed, secp_key, secp_receipt};
    use k256::ecdsa::SigningKey as EcdsaSigningKey;

    #[test]
    fn accepts_valid_receipts() {
        for i in 0..8u8 {
            let receipt = secp_receipt(&secp_key(), [i; 32]);
            verify_receipt_signature(&receipt).unwrap();
            // And through the byte-level entry point, which decodes the CBOR.
            let expect = ResultExpectations {
                wallet_id: Some("wa-secp".into()),
                public_key: Some(secp_compressed(&secp_key())),
                ..ResultExpectations::new(ImagePolicy::danger_any_image())
            };
            assert_eq!(verify_receipt_bytes(&receipt.to_cbor(), &expect).unwrap(), receipt);
        }
        verify_receipt_signature(&ed_receipt(&ed_key(), ReceiptKind::Hash, &[7; 32])).unwrap();
        verify_receipt_signature(&ed_receipt(&ed_key(), ReceiptKind::Message, b"hello")).unwrap();
        verify_receipt_signature(&ed_receipt(&ed_key(), ReceiptKind::Message, b"")).unwrap();
    }

    #[test]
    fn wallet_created_receipts_have_no_signature_to_check() {
        let receipt = Receipt {
            kind: ReceiptKind::WalletCreated,
            wallet_id: "wa-1".into(),
            curve: Curve::Ed25519,
            public_key: ed_key().verifying_key().to_bytes().to_vec(),
            payload_sha256: None,
            payload: None,
            signature: None,
            request_id: "wc-1".into(),
            nonce: None,
            time: 1,
        };
        verify_receipt_signature(&receipt).unwrap();
        verify_receipt_bytes(&receipt.to_cbor(), &ResultExpectations::new(ImagePolicy::danger_any_image()))
            .unwrap();
    }

    #[test]
    fn refuses_a_receipt_for_another_public_key() {
        let other = EcdsaSigningKey::from_slice(&[0x33; 32]).unwrap();
        let mut receipt = secp_receipt(&secp_key(), [4; 32]);
        receipt.public_key = secp_compressed(&other);
        assert!(verify_receipt_signature(&receipt).is_err());

        let mut receipt = ed_receipt(&ed_key(), ReceiptKind::Hash, &[4; 32]);
        receipt.public_key =
            ed25519_dalek::SigningKey::from_bytes(&[0x44; 32]).verifying_key().to_bytes().to_vec();
        assert_eq!(verify_receipt_signature(&receipt), Err(SignatureError::Invalid));

        // A valid receipt for a key other than the expected one fails step 4.
        let receipt = secp_receipt(&other, [4; 32]);
        let expect = ResultExpectations {
            public_key: Some(secp_compressed(&secp_key())),
            ..ResultExpectations::new(ImagePolicy::danger_any_image())
        };
        assert_eq!(
            verify_receipt_bytes(&receipt.to_cbor(), &expect),
            Err(VerifyResultError::Mismatch { field: "publicKey" })
        );
        let expect = ResultExpectations {
            wallet_id: Some("wa-other".into()),
            ..ResultExpectations::new(ImagePolicy::danger_any_image())
        };
        assert_eq!(
            verify_receipt_bytes(&receipt.to_cbor(), &expect),
            Err(VerifyResultError::Mismatch { field: "walletId" })
        );
    }

    #[test]
    fn refuses_a_changed_payload() {
        // Payload and digest changed together: the signature no longer matches.
        let mut receipt = secp_receipt(&secp_key(), [5; 32]);
        receipt.payload = Some(vec![6; 32]);
        receipt.payload_sha256 = Some(Receipt::digest(&[6; 32]));
        assert!(verify_receipt_signature(&receipt).is_err());
        let mut receipt = ed_receipt(&ed_key(), ReceiptKind::Message, b"pay alice 1");
        receipt.payload = Some(b"pay alice 9".to_vec());
        receipt.payload_sha256 = Some(Receipt::digest(b"pay alice 9"));
        assert_eq!(verify_receipt_signature(&receipt), Err(SignatureError::Invalid));

        // Payload changed alone: refused by the digest check, here and in the decoder.
        let mut receipt = ed_receipt(&ed_key(), ReceiptKind::Message, b"pay alice 1");
        receipt.payload = Some(b"pay alice 9".to_vec());
        assert_eq!(verify_receipt_signature(&receipt), Err(SignatureError::PayloadDigest));
        assert!(matches!(
            verify_receipt_bytes(
                &receipt.to_cbor(),
                &ResultExpectations::new(ImagePolicy::danger_any_image())
            ),
            Err(VerifyResultError::Receipt(_))
        ));
    }

    #[test]
    fn an_image_policy_is_pinned_or_explicitly_not() {
        assert_eq!(ImagePolicy::pinned(BTreeMap::new()), Err(VerifyResultError::NoExpectedImage));
        assert_eq!(
            ImagePolicy::pinned(BTreeMap::from([(1, vec![1])])),
            Err(VerifyResultError::NoExpectedImage),
            "PCR1 alone does not pin the image"
        );
        assert_eq!(ImagePolicy::pcr0(Vec::new()), Err(VerifyResultError::NoExpectedImage));
        assert!(ImagePolicy::pcr0(vec![7; 48]).unwrap().is_pinned());
        assert!(!ImagePolicy::danger_any_image().is_pinned());
        assert!(ImagePolicy::danger_any_image().with_pcr(0, vec![1]).is_pinned());
        assert!(VerifyResultError::NoExpectedImage.to_string().starts_with("no expected enclave image"));
    }

    #[test]
    fn expectations_from_the_request_refuse_another_kind_curve_or_payload() {
        let receipt = ed_receipt(&ed_key(), ReceiptKind::Hash, &[4; 32]);
        let bytes = receipt.to_cbor();
        let base = || ResultExpectations::new(ImagePolicy::danger_any_image());
        let mismatch = |expect: ResultExpectations| match verify_receipt_bytes(&bytes, &expect) {
            Err(VerifyResultError::Mismatch { field }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(mismatch(ResultExpectations { kind: Some(ReceiptKind::Message), ..base() }), "kind");
        assert_eq!(mismatch(ResultExpectations { curve: Some(Curve::Secp256k1), ..base() }), "curve");
        assert_eq!(mismatch(ResultExpectations { payload: Some(vec![5; 32]), ..base() }), "payload");
        let key = WalletKey { curve: Curve::Ed25519, public_key: vec![9; 32] };
        assert_eq!(mismatch(base().with_key(&key)), "publicKey");
        let right = ResultExpectations {
            kind: Some(ReceiptKind::Hash),
            payload: Some(vec![4; 32]),
            wallet_id: Some("wa-ed".into()),
            ..base()
        };
        let key = WalletKey { curve: Curve::Ed25519, public_key: receipt.public_key.clone() };
        assert_eq!(verify_receipt_bytes(&bytes, &right.with_key(&key)).unwrap(), receipt);
    }

    #[test]
    fn error_messages_name_the_step() {
        let err = VerifyResultError::from(SignatureError::HighS);
        assert_eq!(err.to_string(), "step 3 (receipt signature): the secp256k1 signature is not low-S");
        let err = VerifyResultError::Mismatch { field: "walletId" };
        assert!(err.to_string().starts_with("step 4 (expectations)"));
    }
}
