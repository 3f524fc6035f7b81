//! The enclave: unseals wallet keys, signs, and attests, behind an NSM provider.
//!
//! - [`auth`]: user authorisation: notarized records, tokens, single use, and the checks of
//!   a call's user signature.
//! - [`ops`]: the operations (registration, login, wallets, credentials).
//! - [`refusal`]: error codes and messages, and shared shape checks.
//! - [`clock`]: the injected clock (milliseconds since the epoch).
//! - [`core`]: the sans-I/O request handler ([`core::EnclaveCore`]).
//! - [`server`]: the socket shell around it.
//! - [`nsm`]: the Nitro Secure Module behind a trait, with the real driver (feature `nitro`) and
//!   a mock that signs real COSE documents with a local test PKI (feature `mock-nsm`, default;
//!   left out of the enclave image).
//! - [`keys`], [`seal`], [`wallet`]: the master key and its derivations, sealed wallets, and
//!   per-curve keys.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod auth;
pub mod clock;
pub mod core;
pub mod keys;
pub mod nsm;
pub mod ops;
pub mod refusal;
pub mod seal;
pub mod server;
pub mod session;
pub mod wallet;
