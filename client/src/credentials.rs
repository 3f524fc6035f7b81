//! `dev-credentials.json`: what `signer-parent dev` writes and `signer --credentials` reads.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize as _, Zeroizing};

use crate::error::ClientError;

/// The largest credentials file read (it is a few hundred bytes in practice).
const MAX_CREDENTIALS_FILE_LEN: u64 = 1024 * 1024;

/// A string that never shows in `Debug` or `Display` output (private keys, tokens).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The user's local credential (a key pair): [`crate::KeySigner::from_credentials`] loads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalCredential {
    /// `Key` (a key pair held in the file).
    pub kind: String,
    /// The credential id (base64url).
    pub cred_id: String,
    /// `ES256`, `EdDSA` or `ES256K`.
    pub algorithm: String,
    /// PKCS#8 PEM of the private key; redacted in `Debug`.
    pub private_key_pem: Secret,
}

/// The fields of `dev-credentials.json` (more may be present; they are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    /// The parent's base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The organisation.
    pub org_id: String,
    /// The user.
    pub user_id: String,
    /// The user's name.
    pub username: String,
    /// The API access token (JWT); redacted in `Debug`.
    pub access_token: Secret,
    /// The default application.
    pub app_id: String,
    /// The application's expected origin.
    pub origin: String,
    /// The user's key credential.
    pub credential: LocalCredential,
}

impl Credentials {
    /// Parses the JSON text of a credentials file.
    pub fn from_json(text: &str) -> Result<Credentials, ClientError> {
        serde_json::from_str(text)
            .map_err(|e| ClientError::Credentials(format!("invalid credentials file: {e}")))
    }

    /// Reads and parses a credentials file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Credentials, ClientError> {
        let path = path.as_ref();
        let read_error =
            |e: std::io::Error| ClientError::Credentials(format!("cannot read {}: {e}", path.display()));
        let len = std::fs::metadata(path).map_err(read_error)?.len();
        if len > MAX_CREDENTIALS_FILE_LEN {
            return Err(ClientError::Credentials(format!(
                "{} is larger than {MAX_CREDENTIALS_FILE_LEN} bytes",
                path.display()
            )));
        }
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(read_error)?);
        Credentials::from_json(&text)
    }

    /// Writes the file (mode 0600), replacing any file at `path`.
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<(), ClientError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| ClientError::Credentials(format!("cannot encode the credentials: {e}")))?;
        write_private(path.as_ref(), &Zeroizing::new(text))
    }

    /// Replaces `accessToken` in the file at `path`, keeping its other fields as they are.
    pub fn update_access_token(path: impl AsRef<Path>, token: &str) -> Result<(), ClientError> {
        let path = path.as_ref();
        Credentials::from_file(path)?;
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| ClientError::Credentials(format!("cannot read {}: {e}", path.display())))?,
        );
        let mut json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| ClientError::Credentials(format!("invalid credentials file: {e}")))?;
        json["accessToken"] = serde_json::Value::String(token.to_owned());
        let written = serde_json::to_string_pretty(&json)
            .map_err(|e| ClientError::Credentials(format!("cannot encode the credentials: {e}")));
        zeroize_strings(&mut json);
        write_private(path, &Zeroizing::new(written?))
    }
}

/// Zeroizes every string in `value` (a parsed credentials file holds the key and the token).
fn zeroize_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => text.zeroize(),
        serde_json::Value::Array(items) => items.iter_mut().for_each(zeroize_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(zeroize_strings),
        _ => {}
    }
}

/// Writes the JSON `text` and a newline to `path` with mode 0600: to a new file beside it, then
/// renamed over it, so that a reader never sees half a file and the key is never readable by
/// others.
fn write_private(path: &Path, text: &str) -> Result<(), ClientError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let failed =
        |e: std::io::Error| ClientError::Credentials(format!("cannot write {}: {e}", path.display()));
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let temp = path.with_file_name(name);
    let _ = std::fs::remove_file(&temp);
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp).map_err(failed)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    std::fs::rename(&temp, path).map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
        "url": "http://127.0.0.1:8080", "orgId": "or-1", "userId": "us-1", "username": "admin",
        "accessToken": "eyJ.secret.token", "appId": "ap-1", "origin": "http://localhost:8080",
        "credential": { "kind": "Key", "credId": "Y3JlZA", "algorithm": "ES256",
                        "privateKeyPem": "-----BEGIN PRIVATE KEY-----\nSECRETKEY\n-----END PRIVATE KEY-----\n" },
        "extra": 1
    }"#;

    #[test]
    fn parses_and_redacts_secrets() {
        let creds = Credentials::from_json(SAMPLE).unwrap();
        assert_eq!(creds.url, "http://127.0.0.1:8080");
        assert_eq!(creds.credential.algorithm, "ES256");
        assert_eq!(creds.access_token.expose(), "eyJ.secret.token");
        let debug = format!("{creds:?}");
        assert!(!debug.contains("SECRETKEY"), "{debug}");
        assert!(!debug.contains("secret.token"), "{debug}");
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn writes_private_files_and_updates_only_the_token() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("creds.json");
        std::fs::write(&path, SAMPLE).unwrap();
        Credentials::update_access_token(&path, "new.token").unwrap();
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(json["accessToken"], "new.token");
        assert_eq!(json["extra"], 1, "other fields stay");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let mut creds = Credentials::from_file(&path).unwrap();
        assert_eq!(
            creds.credential.private_key_pem.expose(),
            Credentials::from_json(SAMPLE).unwrap().credential.private_key_pem.expose()
        );
        creds.username = "other".into();
        let second = dir.path().join("second.json");
        creds.write_file(&second).unwrap();
        assert_eq!(Credentials::from_file(&second).unwrap(), creds);
        assert_eq!(std::fs::metadata(&second).unwrap().permissions().mode() & 0o777, 0o600);
        // A file that is not a credentials file is left alone.
        std::fs::write(&path, "{}").unwrap();
        assert!(Credentials::update_access_token(&path, "t").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
    }

    #[test]
    fn refuses_incomplete_files() {
        let err = Credentials::from_json(r#"{"url":"http://x"}"#).unwrap_err();
        assert!(matches!(err, ClientError::Credentials(_)));
        assert!(!err.to_string().contains('\n'));
    }
}
