//! End-to-end verification of a signing result: the attestation document, its binding to the
//! receipt, the signature in the receipt, and what the caller expects.
//!
//! The parent is untrusted: it can rewrite any field of its JSON answers. What a client can rely
//! on is only what this module checks: a document signed by an NSM whose chain leads to the
//! pinned root, whose `user_data` is SHA-256 of the receipt bytes, and a receipt whose signature
//! verifies under the receipt's public key.

use std::collections::BTreeMap;

use ed25519_dalek::Signature as EdSignature;
use ed25519_dalek::VerifyingKey as EdVerifyingKey;
use k256::ecdsa::signature::hazmat::PrehashVerifier as _;
use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey as EcdsaVerifyingKey};
use signer_common::attestation::{self, AttestationDoc, Expectations, TrustedRoot, VerifyError};
use signer_common::protocol::Curve;
use signer_common::receipt::{Receipt, ReceiptError, ReceiptKind};

/// What the caller expects of a signing result, beyond its authenticity.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ResultExpectations {
    /// Each listed PCR must be in the attestation document with this value.
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// When set, the document's `nonce` must be this (the `X-Request-Nonce` the client sent).
    pub nonce: Option<Vec<u8>>,
    /// When set, the receipt must name this wallet.
    pub wallet_id: Option<String>,
    /// When set, the receipt's public key must be this (SEC1 compressed, or 32-byte Ed25519).
    pub public_key: Option<Vec<u8>>,
}

/// A verified signing result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedResult {
    /// The decoded receipt; for signature receipts its signature has been verified.
    pub receipt: Receipt,
    /// The verified attestation document whose `user_data` is SHA-256 of the receipt bytes.
    pub document: AttestationDoc,
}

/// Why a receipt's signature is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// A signature receipt without its payload, payload digest or signature.
    #[error("the receipt lacks its {0}")]
    Missing(&'static str),
    /// The payload does not match `payloadSha256`.
    #[error("the payload does not match payloadSha256")]
    PayloadDigest,
    /// A receipt kind or curve/kind combination this client cannot check.
    #[error("cannot verify a {kind} signature on {curve}")]
    Unsupported {
        /// The receipt kind.
        kind: &'static str,
        /// The curve.
        curve: &'static str,
    },
    /// A `Hash` payload that is not 32 bytes.
    #[error("a Hash payload must be 32 bytes, not {0}")]
    HashLength(usize),
    /// The signature has the wrong length for its curve.
    #[error("the signature must be {expected} bytes, not {actual}")]
    Length {
        /// The length for this curve.
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// The public key does not decode as a point of the curve.
    #[error("the public key is not a valid {0} key")]
    PublicKey(&'static str),
    /// `r` or `s` is zero or not below the group order.
    #[error("the signature scalars are out of range")]
    Scalars,
    /// A secp256k1 signature whose `s` is in the upper half (malleable; never emitted).
    #[error("the secp256k1 signature is not low-S")]
    HighS,
    /// The recovery byte `v` is not a valid recovery id.
    #[error("the recovery id {0} is invalid")]
    RecoveryIdByte(u8),
    /// Recovering the key with `v` does not give the receipt's public key.
    #[error("the recovery id does not recover the wallet's public key")]
    RecoveryMismatch,
    /// The signature does not verify under the public key.
    #[error("the signature does not verify under the receipt's public key")]
    Invalid,
}

/// Why a signing result is not valid. The message names the step that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyResultError {
    /// The inputs could not be decoded (base64, hex, ...).
    #[error("input: {0}")]
    Input(String),
    /// Step 1: the attestation document is not authentic, not bound to this receipt, or not
    /// what the caller expects (PCRs, nonce).
    #[error("step 1 (attestation document): {0}")]
    Attestation(VerifyError),
    /// Step 1: the attestation document is authentic but its `user_data` is not SHA-256 of these
    /// receipt bytes: the receipt was changed or belongs to another result.
    #[error("step 1 (attestation document): its user_data is not SHA-256 of this receipt")]
    NotBound,
    /// Step 2: the receipt does not decode.
    #[error("step 2 (receipt): {0}")]
    Receipt(#[from] ReceiptError),
    /// Step 3: the receipt's signature does not verify.
    #[error("step 3 (receipt signature): {0}")]
    Signature(#[from] SignatureError),
    /// Step 4: the receipt differs from what the caller expects.
    #[error("step 4 (expectations): the receipt's {field} is not the expected one")]
    Mismatch {
        /// `walletId`, `publicKey`, `kind`, `payload`, `signature`, ...
        field: &'static str,
    },
}

/// Verifies a signing result end to end.
///
/// 1. The attestation document verifies against `root` at `at_unix_seconds`, with `user_data`
///    = SHA-256(`receipt`) and the caller's PCRs and nonce.
/// 2. The receipt decodes (deterministic CBOR; `payload` matches `payloadSha256`).
/// 3. For signature receipts, the signature verifies with the receipt's public key
///    ([`verify_receipt_signature`]).
/// 4. The receipt names the expected wallet and public key.
pub fn verify_signing_result(
    receipt: &[u8],
    attestation: &[u8],
    root: &TrustedRoot,
    at_unix_seconds: u64,
    expect: &ResultExpectations,
) -> Result<VerifiedResult, VerifyResultError> {
    // (1) The document is authentic and binds exactly these receipt bytes.
    let doc_expect = Expectations {
        pcrs: expect.pcrs.clone(),
        user_data: Some(Receipt::digest(receipt).to_vec()),
        nonce: expect.nonce.clone(),
        public_key: None,
    };
    let document =
        attestation::verify(attestation, root, at_unix_seconds, &doc_expect).map_err(|e| match e {
            VerifyError::FieldMismatch { field: "user_data" } => VerifyResultError::NotBound,
            other => VerifyResultError::Attestation(other),
        })?;
    // (2) Decode the receipt; this also checks payload against payloadSha256.
    let decoded = Receipt::from_cbor(receipt)?;
    // (3) The signature in the receipt, under the receipt's public key.
    verify_receipt_signature(&decoded)?;
    // (4) The caller's expectations about the wallet.
    check_receipt_expectations(&decoded, expect)?;
    Ok(VerifiedResult { receipt: decoded, document })
}

/// Steps 2 to 4 without the attestation document: decodes `receipt`, verifies its signature and
/// compares it with `expect` (whose `pcrs` and `nonce` are ignored: they concern the document).
/// On its own this proves nothing about where the receipt came from; use
/// [`verify_signing_result`] for that.
pub fn verify_receipt_bytes(
    receipt: &[u8],
    expect: &ResultExpectations,
) -> Result<Receipt, VerifyResultError> {
    let decoded = Receipt::from_cbor(receipt)?;
    verify_receipt_signature(&decoded)?;
    check_receipt_expectations(&decoded, expect)?;
    Ok(decoded)
}

/// Step 4: compares the receipt's wallet id and public key with the expected ones.
pub fn check_receipt_expectations(
    receipt: &Receipt,
    expect: &ResultExpectations,
) -> Result<(), VerifyResultError> {
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

/// Step 3: verifies the signature of a signature receipt (`Hash`, `Message`) over its payload
/// with its public key. `WalletCreated` receipts carry no signature and pass.
///
/// - secp256k1: 65 bytes `r || s || v`; ECDSA over the 32-byte payload as the prehash (kind
///   `Hash` only); `s` must be low; `v` (0 to 3) must recover the receipt's public key.
/// - Ed25519: 64 bytes; strict verification (RFC 8032, no small-order keys, canonical `S`) over
///   the payload: the 32 bytes for `Hash`, the message for `Message`.
pub fn verify_receipt_signature(receipt: &Receipt) -> Result<(), SignatureError> {
    if receipt.kind == ReceiptKind::WalletCreated {
        return Ok(());
    }
    let curve = receipt.curve;
    let unsupported = || SignatureError::Unsupported { kind: receipt.kind.as_str(), curve: curve.as_str() };
    if !matches!(receipt.kind, ReceiptKind::Hash | ReceiptKind::Message) {
        return Err(unsupported());
    }
    let payload = receipt.payload.as_deref().ok_or(SignatureError::Missing("payload"))?;
    let digest = receipt.payload_sha256.ok_or(SignatureError::Missing("payloadSha256"))?;
    if Receipt::digest(payload) != digest {
        return Err(SignatureError::PayloadDigest);
    }
    let signature = receipt.signature.as_deref().ok_or(SignatureError::Missing("signature"))?;
    if receipt.kind == ReceiptKind::Hash && payload.len() != 32 {
        return Err(SignatureError::HashLength(payload.len()));
    }
    match curve {
        Curve::Secp256k1 => {
            // ECDSA signs a 32-byte prehash; a Message receipt on secp256k1 has no agreed meaning.
            if receipt.kind != ReceiptKind::Hash {
                return Err(unsupported());
            }
            verify_secp256k1(&receipt.public_key, payload, signature)
        }
        Curve::Ed25519 => verify_ed25519(&receipt.public_key, payload, signature),
    }
}

/// ECDSA/secp256k1: `signature` is `r || s || v`, `prehash` the 32 signed bytes, `public_key`
/// SEC1 compressed.
fn verify_secp256k1(public_key: &[u8], prehash: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    if signature.len() != 65 {
        return Err(SignatureError::Length { expected: 65, actual: signature.len() });
    }
    if public_key.len() != 33 {
        return Err(SignatureError::PublicKey("SEC1 compressed secp256k1"));
    }
    let key = EcdsaVerifyingKey::from_sec1_bytes(public_key)
        .map_err(|_| SignatureError::PublicKey("SEC1 compressed secp256k1"))?;
    let sig = EcdsaSignature::from_slice(&signature[..64]).map_err(|_| SignatureError::Scalars)?;
    if sig.normalize_s() != sig {
        return Err(SignatureError::HighS);
    }
    let v = signature[64];
    let recovery_id = RecoveryId::from_byte(v).ok_or(SignatureError::RecoveryIdByte(v))?;
    key.verify_prehash(prehash, &sig).map_err(|_| SignatureError::Invalid)?;
    let recovered = EcdsaVerifyingKey::recover_from_prehash(prehash, &sig, recovery_id)
        .map_err(|_| SignatureError::RecoveryMismatch)?;
    if recovered.to_sec1_point(true).as_bytes() != public_key {
        return Err(SignatureError::RecoveryMismatch);
    }
    Ok(())
}

/// Ed25519: `verify_strict` of the 64-byte `signature` over `message`.
fn verify_ed25519(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    let signature: &[u8; 64] =
        signature.try_into().map_err(|_| SignatureError::Length { expected: 64, actual: signature.len() })?;
    let public_key: &[u8; 32] = public_key.try_into().map_err(|_| SignatureError::PublicKey("Ed25519"))?;
    let key = EdVerifyingKey::from_bytes(public_key).map_err(|_| SignatureError::PublicKey("Ed25519"))?;
    let sig = EdSignature::from_bytes(signature);
    key.verify_strict(message, &sig).map_err(|_| SignatureError::Invalid)
}

impl VerifiedResult {
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

impl crate::client::Wallet {
    /// Verifies the wallet's creation receipt and attestation, and that the parent's JSON
    /// (`id`, `publicKey`, `curve`) says what the attested receipt says. The wallet id and public
    /// key from the JSON are added to `expect` where it has none.
    pub fn verify(
        &self,
        root: &TrustedRoot,
        at_unix_seconds: u64,
        expect: &ResultExpectations,
    ) -> Result<VerifiedResult, VerifyResultError> {
        let input =
            |what: &str| VerifyResultError::Input(format!("the wallet's {what} is missing or malformed"));
        let receipt = self.receipt_bytes().map_err(|_| input("receipt"))?.ok_or_else(|| input("receipt"))?;
        let attestation = self
            .attestation_bytes()
            .map_err(|_| input("attestation"))?
            .ok_or_else(|| input("attestation"))?;
        let public_key = self.public_key_bytes().map_err(|_| input("publicKey"))?;
        let mut expect = expect.clone();
        expect.wallet_id.get_or_insert_with(|| self.id.clone());
        expect.public_key.get_or_insert_with(|| public_key.clone());
        let verified = verify_signing_result(&receipt, &attestation, root, at_unix_seconds, &expect)?;
        let r = &verified.receipt;
        if r.kind != ReceiptKind::WalletCreated {
            return Err(VerifyResultError::Mismatch { field: "kind" });
        }
        if r.wallet_id != self.id {
            return Err(VerifyResultError::Mismatch { field: "walletId" });
        }
        if r.public_key != public_key {
            return Err(VerifyResultError::Mismatch { field: "publicKey" });
        }
        if r.curve.as_str() != self.curve {
            return Err(VerifyResultError::Mismatch { field: "curve" });
        }
        Ok(verified)
    }
}

impl crate::client::SignatureResult {
    /// Verifies the result's receipt and attestation, and that the parent's JSON (`walletId`,
    /// `signature.encoded`) says what the attested receipt says. The JSON's `walletId` is added to
    /// `expect` when it names no wallet. Check the payload with
    /// [`VerifiedResult::expect_payload`].
    pub fn verify(
        &self,
        root: &TrustedRoot,
        at_unix_seconds: u64,
        expect: &ResultExpectations,
    ) -> Result<VerifiedResult, VerifyResultError> {
        let input = |what: &str| VerifyResultError::Input(format!("the result's {what} is malformed"));
        let receipt = self.receipt_bytes().map_err(|_| input("receipt"))?;
        let attestation = self.attestation_bytes().map_err(|_| input("attestation"))?;
        let encoded = self.encoded_bytes().map_err(|_| input("signature.encoded"))?;
        let mut expect = expect.clone();
        expect.wallet_id.get_or_insert_with(|| self.wallet_id.clone());
        let verified = verify_signing_result(&receipt, &attestation, root, at_unix_seconds, &expect)?;
        let r = &verified.receipt;
        if r.kind == ReceiptKind::WalletCreated {
            return Err(VerifyResultError::Mismatch { field: "kind" });
        }
        if r.wallet_id != self.wallet_id {
            return Err(VerifyResultError::Mismatch { field: "walletId" });
        }
        if r.signature.as_deref() != Some(encoded.as_slice()) {
            return Err(VerifyResultError::Mismatch { field: "signature" });
        }
        Ok(verified)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer as _;
    use k256::ecdsa::SigningKey as EcdsaSigningKey;

    fn secp_key() -> EcdsaSigningKey {
        EcdsaSigningKey::from_slice(&[0x11; 32]).unwrap()
    }

    fn ed_key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[0x22; 32])
    }

    fn secp_compressed(key: &EcdsaSigningKey) -> Vec<u8> {
        key.verifying_key().to_sec1_point(true).as_bytes().to_vec()
    }

    /// A valid secp256k1 Hash receipt signed with `key`.
    fn secp_receipt(key: &EcdsaSigningKey, hash: [u8; 32]) -> Receipt {
        let (sig, recid) = key.sign_prehash_recoverable(&hash);
        assert_eq!(sig.normalize_s(), sig, "k256 signs low-S");
        let mut encoded = sig.to_bytes().to_vec();
        encoded.push(recid.to_byte());
        Receipt {
            kind: ReceiptKind::Hash,
            wallet_id: "wa-secp".into(),
            curve: Curve::Secp256k1,
            public_key: secp_compressed(key),
            payload_sha256: Some(Receipt::digest(&hash)),
            payload: Some(hash.to_vec()),
            signature: Some(encoded),
            request_id: "sig-1".into(),
            nonce: None,
            time: 1_700_000_000_000,
        }
    }

    fn ed_receipt(key: &ed25519_dalek::SigningKey, kind: ReceiptKind, payload: &[u8]) -> Receipt {
        Receipt {
            kind,
            wallet_id: "wa-ed".into(),
            curve: Curve::Ed25519,
            public_key: key.verifying_key().to_bytes().to_vec(),
            payload_sha256: Some(Receipt::digest(payload)),
            payload: Some(payload.to_vec()),
            signature: Some(key.sign(payload).to_bytes().to_vec()),
            request_id: "sig-2".into(),
            nonce: None,
            time: 1_700_000_000_000,
        }
    }

    fn set_byte(receipt: &mut Receipt, index: usize, f: impl FnOnce(u8) -> u8) {
        let sig = receipt.signature.as_mut().unwrap();
        sig[index] = f(sig[index]);
    }

    #[test]
    fn accepts_valid_receipts() {
        for i in 0..8u8 {
            let receipt = secp_receipt(&secp_key(), [i; 32]);
            verify_receipt_signature(&receipt).unwrap();
            // And through the byte-level entry point, which decodes the CBOR.
            let expect = ResultExpectations {
                wallet_id: Some("wa-secp".into()),
                public_key: Some(secp_compressed(&secp_key())),
                ..Default::default()
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
        verify_receipt_bytes(&receipt.to_cbor(), &ResultExpectations::default()).unwrap();
    }

    #[test]
    fn refuses_a_flipped_signature_byte() {
        for index in [0, 31, 32, 63] {
            let mut receipt = secp_receipt(&secp_key(), [1; 32]);
            set_byte(&mut receipt, index, |b| b ^ 0x01);
            assert!(verify_receipt_signature(&receipt).is_err(), "secp byte {index}");
            let mut receipt = ed_receipt(&ed_key(), ReceiptKind::Message, b"msg");
            set_byte(&mut receipt, index, |b| b ^ 0x01);
            assert!(verify_receipt_signature(&receipt).is_err(), "ed byte {index}");
        }
    }

    #[test]
    fn refuses_high_s_secp256k1() {
        let mut receipt = secp_receipt(&secp_key(), [2; 32]);
        let sig = receipt.signature.clone().unwrap();
        let low = EcdsaSignature::from_slice(&sig[..64]).unwrap();
        // s' = n - s: the same signature, mathematically valid, but malleated (high-S).
        let (r, s) = low.split_scalars();
        let high = EcdsaSignature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
        assert_ne!(high.normalize_s(), high);
        // With the flipped recovery id it even recovers the right key: only the low-S rule stops it.
        let flipped = RecoveryId::from_byte(sig[64] ^ 1).unwrap();
        let recovered = EcdsaVerifyingKey::recover_from_prehash(&[2; 32], &high, flipped).unwrap();
        assert_eq!(recovered.to_sec1_point(true).as_bytes(), secp_compressed(&secp_key()).as_slice());
        let mut encoded = high.to_bytes().to_vec();
        encoded.push(flipped.to_byte());
        receipt.signature = Some(encoded);
        assert_eq!(verify_receipt_signature(&receipt), Err(SignatureError::HighS));
    }

    #[test]
    fn refuses_a_wrong_recovery_id() {
        let mut receipt = secp_receipt(&secp_key(), [3; 32]);
        set_byte(&mut receipt, 64, |v| v ^ 1);
        assert_eq!(verify_receipt_signature(&receipt), Err(SignatureError::RecoveryMismatch));
        let mut receipt = secp_receipt(&secp_key(), [3; 32]);
        set_byte(&mut receipt, 64, |_| 27);
        assert_eq!(verify_receipt_signature(&receipt), Err(SignatureError::RecoveryIdByte(27)));
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
        let expect =
            ResultExpectations { public_key: Some(secp_compressed(&secp_key())), ..Default::default() };
        assert_eq!(
            verify_receipt_bytes(&receipt.to_cbor(), &expect),
            Err(VerifyResultError::Mismatch { field: "publicKey" })
        );
        let expect = ResultExpectations { wallet_id: Some("wa-other".into()), ..Default::default() };
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
            verify_receipt_bytes(&receipt.to_cbor(), &ResultExpectations::default()),
            Err(VerifyResultError::Receipt(_))
        ));
    }

    #[test]
    fn refuses_malformed_signature_receipts() {
        let mut receipt = secp_receipt(&secp_key(), [8; 32]);
        receipt.signature.as_mut().unwrap().pop();
        assert_eq!(
            verify_receipt_signature(&receipt),
            Err(SignatureError::Length { expected: 65, actual: 64 })
        );
        let mut receipt = secp_receipt(&secp_key(), [8; 32]);
        receipt.kind = ReceiptKind::Message;
        assert!(matches!(verify_receipt_signature(&receipt), Err(SignatureError::Unsupported { .. })));
        let mut receipt = secp_receipt(&secp_key(), [8; 32]);
        receipt.signature = Some(vec![0; 65]);
        assert_eq!(verify_receipt_signature(&receipt), Err(SignatureError::Scalars));
        let mut receipt = ed_receipt(&ed_key(), ReceiptKind::Hash, &[8; 31]);
        assert_eq!(verify_receipt_signature(&receipt), Err(SignatureError::HashLength(31)));
        receipt.signature = None;
        assert_eq!(verify_receipt_signature(&receipt), Err(SignatureError::Missing("signature")));
        let mut receipt = ed_receipt(&ed_key(), ReceiptKind::Message, b"m");
        receipt.public_key = vec![0xff; 32];
        assert!(verify_receipt_signature(&receipt).is_err());
    }

    #[test]
    fn error_messages_name_the_step() {
        let err = VerifyResultError::from(SignatureError::HighS);
        assert_eq!(err.to_string(), "step 3 (receipt signature): the secp256k1 signature is not low-S");
        let err = VerifyResultError::Mismatch { field: "walletId" };
        assert!(err.to_string().starts_with("step 4 (expectations)"));
    }
}
