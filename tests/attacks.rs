//! Attacks by a lying parent and by another enclave image, against the real stack, refused by
//! the SDK and by the `signer` command line.
//!
//! - A proxy in front of the real `signer-parent dev` rewrites requests on their way (the curve
//!   at creation, the hash, the wallet id): the user's signature no longer matches and the
//!   enclave refuses them (403), nothing made. A proxy that hands back authentic answers to
//!   other requests of the same user: the client, comparing them with what it asked, refuses.
//! - A second enclave binary (the real one with bytes appended: another PCR0) on the same data
//!   directory and mock root: a client pinned to the real PCR0 refuses its answers, and with a
//!   root but no expected image the CLI refuses to verify at all.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha384};
use signer_client::{
    Client, ClientError, Credentials, Curve, ImagePolicy, SessionCache, TrustedRoot, VerifyResultError,
};
use signer_common::attestation::VerifyError;
use signer_e2e::auth_support::{dev_user, wallet_count};
use signer_e2e::proxy::{ProxiedRequest, Proxy};
use signer_e2e::{Stack, bin};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// PCR0 of the mock NSM: SHA-384 of the enclave executable.
fn pcr0_of(path: &Path) -> Vec<u8> {
    Sha384::digest(std::fs::read(path).unwrap()).to_vec()
}

/// The stack's root, written to `DIR/root.pem` (pinned once, before any attack).
fn pin_root(stack: &Stack) -> (TrustedRoot, String) {
    let (status, pem) = stack.get("/enclave/root", None).unwrap();
    assert_eq!(status, 200);
    let file = stack.dir.join("root.pem");
    std::fs::write(&file, &pem).unwrap();
    (TrustedRoot::from_pem(&pem).unwrap(), format!("pem:{}", file.display()))
}

/// `signer --credentials DIR/dev-credentials.json --url URL ARGS...`
fn signer(stack: &Stack, url: &str, args: &[&str]) -> Output {
    Command::new(bin("signer"))
        .arg("--credentials")
        .arg(stack.credentials_path())
        .args(["--url", url])
        .args(args)
        .output()
        .unwrap()
}

/// The one-line reason of a command that must fail.
fn refused(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "accepted: {}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    stderr
}

fn accepted(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(stdout.trim()).unwrap()
}

fn client(stack: &Stack, url: &str) -> Client {
    Client::from_credentials(&Credentials::from_file(stack.credentials_path()).unwrap())
        .unwrap()
        .with_url(url)
}

fn create(stack: &Stack, curve: &str) -> String {
    let (status, wallet) = stack.signed_post_json("/wallets", &json!({ "curve": curve }));
    assert!(status == 200 || status == 201, "{status} {wallet}");
    wallet["id"].as_str().unwrap().to_owned()
}

fn is_signature(request: &ProxiedRequest) -> bool {
    request.method == "POST" && request.path.ends_with("/signatures")
}

/// The SDK's error for a call the enclave refused: HTTP 403 `forbidden`.
fn assert_forbidden<T: std::fmt::Debug>(result: Result<T, ClientError>) {
    match result {
        Err(ClientError::Api { status, code, .. }) => assert_eq!((status, code.as_str()), (403, "forbidden")),
        other => panic!("expected a 403, got {other:?}"),
    }
}

/// A proxy answering `answer` (an authentic answer to another request) to every request that
/// `matches`, after forwarding it.
fn answering(stack: &Stack, matches: fn(&ProxiedRequest) -> bool, answer: &Value) -> Proxy {
    let answer = answer.to_string().into_bytes();
    Proxy::start_with(
        &stack.url,
        |_| {},
        move |request, status, body| {
            if matches(request) {
                *status = 200;
                body.clone_from(&answer);
            }
        },
    )
}

#[test]
fn answers_to_rewritten_requests_are_refused() {
    let stack = Stack::start();
    let user = dev_user(&stack);
    let (root, root_arg) = pin_root(&stack);
    let pcr0 = pcr0_of(&bin("signer-enclave"));
    let image = ImagePolicy::pcr0(pcr0.clone()).unwrap();
    let pin = format!("0={}", hex::encode(&pcr0));
    let asked = create(&stack, "secp256k1");
    let other = create(&stack, "secp256k1");
    let hash = format!("0x{}", "ab".repeat(32));
    let cache = SessionCache::new();

    // A faithful proxy changes nothing: both clients accept its answers.
    let faithful = Proxy::start(&stack.url, |_| {});
    let sdk = client(&stack, &faithful.url);
    let created = sdk.create_wallet(Curve::Ed25519, None, None).unwrap();
    created.verify(&root, now(), &image).unwrap();
    let signed = sdk.sign_hash(&asked, [0xab; 32], None).unwrap();
    sdk.verify_signature(&signed, &root, now(), &image, None, &cache).unwrap();
    let create_args =
        ["wallet", "create", "--curve", "ed25519", "--root", &root_arg, "--pcr", &pin, "--json"];
    assert_eq!(accepted(&signer(&stack, &faithful.url, &create_args))["verified"], true);
    let sign_args =
        ["wallet", "sign", "--wallet", &asked, "--hash", &hash, "--root", &root_arg, "--pcr", &pin, "--json"];
    assert_eq!(accepted(&signer(&stack, &faithful.url, &sign_args))["verified"], true);
    let wallets = wallet_count(&stack, &user.token);

    // Requests rewritten on their way: the user's signature covers the method, the path and the
    // body, so the enclave refuses each (403) and nothing is made. The curve swapped at creation:
    let swap_curve = Proxy::start(&stack.url, |request| {
        if request.method == "POST" && request.path == "/wallets" {
            let body = String::from_utf8(request.body.clone()).unwrap();
            request.body = body.replace("\"ed25519\"", "\"secp256k1\"").into_bytes();
        }
    });
    assert_forbidden(client(&stack, &swap_curve.url).create_wallet(Curve::Ed25519, None, None));
    let err = refused(&signer(&stack, &swap_curve.url, &create_args));
    assert!(err.contains("forbidden") || err.contains("403"), "{err}");
    // Another hash than the one asked for:
    let swap_hash = Proxy::start(&stack.url, |request| {
        if is_signature(request) {
            let mut body: Value = serde_json::from_slice(&request.body).unwrap();
            body["hash"] = json!(format!("0x{}", "5a".repeat(32)));
            request.body = body.to_string().into_bytes();
        }
    });
    assert_forbidden(client(&stack, &swap_hash.url).sign_hash(&asked, [0xab; 32], None));
    let err = refused(&signer(&stack, &swap_hash.url, &sign_args));
    assert!(err.contains("forbidden") || err.contains("403"), "{err}");
    // Another wallet than the one asked for:
    let (from, to) = (format!("/wallets/{asked}/"), format!("/wallets/{other}/"));
    let swap_wallet = Proxy::start(&stack.url, move |request| {
        if is_signature(request) {
            request.path = request.path.replace(&from, &to);
        }
    });
    assert_forbidden(client(&stack, &swap_wallet.url).sign_hash(&asked, [0xab; 32], None));
    let err = refused(&signer(&stack, &swap_wallet.url, &sign_args));
    assert!(err.contains("forbidden") || err.contains("403"), "{err}");
    assert_eq!(wallet_count(&stack, &user.token), wallets, "a refused creation made a wallet");

    // A parent that answers with authentic answers to other requests of the same user (made with
    // the nonce the client will send): the clients compare them with what they asked and refuse.
    let nonce = [0x33u8; 16];
    let nonce_hex = hex::encode(nonce);
    let with_nonce = [("X-Request-Nonce", nonce_hex.as_str())];
    let signed_post = |path: &str, body: Value| {
        let (status, answer) = stack.signed_post(path, &body.to_string(), &with_nonce);
        assert!(status == 200 || status == 201, "{status} {answer}");
        answer
    };
    let secp_created = signed_post("/wallets", json!({ "curve": "secp256k1" }));
    let sigs = |wallet: &str| format!("/wallets/{wallet}/signatures");
    let other_hash =
        signed_post(&sigs(&asked), json!({ "kind": "Hash", "hash": format!("0x{}", "5a".repeat(32)) }));
    let other_wallet = signed_post(&sigs(&other), json!({ "kind": "Hash", "hash": hash }));
    let create_args = [&create_args[..], &["--nonce", &nonce_hex]].concat();
    let sign_args = [&sign_args[..], &["--nonce", &nonce_hex]].concat();

    let is_creation: fn(&ProxiedRequest) -> bool = |r| r.method == "POST" && r.path == "/wallets";
    let proxy = answering(&stack, is_creation, &secp_created);
    let created = client(&stack, &proxy.url).create_wallet(Curve::Ed25519, None, Some(&nonce)).unwrap();
    assert_eq!(created.wallet.curve, "secp256k1", "the proxy swapped the answer");
    assert_eq!(
        created.verify(&root, now(), &image).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "curve" })
    );
    let err = refused(&signer(&stack, &proxy.url, &create_args));
    assert!(err.contains("does not verify") && err.contains("curve"), "{err}");

    let proxy = answering(&stack, is_signature, &other_hash);
    let sdk = client(&stack, &proxy.url);
    let signed = sdk.sign_hash(&asked, [0xab; 32], Some(&nonce)).unwrap();
    assert_eq!(
        sdk.verify_signature(&signed, &root, now(), &image, None, &cache).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "payload" })
    );
    let err = refused(&signer(&stack, &proxy.url, &sign_args));
    assert!(err.contains("does not verify") && err.contains("payload"), "{err}");

    let proxy = answering(&stack, is_signature, &other_wallet);
    let sdk = client(&stack, &proxy.url);
    let signed = sdk.sign_hash(&asked, [0xab; 32], Some(&nonce)).unwrap();
    assert_eq!(signed.result.wallet_id, other, "the proxy swapped the answer");
    assert_eq!(
        sdk.verify_signature(&signed, &root, now(), &image, None, &cache).map(|_| ()),
        Err(VerifyResultError::Mismatch { field: "walletId" })
    );
    let err = refused(&signer(&stack, &proxy.url, &sign_args));
    assert!(err.contains("does not verify") && err.contains("walletId"), "{err}");

    // The nonce dropped (an old answer could then be replayed; the header is not under the
    // user's signature): refused by the clients.
    let drop_nonce = Proxy::start(&stack.url, |request| {
        request.headers.retain(|(name, _)| name != "x-request-nonce");
    });
    let sdk = client(&stack, &drop_nonce.url);
    let signed = sdk.sign_hash(&asked, [0xab; 32], None).unwrap();
    let err = sdk.verify_signature(&signed, &root, now(), &image, None, &cache).unwrap_err();
    assert!(err.to_string().contains("nonce"), "{err}");
    let err = refused(&signer(&stack, &drop_nonce.url, &sign_args));
    assert!(err.contains("nonce"), "{err}");
}

#[test]
fn another_enclave_image_is_refused() {
    let dir = tempfile::Builder::new().prefix("signer-e2e-image").tempdir().unwrap();
    let real_pcr0 = pcr0_of(&bin("signer-enclave"));
    let pin = format!("0={}", hex::encode(&real_pcr0));
    let (root, root_arg) = {
        let stack = Stack::start_in(dir.path());
        pin_root(&stack)
    };

    // The same enclave with bytes appended: it runs the same, but it is another image.
    let copy = dir.path().join("signer-enclave-other");
    let mut bytes = std::fs::read(bin("signer-enclave")).unwrap();
    bytes.extend_from_slice(b"\0another image");
    std::fs::write(&copy, &bytes).unwrap();
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let other_pcr0 = pcr0_of(&copy);
    assert_ne!(other_pcr0, real_pcr0);
    let stack = Stack::start_in_with(dir.path(), &["--enclave-bin", copy.to_str().unwrap()]);
    assert_eq!(pin_root(&stack).0, root, "the same mock root signs for the other image");
    let (_, body) = stack.get("/enclave/attestation", None).unwrap();
    let pcrs = serde_json::from_str::<Value>(&body).unwrap()["pcrs"].clone();
    assert_eq!(pcrs["0"], hex::encode(&other_pcr0), "{pcrs}");

    // The SDK pinned to the real image refuses; authenticity alone would have accepted.
    let sdk = client(&stack, &stack.url);
    let created = sdk.create_wallet(Curve::Ed25519, None, None).unwrap();
    assert_eq!(
        created.verify(&root, now(), &ImagePolicy::pcr0(real_pcr0.clone()).unwrap()).map(|_| ()),
        Err(VerifyResultError::Attestation(VerifyError::PcrMismatch { index: 0 }))
    );
    created.verify(&root, now(), &ImagePolicy::danger_any_image()).unwrap();

    // The CLI: pinned, refused; with a root but no image, refused before anything is sent;
    // unpinned only on request.
    let url = stack.url.clone();
    let create = |extra: &[&str]| {
        let args =
            [&["wallet", "create", "--curve", "ed25519", "--root", &root_arg, "--json"][..], extra].concat();
        signer(&stack, &url, &args)
    };
    let err = refused(&create(&["--pcr", &pin]));
    assert!(err.contains("does not verify") && err.contains("PCR0"), "{err}");
    let pcrs_file = dir.path().join("expected-pcrs.json");
    std::fs::write(&pcrs_file, json!({ "0": hex::encode(&real_pcr0) }).to_string()).unwrap();
    let err = refused(&create(&["--pcrs", pcrs_file.to_str().unwrap()]));
    assert!(err.contains("PCR0"), "{err}");
    let err = refused(&create(&[]));
    assert!(err.contains("no expected enclave image"), "{err}");
    assert_eq!(accepted(&create(&["--allow-any-image"]))["verified"], true);
}
