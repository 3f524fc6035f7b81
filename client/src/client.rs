//! The HTTP client for the parent's JSON API.
//!
//! Plain HTTP only for now: this build of `ureq` has no TLS, so an `https://` URL is refused
//! with [`ClientError::InvalidInput`]. Put a TLS-terminating proxy on loopback in front of a
//! remote parent, or wait for the TLS feature. Integrity does not depend on the transport:
//! every signing result carries a receipt and its evidence (an attestation document, or in
//! session mode a receipt-key signature and the id of a session document) that
//! [`crate::verify_signing_result`] or [`crate::verify_session_result`] checks end to end.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use signer_common::attestation::TrustedRoot;
use signer_common::encoding::{from_b64, from_hex_lenient, from_hex0x, to_hex0x};
use signer_common::protocol::{AttestationMode, Curve, MAX_MESSAGE_LEN, MAX_NONCE_LEN};
use signer_common::session::session_id;

use crate::credentials::{Credentials, Secret};
use crate::session::SessionCache;
use crate::verify::{ResultExpectations, VerifiedResult, VerifyResultError};

/// Timeout to establish a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout for a whole call (request, response and body).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest response body read (an attestation document is a few KiB).
const MAX_RESPONSE_LEN: u64 = 8 * 1024 * 1024;
/// Most pages that [`Client::list_wallets`] follows.
const MAX_PAGES: usize = 1000;
/// The header that asks for an attestation mode.
const ATTESTATION_HEADER: &str = "X-Attestation";

/// The name of an attestation mode in the API (`X-Attestation`, `attestationMode`): `fresh` or
/// `session`.
pub fn attestation_mode_name(mode: AttestationMode) -> &'static str {
    match mode {
        AttestationMode::Fresh => "fresh",
        AttestationMode::Session => "session",
    }
}

/// Parses `fresh` or `session` (any case), as [`attestation_mode_name`] writes them.
pub fn parse_attestation_mode(text: &str) -> Option<AttestationMode> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("fresh") {
        Some(AttestationMode::Fresh)
    } else if text.eq_ignore_ascii_case("session") {
        Some(AttestationMode::Session)
    } else {
        None
    }
}

/// Why a call to the parent failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The parent answered with an error status; `code` and `message` are from its JSON error
    /// body (`{ "error": { "code", "message" } }`), or made up when the body had another form.
    #[error("HTTP {status} {code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable snake_case error code.
        code: String,
        /// The human-readable reason.
        message: String,
    },
    /// The request did not complete: connection refused, timeout, malformed HTTP, ...
    #[error("transport error: {0}")]
    Transport(#[source] Box<ureq::Error>),
    /// The parent answered 2xx with a body this client cannot read.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// The credentials file could not be read or parsed.
    #[error("{0}")]
    Credentials(String),
    /// An argument is invalid (an oversized nonce, an unsupported URL scheme, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

impl From<ureq::Error> for ClientError {
    fn from(e: ureq::Error) -> Self {
        ClientError::Transport(Box::new(e))
    }
}

/// A wallet as the parent returns it. Unknown fields are kept in `extra`, so serialising a
/// `Wallet` gives back the parent's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wallet {
    /// The wallet id.
    pub id: String,
    /// `secp256k1` or `ed25519`.
    pub curve: String,
    /// `ECDSA` or `EdDSA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// `0x`-hex public key: SEC1 compressed for secp256k1, 32 bytes for Ed25519.
    pub public_key: String,
    /// Chain address, when the parent derives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// `Active`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Creation time (ISO 8601).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
    /// The wallet's name, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Base64url attestation document of the creation (`user_data` = SHA-256(receipt)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Base64url `WalletCreated` receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Any other fields, as the parent sent them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Wallet {
    /// The public key bytes.
    pub fn public_key_bytes(&self) -> Result<Vec<u8>, ClientError> {
        from_hex0x(&self.public_key).map_err(|_| ClientError::Decode("wallet publicKey is not 0x-hex".into()))
    }

    /// The curve, when it is one this client knows.
    pub fn curve(&self) -> Option<Curve> {
        self.curve.parse().ok()
    }

    /// The creation receipt's bytes, when the parent returned one.
    pub fn receipt_bytes(&self) -> Result<Option<Vec<u8>>, ClientError> {
        decode_optional_b64(self.receipt.as_deref(), "receipt")
    }

    /// The creation attestation document's bytes, when the parent returned one.
    pub fn attestation_bytes(&self) -> Result<Option<Vec<u8>>, ClientError> {
        decode_optional_b64(self.attestation.as_deref(), "attestation")
    }
}

/// One page of `GET /wallets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WalletList {
    /// The wallets on this page.
    pub items: Vec<Wallet>,
    /// Pass as `paginationToken` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// The parts of a signature as the parent returns them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureParts {
    /// `0x`-hex `r` (ECDSA) or `R` (Ed25519).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<String>,
    /// `0x`-hex `s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
    /// The ECDSA recovery id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recid: Option<u8>,
    /// `0x`-hex chain-ready signature: `r || s || v` (65 bytes) or Ed25519 (64 bytes).
    pub encoded: String,
}

/// The answer to `POST /wallets/{id}/signatures`. Unknown fields are kept in `extra`.
///
/// Its evidence is one of two forms ([`SignatureResult::evidence`]): in fresh mode an
/// `attestation` document; in session mode a `receiptSignature` and the `sessionId` of the
/// session document that attests the key which made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureResult {
    /// The signature request id.
    pub id: String,
    /// The wallet that signed.
    pub wallet_id: String,
    /// `Signed`.
    pub status: String,
    /// The signature.
    pub signature: SignatureParts,
    /// Base64url receipt.
    pub receipt: String,
    /// `fresh` or `session`; absent from parents that predate session mode (fresh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_mode: Option<String>,
    /// Fresh mode: base64url attestation document (`user_data` = SHA-256(receipt)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Session mode: base64url Ed25519 signature of the session receipt key over the receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_signature: Option<String>,
    /// Session mode: hex SHA-256 of the session document (an untrusted hint of which document to
    /// fetch: verification recomputes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Any other fields, as the parent sent them.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The evidence of a [`SignatureResult`], decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureEvidence {
    /// A fresh attestation document whose `user_data` is SHA-256 of the receipt.
    Fresh {
        /// The COSE_Sign1 document.
        attestation: Vec<u8>,
    },
    /// The receipt key's signature over the receipt, and the id of the session document that
    /// attests the key.
    Session {
        /// Ed25519 signature over `signed_message(receipt)`.
        receipt_signature: Vec<u8>,
        /// SHA-256 of the session document, as the parent claims it.
        session_id: [u8; 32],
    },
}

impl SignatureResult {
    /// The receipt's bytes.
    pub fn receipt_bytes(&self) -> Result<Vec<u8>, ClientError> {
        from_b64(&self.receipt).map_err(|_| ClientError::Decode("receipt is not base64url".into()))
    }

    /// The attestation mode of the answer: `attestationMode` when present, otherwise fresh (the
    /// form of parents that predate session mode).
    pub fn mode(&self) -> Result<AttestationMode, ClientError> {
        match &self.attestation_mode {
            None => Ok(AttestationMode::Fresh),
            Some(text) => parse_attestation_mode(text)
                .ok_or_else(|| ClientError::Decode(format!("unknown attestationMode {text:?}"))),
        }
    }

    /// The evidence, decoded: the form named by `attestationMode`, whose fields must be present.
    /// The fields of the other form must be absent.
    pub fn evidence(&self) -> Result<SignatureEvidence, ClientError> {
        match self.mode()? {
            AttestationMode::Fresh => {
                if self.receipt_signature.is_some() || self.session_id.is_some() {
                    return Err(ClientError::Decode("a fresh-mode answer with session fields".into()));
                }
                Ok(SignatureEvidence::Fresh { attestation: self.attestation_bytes()? })
            }
            AttestationMode::Session => {
                if self.attestation.is_some() {
                    return Err(ClientError::Decode("a session-mode answer with an attestation".into()));
                }
                Ok(SignatureEvidence::Session {
                    receipt_signature: self.receipt_signature_bytes()?,
                    session_id: self.session_id_bytes()?,
                })
            }
        }
    }

    /// The attestation document's bytes (fresh mode; an error in session mode).
    pub fn attestation_bytes(&self) -> Result<Vec<u8>, ClientError> {
        let text = self
            .attestation
            .as_deref()
            .ok_or_else(|| ClientError::Decode("the answer has no attestation (session mode?)".into()))?;
        from_b64(text).map_err(|_| ClientError::Decode("attestation is not base64url".into()))
    }

    /// The receipt key's signature (session mode; an error in fresh mode).
    pub fn receipt_signature_bytes(&self) -> Result<Vec<u8>, ClientError> {
        let text = self
            .receipt_signature
            .as_deref()
            .ok_or_else(|| ClientError::Decode("the answer has no receiptSignature".into()))?;
        from_b64(text).map_err(|_| ClientError::Decode("receiptSignature is not base64url".into()))
    }

    /// The session document id the parent names (session mode; an error in fresh mode).
    pub fn session_id_bytes(&self) -> Result<[u8; 32], ClientError> {
        let text = self
            .session_id
            .as_deref()
            .ok_or_else(|| ClientError::Decode("the answer has no sessionId".into()))?;
        parse_session_id(text).ok_or_else(|| ClientError::Decode("sessionId is not 32 bytes of hex".into()))
    }

    /// The chain-ready signature bytes (`signature.encoded`).
    pub fn encoded_bytes(&self) -> Result<Vec<u8>, ClientError> {
        from_hex0x(&self.signature.encoded)
            .map_err(|_| ClientError::Decode("signature.encoded is not 0x-hex".into()))
    }
}

/// A session document id: 32 bytes of hex, with or without `0x`.
pub fn parse_session_id(text: &str) -> Option<[u8; 32]> {
    from_hex_lenient(text).ok().and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
}

/// The answer to `GET /enclave/attestation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnclaveAttestation {
    /// The COSE_Sign1 attestation document.
    pub attestation: Vec<u8>,
    /// The PCRs the parent says the document carries (verify the document to trust them).
    pub pcrs: BTreeMap<u8, Vec<u8>>,
}

#[derive(Deserialize)]
struct RawEnclaveAttestation {
    attestation: String,
    #[serde(default)]
    pcrs: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawSessionDocument {
    id: String,
    attestation: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

/// A blocking client for the parent's HTTP API.
///
/// Every request carries `Authorization: Bearer <token>`, `X-App-Id` when an application is
/// set, and `X-Request-Nonce: <hex>` when the call takes a nonce. `Clone` shares the connection
/// pool; [`Client::with_own_agent`] makes one with its own pool.
#[derive(Clone)]
pub struct Client {
    base_url: String,
    token: Secret,
    app_id: Option<String>,
    agent: ureq::Agent,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

fn new_agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(CALL_TIMEOUT))
        .max_redirects(0)
        .user_agent(concat!("signer-client/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        IpLiteralResolver,
    )
}

/// ureq resolves the host on every call, pooled connection or not, and with a timeout set its
/// default resolver does so on a new thread each time. A URL naming an IP address needs no
/// lookup: this answers it at once and hands host names to the default resolver.
/// (Measured with `signer-load`: a thread spawned per request cost more CPU than the request.)
#[derive(Debug)]
struct IpLiteralResolver;

impl ureq::unversioned::resolver::Resolver for IpLiteralResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let literal = ip_literal(uri);
        match literal {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => ureq::unversioned::resolver::DefaultResolver::default().resolve(uri, config, timeout),
        }
    }
}

/// The socket address of a URL whose host is an IP address (port defaulted by the scheme, as
/// ureq's own resolver does); `None` for a host name.
fn ip_literal(uri: &ureq::http::Uri) -> Option<std::net::SocketAddr> {
    let host_and_port =
        ureq::unversioned::resolver::DefaultResolver::host_and_port(uri.scheme()?, uri.authority()?)?;
    host_and_port.parse().ok()
}

impl Client {
    /// A client for the parent at `url` (e.g. `http://127.0.0.1:8080`) with an API access token.
    /// Only `http://` URLs work for now (see the module docs); others fail at the first call.
    pub fn new(url: impl Into<String>, access_token: impl Into<String>) -> Client {
        let base_url = url.into().trim().trim_end_matches('/').to_owned();
        Client { base_url, token: Secret::new(access_token), app_id: None, agent: new_agent() }
    }

    /// A client from a `dev-credentials.json` file: its url, access token and application.
    pub fn from_credentials_file(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Ok(Client::from_credentials(&Credentials::from_file(path)?))
    }

    /// A client from parsed credentials.
    pub fn from_credentials(credentials: &Credentials) -> Client {
        Client::new(credentials.url.clone(), credentials.access_token.expose())
            .with_app_id(Some(credentials.app_id.clone()).filter(|a| !a.is_empty()))
    }

    /// The same client talking to another base URL.
    pub fn with_url(mut self, url: impl Into<String>) -> Client {
        self.base_url = url.into().trim().trim_end_matches('/').to_owned();
        self
    }

    /// Sets or clears the `X-App-Id` header.
    pub fn with_app_id(mut self, app_id: Option<String>) -> Client {
        self.app_id = app_id;
        self
    }

    /// The same settings with a connection pool of its own (one per thread in a load test).
    pub fn with_own_agent(&self) -> Client {
        Client { agent: new_agent(), ..self.clone() }
    }

    /// The base URL requests go to.
    pub fn url(&self) -> &str {
        &self.base_url
    }

    /// `POST /wallets`: creates a wallet. `nonce` (up to 64 bytes) goes into the attestation
    /// document of the creation receipt.
    pub fn create_wallet(
        &self,
        curve: Curve,
        name: Option<&str>,
        nonce: Option<&[u8]>,
    ) -> Result<Wallet, ClientError> {
        let mut body = serde_json::Map::new();
        body.insert("curve".into(), Value::String(curve.as_str().into()));
        if let Some(name) = name {
            body.insert("name".into(), Value::String(name.into()));
        }
        self.post_json("/wallets", &Value::Object(body), nonce)
    }

    /// `GET /wallets/{id}`.
    pub fn get_wallet(&self, id: &str) -> Result<Wallet, ClientError> {
        self.get_json(&format!("/wallets/{}", path_segment(id)?), &[], None)
    }

    /// `GET /wallets` once: one page of at most `limit` wallets after `pagination_token`.
    pub fn list_wallets_page(
        &self,
        limit: Option<u32>,
        pagination_token: Option<&str>,
    ) -> Result<WalletList, ClientError> {
        let mut query = Vec::new();
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(token) = pagination_token {
            query.push(("paginationToken", token.to_owned()));
        }
        self.get_json("/wallets", &query, None)
    }

    /// `GET /wallets`, following `nextPageToken` to the end (at most 1000 pages).
    pub fn list_wallets(&self) -> Result<Vec<Wallet>, ClientError> {
        let mut wallets = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.list_wallets_page(None, token.as_deref())?;
            wallets.extend(page.items);
            match page.next_page_token {
                Some(next) if !next.is_empty() && Some(&next) != token.as_ref() => {
                    token = Some(next);
                }
                _ => return Ok(wallets),
            }
        }
        Err(ClientError::Decode(format!("more than {MAX_PAGES} pages of wallets")))
    }

    /// `POST /wallets/{id}/signatures` with `kind: Hash`: signs a 32-byte digest, attested in
    /// fresh mode (see [`Client::sign_hash_with`]).
    pub fn sign_hash(
        &self,
        wallet_id: &str,
        hash: [u8; 32],
        nonce: Option<&[u8]>,
    ) -> Result<SignatureResult, ClientError> {
        self.sign_hash_with(wallet_id, hash, nonce, AttestationMode::Fresh)
    }

    /// `POST /wallets/{id}/signatures` with `kind: Hash`, attested as `mode` asks
    /// (`X-Attestation: session` for [`AttestationMode::Session`]). In session mode `nonce` goes
    /// into the receipt rather than a document.
    pub fn sign_hash_with(
        &self,
        wallet_id: &str,
        hash: [u8; 32],
        nonce: Option<&[u8]>,
        mode: AttestationMode,
    ) -> Result<SignatureResult, ClientError> {
        let body = serde_json::json!({ "kind": "Hash", "hash": to_hex0x(&hash) });
        self.post_signature(wallet_id, &body, nonce, mode)
    }

    /// `POST /wallets/{id}/signatures` with `kind: Message`: signs raw bytes (Ed25519), attested
    /// in fresh mode (see [`Client::sign_message_with`]).
    pub fn sign_message(
        &self,
        wallet_id: &str,
        message: &[u8],
        nonce: Option<&[u8]>,
    ) -> Result<SignatureResult, ClientError> {
        self.sign_message_with(wallet_id, message, nonce, AttestationMode::Fresh)
    }

    /// `POST /wallets/{id}/signatures` with `kind: Message`, attested as `mode` asks.
    pub fn sign_message_with(
        &self,
        wallet_id: &str,
        message: &[u8],
        nonce: Option<&[u8]>,
        mode: AttestationMode,
    ) -> Result<SignatureResult, ClientError> {
        if message.len() > MAX_MESSAGE_LEN {
            return Err(ClientError::InvalidInput(format!("message is longer than {MAX_MESSAGE_LEN} bytes")));
        }
        let body = serde_json::json!({ "kind": "Message", "message": to_hex0x(message) });
        self.post_signature(wallet_id, &body, nonce, mode)
    }

    fn post_signature(
        &self,
        wallet_id: &str,
        body: &Value,
        nonce: Option<&[u8]>,
        mode: AttestationMode,
    ) -> Result<SignatureResult, ClientError> {
        let path = format!("/wallets/{}/signatures", path_segment(wallet_id)?);
        // Fresh is the parent's default: a fresh request is sent without the header, as before.
        let headers: &[(&str, &str)] = match mode {
            AttestationMode::Fresh => &[],
            AttestationMode::Session => &[(ATTESTATION_HEADER, attestation_mode_name(mode))],
        };
        let payload = serde_json::to_vec(body)
            .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))?;
        let (status, answer) = self.call("POST", &path, &[], Some(&payload), nonce, headers)?;
        check_status(status, &answer)?;
        parse_json(&answer)
    }

    /// `GET /enclave/attestation/session[?id=<hex>]`: the session document with this id, or the
    /// current one. Answers `(id, document)` where `id` is SHA-256 of the document as computed
    /// here; the parent's own `id` must agree, and when an id was asked for, the document must
    /// hash to it. The document is not verified: see [`crate::SessionCache::verify_document`].
    pub fn session_document(&self, id: Option<[u8; 32]>) -> Result<([u8; 32], Vec<u8>), ClientError> {
        let query: Vec<(&str, String)> = id.iter().map(|id| ("id", hex::encode(id))).collect();
        let raw: RawSessionDocument = self.get_json("/enclave/attestation/session", &query, None)?;
        let document = from_b64(&raw.attestation)
            .map_err(|_| ClientError::Decode("session document attestation is not base64url".into()))?;
        let computed = session_id(&document);
        if let Some(asked) = id
            && asked != computed
        {
            return Err(ClientError::Decode(format!(
                "asked for session document {} but the parent answered one whose SHA-256 is {}",
                hex::encode(asked),
                hex::encode(computed)
            )));
        }
        if parse_session_id(&raw.id) != Some(computed) {
            return Err(ClientError::Decode(format!(
                "the parent's session document id {:?} is not the document's SHA-256 {}",
                raw.id,
                hex::encode(computed)
            )));
        }
        Ok((computed, document))
    }

    /// Verifies a signing result in either mode. Fresh: [`SignatureResult::verify`]. Session: the
    /// session document named by the result is taken from `cache` or else fetched from the
    /// parent (by id, checked against its SHA-256), then [`SignatureResult::verify_session`]
    /// verifies it (once per document while it stays in `cache`) and the result.
    pub fn verify_signature(
        &self,
        result: &SignatureResult,
        root: &TrustedRoot,
        at_unix_seconds: u64,
        expect: &ResultExpectations,
        cache: &SessionCache,
    ) -> Result<VerifiedResult, VerifyResultError> {
        let evidence = result.evidence().map_err(|e| VerifyResultError::Input(e.to_string()))?;
        match evidence {
            SignatureEvidence::Fresh { .. } => result.verify(root, at_unix_seconds, expect),
            SignatureEvidence::Session { session_id, .. } => {
                // The cache is keyed by the SHA-256 it computed, so its bytes are the named document.
                let document = match cache.document(&session_id) {
                    Some(document) => document,
                    None => {
                        let (_, document) = self
                            .session_document(Some(session_id))
                            .map_err(|e| VerifyResultError::SessionDocumentUnavailable(e.to_string()))?;
                        document.into()
                    }
                };
                result.verify_session(&document, root, at_unix_seconds, expect, cache)
            }
        }
    }

    /// `GET /enclave/attestation?nonce=<hex>`: a fresh attestation document and its PCRs.
    pub fn attestation(&self, nonce: Option<&[u8]>) -> Result<EnclaveAttestation, ClientError> {
        let mut query = Vec::new();
        if let Some(nonce) = nonce {
            check_nonce(nonce)?;
            query.push(("nonce", hex::encode(nonce)));
        }
        let raw: RawEnclaveAttestation = self.get_json("/enclave/attestation", &query, None)?;
        let attestation = from_b64(&raw.attestation)
            .map_err(|_| ClientError::Decode("attestation is not base64url".into()))?;
        let mut pcrs = BTreeMap::new();
        for (index, value) in raw.pcrs {
            let index: u8 =
                index.parse().map_err(|_| ClientError::Decode(format!("bad PCR index {index:?}")))?;
            let value = from_hex_lenient(&value)
                .map_err(|_| ClientError::Decode(format!("PCR {index} is not hex")))?;
            pcrs.insert(index, value);
        }
        Ok(EnclaveAttestation { attestation, pcrs })
    }

    /// `GET /enclave/root`: the PEM root certificate the enclave's documents chain to. Only
    /// trust it as far as you trust the parent: pin the root out of band in production.
    pub fn root_pem(&self) -> Result<String, ClientError> {
        let (status, body) = self.call("GET", "/enclave/root", &[], None, None, &[])?;
        check_status(status, &body)?;
        let text = String::from_utf8(body)
            .map_err(|_| ClientError::Decode("root certificate is not UTF-8".into()))?;
        // Either the PEM itself, or JSON carrying it.
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) {
            for key in ["pem", "root", "certificate"] {
                if let Some(Value::String(pem)) = map.get(key) {
                    return Ok(pem.clone());
                }
            }
            return Err(ClientError::Decode("root answer has no PEM".into()));
        }
        if text.contains("-----BEGIN CERTIFICATE-----") {
            Ok(text)
        } else {
            Err(ClientError::Decode("root answer is not a PEM certificate".into()))
        }
    }

    fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(&str, String)],
        nonce: Option<&[u8]>,
    ) -> Result<T, ClientError> {
        let (status, body) = self.call("GET", path, query, None, nonce, &[])?;
        check_status(status, &body)?;
        parse_json(&body)
    }

    fn post_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: &Value,
        nonce: Option<&[u8]>,
    ) -> Result<T, ClientError> {
        let payload = serde_json::to_vec(body)
            .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))?;
        let (status, body) = self.call("POST", path, &[], Some(&payload), nonce, &[])?;
        check_status(status, &body)?;
        parse_json(&body)
    }

    /// One request with these extra `headers`; answers the status and the body, whatever the
    /// status.
    fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&[u8]>,
        nonce: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), ClientError> {
        if !self.base_url.starts_with("http://") {
            return Err(ClientError::InvalidInput(format!(
                "only http:// URLs are supported by this build, not {:?}",
                self.base_url
            )));
        }
        let mut url = format!("{}{}", self.base_url, path);
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.push_str(&percent_encode(value));
        }
        let nonce_hex = match nonce {
            Some(nonce) => {
                check_nonce(nonce)?;
                Some(hex::encode(nonce))
            }
            None => None,
        };
        let auth = format!("Bearer {}", self.token.expose());
        let mut response = if method == "POST" {
            let mut request = self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Accept", "application/json")
                .header("Content-Type", "application/json");
            if let Some(app) = &self.app_id {
                request = request.header("X-App-Id", app);
            }
            if let Some(nonce) = &nonce_hex {
                request = request.header("X-Request-Nonce", nonce);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send(body.unwrap_or_default())?
        } else {
            let mut request =
                self.agent.get(&url).header("Authorization", &auth).header("Accept", "application/json");
            if let Some(app) = &self.app_id {
                request = request.header("X-App-Id", app);
            }
            if let Some(nonce) = &nonce_hex {
                request = request.header("X-Request-Nonce", nonce);
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call()?
        };
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(MAX_RESPONSE_LEN).read_to_vec()?;
        Ok((status, body))
    }
}

fn check_nonce(nonce: &[u8]) -> Result<(), ClientError> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
        return Err(ClientError::InvalidInput(format!(
            "a nonce must be 1 to {MAX_NONCE_LEN} bytes, not {}",
            nonce.len()
        )));
    }
    Ok(())
}

/// Maps a non-2xx answer to [`ClientError::Api`].
fn check_status(status: u16, body: &[u8]) -> Result<(), ClientError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { error }) => {
            Err(ClientError::Api { status, code: error.code, message: one_line(&error.message) })
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let mut message = one_line(text.trim());
            if message.len() > 200 {
                let mut cut = 200;
                while !message.is_char_boundary(cut) {
                    cut -= 1;
                }
                message.truncate(cut);
                message.push_str("...");
            }
            if message.is_empty() {
                message = "no error body".into();
            }
            Err(ClientError::Api { status, code: format!("http_{status}"), message })
        }
    }
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode(e.to_string()))
}

fn decode_optional_b64(text: Option<&str>, what: &str) -> Result<Option<Vec<u8>>, ClientError> {
    text.map(|t| from_b64(t).map_err(|_| ClientError::Decode(format!("{what} is not base64url")))).transpose()
}

/// Collapses white space runs (including newlines) to single spaces.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An id as one path segment; refuses empty ids and `.`/`..`, percent-encodes the rest.
fn path_segment(id: &str) -> Result<String, ClientError> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(ClientError::InvalidInput(format!("invalid id {id:?}")));
    }
    Ok(percent_encode(id))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literal_hosts_skip_the_resolver() {
        let addr = |url: &str| ip_literal(&url.parse().unwrap());
        assert_eq!(addr("http://127.0.0.1:8080/wallets"), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(addr("http://127.0.0.1/"), Some("127.0.0.1:80".parse().unwrap()));
        assert_eq!(addr("https://[::1]/x"), Some("[::1]:443".parse().unwrap()));
        assert_eq!(addr("http://localhost:8080/"), None, "host names go to ureq's resolver");
    }

    #[test]
    fn percent_encodes_ids() {
        assert_eq!(path_segment("wa-1_x.y~").unwrap(), "wa-1_x.y~");
        assert_eq!(path_segment("a/b?c").unwrap(), "a%2Fb%3Fc");
        assert!(path_segment("..").is_err());
        assert!(path_segment("").is_err());
    }

    #[test]
    fn maps_error_bodies() {
        let err =
            check_status(404, br#"{"error":{"code":"not_found","message":"no\nsuch wallet"}}"#).unwrap_err();
        match err {
            ClientError::Api { status, code, message } => {
                assert_eq!((status, code.as_str(), message.as_str()), (404, "not_found", "no such wallet"));
            }
            other => panic!("{other:?}"),
        }
        let err = check_status(502, b"<html>bad gateway</html>").unwrap_err();
        assert!(matches!(err, ClientError::Api { status: 502, ref code, .. } if code == "http_502"));
        assert!(check_status(201, b"").is_ok());
    }

    #[test]
    fn wallet_json_round_trips_with_unknown_fields() {
        let json = serde_json::json!({
            "id": "wa-1", "curve": "ed25519", "scheme": "EdDSA", "publicKey": "0x01",
            "status": "Active", "dateCreated": "2026-01-01T00:00:00Z", "attestation": "AA",
            "receipt": "AQ", "custom": { "x": 1 }
        });
        let wallet: Wallet = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(wallet.curve(), Some(Curve::Ed25519));
        assert_eq!(wallet.public_key_bytes().unwrap(), vec![1]);
        assert_eq!(wallet.receipt_bytes().unwrap(), Some(vec![1]));
        assert_eq!(serde_json::to_value(&wallet).unwrap(), json);
    }

    #[test]
    fn signature_results_in_both_forms() {
        let base = serde_json::json!({
            "id": "sig-1", "walletId": "wa-1", "status": "Signed", "receipt": "AQ",
            "signature": { "encoded": "0x01" },
        });
        let with = |fields: Value| {
            let mut json = base.clone();
            for (k, v) in fields.as_object().unwrap() {
                json[k] = v.clone();
            }
            serde_json::from_value::<SignatureResult>(json).unwrap()
        };
        // A parent that predates session mode: no attestationMode, fresh.
        let old = with(serde_json::json!({ "attestation": "Ag" }));
        assert_eq!(old.mode().unwrap(), AttestationMode::Fresh);
        assert_eq!(old.evidence().unwrap(), SignatureEvidence::Fresh { attestation: vec![2] });
        let fresh = with(serde_json::json!({ "attestationMode": "fresh", "attestation": "Ag" }));
        assert_eq!(fresh.evidence().unwrap(), SignatureEvidence::Fresh { attestation: vec![2] });
        let id = "ab".repeat(32);
        let session = with(
            serde_json::json!({ "attestationMode": "session", "receiptSignature": "Aw", "sessionId": id }),
        );
        assert_eq!(
            session.evidence().unwrap(),
            SignatureEvidence::Session { receipt_signature: vec![3], session_id: [0xab; 32] }
        );
        assert!(session.attestation_bytes().is_err());
        // Serialising gives back the parent's fields, and only those.
        let json = serde_json::to_value(&session).unwrap();
        assert_eq!(json["attestationMode"], "session");
        assert!(json.get("attestation").is_none());
        // Missing or mixed fields.
        for bad in [
            serde_json::json!({ "attestationMode": "session", "receiptSignature": "Aw" }),
            serde_json::json!({ "attestationMode": "session", "sessionId": "ab".repeat(32) }),
            serde_json::json!({ "attestationMode": "fresh" }),
            serde_json::json!({ "attestation": "Ag", "sessionId": "ab".repeat(32) }),
            serde_json::json!({ "attestationMode": "Hourly", "attestation": "Ag" }),
        ] {
            assert!(with(bad.clone()).evidence().is_err(), "{bad}");
        }
        assert_eq!(parse_attestation_mode(" Session "), Some(AttestationMode::Session));
        assert_eq!(parse_attestation_mode("fresh"), Some(AttestationMode::Fresh));
        assert_eq!(parse_attestation_mode("both"), None);
        for mode in [AttestationMode::Fresh, AttestationMode::Session] {
            assert_eq!(parse_attestation_mode(attestation_mode_name(mode)), Some(mode));
        }
    }

    #[test]
    fn refuses_https_and_bad_nonces_before_sending() {
        let client = Client::new("https://example.invalid/", "t");
        assert!(matches!(client.get_wallet("wa-1"), Err(ClientError::InvalidInput(_))));
        let client = Client::new("http://127.0.0.1:9/", "t");
        assert_eq!(client.url(), "http://127.0.0.1:9");
        let big = [0u8; MAX_NONCE_LEN + 1];
        assert!(matches!(
            client.create_wallet(Curve::Ed25519, None, Some(&big)),
            Err(ClientError::InvalidInput(_))
        ));
        assert!(!format!("{client:?}").contains("\"t\""));
    }
}
