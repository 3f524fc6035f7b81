//! A mock NSM for development and tests. It signs real COSE_Sign1 ES384 attestation documents
//! with a local P-384 PKI of the same shape as AWS's (root -> intermediate -> short-lived leaf),
//! so mock runs go through exactly the verifier production uses; only the pinned root differs.
//!
//! State under `state_dir`: `root-ca.pem` (the root's PKCS#8 key and certificate, mode 0600),
//! made once and kept, and `root-cert.pem` (the root certificate alone, for pinning). A fresh
//! intermediate CA and leaf are made at each start; the leaf lives three hours and is replaced
//! transparently an hour before it expires.

mod pki;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock, TryLockError};

use aws_lc_rs::digest::{Context, SHA384, digest};
use aws_lc_rs::rand::SystemRandom;
use rcgen::{Issuer, KeyPair};
use signer_common::attestation::{AttestationDoc, DIGEST_SHA384, Expectations, TrustedRoot, cose, verify};
use signer_common::mock_pcrs::PCR_LEN;

use super::{FIRST_APPLICATION_PCR, MAX_EXTEND_DATA_LEN, Nsm, NsmError, PCR_COUNT, check_attestation_inputs};
use pki::{
    Intermediate, LEAF_LIFETIME_MS, Leaf, SECOND_MS, fill, load_or_create_root, make_intermediate, make_leaf,
    prepare_dir, root_params, write_public_root,
};
pub use pki::{ROOT_CERT_FILE, ROOT_FILE};

/// Milliseconds since the epoch (the enclave's injected clock).
pub use crate::clock::Clock as ClockMs;

/// A mock Nitro Secure Module: PCR bank, random source and attestation with a local PKI.
pub struct MockNsm {
    root_pem: String,
    root_der: Vec<u8>,
    root: Issuer<'static, KeyPair>,
    module_id: String,
    clock: ClockMs,
    rng: SystemRandom,
    pcrs: Mutex<PcrBank>,
    /// The leaf that signs documents; swapped (never mutated) on rotation.
    current: RwLock<Arc<Leaf>>,
    /// Held only while making a new leaf (and, when needed, a new intermediate).
    rotation: Mutex<Arc<Intermediate>>,
}

struct PcrBank {
    values: [[u8; PCR_LEN]; PCR_COUNT as usize],
    /// Bit i set: PCR i is read-only.
    locked: u32,
    /// Bit i set: PCR i (16 and up) has been extended and is reported.
    extended: u32,
}

impl PcrBank {
    fn new(image: &[u8]) -> PcrBank {
        let mut values = [[0u8; PCR_LEN]; PCR_COUNT as usize];
        // The same derivation that dev mode publishes as DATA_DIR/pcrs.json.
        for (slot, value) in values.iter_mut().zip(signer_common::mock_pcrs::mock_pcrs(image)) {
            *slot = value;
        }
        PcrBank { values, locked: (1u32 << FIRST_APPLICATION_PCR) - 1, extended: 0 }
    }

    /// PCRs 0..=15, and every extended PCR above.
    fn snapshot(&self) -> BTreeMap<u8, Vec<u8>> {
        (0u8..)
            .zip(self.values.iter())
            .filter(|(i, _)| u16::from(*i) < FIRST_APPLICATION_PCR || self.extended & bit(*i) != 0)
            .map(|(i, v)| (i, v.to_vec()))
            .collect()
    }

    fn extend(&mut self, index: u16, data: &[u8]) -> Result<Vec<u8>, NsmError> {
        if data.len() > MAX_EXTEND_DATA_LEN {
            return Err(NsmError::InputTooLarge {
                field: "PCR extension data",
                len: data.len(),
                max: MAX_EXTEND_DATA_LEN,
            });
        }
        let mask = pcr_bit(index)?;
        if self.locked & mask != 0 {
            return Err(NsmError::ReadOnlyIndex(index));
        }
        let slot = self.values.get_mut(usize::from(index)).ok_or(NsmError::InvalidIndex(index))?;
        *slot = sha384(&[slot.as_slice(), data]);
        self.extended |= mask;
        Ok(slot.to_vec())
    }

    fn lock(&mut self, index: u16) -> Result<(), NsmError> {
        self.locked |= pcr_bit(index)?;
        Ok(())
    }
}

fn bit(index: u8) -> u32 {
    1u32.checked_shl(u32::from(index)).unwrap_or(0)
}

fn pcr_bit(index: u16) -> Result<u32, NsmError> {
    u8::try_from(index)
        .ok()
        .filter(|i| u16::from(*i) < PCR_COUNT)
        .map(bit)
        .ok_or(NsmError::InvalidIndex(index))
}

fn sha384(parts: &[&[u8]]) -> [u8; PCR_LEN] {
    let mut ctx = Context::new(&SHA384);
    for part in parts {
        ctx.update(part);
    }
    let mut out = [0u8; PCR_LEN];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl MockNsm {
    /// Opens (creating on first use) the mock PKI under `state_dir` (e.g. DATA_DIR/mock-nsm/).
    /// `image` is the enclave executable's bytes: PCR0 = SHA-384(image), PCR1 and PCR2 derive
    /// from it, PCR3..=15 are zero; all of 0..=15 are locked, 16 and up are extendable.
    pub fn open(state_dir: &Path, image: &[u8]) -> Result<MockNsm, NsmError> {
        MockNsm::open_with_clock(state_dir, image, crate::clock::system_clock())
    }

    /// As [`MockNsm::open`], with an injected clock (milliseconds since the Unix epoch) used for
    /// document timestamps and certificate validity.
    pub fn open_with_clock(state_dir: &Path, image: &[u8], clock: ClockMs) -> Result<MockNsm, NsmError> {
        let rng = SystemRandom::new();
        let now = clock();
        prepare_dir(state_dir)?;
        let (root_key, root_der) = load_or_create_root(state_dir, now, &rng)?;
        let root_pem = TrustedRoot::from_der(root_der.clone())
            .map_err(|e| NsmError::State(format!("{ROOT_FILE}: {e}")))?
            .to_pem();
        write_public_root(state_dir, &root_pem)?;
        let root = Issuer::new(root_params(now)?, root_key);

        let mut id = [0u8; 8];
        fill(&rng, &mut id)?;
        let module_id = format!("i-mock-enc{}", hex::encode(id));

        let intermediate = Arc::new(make_intermediate(&root, &module_id, now, &rng)?);
        let leaf = Arc::new(make_leaf(&intermediate, &root_der, &module_id, now, &rng)?);
        let pcrs = PcrBank::new(image);
        let pcr0 = pcrs.values[0].to_vec();
        let nsm = MockNsm {
            root_pem,
            root_der,
            root,
            module_id,
            clock,
            rng,
            pcrs: Mutex::new(pcrs),
            current: RwLock::new(leaf),
            rotation: Mutex::new(intermediate),
        };
        nsm.self_test(now, pcr0)?;
        Ok(nsm)
    }

    /// The mock root certificate (DER).
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// This instance's module id (`i-mock-enc...`, new at each start).
    pub fn module_id(&self) -> &str {
        &self.module_id
    }

    /// One document, verified with the production verifier against the root just loaded: catches
    /// a state directory whose key and certificate do not belong together.
    fn self_test(&self, now_ms: u64, pcr0: Vec<u8>) -> Result<(), NsmError> {
        let doc = self.attest(None, Some(b"mock-nsm self-test"), None)?;
        let root = TrustedRoot::from_der(self.root_der.clone())
            .map_err(|e| NsmError::Pki(format!("self-test: {e}")))?;
        let expect = Expectations { pcrs: [(0u8, pcr0)].into(), ..Expectations::default() };
        verify(&doc, &root, now_ms / SECOND_MS, &expect)
            .map_err(|e| NsmError::Pki(format!("self-test failed: {e}")))?;
        Ok(())
    }

    fn lock_pcrs(&self) -> std::sync::MutexGuard<'_, PcrBank> {
        self.pcrs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The leaf to sign with at `now_ms`, replacing it first if it is near or past expiry.
    fn leaf_for(&self, now_ms: u64) -> Result<Arc<Leaf>, NsmError> {
        let current = self.current_leaf();
        if current.fresh_at(now_ms) {
            return Ok(current);
        }
        // Renewal is due. While the current leaf is still valid, let whoever is already renewing
        // do it and keep signing with the current one.
        let mut intermediate = if current.valid_at(now_ms) {
            match self.rotation.try_lock() {
                Ok(guard) => guard,
                Err(TryLockError::WouldBlock) => return Ok(current),
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
            }
        } else {
            self.rotation.lock().unwrap_or_else(PoisonError::into_inner)
        };
        let current = self.current_leaf();
        if current.fresh_at(now_ms) {
            return Ok(current);
        }
        let leaf_end = now_ms.saturating_add(LEAF_LIFETIME_MS);
        if now_ms < intermediate.not_before_ms || intermediate.not_after_ms < leaf_end {
            *intermediate = Arc::new(make_intermediate(&self.root, &self.module_id, now_ms, &self.rng)?);
        }
        let leaf = Arc::new(make_leaf(&intermediate, &self.root_der, &self.module_id, now_ms, &self.rng)?);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::clone(&leaf);
        Ok(leaf)
    }

    fn current_leaf(&self) -> Arc<Leaf> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl std::fmt::Debug for MockNsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockNsm").field("module_id", &self.module_id).finish_non_exhaustive()
    }
}

impl Nsm for MockNsm {
    fn attest(
        &self,
        user_data: Option<&[u8]>,
        nonce: Option<&[u8]>,
        public_key: Option<&[u8]>,
    ) -> Result<Vec<u8>, NsmError> {
        check_attestation_inputs(user_data, nonce, public_key)?;
        let now = (self.clock)();
        let leaf = self.leaf_for(now)?;
        let pcrs = self.lock_pcrs().snapshot();
        let doc = AttestationDoc {
            module_id: self.module_id.clone(),
            digest: DIGEST_SHA384.to_string(),
            timestamp: now.max(1),
            pcrs,
            certificate: leaf.certificate.clone(),
            cabundle: leaf.cabundle.clone(),
            public_key: public_key.map(<[u8]>::to_vec),
            user_data: user_data.map(<[u8]>::to_vec),
            nonce: nonce.map(<[u8]>::to_vec),
        };
        let payload = doc.to_cbor();
        let tbs = cose::sig_structure(&cose::ES384_PROTECTED_HEADER, &payload);
        let signature = leaf
            .key
            .sign(&self.rng, &tbs)
            .map_err(|_| NsmError::Pki("signing the document failed".to_string()))?;
        Ok(cose::encode_sign1(&cose::ES384_PROTECTED_HEADER, &payload, signature.as_ref()))
    }

    fn pcrs(&self) -> Result<BTreeMap<u8, Vec<u8>>, NsmError> {
        Ok(self.lock_pcrs().snapshot())
    }

    fn extend_pcr(&self, index: u16, data: &[u8]) -> Result<Vec<u8>, NsmError> {
        self.lock_pcrs().extend(index, data)
    }

    fn lock_pcr(&self, index: u16) -> Result<(), NsmError> {
        self.lock_pcrs().lock(index)
    }

    fn random(&self, buf: &mut [u8]) -> Result<(), NsmError> {
        fill(&self.rng, buf)
    }

    fn root_certificate_pem(&self) -> String {
        self.root_pem.clone()
    }

    fn kind(&self) -> &'static str {
        "mock"
    }
}

/// SHA-384 of the enclave image: the mock's PCR0.
pub fn image_pcr0(image: &[u8]) -> Vec<u8> {
    digest(&SHA384, image).as_ref().to_vec()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::pki::{DAY_MS, HOUR_MS};
    use super::*;

    const T0_MS: u64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
    const IMAGE: &[u8] = b"pretend this is the enclave binary";

    fn fixed_clock() -> (Arc<AtomicU64>, ClockMs) {
        let now = Arc::new(AtomicU64::new(T0_MS));
        let reader = Arc::clone(&now);
        (now, Arc::new(move || reader.load(Ordering::SeqCst)))
    }

    fn root_of(nsm: &MockNsm) -> TrustedRoot {
        TrustedRoot::from_pem(&nsm.root_certificate_pem()).unwrap()
    }

    #[test]
    fn document_verifies_against_the_mock_root() {
        let dir = tempfile::tempdir().unwrap();
        let (_, clock) = fixed_clock();
        let nsm = MockNsm::open_with_clock(dir.path(), IMAGE, clock).unwrap();
        assert_eq!(nsm.kind(), "mock");
        let doc = nsm.attest(Some(b"user data"), Some(b"nonce"), Some(b"public key")).unwrap();
        let expect = Expectations {
            pcrs: [(0u8, image_pcr0(IMAGE))].into(),
            user_data: Some(b"user data".to_vec()),
            nonce: Some(b"nonce".to_vec()),
            public_key: Some(b"public key".to_vec()),
            max_age: None,
        };
        let got = verify(&doc, &root_of(&nsm), T0_MS / 1000, &expect).unwrap();
        assert_eq!(got.timestamp, T0_MS);
        assert_eq!(got.digest, "SHA384");
        assert!(got.module_id.starts_with("i-mock-enc"));
        assert_eq!(got.module_id, nsm.module_id());
        assert_eq!(got.pcrs.len(), 16);
        assert!(got.pcrs.values().all(|v| v.len() == 48));
        assert_eq!(got.pcrs, nsm.pcrs().unwrap());
        assert_eq!(got.pcrs[&3], vec![0; 48]);
        assert_ne!(got.pcrs[&1], got.pcrs[&2]);
        assert_eq!(got.cabundle.len(), 2);
        assert_eq!(got.cabundle[0], nsm.root_der());
        // Untagged COSE_Sign1, as AWS emits.
        assert_eq!(doc[0], 0x84);
        // Absent fields are null and verify too.
        let bare = nsm.attest(None, None, None).unwrap();
        let got = verify(&bare, &root_of(&nsm), T0_MS / 1000, &Expectations::default()).unwrap();
        assert_eq!((got.user_data, got.nonce, got.public_key), (None, None, None));
    }

    #[test]
    fn mock_documents_fail_against_the_aws_root_and_other_images() {
        let dir = tempfile::tempdir().unwrap();
        let (_, clock) = fixed_clock();
        let nsm = MockNsm::open_with_clock(dir.path(), IMAGE, clock).unwrap();
        let doc = nsm.attest(None, None, None).unwrap();
        let aws = TrustedRoot::aws_nitro_root_g1();
        assert!(verify(&doc, &aws, T0_MS / 1000, &Expectations::default()).is_err());
        let other_image =
            Expectations { pcrs: [(0u8, image_pcr0(b"another image"))].into(), ..Expectations::default() };
        assert!(verify(&doc, &root_of(&nsm), T0_MS / 1000, &other_image).is_err());
    }

    #[test]
    fn root_persists_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let (_, clock) = fixed_clock();
        let first = MockNsm::open_with_clock(dir.path(), IMAGE, Arc::clone(&clock)).unwrap();
        let second = MockNsm::open_with_clock(dir.path(), IMAGE, clock).unwrap();
        assert_eq!(first.root_der(), second.root_der());
        assert_eq!(first.root_certificate_pem(), second.root_certificate_pem());
        // A fresh module id and intermediate per start, same root.
        assert_ne!(first.module_id(), second.module_id());
        let doc = second.attest(None, None, None).unwrap();
        verify(&doc, &root_of(&first), T0_MS / 1000, &Expectations::default()).unwrap();
        let public = std::fs::read_to_string(dir.path().join(ROOT_CERT_FILE)).unwrap();
        assert_eq!(public, first.root_certificate_pem());
        // Another directory, another root.
        let other_dir = tempfile::tempdir().unwrap();
        let other = MockNsm::open(other_dir.path(), IMAGE).unwrap();
        assert_ne!(other.root_der(), first.root_der());
    }

    #[cfg(unix)]
    #[test]
    fn key_file_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("mock-nsm");
        let _nsm = MockNsm::open(&state, IMAGE).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state.join(ROOT_FILE)), 0o600);
        assert_eq!(mode(&state), 0o700);
        // Only the two state files remain (no temporaries).
        let mut names: Vec<_> = std::fs::read_dir(&state)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [ROOT_FILE, ROOT_CERT_FILE]);
        // A loosened mode is tightened again on open.
        std::fs::set_permissions(state.join(ROOT_FILE), std::fs::Permissions::from_mode(0o644)).unwrap();
        let _nsm = MockNsm::open(&state, IMAGE).unwrap();
        assert_eq!(mode(&state.join(ROOT_FILE)), 0o600);
    }

    #[test]
    fn corrupt_state_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ROOT_FILE), "garbage").unwrap();
        let e = MockNsm::open(dir.path(), IMAGE).unwrap_err();
        assert!(matches!(e, NsmError::State(_)), "{e}");
        // A key and a certificate that do not belong together.
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        MockNsm::open(a.path(), IMAGE).unwrap();
        MockNsm::open(b.path(), IMAGE).unwrap();
        let key_of = |d: &Path| {
            let s = std::fs::read_to_string(d.join(ROOT_FILE)).unwrap();
            s[..s.find("-----BEGIN CERTIFICATE").unwrap()].to_string()
        };
        let cert_of = |d: &Path| std::fs::read_to_string(d.join(ROOT_CERT_FILE)).unwrap();
        std::fs::write(a.path().join(ROOT_FILE), format!("{}{}", key_of(a.path()), cert_of(b.path())))
            .unwrap();
        let e = MockNsm::open(a.path(), IMAGE).unwrap_err();
        assert!(e.to_string().contains("not for the private key"), "{e}");
    }

    #[test]
    fn extend_and_lock() {
        let dir = tempfile::tempdir().unwrap();
        let nsm = MockNsm::open(dir.path(), IMAGE).unwrap();
        // Boot PCRs are read-only.
        for i in 0..16 {
            assert!(matches!(nsm.extend_pcr(i, b"x"), Err(NsmError::ReadOnlyIndex(j)) if j == i));
        }
        assert!(matches!(nsm.extend_pcr(32, b"x"), Err(NsmError::InvalidIndex(32))));
        assert!(matches!(nsm.extend_pcr(u16::MAX, b"x"), Err(NsmError::InvalidIndex(_))));
        assert!(matches!(nsm.lock_pcr(32), Err(NsmError::InvalidIndex(32))));
        assert!(!nsm.pcrs().unwrap().contains_key(&16));

        let v1 = nsm.extend_pcr(16, b"app config").unwrap();
        assert_eq!(v1, sha384(&[&[0u8; 48], b"app config"]).to_vec());
        let v2 = nsm.extend_pcr(16, b"more").unwrap();
        assert_eq!(v2, sha384(&[&v1, b"more"]).to_vec());
        assert_eq!(nsm.pcrs().unwrap()[&16], v2);

        // Extended PCRs appear in documents.
        let doc = nsm.attest(None, None, None).unwrap();
        let expect = Expectations { pcrs: [(16u8, v2.clone())].into(), ..Expectations::default() };
        let now_s = crate::clock::system_clock()() / 1000;
        let got = verify(&doc, &root_of(&nsm), now_s, &expect).unwrap();
        assert_eq!(got.pcrs.len(), 17);

        nsm.lock_pcr(16).unwrap();
        assert!(matches!(nsm.extend_pcr(16, b"x"), Err(NsmError::ReadOnlyIndex(16))));
        assert_eq!(nsm.pcrs().unwrap()[&16], v2);
        nsm.lock_pcr(16).unwrap();
        // Others stay extendable.
        nsm.extend_pcr(31, b"x").unwrap();
        let too_big = vec![0u8; MAX_EXTEND_DATA_LEN + 1];
        assert!(matches!(nsm.extend_pcr(17, &too_big), Err(NsmError::InputTooLarge { .. })));
    }

    #[test]
    fn oversized_fields_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nsm = MockNsm::open(dir.path(), IMAGE).unwrap();
        let max = vec![1u8; 1024];
        let over = vec![1u8; 1025];
        nsm.attest(Some(&max), Some(&max), Some(&max)).unwrap();
        for (u, n, p) in
            [(Some(&over[..]), None, None), (None, Some(&over[..]), None), (None, None, Some(&over[..]))]
        {
            assert!(matches!(nsm.attest(u, n, p), Err(NsmError::InputTooLarge { .. })));
        }
    }

    #[test]
    fn leaf_is_renewed_before_it_expires() {
        let dir = tempfile::tempdir().unwrap();
        let (now, clock) = fixed_clock();
        let nsm = MockNsm::open_with_clock(dir.path(), IMAGE, clock).unwrap();
        let root = root_of(&nsm);
        let leaf_at = |ms: u64| {
            now.store(ms, Ordering::SeqCst);
            let doc = nsm.attest(None, None, None).unwrap();
            verify(&doc, &root, ms / 1000, &Expectations::default())
                .unwrap_or_else(|e| panic!("at {ms}: {e}"))
                .certificate
        };
        let first = leaf_at(T0_MS);
        assert_eq!(leaf_at(T0_MS + HOUR_MS), first);
        // Less than an hour left: a new leaf.
        let second = leaf_at(T0_MS + 2 * HOUR_MS + 1);
        assert_ne!(second, first);
        // Far beyond the intermediate's lifetime, and back in time: still valid documents.
        let third = leaf_at(T0_MS + 90 * DAY_MS);
        assert_ne!(third, second);
        let fourth = leaf_at(T0_MS - 10 * DAY_MS);
        assert_ne!(fourth, third);
        // A document is not valid a day after it was made.
        now.store(T0_MS, Ordering::SeqCst);
        let doc = nsm.attest(None, None, None).unwrap();
        assert!(verify(&doc, &root, T0_MS / 1000 + 86_400, &Expectations::default()).is_err());
    }

    #[test]
    fn attest_from_many_threads() {
        let dir = tempfile::tempdir().unwrap();
        let (now, clock) = fixed_clock();
        let nsm = Arc::new(MockNsm::open_with_clock(dir.path(), IMAGE, clock).unwrap());
        let root = root_of(&nsm);
        // Renewal due for every thread at once.
        now.store(T0_MS + 2 * HOUR_MS + 30 * 60 * 1000, Ordering::SeqCst);
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                let nsm = Arc::clone(&nsm);
                std::thread::spawn(move || {
                    (0..5).map(|_| nsm.attest(None, Some(&[t]), None).unwrap()).collect::<Vec<_>>()
                })
            })
            .collect();
        let at = now.load(Ordering::SeqCst) / 1000;
        for h in handles {
            for doc in h.join().unwrap() {
                verify(&doc, &root, at, &Expectations::default()).unwrap();
            }
        }
    }

    #[test]
    fn random_fills_the_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let nsm = MockNsm::open(dir.path(), IMAGE).unwrap();
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        nsm.random(&mut a).unwrap();
        nsm.random(&mut b).unwrap();
        assert_ne!(a, b);
        nsm.random(&mut []).unwrap();
    }

    #[test]
    fn debug_output_has_no_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let nsm = MockNsm::open(dir.path(), IMAGE).unwrap();
        let s = format!("{nsm:?}");
        assert!(s.starts_with("MockNsm { module_id: \"i-mock-enc"), "{s}");
    }
}
