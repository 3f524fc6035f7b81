//! The Nitro Secure Module behind a trait: the real driver (`nitro`, feature `nitro`) and a
//! mock (`mock`, feature `mock-nsm`, in the default features but not in the enclave image) that signs real COSE_Sign1 ES384 documents with a local P-384 PKI of the same
//! shape as AWS's. Both go through the same verifier (`signer_common::attestation::verify`);
//! only the pinned root differs.

use std::collections::BTreeMap;

#[cfg(feature = "mock-nsm")]
pub mod mock;
#[cfg(feature = "nitro")]
pub mod nitro;

/// Number of PCRs an NSM exposes (indices 0..=31).
pub const PCR_COUNT: u16 = 32;
/// PCRs 0..=15 are measured at boot and read-only afterwards; 16 and up are for the application.
pub const FIRST_APPLICATION_PCR: u16 = 16;
/// Largest `user_data`, `nonce` or `public_key` the NSM accepts.
pub const MAX_ATTESTATION_FIELD_LEN: usize = signer_common::attestation::MAX_OPTIONAL_FIELD_LEN;
/// Largest data accepted by one PCR extension.
pub const MAX_EXTEND_DATA_LEN: usize = 4096;

/// A Nitro Secure Module (real or mock).
pub trait Nsm: Send + Sync {
    /// An attestation document (COSE_Sign1 bytes) with these optional fields.
    fn attest(
        &self,
        user_data: Option<&[u8]>,
        nonce: Option<&[u8]>,
        public_key: Option<&[u8]>,
    ) -> Result<Vec<u8>, NsmError>;
    /// Current PCR values (index -> bytes), at least 0..=15.
    fn pcrs(&self) -> Result<BTreeMap<u8, Vec<u8>>, NsmError>;
    /// Extends PCR `index` with `data` (new = SHA-384(old || data)); returns the new value.
    fn extend_pcr(&self, index: u16, data: &[u8]) -> Result<Vec<u8>, NsmError>;
    /// Makes PCR `index` read-only until the enclave restarts.
    fn lock_pcr(&self, index: u16) -> Result<(), NsmError>;
    /// Fills buf with random bytes from the NSM.
    fn random(&self, buf: &mut [u8]) -> Result<(), NsmError>;
    /// The root certificate clients must pin to verify this NSM's documents (PEM): AWS Root-G1
    /// for the real NSM, the mock root for the mock.
    fn root_certificate_pem(&self) -> String;
    /// Short name for logs: "mock" or "nitro".
    fn kind(&self) -> &'static str;
}

/// Why an NSM operation failed. Never carries key material.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum NsmError {
    /// The device could not be opened.
    #[error("NSM unavailable: {0}")]
    Unavailable(String),
    /// No PCR with this index.
    #[error("PCR{0} does not exist")]
    InvalidIndex(u16),
    /// The PCR is locked (read-only).
    #[error("PCR{0} is locked")]
    ReadOnlyIndex(u16),
    /// An input exceeds the NSM's limits.
    #[error("{field} is {len} bytes, at most {max} accepted")]
    InputTooLarge {
        /// Which input.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The NSM refused or failed the request.
    #[error("NSM request failed: {0}")]
    Device(String),
    /// The NSM answered with something other than what was asked for.
    #[error("unexpected NSM response to {0}")]
    UnexpectedResponse(&'static str),
    /// The mock NSM's state directory could not be read or written.
    #[error("mock NSM state: {0}")]
    State(String),
    /// Making or using the mock PKI failed.
    #[error("mock NSM PKI: {0}")]
    Pki(String),
}

/// Checks the optional attestation fields against the NSM limit.
#[cfg(any(feature = "mock-nsm", feature = "nitro"))]
pub(crate) fn check_attestation_inputs(
    user_data: Option<&[u8]>,
    nonce: Option<&[u8]>,
    public_key: Option<&[u8]>,
) -> Result<(), NsmError> {
    for (field, value) in [("user_data", user_data), ("nonce", nonce), ("public_key", public_key)] {
        if let Some(v) = value
            && v.len() > MAX_ATTESTATION_FIELD_LEN
        {
            return Err(NsmError::InputTooLarge { field, len: v.len(), max: MAX_ATTESTATION_FIELD_LEN });
        }
    }
    Ok(())
}
