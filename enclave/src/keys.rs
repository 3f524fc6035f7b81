//! The master key and the keys derived from it.
//!
//! Everything the enclave keys with derives from one 32-byte master key through HKDF-SHA256
//! with a distinct label per use, so a key for one purpose can never be used for another.

use std::fmt;
use std::io::{self, Write};
use std::path::Path;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// HKDF `info` labels, one per derived key. Changing one changes every key derived with it.
pub mod labels {
    /// AES-256-GCM key that seals wallet keys.
    pub const WALLET_SEALING: &[u8] = b"signer/v1/wallet-sealing";
    /// MAC key for records the parent stores on the enclave's behalf (credentials, owners).
    pub const NOTARIZATION: &[u8] = b"signer/v1/notarization";
    /// MAC key for challenges and user-action tokens.
    pub const USER_ACTION: &[u8] = b"signer/v1/user-action";
}

/// The deployment's master key. Never leaves the enclave; wiped on drop; `Debug` is redacted.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

/// A 32-byte key derived from the master key; wiped on drop; `Debug` is redacted.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct DerivedKey([u8; 32]);

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

impl DerivedKey {
    /// The key bytes, for handing to a cipher or MAC.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl MasterKey {
    /// Takes ownership of key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(bytes)
    }

    /// HKDF-SHA256 (no salt) with `label` as `info`.
    pub fn derive(&self, label: &[u8]) -> DerivedKey {
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's output limit (255 * 32), so expand cannot fail.
        if Hkdf::<Sha256>::new(None, &self.0).expand(label, &mut out).is_err() {
            unreachable!("HKDF expand of 32 bytes");
        }
        DerivedKey(out)
    }

    /// DEV MODE ONLY: reads the master key from `path`, creating it (mode 0600) with 32 random
    /// bytes on first use. Anyone who can read the file can unseal every wallet.
    pub fn load_or_create_dev(path: &Path) -> io::Result<MasterKey> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidData, "dev master key file is not 32 bytes")
                })?;
                Ok(MasterKey(key))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(io::Error::other)?;
                let master = MasterKey(key);
                key.zeroize();
                write_new_private_file(path, &master.0)?;
                Ok(master)
            }
            Err(e) => Err(e),
        }
    }
}

/// Writes a new file readable only by its owner; fails if it exists. The data is written to a
/// temporary file first and renamed, so a crash never leaves a half-written key.
fn write_new_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    if path.exists() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, "master key file appeared meanwhile"));
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn derivations_are_distinct_and_stable() {
        let master = MasterKey::from_bytes([7; 32]);
        let a = master.derive(labels::WALLET_SEALING);
        let b = master.derive(labels::NOTARIZATION);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose(), master.derive(labels::WALLET_SEALING).expose());
        // Golden value: pins the KDF and the label (a change would orphan every sealed wallet).
        assert_eq!(
            hex::encode(MasterKey::from_bytes([0; 32]).derive(labels::WALLET_SEALING).expose()),
            GOLDEN_SEALING_KEY_OF_ZERO_MASTER
        );
    }

    const GOLDEN_SEALING_KEY_OF_ZERO_MASTER: &str =
        "ed0042e84d9f6ac36d5fab51d3d23bf5e316d6a5a0f4658d3c36ea50b05673f8";

    #[test]
    fn debug_is_redacted() {
        let master = MasterKey::from_bytes([0xab; 32]);
        let text = format!("{master:?} {:?}", master.derive(labels::USER_ACTION));
        assert!(!text.contains("ab") && !text.contains("171"), "{text}");
    }

    #[test]
    fn dev_key_file_is_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = MasterKey::load_or_create_dev(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = MasterKey::load_or_create_dev(&path).unwrap();
        assert_eq!(first.0, second.0);
        std::fs::write(&path, b"short").unwrap();
        assert!(MasterKey::load_or_create_dev(&path).is_err());
    }
}
