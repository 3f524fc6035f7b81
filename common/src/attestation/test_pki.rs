//! TEST ONLY, NOT FOR PRODUCTION: a throwaway P-384 PKI of the same shape as AWS's Nitro PKI
//! (root, intermediate, leaf) that signs COSE_Sign1 ES384 attestation documents.
//!
//! Its keys are generated in memory for each [`TestPki`] and anyone holding one can make
//! documents that verify against its root, so a document it signs proves nothing. It is compiled
//! only for this crate's own tests and with the `test-pki` cargo feature, which only
//! `[dev-dependencies]` should enable. Failures panic: that is what a test wants.
// Test support: a failure here is a broken test, and panicking says so best.
#![allow(clippy::expect_used)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P384_SHA384, date_time_ymd,
};

use super::{AttestationDoc, TrustedRoot, cose};

/// The order `n` of the P-384 group, big-endian: an ECDSA signature `(r, s)` is "high-S" when
/// `s > n / 2`, and `(r, n - s)` is the other valid signature.
pub const P384_ORDER: [u8; 48] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xc7, 0x63, 0x4d, 0x81, 0xf4, 0x37, 0x2d, 0xdf, 0x58, 0x1a,
    0x0d, 0xb2, 0x48, 0xb0, 0xa7, 0x7a, 0xec, 0xec, 0x19, 0x6a, 0xcc, 0xc5, 0x29, 0x73,
];

/// A UTC calendar date `(year, month, day)`; a validity bound is that day's midnight.
pub type Date = (i32, u8, u8);

/// What [`TestPki::new`] makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestPkiParams {
    /// Names the certificates: `{name}.nitro-enclaves root`, `{name}.nitro-enclaves intermediate`
    /// and the leaf `i-{name}-enc0.{name}.nitro-enclaves`.
    pub name: String,
    /// The start of every certificate's validity (the leaf's unless `leaf_validity` is set).
    pub not_before: Date,
    /// The end of every certificate's validity (the leaf's unless `leaf_validity` is set).
    pub not_after: Date,
    /// The leaf's own `(not_before, not_after)`, when it differs from the CAs'.
    pub leaf_validity: Option<(Date, Date)>,
    /// Makes the leaf a CA certificate (which a verifier must refuse) instead of an end entity
    /// with only the digital-signature key usage.
    pub leaf_is_ca: bool,
}

impl TestPkiParams {
    /// Every certificate valid from `not_before` to `not_after`, with an end-entity leaf.
    pub fn new(name: &str, not_before: Date, not_after: Date) -> TestPkiParams {
        TestPkiParams { name: name.to_owned(), not_before, not_after, leaf_validity: None, leaf_is_ca: false }
    }
}

/// A root, an intermediate and a leaf certificate (DER), and the leaf's signing key.
pub struct TestPki {
    /// The self-signed root certificate.
    pub root_der: Vec<u8>,
    /// The intermediate, signed by the root.
    pub intermediate_der: Vec<u8>,
    /// The leaf, signed by the intermediate; it signs the documents.
    pub leaf_der: Vec<u8>,
    leaf_key: EcdsaKeyPair,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

fn ca_params(cn: &str, not_before: Date, not_after: Date) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages =
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(not_before.0, not_before.1, not_before.2);
    p.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
    p
}

fn p384_key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).expect("generate a P-384 key")
}

impl TestPki {
    /// Generates fresh keys and certificates.
    pub fn new(params: &TestPkiParams) -> TestPki {
        let TestPkiParams { name, not_before, not_after, leaf_validity, leaf_is_ca } = params;
        let (not_before, not_after) = (*not_before, *not_after);

        let root_key = p384_key();
        let root_params = ca_params(&format!("{name}.nitro-enclaves root"), not_before, not_after);
        let root_cert = root_params.self_signed(&root_key).expect("self-sign the root");
        let root = Issuer::new(root_params, root_key);

        let int_key = p384_key();
        let int_params = ca_params(&format!("{name}.nitro-enclaves intermediate"), not_before, not_after);
        let int_cert = int_params.signed_by(&int_key, &root).expect("sign the intermediate");
        let intermediate = Issuer::new(int_params, int_key);

        let leaf_key = p384_key();
        let (leaf_not_before, leaf_not_after) = leaf_validity.unwrap_or((not_before, not_after));
        let mut leaf_params =
            ca_params(&format!("i-{name}-enc0.{name}.nitro-enclaves"), leaf_not_before, leaf_not_after);
        if !leaf_is_ca {
            leaf_params.is_ca = IsCa::ExplicitNoCa;
            leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        }
        let leaf_cert = leaf_params.signed_by(&leaf_key, &intermediate).expect("sign the leaf");
        let leaf_key = EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &leaf_key.serialize_der())
            .expect("load the leaf key");
        TestPki {
            root_der: root_cert.der().to_vec(),
            intermediate_der: int_cert.der().to_vec(),
            leaf_der: leaf_cert.der().to_vec(),
            leaf_key,
        }
    }

    /// The root, to trust.
    pub fn root(&self) -> TrustedRoot {
        TrustedRoot::from_der(self.root_der.clone()).expect("the test root is a valid root")
    }

    /// A document's `cabundle`: the root, then the intermediate.
    pub fn cabundle(&self) -> Vec<Vec<u8>> {
        vec![self.root_der.clone(), self.intermediate_der.clone()]
    }

    /// The leaf's ES384 signature (`r || s`, 96 bytes) over `message`.
    pub fn sign_message(&self, message: &[u8]) -> Vec<u8> {
        let signature = self.leaf_key.sign(&SystemRandom::new(), message).expect("ES384 signature");
        signature.as_ref().to_vec()
    }

    /// An untagged COSE_Sign1 with this protected header and payload, signed by the leaf.
    pub fn sign_cose(&self, protected: &[u8], payload: &[u8]) -> Vec<u8> {
        let signature = self.sign_message(&cose::sig_structure(protected, payload));
        cose::encode_sign1(protected, payload, &signature)
    }

    /// `doc` as an attestation document: COSE_Sign1 ES384 (`{1: -35}`), signed by the leaf.
    pub fn sign(&self, doc: &AttestationDoc) -> Vec<u8> {
        self.sign_cose(&cose::ES384_PROTECTED_HEADER, &doc.to_cbor())
    }
}
