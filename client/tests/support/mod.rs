//! Test support: a mock NSM on signer-common's throwaway P-384 test PKI
//! (`signer_common::attestation::test_pki`, same shape as AWS's: root, intermediate, leaf), a mock
//! "enclave" that makes real receipts, signatures and COSE_Sign1 attestation documents, and a tiny
//! HTTP stub of the parent on loopback.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod auth;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::Signer as _;
use signer_common::api;
use signer_common::attestation::test_pki::{TestPki, TestPkiParams};
use signer_common::attestation::{AttestationDoc, DIGEST_SHA384, TrustedRoot};
use signer_common::encoding::{from_hex0x, to_b64url, to_hex0x};
use signer_common::protocol::Curve;
use signer_common::receipt::{Receipt, ReceiptKind};
use signer_common::session::{SESSION_DOCUMENT_USER_DATA, encode_receipt_key, session_id, signed_message};

/// Seconds since the epoch, now (every test certificate is valid from 2024 to 2100).
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The PCRs the mock enclave reports.
pub fn pcrs() -> BTreeMap<u8, Vec<u8>> {
    (0u8..3).map(|i| (i, vec![i + 1; 48])).collect()
}

/// A mock NSM: signs attestation documents with a leaf key chained to its own root.
pub struct MockNsm {
    pub pki: TestPki,
}

impl MockNsm {
    pub fn new() -> MockNsm {
        MockNsm { pki: TestPki::new(&TestPkiParams::new("mock", (2024, 1, 1), (2100, 1, 1))) }
    }

    pub fn root(&self) -> TrustedRoot {
        self.pki.root()
    }

    /// The root as a PEM file, `root.pem` in `dir`.
    pub fn root_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("root.pem");
        std::fs::write(&path, self.root().to_pem()).unwrap();
        path
    }

    /// A COSE_Sign1 ES384 document with these user_data and nonce.
    pub fn attest(&self, user_data: &[u8], nonce: Option<&[u8]>) -> Vec<u8> {
        self.pki.sign(&self.doc(Some(user_data), nonce, None))
    }

    /// The payload of a document of this NSM.
    pub fn doc(
        &self,
        user_data: Option<&[u8]>,
        nonce: Option<&[u8]>,
        public_key: Option<&[u8]>,
    ) -> AttestationDoc {
        AttestationDoc {
            module_id: "i-mock-enc0".into(),
            digest: DIGEST_SHA384.into(),
            timestamp: now() * 1000,
            pcrs: pcrs(),
            certificate: self.pki.leaf_der.clone(),
            cabundle: self.pki.cabundle(),
            public_key: public_key.map(<[u8]>::to_vec),
            user_data: user_data.map(<[u8]>::to_vec),
            nonce: nonce.map(<[u8]>::to_vec),
        }
    }

    /// A session document attesting `receipt_key`: `user_data` is the session marker,
    /// `public_key` the key as a COSE_Key.
    pub fn session_document(&self, receipt_key: &ed25519_dalek::SigningKey) -> Vec<u8> {
        let cose_key = encode_receipt_key(&receipt_key.verifying_key().to_bytes());
        self.pki.sign(&self.doc(Some(SESSION_DOCUMENT_USER_DATA), None, Some(&cose_key)))
    }

    /// Receipt bytes and the document that binds them.
    pub fn attest_receipt(&self, receipt: &Receipt, nonce: Option<&[u8]>) -> (Vec<u8>, Vec<u8>) {
        let bytes = receipt.to_cbor();
        let doc = self.attest(&Receipt::digest(&bytes), nonce);
        (bytes, doc)
    }
}

/// A receipt key of the mock enclave's session mode.
pub fn receipt_key(seed: u8) -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
}

/// The receipt key's signature over `receipt`, as the enclave makes it in session mode.
pub fn sign_receipt(receipt_key: &ed25519_dalek::SigningKey, receipt: &[u8]) -> Vec<u8> {
    receipt_key.sign(&signed_message(receipt)).to_bytes().to_vec()
}

/// A wallet key of the mock enclave.
pub enum WalletKey {
    Secp256k1(k256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl WalletKey {
    pub fn new(curve: Curve, seed: u8) -> WalletKey {
        match curve {
            Curve::Secp256k1 => {
                WalletKey::Secp256k1(k256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap())
            }
            Curve::Ed25519 => WalletKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[seed; 32])),
        }
    }

    pub fn curve(&self) -> Curve {
        match self {
            WalletKey::Secp256k1(_) => Curve::Secp256k1,
            WalletKey::Ed25519(_) => Curve::Ed25519,
        }
    }

    pub fn public_key(&self) -> Vec<u8> {
        match self {
            WalletKey::Secp256k1(k) => k.verifying_key().to_sec1_point(true).as_bytes().to_vec(),
            WalletKey::Ed25519(k) => k.verifying_key().to_bytes().to_vec(),
        }
    }

    /// `r || s || v` or the Ed25519 signature.
    pub fn sign(&self, payload: &[u8]) -> Vec<u8> {
        match self {
            WalletKey::Secp256k1(k) => {
                let (sig, recid) = k.sign_prehash_recoverable(payload);
                let mut out = sig.to_bytes().to_vec();
                out.push(recid.to_byte());
                out
            }
            WalletKey::Ed25519(k) => k.sign(payload).to_bytes().to_vec(),
        }
    }

    pub fn created_receipt(&self, wallet_id: &str) -> Receipt {
        Receipt {
            kind: ReceiptKind::WalletCreated,
            wallet_id: wallet_id.into(),
            curve: self.curve(),
            public_key: self.public_key(),
            payload_sha256: None,
            payload: None,
            signature: None,
            request_id: format!("wc-{wallet_id}"),
            nonce: None,
            time: now() * 1000,
        }
    }

    pub fn signed_receipt(&self, wallet_id: &str, kind: ReceiptKind, payload: &[u8]) -> Receipt {
        Receipt {
            kind,
            wallet_id: wallet_id.into(),
            curve: self.curve(),
            public_key: self.public_key(),
            payload_sha256: Some(Receipt::digest(payload)),
            payload: Some(payload.to_vec()),
            signature: Some(self.sign(payload)),
            request_id: format!("sig-{}", hex::encode(&Receipt::digest(payload)[..4])),
            nonce: None,
            time: now() * 1000,
        }
    }
}

/// One request the stub received.
#[derive(Debug, Clone)]
pub struct StubRequest {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl StubRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

/// How the stub parent misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    None,
    /// Reports another public key in the wallet JSON than the attested receipt's.
    WalletPublicKey,
    /// Signs a different hash than the one requested (with a valid receipt for it).
    SwapHash,
    /// Changes `signature.encoded` in the JSON.
    EncodedSignature,
    /// Session mode: names another session document in `sessionId` than the one whose key
    /// signed (one the stub also serves).
    SessionId,
    /// Session mode: signs receipts with a key that no session document attests.
    SessionSignature,
    /// Serves, for any session id asked for, a document that does not hash to it.
    SessionDocumentSwap,
    /// Creates the wallet on the other curve than asked (the JSON says so consistently).
    SwapCurve,
    /// Signs with another wallet than asked, the first one created (the JSON says so
    /// consistently).
    OtherWallet,
    /// Ignores the client's nonce: documents and receipts carry none.
    DropNonce,
    /// Signs with the other kind than asked (`Message` for `Hash` and back) over the same bytes
    /// (the JSON says so consistently).
    SwapKind,
    /// Answers a wallet's creation record (`POST /wallets`, `GET /wallets/{id}`) with an attested
    /// receipt of the wallet's key that is not a `WalletCreated` one (a `Hash` signature).
    NotWalletCreated,
    /// Answers `GET /wallets/{id}` with the first wallet's record, whatever the id.
    OtherWalletRecord,
    /// Answers `POST /auth/login` with 503 (the enclave unavailable).
    RefuseLogin,
}

/// The receipt of a wallet's creation record, or under [`Tamper::NotWalletCreated`] another
/// attested receipt of the same key.
fn creation_receipt(tamper: Tamper, key: &WalletKey, id: &str) -> Receipt {
    match tamper {
        Tamper::NotWalletCreated => key.signed_receipt(id, ReceiptKind::Hash, &[7; 32]),
        _ => key.created_receipt(id),
    }
}

/// A tiny HTTP/1.1 server on loopback standing in for the parent, backed by [`MockNsm`].
pub struct StubParent {
    pub url: String,
    pub nsm: Arc<MockNsm>,
    /// Users, credentials and the user signatures of the calls.
    pub auth: Arc<auth::AuthState>,
    pub requests: Arc<Mutex<Vec<StubRequest>>>,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

struct State {
    nsm: Arc<MockNsm>,
    auth: Arc<auth::AuthState>,
    wallets: Mutex<BTreeMap<String, WalletKey>>,
    counter: AtomicU64,
    tamper: Tamper,
    /// The current receipt key and its session document.
    receipt_key: ed25519_dalek::SigningKey,
    session_document: Vec<u8>,
    /// An older session document (another key) the stub also serves.
    old_session_document: Vec<u8>,
}

impl StubParent {
    pub fn start(tamper: Tamper) -> StubParent {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let nsm = Arc::new(MockNsm::new());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let receipt_key = receipt_key(0x5e);
        let auth = Arc::new(auth::AuthState::new());
        let state = Arc::new(State {
            auth: auth.clone(),
            session_document: nsm.session_document(&receipt_key),
            old_session_document: nsm.session_document(&self::receipt_key(0x5f)),
            receipt_key,
            nsm: nsm.clone(),
            wallets: Mutex::new(BTreeMap::new()),
            counter: AtomicU64::new(0),
            tamper,
        });
        let (log, flag) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (log, state) = (log.clone(), state.clone());
                std::thread::spawn(move || serve(stream, &log, &state));
            }
        });
        StubParent {
            url: format!("http://127.0.0.1:{port}"),
            nsm,
            auth,
            requests,
            stop,
            port,
            thread: Some(thread),
        }
    }

    pub fn requests(&self) -> Vec<StubRequest> {
        self.requests.lock().unwrap().clone()
    }

    /// The form of user signature each state-changing call that passed carried: (path,
    /// `one-shot` | `user-action` | `none`).
    pub fn signed_forms(&self) -> Vec<(String, &'static str)> {
        self.auth.forms.lock().unwrap().clone()
    }

    /// A credentials file pointing at this stub: the admin with an Ed25519 Key credential.
    pub fn credentials_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("dev-credentials.json");
        let json = serde_json::json!({
            "url": self.url, "orgId": auth::ORG_ID, "userId": "us-1", "username": "admin",
            "accessToken": "test-token", "appId": "ap-1", "origin": auth::ORIGIN,
            "credential": { "kind": "Key", "credId": auth::ADMIN_CRED_ID, "algorithm": "EdDSA",
                            "privateKeyPem": auth::admin_pem() }
        });
        std::fs::write(&path, json.to_string()).unwrap();
        path
    }

    /// The stub's root as a PEM file.
    pub fn root_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        self.nsm.root_file(dir)
    }
}

impl Drop for StubParent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, log: &Mutex<Vec<StubRequest>>, state: &State) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let request = StubRequest { method, path, headers, body };
        log.lock().unwrap().push(request.clone());
        let (status, content_type, body) = handle(&request, state);
        let reason = if status < 300 { "OK" } else { "Error" };
        let head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&body).is_err() {
            return;
        }
    }
}

fn error(status: u16, code: &str, message: &str) -> (u16, &'static str, Vec<u8>) {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, "application/json", body.to_string().into_bytes())
}

fn ok(value: serde_json::Value) -> (u16, &'static str, Vec<u8>) {
    (200, "application/json", value.to_string().into_bytes())
}

fn wallet_json(id: &str, key: &WalletKey, receipt: &[u8], doc: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "id": id, "curve": key.curve().as_str(), "scheme": key.curve().scheme(),
        "publicKey": to_hex0x(&key.public_key()), "status": "Active",
        "dateCreated": "2026-01-01T00:00:00Z",
        "attestation": to_b64url(doc), "receipt": to_b64url(receipt),
    })
}

fn handle(request: &StubRequest, state: &State) -> (u16, &'static str, Vec<u8>) {
    if state.tamper == Tamper::RefuseLogin && request.path == "/auth/login" {
        return error(503, "unavailable", "enclave unavailable");
    }
    if let Some(answer) = state.auth.unauthenticated(request) {
        return answer;
    }
    let Some(user) = state.auth.user_of(request.header("authorization")) else {
        return error(401, "unauthorized", "no or bad token");
    };
    if auth::AuthState::is_state_changing(request)
        && let Err(answer) = state.auth.check_signed(request, &user)
    {
        return answer;
    }
    if let Some(answer) = state.auth.authenticated(request, &user) {
        return answer;
    }
    let nonce = request
        .header("x-request-nonce")
        .map(|h| hex::decode(h).unwrap())
        .filter(|_| state.tamper != Tamper::DropNonce);
    let segments: Vec<&str> = request.path.split('?').next().unwrap().split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["", "enclave", "root"]) => {
            (200, "application/x-pem-file", state.nsm.root().to_pem().into_bytes())
        }
        ("POST", ["", "wallets"]) => {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            let mut curve: Curve = match body["curve"].as_str().unwrap_or_default().parse() {
                Ok(c) => c,
                Err(_) => return error(400, "bad_request", "unknown curve"),
            };
            if state.tamper == Tamper::SwapCurve {
                curve = match curve {
                    Curve::Ed25519 => Curve::Secp256k1,
                    Curve::Secp256k1 => Curve::Ed25519,
                };
            }
            let n = state.counter.fetch_add(1, Ordering::SeqCst);
            let id = format!("wa-{n}");
            let key = WalletKey::new(curve, 0x40 + u8::try_from(n % 64).unwrap());
            let (receipt, doc) =
                state.nsm.attest_receipt(&creation_receipt(state.tamper, &key, &id), nonce.as_deref());
            let mut json = wallet_json(&id, &key, &receipt, &doc);
            if let Some(name) = body["name"].as_str() {
                json["name"] = name.into();
            }
            if state.tamper == Tamper::WalletPublicKey {
                json["publicKey"] = to_hex0x(&WalletKey::new(curve, 1).public_key()).into();
            }
            state.wallets.lock().unwrap().insert(id, key);
            ok(json)
        }
        ("GET", ["", "wallets"]) => {
            let wallets = state.wallets.lock().unwrap();
            let items: Vec<_> = wallets
                .iter()
                .map(|(id, key)| {
                    let (receipt, doc) = state.nsm.attest_receipt(&key.created_receipt(id), None);
                    wallet_json(id, key, &receipt, &doc)
                })
                .collect();
            ok(serde_json::json!({ "items": items }))
        }
        ("GET", ["", "wallets", id]) => {
            let wallets = state.wallets.lock().unwrap();
            let found = match state.tamper {
                Tamper::OtherWalletRecord if wallets.contains_key(*id) => {
                    wallets.iter().next().map(|(id, key)| (id.as_str(), key))
                }
                _ => wallets.get(*id).map(|key| (*id, key)),
            };
            match found {
                Some((id, key)) => {
                    let (receipt, doc) =
                        state.nsm.attest_receipt(&creation_receipt(state.tamper, key, id), None);
                    ok(wallet_json(id, key, &receipt, &doc))
                }
                None => error(404, "not_found", "no such wallet"),
            }
        }
        ("POST", ["", "wallets", id, "signatures"]) => {
            let wallets = state.wallets.lock().unwrap();
            let Some(mut key) = wallets.get(*id) else {
                return error(404, "not_found", "no such wallet");
            };
            let mut id: &str = id;
            if state.tamper == Tamper::OtherWallet
                && let Some((first, first_key)) = wallets.iter().next()
            {
                id = first.as_str();
                key = first_key;
            }
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            let (kind, mut payload) = match body["kind"].as_str() {
                Some("Hash") => (ReceiptKind::Hash, from_hex0x(body["hash"].as_str().unwrap()).unwrap()),
                Some("Message") => {
                    (ReceiptKind::Message, from_hex0x(body["message"].as_str().unwrap()).unwrap())
                }
                _ => return error(400, "bad_request", "bad kind"),
            };
            if state.tamper == Tamper::SwapHash {
                payload = vec![0x5a; payload.len()];
            }
            let kind = match (state.tamper, kind) {
                (Tamper::SwapKind, ReceiptKind::Hash) => ReceiptKind::Message,
                (Tamper::SwapKind, _) => ReceiptKind::Hash,
                (_, kind) => kind,
            };
            let mut receipt = key.signed_receipt(id, kind, &payload);
            receipt.nonce = nonce.clone();
            let signature = receipt.signature.clone().unwrap();
            let session = request.header("x-attestation") == Some("session");
            let receipt_bytes = receipt.to_cbor();
            // The parent's own answer types, as the real parent writes them.
            let evidence = if session {
                let signer = match state.tamper {
                    Tamper::SessionSignature => self::receipt_key(0x60),
                    _ => state.receipt_key.clone(),
                };
                let claimed = match state.tamper {
                    Tamper::SessionId => session_id(&state.old_session_document),
                    _ => session_id(&state.session_document),
                };
                api::SignatureEvidence {
                    attestation_mode: "session".into(),
                    attestation: None,
                    receipt_signature: Some(to_b64url(&sign_receipt(&signer, &receipt_bytes))),
                    session_id: Some(hex::encode(claimed)),
                }
            } else {
                let doc = state.nsm.attest(&Receipt::digest(&receipt_bytes), nonce.as_deref());
                api::SignatureEvidence {
                    attestation_mode: "fresh".into(),
                    attestation: Some(to_b64url(&doc)),
                    receipt_signature: None,
                    session_id: None,
                }
            };
            let mut encoded = signature.clone();
            if state.tamper == Tamper::EncodedSignature {
                encoded[10] ^= 1;
            }
            let answer = api::Signature {
                id: receipt.request_id.clone(),
                wallet_id: id.to_owned(),
                kind: kind.as_str().to_owned(),
                status: "Signed".into(),
                signature: api::SignatureParts {
                    r: to_hex0x(&signature[..32]),
                    s: to_hex0x(&signature[32..64]),
                    recid: signature.get(64).copied(),
                    encoded: to_hex0x(&encoded),
                },
                receipt: to_b64url(&receipt_bytes),
                evidence,
                date_signed: "2026-01-01T00:00:00Z".into(),
            };
            ok(serde_json::to_value(answer).unwrap())
        }
        ("GET", ["", "enclave", "attestation", "session"]) => {
            let asked = request.path.split_once("?id=").map(|(_, h)| hex::decode(h).unwrap());
            let document = match asked {
                None => &state.session_document,
                Some(_) if state.tamper == Tamper::SessionDocumentSwap => &state.old_session_document,
                Some(id) if id == session_id(&state.session_document) => &state.session_document,
                Some(id) if id == session_id(&state.old_session_document) => &state.old_session_document,
                Some(_) => return error(404, "not_found", "no such session document"),
            };
            ok(
                serde_json::json!({ "id": hex::encode(session_id(document)), "attestation": to_b64url(document) }),
            )
        }
        ("GET", ["", "enclave", "attestation"]) => {
            let query_nonce = request.path.split_once("?nonce=").map(|(_, h)| hex::decode(h).unwrap());
            let doc = state.nsm.attest(&[0; 32], query_nonce.as_deref());
            let pcrs: serde_json::Map<String, serde_json::Value> =
                pcrs().iter().map(|(i, v)| (i.to_string(), hex::encode(v).into())).collect();
            ok(serde_json::json!({ "attestation": to_b64url(&doc), "pcrs": pcrs }))
        }
        _ => error(404, "not_found", "no such route"),
    }
}
