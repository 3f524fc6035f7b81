//! Sealed wallets: a wallet's secret key encrypted under the enclave's sealing key. See
//! `enclave/SPEC.md` ("Sealed wallet").
//!
//! Layout: `version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM ciphertext (32) || tag (16)`.
//! The associated data binds the wallet id, the curve and the public key, so the parent (which
//! stores the blob) cannot present one wallet's blob as another's or pair it with another key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use signer_common::protocol::Curve;
use zeroize::Zeroizing;

use crate::keys::DerivedKey;

/// The only sealed-wallet version this build writes and reads.
pub const SEALED_VERSION: u8 = 1;
/// Length of a version-1 sealed wallet.
pub const SEALED_LEN: usize = 1 + 12 + 32 + 16;
const AAD_DOMAIN: &[u8] = b"signer/sealed-wallet/v1";

/// Why a sealed wallet did not open. Deliberately opaque: which check failed is no help to an
/// attacker and no business of the parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("sealed wallet does not open for this wallet id, curve and public key")]
pub struct UnsealError;

/// Seals and unseals wallet keys with the derived sealing key.
pub struct WalletSealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for WalletSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WalletSealer(<redacted>)")
    }
}

impl WalletSealer {
    /// A sealer keyed with the wallet-sealing key.
    pub fn new(key: &DerivedKey) -> Self {
        WalletSealer { cipher: Aes256Gcm::new(key.expose().into()) }
    }

    /// Seals `secret` for this wallet with a fresh random `nonce` (the caller's RNG).
    pub fn seal(
        &self,
        wallet_id: &str,
        curve: Curve,
        public_key: &[u8],
        secret: &[u8; 32],
        nonce: [u8; 12],
    ) -> Vec<u8> {
        let aad = associated_data(wallet_id, curve, public_key);
        let ciphertext = match self.cipher.encrypt(&Nonce::from(nonce), Payload { msg: secret, aad: &aad }) {
            Ok(c) => c,
            // AES-GCM only fails on inputs over 2^36 bytes; ours are 32.
            Err(_) => unreachable!("AES-GCM encryption of 32 bytes"),
        };
        let mut out = Vec::with_capacity(SEALED_LEN);
        out.push(SEALED_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Opens a sealed wallet, checking that it was sealed for exactly this id, curve and key.
    pub fn unseal(
        &self,
        wallet_id: &str,
        curve: Curve,
        public_key: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, UnsealError> {
        if sealed.len() != SEALED_LEN || sealed[0] != SEALED_VERSION {
            return Err(UnsealError);
        }
        let (nonce, ciphertext) = sealed[1..].split_at(12);
        let nonce = Nonce::try_from(nonce).map_err(|_| UnsealError)?;
        let aad = associated_data(wallet_id, curve, public_key);
        let plaintext = Zeroizing::new(
            self.cipher.decrypt(&nonce, Payload { msg: ciphertext, aad: &aad }).map_err(|_| UnsealError)?,
        );
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(plaintext.get(..32).ok_or(UnsealError)?);
        Ok(secret)
    }
}

/// `domain || u16be(len(id)) || id || curve (1 = secp256k1, 2 = ed25519) || u16be(len(pk)) || pk`.
fn associated_data(wallet_id: &str, curve: Curve, public_key: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_DOMAIN.len() + 6 + wallet_id.len() + public_key.len());
    aad.extend_from_slice(AAD_DOMAIN);
    push_len_prefixed(&mut aad, wallet_id.as_bytes());
    aad.push(match curve {
        Curve::Secp256k1 => 1,
        Curve::Ed25519 => 2,
    });
    push_len_prefixed(&mut aad, public_key);
    aad
}

fn push_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    // Ids and keys are capped far below 64 KiB by the request checks; saturate rather than wrap.
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{MasterKey, labels};

    fn sealer() -> WalletSealer {
        WalletSealer::new(&MasterKey::from_bytes([1; 32]).derive(labels::WALLET_SEALING))
    }

    #[test]
    fn round_trip() {
        let s = sealer();
        let blob = s.seal("wa-1", Curve::Ed25519, &[9; 32], &[5; 32], [3; 12]);
        assert_eq!(blob.len(), SEALED_LEN);
        assert_eq!(*s.unseal("wa-1", Curve::Ed25519, &[9; 32], &blob).unwrap(), [5; 32]);
    }

    #[test]
    fn refuses_any_flipped_byte() {
        let s = sealer();
        let blob = s.seal("wa-1", Curve::Ed25519, &[9; 32], &[5; 32], [3; 12]);
        for i in 0..blob.len() {
            let mut bad = blob.clone();
            bad[i] ^= 0x01;
            assert_eq!(s.unseal("wa-1", Curve::Ed25519, &[9; 32], &bad), Err(UnsealError), "byte {i}");
        }
        assert_eq!(s.unseal("wa-1", Curve::Ed25519, &[9; 32], &blob[..SEALED_LEN - 1]), Err(UnsealError));
    }

    #[test]
    fn refuses_blob_of_another_wallet_curve_key_or_master() {
        let s = sealer();
        let blob = s.seal("wa-1", Curve::Ed25519, &[9; 32], &[5; 32], [3; 12]);
        assert_eq!(s.unseal("wa-2", Curve::Ed25519, &[9; 32], &blob), Err(UnsealError));
        assert_eq!(s.unseal("wa-1", Curve::Secp256k1, &[9; 32], &blob), Err(UnsealError));
        assert_eq!(s.unseal("wa-1", Curve::Ed25519, &[8; 32], &blob), Err(UnsealError));
        let other = WalletSealer::new(&MasterKey::from_bytes([2; 32]).derive(labels::WALLET_SEALING));
        assert_eq!(other.unseal("wa-1", Curve::Ed25519, &[9; 32], &blob), Err(UnsealError));
    }

    #[test]
    fn golden_sealed_blob() {
        let blob = sealer().seal("wa-1", Curve::Ed25519, &[9; 32], &[5; 32], [3; 12]);
        assert_eq!(hex::encode(&blob[..13]), "01030303030303030303030303");
        assert_eq!(hex::encode(&blob), GOLDEN_BLOB);
    }

    const GOLDEN_BLOB: &str = concat!(
        "01",                                                               // version
        "030303030303030303030303",                                         // nonce
        "d2d6e26d4be3b917d16e5b067eb15e2f3eb8f5a69687c8970b0af2324430b001", // ciphertext
        "1f5774c90856d318d36965b744026287",                                 // tag
    );
}
