//! The load generator behind `signer-load`: N threads, each with its own blocking HTTP agent,
//! send `POST /wallets/{id}/signatures` (kind `Hash`, random 32-byte hashes, attested in fresh
//! or session mode, signed by the client's signer in its [`AuthFlow`]) until a bounded number of requests is done or a deadline passes. By default
//! results are not verified: the tool measures the service. With a [`VerifyConfig`] every
//! answer is verified as a careful client would (one [`SessionCache`] shared by the threads),
//! and the figures are those such a client sees.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use signer_common::protocol::{AttestationMode, Curve};

use crate::api::attestation_mode_name;
use crate::client::Client;
use crate::session::SessionCache;
use crate::userauth::AuthFlow;
use crate::verify::{ImagePolicy, WalletKey};
use signer_common::attestation::TrustedRoot;

/// The most requests one run sends.
pub const MAX_REQUESTS: u64 = 1_000_000;
/// The most threads one run uses.
pub const MAX_CONCURRENCY: usize = 256;
/// The longest one run lasts.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The client (its URL is the only address the run talks to); each thread gets its own agent.
    pub client: Client,
    /// The wallet to sign with.
    pub wallet_id: String,
    /// The wallet's curve (for the report).
    pub curve: Curve,
    /// Threads, 1 to [`MAX_CONCURRENCY`].
    pub concurrency: usize,
    /// Requests in total, 1 to [`MAX_REQUESTS`].
    pub requests: u64,
    /// Stop sending after this long (at most [`MAX_DURATION`], which also applies when `None`).
    pub duration: Option<Duration>,
    /// How each signature is attested (`X-Attestation`).
    pub attestation: AttestationMode,
    /// Verify every answer; `None` to measure the service alone.
    pub verify: Option<VerifyConfig>,
}

/// What answers are verified against.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// The root the attestation chain must end in.
    pub root: TrustedRoot,
    /// The enclave image the documents must come from.
    pub image: ImagePolicy,
    /// The wallet's verified key (from its verified creation record), which every receipt must
    /// name.
    pub key: WalletKey,
}

/// What a run measured. Latencies are of successful requests.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// Requests sent and answered (successes and errors).
    pub requests: u64,
    /// Requests that failed (transport errors or error statuses).
    pub errors: u64,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// Successful requests per second.
    pub throughput: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 90th percentile latency, milliseconds.
    pub p90_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Largest latency, milliseconds.
    pub max_ms: f64,
    /// Threads used.
    pub concurrency: usize,
    /// The wallet's curve.
    pub curve: Curve,
    /// The wallet signed with.
    pub wallet_id: String,
    /// How each signature was asked to be attested.
    pub attestation: AttestationMode,
    /// How each request carried the user's signature (`None`: unsigned, bearer token only).
    pub auth: Option<AuthFlow>,
    /// Whether every answer was verified.
    pub verified: bool,
    /// The first error seen, if any.
    pub first_error: Option<String>,
}

impl LoadReport {
    /// `{ requests, errors, seconds, throughput, p50Ms, p90Ms, p99Ms, maxMs, concurrency, curve,
    /// walletId, attestation, auth, verified, firstError }` (`attestation`: `fresh` or `session`;
    /// `auth`: `one-shot`, `user-action` or `none`).
    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round3(self.seconds),
            "throughput": round3(self.throughput),
            "p50Ms": round3(self.p50_ms),
            "p90Ms": round3(self.p90_ms),
            "p99Ms": round3(self.p99_ms),
            "maxMs": round3(self.max_ms),
            "concurrency": self.concurrency,
            "curve": self.curve.as_str(),
            "walletId": self.wallet_id,
            "attestation": attestation_mode_name(self.attestation),
            "auth": self.auth_name(),
            "verified": self.verified,
            "firstError": self.first_error,
        })
    }

    /// `one-shot`, `user-action` or `none`.
    pub fn auth_name(&self) -> &'static str {
        self.auth.map_or("none", AuthFlow::as_str)
    }

    /// A few lines for people.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} requests ({} errors) in {:.2} s with {} threads on a {} wallet, {} attestation, {} auth{}\n\
             throughput {:.1} req/s\n\
             latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}\n",
            self.requests,
            self.errors,
            self.seconds,
            self.concurrency,
            self.curve.as_str(),
            attestation_mode_name(self.attestation),
            self.auth_name(),
            if self.verified { ", every answer verified" } else { "" },
            self.throughput,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms
        );
        if let Some(error) = &self.first_error {
            text.push_str(&format!("first error: {error}\n"));
        }
        text
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The nearest-rank percentile `q` (0 < q <= 1) of sorted values; zero when there are none.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let n = sorted.len();
    // Nearest rank: ceil(q * n), 1-based.
    let rank = (q * n as f64).ceil().clamp(1.0, n as f64) as usize;
    sorted[rank - 1]
}

/// True when the URL's host is a loopback address (127.0.0.0/8, `[::1]` or `localhost`).
pub fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((host, _)) => host,
            None => return false,
        }
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks the bounds of a configuration.
pub fn check_config(config: &LoadConfig) -> Result<(), String> {
    if config.requests == 0 || config.requests > MAX_REQUESTS {
        return Err(format!("--requests must be 1 to {MAX_REQUESTS}"));
    }
    if config.concurrency == 0 || config.concurrency > MAX_CONCURRENCY {
        return Err(format!("--concurrency must be 1 to {MAX_CONCURRENCY}"));
    }
    if let Some(duration) = config.duration
        && (duration.is_zero() || duration > MAX_DURATION)
    {
        return Err(format!("--duration-secs must be 1 to {}", MAX_DURATION.as_secs()));
    }
    Ok(())
}

#[derive(Default)]
struct ThreadResult {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs the load and measures it.
pub fn run(config: &LoadConfig) -> Result<LoadReport, String> {
    check_config(config)?;
    let deadline_after = config.duration.unwrap_or(MAX_DURATION).min(MAX_DURATION);
    let issued = AtomicU64::new(0);
    let results = Mutex::new(Vec::with_capacity(config.concurrency));
    let sessions = SessionCache::new();
    let start = Instant::now();
    let deadline = start + deadline_after;
    std::thread::scope(|scope| {
        for _ in 0..config.concurrency {
            let client = config.client.with_own_agent();
            let issued = &issued;
            let results = &results;
            let wallet_id = config.wallet_id.as_str();
            let total = config.requests;
            let mode = config.attestation;
            let verify = config.verify.as_ref();
            let sessions = &sessions;
            scope.spawn(move || {
                let mut mine = ThreadResult::default();
                let mut seed = [0u8; 32];
                if let Err(e) = getrandom::fill(&mut seed) {
                    mine.first_error = Some(format!("no randomness: {e}"));
                    mine.errors = 1;
                    if let Ok(mut all) = results.lock() {
                        all.push(mine);
                    }
                    return;
                }
                loop {
                    let n = issued.fetch_add(1, Ordering::Relaxed);
                    if n >= total || Instant::now() >= deadline {
                        break;
                    }
                    // Unpredictable and distinct: SHA-256(random seed || request number).
                    let mut hasher = Sha256::new();
                    hasher.update(seed);
                    hasher.update(n.to_be_bytes());
                    let hash: [u8; 32] = hasher.finalize().into();
                    let sent = Instant::now();
                    let outcome = match verify {
                        None => client
                            .sign_hash_with(wallet_id, hash, None, mode)
                            .map(drop)
                            .map_err(|e| e.to_string()),
                        Some(verify) => sign_and_verify(&client, wallet_id, hash, mode, verify, sessions),
                    };
                    match outcome {
                        Ok(()) => mine.latencies.push(sent.elapsed()),
                        Err(e) => {
                            mine.errors += 1;
                            mine.first_error.get_or_insert(e);
                        }
                    }
                }
                if let Ok(mut all) = results.lock() {
                    all.push(mine);
                }
            });
        }
    });
    let seconds = start.elapsed().as_secs_f64();
    let results = results.into_inner().map_err(|_| "a load thread panicked".to_owned())?;
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for r in results {
        latencies.extend(r.latencies);
        errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
    }
    latencies.sort_unstable();
    let ok = latencies.len() as u64;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Ok(LoadReport {
        requests: ok + errors,
        errors,
        seconds,
        throughput: if seconds > 0.0 { ok as f64 / seconds } else { 0.0 },
        p50_ms: ms(percentile(&latencies, 0.50)),
        p90_ms: ms(percentile(&latencies, 0.90)),
        p99_ms: ms(percentile(&latencies, 0.99)),
        max_ms: ms(latencies.last().copied().unwrap_or_default()),
        concurrency: config.concurrency,
        curve: config.curve,
        wallet_id: config.wallet_id.clone(),
        attestation: config.attestation,
        auth: config.client.signer().map(|_| config.client.auth_flow()),
        verified: config.verify.is_some(),
        first_error,
    })
}

/// One request as a verifying client makes it: a fresh random nonce (the SDK's default), then
/// every check of [`Client::verify_signature`] against the request, the image and the key.
fn sign_and_verify(
    client: &Client,
    wallet_id: &str,
    hash: [u8; 32],
    mode: AttestationMode,
    verify: &VerifyConfig,
    sessions: &SessionCache,
) -> Result<(), String> {
    let signed = client.sign_hash_with(wallet_id, hash, None, mode).map_err(|e| e.to_string())?;
    let at = crate::cli::now_unix_seconds();
    client
        .verify_signature(&signed, &verify.root, at, &verify.image, Some(&verify.key), sessions)
        .map(drop)
        .map_err(|e| format!("verification failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |v: u64| Duration::from_millis(v);
        let sorted: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&sorted, 0.50), ms(50));
        assert_eq!(percentile(&sorted, 0.90), ms(90));
        assert_eq!(percentile(&sorted, 0.99), ms(99));
        assert_eq!(percentile(&sorted, 1.0), ms(100));
        assert_eq!(percentile(&[ms(7)], 0.5), ms(7));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
        assert_eq!(percentile(&[ms(1), ms(2)], 0.5), ms(1));
    }

    #[test]
    fn recognises_loopback_urls() {
        for url in ["http://127.0.0.1:8080", "http://localhost/", "http://[::1]:80/x", "http://127.9.9.9"] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://10.0.0.1:8080",
            "http://example.com",
            "http://127.0.0.1.example.com",
            "http://user@127.0.0.1",
            "ftp://127.0.0.1",
            "http://[::2]:80",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn bounds_are_enforced() {
        let config = LoadConfig {
            client: Client::new("http://127.0.0.1:9", "t"),
            wallet_id: "wa-1".into(),
            curve: Curve::Ed25519,
            concurrency: 1,
            requests: 1,
            duration: None,
            attestation: AttestationMode::Fresh,
            verify: None,
        };
        assert!(check_config(&config).is_ok());
        assert!(check_config(&LoadConfig { requests: 0, ..config.clone() }).is_err());
        assert!(check_config(&LoadConfig { requests: MAX_REQUESTS + 1, ..config.clone() }).is_err());
        assert!(check_config(&LoadConfig { concurrency: 0, ..config.clone() }).is_err());
        assert!(check_config(&LoadConfig { concurrency: 1000, ..config.clone() }).is_err());
        assert!(check_config(&LoadConfig { duration: Some(Duration::from_secs(7200)), ..config }).is_err());
    }

    #[test]
    fn counts_errors_against_an_unreachable_server() {
        // Port 9 (discard) on loopback: nothing listens, every request fails fast.
        let config = LoadConfig {
            client: Client::new("http://127.0.0.1:9", "t"),
            wallet_id: "wa-1".into(),
            curve: Curve::Secp256k1,
            concurrency: 2,
            requests: 6,
            duration: Some(Duration::from_secs(30)),
            attestation: AttestationMode::Session,
            verify: None,
        };
        let report = run(&config).unwrap();
        assert_eq!((report.requests, report.errors), (6, 6));
        assert_eq!(report.throughput, 0.0);
        assert!(report.first_error.is_some());
        let json = report.to_json();
        assert_eq!(json["curve"], "secp256k1");
        assert_eq!(json["errors"], 6);
        assert_eq!(json["attestation"], "session");
        assert_eq!(json["auth"], "none");
    }
}
