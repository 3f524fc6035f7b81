//! The AWS verification procedure (aws-nitro-enclaves-nsm-api, docs/attestation_process.md).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lc_rs::signature::{ECDSA_P384_SHA384_FIXED, UnparsedPublicKey};
use rustls_pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};

use super::doc::{AttestationDoc, parse_payload};
use super::{TrustedRoot, VerifyError, cose};

/// What the caller expects the document to say. Empty (the default) checks nothing beyond
/// authenticity.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Expectations {
    /// Each listed PCR must be present and equal.
    pub pcrs: BTreeMap<u8, Vec<u8>>,
    /// When set, `user_data` must be present and equal.
    pub user_data: Option<Vec<u8>>,
    /// When set, `nonce` must be present and equal.
    pub nonce: Option<Vec<u8>>,
    /// When set, `public_key` must be present and equal.
    pub public_key: Option<Vec<u8>>,
    /// When set, the document's `timestamp` must be within this of the verification time, in
    /// either direction (an NSM clock ahead of the verifier's counts as much as a stale
    /// document). A nonce proves freshness better; this bounds documents fetched without one.
    pub max_age: Option<Duration>,
}

/// Signature algorithms accepted on certificates in the chain (AWS uses P-384/SHA-384).
static CHAIN_ALGS: &[&dyn SignatureVerificationAlgorithm] = &[
    webpki::aws_lc_rs::ECDSA_P384_SHA384,
    webpki::aws_lc_rs::ECDSA_P256_SHA256,
    webpki::aws_lc_rs::ECDSA_P384_SHA256,
    webpki::aws_lc_rs::ECDSA_P256_SHA384,
];

/// Extended key usage is not required (AWS certificates carry none); when present it must
/// still be well-formed.
struct NoEkuRequired;

impl webpki::ExtendedKeyUsageValidator for NoEkuRequired {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

/// Largest document accepted (real ones are under 12 KiB, the NSM response limit).
pub const MAX_DOCUMENT_LEN: usize = 64 * 1024;

/// Verifies an attestation document per the AWS procedure; returns the decoded payload on
/// success.
///
/// `at_unix_seconds` is the time at which every certificate of the chain must be valid
/// (normally now).
pub fn verify(
    document: &[u8],
    root: &TrustedRoot,
    at_unix_seconds: u64,
    expect: &Expectations,
) -> Result<AttestationDoc, VerifyError> {
    // Steps 1 and 2: COSE_Sign1 structure and payload syntax.
    let (sign1, doc) = decode(document)?;
    // Step 3: certificate chain to the pinned root.
    verify_chain(&doc, root, at_unix_seconds)?;
    // Step 4: the COSE signature with the leaf's key.
    verify_signature(&sign1, &doc.certificate)?;
    // Step 5: the caller's expectations.
    check_expectations(&doc, expect, at_unix_seconds)?;
    Ok(doc)
}

/// Steps 1 and 2 only (no authenticity).
pub(crate) fn decode(document: &[u8]) -> Result<(cose::Sign1, AttestationDoc), VerifyError> {
    if document.len() > MAX_DOCUMENT_LEN {
        return Err(VerifyError::Cose(format!(
            "document is {} bytes, at most {MAX_DOCUMENT_LEN} accepted",
            document.len()
        )));
    }
    // Step 1: COSE_Sign1, tagged (18) or untagged, protected header exactly {1: -35},
    // nothing after the item.
    let sign1 = cose::decode_sign1(document)?;
    // Step 2: payload fields present, typed and sized as AWS specifies.
    let doc = parse_payload(&sign1.payload)?;
    Ok((sign1, doc))
}

/// Step 3: leaf -> cabundle[n-1] -> ... -> cabundle[1] -> pinned root. The root inside the
/// document (cabundle[0]) is ignored; only `root` is trusted. Every certificate must be valid at
/// `at_unix_seconds`; the leaf must not be a CA.
fn verify_chain(doc: &AttestationDoc, root: &TrustedRoot, at_unix_seconds: u64) -> Result<(), VerifyError> {
    let chain_err = |msg: String| VerifyError::Chain(msg);

    let root_der = CertificateDer::from(root.der());
    let anchor = webpki::anchor_from_trusted_cert(&root_der)
        .map_err(|e| chain_err(format!("trusted root unusable: {e}")))?;
    let anchors = [anchor];

    let leaf_der = CertificateDer::from(doc.certificate.as_slice());
    let leaf = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| chain_err(format!("leaf certificate does not parse: {e}")))?;

    // cabundle[1..] are the intermediates; order them leaf-side first, as the path will be.
    let intermediates: Vec<CertificateDer<'_>> =
        doc.cabundle.iter().skip(1).rev().map(|c| CertificateDer::from(c.as_slice())).collect();

    let time = UnixTime::since_unix_epoch(Duration::from_secs(at_unix_seconds));
    let path = leaf
        .verify_for_usage(CHAIN_ALGS, &anchors, &intermediates, time, NoEkuRequired, None, None)
        .map_err(|e| chain_err(describe_webpki_error(&e)))?;

    // The path must be exactly the cabundle, in order: no certificate skipped or reordered.
    let used: Vec<CertificateDer<'_>> = path.intermediate_certificates().map(|c| c.der()).collect();
    if used != intermediates {
        return Err(chain_err(format!(
            "the chain uses {} of the {} cabundle intermediates, not all of them in order",
            used.len(),
            intermediates.len()
        )));
    }
    Ok(())
}

fn describe_webpki_error(e: &webpki::Error) -> String {
    match e {
        webpki::Error::CertExpired { time, not_after } => {
            format!("a certificate expired at {} (verification time {})", not_after.as_secs(), time.as_secs())
        }
        webpki::Error::CertNotValidYet { time, not_before } => format!(
            "a certificate is not valid before {} (verification time {})",
            not_before.as_secs(),
            time.as_secs()
        ),
        webpki::Error::UnknownIssuer => "the certificates do not chain to the trusted root".to_string(),
        webpki::Error::CaUsedAsEndEntity => "the leaf certificate is a CA".to_string(),
        webpki::Error::InvalidSignatureForPublicKey => "a certificate signature is invalid".to_string(),
        other => format!("{other}"),
    }
}

/// Step 4: ES384 over the COSE Sig_structure with the leaf's public key. High-S signatures are
/// accepted (real NSMs emit them).
fn verify_signature(sign1: &cose::Sign1, leaf_der: &[u8]) -> Result<(), VerifyError> {
    let leaf_der = CertificateDer::from(leaf_der);
    let leaf = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| VerifyError::Signature(format!("leaf certificate does not parse: {e}")))?;
    let spki = leaf.subject_public_key_info();
    let tbs = cose::sig_structure(&sign1.protected, &sign1.payload);
    UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, spki.as_ref()).verify(&tbs, &sign1.signature).map_err(
        |_| {
            VerifyError::Signature(
                "the ES384 signature does not verify with the leaf certificate's P-384 key".to_string(),
            )
        },
    )
}

/// Step 5: PCRs, user_data, nonce, public_key and age against what the caller expects.
fn check_expectations(
    doc: &AttestationDoc,
    expect: &Expectations,
    at_unix_seconds: u64,
) -> Result<(), VerifyError> {
    if let Some(max_age) = expect.max_age {
        let at_ms = u128::from(at_unix_seconds) * 1000;
        let distance_ms = at_ms.abs_diff(u128::from(doc.timestamp));
        if distance_ms > max_age.as_millis() {
            return Err(VerifyError::Age {
                timestamp_ms: doc.timestamp,
                at_unix_seconds,
                max_age_seconds: max_age.as_secs(),
            });
        }
    }
    for (index, want) in &expect.pcrs {
        match doc.pcrs.get(index) {
            None => return Err(VerifyError::PcrMissing { index: *index }),
            Some(got) if got != want => return Err(VerifyError::PcrMismatch { index: *index }),
            Some(_) => {}
        }
    }
    let fields = [
        ("user_data", &expect.user_data, &doc.user_data),
        ("nonce", &expect.nonce, &doc.nonce),
        ("public_key", &expect.public_key, &doc.public_key),
    ];
    for (field, want, got) in fields {
        if let Some(want) = want
            && got.as_ref() != Some(want)
        {
            return Err(VerifyError::FieldMismatch { field });
        }
    }
    Ok(())
}
