//! The enclave's clock: milliseconds since the epoch, injected so tests control time.
//!
//! Shared by the core (receipt times, session lifetimes) and the mock NSM (document
//! timestamps, certificate validity); it lives here so neither imports the other for it.

use std::sync::Arc;

/// Milliseconds since the epoch. Injected so tests control time.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    })
}
