//! Step 3 of verification: a receipt's signature under the receipt's public key, as strictly as
//! the reference implementations (secp256k1 low-S with the recovery id; Ed25519 as
//! `verify_strict`), with independent implementations of the enclave's signers.

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use k256::ecdsa::Signature as EcdsaSignature;
use signer_common::ed25519::is_small_order;
use signer_common::protocol::Curve;
use signer_common::receipt::{Receipt, ReceiptKind};

use crate::error::SignatureError;

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
///
/// The arithmetic is libsecp256k1's (Bitcoin Core's library, through the `secp256k1` crate):
/// recovery there takes about 55 us against 100 us for k256 (docs/performance.md), and it is an
/// implementation independent of the enclave's k256 signer. k256 only parses the scalars.
fn verify_secp256k1(public_key: &[u8], prehash: &[u8], signature: &[u8]) -> Result<(), SignatureError> {
    use secp256k1::ecdsa::{RecoverableSignature, RecoveryId as SecpRecoveryId, Signature as SecpSignature};
    const KEY: &str = "SEC1 compressed secp256k1";
    if signature.len() != 65 {
        return Err(SignatureError::Length { expected: 65, actual: signature.len() });
    }
    if public_key.len() != 33 {
        return Err(SignatureError::PublicKey(KEY));
    }
    let sig = EcdsaSignature::from_slice(&signature[..64]).map_err(|_| SignatureError::Scalars)?;
    if sig.normalize_s() != sig {
        return Err(SignatureError::HighS);
    }
    let v = signature[64];
    let recovery_id =
        SecpRecoveryId::try_from(i32::from(v)).map_err(|_| SignatureError::RecoveryIdByte(v))?;
    let prehash: [u8; 32] = prehash.try_into().map_err(|_| SignatureError::HashLength(prehash.len()))?;
    let message = secp256k1::Message::from_digest(prehash);
    // Recovery computes Q = r^-1 (s R - z G) for the R that `v` names; ECDSA verification of
    // (r, s) under that Q then computes z/s G + r/s Q = R, whose x is r: it always passes. So
    // "`v` recovers the receipt's key" implies "the signature verifies under it", and one
    // recovery (one double scalar multiplication) checks both. Only on failure is the signature
    // verified on its own, to tell a bad signature from a bad recovery id.
    let recovered = RecoverableSignature::from_compact(&signature[..64], recovery_id)
        .and_then(|recoverable| recoverable.recover_ecdsa(message));
    if recovered.is_ok_and(|key| key.serialize() == public_key) {
        return Ok(());
    }
    let key = secp256k1::PublicKey::from_slice(public_key).map_err(|_| SignatureError::PublicKey(KEY))?;
    let plain = SecpSignature::from_compact(&signature[..64]).map_err(|_| SignatureError::Scalars)?;
    plain.verify(message, &key).map_err(|_| SignatureError::Invalid)?;
    Err(SignatureError::RecoveryMismatch)
}

/// Ed25519: the 64-byte `signature` over `message`, checked as strictly as ed25519-dalek's
/// `verify_strict`, with AWS-LC doing the arithmetic (43 us against 57 us here; an
/// implementation independent of the enclave's ed25519-dalek signer; docs/performance.md).
///
/// AWS-LC refuses a non-canonical S and a public key whose y is not reduced, and recomputes R,
/// comparing it byte for byte (so R must be canonically encoded). What `verify_strict` adds is
/// refusing a public key or an R of small order: the eight small-order points are compared here
/// by encoding, ignoring the sign bit (the set is closed under negation, and x = 0 points can
/// carry either sign bit). The differential test shows AWS-LC alone accepting forgeries of both
/// kinds.
pub(crate) fn verify_ed25519(
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    if signature.len() != 64 {
        return Err(SignatureError::Length { expected: 64, actual: signature.len() });
    }
    let public_key: &[u8; 32] = public_key.try_into().map_err(|_| SignatureError::PublicKey("Ed25519"))?;
    if is_small_order(public_key) {
        return Err(SignatureError::PublicKey("Ed25519"));
    }
    let r: &[u8; 32] = signature[..32].try_into().map_err(|_| SignatureError::Invalid)?;
    if is_small_order(r) {
        return Err(SignatureError::Invalid);
    }
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .map_err(|_| SignatureError::Invalid)
}

/// Receipts for the tests of this module and of [`crate::verify`].
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use ed25519_dalek::Signer as _;
    use k256::ecdsa::SigningKey as EcdsaSigningKey;

    pub(crate) fn secp_key() -> EcdsaSigningKey {
        EcdsaSigningKey::from_slice(&[0x11; 32]).unwrap()
    }

    pub(crate) fn ed_key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[0x22; 32])
    }

    pub(crate) fn secp_compressed(key: &EcdsaSigningKey) -> Vec<u8> {
        key.verifying_key().to_sec1_point(true).as_bytes().to_vec()
    }

    /// A valid secp256k1 Hash receipt signed with `key`.
    pub(crate) fn secp_receipt(key: &EcdsaSigningKey, hash: [u8; 32]) -> Receipt {
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

    pub(crate) fn ed_receipt(key: &ed25519_dalek::SigningKey, kind: ReceiptKind, payload: &[u8]) -> Receipt {
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

    pub(crate) fn set_byte(receipt: &mut Receipt, index: usize, f: impl FnOnce(u8) -> u8) {
        let sig = receipt.signature.as_mut().unwrap();
        sig[index] = f(sig[index]);
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use ed25519_dalek::Signer as _;
    use k256::ecdsa::signature::hazmat::PrehashVerifier as _;
    use k256::ecdsa::{RecoveryId, VerifyingKey as EcdsaVerifyingKey};

    /// ed25519-dalek's `verify_strict`, the reference for `verify_ed25519`.
    fn dalek_strict(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        ed25519_dalek::VerifyingKey::from_bytes(public_key).is_ok_and(|key| {
            key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature)).is_ok()
        })
    }

    /// Differential: `verify_ed25519` accepts exactly what `verify_strict` accepts, over valid
    /// signatures, every single-bit flip of key, signature and message, small-order keys (each
    /// with both sign bits) carrying signatures that verify without the small-order check, and
    /// small-order R values.
    #[test]
    fn ed25519_verification_agrees_with_dalek_verify_strict() {
        use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
        use curve25519_dalek::scalar::Scalar;
        let mut cases: Vec<([u8; 32], Vec<u8>, [u8; 64])> = Vec::new();
        for i in 0..4u8 {
            let key = ed25519_dalek::SigningKey::from_bytes(&[i.wrapping_mul(29).wrapping_add(1); 32]);
            let message = vec![i; 1 + usize::from(i) * 40];
            let signature = key.sign(&message).to_bytes();
            let public_key = key.verifying_key().to_bytes();
            cases.push((public_key, message.clone(), signature));
            for bit in 0..256 {
                let mut k = public_key;
                k[bit / 8] ^= 1 << (bit % 8);
                cases.push((k, message.clone(), signature));
            }
            for bit in 0..512 {
                let mut sig = signature;
                sig[bit / 8] ^= 1 << (bit % 8);
                cases.push((public_key, message.clone(), sig));
            }
            let mut other = message.clone();
            other[0] ^= 1;
            cases.push((public_key, other, signature));
        }
        // Small-order keys A: with s = 1 and R = B - k A recomputed for the message, the
        // cofactorless equation holds, so only the small-order check refuses them.
        let message = b"small order".to_vec();
        let mut forgeries = 0;
        for torsion in EIGHT_TORSION {
            for sign in [0u8, 0x80] {
                let mut a = torsion.compress().to_bytes();
                a[31] ^= sign;
                let Some(point) = curve25519_dalek::edwards::CompressedEdwardsY(a).decompress() else {
                    continue;
                };
                // R = [s]B and k = H(R || A || M): the cofactorless equation [s]B - [k]A = R
                // holds when [k]A is the identity, i.e. when k is a multiple of A's order
                // (always for the identity, about half the time for order 2, ...). Over 16
                // choices of s some forgeries hold for every small-order A; the others are
                // merely invalid signatures, which must be refused as well.
                for extra in 0..16u64 {
                    let r_point = ED25519_BASEPOINT_POINT * Scalar::from(1 + extra);
                    let r = r_point.compress().to_bytes();
                    let mut hasher = <sha2::Sha512 as sha2::Digest>::new();
                    sha2::Digest::update(&mut hasher, r);
                    sha2::Digest::update(&mut hasher, a);
                    sha2::Digest::update(&mut hasher, &message);
                    let k = Scalar::from_bytes_mod_order_wide(&sha2::Digest::finalize(hasher).into());
                    let s = Scalar::from(1 + extra);
                    let holds = ED25519_BASEPOINT_POINT * s - point * k == r_point;
                    let mut signature = [0u8; 64];
                    signature[..32].copy_from_slice(&r);
                    signature[32..].copy_from_slice(s.as_bytes());
                    cases.push((a, message.clone(), signature));
                    forgeries += usize::from(holds);
                }
            }
        }
        // The identity with y = p + 1 (not reduced), carrying a forgery that holds for it:
        // AWS-LC refuses the unreduced encoding itself.
        let mut unreduced_identity = [0xffu8; 32];
        unreduced_identity[0] = 0xee;
        unreduced_identity[31] = 0x7f;
        let s = Scalar::from(5u64);
        let mut forged = [0u8; 64];
        forged[..32].copy_from_slice(&(ED25519_BASEPOINT_POINT * s).compress().to_bytes());
        forged[32..].copy_from_slice(s.as_bytes());
        assert!(UnparsedPublicKey::new(&ED25519, unreduced_identity).verify(&message, &forged).is_err());
        cases.push((unreduced_identity, message.clone(), forged));

        // Small-order R with a real key: torsion points in place of a valid R, and R = identity
        // with s = k a, for which the cofactorless equation [s]B - [k]A = R holds.
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let valid = key.sign(&message).to_bytes();
        for torsion in EIGHT_TORSION {
            let mut signature = valid;
            signature[..32].copy_from_slice(&torsion.compress().to_bytes());
            cases.push((key.verifying_key().to_bytes(), message.clone(), signature));
        }
        let secret = Scalar::from(0x1234_5678u64);
        let public_key = (ED25519_BASEPOINT_POINT * secret).compress().to_bytes();
        let identity = curve25519_dalek::edwards::EdwardsPoint::default().compress().to_bytes();
        let mut hasher = <sha2::Sha512 as sha2::Digest>::new();
        sha2::Digest::update(&mut hasher, identity);
        sha2::Digest::update(&mut hasher, public_key);
        sha2::Digest::update(&mut hasher, &message);
        let k = Scalar::from_bytes_mod_order_wide(&sha2::Digest::finalize(hasher).into());
        let mut identity_r = [0u8; 64];
        identity_r[..32].copy_from_slice(&identity);
        identity_r[32..].copy_from_slice((k * secret).as_bytes());
        assert!(
            UnparsedPublicKey::new(&ED25519, public_key).verify(&message, &identity_r).is_ok(),
            "AWS-LC alone accepts R = identity"
        );
        cases.push((public_key, message.clone(), identity_r));

        let mut accepted = 0;
        for (public_key, message, signature) in &cases {
            let ours = verify_ed25519(public_key, message, signature).is_ok();
            assert_eq!(ours, dalek_strict(public_key, message, signature), "key {}", hex::encode(public_key));
            accepted += usize::from(ours);
        }
        assert!(accepted >= 4, "the valid signatures verify");
        // The forgeries are real: the equation alone (AWS-LC without the checks) accepts them.
        assert!(forgeries > 8, "{forgeries} forgeries");
        let lenient = cases
            .iter()
            .filter(|(k, m, s)| is_small_order(k) && UnparsedPublicKey::new(&ED25519, k).verify(m, s).is_ok())
            .count();
        assert!(lenient > 0, "some small-order forgeries pass AWS-LC's equation alone");
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
    fn recovery_shortcut_agrees_with_plain_verification() {
        // verify_secp256k1 accepts exactly when ECDSA verification passes and `v` recovers the key.
        let key = secp_key();
        let public_key = secp_compressed(&key);
        let vk = EcdsaVerifyingKey::from_sec1_bytes(&public_key).unwrap();
        for i in 0..64u8 {
            let hash = [i; 32];
            let mut encoded = secp_receipt(&key, hash).signature.unwrap();
            // Bit flips in r, s and v, and each recovery id.
            let index = usize::from(i) % 65;
            if i % 4 == 0 {
                encoded[64] = i / 4 % 4;
            } else {
                encoded[index] ^= 1 << (i % 8);
            }
            let Ok(sig) = EcdsaSignature::from_slice(&encoded[..64]) else { continue };
            let plain = sig.normalize_s() == sig
                && vk.verify_prehash(&hash, &sig).is_ok()
                && RecoveryId::from_byte(encoded[64])
                    .and_then(|id| EcdsaVerifyingKey::recover_from_prehash(&hash, &sig, id).ok())
                    .is_some_and(|k| k == vk);
            assert_eq!(verify_secp256k1(&public_key, &hash, &encoded).is_ok(), plain, "case {i}");
        }
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
}
