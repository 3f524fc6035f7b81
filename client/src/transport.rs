//! The HTTP transport: one ureq agent per client (a connection pool), a resolver that skips the
//! lookup for IP literals, the bearer token, `X-App-Id` and `X-Request-Nonce` headers, size and
//! time limits, and the mapping of error answers to [`ClientError`].

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use signer_common::protocol::MAX_NONCE_LEN;

use crate::api::ErrorAnswer;
use crate::credentials::Secret;
use crate::error::ClientError;

/// Timeout to establish a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout for a whole call (request, response and body).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The largest response body read (an attestation document is a few KiB).
const MAX_RESPONSE_LEN: u64 = 8 * 1024 * 1024;

/// Where and how requests go: the base URL, the access token, the application and the agent.
#[derive(Clone)]
pub(crate) struct Http {
    pub(crate) base_url: String,
    pub(crate) token: Secret,
    pub(crate) app_id: Option<String>,
    pub(crate) agent: ureq::Agent,
}

impl fmt::Debug for Http {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl Http {
    /// Requests to `url` with `token`, on a new agent.
    pub(crate) fn new(url: String, token: Secret) -> Http {
        Http { base_url: normalize_url(url), token, app_id: None, agent: new_agent() }
    }

    pub(crate) fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        query: &[(&str, String)],
        nonce: Option<&[u8]>,
    ) -> Result<T, ClientError> {
        let (status, body) = self.call("GET", path, query, None, nonce, &[])?;
        check_status(status, &body)?;
        parse_json(&body)
    }

    pub(crate) fn post_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
        body: &Value,
        nonce: Option<&[u8]>,
    ) -> Result<T, ClientError> {
        let payload = serde_json::to_vec(body)
            .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request: {e}")))?;
        let (status, body) = self.call("POST", path, &[], Some(&payload), nonce, &[])?;
        check_status(status, &body)?;
        parse_json(&body)
    }

    /// One request with these extra `headers`; answers the status and the body, whatever the
    /// status.
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, String)],
        body: Option<&[u8]>,
        nonce: Option<&[u8]>,
        headers: &[(&str, &str)],
    ) -> Result<(u16, Vec<u8>), ClientError> {
        if !self.base_url.starts_with("http://") {
            return Err(ClientError::InvalidInput(format!(
                "only http:// URLs are supported by this build, not {:?}",
                self.base_url
            )));
        }
        let mut url = format!("{}{}", self.base_url, path);
        for (i, (key, value)) in query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(key);
            url.push('=');
            url.push_str(&percent_encode(value));
        }
        let nonce_hex = match nonce {
            Some(nonce) => {
                check_nonce(nonce)?;
                Some(hex::encode(nonce))
            }
            None => None,
        };
        let auth = format!("Bearer {}", self.token.expose());
        let mut response = match method {
            "POST" | "PUT" => {
                let request = if method == "POST" { self.agent.post(&url) } else { self.agent.put(&url) };
                let request = request.header("Content-Type", "application/json");
                self.with_headers(request, &auth, nonce_hex.as_deref(), headers)
                    .send(body.unwrap_or_default())?
            }
            "GET" => self.with_headers(self.agent.get(&url), &auth, nonce_hex.as_deref(), headers).call()?,
            _ => return Err(ClientError::InvalidInput(format!("unsupported method {method}"))),
        };
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(MAX_RESPONSE_LEN).read_to_vec()?;
        Ok((status, body))
    }

    /// The path of `path` on the HTTP request line: the base URL's own path (if any) first.
    /// This is the path a signed request names.
    pub(crate) fn request_path(&self, path: &str) -> String {
        let rest = self.base_url.split_once("://").map_or(self.base_url.as_str(), |(_, rest)| rest);
        let prefix = rest.find('/').map_or("", |i| &rest[i..]);
        format!("{prefix}{path}")
    }

    /// The headers of every call: the access token (unless there is none), JSON, the
    /// application and the nonce when there is one, then the call's own.
    fn with_headers<B>(
        &self,
        mut request: ureq::RequestBuilder<B>,
        auth: &str,
        nonce_hex: Option<&str>,
        headers: &[(&str, &str)],
    ) -> ureq::RequestBuilder<B> {
        if !self.token.is_empty() {
            request = request.header("Authorization", auth);
        }
        request = request.header("Accept", "application/json");
        if let Some(app) = &self.app_id {
            request = request.header("X-App-Id", app);
        }
        if let Some(nonce) = nonce_hex {
            request = request.header("X-Request-Nonce", nonce);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
    }
}

/// The base URL without surrounding space and trailing slashes.
pub(crate) fn normalize_url(url: String) -> String {
    url.trim().trim_end_matches('/').to_owned()
}

pub(crate) fn new_agent() -> ureq::Agent {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_global(Some(CALL_TIMEOUT))
        .max_redirects(0)
        .user_agent(concat!("signer-client/", env!("CARGO_PKG_VERSION")))
        .build();
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        IpLiteralResolver,
    )
}

/// ureq resolves the host on every call, pooled connection or not, and with a timeout set its
/// default resolver does so on a new thread each time. A URL naming an IP address needs no
/// lookup: this answers it at once and hands host names to the default resolver.
/// (Measured with `signer-load`: a thread spawned per request cost more CPU than the request.)
#[derive(Debug)]
struct IpLiteralResolver;

impl ureq::unversioned::resolver::Resolver for IpLiteralResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let literal = ip_literal(uri);
        match literal {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => ureq::unversioned::resolver::DefaultResolver::default().resolve(uri, config, timeout),
        }
    }
}

/// The socket address of a URL whose host is an IP address (port defaulted by the scheme, as
/// ureq's own resolver does); `None` for a host name.
fn ip_literal(uri: &ureq::http::Uri) -> Option<std::net::SocketAddr> {
    let host_and_port =
        ureq::unversioned::resolver::DefaultResolver::host_and_port(uri.scheme()?, uri.authority()?)?;
    host_and_port.parse().ok()
}

pub(crate) fn check_nonce(nonce: &[u8]) -> Result<(), ClientError> {
    if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
        return Err(ClientError::InvalidInput(format!(
            "a nonce must be 1 to {MAX_NONCE_LEN} bytes, not {}",
            nonce.len()
        )));
    }
    Ok(())
}

/// Maps a non-2xx answer to [`ClientError::Api`].
pub(crate) fn check_status(status: u16, body: &[u8]) -> Result<(), ClientError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    match serde_json::from_slice::<ErrorAnswer>(body) {
        Ok(ErrorAnswer { error }) => {
            Err(ClientError::Api { status, code: error.code, message: one_line(&error.message) })
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let mut message = one_line(text.trim());
            if message.len() > 200 {
                let mut cut = 200;
                while !message.is_char_boundary(cut) {
                    cut -= 1;
                }
                message.truncate(cut);
                message.push_str("...");
            }
            if message.is_empty() {
                message = "no error body".into();
            }
            Err(ClientError::Api { status, code: format!("http_{status}"), message })
        }
    }
}

pub(crate) fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode(e.to_string()))
}

/// Collapses white space runs (including newlines) to single spaces.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An id as one path segment; refuses empty ids and `.`/`..`, percent-encodes the rest.
pub(crate) fn path_segment(id: &str) -> Result<String, ClientError> {
    if id.is_empty() || id == "." || id == ".." {
        return Err(ClientError::InvalidInput(format!("invalid id {id:?}")));
    }
    Ok(percent_encode(id))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_literal_hosts_skip_the_resolver() {
        let addr = |url: &str| ip_literal(&url.parse().unwrap());
        assert_eq!(addr("http://127.0.0.1:8080/wallets"), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(addr("http://127.0.0.1/"), Some("127.0.0.1:80".parse().unwrap()));
        assert_eq!(addr("https://[::1]/x"), Some("[::1]:443".parse().unwrap()));
        assert_eq!(addr("http://localhost:8080/"), None, "host names go to ureq's resolver");
    }

    #[test]
    fn signed_paths_include_the_base_urls_path() {
        let path = |base: &str| Http::new(base.into(), Secret::new("t")).request_path("/wallets");
        assert_eq!(path("http://127.0.0.1:8080"), "/wallets");
        assert_eq!(path("http://127.0.0.1:8080/"), "/wallets");
        assert_eq!(path("http://proxy.local/signer/"), "/signer/wallets");
    }

    #[test]
    fn percent_encodes_ids() {
        assert_eq!(path_segment("wa-1_x.y~").unwrap(), "wa-1_x.y~");
        assert_eq!(path_segment("a/b?c").unwrap(), "a%2Fb%3Fc");
        assert!(path_segment("..").is_err());
        assert!(path_segment("").is_err());
    }

    #[test]
    fn maps_error_bodies() {
        let err =
            check_status(404, br#"{"error":{"code":"not_found","message":"no\nsuch wallet"}}"#).unwrap_err();
        match err {
            ClientError::Api { status, code, message } => {
                assert_eq!((status, code.as_str(), message.as_str()), (404, "not_found", "no such wallet"));
            }
            other => panic!("{other:?}"),
        }
        let err = check_status(502, b"<html>bad gateway</html>").unwrap_err();
        assert!(matches!(err, ClientError::Api { status: 502, ref code, .. } if code == "http_502"));
        assert!(check_status(201, b"").is_ok());
    }
}
