//! `POST /wallets` and `POST /wallets/{id}/signatures`: key generation and sealing, and
//! signing with a sealed wallet the caller owns.

use serde_bytes::ByteBuf;
use signer_common::api::{CreateWalletRequest, SignatureRequest};
use signer_common::encoding::from_hex0x;
use signer_common::identity::{RECORD_FORMAT, Record, UserRecord, WalletRecord};
use signer_common::protocol::{
    AttestationMode, Call, Curve, ErrorCode, Outcome, SealedWallet, SignKind, Signed, WalletContext,
    WalletCreated,
};
use signer_common::receipt::{Receipt, ReceiptKind};

use crate::auth::Pending;
use crate::core::EnclaveCore;
use crate::refusal::{Refusal, bad, check_id, forbidden, internal};
use crate::wallet::{SignError, WalletKey};

/// The fields of a call that a wallet operation reads.
pub(crate) struct WalletCall<'a> {
    pub request_id: &'a str,
    pub nonce: Option<&'a [u8]>,
    pub attestation: AttestationMode,
}

impl<'a> WalletCall<'a> {
    pub(crate) fn of(call: &'a Call) -> Self {
        WalletCall {
            request_id: &call.request_id,
            nonce: call.nonce.as_ref().map(|n| n.as_slice()),
            attestation: call.attestation,
        }
    }
}

/// The call's body as JSON of type `T` (400 when it is not).
pub(crate) fn parse_json<T: for<'de> serde::Deserialize<'de>>(body: &[u8]) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| bad(format!("body: {e}")))
}

impl EnclaveCore {
    /// `POST /wallets`: a new key, sealed, with its ownership record.
    pub(crate) fn create_wallet(
        &self,
        call: WalletCall<'_>,
        body: &[u8],
        user: &UserRecord,
        pending: &mut Pending,
    ) -> Result<Outcome, Refusal> {
        let keys = self.keys()?;
        let req: CreateWalletRequest = parse_json(body)?;
        let curve: Curve = req.curve.parse().map_err(|_| bad("curve must be secp256k1 or ed25519"))?;

        let key = WalletKey::generate(curve, |buf| self.random(buf))?;
        let wallet_id = format!("wa-{}", hex::encode(self.random_array::<12>()?));
        let public_key = key.public_key();
        let nonce = self.random_array::<12>()?;
        let sealed = keys.sealer.seal(&wallet_id, curve, &public_key, &key.secret_bytes(), nonce);
        drop(key);
        // Signing trusts that a blob opens to the key it was sealed with (see `sign`): check it
        // once here, before the blob leaves the enclave.
        let reopened = keys
            .sealer
            .unseal(&wallet_id, curve, &public_key, &sealed)
            .ok()
            .and_then(|secret| WalletKey::from_secret(curve, &secret).ok());
        if reopened.is_none_or(|key| key.public_key() != public_key) {
            return Err(internal("a new sealed wallet did not reopen to its key"));
        }
        let record = Record::Wallet(WalletRecord {
            format: RECORD_FORMAT,
            version: 1,
            org_id: user.org_id.clone(),
            wallet_id: wallet_id.clone(),
            owner_user_id: user.user_id.clone(),
            curve,
            public_key: ByteBuf::from(public_key.clone()),
        });
        let notarized = keys.auth.notary.issue(&record);
        pending.records.push(record);

        let receipt = Receipt {
            kind: ReceiptKind::WalletCreated,
            wallet_id: wallet_id.clone(),
            curve,
            public_key: public_key.clone(),
            payload_sha256: None,
            payload: None,
            signature: None,
            request_id: call.request_id.to_owned(),
            nonce: call.nonce.map(<[u8]>::to_vec),
            time: self.now(),
        }
        .to_cbor();
        let evidence = self.evidence(&receipt, call.nonce, call.attestation)?;
        Ok(Outcome::WalletCreated(WalletCreated {
            wallet: SealedWallet {
                wallet_id,
                curve,
                public_key: ByteBuf::from(public_key),
                sealed: ByteBuf::from(sealed),
            },
            record: notarized,
            receipt: ByteBuf::from(receipt),
            evidence,
        }))
    }

    /// `POST /wallets/{id}/signatures`. Order: the wallet's record (1: tag, the user's, this
    /// wallet), the record matches the sealed wallet (2), the payload (3), the seal (4), sign.
    pub(crate) fn sign(
        &self,
        call: WalletCall<'_>,
        path_wallet_id: &str,
        wallet: Option<&WalletContext>,
        body: &[u8],
        user: &UserRecord,
        pending: &mut Pending,
    ) -> Result<Outcome, Refusal> {
        let keys = self.keys()?;
        check_id("wallet id", path_wallet_id)?;
        let wallet = wallet.ok_or_else(|| bad("a signature call needs its wallet"))?;
        let sealed = &wallet.sealed;
        // 1. The ownership record: this enclave's, not rolled back, the user's, this wallet.
        let record = keys.auth.wallet_of(&wallet.record, user, pending)?;
        if record.wallet_id != path_wallet_id || sealed.wallet_id != path_wallet_id {
            return Err(forbidden("wallet record is for another wallet"));
        }
        // 2. The record and the sealed wallet describe the same key.
        if record.curve != sealed.curve || record.public_key != sealed.public_key {
            return Err(forbidden("wallet record does not match the sealed wallet"));
        }
        // 3. The payload, before touching the key.
        let req: SignatureRequest = parse_json(body)?;
        let (kind, payload) = match (req.kind.as_str(), req.hash, req.message) {
            ("Hash", Some(hash), None) => (SignKind::Hash, hash),
            ("Message", None, Some(message)) => (SignKind::Message, message),
            _ => return Err(bad("kind must be Hash with hash, or Message with message")),
        };
        let payload = from_hex0x(&payload).map_err(|e| bad(format!("payload: {e}")))?;
        let curve = sealed.curve;
        WalletKey::check_payload(curve, kind, &payload).map_err(sign_refusal)?;

        // 4. The seal.
        let invalid =
            || (ErrorCode::SealedWalletInvalid, "sealed wallet does not open for this wallet".to_owned());
        let secret = keys
            .sealer
            .unseal(&sealed.wallet_id, curve, &sealed.public_key, &sealed.sealed)
            .map_err(|_| invalid())?;
        let key = WalletKey::from_secret(curve, &secret).map_err(|_| invalid())?;
        drop(secret);
        // The seal binds the public key (associated data), and creation checked that the blob
        // opens to the key it announces, so the pair matches. Ed25519 holds its public key
        // anyway (signing hashes it in) and a mismatched pair would sign with a key it does not
        // announce, so compare it again there; secp256k1 would have to compute it (~40 us).
        if let WalletKey::Ed25519(k) = &key
            && k.verifying_key().as_bytes().as_slice() != sealed.public_key.as_slice()
        {
            return Err(invalid());
        }
        let signature = key.sign(kind, &payload).map_err(sign_refusal)?;
        drop(key);

        let receipt = Receipt {
            kind: match kind {
                SignKind::Hash => ReceiptKind::Hash,
                SignKind::Message => ReceiptKind::Message,
            },
            wallet_id: sealed.wallet_id.clone(),
            curve,
            public_key: sealed.public_key.to_vec(),
            payload_sha256: Some(Receipt::digest(&payload)),
            payload: Some(payload),
            signature: Some(signature.clone()),
            request_id: call.request_id.to_owned(),
            nonce: call.nonce.map(<[u8]>::to_vec),
            time: self.now(),
        }
        .to_cbor();
        let evidence = self.evidence(&receipt, call.nonce, call.attestation)?;
        Ok(Outcome::Signed(Signed {
            signature: ByteBuf::from(signature),
            receipt: ByteBuf::from(receipt),
            evidence,
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
