//! Rust SDK for the enclave-isolated signer, and the library behind the `signer` and
//! `signer-load` command-line tools.
//!
//! - [`Client`]: a blocking client for the parent's HTTP API (plain HTTP only for now: this
//!   build has no TLS, see [`client`]). Its calls answer the parent's answer with the request
//!   ([`CreatedWallet`], [`SignedResult`]) and send a fresh random nonce unless given one.
//! - [`ImagePolicy`]: the enclave image (PCR0 at least) every verification requires, or the
//!   explicit [`ImagePolicy::danger_any_image`].
//! - [`verify_signing_result`]: end-to-end verification of a signing result (attestation
//!   document, its binding to the receipt, the receipt's signature, the expected wallet). The
//!   parent is untrusted; only what this verifies can be relied on.
//! - [`verify_session_result`] and [`SessionCache`]: the same for session mode, where the
//!   receipt is signed by a receipt key attested once in a session document, verified once and
//!   cached (see [`session`]).
//! - [`api`]: the parent's JSON answers (untrusted claims); [`request`]: an answer bound to its
//!   request, and its verification; [`signature`]: the receipt signature checks; [`error`]: the
//!   errors. Modules import one way: `error` <- `api`, `session`, `signature` <- `verify` <-
//!   `request` <- `client` <- `auth` (HTTP in a private `transport` module); `error` <-
//!   `credentials` <- `keys` <- `userauth` <- `client`.
//! - [`credentials`]: the `dev-credentials.json` file; [`keys`]: its Key credential
//!   ([`KeySigner`]); [`userauth`]: signing user actions and one-shot requests with any
//!   [`UserActionSigner`]; [`auth`]: registration, login, credentials, registration codes.
//! - [`cli`]: argument parsing and JSON rendering shared by the binaries.
//! - [`load`]: the load generator behind `signer-load`.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod auth;
pub mod cli;
pub mod client;
pub mod credentials;
pub mod error;
pub mod keys;
pub mod load;
pub mod request;
pub mod session;
pub mod signature;
mod transport;
pub mod userauth;
pub mod verify;

pub use api::{
    EnclaveAttestation, SignatureEvidence, SignatureParts, SignatureResult, Wallet, WalletList,
    attestation_mode_name, parse_attestation_mode,
};
pub use auth::Registered;
pub use client::{Client, fresh_nonce};
pub use credentials::{Credentials, LocalCredential, Secret};
pub use error::{ClientError, SignatureError, VerifyResultError};
pub use keys::{KeyAlgorithm, KeySigner};
pub use request::{CreatedWallet, SignRequest, SignedResult, WalletRequest, verify_wallet_record_of};
pub use session::{DEFAULT_SESSION_CACHE_CAPACITY, DEFAULT_SESSION_TTL, SessionCache, VerifiedSession};
pub use signer_common::attestation::{AttestationDoc, TrustedRoot};
pub use signer_common::protocol::{AttestationMode, Curve};
pub use signer_common::receipt::{Receipt, ReceiptKind};
pub use userauth::{AuthFlow, OneShotHeaders, UserActionSigner, fresh_request_id, one_shot_headers};
pub use verify::{
    ImagePolicy, ResultExpectations, VerifiedResult, WalletKey, check_receipt_expectations,
    verify_receipt_bytes, verify_receipt_signature, verify_session_result, verify_signing_result,
};
