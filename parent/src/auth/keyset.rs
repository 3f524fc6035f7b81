//! The access-token signing keys on disk: `DATA_DIR/jwt-keys/`, one Ed25519 key per
//! `<kid>.pem` (PKCS#8 PEM, mode 0600, readable by `openssl pkey`) and `current`, the kid that
//! signs new tokens. The others still verify, so rotating does not log anyone out; an operator
//! removes a previous key once its tokens have expired (`signer-parent jwt-keys`).
//!
//! A key's id is its RFC 7638 JWK thumbprint, recomputed at every load: a file renamed to
//! another key's id is refused. Changes take effect when the parent next starts.

use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _, spki::der::pem::LineEnding};
use sha2::{Digest as _, Sha256};
use signer_common::encoding::to_b64url;
use zeroize::Zeroizing;

use super::write_private_file;

/// The key directory, inside the data directory.
pub const KEYS_DIR: &str = "jwt-keys";

/// The file naming the current key, inside [`KEYS_DIR`].
pub const CURRENT_FILE: &str = "current";

/// The most keys a set holds (the current one and the previous ones still verifying).
pub const MAX_KEYS: usize = 16;

/// Why the key set could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A key file is not an Ed25519 PKCS#8 PEM key.
    #[error("{0}: not an Ed25519 private key in PKCS#8 PEM")]
    BadKey(PathBuf),
    /// A key file's name is not its key's id.
    #[error("{path}: the key's id is {kid}, not the file's name")]
    Misnamed {
        /// The file.
        path: PathBuf,
        /// The id of the key it holds.
        kid: String,
    },
    /// There is no key set yet.
    #[error("{0}: no key set yet (the parent makes one at its first start, or `jwt-keys rotate`)")]
    Missing(PathBuf),
    /// `current` names no key of the set.
    #[error("{0}: names no key of the set")]
    NoCurrent(PathBuf),
    /// The set would pass [`MAX_KEYS`].
    #[error("the key set already holds {MAX_KEYS} keys; remove a previous one first")]
    Full,
    /// The key to remove is not in the set.
    #[error("no key {0} in the set")]
    Unknown(String),
    /// The current key cannot be removed.
    #[error("{0} is the current key; rotate first")]
    IsCurrent(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeySetError + '_ {
    move |source| KeySetError::Io { path: path.to_path_buf(), source }
}

/// One signing key and its id.
pub struct SigningEntry {
    /// RFC 7638 thumbprint of its public JWK.
    pub kid: String,
    /// The key (wiped on drop).
    pub key: SigningKey,
}

impl std::fmt::Debug for SigningEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningEntry").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// The keys of a data directory: the current one first.
#[derive(Debug)]
pub struct KeySet {
    /// Signs new tokens.
    pub current: SigningEntry,
    /// Still verify.
    pub previous: Vec<SigningEntry>,
}

impl KeySet {
    /// A set of one key (tests, and tools that hold a key of their own).
    pub fn single(key: SigningKey) -> KeySet {
        KeySet { current: SigningEntry { kid: kid_of(&key), key }, previous: Vec::new() }
    }
}

/// The RFC 7638 thumbprint of an Ed25519 public key: base64url(SHA-256 of the JWK's required
/// members in lexicographic order, without white space).
pub fn thumbprint(public_key: &[u8; 32]) -> String {
    let jwk = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, to_b64url(public_key));
    to_b64url(&Sha256::digest(jwk.as_bytes()))
}

fn kid_of(key: &SigningKey) -> String {
    thumbprint(key.verifying_key().as_bytes())
}

/// A kid is base64url text (a thumbprint): anything else is no file name of the set.
fn is_kid(text: &str) -> bool {
    text.len() == 43 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn keys_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(KEYS_DIR)
}

fn read_key(path: &Path) -> Result<SigningEntry, KeySetError> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io(path))?);
    let key = SigningKey::from_pkcs8_pem(&text).map_err(|_| KeySetError::BadKey(path.to_path_buf()))?;
    Ok(SigningEntry { kid: kid_of(&key), key })
}

fn write_key(dir: &Path, key: &SigningKey) -> Result<String, KeySetError> {
    let kid = kid_of(key);
    // PKCS#8 v1 (RFC 5208, no public key): what OpenSSL reads (it refuses v2's public key).
    let bytes = ed25519_dalek::pkcs8::KeypairBytes { secret_key: key.to_bytes(), public_key: None };
    let pem = bytes.to_pkcs8_pem(LineEnding::LF).map_err(|_| KeySetError::BadKey(dir.join(&kid)))?;
    let path = dir.join(format!("{kid}.pem"));
    write_private_file(&path, pem.as_bytes()).map_err(io(&path))?;
    Ok(kid)
}

fn write_current(dir: &Path, kid: &str) -> Result<(), KeySetError> {
    let path = dir.join(CURRENT_FILE);
    write_private_file(&path, format!("{kid}\n").as_bytes()).map_err(io(&path))
}

fn new_key() -> Result<SigningKey, KeySetError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut()).map_err(|e| KeySetError::Io {
        path: PathBuf::from("<system random>"),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The kids of the `<kid>.pem` files of `dir`, sorted.
fn kids_on_disk(dir: &Path) -> Result<Vec<String>, KeySetError> {
    let mut kids = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let name = entry.map_err(io(dir))?.file_name();
        if let Some(kid) = name.to_str().and_then(|n| n.strip_suffix(".pem")).filter(|k| is_kid(k)) {
            kids.push(kid.to_owned());
        }
    }
    kids.sort();
    Ok(kids)
}

/// Loads the set of `data_dir`, making one key (mode 0600) on first start.
pub fn load_or_create(data_dir: &Path) -> Result<KeySet, KeySetError> {
    let dir = keys_dir(data_dir);
    if !dir.join(CURRENT_FILE).exists() {
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let kid = write_key(&dir, &new_key()?)?;
        write_current(&dir, &kid)?;
        tracing::info!(kid = %kid, dir = %dir.display(), "created an access-token signing key");
    }
    load(data_dir)
}

/// Loads the set of `data_dir`.
pub fn load(data_dir: &Path) -> Result<KeySet, KeySetError> {
    let dir = keys_dir(data_dir);
    let current_path = dir.join(CURRENT_FILE);
    let current_kid = match std::fs::read_to_string(&current_path) {
        Ok(text) => text.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(KeySetError::Missing(dir)),
        Err(e) => return Err(io(&current_path)(e)),
    };
    let mut current = None;
    let mut previous = Vec::new();
    for kid in kids_on_disk(&dir)?.into_iter().take(MAX_KEYS) {
        let path = dir.join(format!("{kid}.pem"));
        let entry = read_key(&path)?;
        if entry.kid != kid {
            return Err(KeySetError::Misnamed { path, kid: entry.kid });
        }
        if kid == current_kid {
            current = Some(entry);
        } else {
            previous.push(entry);
        }
    }
    let current = current.ok_or(KeySetError::NoCurrent(current_path))?;
    Ok(KeySet { current, previous })
}

/// Makes a new current key; the previous ones keep verifying. Answers the new kid.
pub fn rotate(data_dir: &Path) -> Result<String, KeySetError> {
    let set = load_or_create(data_dir)?;
    if set.previous.len() + 1 >= MAX_KEYS {
        return Err(KeySetError::Full);
    }
    let dir = keys_dir(data_dir);
    let kid = write_key(&dir, &new_key()?)?;
    // The new key file is complete before `current` names it (renamed into place).
    write_current(&dir, &kid)?;
    Ok(kid)
}

/// Removes a previous key: tokens it signed are refused from the next start on.
pub fn remove(data_dir: &Path, kid: &str) -> Result<(), KeySetError> {
    let set = load(data_dir)?;
    if set.current.kid == kid {
        return Err(KeySetError::IsCurrent(kid.to_owned()));
    }
    if !set.previous.iter().any(|e| e.kid == kid) {
        return Err(KeySetError::Unknown(kid.to_owned()));
    }
    let path = keys_dir(data_dir).join(format!("{kid}.pem"));
    std::fs::remove_file(&path).map_err(io(&path))
}

/// `signer-parent jwt-keys`.
#[derive(Debug, clap::Args)]
pub struct JwtKeysArgs {
    /// The data directory.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: JwtKeysCommand,
}

/// The `jwt-keys` subcommands; each prints `{ current, previous: [kid...] }` as JSON.
#[derive(Debug, clap::Subcommand)]
pub enum JwtKeysCommand {
    /// Print the key ids.
    List,
    /// Make a new current key; the previous ones keep verifying the tokens they signed.
    Rotate,
    /// Remove a previous key: the tokens it signed are refused.
    Remove {
        /// The key id (`kid`).
        #[arg(long)]
        kid: String,
    },
}

/// Runs a `jwt-keys` command: the set's ids afterwards, as JSON.
pub fn run(args: &JwtKeysArgs) -> Result<String, KeySetError> {
    let data_dir = args.data_dir.as_deref().ok_or_else(|| KeySetError::Io {
        path: PathBuf::from("--data-dir"),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "required"),
    })?;
    match &args.command {
        JwtKeysCommand::List => {}
        JwtKeysCommand::Rotate => {
            rotate(data_dir)?;
        }
        JwtKeysCommand::Remove { kid } => remove(data_dir, kid)?,
    }
    let set = load(data_dir)?;
    let previous: Vec<&str> = set.previous.iter().map(|e| e.kid.as_str()).collect();
    Ok(serde_json::json!({ "current": set.current.kid, "previous": previous }).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_private_rotated_and_removed() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(load(dir.path()), Err(KeySetError::Missing(_))));
        let first = load_or_create(dir.path()).unwrap();
        assert!(first.previous.is_empty());
        let pem = dir.path().join(KEYS_DIR).join(format!("{}.pem", first.current.kid));
        assert_eq!(std::fs::metadata(&pem).unwrap().permissions().mode() & 0o777, 0o600);
        // PKCS#8 v1, without the public key: the form OpenSSL 3 reads (`openssl pkey -in`).
        let text = std::fs::read_to_string(&pem).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
        let bytes = ed25519_dalek::pkcs8::KeypairBytes::from_pkcs8_pem(&text).unwrap();
        assert!(bytes.public_key.is_none());
        // Loading again keeps the key.
        assert_eq!(load_or_create(dir.path()).unwrap().current.kid, first.current.kid);

        let second = rotate(dir.path()).unwrap();
        let set = load(dir.path()).unwrap();
        assert_eq!(set.current.kid, second);
        let previous: Vec<&str> = set.previous.iter().map(|e| e.kid.as_str()).collect();
        assert_eq!(previous, [first.current.kid.as_str()]);

        assert!(matches!(remove(dir.path(), &second), Err(KeySetError::IsCurrent(_))));
        assert!(matches!(remove(dir.path(), "nope"), Err(KeySetError::Unknown(_))));
        remove(dir.path(), &first.current.kid).unwrap();
        assert!(load(dir.path()).unwrap().previous.is_empty());
    }

    #[test]
    fn a_renamed_or_bad_key_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap().current.kid;
        let second = rotate(dir.path()).unwrap();
        let keys = dir.path().join(KEYS_DIR);
        // The previous key's file put under the current key's name.
        std::fs::copy(keys.join(format!("{first}.pem")), keys.join(format!("{second}.pem"))).unwrap();
        assert!(matches!(load(dir.path()), Err(KeySetError::Misnamed { .. })));
        std::fs::write(keys.join(format!("{second}.pem")), "not a key").unwrap();
        assert!(matches!(load(dir.path()), Err(KeySetError::BadKey(_))));
        std::fs::remove_file(keys.join(format!("{second}.pem"))).unwrap();
        assert!(matches!(load(dir.path()), Err(KeySetError::NoCurrent(_))));
    }

    #[test]
    fn a_set_holds_at_most_max_keys_and_an_unreadable_current_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create(dir.path()).unwrap();
        for _ in 1..MAX_KEYS {
            rotate(dir.path()).unwrap();
        }
        assert_eq!(load(dir.path()).unwrap().previous.len(), MAX_KEYS - 1);
        assert!(matches!(rotate(dir.path()), Err(KeySetError::Full)));
        // `current` that cannot be read (here a directory) is not "no key set yet".
        let current = dir.path().join(KEYS_DIR).join(CURRENT_FILE);
        std::fs::remove_file(&current).unwrap();
        std::fs::create_dir(&current).unwrap();
        assert!(matches!(load(dir.path()), Err(KeySetError::Io { .. })));
    }

    #[test]
    fn files_that_are_not_key_ids_are_ignored_and_keys_are_not_printed() {
        let dir = tempfile::tempdir().unwrap();
        let set = load_or_create(dir.path()).unwrap();
        let keys = dir.path().join(KEYS_DIR);
        // A key under a name that is no kid (too short; a character outside base64url).
        let pem = std::fs::read(keys.join(format!("{}.pem", set.current.kid))).unwrap();
        std::fs::write(keys.join("old-key.pem"), &pem).unwrap();
        std::fs::write(keys.join(format!("{}.pem", "a".repeat(42) + "!")), &pem).unwrap();
        let again = load(dir.path()).unwrap();
        assert_eq!((again.current.kid.as_str(), again.previous.len()), (set.current.kid.as_str(), 0));
        let debug = format!("{:?}", again.current);
        assert!(debug.contains(&set.current.kid) && !debug.contains("key:"), "{debug}");
    }

    #[test]
    fn the_command_answers_the_ids_as_json() {
        let dir = tempfile::tempdir().unwrap();
        let args = |command| JwtKeysArgs { data_dir: Some(dir.path().to_path_buf()), command };
        assert!(matches!(run(&args(JwtKeysCommand::List)), Err(KeySetError::Missing(_))));
        let rotated: serde_json::Value =
            serde_json::from_str(&run(&args(JwtKeysCommand::Rotate)).unwrap()).unwrap();
        let first = rotated["previous"][0].as_str().unwrap().to_owned();
        assert_eq!(rotated["current"], load(dir.path()).unwrap().current.kid.as_str());
        let listed: serde_json::Value =
            serde_json::from_str(&run(&args(JwtKeysCommand::List)).unwrap()).unwrap();
        assert_eq!(listed, rotated);
        let removed = run(&args(JwtKeysCommand::Remove { kid: first })).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&removed).unwrap()["previous"],
            serde_json::json!([])
        );
        let no_dir = JwtKeysArgs { data_dir: None, command: JwtKeysCommand::List };
        assert!(run(&no_dir).is_err());
    }

    #[test]
    fn thumbprint_is_rfc_7638() {
        // RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key.
        let x: [u8; 32] = signer_common::encoding::from_b64("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(thumbprint(&x), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }
}
