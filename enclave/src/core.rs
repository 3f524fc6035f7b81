//! The enclave's logic, without I/O: a request in, a response out.
//!
//! The socket loop in [`crate::server`] is a thin shell around [`EnclaveCore::handle`], so tests
//! drive every check here directly. This file dispatches; the operations live in
//! [`crate::ops`] and the user-authorisation checks in [`crate::auth`].

use std::sync::Arc;

use serde_bytes::ByteBuf;
use signer_common::identity::{RECORD_FORMAT, TokenBody, TokenPurpose};
use signer_common::protocol::{
    AttestRequest, Attestation, AttestationMode, Evidence, Pong, Request, Response, RootCertificate,
    SessionDocument, SessionQuery,
};
use signer_common::receipt::Receipt;

use crate::auth::notary::Notary;
use crate::auth::replay::SingleUse;
use crate::auth::tokens::{SHORT_TTL_MS, Tokens};
use crate::auth::versions::Versions;
use crate::auth::{Auth, DEFAULT_REQUEST_WINDOW_MS};
use crate::clock::Clock;
use crate::keys::{MasterKey, labels};
use crate::nsm::Nsm;
use crate::refusal::{Refusal, check_nonce, internal};
use crate::seal::WalletSealer;
use crate::session::Sessions;

/// Keys derived from the master key once it is known, and the authorisation state that uses
/// them.
pub(crate) struct Keys {
    pub(crate) sealer: WalletSealer,
    pub(crate) auth: Auth,
}

/// The enclave: an NSM, the derived keys (once provisioned) and a clock.
pub struct EnclaveCore {
    pub(crate) nsm: Arc<dyn Nsm>,
    pub(crate) keys: Option<Keys>,
    pub(crate) clock: Clock,
    sessions: Sessions,
}

impl std::fmt::Debug for EnclaveCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnclaveCore")
            .field("nsm", &self.nsm.kind())
            .field("ready", &self.keys.is_some())
            .finish()
    }
}

impl EnclaveCore {
    /// An enclave with the given NSM. Without a master key it answers `NotReady` to everything
    /// that needs one. The boot id (16 bytes) comes from the NSM's random source; if that fails
    /// the enclave stays not ready (logged).
    pub fn new(nsm: Arc<dyn Nsm>, master: Option<MasterKey>, clock: Clock) -> Self {
        let keys = master.and_then(|m| {
            let mut boot_id = [0u8; 16];
            if let Err(e) = nsm.random(&mut boot_id) {
                tracing::error!(error = %e, "no boot id: the random source failed; staying not ready");
                return None;
            }
            Some(Keys {
                sealer: WalletSealer::new(&m.derive(labels::WALLET_SEALING)),
                auth: Auth {
                    notary: Notary::new(m.derive(labels::NOTARIZATION)),
                    tokens: Tokens::new(m.derive(labels::USER_ACTION), boot_id),
                    versions: Versions::default(),
                    used: SingleUse::default(),
                    request_window_ms: DEFAULT_REQUEST_WINDOW_MS,
                    short_ttl_ms: SHORT_TTL_MS,
                },
            })
        });
        EnclaveCore { nsm, keys, clock, sessions: Sessions::default() }
    }

    /// Sets the one-shot window (`--request-window-secs`).
    pub fn with_request_window_ms(mut self, window_ms: u64) -> Self {
        if let Some(keys) = &mut self.keys {
            keys.auth.request_window_ms = window_ms;
        }
        self
    }

    /// Shortens the life of challenges, user-action tokens and temporary registration tokens
    /// (`--user-action-ttl-secs`); longer than [`SHORT_TTL_MS`] is not possible.
    pub fn with_short_ttl_ms(mut self, ttl_ms: u64) -> Self {
        if let Some(keys) = &mut self.keys {
            keys.auth.short_ttl_ms = ttl_ms.min(SHORT_TTL_MS);
        }
        self
    }

    /// Handles one request. Never panics on any input; every refusal changes nothing.
    pub fn handle(&self, request: Request) -> Response {
        let result = match request {
            Request::Ping => {
                Ok(Response::Pong(Pong { ready: self.keys.is_some(), nsm: self.nsm.kind().into() }))
            }
            Request::Attest(req) => self.attest(req),
            Request::RootCertificate => {
                Ok(Response::RootCertificate(RootCertificate { pem: self.nsm.root_certificate_pem() }))
            }
            Request::SessionDocument(query) => self.session_document(query),
            Request::CreateOrg(req) => self.create_org(req),
            Request::RegistrationInit(req) => self.registration_init(req),
            Request::Register(req) => self.register(req),
            Request::Challenge(req) => self.challenge(req),
            Request::Login(req) => self.login(req),
            Request::UserAction(req) => self.user_action(req),
            Request::Call(call) => self.call(*call),
            // A request type added to the protocol but not known to this build.
            _ => Err((signer_common::protocol::ErrorCode::Unsupported, "unsupported request".into())),
        };
        result.unwrap_or_else(|(code, message)| Response::error(code, message))
    }

    /// Makes the first session receipt key and its attestation document (called at boot, so
    /// the first session-mode request does not wait for the NSM). Answers the session id. On
    /// failure the session is made by the first request that needs one.
    pub fn start_session(&self) -> Result<[u8; 32], String> {
        self.sessions.current(self.nsm.as_ref(), (self.clock)()).map(|s| s.id).map_err(|e| e.to_string())
    }

    pub(crate) fn keys(&self) -> Result<&Keys, Refusal> {
        self.keys
            .as_ref()
            .ok_or((signer_common::protocol::ErrorCode::NotReady, "enclave has no master key yet".into()))
    }

    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
    }

    pub(crate) fn random(&self, buf: &mut [u8]) -> Result<(), Refusal> {
        self.nsm.random(buf).map_err(|e| internal(format!("random source failed: {e}")))
    }

    /// `N` random bytes.
    pub(crate) fn random_array<const N: usize>(&self) -> Result<[u8; N], Refusal> {
        let mut out = [0u8; N];
        self.random(&mut out)?;
        Ok(out)
    }

    /// The body of a token of this boot with a fresh nonce, living [`SHORT_TTL_MS`] (or the
    /// shorter `--user-action-ttl-secs`) from `now`:
    /// challenges, temporary registration tokens and user-action tokens.
    pub(crate) fn short_token(
        &self,
        now: u64,
        org_id: String,
        user_id: String,
        challenge: String,
        purpose: TokenPurpose,
    ) -> Result<TokenBody, Refusal> {
        let auth = &self.keys()?.auth;
        Ok(TokenBody {
            format: RECORD_FORMAT,
            boot_id: auth.tokens.boot(),
            nonce: ByteBuf::from(self.random_array::<16>()?.to_vec()),
            expires_at_ms: now.saturating_add(auth.short_ttl_ms),
            org_id,
            user_id,
            challenge,
            purpose,
        })
    }

    /// Binds a receipt to this enclave: a fresh NSM document with `user_data` = SHA-256(receipt),
    /// or the session receipt key's signature.
    pub(crate) fn evidence(
        &self,
        receipt: &[u8],
        nonce: Option<&[u8]>,
        mode: AttestationMode,
    ) -> Result<Evidence, Refusal> {
        let failed = |e: &dyn std::fmt::Display| internal(format!("attestation failed: {e}"));
        match mode {
            AttestationMode::Fresh => {
                let user_data = Receipt::digest(receipt);
                Ok(Evidence::Document(ByteBuf::from(
                    self.nsm.attest(Some(&user_data), nonce, None).map_err(|e| failed(&e))?,
                )))
            }
            AttestationMode::Session => {
                let session = self.sessions.current(self.nsm.as_ref(), self.now()).map_err(|e| failed(&e))?;
                Ok(Evidence::Session {
                    session_id: ByteBuf::from(session.id.to_vec()),
                    signature: ByteBuf::from(session.sign_receipt(receipt).to_vec()),
                })
            }
        }
    }

    fn session_document(&self, query: SessionQuery) -> Result<Response, Refusal> {
        let session = match query.id {
            None => self
                .sessions
                .current(self.nsm.as_ref(), self.now())
                .map_err(|e| internal(format!("attestation failed: {e}")))?,
            Some(id) => self.sessions.by_id(&id).ok_or((
                signer_common::protocol::ErrorCode::NotFound,
                "no session document with this id (it may have expired)".to_owned(),
            ))?,
        };
        Ok(Response::SessionDocument(SessionDocument {
            id: ByteBuf::from(session.id.to_vec()),
            document: ByteBuf::from(session.document.clone()),
        }))
    }

    fn attest(&self, req: AttestRequest) -> Result<Response, Refusal> {
        check_nonce(req.nonce.as_ref().map(|n| n.as_slice()))?;
        let failed = |e: crate::nsm::NsmError| internal(format!("attestation failed: {e}"));
        let document =
            self.nsm.attest(None, req.nonce.as_ref().map(|n| n.as_slice()), None).map_err(failed)?;
        let pcrs = self.nsm.pcrs().map_err(failed)?;
        Ok(Response::Attestation(Attestation {
            document: ByteBuf::from(document),
            pcrs: pcrs.into_iter().map(|(i, v)| (i, ByteBuf::from(v))).collect(),
        }))
    }
}
