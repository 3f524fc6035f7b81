//! An answer bound to its request: what [`crate::Client`] returns from a state-changing call,
//! and its verification.
//!
//! The parent is untrusted and could ask the enclave for something else than the caller did (a
//! wallet on another curve, a signature over another hash, with another wallet) and return that
//! answer. So the expectations are built from the request the client made (curve, wallet id,
//! kind, payload, nonce), never from the parent's JSON; the JSON is then only checked to say what
//! the verified receipt says.

use signer_common::attestation::TrustedRoot;
use signer_common::protocol::{AttestationMode, Curve};
use signer_common::receipt::ReceiptKind;

use crate::api::{SignatureEvidence, SignatureResult, Wallet};
use crate::error::VerifyResultError;
use crate::session::SessionCache;
use crate::verify::{
    ImagePolicy, ResultExpectations, VerifiedResult, WalletKey, verify_session_result, verify_signing_result,
};

/// A wallet creation as the client asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletRequest {
    /// The curve asked for.
    pub curve: Curve,
    /// The name asked for.
    pub name: Option<String>,
    /// The nonce sent in `X-Request-Nonce` (a fresh random one unless the caller gave one).
    pub nonce: Vec<u8>,
}

/// The answer to `POST /wallets` together with the request it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedWallet {
    /// The parent's answer (unverified).
    pub wallet: Wallet,
    /// What was asked.
    pub request: WalletRequest,
}

impl CreatedWallet {
    /// The expectations of the creation receipt: the request's curve and nonce, kind
    /// `WalletCreated`, and `image`.
    pub fn expectations(&self, image: &ImagePolicy) -> ResultExpectations {
        ResultExpectations {
            nonce: Some(self.request.nonce.clone()),
            curve: Some(self.request.curve),
            kind: Some(ReceiptKind::WalletCreated),
            ..ResultExpectations::new(image.clone())
        }
    }

    /// Verifies the creation: the attestation document (from the `image`, with the request's
    /// nonce, binding the receipt), a `WalletCreated` receipt on the requested curve, and the
    /// parent's JSON (`id`, `publicKey`, `curve`) saying what the receipt says. Pin
    /// [`VerifiedResult::wallet_key`] for the wallet's signatures.
    pub fn verify(
        &self,
        root: &TrustedRoot,
        at_unix_seconds: u64,
        image: &ImagePolicy,
    ) -> Result<VerifiedResult, VerifyResultError> {
        verify_wallet_record(&self.wallet, root, at_unix_seconds, &self.expectations(image))
    }
}

/// Verifies a wallet's creation record (`receipt` and `attestation` of a [`Wallet`], e.g. from
/// `GET /wallets/{id}` of `wallet_id`): an authentic `WalletCreated` receipt from the `image`
/// for this wallet id, and the JSON saying what it says. Without the creation's nonce this shows
/// which key the enclave made for this wallet id, not that the creation is recent.
pub fn verify_wallet_record_of(
    wallet: &Wallet,
    wallet_id: &str,
    root: &TrustedRoot,
    at_unix_seconds: u64,
    image: &ImagePolicy,
) -> Result<VerifiedResult, VerifyResultError> {
    let expect = ResultExpectations {
        wallet_id: Some(wallet_id.to_owned()),
        kind: Some(ReceiptKind::WalletCreated),
        ..ResultExpectations::new(image.clone())
    };
    verify_wallet_record(wallet, root, at_unix_seconds, &expect)
}

fn verify_wallet_record(
    wallet: &Wallet,
    root: &TrustedRoot,
    at_unix_seconds: u64,
    expect: &ResultExpectations,
) -> Result<VerifiedResult, VerifyResultError> {
    let input = |what: &str| VerifyResultError::Input(format!("the wallet's {what} is missing or malformed"));
    let receipt = wallet.receipt_bytes().map_err(|_| input("receipt"))?;
    let attestation = wallet.attestation_bytes().map_err(|_| input("attestation"))?;
    let public_key = wallet.public_key_bytes().map_err(|_| input("publicKey"))?;
    let verified = verify_signing_result(&receipt, &attestation, root, at_unix_seconds, expect)?;
    // The JSON says what the attested receipt says (the kind, WalletCreated, is in `expect`).
    let r = &verified.receipt;
    if r.wallet_id != wallet.id {
        return Err(VerifyResultError::Mismatch { field: "walletId" });
    }
    if r.public_key != public_key {
        return Err(VerifyResultError::Mismatch { field: "publicKey" });
    }
    if r.curve.as_str() != wallet.curve {
        return Err(VerifyResultError::Mismatch { field: "curve" });
    }
    Ok(verified)
}

/// A signature request as the client made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest {
    /// The wallet asked to sign.
    pub wallet_id: String,
    /// `Hash` or `Message`.
    pub kind: ReceiptKind,
    /// The 32-byte hash or the message.
    pub payload: Vec<u8>,
    /// The nonce sent in `X-Request-Nonce` (a fresh random one unless the caller gave one).
    pub nonce: Vec<u8>,
    /// The attestation mode asked for (the parent may answer in either; both verify).
    pub mode: AttestationMode,
}

/// The answer to `POST /wallets/{id}/signatures` together with the request it answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedResult {
    /// The parent's answer (unverified).
    pub result: SignatureResult,
    /// What was asked.
    pub request: SignRequest,
}

impl SignedResult {
    /// The expectations of the receipt: the request's wallet id, kind, payload and nonce,
    /// `image`, and when given the wallet's verified `key` (curve and public key). Without `key`
    /// the curve and public key are the ones the enclave states for this wallet id.
    pub fn expectations(&self, image: &ImagePolicy, key: Option<&WalletKey>) -> ResultExpectations {
        let expect = ResultExpectations {
            nonce: Some(self.request.nonce.clone()),
            wallet_id: Some(self.request.wallet_id.clone()),
            kind: Some(self.request.kind),
            payload: Some(self.request.payload.clone()),
            ..ResultExpectations::new(image.clone())
        };
        match key {
            Some(key) => expect.with_key(key),
            None => expect,
        }
    }

    /// Verifies a fresh-mode result against its request ([`Self::expectations`]) and that the
    /// parent's JSON (`walletId`, `signature.encoded`) says what the attested receipt says. A
    /// session-mode result is refused: use [`Self::verify_session`] or
    /// [`crate::Client::verify_signature`].
    pub fn verify(
        &self,
        root: &TrustedRoot,
        at_unix_seconds: u64,
        image: &ImagePolicy,
        key: Option<&WalletKey>,
    ) -> Result<VerifiedResult, VerifyResultError> {
        let result = &self.result;
        let receipt = result.receipt_bytes().map_err(|_| result_input("receipt"))?;
        let attestation =
            match result.evidence_bytes().map_err(|e| VerifyResultError::Input(e.to_string()))? {
                SignatureEvidence::Fresh { attestation } => attestation,
                SignatureEvidence::Session { .. } => {
                    return Err(VerifyResultError::Input(
                        "this result is in session mode: verify it with its session document".into(),
                    ));
                }
            };
        let expect = self.expectations(image, key);
        let verified = verify_signing_result(&receipt, &attestation, root, at_unix_seconds, &expect)?;
        check_json(result, &verified)?;
        Ok(verified)
    }

    /// Verifies a session-mode result with `session_document` (the document its `sessionId`
    /// names: see [`crate::Client::session_document`]) through `cache`
    /// ([`verify_session_result`]) against its request, and that the parent's JSON (`walletId`,
    /// `signature.encoded`, `sessionId`) says what the verified receipt and document say. A
    /// fresh-mode result is refused: use [`Self::verify`].
    pub fn verify_session(
        &self,
        session_document: &[u8],
        root: &TrustedRoot,
        at_unix_seconds: u64,
        image: &ImagePolicy,
        key: Option<&WalletKey>,
        cache: &SessionCache,
    ) -> Result<VerifiedResult, VerifyResultError> {
        let result = &self.result;
        let receipt = result.receipt_bytes().map_err(|_| result_input("receipt"))?;
        let (receipt_signature, claimed_id) = match result
            .evidence_bytes()
            .map_err(|e| VerifyResultError::Input(e.to_string()))?
        {
            SignatureEvidence::Session { receipt_signature, session_id } => (receipt_signature, session_id),
            SignatureEvidence::Fresh { .. } => {
                return Err(VerifyResultError::Input(
                    "this result is in fresh mode: it has an attestation document, no session".into(),
                ));
            }
        };
        let expect = self.expectations(image, key);
        let verified = verify_session_result(
            &receipt,
            &receipt_signature,
            session_document,
            root,
            at_unix_seconds,
            &expect,
            cache,
        )?;
        if verified.session_id != Some(claimed_id) {
            return Err(VerifyResultError::SessionIdMismatch);
        }
        check_json(result, &verified)?;
        Ok(verified)
    }
}

/// The JSON says what the verified receipt says.
fn check_json(result: &SignatureResult, verified: &VerifiedResult) -> Result<(), VerifyResultError> {
    let encoded = result.encoded_bytes().map_err(|_| result_input("signature.encoded"))?;
    let r = &verified.receipt;
    if r.kind == ReceiptKind::WalletCreated {
        return Err(VerifyResultError::Mismatch { field: "kind" });
    }
    if r.wallet_id != result.wallet_id {
        return Err(VerifyResultError::Mismatch { field: "walletId" });
    }
    if r.signature.as_deref() != Some(encoded.as_slice()) {
        return Err(VerifyResultError::Mismatch { field: "signature" });
    }
    Ok(())
}

fn result_input(what: &str) -> VerifyResultError {
    VerifyResultError::Input(format!("the result's {what} is malformed"))
}
