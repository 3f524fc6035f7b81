//! A per-client-address token bucket for the unauthenticated routes that cost enclave work
//! (`/enclave/attestation`, `/enclave/attestation/session`): past the rate, 429 with
//! `Retry-After`. Memory is bounded: at most [`MAX_TRACKED_ADDRESSES`] buckets; a full bucket
//! holds no information and is dropped when room is needed; when every tracked address is busy,
//! new addresses share one overflow bucket.
//!
//! Keyed on the TCP peer address: behind a reverse proxy that is the proxy's address, so the
//! limit is then per proxy (see `docs/http-limits.md`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::server::ClientAddr;

/// The most client addresses with their own bucket.
pub const MAX_TRACKED_ADDRESSES: usize = 16_384;

/// The rate: `per_second` tokens a second, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Sustained requests per second per client address.
    pub per_second: f64,
    /// Requests a client may make at once after being idle.
    pub burst: f64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets by client address.
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    overflow: Mutex<Bucket>,
}

/// The key of requests whose peer address is unknown (not served by [`crate::server`]).
const UNKNOWN: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

impl RateLimiter {
    /// A limiter with `rate` (a `per_second` or `burst` below its minimum is raised to it:
    /// 0.001 a second, 1 at once).
    pub fn new(rate: Rate) -> Self {
        let rate = Rate { per_second: rate.per_second.max(0.001), burst: rate.burst.max(1.0) };
        let full = Bucket { tokens: rate.burst, updated: Instant::now() };
        RateLimiter { rate, buckets: Mutex::new(HashMap::new()), overflow: Mutex::new(full) }
    }

    /// Takes a token for `addr` at `now`: `Ok` if there was one, else how long until there is.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(&addr) && buckets.len() >= MAX_TRACKED_ADDRESSES {
            let rate = self.rate;
            buckets.retain(|_, b| refill(rate, *b, now).tokens < rate.burst);
            if buckets.len() >= MAX_TRACKED_ADDRESSES {
                drop(buckets);
                let mut overflow = self.overflow.lock().unwrap_or_else(|e| e.into_inner());
                return take(self.rate, &mut overflow, now);
            }
        }
        let bucket = buckets.entry(addr).or_insert(Bucket { tokens: self.rate.burst, updated: now });
        take(self.rate, bucket, now)
    }

    /// How many addresses have a bucket.
    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

fn refill(rate: Rate, bucket: Bucket, now: Instant) -> Bucket {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    Bucket { tokens: (bucket.tokens + elapsed * rate.per_second).min(rate.burst), updated: now }
}

fn take(rate: Rate, bucket: &mut Bucket, now: Instant) -> Result<(), Duration> {
    *bucket = refill(rate, *bucket, now);
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        Ok(())
    } else {
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate.per_second))
    }
}

/// Middleware: 429 with `Retry-After` (whole seconds, rounded up) past the rate.
pub async fn limit(
    State(limiter): State<std::sync::Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    let addr = request.extensions().get::<ClientAddr>().map_or(UNKNOWN, |c| c.0.ip());
    match limiter.check(addr, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => ApiError::TooManyRequests { retry_after_secs: retry_after_secs(wait) }.into_response(),
    }
}

/// `Retry-After` for a wait: whole seconds rounded up, at least 1 (a client that retries after it
/// finds a token).
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1_001)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(9_500)), 10);
        assert_eq!(retry_after_secs(Duration::from_secs(10)), 10);
    }

    #[test]
    fn burst_then_rate_per_address() {
        let limiter = RateLimiter::new(Rate { per_second: 2.0, burst: 3.0 });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(ip(1), t0), Ok(()));
        }
        assert_eq!(limiter.check(ip(1), t0), Err(Duration::from_millis(500)));
        // Another address has its own bucket.
        assert_eq!(limiter.check(ip(2), t0), Ok(()));
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(limiter.check(ip(1), t1), Ok(()));
        assert!(limiter.check(ip(1), t1).is_err());
    }

    #[test]
    fn memory_stays_bounded_and_busy_addresses_keep_their_buckets() {
        let limiter = RateLimiter::new(Rate { per_second: 1.0, burst: 2.0 });
        let t0 = Instant::now();
        // Fill the table with busy addresses (an empty bucket each).
        for n in 0..MAX_TRACKED_ADDRESSES as u32 {
            let _ = limiter.check(ip(n), t0);
            let _ = limiter.check(ip(n), t0);
        }
        assert_eq!(limiter.tracked(), MAX_TRACKED_ADDRESSES);
        // New addresses share the overflow bucket: two get through, then 429s.
        let newcomer = MAX_TRACKED_ADDRESSES as u32 + 1;
        assert_eq!(limiter.check(ip(newcomer), t0), Ok(()));
        assert_eq!(limiter.check(ip(newcomer + 1), t0), Ok(()));
        assert!(limiter.check(ip(newcomer + 2), t0).is_err());
        assert_eq!(limiter.tracked(), MAX_TRACKED_ADDRESSES);
        // A busy address cannot reset its bucket by crowding the table.
        assert!(limiter.check(ip(0), t0).is_err());
        // Once the old buckets have refilled they are dropped to make room.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(limiter.check(ip(newcomer), later), Ok(()));
        assert_eq!(limiter.tracked(), 1);
    }
}
