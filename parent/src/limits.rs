//! The limits of the HTTP server, in one place: body size, and (with their command-line
//! flags) timeouts, connections and rates. See `docs/http-limits.md`.

/// The largest request body accepted (256 KiB).
pub const BODY_LIMIT: usize = 256 * 1024;
