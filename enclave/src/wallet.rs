//! Wallet keys: generation and signing, per curve.

use std::fmt;

use signer_common::protocol::{Curve, MAX_MESSAGE_LEN, SignKind};
use zeroize::Zeroizing;

/// A wallet's private key, in memory only inside the enclave. Both variants wipe themselves on
/// drop (k256's `SecretKey` and ed25519-dalek's `SigningKey` zeroize); `Debug` is redacted.
pub enum WalletKey {
    /// secp256k1 ECDSA. A bare secret scalar: unlike k256's `SigningKey` it does not compute
    /// the public key when made (a scalar multiplication, about 40 us, as long as the signature
    /// itself), and ECDSA signing does not need it. [`WalletKey::public_key`] computes it.
    Secp256k1(k256::SecretKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
}

impl fmt::Debug for WalletKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WalletKey({}, <redacted>)", self.curve().as_str())
    }
}

/// Why a payload cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// `kind: Hash` with a payload that is not 32 bytes.
    #[error("hash must be exactly 32 bytes, got {0}")]
    HashLength(usize),
    /// `kind: Message` on a curve that signs only hashes.
    #[error("kind Message is not supported for {0}; sign a 32-byte Hash instead")]
    MessageUnsupported(&'static str),
    /// A message over [`MAX_MESSAGE_LEN`].
    #[error("message is larger than {MAX_MESSAGE_LEN} bytes")]
    MessageTooLarge,
}

/// A secret key that is not valid for its curve (a zero or out-of-range secp256k1 scalar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid secret key for the curve")]
pub struct InvalidSecret;

impl WalletKey {
    /// A new key from `fill`, the enclave's random source. For secp256k1 a draw outside the
    /// scalar range (probability about 2^-128) is retried.
    pub fn generate<E>(
        curve: Curve,
        mut fill: impl FnMut(&mut [u8]) -> Result<(), E>,
    ) -> Result<WalletKey, E> {
        loop {
            let mut secret = Zeroizing::new([0u8; 32]);
            fill(secret.as_mut_slice())?;
            if let Ok(key) = WalletKey::from_secret(curve, &secret) {
                return Ok(key);
            }
        }
    }

    /// The key for 32 secret bytes (as unsealed).
    pub fn from_secret(curve: Curve, secret: &[u8; 32]) -> Result<WalletKey, InvalidSecret> {
        match curve {
            Curve::Secp256k1 => k256::SecretKey::from_bytes(secret.into())
                .map(WalletKey::Secp256k1)
                .map_err(|_| InvalidSecret),
            Curve::Ed25519 => Ok(WalletKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(secret))),
        }
    }

    /// The curve.
    pub fn curve(&self) -> Curve {
        match self {
            WalletKey::Secp256k1(_) => Curve::Secp256k1,
            WalletKey::Ed25519(_) => Curve::Ed25519,
        }
    }

    /// The 32 secret bytes, for sealing.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        let mut out = Zeroizing::new([0u8; 32]);
        match self {
            WalletKey::Secp256k1(k) => out.copy_from_slice(&Zeroizing::new(k.to_bytes())),
            WalletKey::Ed25519(k) => out.copy_from_slice(&Zeroizing::new(k.to_bytes())[..]),
        }
        out
    }

    /// SEC1 compressed (33 bytes) for secp256k1 (computed on each call), 32 bytes for Ed25519.
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            WalletKey::Secp256k1(k) => {
                k256::ecdsa::VerifyingKey::from(k.public_key()).to_sec1_point(true).as_bytes().to_vec()
            }
            WalletKey::Ed25519(k) => k.verifying_key().to_bytes().to_vec(),
        }
    }

    /// Checks a payload without signing it.
    pub fn check_payload(curve: Curve, kind: SignKind, payload: &[u8]) -> Result<(), SignError> {
        match (kind, curve) {
            (SignKind::Hash, _) if payload.len() != 32 => Err(SignError::HashLength(payload.len())),
            (SignKind::Hash, _) => Ok(()),
            (SignKind::Message, Curve::Secp256k1) => Err(SignError::MessageUnsupported(curve.as_str())),
            (SignKind::Message, Curve::Ed25519) if payload.len() > MAX_MESSAGE_LEN => {
                Err(SignError::MessageTooLarge)
            }
            (SignKind::Message, Curve::Ed25519) => Ok(()),
        }
    }

    /// Signs and returns the chain-ready encoding: `r || s || v` (65 bytes; RFC 6979, low-S,
    /// v = recovery id 0 or 1) for secp256k1; the 64-byte signature for Ed25519 (over the 32
    /// hash bytes for `Hash`, over the message for `Message`).
    pub fn sign(&self, kind: SignKind, payload: &[u8]) -> Result<Vec<u8>, SignError> {
        Self::check_payload(self.curve(), kind, payload)?;
        Ok(match self {
            WalletKey::Secp256k1(k) => {
                // What k256's `SigningKey::sign_prehash_recoverable` does (RFC 6979 nonce, low S,
                // recovery id adjusted), from the bare scalar.
                let scalar = Zeroizing::new(k.to_nonzero_scalar());
                let (signature, recid) = ecdsa::hazmat::sign_prehashed_rfc6979::<k256::Secp256k1, sha2::Sha256>(
                    &scalar, payload, b"",
                );
                let mut out = Vec::with_capacity(65);
                out.extend_from_slice(&signature.to_bytes());
                out.push(recid.to_byte());
                out
            }
            WalletKey::Ed25519(k) => {
                use ed25519_dalek::Signer as _;
                k.sign(payload).to_bytes().to_vec()
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(byte: u8) -> impl FnMut(&mut [u8]) -> Result<(), ()> {
        move |buf: &mut [u8]| {
            buf.fill(byte);
            Ok(())
        }
    }

    #[test]
    fn secp256k1_signature_is_low_s_and_recovers_the_key() {
        use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
        let key = WalletKey::generate(Curve::Secp256k1, getrandom_fill).unwrap();
        for i in 0..32u8 {
            let hash = [i; 32];
            let encoded = key.sign(SignKind::Hash, &hash).unwrap();
            assert_eq!(encoded.len(), 65);
            let sig = Signature::from_slice(&encoded[..64]).unwrap();
            assert!(sig.normalize_s() == sig, "high S");
            let recid = RecoveryId::from_byte(encoded[64]).unwrap();
            let recovered = VerifyingKey::recover_from_prehash(&hash, &sig, recid).unwrap();
            assert_eq!(recovered.to_sec1_point(true).as_bytes().to_vec(), key.public_key());
        }
    }

    #[test]
    fn secp256k1_signs_exactly_as_k256_signing_key() {
        for i in 1..=16u8 {
            let secret = [i; 32];
            let ours = WalletKey::from_secret(Curve::Secp256k1, &secret).unwrap();
            let theirs = k256::ecdsa::SigningKey::from_slice(&secret).unwrap();
            assert_eq!(ours.public_key(), theirs.verifying_key().to_sec1_point(true).as_bytes().to_vec());
            for j in 0..8u8 {
                let hash = [i ^ j.wrapping_mul(37); 32];
                let (sig, recid) = theirs.sign_prehash_recoverable(&hash);
                let mut expected = sig.to_bytes().to_vec();
                expected.push(recid.to_byte());
                assert_eq!(ours.sign(SignKind::Hash, &hash).unwrap(), expected);
            }
        }
    }

    #[test]
    fn secp256k1_is_deterministic_rfc6979() {
        let key = WalletKey::from_secret(Curve::Secp256k1, &[1; 32]).unwrap();
        assert_eq!(key.sign(SignKind::Hash, &[2; 32]).unwrap(), key.sign(SignKind::Hash, &[2; 32]).unwrap());
    }

    #[test]
    fn ed25519_signs_hash_bytes_and_messages() {
        use ed25519_dalek::{Signature, VerifyingKey};
        let key = WalletKey::generate(Curve::Ed25519, fixed(4)).unwrap();
        let vk = VerifyingKey::from_bytes(&key.public_key().try_into().unwrap()).unwrap();
        for (kind, payload) in [(SignKind::Hash, vec![3u8; 32]), (SignKind::Message, b"hello".to_vec())] {
            let sig = key.sign(kind, &payload).unwrap();
            vk.verify_strict(&payload, &Signature::from_slice(&sig).unwrap()).unwrap();
        }
    }

    #[test]
    fn refuses_bad_payloads() {
        let k = WalletKey::from_secret(Curve::Secp256k1, &[1; 32]).unwrap();
        assert_eq!(k.sign(SignKind::Hash, &[0; 31]), Err(SignError::HashLength(31)));
        assert_eq!(k.sign(SignKind::Message, b"hi"), Err(SignError::MessageUnsupported("secp256k1")));
        let e = WalletKey::from_secret(Curve::Ed25519, &[1; 32]).unwrap();
        assert_eq!(e.sign(SignKind::Hash, &[0; 33]), Err(SignError::HashLength(33)));
        assert_eq!(e.sign(SignKind::Message, &vec![0; MAX_MESSAGE_LEN + 1]), Err(SignError::MessageTooLarge));
    }

    #[test]
    fn secret_round_trips_and_invalid_scalars_are_refused() {
        for curve in [Curve::Secp256k1, Curve::Ed25519] {
            let key = WalletKey::generate(curve, getrandom_fill).unwrap();
            let again = WalletKey::from_secret(curve, &key.secret_bytes()).unwrap();
            assert_eq!(key.public_key(), again.public_key());
            assert_eq!(key.public_key().len(), curve.public_key_len());
        }
        assert_eq!(WalletKey::from_secret(Curve::Secp256k1, &[0; 32]).err(), Some(InvalidSecret));
        assert_eq!(WalletKey::from_secret(Curve::Secp256k1, &[0xff; 32]).err(), Some(InvalidSecret));
        assert!(
            !format!("{:?}", WalletKey::from_secret(Curve::Ed25519, &[0xab; 32]).unwrap()).contains("ab, ")
        );
    }

    fn getrandom_fill(buf: &mut [u8]) -> Result<(), getrandom::Error> {
        getrandom::fill(buf)
    }
}
