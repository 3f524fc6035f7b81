//! The enclave's logic, without I/O: a request in, a response out.
//!
//! The socket loop in [`crate::server`] is a thin shell around [`EnclaveCore::handle`], so tests
//! drive every check here directly.

use std::sync::Arc;

use serde_bytes::ByteBuf;
use signer_common::protocol::{
    AttestRequest, Attestation, AttestationMode, CreateWallet, ErrorCode, Evidence, MAX_ID_LEN,
    MAX_NONCE_LEN, Pong, Request, Response, RootCertificate, SealedWallet, SessionDocument, SessionQuery,
    SignKind, SignRequest, Signed, WalletCreated,
};
use signer_common::receipt::{Receipt, ReceiptKind};

use crate::clock::Clock;
use crate::keys::{MasterKey, labels};
use crate::nsm::Nsm;
use crate::seal::WalletSealer;
use crate::session::Sessions;
use crate::wallet::{SignError, WalletKey};

/// Keys derived from the master key once it is known.
struct Keys {
    sealer: WalletSealer,
}

/// The enclave: an NSM, the derived keys (once provisioned) and a clock.
pub struct EnclaveCore {
    nsm: Arc<dyn Nsm>,
    keys: Option<Keys>,
    clock: Clock,
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

/// A refusal: an error code and a message that never contains key material.
type Refusal = (ErrorCode, String);

fn bad(message: impl Into<String>) -> Refusal {
    (ErrorCode::BadRequest, message.into())
}

impl EnclaveCore {
    /// An enclave with the given NSM. Without a master key it answers `NotReady` to everything
    /// that needs one.
    pub fn new(nsm: Arc<dyn Nsm>, master: Option<MasterKey>, clock: Clock) -> Self {
        let keys = master.map(|m| Keys { sealer: WalletSealer::new(&m.derive(labels::WALLET_SEALING)) });
        EnclaveCore { nsm, keys, clock, sessions: Sessions::default() }
    }

    /// Handles one request. Never panics on any input; every refusal changes nothing.
    pub fn handle(&self, request: Request) -> Response {
        let result = match request {
            Request::Ping => {
                Ok(Response::Pong(Pong { ready: self.keys.is_some(), nsm: self.nsm.kind().into() }))
            }
            Request::CreateWallet(req) => self.create_wallet(req),
            Request::Sign(req) => self.sign(req),
            Request::Attest(req) => self.attest(req),
            Request::RootCertificate => {
                Ok(Response::RootCertificate(RootCertificate { pem: self.nsm.root_certificate_pem() }))
            }
            Request::SessionDocument(query) => self.session_document(query),
            // A request type added to the protocol but not known to this build.
            _ => Err((ErrorCode::Unsupported, "unsupported request".into())),
        };
        result.unwrap_or_else(|(code, message)| Response::error(code, message))
    }

    /// Makes the first session receipt key and its attestation document (called at boot, so
    /// the first session-mode request does not wait for the NSM). Answers the session id. On
    /// failure the session is made by the first request that needs one.
    pub fn start_session(&self) -> Result<[u8; 32], String> {
        self.sessions.current(self.nsm.as_ref(), (self.clock)()).map(|s| s.id).map_err(|e| e.to_string())
    }

    fn keys(&self) -> Result<&Keys, Refusal> {
        self.keys.as_ref().ok_or((ErrorCode::NotReady, "enclave has no master key yet".into()))
    }

    fn random(&self, buf: &mut [u8]) -> Result<(), Refusal> {
        self.nsm.random(buf).map_err(|e| (ErrorCode::Internal, format!("random source failed: {e}")))
    }

    fn create_wallet(&self, req: CreateWallet) -> Result<Response, Refusal> {
        let keys = self.keys()?;
        check_id("request_id", &req.request_id)?;
        check_nonce(req.nonce.as_ref().map(|n| n.as_slice()))?;

        let key = WalletKey::generate(req.curve, |buf| self.random(buf))?;
        let mut id_bytes = [0u8; 12];
        self.random(&mut id_bytes)?;
        let wallet_id = format!("wa-{}", hex::encode(id_bytes));
        let public_key = key.public_key();
        let mut nonce = [0u8; 12];
        self.random(&mut nonce)?;
        let sealed = keys.sealer.seal(&wallet_id, req.curve, &public_key, &key.secret_bytes(), nonce);
        drop(key);
        // Signing trusts that a blob opens to the key it was sealed with (see `sign`): check it
        // once here, before the blob leaves the enclave.
        let reopened = keys
            .sealer
            .unseal(&wallet_id, req.curve, &public_key, &sealed)
            .ok()
            .and_then(|secret| WalletKey::from_secret(req.curve, &secret).ok());
        if reopened.is_none_or(|key| key.public_key() != public_key) {
            return Err((ErrorCode::Internal, "a new sealed wallet did not reopen to its key".into()));
        }

        let receipt = Receipt {
            kind: ReceiptKind::WalletCreated,
            wallet_id: wallet_id.clone(),
            curve: req.curve,
            public_key: public_key.clone(),
            payload_sha256: None,
            payload: None,
            signature: None,
            request_id: req.request_id,
            nonce: req.nonce.as_ref().map(|n| n.to_vec()),
            time: (self.clock)(),
        }
        .to_cbor();
        let evidence = self.evidence(&receipt, req.nonce.as_ref().map(|n| n.as_slice()), req.attestation)?;
        Ok(Response::WalletCreated(WalletCreated {
            wallet: SealedWallet {
                wallet_id,
                curve: req.curve,
                public_key: ByteBuf::from(public_key),
                sealed: ByteBuf::from(sealed),
            },
            receipt: ByteBuf::from(receipt),
            evidence,
        }))
    }

    fn sign(&self, req: SignRequest) -> Result<Response, Refusal> {
        let keys = self.keys()?;
        check_id("request_id", &req.request_id)?;
        check_id("wallet_id", &req.wallet.wallet_id)?;
        check_nonce(req.nonce.as_ref().map(|n| n.as_slice()))?;
        let curve = req.wallet.curve;
        // Refuse a bad payload before touching the key.
        WalletKey::check_payload(curve, req.kind, &req.payload).map_err(sign_refusal)?;

        let invalid =
            || (ErrorCode::SealedWalletInvalid, "sealed wallet does not open for this wallet".to_owned());
        let secret = keys
            .sealer
            .unseal(&req.wallet.wallet_id, curve, &req.wallet.public_key, &req.wallet.sealed)
            .map_err(|_| invalid())?;
        let key = WalletKey::from_secret(curve, &secret).map_err(|_| invalid())?;
        drop(secret);
        // The seal binds the public key (associated data), and creation checked that the blob
        // opens to the key it announces, so the pair matches. Ed25519 holds its public key
        // anyway (signing hashes it in) and a mismatched pair would sign with a key it does not
        // announce, so compare it again there; secp256k1 would have to compute it (~40 us).
        if let WalletKey::Ed25519(k) = &key
            && k.verifying_key().as_bytes().as_slice() != req.wallet.public_key.as_slice()
        {
            return Err(invalid());
        }
        let signature = key.sign(req.kind, &req.payload).map_err(sign_refusal)?;
        drop(key);

        let payload = req.payload.into_vec();
        let receipt = Receipt {
            kind: match req.kind {
                SignKind::Hash => ReceiptKind::Hash,
                SignKind::Message => ReceiptKind::Message,
            },
            wallet_id: req.wallet.wallet_id,
            curve,
            public_key: req.wallet.public_key.into_vec(),
            payload_sha256: Some(Receipt::digest(&payload)),
            payload: Some(payload),
            signature: Some(signature.clone()),
            request_id: req.request_id,
            nonce: req.nonce.as_ref().map(|n| n.to_vec()),
            time: (self.clock)(),
        }
        .to_cbor();
        let evidence = self.evidence(&receipt, req.nonce.as_ref().map(|n| n.as_slice()), req.attestation)?;
        Ok(Response::Signed(Signed {
            signature: ByteBuf::from(signature),
            receipt: ByteBuf::from(receipt),
            evidence,
        }))
    }

    /// Binds a receipt to this enclave: a fresh NSM document with `user_data` = SHA-256(receipt),
    /// or the session receipt key's signature.
    fn evidence(
        &self,
        receipt: &[u8],
        nonce: Option<&[u8]>,
        mode: AttestationMode,
    ) -> Result<Evidence, Refusal> {
        let failed = |e: &dyn std::fmt::Display| (ErrorCode::Internal, format!("attestation failed: {e}"));
        match mode {
            AttestationMode::Fresh => {
                let user_data = Receipt::digest(receipt);
                Ok(Evidence::Document(ByteBuf::from(
                    self.nsm.attest(Some(&user_data), nonce, None).map_err(|e| failed(&e))?,
                )))
            }
            AttestationMode::Session => {
                let session =
                    self.sessions.current(self.nsm.as_ref(), (self.clock)()).map_err(|e| failed(&e))?;
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
                .current(self.nsm.as_ref(), (self.clock)())
                .map_err(|e| (ErrorCode::Internal, format!("attestation failed: {e}")))?,
            Some(id) => self.sessions.by_id(&id).ok_or((
                ErrorCode::NotFound,
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
        let internal = |e: crate::nsm::NsmError| (ErrorCode::Internal, format!("attestation failed: {e}"));
        let document =
            self.nsm.attest(None, req.nonce.as_ref().map(|n| n.as_slice()), None).map_err(internal)?;
        let pcrs = self.nsm.pcrs().map_err(internal)?;
        Ok(Response::Attestation(Attestation {
            document: ByteBuf::from(document),
            pcrs: pcrs.into_iter().map(|(i, v)| (i, ByteBuf::from(v))).collect(),
        }))
    }
}

fn sign_refusal(e: SignError) -> Refusal {
    let code = match e {
        SignError::MessageUnsupported(_) => ErrorCode::Unsupported,
        _ => ErrorCode::BadRequest,
    };
    (code, e.to_string())
}

fn check_id(name: &str, id: &str) -> Result<(), Refusal> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(bad(format!("{name} must be 1 to {MAX_ID_LEN} characters of [A-Za-z0-9_-]")))
    }
}

fn check_nonce(nonce: Option<&[u8]>) -> Result<(), Refusal> {
    match nonce {
        Some(n) if n.len() > MAX_NONCE_LEN => Err(bad(format!("nonce is longer than {MAX_NONCE_LEN} bytes"))),
        _ => Ok(()),
    }
}

#[cfg(all(test, feature = "mock-nsm"))]
mod tests {
    use super::*;
    use crate::nsm::mock::MockNsm;
    use signer_common::attestation::{Expectations, TrustedRoot, verify};
    use signer_common::protocol::Curve;

    struct Fixture {
        core: EnclaveCore,
        root: TrustedRoot,
        _dir: tempfile::TempDir,
    }

    fn fixture(master: Option<MasterKey>) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let nsm = Arc::new(MockNsm::open(dir.path(), b"test image").unwrap());
        let root = TrustedRoot::from_pem(&nsm.root_certificate_pem()).unwrap();
        Fixture { core: EnclaveCore::new(nsm, master, Arc::new(|| 1_700_000_000_000)), root, _dir: dir }
    }

    fn ready() -> Fixture {
        fixture(Some(MasterKey::from_bytes([9; 32])))
    }

    fn now_s() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    fn create(core: &EnclaveCore, curve: Curve) -> WalletCreated {
        match core.handle(Request::CreateWallet(CreateWallet {
            request_id: "wc-1".into(),
            curve,
            nonce: None,
            attestation: AttestationMode::Fresh,
        })) {
            Response::WalletCreated(w) => w,
            other => panic!("{other:?}"),
        }
    }

    fn sign_req(wallet: SealedWallet, kind: SignKind, payload: Vec<u8>) -> Request {
        Request::Sign(SignRequest {
            request_id: "sig-1".into(),
            wallet,
            kind,
            payload: ByteBuf::from(payload),
            nonce: Some(ByteBuf::from(vec![7; 8])),
            attestation: AttestationMode::Fresh,
        })
    }

    fn document(evidence: &Evidence) -> &[u8] {
        match evidence {
            Evidence::Document(d) => d,
            other => panic!("expected a document, got {other:?}"),
        }
    }

    fn code(response: Response) -> ErrorCode {
        match response {
            Response::Error(e) => e.code,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn signs_with_a_receipt_bound_to_an_attestation() {
        let f = ready();
        for curve in [Curve::Secp256k1, Curve::Ed25519] {
            let created = create(&f.core, curve);
            let receipt = Receipt::from_cbor(&created.receipt).unwrap();
            assert_eq!(receipt.kind, ReceiptKind::WalletCreated);
            assert_eq!(receipt.public_key, created.wallet.public_key.as_slice());
            assert_eq!(receipt.wallet_id, created.wallet.wallet_id);
            let user_data = Some(Receipt::digest(&created.receipt).to_vec());
            verify(
                document(&created.evidence),
                &f.root,
                now_s(),
                &Expectations { user_data, ..Default::default() },
            )
            .unwrap();

            let Response::Signed(signed) =
                f.core.handle(sign_req(created.wallet.clone(), SignKind::Hash, vec![5; 32]))
            else {
                panic!("signing failed")
            };
            let receipt = Receipt::from_cbor(&signed.receipt).unwrap();
            assert_eq!(receipt.signature.as_deref(), Some(signed.signature.as_slice()));
            assert_eq!(receipt.payload.as_deref(), Some(&[5u8; 32][..]));
            assert_eq!(receipt.time, 1_700_000_000_000);
            let expect = Expectations {
                user_data: Some(Receipt::digest(&signed.receipt).to_vec()),
                nonce: Some(vec![7; 8]),
                ..Default::default()
            };
            verify(document(&signed.evidence), &f.root, now_s(), &expect).unwrap();
            assert_eq!(receipt.nonce, Some(vec![7; 8]));
        }
    }

    #[test]
    fn session_mode_signs_receipts_with_the_attested_receipt_key() {
        use signer_common::session::{SESSION_DOCUMENT_USER_DATA, decode_receipt_key, signed_message};
        let f = ready();
        let wallet = create(&f.core, Curve::Secp256k1).wallet;
        let mut req = sign_req(wallet, SignKind::Hash, vec![5; 32]);
        if let Request::Sign(s) = &mut req {
            s.attestation = AttestationMode::Session;
        }
        let Response::Signed(signed) = f.core.handle(req) else { panic!("signing failed") };
        let Evidence::Session { session_id, signature } = &signed.evidence else {
            panic!("expected session evidence")
        };

        // The session document, by id: attests the receipt key, whose signature covers the receipt.
        let query = Request::SessionDocument(SessionQuery { id: Some(session_id.clone()) });
        let response = f.core.handle(query);
        let Response::SessionDocument(session) = response else {
            panic!("no session document: {response:?}")
        };
        assert_eq!(session.id, *session_id);
        let expect =
            Expectations { user_data: Some(SESSION_DOCUMENT_USER_DATA.to_vec()), ..Default::default() };
        let doc = verify(&session.document, &f.root, now_s(), &expect).unwrap();
        let key = decode_receipt_key(doc.public_key.as_deref().unwrap()).unwrap();
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(signature).unwrap();
        vk.verify_strict(&signed_message(&signed.receipt), &sig).unwrap();
        assert!(vk.verify_strict(&signed_message(b"another receipt"), &sig).is_err());
        assert_eq!(Receipt::from_cbor(&signed.receipt).unwrap().nonce, Some(vec![7; 8]));

        let unknown = Request::SessionDocument(SessionQuery { id: Some(ByteBuf::from(vec![0; 32])) });
        assert_eq!(code(f.core.handle(unknown)), ErrorCode::NotFound);
    }

    #[test]
    fn the_boot_session_is_the_one_served() {
        let f = ready();
        let id = f.core.start_session().unwrap();
        match f.core.handle(Request::SessionDocument(SessionQuery { id: None })) {
            Response::SessionDocument(doc) => {
                assert_eq!(doc.id.as_slice(), id);
                assert_eq!(signer_common::session::session_id(&doc.document), id);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_everything_but_ping_without_a_master_key() {
        let f = fixture(None);
        assert!(matches!(f.core.handle(Request::Ping), Response::Pong(Pong { ready: false, .. })));
        let req = Request::CreateWallet(CreateWallet {
            request_id: "wc-1".into(),
            curve: Curve::Ed25519,
            nonce: None,
            attestation: AttestationMode::Fresh,
        });
        assert_eq!(code(f.core.handle(req)), ErrorCode::NotReady);
    }

    #[test]
    fn refuses_a_wallet_sealed_under_another_master_key() {
        let other = ready();
        let created = create(&other.core, Curve::Ed25519);
        let f = fixture(Some(MasterKey::from_bytes([1; 32])));
        let req = sign_req(created.wallet, SignKind::Hash, vec![0; 32]);
        assert_eq!(code(f.core.handle(req)), ErrorCode::SealedWalletInvalid);
    }

    #[test]
    fn refuses_a_swapped_public_key_or_curve() {
        let f = ready();
        let a = create(&f.core, Curve::Ed25519).wallet;
        let b = create(&f.core, Curve::Ed25519).wallet;
        let mixed = SealedWallet { public_key: b.public_key.clone(), ..a.clone() };
        assert_eq!(
            code(f.core.handle(sign_req(mixed, SignKind::Hash, vec![0; 32]))),
            ErrorCode::SealedWalletInvalid
        );
        let recurved = SealedWallet { curve: Curve::Secp256k1, ..a };
        assert_eq!(
            code(f.core.handle(sign_req(recurved, SignKind::Hash, vec![0; 32]))),
            ErrorCode::SealedWalletInvalid
        );
    }

    /// A blob whose seal is valid but whose secret is not the announced key's (what a sealing
    /// bug would make): an Ed25519 wallet is refused rather than signed with a key it does not
    /// announce (two public keys for one secret would let signatures leak it).
    #[test]
    fn refuses_an_ed25519_blob_sealed_with_a_mismatched_key() {
        let f = ready();
        let a = create(&f.core, Curve::Ed25519).wallet;
        let other_secret = [0x5au8; 32];
        let sealer = WalletSealer::new(&MasterKey::from_bytes([9; 32]).derive(labels::WALLET_SEALING));
        let sealed = sealer.seal(&a.wallet_id, Curve::Ed25519, &a.public_key, &other_secret, [3; 12]);
        let mismatched = SealedWallet { sealed: ByteBuf::from(sealed), ..a };
        assert_eq!(
            code(f.core.handle(sign_req(mismatched, SignKind::Hash, vec![0; 32]))),
            ErrorCode::SealedWalletInvalid
        );
    }

    #[test]
    fn refuses_bad_requests_before_touching_the_key() {
        let f = ready();
        let wallet = create(&f.core, Curve::Secp256k1).wallet;
        assert_eq!(
            code(f.core.handle(sign_req(wallet.clone(), SignKind::Hash, vec![0; 31]))),
            ErrorCode::BadRequest
        );
        assert_eq!(
            code(f.core.handle(sign_req(wallet.clone(), SignKind::Message, vec![1]))),
            ErrorCode::Unsupported
        );
        let mut long_nonce = sign_req(wallet.clone(), SignKind::Hash, vec![0; 32]);
        if let Request::Sign(s) = &mut long_nonce {
            s.nonce = Some(ByteBuf::from(vec![0; MAX_NONCE_LEN + 1]));
        }
        assert_eq!(code(f.core.handle(long_nonce)), ErrorCode::BadRequest);
        let mut bad_id = sign_req(wallet, SignKind::Hash, vec![0; 32]);
        if let Request::Sign(s) = &mut bad_id {
            s.request_id = "x".repeat(MAX_ID_LEN + 1);
        }
        assert_eq!(code(f.core.handle(bad_id)), ErrorCode::BadRequest);
    }

    #[test]
    fn ids_of_max_id_len_are_accepted_and_one_more_is_refused() {
        let f = ready();
        let created = |request_id: String| {
            f.core.handle(Request::CreateWallet(CreateWallet {
                request_id,
                curve: Curve::Ed25519,
                nonce: None,
                attestation: AttestationMode::Session,
            }))
        };
        assert!(matches!(created("c".repeat(MAX_ID_LEN)), Response::WalletCreated(_)));
        assert_eq!(code(created("c".repeat(MAX_ID_LEN + 1))), ErrorCode::BadRequest);

        let wallet = create(&f.core, Curve::Ed25519).wallet;
        let with_id = |request_id: String| {
            let mut req = sign_req(wallet.clone(), SignKind::Hash, vec![0; 32]);
            if let Request::Sign(s) = &mut req {
                s.request_id = request_id;
            }
            f.core.handle(req)
        };
        assert!(matches!(with_id("s".repeat(MAX_ID_LEN)), Response::Signed(_)));
        assert_eq!(code(with_id("s".repeat(MAX_ID_LEN + 1))), ErrorCode::BadRequest);
        // A wallet id one past the limit is refused as a bad request, before the seal is tried.
        let mut long_wallet = wallet.clone();
        long_wallet.wallet_id = "w".repeat(MAX_ID_LEN + 1);
        assert_eq!(
            code(f.core.handle(sign_req(long_wallet, SignKind::Hash, vec![0; 32]))),
            ErrorCode::BadRequest
        );
    }
}
