//! Ed25519 verification as ed25519-dalek's `verify_strict` decides it, for end-user
//! credentials (the enclave) and receipts (clients).
//!
//! `verify_strict` = RFC 8032's cofactorless equation (a canonical S, R compared byte for byte
//! with the recomputed one, so R is canonically encoded) + refusing a public key or an R of
//! small order. It finds R's order by decompressing R, about 6 us; comparing R's encoding with
//! the eight small-order points gives the same answer for a fraction of that
//! (benches/p256_verify.rs, `ed25519_verify`). The differential tests below pin the agreement.

/// True when `encoded`, sign bit ignored, is the encoding of one of the eight points of small
/// order (the 8-torsion subgroup). The set is closed under negation, and its x = 0 points can
/// carry either sign bit, hence the sign bit is ignored.
pub fn is_small_order(encoded: &[u8; 32]) -> bool {
    static SMALL_ORDER_Y: std::sync::LazyLock<Vec<[u8; 32]>> = std::sync::LazyLock::new(|| {
        curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|point| {
                let mut y = point.compress().to_bytes();
                y[31] &= 0x7f;
                y
            })
            .collect()
    });
    let mut y = *encoded;
    y[31] &= 0x7f;
    SMALL_ORDER_Y.contains(&y)
}

/// Why an Ed25519 signature is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ed25519Error {
    /// The key is not 32 bytes, not a curve point, or of small order.
    PublicKey,
    /// The signature is not 64 bytes.
    Length,
    /// The signature does not verify (R of small order included).
    Invalid,
}

/// Verifies `signature` over `message` by `public_key` as `verify_strict` does (module docs).
pub fn verify_strict(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Ed25519Error> {
    use ed25519_dalek::Verifier as _;
    let public_key: &[u8; 32] = public_key.try_into().map_err(|_| Ed25519Error::PublicKey)?;
    if is_small_order(public_key) {
        return Err(Ed25519Error::PublicKey);
    }
    let key = ed25519_dalek::VerifyingKey::from_bytes(public_key).map_err(|_| Ed25519Error::PublicKey)?;
    let signature = ed25519_dalek::Signature::from_slice(signature).map_err(|_| Ed25519Error::Length)?;
    if is_small_order(signature.r_bytes()) {
        return Err(Ed25519Error::Invalid);
    }
    key.verify(message, &signature).map_err(|_| Ed25519Error::Invalid)
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest as _, Sha512};

    use super::*;

    fn dalek_strict(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else { return false };
        key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature)).is_ok()
    }

    fn lenient(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        use ed25519_dalek::Verifier as _;
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else { return false };
        key.verify(message, &ed25519_dalek::Signature::from_bytes(signature)).is_ok()
    }

    fn k(r: &[u8; 32], a: &[u8; 32], m: &[u8]) -> Scalar {
        let mut h = Sha512::new();
        h.update(r);
        h.update(a);
        h.update(m);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    }

    /// Valid signatures, signatures with a flipped bit, and the forgeries that the cofactorless
    /// equation alone accepts (R = identity under a real key; every small-order key with a
    /// small-order R): ours agrees with `verify_strict` on each.
    #[test]
    fn agrees_with_dalek_verify_strict() {
        use ed25519_dalek::Signer as _;
        let mut cases: Vec<([u8; 32], Vec<u8>, [u8; 64])> = Vec::new();
        for seed in 0..8u8 {
            let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
            let message = vec![seed; usize::from(seed) * 7];
            let signature = key.sign(&message).to_bytes();
            cases.push((key.verifying_key().to_bytes(), message.clone(), signature));
            let mut flipped = signature;
            flipped[usize::from(seed) * 8] ^= 1;
            cases.push((key.verifying_key().to_bytes(), message.clone(), flipped));
            // R = identity, S = k * a: the equation [S]B = R + [k]A holds.
            let secret = Scalar::from_bytes_mod_order([seed.wrapping_add(9); 32]);
            let public = (ED25519_BASEPOINT_POINT * secret).compress().to_bytes();
            let identity = EIGHT_TORSION[0].compress().to_bytes();
            let mut forged = [0u8; 64];
            forged[..32].copy_from_slice(&identity);
            forged[32..].copy_from_slice((k(&identity, &public, &message) * secret).as_bytes());
            assert!(lenient(&public, &message, &forged), "the equation alone accepts R = identity");
            cases.push((public, message, forged));
        }
        let mut forgeries = 0;
        for torsion_key in EIGHT_TORSION {
            for torsion_r in EIGHT_TORSION {
                let (a, r) = (torsion_key.compress().to_bytes(), torsion_r.compress().to_bytes());
                let mut signature = [0u8; 64];
                signature[..32].copy_from_slice(&r);
                // S = 0: valid when R + [k]A is the identity, for some messages.
                for m in 0..16u8 {
                    if lenient(&a, &[m], &signature) {
                        forgeries += 1;
                    }
                    cases.push((a, vec![m], signature));
                }
            }
        }
        assert!(forgeries > 8, "{forgeries} small-order forgeries pass the equation alone");
        let mut accepted = 0;
        for (public_key, message, signature) in &cases {
            let ours = verify_strict(public_key, message, signature).is_ok();
            assert_eq!(ours, dalek_strict(public_key, message, signature), "key {}", hex::encode(public_key));
            accepted += usize::from(ours);
        }
        assert_eq!(accepted, 8, "exactly the valid signatures verify");
    }

    #[test]
    fn refuses_bad_lengths_and_small_order_keys() {
        use ed25519_dalek::Signer as _;
        let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
        let signature = key.sign(b"m").to_bytes();
        let public = key.verifying_key().to_bytes();
        assert_eq!(verify_strict(&public, b"m", &signature), Ok(()));
        assert_eq!(verify_strict(&public[..31], b"m", &signature), Err(Ed25519Error::PublicKey));
        assert_eq!(verify_strict(&public, b"m", &signature[..63]), Err(Ed25519Error::Length));
        assert_eq!(verify_strict(&public, b"n", &signature), Err(Ed25519Error::Invalid));
        for point in EIGHT_TORSION {
            let mut encoded = point.compress().to_bytes();
            assert!(is_small_order(&encoded));
            assert_eq!(verify_strict(&encoded, b"m", &signature), Err(Ed25519Error::PublicKey));
            encoded[31] ^= 0x80;
            assert!(is_small_order(&encoded), "either sign bit");
        }
        assert!(!is_small_order(&public));
    }
}
