//! The enclave's session receipt keys (see `signer_common::session`).
//!
//! The current session is replaced when it is older than [`SESSION_REFRESH_MS`]; the last few
//! are kept so a client holding a recent session id can still fetch its document.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, RwLock};

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use signer_common::session::{
    SESSION_DOCUMENT_USER_DATA, SESSION_REFRESH_MS, encode_receipt_key, session_id, signed_message,
};
use zeroize::Zeroizing;

use crate::nsm::{Nsm, NsmError};

/// Sessions kept for lookup by id, the current one included.
pub const SESSIONS_KEPT: usize = 4;

/// Why a session could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Randomness or the attestation document.
    #[error(transparent)]
    Nsm(#[from] NsmError),
    /// The crypto library refused the new key (never expected for a 32-byte seed).
    #[error("the receipt key could not be made")]
    Key,
}

/// One receipt key and the attestation document for it.
pub struct Session {
    /// SHA-256 of `document`.
    pub id: [u8; 32],
    /// The session document.
    pub document: Vec<u8>,
    /// aws-lc-rs rather than ed25519-dalek: it signs a receipt in about 12 us against 26 us
    /// (docs/performance.md), and AWS-LC wipes the key when it frees it.
    key: Ed25519KeyPair,
    created_ms: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("id", &hex::encode(self.id)).finish_non_exhaustive()
    }
}

impl Session {
    /// Ed25519 signature over [`signed_message`]`(receipt)`.
    pub fn sign_receipt(&self, receipt: &[u8]) -> [u8; 64] {
        let signature = self.key.sign(&signed_message(receipt));
        let mut out = [0u8; 64];
        out.copy_from_slice(signature.as_ref());
        out
    }
}

/// The current session and the few before it.
#[derive(Default)]
pub struct Sessions {
    recent: RwLock<VecDeque<Arc<Session>>>,
    // Held only while making a new session, so two requests never both call the NSM for one.
    refreshing: Mutex<()>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions")
    }
}

impl Sessions {
    /// The current session, making a new one first when there is none or it is due.
    pub fn current(&self, nsm: &dyn Nsm, now_ms: u64) -> Result<Arc<Session>, SessionError> {
        if let Some(session) = self.fresh(now_ms) {
            return Ok(session);
        }
        let _guard = self.refreshing.lock().unwrap_or_else(|e| e.into_inner());
        // Another request may have refreshed while this one waited for the lock.
        if let Some(session) = self.fresh(now_ms) {
            return Ok(session);
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        nsm.random(seed.as_mut_slice())?;
        let key = Ed25519KeyPair::from_seed_unchecked(seed.as_slice()).map_err(|_| SessionError::Key)?;
        let public_key: &[u8; 32] = key.public_key().as_ref().try_into().map_err(|_| SessionError::Key)?;
        let public_key = encode_receipt_key(public_key);
        let document = nsm.attest(Some(SESSION_DOCUMENT_USER_DATA), None, Some(&public_key))?;
        let session = Arc::new(Session { id: session_id(&document), document, key, created_ms: now_ms });
        let mut recent = self.recent.write().unwrap_or_else(|e| e.into_inner());
        recent.push_front(session.clone());
        recent.truncate(SESSIONS_KEPT);
        Ok(session)
    }

    /// A kept session by id.
    pub fn by_id(&self, id: &[u8]) -> Option<Arc<Session>> {
        let recent = self.recent.read().unwrap_or_else(|e| e.into_inner());
        recent.iter().find(|s| s.id == id).cloned()
    }

    fn fresh(&self, now_ms: u64) -> Option<Arc<Session>> {
        let recent = self.recent.read().unwrap_or_else(|e| e.into_inner());
        recent.front().filter(|s| now_ms.saturating_sub(s.created_ms) < SESSION_REFRESH_MS).cloned()
    }
}

#[cfg(all(test, feature = "mock-nsm"))]
mod tests {
    use super::*;
    use crate::nsm::mock::MockNsm;
    use signer_common::attestation::{Expectations, TrustedRoot, verify};
    use signer_common::session::decode_receipt_key;

    #[test]
    fn session_document_attests_the_receipt_key_and_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let nsm = MockNsm::open(dir.path(), b"image").unwrap();
        let sessions = Sessions::default();
        let first = sessions.current(&nsm, 1_000).unwrap();
        assert!(Arc::ptr_eq(&first, &sessions.current(&nsm, 2_000).unwrap()));

        let root = TrustedRoot::from_pem(&nsm.root_certificate_pem()).unwrap();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let expect =
            Expectations { user_data: Some(SESSION_DOCUMENT_USER_DATA.to_vec()), ..Default::default() };
        let doc = verify(&first.document, &root, now, &expect).unwrap();
        let key = decode_receipt_key(doc.public_key.as_deref().unwrap()).unwrap();
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
        let signature = ed25519_dalek::Signature::from_bytes(&first.sign_receipt(b"receipt"));
        vk.verify_strict(&signed_message(b"receipt"), &signature).unwrap();

        // Past the refresh interval: a new key and document; the old one stays fetchable.
        let second = sessions.current(&nsm, 1_000 + SESSION_REFRESH_MS).unwrap();
        assert_ne!(second.id, first.id);
        assert!(sessions.by_id(&first.id).is_some());
        for i in 2..=SESSIONS_KEPT as u64 {
            sessions.current(&nsm, 1_000 + i * SESSION_REFRESH_MS).unwrap();
        }
        assert!(sessions.by_id(&first.id).is_none(), "only the last {SESSIONS_KEPT} are kept");
    }
}
