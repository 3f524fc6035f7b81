//! Dev mode: bootstrap of an organisation with an admin user and a key credential, made through
//! the enclave as an operator and a client would, written to `DATA_DIR/dev-credentials.json`;
//! and supervision of a local mock-NSM enclave process.
//!
//! Everything here is for a laptop or CI only: the parent generates the user's private key itself
//! and writes it to disk, which defeats the point of user-held credentials.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ed25519_dalek::pkcs8::{
    DecodePrivateKey as _, EncodePrivateKey as _, EncodePublicKey as _, KeypairBytes,
    spki::der::pem::LineEnding,
};
use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use signer_common::api::auth::KeyAttestation;
use signer_common::encoding::to_b64url;
use signer_common::identity::{CredentialKind, Record, UserVerification};
use signer_common::protocol::{NewCredential, Register, RegistrationInit, Request, Response};
use signer_common::userauth::CredentialPublicKey;
use tokio::process::{Child, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::userauth::app_body;
use crate::api::{AppState, now_rfc3339};
use crate::auth::{DEV_TOKEN_LIFETIME, write_private_file};
use crate::error::ApiError;
use crate::org::{CreatedOrg, NewOrg, create_org};
use crate::store::Store;

/// The credentials file written by dev mode.
pub const CREDENTIALS_FILE: &str = "dev-credentials.json";

/// The dev admin's username.
pub const DEV_USERNAME: &str = "admin@dev.local";

/// The enclave's socket inside the data directory.
pub const ENCLAVE_SOCKET: &str = "enclave.sock";

/// The enclave's pid file inside the data directory.
pub const ENCLAVE_PID_FILE: &str = "enclave.pid";

/// The enclave's state directory inside the data directory.
pub const ENCLAVE_STATE_DIR: &str = "enclave";

/// The expected PCRs of the dev enclave, inside the data directory.
pub const PCRS_FILE: &str = "pcrs.json";

/// A dev-mode failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DevError(pub String);

impl DevError {
    fn new(context: &str, e: impl std::fmt::Display) -> Self {
        DevError(format!("{context}: {e}"))
    }
}

/// `dev-credentials.json` (see API.md: these fields are fixed, more may be added).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevCredentials {
    /// `http://<listen addr>`.
    pub url: String,
    /// The dev organisation.
    pub org_id: String,
    /// The admin user.
    pub user_id: String,
    /// The admin's username.
    pub username: String,
    /// A fresh access token (one year).
    pub access_token: String,
    /// The default application.
    pub app_id: String,
    /// The default application's expected origin, `http://localhost:<port>`.
    pub origin: String,
    /// The admin's key credential.
    pub credential: DevKeyCredential,
}

impl std::fmt::Debug for DevCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevCredentials")
            .field("url", &self.url)
            .field("org_id", &self.org_id)
            .field("user_id", &self.user_id)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// The `credential` of [`DevCredentials`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DevKeyCredential {
    /// `Key`.
    pub kind: String,
    /// base64url of 16 random bytes.
    pub cred_id: String,
    /// `EdDSA`.
    pub algorithm: String,
    /// PKCS#8 PEM of the Ed25519 private key, RFC 5208 (v1) form (without the public key), which
    /// OpenSSL, Python `cryptography` and Node load.
    pub private_key_pem: String,
}

impl std::fmt::Debug for DevKeyCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of logs.
        f.debug_struct("DevKeyCredential")
            .field("kind", &self.kind)
            .field("cred_id", &self.cred_id)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The key as PKCS#8 v1 PEM (RFC 5208: version 0, no public key). `to_pkcs8_pem` of the key itself
/// writes v2 (RFC 5958, with the public key), which OpenSSL 3 and Python `cryptography` refuse for
/// Ed25519.
fn pkcs8_v1_pem(key: &SigningKey) -> Result<String, DevError> {
    let bytes = KeypairBytes { secret_key: key.to_bytes(), public_key: None };
    let pem = bytes.to_pkcs8_pem(LineEnding::LF).map_err(|e| DevError::new("PKCS#8 encoding", e))?;
    Ok(pem.as_str().to_owned())
}

fn random_bytes<const N: usize>() -> Result<[u8; N], DevError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| DevError::new("random number generator", e))?;
    Ok(bytes)
}

/// A new Ed25519 key and the `credentialInfo` of its registration over `challenge`, as a client
/// makes it (API.md, "Registration and login", Key): client data `key.create`, attestation data
/// the JSON `{ publicKey: PEM SPKI, signature: base64url }`.
fn new_key_registration(
    challenge: &str,
    origin: &str,
) -> Result<(NewCredential, DevKeyCredential), DevError> {
    let mut seed = random_bytes::<32>()?;
    let key = SigningKey::from_bytes(&seed);
    seed.fill(0);
    let cred_id = random_bytes::<16>()?;
    // 1. The client data, whose exact bytes are signed.
    let client_data = serde_json::to_vec(&serde_json::json!({
        "type": "key.create",
        "challenge": challenge,
        "origin": origin,
    }))
    .map_err(|e| DevError::new("client data", e))?;
    // 2. The signature over them, and the public key as PEM SubjectPublicKeyInfo.
    let signature = key.sign(&client_data);
    let public_key = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| DevError::new("public key PEM", e))?;
    let attestation = KeyAttestation { public_key, signature: to_b64url(&signature.to_bytes()) };
    let attestation_data =
        serde_json::to_vec(&attestation).map_err(|e| DevError::new("attestation data", e))?;
    let credential = NewCredential {
        kind: CredentialKind::Key,
        cred_id: ByteBuf::from(cred_id.to_vec()),
        client_data: ByteBuf::from(client_data),
        attestation_data: ByteBuf::from(attestation_data),
        name: "dev key".to_owned(),
    };
    let entry = DevKeyCredential {
        kind: "Key".to_owned(),
        cred_id: to_b64url(&cred_id),
        algorithm: "EdDSA".to_owned(),
        private_key_pem: pkcs8_v1_pem(&key)?,
    };
    Ok((credential, entry))
}

/// The credential in an existing credentials file, if it is still a stored credential of
/// `user_id` and its private key matches the stored public key; its key is rewritten in the v1
/// form (files written before held v2).
async fn reusable_credential(store: &dyn Store, path: &Path, user_id: &str) -> Option<DevKeyCredential> {
    let text = std::fs::read_to_string(path).ok()?;
    let old: DevCredentials = serde_json::from_str(&text).ok()?;
    let mut entry = old.credential;
    let cred_id = signer_common::encoding::from_b64(&entry.cred_id).ok()?;
    let stored = store.get_credential(&cred_id).await.ok()??;
    let Ok(Record::Credential(stored)) = stored.record.decode_unverified() else { return None };
    let key = SigningKey::from_pkcs8_pem(&entry.private_key_pem).ok()?;
    let CredentialPublicKey::Ed25519(public) = &stored.public_key else { return None };
    if stored.user_id != user_id || public.as_slice() != key.verifying_key().to_bytes() {
        return None;
    }
    entry.private_key_pem = pkcs8_v1_pem(&key).ok()?;
    Some(entry)
}

/// Waits until the enclave answers that it is ready (at most `limit`).
pub async fn wait_ready(state: &AppState, limit: Duration) -> Result<(), DevError> {
    let deadline = Instant::now() + limit;
    loop {
        // The client itself, not `enclave_call`: a child still starting is not worth a warning
        // (or a metric) every 50 ms.
        if let Ok(Response::Pong(pong)) = state.enclave.call(Request::Ping).await
            && pong.ready
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(DevError("the dev enclave did not become ready".into()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Registers the dev admin through the enclave as a client would: `RegistrationInit` with the
/// organisation's code, then `Register` with a new Ed25519 Key credential; stores the records.
async fn register_admin(state: &AppState, org: &CreatedOrg) -> Result<(String, DevKeyCredential), DevError> {
    let api = |context: &'static str| move |e: ApiError| DevError::new(context, e);
    let app = app_body(&org.app).map_err(api("application"))?;
    let init = RegistrationInit {
        app: org.app.clone(),
        org_id: org.org.id.clone(),
        username: DEV_USERNAME.to_owned(),
        registration_code: org.created.registration_code.clone(),
    };
    let challenge =
        match state.enclave_call(Request::RegistrationInit(init)).await.map_err(api("registration init"))? {
            Response::RegistrationChallenge(c) => c,
            _ => return Err(DevError("the enclave answered another thing to RegistrationInit".into())),
        };
    let (credential, entry) = new_key_registration(&challenge.challenge, &app.origin)?;
    let register = Register { app: org.app.clone(), temporary_token: challenge.temporary_token, credential };
    let registered =
        match state.enclave_call(Request::Register(register)).await.map_err(api("registration"))? {
            Response::Registered(r) => r,
            _ => return Err(DevError("the enclave answered another thing to Register".into())),
        };
    let user_id = match registered.user.decode_unverified() {
        Ok(Record::User(u)) => u.user_id,
        _ => return Err(DevError("the enclave answered a user record that does not decode".into())),
    };
    state
        .store
        .insert_user(registered.user, registered.credential, now_rfc3339())
        .await
        .map_err(|e| DevError::new("store", e))?;
    Ok((user_id, entry))
}

/// Writes `data_dir/pcrs.json`: the PCRs the mock NSM will report for the enclave executable
/// `enclave_bin` (`{ "0": hex, "1": hex, "2": hex }`), for `--pcrs` of the client. Public, so
/// mode 0644.
pub fn write_pcrs(data_dir: &Path, enclave_bin: &Path) -> Result<(), DevError> {
    let image =
        std::fs::read(enclave_bin).map_err(|e| DevError::new(&enclave_bin.display().to_string(), e))?;
    let pcrs = signer_common::mock_pcrs::mock_pcrs_json(&image);
    let mut json = serde_json::to_vec_pretty(&pcrs).map_err(|e| DevError::new("pcrs JSON", e))?;
    json.push(b'\n');
    let path = data_dir.join(PCRS_FILE);
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &json)
        .and_then(|()| {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))
        })
        .and_then(|()| std::fs::rename(&tmp, &path))
        .map_err(|e| DevError::new(&path.display().to_string(), e))
}

/// Makes sure the store holds a dev organisation with its default application and an admin
/// with a Key credential, all made through the (running) enclave; writes
/// `data_dir/dev-credentials.json` (mode 0600) with a fresh access token. On a restart the
/// identity is kept (the dev master key persists, so its records stay valid), and the
/// application keeps the origin it was created with (a notarized record; Key credentials name
/// it in their client data whatever port the parent listens on).
pub async fn bootstrap(
    state: &AppState,
    data_dir: &Path,
    listen: SocketAddr,
) -> Result<DevCredentials, DevError> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let store = state.store.as_ref();
    let store_err = |e| DevError::new("store", e);

    let (org_id, user_id, app, credential) = match store.first_org().await.map_err(store_err)? {
        None => {
            let new = NewOrg {
                name: "dev".to_owned(),
                admin_username: DEV_USERNAME.to_owned(),
                origin: format!("http://localhost:{}", listen.port()),
                rp_id: "localhost".to_owned(),
                user_verification: UserVerification::Preferred,
                code_ttl_secs: 600,
            };
            let org = create_org(state, new)
                .await
                .map_err(|e| DevError::new("creating the dev organisation", e))?;
            let (user_id, entry) = register_admin(state, &org).await?;
            tracing::info!(org_id = %org.org.id, user_id = %user_id, "bootstrapped the dev organisation");
            (org.org.id, user_id, org.app, entry)
        }
        Some(org) => {
            let stale = || {
                DevError(format!(
                    "the data directory's organisation has no {DEV_USERNAME} with the key of {CREDENTIALS_FILE}; \
                     use a fresh --data-dir"
                ))
            };
            let user = store.find_user(&org.id, DEV_USERNAME).await.map_err(store_err)?.ok_or_else(stale)?;
            let Ok(Record::User(user)) = user.decode_unverified() else { return Err(stale()) };
            let app = store.get_app(&org.id, None).await.map_err(store_err)?.ok_or_else(stale)?;
            let entry = reusable_credential(store, &path, &user.user_id).await.ok_or_else(stale)?;
            (org.id, user.user_id, app, entry)
        }
    };
    let app = app_body(&app).map_err(|e| DevError::new("application", e))?;
    let access_token = state
        .tokens
        .issue(&user_id, &org_id, DEV_TOKEN_LIFETIME)
        .map_err(|e| DevError::new("access token", e))?;
    let credentials = DevCredentials {
        url: format!("http://{listen}"),
        org_id,
        user_id,
        username: DEV_USERNAME.to_owned(),
        access_token,
        app_id: app.app_id,
        origin: app.origin,
        credential,
    };
    let json = serde_json::to_vec_pretty(&credentials).map_err(|e| DevError::new("credentials JSON", e))?;
    write_private_file(&path, &json).map_err(|e| DevError::new(&path.display().to_string(), e))?;
    Ok(credentials)
}

/// The arguments the dev enclave is started with.
pub fn enclave_args(data_dir: &Path) -> Vec<std::ffi::OsString> {
    let socket = data_dir.join(ENCLAVE_SOCKET);
    let state = data_dir.join(ENCLAVE_STATE_DIR);
    let mut listen = std::ffi::OsString::from("unix:");
    listen.push(socket.as_os_str());
    vec![
        "--listen".into(),
        listen,
        "--nsm".into(),
        "mock".into(),
        "--state-dir".into(),
        state.into_os_string(),
        "--dev-master-key".into(),
        "--exit-with-stdin".into(),
    ]
}

/// Runs the enclave binary as a child and restarts it when it exits.
#[derive(Debug)]
pub struct Supervisor {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// How long the child may take to exit after its stdin is closed before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(3);

/// First and largest restart delay.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));

impl Supervisor {
    /// Starts `bin` with [`enclave_args`] and supervises it. The child's stdin is a pipe held by
    /// the parent (the enclave exits when it closes, so it dies with the parent even on SIGKILL);
    /// its stderr and stdout are inherited. Its pid is written to `data_dir/enclave.pid`.
    pub fn start(bin: PathBuf, data_dir: PathBuf) -> Supervisor {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(supervise(bin, data_dir, stopped));
        Supervisor { stop, task }
    }

    /// Stops the child (closes its stdin, then kills it if it lingers) and the supervision.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "enclave supervisor task failed");
        }
    }
}

fn spawn_child(bin: &Path, data_dir: &Path) -> std::io::Result<Child> {
    Command::new(bin)
        .args(enclave_args(data_dir))
        .stdin(Stdio::piped())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
}

/// Resolves when a stop is requested (or the supervisor handle is gone).
async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

async fn supervise(bin: PathBuf, data_dir: PathBuf, mut stopped: watch::Receiver<bool>) {
    let pid_file = data_dir.join(ENCLAVE_PID_FILE);
    let mut backoff = BACKOFF.0;
    loop {
        match spawn_child(&bin, &data_dir) {
            Ok(mut child) => {
                let pid = child.id().unwrap_or(0);
                if let Err(e) = std::fs::write(&pid_file, format!("{pid}\n")) {
                    tracing::warn!(error = %e, "cannot write {}", pid_file.display());
                }
                tracing::info!(pid, bin = %bin.display(), "enclave started");
                let started = Instant::now();
                // Held, not used: the enclave exits when this pipe closes.
                let stdin = child.stdin.take();
                tokio::select! {
                    status = child.wait() => {
                        match status {
                            Ok(status) => tracing::warn!(pid, %status, "enclave exited; restarting"),
                            Err(e) => tracing::warn!(pid, error = %e, "waiting for the enclave failed; restarting"),
                        }
                        drop(stdin);
                        if started.elapsed() > Duration::from_secs(30) {
                            backoff = BACKOFF.0;
                        }
                    }
                    _ = stop_requested(&mut stopped) => {
                        drop(stdin);
                        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
                            tracing::warn!(pid, "enclave did not exit when its stdin closed; killing it");
                            let _ = child.kill().await;
                        }
                        let _ = std::fs::remove_file(&pid_file);
                        tracing::info!(pid, "enclave stopped");
                        return;
                    }
                }
            }
            Err(e) => tracing::error!(bin = %bin.display(), error = %e, "cannot start the enclave"),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop_requested(&mut stopped) => {
                let _ = std::fs::remove_file(&pid_file);
                return;
            }
        }
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `program args` on the PEM in a file; `None` (with a printed notice) when the program
    /// is not installed.
    fn load_with(program: &str, args: &[&str], pem: &str) -> Option<std::process::Output> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key.pem");
        std::fs::write(&file, pem).unwrap();
        let args: Vec<String> = args.iter().map(|a| a.replace("FILE", file.to_str().unwrap())).collect();
        match std::process::Command::new(program).args(&args).output() {
            Ok(output) => Some(output),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("NOTICE: {program} not on PATH; skipping that check");
                None
            }
            Err(e) => panic!("{program}: {e}"),
        }
    }

    #[test]
    fn the_dev_key_is_pkcs8_v1_which_openssl_and_python_load() {
        let (registration, entry) = new_key_registration("Y2hhbGxlbmdl", "http://localhost:1").unwrap();
        let pem = &entry.private_key_pem;
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = signer_common::encoding::from_b64(&body).unwrap();
        // SEQUENCE { INTEGER 0 (v1), AlgorithmIdentifier Ed25519, OCTET STRING { OCTET STRING seed } }.
        assert_eq!(der.len(), 48);
        assert_eq!(
            der[..16],
            [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]
        );
        let key = SigningKey::from_pkcs8_pem(pem).unwrap();
        // The registration is the client's: key.create client data over the challenge, signed by
        // this key, whose public key is the attestation's PEM.
        use ed25519_dalek::pkcs8::DecodePublicKey as _;
        let data: serde_json::Value = serde_json::from_slice(&registration.client_data).unwrap();
        assert_eq!(
            data,
            serde_json::json!({ "type": "key.create", "challenge": "Y2hhbGxlbmdl", "origin": "http://localhost:1" })
        );
        let attestation: KeyAttestation = serde_json::from_slice(&registration.attestation_data).unwrap();
        let public = ed25519_dalek::VerifyingKey::from_public_key_pem(&attestation.public_key).unwrap();
        assert_eq!(public, key.verifying_key());
        let signature = signer_common::encoding::from_b64(&attestation.signature).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&signature).unwrap();
        public.verify_strict(&registration.client_data, &signature).unwrap();
        assert_eq!(signer_common::encoding::to_b64url(&registration.cred_id), entry.cred_id);

        if let Some(out) = load_with("openssl", &["pkey", "-in", "FILE", "-noout"], pem) {
            assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
        }
        let python = "import sys\ntry:\n from cryptography.hazmat.primitives.serialization import load_pem_private_key\nexcept ImportError:\n print('NOTICE: python cryptography not importable; skipping that check'); sys.exit(0)\nk = load_pem_private_key(open(sys.argv[1], 'rb').read(), None)\nprint(type(k).__name__)\n";
        if let Some(out) = load_with("python3", &["-c", python, "FILE"], pem) {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
            assert!(stdout.contains("Ed25519PrivateKey") || stdout.contains("NOTICE"), "{stdout}");
            eprint!("{stdout}");
        }
    }

    #[test]
    fn pcrs_file_is_public_and_holds_the_mock_pcrs_of_the_binary() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("enclave-bin");
        std::fs::write(&bin, b"an enclave image").unwrap();
        write_pcrs(dir.path(), &bin).unwrap();
        let path = dir.path().join(PCRS_FILE);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o644);
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let pcrs = signer_common::mock_pcrs::mock_pcrs(b"an enclave image");
        for (i, value) in pcrs.iter().enumerate() {
            assert_eq!(json[i.to_string()], hex::encode(value));
        }
        assert_eq!(json.as_object().unwrap().len(), 3);
        assert!(write_pcrs(dir.path(), &dir.path().join("missing")).is_err());
    }

    #[test]
    fn enclave_arguments_are_exact() {
        let args: Vec<String> =
            enclave_args(Path::new("/d")).into_iter().map(|a| a.into_string().unwrap()).collect();
        assert_eq!(
            args,
            [
                "--listen",
                "unix:/d/enclave.sock",
                "--nsm",
                "mock",
                "--state-dir",
                "/d/enclave",
                "--dev-master-key",
                "--exit-with-stdin"
            ]
        );
    }

    #[tokio::test]
    async fn supervisor_restarts_the_child_and_stops_it() {
        // A stand-in enclave: a shell script that records each start and exits when stdin closes,
        // or right away on its first start.
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("fake-enclave");
        let log = dir.path().join("starts");
        std::fs::write(
            &bin,
            format!(
                "#!/bin/sh\necho \"$@\" >> {log}\nif [ $(wc -l < {log}) -eq 1 ]; then exit 3; fi\ncat > /dev/null\n",
                log = log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let supervisor = Supervisor::start(bin, dir.path().to_path_buf());
        let pid_file = dir.path().join(ENCLAVE_PID_FILE);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::read_to_string(&log).map(|s| s.lines().count()).unwrap_or(0) < 2 {
            assert!(Instant::now() < deadline, "the child was not restarted");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let starts = std::fs::read_to_string(&log).unwrap();
        assert!(starts.lines().all(|l| l.ends_with("--dev-master-key --exit-with-stdin")), "{starts}");
        // Wait for the pid file of the second start.
        let pid = loop {
            let pid = std::fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse::<u32>().ok());
            if let Some(pid) = pid
                && Path::new(&format!("/proc/{pid}")).exists()
            {
                break pid;
            }
            assert!(Instant::now() < deadline, "no pid file");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let started = Instant::now();
        supervisor.stop().await;
        assert!(started.elapsed() < STOP_GRACE, "the child exited when its stdin closed");
        assert!(!pid_file.exists());
        // The process is gone (reaped by the supervisor).
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}
