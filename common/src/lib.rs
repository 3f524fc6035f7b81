//! Types and codecs shared by the enclave, the parent and clients.
//!
//! Everything here is sans-I/O: no sockets, no async, no global state, so a client can embed it.
//! - [`api`]: the JSON types of the parent's HTTP API and the parsing of its headers.
//! - [`frame`]: the length-prefixed framing of the enclave socket.
//! - [`mock_pcrs`]: the PCRs the mock NSM reports for an image (dev mode's `pcrs.json`).
//! - [`protocol`]: the versioned CBOR request/response messages carried in those frames.
//! - [`receipt`]: the deterministic CBOR receipt that describes every signing result.
//! - [`attestation`]: the Nitro attestation document model and its verifier.
//! - [`session`]: session receipts (a receipt key attested once).
//! - [`encoding`]: the hex and base64url forms used in JSON.
//! - [`ed25519`]: Ed25519 verification as `verify_strict` decides it, faster.
//! - [`identity`]: notarized records (users, credentials, applications, wallet owners) and enclave tokens.
//! - [`userauth`]: credential public keys and the checks of end-user assertions and registrations.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod attestation;
pub mod ed25519;
pub mod encoding;
pub mod frame;
pub mod identity;
pub mod mock_pcrs;
pub mod protocol;
pub mod receipt;
pub mod session;
pub mod userauth;
