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
    /// MAC key for records the parent stores on the enclave's behalf (users, credentials, apps, wallet owners).
    pub const NOTARIZATION: &[u8] = b"signer/v1/notarization";
    /// MAC key for enclave tokens: challenges, user-action tokens, registration codes and
    /// temporary registration tokens (the label keeps its first name).
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
    ///
    /// Creation never replaces a key: the key is written whole to a temporary file of its own,
    /// synced, then hard-linked to `path`, which fails if `path` exists. Of enclaves started at
    /// once, one wins and the others read its key.
    pub fn load_or_create_dev(path: &Path) -> io::Result<MasterKey> {
        match read_dev_key(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            read => return read,
        }
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(io::Error::other)?;
        let master = MasterKey(key);
        key.zeroize();
        match write_new_private_file(path, &master.0) {
            Ok(()) => Ok(master),
            // Another enclave created it first: use its key, not ours.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => read_dev_key(path),
            Err(e) => Err(e),
        }
    }
}

fn read_dev_key(path: &Path) -> io::Result<MasterKey> {
    let bytes = Zeroizing::new(std::fs::read(path)?);
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "dev master key file is not 32 bytes"))?;
    Ok(MasterKey(key))
}

/// Creates `path` readable only by its owner, holding `bytes`; fails with `AlreadyExists` if it
/// exists, and never replaces it. The data goes to a temporary file of this call's own (unique
/// name, `create_new`), is synced, then hard-linked to `path` (`link` never replaces), so no
/// reader ever sees a half-written file.
fn write_new_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(io::Error::other)?;
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".{}.{}.tmp", std::process::id(), hex::encode(suffix)));
    let tmp = path.with_file_name(tmp_name);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    written?;
    // Make the new name durable too.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
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

    /// Enclaves started at once on an empty state dir: one key is created, every one of them
    /// ends with it, and no temporary file is left behind.
    #[test]
    fn racing_creators_end_with_one_key_all_agreeing() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("dev-master.key");
            let start = std::sync::Arc::new(std::sync::Barrier::new(16));
            let racers: Vec<_> = (0..16)
                .map(|_| {
                    let (path, start) = (path.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        MasterKey::load_or_create_dev(&path).unwrap().0
                    })
                })
                .collect();
            let keys: Vec<[u8; 32]> = racers.into_iter().map(|r| r.join().unwrap()).collect();
            let on_disk = std::fs::read(&path).unwrap();
            for key in &keys {
                assert_eq!(key.as_slice(), on_disk.as_slice(), "a racer kept a key that is not on disk");
            }
            let names: Vec<_> =
                std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(names, ["dev-master.key"], "left behind: {names:?}");
        }
    }
}
