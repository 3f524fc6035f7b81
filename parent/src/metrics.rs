//! A small Prometheus registry: counters and fixed-bucket histograms, rendered in the text
//! exposition format 0.0.4. Labels are route templates and request types, never raw paths, so the
//! number of series stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds (seconds) of the latency histograms' buckets.
pub const LATENCY_BUCKETS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// A histogram with the fixed [`LATENCY_BUCKETS`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Per-bucket (not cumulative) counts; one more than the bounds, the last for `+Inf`.
    counts: [u64; LATENCY_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Records one observation, in seconds.
    pub fn observe(&mut self, seconds: f64) {
        let bucket = LATENCY_BUCKETS.iter().position(|&le| seconds <= le).unwrap_or(LATENCY_BUCKETS.len());
        self.counts[bucket] += 1;
        self.sum += seconds;
        self.count += 1;
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            cumulative += self.counts[i];
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", self.count);
    }
}

#[derive(Debug, Default)]
struct Registry {
    /// (route template, method, status) -> count.
    http_requests: BTreeMap<(String, String, u16), u64>,
    /// (route template, method) -> latency.
    http_latency: BTreeMap<(String, String), Histogram>,
    /// (request type, outcome) -> count.
    enclave_requests: BTreeMap<(&'static str, &'static str), u64>,
    /// request type -> round-trip latency.
    enclave_latency: BTreeMap<&'static str, Histogram>,
}

/// The parent's metrics. Shared behind an `Arc`; every update takes a short lock, never across
/// an await.
#[derive(Debug, Default)]
pub struct Metrics {
    registry: Mutex<Registry>,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records one HTTP request.
    pub fn observe_http(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let mut registry = self.lock();
        *registry.http_requests.entry((route.to_owned(), method.to_owned(), status)).or_default() += 1;
        registry
            .http_latency
            .entry((route.to_owned(), method.to_owned()))
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// Records one enclave round trip; `outcome` is `ok`, `error` (the enclave refused) or
    /// `unavailable`.
    pub fn observe_enclave(&self, request_type: &'static str, outcome: &'static str, elapsed: Duration) {
        let mut registry = self.lock();
        *registry.enclave_requests.entry((request_type, outcome)).or_default() += 1;
        registry.enclave_latency.entry(request_type).or_default().observe(elapsed.as_secs_f64());
    }

    /// The text exposition format 0.0.4.
    pub fn render(&self) -> String {
        let registry = self.lock();
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP signer_http_requests_total HTTP requests by route template, method and status.\n",
        );
        out.push_str("# TYPE signer_http_requests_total counter\n");
        for ((route, method, status), count) in &registry.http_requests {
            let _ = writeln!(
                out,
                "signer_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {count}",
                escape(route),
                escape(method)
            );
        }
        out.push_str("# HELP signer_http_request_duration_seconds HTTP request latency by route template.\n");
        out.push_str("# TYPE signer_http_request_duration_seconds histogram\n");
        for ((route, method), histogram) in &registry.http_latency {
            let labels = format!("route=\"{}\",method=\"{}\"", escape(route), escape(method));
            histogram.render(&mut out, "signer_http_request_duration_seconds", &labels);
        }
        out.push_str("# HELP signer_enclave_requests_total Enclave requests by type and outcome.\n");
        out.push_str("# TYPE signer_enclave_requests_total counter\n");
        for ((kind, outcome), count) in &registry.enclave_requests {
            let _ = writeln!(
                out,
                "signer_enclave_requests_total{{type=\"{kind}\",outcome=\"{outcome}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP signer_enclave_request_duration_seconds Enclave round-trip latency by request type.\n",
        );
        out.push_str("# TYPE signer_enclave_request_duration_seconds histogram\n");
        for (kind, histogram) in &registry.enclave_latency {
            histogram.render(
                &mut out,
                "signer_enclave_request_duration_seconds",
                &format!("type=\"{kind}\""),
            );
        }
        out
    }
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_inclusive() {
        let mut h = Histogram::default();
        h.observe(0.0001); // exactly the first bound: in it
        h.observe(0.003);
        h.observe(60.0); // above every bound: only +Inf
        let mut out = String::new();
        h.render(&mut out, "x", "a=\"b\"");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.0001\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.0025\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"5\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 3\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 3\n"), "{out}");
        assert!(out.contains("x_sum{a=\"b\"} 60.0031"), "{out}");
    }

    #[test]
    fn renders_counters_and_histograms_in_text_format() {
        let m = Metrics::new();
        m.observe_http("/wallets/{id}", "GET", 200, Duration::from_millis(3));
        m.observe_http("/wallets/{id}", "GET", 200, Duration::from_millis(4));
        m.observe_http("/wallets/{id}", "GET", 404, Duration::from_millis(1));
        m.observe_enclave("Sign", "ok", Duration::from_micros(80));
        let text = m.render();
        assert!(text.contains("# TYPE signer_http_requests_total counter\n"));
        assert!(text.contains(
            "signer_http_requests_total{route=\"/wallets/{id}\",method=\"GET\",status=\"200\"} 2\n"
        ));
        assert!(text.contains(
            "signer_http_requests_total{route=\"/wallets/{id}\",method=\"GET\",status=\"404\"} 1\n"
        ));
        assert!(text.contains("# TYPE signer_http_request_duration_seconds histogram\n"));
        assert!(text.contains(
            "signer_http_request_duration_seconds_count{route=\"/wallets/{id}\",method=\"GET\"} 3\n"
        ));
        assert!(text.contains("signer_enclave_requests_total{type=\"Sign\",outcome=\"ok\"} 1\n"));
        assert!(
            text.contains("signer_enclave_request_duration_seconds_bucket{type=\"Sign\",le=\"0.0001\"} 1\n")
        );
        // Every line is a comment or `name{labels} value`.
        for line in text.lines() {
            assert!(
                line.starts_with("# ")
                    || line.rsplit_once(' ').is_some_and(|(_, v)| v.parse::<f64>().is_ok())
            );
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
