//! The parent-instance proxy of the enclave signer: the HTTP API, API access keys (JWT), the store
//! of sealed wallets and public records, and the pooled client of the enclave socket.
//!
//! The parent is untrusted for key material and user approvals: it stores only sealed keys and
//! forwards requests to the enclave, which checks everything it relies on.
//!
//! - [`enclave`]: pooled, multiplexing client of the enclave socket.
//! - [`store`]: the store traits ([`store::Store`]) and their SQLite implementation.
//! - [`api`]: the axum router and handlers, one file per resource.
//! - [`limits`]: the HTTP server's limits.
//! - [`auth`]: access tokens (EdDSA JWTs, a rotating key set) and the bearer-token extractor.
//! - [`error`]: the one error enum of the API and its JSON shape.
//! - [`metrics`]: a small Prometheus registry.
//! - [`org`]: creating an organisation through the enclave.
//! - [`server`]: the accept loop (header-read timeout, connection cap, drain).
//! - [`ratelimit`]: the per-client rate limit of the attestation routes.
//! - [`dev`]: dev-mode bootstrap and enclave supervision.
//! - [`cli`]: the `signer-parent` command line.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod auth;
pub mod cli;
pub mod dev;
pub mod enclave;
pub mod error;
pub mod limits;
pub mod metrics;
pub mod org;
pub mod ratelimit;
pub mod server;
pub mod store;
