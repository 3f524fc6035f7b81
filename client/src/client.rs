//! The HTTP client for the parent's JSON API: the calls. The transport is the private
//! `transport` module, the answers' types [`crate::api`], and what binds an answer to its
//! request [`crate::request`].
//!
//! Plain HTTP only for now: this build of `ureq` has no TLS, so an `https://` URL is refused
//! with [`ClientError::InvalidInput`]. Put a TLS-terminating proxy on loopback in front of a
//! remote parent, or wait for the TLS feature. Integrity does not depend on the transport:
//! every signing result carries a receipt and its evidence (an attestation document, or in
//! session mode a receipt-key signature and the id of a session document) that the SDK checks
//! end to end against what was asked ([`crate::request`]).
//!
//! State-changing calls carry the user's signature ([`crate::userauth`]): with a signer set
//! ([`Client::with_signer`], or [`Client::from_credentials`] with the file's Key credential), a
//! one-shot signature by default, or the three-call user action with [`AuthFlow::UserAction`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use signer_common::api::auth::{ActionInitRequest, SignedChallenge, USER_ACTION_HEADER, UserActionAnswer};
use signer_common::attestation::TrustedRoot;
use signer_common::encoding::{from_b64, from_hex_lenient, to_hex0x};
use signer_common::protocol::{AttestationMode, Curve, MAX_MESSAGE_LEN};
use signer_common::receipt::ReceiptKind;
use signer_common::session::session_id;

use crate::api::{
    AttestationAnswer, EnclaveAttestation, SessionDocumentAnswer, SignatureEvidence, Wallet, WalletList,
    attestation_mode_name, parse_session_id,
};
use crate::credentials::{Credentials, Secret};
use crate::error::{ClientError, VerifyResultError};
use crate::keys::KeySigner;
use crate::request::{CreatedWallet, SignRequest, SignedResult, WalletRequest};
use crate::session::SessionCache;
use crate::transport::{Http, check_nonce, check_status, new_agent, normalize_url, parse_json, path_segment};
use crate::userauth::{AuthFlow, UserActionSigner, fresh_one_shot_headers};
use crate::verify::{ImagePolicy, VerifiedResult, WalletKey};

/// Most pages that [`Client::list_wallets`] follows.
const MAX_PAGES: usize = 1000;
/// The header that asks for an attestation mode.
const ATTESTATION_HEADER: &str = "X-Attestation";
/// The length of the random nonce sent when the caller gives none.
pub const DEFAULT_NONCE_LEN: usize = 32;

/// A blocking client for the parent's HTTP API.
///
/// Every state-changing call sends a nonce (a fresh random 32 bytes unless the caller gives
/// one) and answers the parent's answer together with the request it was made for
/// ([`CreatedWallet`], [`SignedResult`]), so verification compares the enclave's receipt with
/// what was asked rather than with what the parent says.
///
/// With a signer, every state-changing call is signed as its [`AuthFlow`] says; without one it
/// is sent with the bearer token alone (which the parent refuses since user signatures).
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) http: Http,
    signer: Option<Arc<dyn UserActionSigner>>,
    flow: AuthFlow,
}

/// `nonce`, or a fresh random one.
fn nonce_or_fresh(nonce: Option<&[u8]>) -> Result<Vec<u8>, ClientError> {
    match nonce {
        Some(nonce) => {
            check_nonce(nonce)?;
            Ok(nonce.to_vec())
        }
        None => fresh_nonce(),
    }
}

/// A random 32-byte nonce from the operating system.
pub fn fresh_nonce() -> Result<Vec<u8>, ClientError> {
    let mut nonce = vec![0u8; DEFAULT_NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|e| ClientError::InvalidInput(format!("no randomness for a nonce: {e}")))?;
    Ok(nonce)
}

impl Client {
    /// A client for the parent at `url` (e.g. `http://127.0.0.1:8080`) with an API access token.
    /// Only `http://` URLs work for now (see the module docs); others fail at the first call.
    pub fn new(url: impl Into<String>, access_token: impl Into<String>) -> Client {
        Client {
            http: Http::new(url.into(), Secret::new(access_token)),
            signer: None,
            flow: AuthFlow::OneShot,
        }
    }

    /// A client from a `dev-credentials.json` file: its url, access token, application and Key
    /// credential.
    pub fn from_credentials_file(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Client::from_credentials(&Credentials::from_file(path)?)
    }

    /// A client from parsed credentials: their url, access token and application, signing with
    /// their Key credential.
    pub fn from_credentials(credentials: &Credentials) -> Result<Client, ClientError> {
        let signer = KeySigner::from_credentials(credentials)?;
        Ok(Client::new(credentials.url.clone(), credentials.access_token.expose())
            .with_app_id(Some(credentials.app_id.clone()).filter(|a| !a.is_empty()))
            .with_signer(Some(Arc::new(signer))))
    }

    /// Sets or clears the signer of state-changing calls.
    pub fn with_signer(mut self, signer: Option<Arc<dyn UserActionSigner>>) -> Client {
        self.signer = signer;
        self
    }

    /// Sets how state-changing calls are signed (one-shot by default).
    pub fn with_auth_flow(mut self, flow: AuthFlow) -> Client {
        self.flow = flow;
        self
    }

    /// The same client with another access token.
    pub fn with_access_token(mut self, access_token: impl Into<String>) -> Client {
        self.http.token = Secret::new(access_token);
        self
    }

    /// How state-changing calls are signed.
    pub fn auth_flow(&self) -> AuthFlow {
        self.flow
    }

    /// The signer of state-changing calls, if any.
    pub fn signer(&self) -> Option<&Arc<dyn UserActionSigner>> {
        self.signer.as_ref()
    }

    /// The three calls of a user action (API.md, "User action signing"): `POST
    /// /auth/action/init` for `method`, `path` (as on the request line, query included) and the
    /// exact `body`, `signer` signs the challenge, `POST /auth/action`. Answers the single-use
    /// `X-User-Action` token.
    pub fn user_action(
        &self,
        signer: &dyn UserActionSigner,
        method: &str,
        path: &str,
        body: &[u8],
    ) -> Result<String, ClientError> {
        let payload = String::from_utf8(body.to_vec())
            .map_err(|_| ClientError::InvalidInput("a user action's body must be UTF-8 text".into()))?;
        let init = ActionInitRequest {
            user_action_payload: payload,
            user_action_http_method: method.to_ascii_uppercase(),
            user_action_http_path: path.to_owned(),
        };
        let challenge: signer_common::api::auth::ChallengeAnswer =
            self.http.post_json("/auth/action/init", &to_value(&init)?, None)?;
        let signed = SignedChallenge {
            challenge_identifier: challenge.challenge_identifier,
            first_factor: signer.sign_challenge(&challenge.challenge)?,
        };
        let answer: UserActionAnswer = self.http.post_json("/auth/action", &to_value(&signed)?, None)?;
        Ok(answer.user_action)
    }

    /// One state-changing call with the exact `body` bytes, signed as the client's flow says
    /// (unsigned without a signer). Answers the status and the body, whatever the status.
    pub(crate) fn signed_call(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        nonce: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), ClientError> {
        let Some(signer) = &self.signer else {
            return self.http.call(method, path, &[], Some(body), nonce, headers);
        };
        let line_path = self.http.request_path(path);
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        match self.flow {
            AuthFlow::OneShot => {
                let pairs = fresh_one_shot_headers(signer.as_ref(), method, &line_path, body)?.pairs();
                all.extend(pairs.iter().map(|(name, value)| (*name, value.as_str())));
                self.http.call(method, path, &[], Some(body), nonce, &all)
            }
            AuthFlow::UserAction => {
                let token = self.user_action(signer.as_ref(), method, &line_path, body)?;
                all.push((USER_ACTION_HEADER, &token));
                self.http.call(method, path, &[], Some(body), nonce, &all)
            }
        }
    }

    /// [`Self::signed_call`] with a JSON body, serialized once, and a JSON answer.
    pub(crate) fn signed_json<T: for<'de> serde::Deserialize<'de>>(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        nonce: Option<&[u8]>,
    ) -> Result<T, ClientError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))?;
        let (status, answer) = self.signed_call(method, path, &bytes, nonce, &[])?;
        check_status(status, &answer)?;
        parse_json(&answer)
    }

    /// The same client talking to another base URL.
    pub fn with_url(mut self, url: impl Into<String>) -> Client {
        self.http.base_url = normalize_url(url.into());
        self
    }

    /// Sets or clears the `X-App-Id` header.
    pub fn with_app_id(mut self, app_id: Option<String>) -> Client {
        self.http.app_id = app_id;
        self
    }

    /// The same settings with a connection pool of its own (one per thread in a load test).
    pub fn with_own_agent(&self) -> Client {
        let mut client = self.clone();
        client.http.agent = new_agent();
        client
    }

    /// The base URL requests go to.
    pub fn url(&self) -> &str {
        &self.http.base_url
    }

    /// `POST /wallets`: creates a wallet. `nonce` (1 to 64 bytes; a fresh random 32 bytes when
    /// `None`) goes into the attestation document of the creation receipt. Verify the answer
    /// with [`CreatedWallet::verify`], which checks it against this request.
    pub fn create_wallet(
        &self,
        curve: Curve,
        name: Option<&str>,
        nonce: Option<&[u8]>,
    ) -> Result<CreatedWallet, ClientError> {
        let nonce = nonce_or_fresh(nonce)?;
        let mut body = serde_json::Map::new();
        body.insert("curve".into(), Value::String(curve.as_str().into()));
        if let Some(name) = name {
            body.insert("name".into(), Value::String(name.into()));
        }
        let wallet: Wallet = self.signed_json("POST", "/wallets", &Value::Object(body), Some(&nonce))?;
        let request = WalletRequest { curve, name: name.map(str::to_owned), nonce };
        Ok(CreatedWallet { wallet, request })
    }

    /// `GET /wallets/{id}`.
    pub fn get_wallet(&self, id: &str) -> Result<Wallet, ClientError> {
        self.http.get_json(&format!("/wallets/{}", path_segment(id)?), &[], None)
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
        self.http.get_json("/wallets", &query, None)
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
    ) -> Result<SignedResult, ClientError> {
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
    ) -> Result<SignedResult, ClientError> {
        let body = serde_json::json!({ "kind": "Hash", "hash": to_hex0x(&hash) });
        self.post_signature(wallet_id, &body, (ReceiptKind::Hash, hash.to_vec()), nonce, mode)
    }

    /// `POST /wallets/{id}/signatures` with `kind: Message`: signs raw bytes (Ed25519), attested
    /// in fresh mode (see [`Client::sign_message_with`]).
    pub fn sign_message(
        &self,
        wallet_id: &str,
        message: &[u8],
        nonce: Option<&[u8]>,
    ) -> Result<SignedResult, ClientError> {
        self.sign_message_with(wallet_id, message, nonce, AttestationMode::Fresh)
    }

    /// `POST /wallets/{id}/signatures` with `kind: Message`, attested as `mode` asks.
    pub fn sign_message_with(
        &self,
        wallet_id: &str,
        message: &[u8],
        nonce: Option<&[u8]>,
        mode: AttestationMode,
    ) -> Result<SignedResult, ClientError> {
        if message.len() > MAX_MESSAGE_LEN {
            return Err(ClientError::InvalidInput(format!("message is longer than {MAX_MESSAGE_LEN} bytes")));
        }
        let body = serde_json::json!({ "kind": "Message", "message": to_hex0x(message) });
        self.post_signature(wallet_id, &body, (ReceiptKind::Message, message.to_vec()), nonce, mode)
    }

    fn post_signature(
        &self,
        wallet_id: &str,
        body: &Value,
        (kind, payload): (ReceiptKind, Vec<u8>),
        nonce: Option<&[u8]>,
        mode: AttestationMode,
    ) -> Result<SignedResult, ClientError> {
        let nonce = nonce_or_fresh(nonce)?;
        let path = format!("/wallets/{}/signatures", path_segment(wallet_id)?);
        // Fresh is the parent's default: a fresh request is sent without the header, as before.
        let headers: &[(&str, &str)] = match mode {
            AttestationMode::Fresh => &[],
            AttestationMode::Session => &[(ATTESTATION_HEADER, attestation_mode_name(mode))],
        };
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))?;
        let (status, answer) = self.signed_call("POST", &path, &bytes, Some(&nonce), headers)?;
        check_status(status, &answer)?;
        let result = parse_json(&answer)?;
        let request = SignRequest { wallet_id: wallet_id.to_owned(), kind, payload, nonce, mode };
        Ok(SignedResult { result, request })
    }

    /// `GET /enclave/attestation/session[?id=<hex>]`: the session document with this id, or the
    /// current one. Answers `(id, document)` where `id` is SHA-256 of the document as computed
    /// here; the parent's own `id` must agree, and when an id was asked for, the document must
    /// hash to it. The document is not verified: see [`crate::SessionCache::verify_document`].
    pub fn session_document(&self, id: Option<[u8; 32]>) -> Result<([u8; 32], Vec<u8>), ClientError> {
        let query: Vec<(&str, String)> = id.iter().map(|id| ("id", hex::encode(id))).collect();
        let raw: SessionDocumentAnswer = self.http.get_json("/enclave/attestation/session", &query, None)?;
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

    /// Verifies a signing result in either mode against its request (wallet id, kind, payload,
    /// nonce), the expected enclave `image` and, when given, the wallet's verified `key`
    /// (curve and public key, e.g. from [`VerifiedResult::wallet_key`] of its creation).
    /// Fresh: [`SignedResult::verify`]. Session: the session document named by the result is
    /// taken from `cache` or else fetched from the parent (by id, checked against its SHA-256),
    /// then [`SignedResult::verify_session`] verifies it (once per document while it stays in
    /// `cache`) and the result.
    pub fn verify_signature(
        &self,
        signed: &SignedResult,
        root: &TrustedRoot,
        at_unix_seconds: u64,
        image: &ImagePolicy,
        key: Option<&WalletKey>,
        cache: &SessionCache,
    ) -> Result<VerifiedResult, VerifyResultError> {
        let evidence = signed.result.evidence_bytes().map_err(|e| VerifyResultError::Input(e.to_string()))?;
        match evidence {
            SignatureEvidence::Fresh { .. } => signed.verify(root, at_unix_seconds, image, key),
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
                signed.verify_session(&document, root, at_unix_seconds, image, key, cache)
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
        let raw: AttestationAnswer = self.http.get_json("/enclave/attestation", &query, None)?;
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
        let (status, body) = self.http.call("GET", "/enclave/root", &[], None, None, &[])?;
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
}

/// A request body as JSON.
pub(crate) fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, ClientError> {
    serde_json::to_value(value)
        .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use signer_common::protocol::MAX_NONCE_LEN;

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

    #[test]
    fn a_signing_client_shows_no_key_or_token_in_debug() {
        let signer = KeySigner::generate(crate::keys::KeyAlgorithm::Es256, "http://localhost").unwrap();
        let pem = signer.private_key_pem().unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let client = Client::new("http://127.0.0.1:9", "secret-token").with_signer(Some(Arc::new(signer)));
        let debug = format!("{client:?}");
        assert!(debug.contains("KeySigner"), "{debug}");
        assert!(!debug.contains(&body[..16]) && !debug.contains("secret-token"), "{debug}");
    }
}
