//! The HTTP API against a fake enclave on a Unix socket in a temporary directory.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use signer_common::encoding::from_b64;
use signer_common::protocol::ErrorCode;
use signer_parent::api::{AppState, router};
use signer_parent::enclave::EnclaveClient;
use signer_parent::metrics::Metrics;
use signer_parent::store::{SqliteStore, Store};
use signer_transport::EnclaveAddr;
use support::harness::Harness;
use support::{http, raw};

#[tokio::test]
async fn health_readiness_and_unknown_routes() {
    let h = Harness::start().await;
    let reply = http(h.addr, "GET", "/healthz", &[], None).await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers.get("x-request-id").is_some_and(|v| v.starts_with("req-")));
    let reply = http(h.addr, "GET", "/readyz", &[], None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["nsm"], "mock");

    h.fake.ready.store(false, Ordering::SeqCst);
    let reply = http(h.addr, "GET", "/readyz", &[], None).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (503, "enclave_not_ready"));

    let reply = http(h.addr, "GET", "/nope", &[], None).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (404, "not_found"));
    let reply = http(h.addr, "DELETE", "/healthz", &[], None).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (405, "method_not_allowed"));
}

#[tokio::test]
async fn enclave_down_is_503_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in(dir.path()).unwrap());
    let tokens = support::harness::test_token_keys(7);
    let token = tokens.issue("us-1", "or-1", Duration::from_secs(3600)).unwrap();
    support::harness::add_user(&*store, "or-1", "us-1").await;
    let state = AppState {
        enclave: EnclaveClient::new(
            EnclaveAddr::Unix(dir.path().join("absent.sock")),
            2,
            Duration::from_secs(2),
        ),
        store,
        tokens: Arc::new(tokens),
        metrics: Arc::new(Metrics::new()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    let auth = format!("Bearer {token}");
    let reply = http(addr, "GET", "/enclave/attestation", &[], None).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (503, "enclave_unavailable"));
    let reply = http(addr, "GET", "/readyz", &[], None).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (503, "enclave_unavailable"));
    let reply = http(addr, "GET", "/wallets", &[("authorization", &auth)], None).await;
    assert_eq!(reply.json()["items"], json!([]));
}

#[tokio::test]
async fn an_enclave_refusal_stores_nothing() {
    let h = Harness::start().await;
    *h.fake.refuse_create.lock().unwrap() = Some(ErrorCode::NotReady);
    let reply = h.post("/wallets", &json!({ "curve": "secp256k1" })).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (503, "enclave_not_ready"));
    *h.fake.refuse_create.lock().unwrap() = Some(ErrorCode::Internal);
    let reply = h.post("/wallets", &json!({ "curve": "secp256k1" })).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (500, "internal"));
    assert_eq!(h.get("/wallets").await.json()["items"], json!([]));
}

/// The parent checks what the enclave answers before storing it: a WalletCreated whose public
/// key has the wrong length for its curve is refused and nothing is stored.
#[tokio::test]
async fn a_malformed_wallet_from_the_enclave_is_not_stored() {
    let h = Harness::start().await;
    h.fake.malformed_create.store(true, std::sync::atomic::Ordering::SeqCst);
    for curve in ["secp256k1", "ed25519"] {
        let reply = h.post("/wallets", &json!({ "curve": curve })).await;
        assert_eq!((reply.status, reply.error_code().as_str()), (500, "internal"), "{curve}");
    }
    assert_eq!(h.get("/wallets").await.json()["items"], json!([]));
}

#[tokio::test]
async fn wallets_need_a_valid_token() {
    let h = Harness::start().await;
    let cases: Vec<Vec<(&str, String)>> = vec![
        vec![],
        vec![("authorization", "Bearer nope".into())],
        vec![("authorization", format!("Basic {}", h.token))],
        vec![(
            "authorization",
            format!(
                "Bearer {}",
                support::harness::test_token_keys(8).issue("u", "o", Duration::from_secs(60)).unwrap()
            ),
        )],
    ];
    for headers in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for (method, path) in
            [("GET", "/wallets"), ("GET", "/wallets/wa-0000"), ("POST", "/wallets/wa-0000/signatures")]
        {
            let reply = http(h.addr, method, path, &headers, Some(b"{}")).await;
            assert_eq!((reply.status, reply.error_code().as_str()), (401, "unauthorized"), "{method} {path}");
        }
        let reply = http(h.addr, "POST", "/wallets", &headers, Some(br#"{"curve":"ed25519"}"#)).await;
        assert_eq!(reply.status, 401);
    }
    // No secret is echoed.
    let reply =
        http(h.addr, "GET", "/wallets", &[("authorization", "Bearer secret-looking-token")], None).await;
    assert!(!reply.text().contains("secret-looking-token"));
}

#[tokio::test]
async fn create_get_list_and_org_scoping() {
    let h = Harness::start().await;
    let created = h.create("secp256k1").await;
    assert_eq!(created["id"], "wa-0000");
    assert_eq!(created["curve"], "secp256k1");
    assert_eq!(created["scheme"], "ECDSA");
    assert_eq!(created["status"], "Active");
    assert_eq!(created["publicKey"], format!("0x{}", "02".repeat(33)));
    assert!(created["dateCreated"].as_str().unwrap().ends_with('Z'));
    assert!(created.get("name").is_none());
    let receipt = from_b64(created["receipt"].as_str().unwrap()).unwrap();
    assert!(String::from_utf8(receipt).unwrap().starts_with("receipt:wc-"));
    assert_eq!(from_b64(created["attestation"].as_str().unwrap()).unwrap(), b"doc:none");

    let named = h.post("/wallets", &json!({ "curve": "ed25519", "name": "cold" })).await.json();
    assert_eq!(named["name"], "cold");
    assert_eq!(named["scheme"], "EdDSA");
    assert_eq!(named["publicKey"].as_str().unwrap().len(), 2 + 64);
    h.create("ed25519").await;

    let got = h.get("/wallets/wa-0000").await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json(), created);
    let reply = h.get("/wallets/wa-9999").await;
    assert_eq!((reply.status, reply.error_code().as_str()), (404, "not_found"));

    // A well-signed token of a user the store does not know: refused.
    let other = h.tokens.issue("us-2", "or-2", Duration::from_secs(60)).unwrap();
    let auth = format!("Bearer {other}");
    let reply = http(h.addr, "GET", "/wallets", &[("authorization", &auth)], None).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (401, "unauthorized"));
    // Another organisation (its user now known) sees nothing.
    let store = signer_parent::store::SqliteStore::open_in(h.dir.path()).unwrap();
    support::harness::add_user(&store, "or-2", "us-2").await;
    let reply = http(h.addr, "GET", "/wallets/wa-0000", &[("authorization", &auth)], None).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (404, "not_found"));
    // Its bearer alone cannot sign either: refused before the enclave is asked.
    let body = json!({ "kind": "Hash", "hash": format!("0x{}", "00".repeat(32)) }).to_string();
    let before = h.enclave_calls("Call");
    let reply = http(
        h.addr,
        "POST",
        "/wallets/wa-0000/signatures",
        &[("authorization", &auth)],
        Some(body.as_bytes()),
    )
    .await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "user_action_required"));
    assert_eq!(h.enclave_calls("Call"), before);
    let reply = http(h.addr, "GET", "/wallets", &[("authorization", &auth)], None).await;
    assert_eq!(reply.json(), json!({ "items": [] }));

    // Pagination.
    let page = h.get("/wallets?limit=2").await.json();
    let ids: Vec<_> = page["items"].as_array().unwrap().iter().map(|w| w["id"].clone()).collect();
    assert_eq!(ids, [json!("wa-0000"), json!("wa-0001")]);
    let token = page["nextPageToken"].as_str().unwrap();
    let page = h.get(&format!("/wallets?limit=2&paginationToken={token}")).await.json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], "wa-0002");
    assert!(page.get("nextPageToken").is_none());
    for bad in
        ["/wallets?limit=0", "/wallets?limit=x", "/wallets?limit=100000", "/wallets?paginationToken=wa-9999"]
    {
        let reply = h.get(bad).await;
        assert_eq!((reply.status, reply.error_code().as_str()), (400, "invalid_parameter"), "{bad}");
    }
}

#[tokio::test]
async fn bad_inputs_are_400() {
    let h = Harness::start().await;
    h.create("secp256k1").await;
    let auth = h.auth();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("/wallets", b"{not json".to_vec(), "invalid_json"),
        ("/wallets", b"{}".to_vec(), "invalid_json"),
        ("/wallets", br#"{"curve":"p256"}"#.to_vec(), "unknown_curve"),
        ("/wallets/wa-0000/signatures", br#"{"kind":"Typed"}"#.to_vec(), "unknown_kind"),
        ("/wallets/wa-0000/signatures", br#"{"kind":"Hash","hash":"0xzz"}"#.to_vec(), "invalid_hex"),
        ("/wallets/wa-0000/signatures", br#"{"kind":"Hash","hash":"abcd"}"#.to_vec(), "invalid_hex"),
        (
            "/wallets/wa-0000/signatures",
            br#"{"kind":"Hash","hash":"0xabcd"}"#.to_vec(),
            "invalid_hash_length",
        ),
        ("/wallets/wa-0000/signatures", br#"{"kind":"Hash"}"#.to_vec(), "invalid_parameter"),
    ];
    for (path, body, code) in cases {
        let reply = http(h.addr, "POST", path, &[("authorization", &auth)], Some(&body)).await;
        assert_eq!(
            (reply.status, reply.error_code().as_str()),
            (400, code),
            "{path} {}",
            String::from_utf8_lossy(&body)
        );
    }
    for nonce in ["xyz", "", &"00".repeat(65)] {
        let reply = http(
            h.addr,
            "POST",
            "/wallets",
            &[("authorization", &auth), ("x-request-nonce", nonce)],
            Some(br#"{"curve":"ed25519"}"#),
        )
        .await;
        assert_eq!((reply.status, reply.error_code().as_str()), (400, "invalid_nonce"), "{nonce:?}");
    }
    let reply = http(h.addr, "GET", "/enclave/attestation?nonce=xyz", &[], None).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (400, "invalid_nonce"));
    // Refused by the enclave as unsupported, with a valid user action.
    let reply = h.post("/wallets/wa-0000/signatures", &json!({ "kind": "Message", "message": "0x01" })).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (400, "unsupported"));
}

#[tokio::test]
async fn unknown_body_fields_are_refused_and_nothing_is_created() {
    let h = Harness::start().await;
    let auth = h.auth();
    let reply = http(
        h.addr,
        "POST",
        "/wallets",
        &[("authorization", &auth)],
        Some(br#"{"curve":"ed25519","nmae":"typo"}"#),
    )
    .await;
    assert_eq!((reply.status, reply.error_code().as_str()), (400, "invalid_json"));
    assert!(reply.json()["error"]["message"].as_str().unwrap().contains("unknown field `nmae`"));
    assert_eq!(h.fake.next_wallet.load(Ordering::SeqCst), 0, "the enclave was not asked");
    assert_eq!(h.get("/wallets").await.json()["items"], json!([]));

    h.create("ed25519").await;
    let before = h.fake.sealed.lock().unwrap().len();
    let body = json!({ "kind": "Hash", "hash": format!("0x{}", "ab".repeat(32)), "hashh": "0x" });
    let reply = h.post("/wallets/wa-0000/signatures", &body).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (400, "invalid_json"), "{}", reply.text());
    assert_eq!(h.fake.sealed.lock().unwrap().len(), before);
}

#[tokio::test]
async fn hex_errors_say_what_is_wrong() {
    let h = Harness::start().await;
    h.create("ed25519").await;
    for (hash, message) in [
        ("0xabc", "`hash` has an odd number of hex digits (3)"),
        ("abcd", "`hash` must start with 0x"),
        ("0xabzz", "`hash` has a character that is not a hex digit at position 4"),
    ] {
        let reply = h.post("/wallets/wa-0000/signatures", &json!({ "kind": "Hash", "hash": hash })).await;
        assert_eq!((reply.status, reply.error_code().as_str()), (400, "invalid_hex"), "{hash}");
        assert_eq!(reply.json()["error"]["message"], message, "{hash}");
    }
}

#[tokio::test]
async fn signatures_by_curve_with_nonce() {
    let h = Harness::start().await;
    let k1 = h.create("secp256k1").await;
    let ed = h.create("ed25519").await;
    let hash = format!("0x{}", "ab".repeat(32));

    let reply = h
        .call(
            "POST",
            &format!("/wallets/{}/signatures", k1["id"].as_str().unwrap()),
            json!({ "kind": "Hash", "hash": hash }).to_string().as_bytes(),
            &[("x-request-nonce", "0xc0ffee")],
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let sig = reply.json();
    assert!(sig["id"].as_str().unwrap().starts_with("sig-"));
    assert_eq!(sig["walletId"], k1["id"]);
    assert_eq!(sig["status"], "Signed");
    assert_eq!(sig["signature"]["r"], format!("0x{}", "11".repeat(32)));
    assert_eq!(sig["signature"]["s"], format!("0x{}", "22".repeat(32)));
    assert_eq!(sig["signature"]["recid"], 1);
    assert_eq!(sig["signature"]["encoded"], format!("0x{}{}01", "11".repeat(32), "22".repeat(32)));
    assert_eq!(from_b64(sig["attestation"].as_str().unwrap()).unwrap(), b"doc:\xc0\xff\xee");
    let receipt = String::from_utf8(from_b64(sig["receipt"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(receipt, format!("receipt:{}", sig["id"].as_str().unwrap()));

    let path = format!("/wallets/{}/signatures", ed["id"].as_str().unwrap());
    let sig = h.post(&path, &json!({ "kind": "Message", "message": "0x68656c6c6f" })).await.json();
    assert!(sig["signature"].get("recid").is_none());
    assert_eq!(sig["signature"]["encoded"].as_str().unwrap().len(), 2 + 128);
    let sig = h.post(&path, &json!({ "kind": "Hash", "hash": hash })).await.json();
    assert_eq!(sig["status"], "Signed");
}

#[tokio::test]
async fn x_attestation_session_answers_a_receipt_signature_and_session_id() {
    let h = Harness::start().await;
    let k1 = h.create("secp256k1").await;
    let path = format!("/wallets/{}/signatures", k1["id"].as_str().unwrap());
    let body = json!({ "kind": "Hash", "hash": format!("0x{}", "ab".repeat(32)) }).to_string();
    let send = |mode: &'static str| {
        let (path, body) = (path.clone(), body.clone());
        let h = &h;
        async move { h.call("POST", &path, body.as_bytes(), &[("x-attestation", mode)]).await }
    };
    let sig = send("session").await.json();
    assert_eq!(sig["attestationMode"], "session");
    assert!(sig.get("attestation").is_none(), "{sig}");
    assert_eq!(sig["sessionId"], "5e".repeat(32));
    assert_eq!(from_b64(sig["receiptSignature"].as_str().unwrap()).unwrap(), vec![0x51; 64]);
    let sig = send("fresh").await.json();
    assert_eq!(sig["attestationMode"], "fresh");
    assert!(sig["attestation"].is_string() && sig.get("sessionId").is_none(), "{sig}");
    let reply = send("both").await;
    assert_eq!((reply.status, reply.error_code().as_str()), (400, "invalid_parameter"));
}

#[tokio::test]
async fn a_tampered_sealed_blob_is_500_sealed_wallet_invalid() {
    let h = Harness::start().await;
    let w = h.create("ed25519").await;
    let db = rusqlite::Connection::open(h.dir.path().join("parent.sqlite3")).unwrap();
    db.execute("UPDATE wallets SET sealed = x'00' WHERE id = ?1", [w["id"].as_str().unwrap()]).unwrap();
    drop(db);
    let reply = h
        .post(
            &format!("/wallets/{}/signatures", w["id"].as_str().unwrap()),
            &json!({ "kind": "Message", "message": "0x00" }),
        )
        .await;
    assert_eq!((reply.status, reply.error_code().as_str()), (500, "sealed_wallet_invalid"));
}

#[tokio::test]
async fn bodies_over_256_kib_are_413_json() {
    let h = Harness::start().await;
    let auth = h.auth();
    // Declared too large and never sent: refused after a bounded wait for the body.
    let head = format!(
        "POST /wallets HTTP/1.1\r\nhost: t\r\nconnection: close\r\nauthorization: {auth}\r\ncontent-length: {}\r\n\r\n",
        300 * 1024
    );
    let reply = raw(h.addr, head.as_bytes()).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (413, "payload_too_large"));

    // Chunked, no declared length: refused by the body limit while reading.
    let chunk = vec![b' '; 64 * 1024];
    let mut request =
        format!("POST /wallets HTTP/1.1\r\nhost: t\r\nconnection: close\r\nauthorization: {auth}\r\ntransfer-encoding: chunked\r\n\r\n")
            .into_bytes();
    for _ in 0..5 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let reply = raw(h.addr, &request).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (413, "payload_too_large"));

    // Just under the limit is read (and then refused for its content).
    let mut body = br#"{"curve":"nope","name":""#.to_vec();
    body.resize(200 * 1024, b'a');
    body.extend_from_slice(b"\"}");
    let reply = http(h.addr, "POST", "/wallets", &[("authorization", &auth)], Some(&body)).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (400, "unknown_curve"));
}

#[tokio::test]
async fn enclave_endpoints_metrics_and_openapi() {
    let h = Harness::start().await;
    let reply = http(h.addr, "GET", "/enclave/attestation?nonce=0x0102", &[], None).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let v = reply.json();
    assert_eq!(from_b64(v["attestation"].as_str().unwrap()).unwrap(), b"doc:\x01\x02");
    assert_eq!(v["pcrs"]["0"], "aa".repeat(48));
    assert_eq!(v["pcrs"]["1"], "bb".repeat(48));

    let reply = http(h.addr, "GET", "/enclave/root", &[], None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-type"], "application/x-pem-file");
    assert!(reply.text().starts_with("-----BEGIN CERTIFICATE-----"));

    h.create("ed25519").await;
    h.get("/wallets/wa-0000").await;
    h.get("/wallets/missing").await;
    // On the API listener only with a token; without one on its own listener.
    assert_eq!(http(h.addr, "GET", "/metrics", &[], None).await.status, 401);
    let reply = http(h.metrics_addr, "GET", "/metrics", &[], None).await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers["content-type"].starts_with("text/plain; version=0.0.4"));
    let text = reply.text();
    for needle in [
        "signer_http_requests_total{route=\"/wallets\",method=\"POST\",status=\"201\"} 1",
        "signer_http_requests_total{route=\"/wallets/{id}\",method=\"GET\",status=\"200\"} 1",
        "signer_http_requests_total{route=\"/wallets/{id}\",method=\"GET\",status=\"404\"} 1",
        "signer_http_requests_total{route=\"/enclave/root\",method=\"GET\",status=\"200\"} 1",
        "signer_http_request_duration_seconds_count{route=\"/wallets/{id}\",method=\"GET\"} 2",
        "signer_enclave_requests_total{type=\"Call\",outcome=\"ok\"} 1",
        "signer_enclave_request_duration_seconds_count{type=\"Attest\"} 1",
    ] {
        assert!(text.contains(needle), "{needle}\n{text}");
    }

    let reply = http(h.addr, "GET", "/openapi.json", &[], None).await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/wallets",
        "/wallets/{id}",
        "/wallets/{id}/signatures",
        "/enclave/attestation",
        "/enclave/root",
        "/auth/registration/init",
        "/auth/registration",
        "/auth/registration/codes",
        "/auth/login/init",
        "/auth/login",
        "/auth/action/init",
        "/auth/action",
        "/auth/credentials/init",
        "/auth/credentials",
        "/auth/credentials/activate",
        "/auth/credentials/deactivate",
        "/.well-known/jwks.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path}");
    }
    // Every error code the API answers is listed, the new ones included.
    let codes = &doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"];
    for code in ["user_action_required", "forbidden", "conflict", "too_many_requests", "request_timeout"] {
        assert!(codes.as_array().unwrap().contains(&json!(code)), "{code}");
    }
    for path in ["/wallets", "/wallets/{id}/signatures"] {
        let params = doc["paths"][path]["post"]["parameters"].to_string();
        assert!(params.contains("UserAction") && params.contains("RequestSignature"), "{path}");
    }
}
