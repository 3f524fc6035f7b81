//! The root certificate a verifier trusts.

use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use sha2::{Digest as _, Sha256};

use super::VerifyError;

/// The AWS Nitro Enclaves Root-G1 certificate (DER), as published by AWS and found in
/// `cabundle[0]` of every real attestation document.
const AWS_NITRO_ROOT_G1_DER: &[u8] = include_bytes!("aws_root_g1.der");

/// SHA-256 of [`AWS_NITRO_ROOT_G1_DER`], as published by AWS.
pub const AWS_NITRO_ROOT_G1_SHA256_HEX: &str =
    "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

/// Largest root certificate accepted.
const MAX_ROOT_LEN: usize = 16 * 1024;

/// The root a verifier trusts (a DER certificate that parses as a trust anchor).
#[derive(Clone, PartialEq, Eq)]
pub struct TrustedRoot {
    der: Vec<u8>,
}

impl TrustedRoot {
    /// The embedded, pinned AWS Nitro Enclaves Root-G1.
    pub fn aws_nitro_root_g1() -> TrustedRoot {
        TrustedRoot { der: AWS_NITRO_ROOT_G1_DER.to_vec() }
    }

    /// A root from a DER certificate.
    pub fn from_der(der: Vec<u8>) -> Result<TrustedRoot, VerifyError> {
        if der.is_empty() || der.len() > MAX_ROOT_LEN {
            return Err(VerifyError::InvalidRoot(format!("certificate is {} bytes", der.len())));
        }
        let cert = CertificateDer::from(der.as_slice());
        webpki::anchor_from_trusted_cert(&cert)
            .map_err(|e| VerifyError::InvalidRoot(format!("not a usable certificate: {e}")))?;
        Ok(TrustedRoot { der })
    }

    /// A root from a PEM `CERTIFICATE` block (the first one if there are several).
    pub fn from_pem(pem: &str) -> Result<TrustedRoot, VerifyError> {
        let cert = CertificateDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| VerifyError::InvalidRoot(format!("no PEM certificate: {e}")))?;
        TrustedRoot::from_der(cert.as_ref().to_vec())
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The certificate as a PEM `CERTIFICATE` block (64-character lines, trailing newline).
    pub fn to_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 64);
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let mut rest = b64.as_str();
        while !rest.is_empty() {
            let (line, tail) = rest.split_at(rest.len().min(64));
            out.push_str(line);
            out.push('\n');
            rest = tail;
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    /// SHA-256 of the DER certificate, lowercase hex (the usual pinning fingerprint).
    pub fn sha256_hex(&self) -> String {
        hex::encode(Sha256::digest(&self.der))
    }
}

impl std::fmt::Debug for TrustedRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustedRoot").field("sha256", &self.sha256_hex()).finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn embedded_aws_root_is_pinned() {
        let root = TrustedRoot::aws_nitro_root_g1();
        assert_eq!(root.sha256_hex(), AWS_NITRO_ROOT_G1_SHA256_HEX);
        // And it is usable as a trust anchor.
        TrustedRoot::from_der(root.der().to_vec()).unwrap();
    }

    #[test]
    fn pem_roundtrip() {
        let root = TrustedRoot::aws_nitro_root_g1();
        let pem = root.to_pem();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\nMII"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(TrustedRoot::from_pem(&pem).unwrap(), root);
    }

    #[test]
    fn rejects_garbage() {
        assert!(TrustedRoot::from_der(vec![]).is_err());
        assert!(TrustedRoot::from_der(vec![0x30, 0x03, 1, 2, 3]).is_err());
        assert!(TrustedRoot::from_pem("hello").is_err());
        assert!(
            TrustedRoot::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").is_err()
        );
    }
}
