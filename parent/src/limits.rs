//! The limits of the HTTP server, in one place: body size, and (with their command-line
//! flags) timeouts, connections and rates. See `docs/http-limits.md`.

/// The largest request body accepted (256 KiB).
pub const BODY_LIMIT: usize = 256 * 1024;

/// The defaults of the HTTP limits, each overridable by a flag of `serve` and `dev`.
pub mod defaults {
    /// `--header-timeout-ms`: a connection is closed when the headers of a request are not
    /// complete this long after the parent starts reading them (also when idle between requests).
    pub const HEADER_TIMEOUT_MS: u64 = 10_000;
    /// `--request-timeout-ms`: the longest one request (body, store and enclave call) may take
    /// before a 408. Above the enclave call's own deadline (`--enclave-timeout-ms`, 10 s).
    pub const REQUEST_TIMEOUT_MS: u64 = 30_000;
    /// `--max-connections`: open connections at once; more wait in the listen backlog.
    pub const MAX_CONNECTIONS: usize = 512;
    /// `--attestation-rate`: sustained requests a second per client address on the attestation
    /// routes.
    pub const ATTESTATION_RATE: f64 = 5.0;
    /// `--attestation-burst`: requests at once per client address on the attestation routes.
    pub const ATTESTATION_BURST: f64 = 20.0;
    /// `--metrics-listen` of `serve` (`dev` takes a free loopback port by default).
    pub const METRICS_LISTEN: &str = "127.0.0.1:9464";
}
