//! Session mode on the client side: session documents verified once and cached.
//!
//! In session mode the enclave signs each receipt with an Ed25519 *receipt key* whose public key
//! is attested once, in a *session document* (`user_data` = [`SESSION_DOCUMENT_USER_DATA`],
//! `public_key` = the key as a COSE_Key). Verifying that document costs a certificate chain and
//! an ES384 signature; a [`SessionCache`] does it once per document and keeps the receipt key, so
//! each receipt then costs one Ed25519 verification (see [`crate::verify_session_result`]).

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ed25519_dalek::VerifyingKey;
use signer_common::attestation::{self, AttestationDoc, Expectations, TrustedRoot, VerifyError};
use signer_common::session::{
    SESSION_DOCUMENT_USER_DATA, SESSION_REFRESH_MS, decode_receipt_key, session_id,
};

use crate::error::VerifyResultError;

/// How long a verified session document stays usable from a [`SessionCache`]: three times
/// [`SESSION_REFRESH_MS`], 3 hours, the lifetime of the NSM's leaf certificates. The enclave
/// makes a new document every hour and serves the last four, so a result is normally checked
/// against a document well within this. An entry never outlives the certificates of its chain
/// either (see [`SessionCache`]).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_millis(SESSION_REFRESH_MS * 3);

/// How many session documents a [`SessionCache`] holds by default; the oldest is evicted first.
pub const DEFAULT_SESSION_CACHE_CAPACITY: usize = 64;

/// A session document that verified: its id, its receipt key and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSession {
    /// SHA-256 of the document, computed here.
    pub id: [u8; 32],
    /// The receipt key attested by the document's `public_key`.
    pub receipt_key: VerifyingKey,
    /// The verified document.
    pub document: AttestationDoc,
    /// The time (Unix seconds) at which the document was verified.
    pub verified_at: u64,
    /// The first time (Unix seconds) at which the cache no longer uses this verification: the
    /// earlier of `verified_at` + TTL and one second past the earliest `notAfter` of the
    /// document's leaf and intermediate certificates (`verified_at`, so not cached at all, when a
    /// `notAfter` cannot be read).
    pub expires_at: u64,
}

struct Entry {
    session: Arc<VerifiedSession>,
    bytes: Arc<[u8]>,
    /// The root the document was verified against: an entry serves only that root.
    root_der: Arc<[u8]>,
    /// Insertion order, for evicting the oldest.
    seq: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<[u8; 32], Entry>,
    next_seq: u64,
}

/// Verified session documents, keyed by their id (SHA-256 of the document, always recomputed
/// from the bytes: an id from the parent is never trusted).
///
/// An entry is the result of one full verification ([`attestation::verify`] with `user_data` =
/// [`SESSION_DOCUMENT_USER_DATA`]) against one root at one time `verified_at`. It serves a later
/// verification of the same document bytes against the same root at a time `at` with
/// `verified_at <= at < expires_at` (see [`VerifiedSession::expires_at`]); the caller's PCRs are
/// compared with the cached document each time. Anything else verifies the document again.
///
/// Bounded: at most `capacity` entries, the oldest evicted first. Thread-safe: verifications run
/// outside the lock, so two threads may verify the same new document at once.
pub struct SessionCache {
    inner: Mutex<Inner>,
    ttl_seconds: u64,
    capacity: usize,
    verifications: AtomicU64,
}

impl fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCache")
            .field("len", &self.len())
            .field("ttl_seconds", &self.ttl_seconds)
            .field("capacity", &self.capacity)
            .field("verifications", &self.verifications())
            .finish()
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache::new()
    }
}

impl SessionCache {
    /// An empty cache with [`DEFAULT_SESSION_TTL`] and [`DEFAULT_SESSION_CACHE_CAPACITY`].
    pub fn new() -> SessionCache {
        SessionCache {
            inner: Mutex::new(Inner::default()),
            ttl_seconds: DEFAULT_SESSION_TTL.as_secs(),
            capacity: DEFAULT_SESSION_CACHE_CAPACITY,
            verifications: AtomicU64::new(0),
        }
    }

    /// The same cache with entries usable for `ttl` after their verification (whole seconds;
    /// zero caches nothing).
    pub fn with_ttl(mut self, ttl: Duration) -> SessionCache {
        self.ttl_seconds = ttl.as_secs();
        self
    }

    /// The same cache holding at most `capacity` documents (at least one).
    pub fn with_capacity(mut self, capacity: usize) -> SessionCache {
        self.capacity = capacity.max(1);
        self
    }

    /// How long an entry is usable after its verification.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_seconds)
    }

    /// The most documents held.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many full document verifications this cache has run (successful or not). Cache hits
    /// run none.
    pub fn verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// The documents held (expired ones included until they are evicted).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// True when no document is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every document.
    pub fn clear(&self) {
        self.lock().entries.clear();
    }

    /// The bytes of a held document whose SHA-256 is `id` (they hash to `id`: the key was
    /// computed from them). Saves fetching a document again; it is still verified (or found
    /// verified) when used.
    pub fn document(&self, id: &[u8; 32]) -> Option<Arc<[u8]>> {
        self.lock().entries.get(id).map(|entry| entry.bytes.clone())
    }

    /// Step 1 of session verification: the verified session document `document`, from the cache
    /// when it holds a usable verification of these bytes against `root` at `at_unix_seconds`,
    /// otherwise verified now (and then cached):
    ///
    /// - [`attestation::verify`] against `root` at `at_unix_seconds`, with `pcrs` and `user_data`
    ///   = [`SESSION_DOCUMENT_USER_DATA`] (a document made for another purpose is refused);
    /// - `public_key` is an Ed25519 COSE_Key of a point that is not of small order.
    ///
    /// On a cache hit `pcrs` are compared with the cached document.
    pub fn verify_document(
        &self,
        document: &[u8],
        root: &TrustedRoot,
        at_unix_seconds: u64,
        pcrs: &BTreeMap<u8, Vec<u8>>,
    ) -> Result<Arc<VerifiedSession>, VerifyResultError> {
        let id = session_id(document);
        let cached = {
            let inner = self.lock();
            inner.entries.get(&id).and_then(|entry| {
                let usable = *entry.root_der == *root.der()
                    && entry.session.verified_at <= at_unix_seconds
                    && at_unix_seconds < entry.session.expires_at;
                usable.then(|| entry.session.clone())
            })
        };
        if let Some(session) = cached {
            check_pcrs(&session.document, pcrs).map_err(VerifyResultError::SessionDocument)?;
            return Ok(session);
        }

        self.verifications.fetch_add(1, Ordering::Relaxed);
        let expect = Expectations {
            pcrs: pcrs.clone(),
            user_data: Some(SESSION_DOCUMENT_USER_DATA.to_vec()),
            nonce: None,
            public_key: None,
            max_age: None,
        };
        let doc = attestation::verify(document, root, at_unix_seconds, &expect).map_err(|e| match e {
            VerifyError::FieldMismatch { field: "user_data" } => VerifyResultError::NotSessionDocument,
            other => VerifyResultError::SessionDocument(other),
        })?;
        let key_bytes = doc.public_key.as_deref().ok_or(VerifyResultError::ReceiptKey)?;
        let key = decode_receipt_key(key_bytes).map_err(|_| VerifyResultError::ReceiptKey)?;
        let receipt_key = VerifyingKey::from_bytes(&key).map_err(|_| VerifyResultError::ReceiptKey)?;
        if receipt_key.is_weak() {
            return Err(VerifyResultError::ReceiptKey);
        }
        let ttl_end = at_unix_seconds.saturating_add(self.ttl_seconds);
        // When a certificate's notAfter cannot be read the verification is used once and not
        // cached, so a cached entry never outlives its chain.
        let chain_end = chain_not_after(&doc).map(|t| t.saturating_add(1));
        let session = Arc::new(VerifiedSession {
            id,
            receipt_key,
            document: doc,
            verified_at: at_unix_seconds,
            expires_at: chain_end.map_or(at_unix_seconds, |end| end.min(ttl_end)),
        });
        if session.expires_at > at_unix_seconds {
            self.insert(Entry {
                session: session.clone(),
                bytes: document.into(),
                root_der: root.der().into(),
                seq: 0,
            });
        }
        Ok(session)
    }

    fn insert(&self, mut entry: Entry) {
        let mut inner = self.lock();
        let now = entry.session.verified_at;
        inner.entries.retain(|_, e| now < e.session.expires_at);
        while inner.entries.len() >= self.capacity && !inner.entries.contains_key(&entry.session.id) {
            let oldest = inner.entries.iter().min_by_key(|(_, e)| e.seq).map(|(id, _)| *id);
            match oldest {
                Some(id) => inner.entries.remove(&id),
                None => break,
            };
        }
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        inner.entries.insert(entry.session.id, entry);
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave an entry half-written (inserts are single
        // map operations), so a poisoned cache is still consistent.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Step 5 of [`attestation::verify`] for PCRs, on an already verified document.
fn check_pcrs(doc: &AttestationDoc, pcrs: &BTreeMap<u8, Vec<u8>>) -> Result<(), VerifyError> {
    for (index, want) in pcrs {
        match doc.pcrs.get(index) {
            None => return Err(VerifyError::PcrMissing { index: *index }),
            Some(got) if got != want => return Err(VerifyError::PcrMismatch { index: *index }),
            Some(_) => {}
        }
    }
    Ok(())
}

/// The earliest `notAfter` (Unix seconds) of the certificates the verifier checks: the leaf and
/// the intermediates (`cabundle[1..]`; `cabundle[0]`, the document's copy of the root, is
/// ignored by the verifier). `None` when one cannot be read.
fn chain_not_after(doc: &AttestationDoc) -> Option<u64> {
    let mut earliest = certificate_not_after(&doc.certificate)?;
    for cert in doc.cabundle.iter().skip(1) {
        earliest = earliest.min(certificate_not_after(cert)?);
    }
    Some(earliest)
}

/// `notAfter` of a DER X.509 certificate, as Unix seconds (x509-cert's parser).
pub(crate) fn certificate_not_after(der: &[u8]) -> Option<u64> {
    use x509_cert::der::Decode as _;
    let certificate = x509_cert::Certificate::from_der(der).ok()?;
    Some(certificate.tbs_certificate().validity().not_after.to_unix_duration().as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_not_after_of_test_certificates() {
        use signer_common::attestation::test_pki::{TestPki, TestPkiParams};
        let mut params = TestPkiParams::new("t", (2024, 1, 1), (2100, 1, 1));
        params.leaf_validity = Some(((2024, 1, 1), (2030, 6, 15)));
        let pki = TestPki::new(&params);
        assert_eq!(certificate_not_after(&pki.root_der), Some(4_102_444_800));
        assert_eq!(certificate_not_after(&pki.leaf_der), Some(1_907_712_000), "2030-06-15T00:00:00Z");
        assert_eq!(certificate_not_after(&[]), None);
        assert_eq!(certificate_not_after(&pki.leaf_der[..40]), None);
    }

    #[test]
    fn reads_the_chain_end_of_real_aws_documents() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../common/tests/data/nitro");
        let expected: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let mut seen = 0;
        for (name, want) in expected.as_object().unwrap() {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            let document = attestation::document_from_file_bytes(&bytes).unwrap();
            let at = want["verify_at_unix_s"].as_u64().unwrap();
            let doc = attestation::verify(
                &document,
                &TrustedRoot::aws_nitro_root_g1(),
                at,
                &Expectations::default(),
            )
            .unwrap();
            let end = chain_not_after(&doc).unwrap();
            // Valid at `at`; the leaf lives about 3 hours, so the chain ends within a day.
            assert!(at <= end && end < at + 86_400, "{name}: {at} {end}");
            assert!(end >= doc.timestamp / 1000, "{name}");
            seen += 1;
        }
        assert!(seen > 0);
    }
}
