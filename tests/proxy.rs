//! A rewriting HTTP proxy on loopback, standing in for a parent that lies: it forwards each
//! request to the real parent after a test-given function has rewritten it, and the answer back
//! unchanged or as a second test-given function rewrites it. One request per connection
//! (`Connection: close`); enough for the blocking clients.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// One request as it passes the proxy.
#[derive(Debug, Clone)]
pub struct ProxiedRequest {
    pub method: String,
    /// The path with its query string.
    pub path: String,
    /// Header names lowercase, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Rewrites a request on its way to the parent.
pub type Rewrite = dyn Fn(&mut ProxiedRequest) + Send + Sync;

/// Rewrites an answer (status, body) on its way back, knowing the request it answers.
pub type RewriteAnswer = dyn Fn(&ProxiedRequest, &mut u16, &mut Vec<u8>) + Send + Sync;

/// The running proxy; stopped when dropped.
pub struct Proxy {
    pub url: String,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy in front of `upstream` (`http://127.0.0.1:PORT`) applying `rewrite`.
    pub fn start(upstream: &str, rewrite: impl Fn(&mut ProxiedRequest) + Send + Sync + 'static) -> Proxy {
        Proxy::start_with(upstream, rewrite, |_, _, _| {})
    }

    /// A proxy in front of `upstream` applying `rewrite` to requests and `answer` to answers.
    pub fn start_with(
        upstream: &str,
        rewrite: impl Fn(&mut ProxiedRequest) + Send + Sync + 'static,
        answer: impl Fn(&ProxiedRequest, &mut u16, &mut Vec<u8>) + Send + Sync + 'static,
    ) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.trim_end_matches('/').to_owned();
        let rewrite: Arc<Rewrite> = Arc::new(rewrite);
        let answer: Arc<RewriteAnswer> = Arc::new(answer);
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let upstream = upstream.clone();
                    let (rewrite, answer) = (rewrite.clone(), answer.clone());
                    std::thread::spawn(move || serve(stream, &upstream, &*rewrite, &*answer));
                }
            })
        };
        Proxy { url: format!("http://127.0.0.1:{port}"), stop, port, thread: Some(thread) }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, upstream: &str, rewrite: &Rewrite, rewrite_answer: &RewriteAnswer) {
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let mut request = ProxiedRequest { method, path, headers, body };
    rewrite(&mut request);

    let url = format!("{upstream}{}", request.path);
    let agent = crate::agent();
    let skip = ["host", "content-length", "connection", "accept-encoding"];
    let forwarded = request.headers.iter().filter(|(name, _)| !skip.contains(&name.as_str()));
    let mut builder = ureq::http::Request::builder().method(request.method.as_str()).uri(&url);
    for (name, value) in forwarded {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = match builder.body(request.body.clone()) {
        Ok(req) => agent.run(req),
        Err(_) => return,
    };
    let mut stream = stream;
    let Ok(mut response) = response else {
        let _ =
            stream.write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        return;
    };
    let mut status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let mut answer = response.body_mut().read_to_vec().unwrap_or_default();
    rewrite_answer(&request, &mut status, &mut answer);
    let reason = ureq::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        reason.unwrap_or("Status"),
        answer.len()
    );
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&answer));
}
