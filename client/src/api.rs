//! The JSON answers of the parent's HTTP API, as this client reads them: the shared types of
//! [`signer_common::api`] (the parent writes the same ones), under the SDK's names, and the
//! decoded attestation answer.
//!
//! Nothing here is trusted: these are the parent's claims. [`crate::request`] verifies them
//! against what was asked.

use std::collections::BTreeMap;

pub use signer_common::api::{
    AnswerError, EvidenceBytes as SignatureEvidence, Signature as SignatureResult, SignatureParts, Wallet,
    WalletList, attestation_mode_name, parse_attestation_mode, parse_session_id,
};
pub(crate) use signer_common::api::{AttestationAnswer, ErrorAnswer, SessionDocumentAnswer};

/// The answer to `GET /enclave/attestation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnclaveAttestation {
    /// The COSE_Sign1 attestation document.
    pub attestation: Vec<u8>,
    /// The PCRs the parent says the document carries (verify the document to trust them).
    pub pcrs: BTreeMap<u8, Vec<u8>>,
}
