//! End-to-end: the real `signer-parent dev` stack (parent + mock-NSM enclave on a Unix socket),
//! driven over HTTP, the enclave socket and the `signer` command line.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha384};
use signer_client::{ImagePolicy, ResultExpectations, verify_signing_result};
use signer_common::attestation::{self, Expectations, TrustedRoot};
use signer_common::encoding::{from_b64, from_hex0x, to_hex0x};
use signer_common::protocol::MAX_MESSAGE_LEN;
use signer_common::receipt::{Receipt, ReceiptKind};
use signer_e2e::{Stack, bin};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// PCR0 of the mock NSM: SHA-384 of the enclave executable.
fn expected_pcr0() -> Vec<u8> {
    Sha384::digest(std::fs::read(bin("signer-enclave")).unwrap()).to_vec()
}

fn root_of(stack: &Stack) -> TrustedRoot {
    let (status, pem) = stack.get("/enclave/root", None).unwrap();
    assert_eq!(status, 200);
    TrustedRoot::from_pem(&pem).unwrap()
}

fn b64_field(v: &Value, name: &str) -> Vec<u8> {
    from_b64(v[name].as_str().unwrap_or_else(|| panic!("{name} missing in {v}"))).unwrap()
}

fn create_wallet(stack: &Stack, curve: &str, nonce: Option<&[u8]>) -> Value {
    let nonce_hex = nonce.map(hex::encode);
    let headers: Vec<(&str, &str)> = nonce_hex.iter().map(|n| ("X-Request-Nonce", n.as_str())).collect();
    let (status, wallet) = stack.signed_post("/wallets", &json!({ "curve": curve }).to_string(), &headers);
    assert!(status == 200 || status == 201, "{status} {wallet}");
    wallet
}

fn sign(stack: &Stack, wallet_id: &str, body: Value, nonce: Option<&[u8]>) -> (u16, Value) {
    let nonce_hex = nonce.map(hex::encode);
    let headers: Vec<(&str, &str)> = nonce_hex.iter().map(|n| ("X-Request-Nonce", n.as_str())).collect();
    stack.signed_post(&format!("/wallets/{wallet_id}/signatures"), &body.to_string(), &headers)
}

fn expectations(nonce: Option<&[u8]>) -> ResultExpectations {
    ResultExpectations {
        nonce: nonce.map(<[u8]>::to_vec),
        ..ResultExpectations::new(ImagePolicy::pcr0(expected_pcr0()).unwrap())
    }
}

/// Checks a secp256k1 `r||s||v` signature over `hash` with k256 directly.
fn check_secp256k1(public_key: &[u8], hash: &[u8; 32], encoded: &[u8]) {
    use k256::ecdsa::signature::hazmat::PrehashVerifier;
    use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
    assert_eq!(encoded.len(), 65);
    let vk = VerifyingKey::from_sec1_bytes(public_key).unwrap();
    let sig = Signature::from_slice(&encoded[..64]).unwrap();
    vk.verify_prehash(hash, &sig).unwrap();
    assert_eq!(sig.normalize_s(), sig, "signature must be low-S");
    let recovered =
        VerifyingKey::recover_from_prehash(hash, &sig, RecoveryId::from_byte(encoded[64]).unwrap()).unwrap();
    assert_eq!(recovered, vk);
}

/// Checks an Ed25519 signature over `message` with ed25519-dalek directly.
fn check_ed25519(public_key: &[u8], message: &[u8], encoded: &[u8]) {
    let vk = ed25519_dalek::VerifyingKey::from_bytes(public_key.try_into().unwrap()).unwrap();
    vk.verify_strict(message, &ed25519_dalek::Signature::from_slice(encoded).unwrap()).unwrap();
}

#[test]
fn creates_signs_and_verifies_on_both_curves_and_survives_a_restart() {
    let mut stack = Stack::start();
    let root = root_of(&stack);
    let mut wallets = Vec::new();

    for curve in ["secp256k1", "ed25519"] {
        // Create: the receipt names the public key and is bound to an attestation with our nonce.
        let nonce = [0x5a; 16];
        let wallet = create_wallet(&stack, curve, Some(&nonce));
        let public_key = from_hex0x(wallet["publicKey"].as_str().unwrap()).unwrap();
        let verified = verify_signing_result(
            &b64_field(&wallet, "receipt"),
            &b64_field(&wallet, "attestation"),
            &root,
            now(),
            &expectations(Some(&nonce)),
        )
        .unwrap();
        assert_eq!(verified.receipt.kind, ReceiptKind::WalletCreated);
        assert_eq!(verified.receipt.public_key, public_key);
        assert_eq!(verified.receipt.wallet_id, wallet["id"].as_str().unwrap());
        assert_eq!(verified.document.pcrs[&0], expected_pcr0());

        // Sign a hash; check the signature with the curve library itself, then the receipt binding.
        let hash: [u8; 32] = Sha256::digest(curve.as_bytes()).into();
        let sign_nonce = [0x11; 32];
        let (status, result) = sign(
            &stack,
            wallet["id"].as_str().unwrap(),
            json!({ "kind": "Hash", "hash": to_hex0x(&hash) }),
            Some(&sign_nonce),
        );
        assert_eq!(status, 200, "{result}");
        assert_eq!(result["status"], "Signed");
        assert_eq!(result["walletId"], wallet["id"]);
        let encoded = from_hex0x(result["signature"]["encoded"].as_str().unwrap()).unwrap();
        let receipt = b64_field(&result, "receipt");
        let attestation_doc = b64_field(&result, "attestation");
        match curve {
            "secp256k1" => {
                check_secp256k1(&public_key, &hash, &encoded);
                assert_eq!(result["signature"]["recid"].as_u64().unwrap(), u64::from(encoded[64]));
                assert_eq!(from_hex0x(result["signature"]["r"].as_str().unwrap()).unwrap(), encoded[..32]);
                assert_eq!(from_hex0x(result["signature"]["s"].as_str().unwrap()).unwrap(), encoded[32..64]);
            }
            _ => check_ed25519(&public_key, &hash, &encoded),
        }
        let doc = attestation::verify(
            &attestation_doc,
            &root,
            now(),
            &Expectations {
                user_data: Some(Receipt::digest(&receipt).to_vec()),
                nonce: Some(sign_nonce.to_vec()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(doc.user_data.as_deref(), Some(&Sha256::digest(&receipt)[..]));
        let verified =
            verify_signing_result(&receipt, &attestation_doc, &root, now(), &expectations(Some(&sign_nonce)))
                .unwrap();
        assert_eq!(verified.receipt.signature.as_deref(), Some(&encoded[..]));
        assert_eq!(verified.receipt.payload_sha256, Some(<[u8; 32]>::from(Sha256::digest(hash))));
        wallets.push((wallet["id"].as_str().unwrap().to_owned(), curve, public_key));
    }

    // Ed25519 signs raw messages too.
    let (id, _, public_key) = &wallets[1];
    let (status, result) = sign(&stack, id, json!({ "kind": "Message", "message": "0x68656c6c6f" }), None);
    assert_eq!(status, 200, "{result}");
    check_ed25519(
        public_key,
        b"hello",
        &from_hex0x(result["signature"]["encoded"].as_str().unwrap()).unwrap(),
    );
    // The largest message the API takes goes through the parent and the enclave's frame cap
    // (its hex fills most of the body); one byte more is refused.
    let largest = vec![0x5au8; MAX_MESSAGE_LEN];
    let (status, result) =
        sign(&stack, id, json!({ "kind": "Message", "message": to_hex0x(&largest) }), None);
    assert_eq!(status, 200, "{result}");
    check_ed25519(
        public_key,
        &largest,
        &from_hex0x(result["signature"]["encoded"].as_str().unwrap()).unwrap(),
    );
    let too_long = vec![0x5au8; MAX_MESSAGE_LEN + 1];
    let (status, _) = sign(&stack, id, json!({ "kind": "Message", "message": to_hex0x(&too_long) }), None);
    assert_eq!(status, 400);

    // Restart on the same data dir: the same wallets sign with the same keys, under the same root.
    stack.restart();
    assert_eq!(root_of(&stack).der(), root.der());
    for (id, curve, public_key) in &wallets {
        let (status, wallet) = stack.get(&format!("/wallets/{id}"), Some(&stack.token())).unwrap();
        assert_eq!(status, 200, "{wallet}");
        let hash = [0x42u8; 32];
        let (status, result) = sign(&stack, id, json!({ "kind": "Hash", "hash": to_hex0x(&hash) }), None);
        assert_eq!(status, 200, "{result}");
        let encoded = from_hex0x(result["signature"]["encoded"].as_str().unwrap()).unwrap();
        match *curve {
            "secp256k1" => check_secp256k1(public_key, &hash, &encoded),
            _ => check_ed25519(public_key, &hash, &encoded),
        }
        verify_signing_result(
            &b64_field(&result, "receipt"),
            &b64_field(&result, "attestation"),
            &root,
            now(),
            &expectations(None),
        )
        .unwrap();
    }
}

#[test]
fn bad_input_gets_clear_errors_and_changes_nothing() {
    let stack = Stack::start();
    let token = stack.token();
    let wallet = create_wallet(&stack, "secp256k1", None)["id"].as_str().unwrap().to_owned();
    let count = || {
        let (status, body) = stack.get("/wallets", Some(&token)).unwrap();
        assert_eq!(status, 200);
        serde_json::from_str::<Value>(&body).unwrap()["items"].as_array().unwrap().len()
    };
    assert_eq!(count(), 1);

    let sigs = format!("/wallets/{wallet}/signatures");
    let cases: Vec<(&str, String, u16)> = vec![
        ("/wallets", "{not json".into(), 400),
        ("/wallets", json!({ "curve": "p256" }).to_string(), 400),
        ("/wallets", json!({}).to_string(), 400),
        (&sigs, json!({ "kind": "Hash", "hash": to_hex0x(&[1; 31]) }).to_string(), 400),
        (&sigs, json!({ "kind": "Hash", "hash": "0xzz" }).to_string(), 400),
        (&sigs, json!({ "kind": "Message", "message": "0x00" }).to_string(), 400),
        (&sigs, json!({ "kind": "Nope" }).to_string(), 400),
        (
            "/wallets/wa-doesnotexist/signatures",
            json!({ "kind": "Hash", "hash": to_hex0x(&[1; 32]) }).to_string(),
            404,
        ),
        ("/wallets", format!("{{\"curve\":\"ed25519\",\"name\":\"{}\"}}", "x".repeat(300 * 1024)), 413),
    ];
    for (path, body, expected) in cases {
        // Signed by the dev admin: the refusal is for the input, not for a missing signature.
        let (status, answer) = stack.signed_post(path, &body, &[]);
        assert_eq!(status, expected, "{path} {}: {answer}", &body[..body.len().min(80)]);
        if expected != 413 || !answer.is_null() {
            assert!(answer["error"]["code"].is_string(), "{answer}");
            assert!(answer["error"]["message"].is_string(), "{answer}");
        }
    }
    // A nonce that is not hex, or too long, is refused too.
    let create = json!({ "curve": "ed25519" }).to_string();
    assert_eq!(stack.signed_post("/wallets", &create, &[("X-Request-Nonce", "xyz")]).0, 400);
    assert_eq!(stack.signed_post("/wallets", &create, &[("X-Request-Nonce", &"ab".repeat(65))]).0, 400);
    // No token, or a forged one: 401.
    assert_eq!(stack.get("/wallets", None).unwrap().0, 401);
    assert_eq!(stack.get("/wallets", Some("eyJhbGciOiJub25lIn0.e30.")).unwrap().0, 401);
    // Nothing was created by any of the refused requests.
    assert_eq!(count(), 1);
}

#[test]
fn parent_reconnects_after_the_enclave_restarts() {
    let stack = Stack::start();
    let wallet = create_wallet(&stack, "ed25519", None)["id"].as_str().unwrap().to_owned();
    let body = json!({ "kind": "Hash", "hash": to_hex0x(&[3; 32]) });
    assert_eq!(sign(&stack, &wallet, body.clone(), None).0, 200);
    let old_pid = stack.enclave_pid();
    assert!(
        std::process::Command::new("kill").args(["-9", &old_pid.to_string()]).status().unwrap().success()
    );
    // The dev supervisor restarts the enclave; the parent's pool reconnects on its own.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, answer) = sign(&stack, &wallet, body.clone(), None);
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{answer}");
        assert!(std::time::Instant::now() < deadline, "enclave did not come back:\n{}", stack.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_ne!(stack.enclave_pid(), old_pid);
}

#[test]
fn attestation_endpoint_and_metrics() {
    let stack = Stack::start();
    let root = root_of(&stack);
    let (status, body) = stack.get("/enclave/attestation?nonce=0x0102030405", None).unwrap();
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let doc = attestation::verify(
        &b64_field(&answer, "attestation"),
        &root,
        now(),
        &Expectations {
            nonce: Some(vec![1, 2, 3, 4, 5]),
            pcrs: BTreeMap::from([(0, expected_pcr0())]),
            ..Default::default()
        },
    )
    .unwrap();
    for (index, value) in &doc.pcrs {
        assert_eq!(
            answer["pcrs"][index.to_string()].as_str().map(|h| hex::decode(h).unwrap()),
            Some(value.clone())
        );
    }
    // The mock root is not the AWS root: a mock document never verifies against AWS.
    assert!(
        attestation::verify(
            &b64_field(&answer, "attestation"),
            &TrustedRoot::aws_nitro_root_g1(),
            now(),
            &Expectations::default()
        )
        .is_err()
    );

    assert_eq!(stack.get("/healthz", None).unwrap().0, 200);
    let mut reply = ureq::get(&stack.metrics_url).call().unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    let metrics = reply.body_mut().read_to_string().unwrap();
    assert!(metrics.contains("/enclave/attestation"), "{metrics}");
    assert!(metrics.contains("_bucket"), "{metrics}");
}

fn signer(stack: &Stack, args: &[&str]) -> (bool, Value, String) {
    run_tool(stack, "signer", args)
}

/// Runs one of the client binaries with the stack's credentials: (success, JSON stdout, stderr).
fn run_tool(stack: &Stack, tool: &str, args: &[&str]) -> (bool, Value, String) {
    let out = std::process::Command::new(bin(tool))
        .arg("--credentials")
        .arg(stack.credentials_path())
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.success(), serde_json::from_str(&stdout).unwrap_or(Value::Null), stderr)
}

#[test]
fn signer_cli_creates_signs_and_verifies() {
    let stack = Stack::start();
    let dir = tempfile::tempdir().unwrap();
    let root_path = dir.path().join("root.pem");
    std::fs::write(&root_path, stack.get("/enclave/root", None).unwrap().1).unwrap();
    let root_arg = format!("pem:{}", root_path.display());

    let pcr0 = format!("0={}", hex::encode(expected_pcr0()));
    let (ok, wallet, err) = signer(
        &stack,
        &["wallet", "create", "--curve", "secp256k1", "--root", &root_arg, "--pcr", &pcr0, "--json"],
    );
    assert!(ok, "{err}");
    let id = wallet["id"].as_str().unwrap().to_owned();
    let hash = to_hex0x(&[0xab; 32]);
    let (ok, result, err) = signer(
        &stack,
        &["wallet", "sign", "--wallet", &id, "--hash", &hash, "--root", &root_arg, "--pcr", &pcr0, "--json"],
    );
    assert!(ok, "{err}");
    let encoded = from_hex0x(result["signature"]["encoded"].as_str().unwrap()).unwrap();
    check_secp256k1(&from_hex0x(wallet["publicKey"].as_str().unwrap()).unwrap(), &[0xab; 32], &encoded);

    // receipt verify: exits 0 on the genuine pair...
    let receipt = result["receipt"].as_str().unwrap().to_owned();
    let attestation_doc = result["attestation"].as_str().unwrap().to_owned();
    let (ok, verified, err) = signer(
        &stack,
        &[
            "receipt",
            "verify",
            "--receipt",
            &receipt,
            "--attestation",
            &attestation_doc,
            "--root",
            &root_arg,
            "--pcr",
            &pcr0,
            "--json",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["walletId"], id.as_str());
    // ...and non-zero with a one-line reason on a receipt from another request.
    let other =
        signer(&stack, &["wallet", "sign", "--wallet", &id, "--hash", &to_hex0x(&[1; 32]), "--json"]).1;
    let (ok, _, err) = signer(
        &stack,
        &[
            "receipt",
            "verify",
            "--receipt",
            other["receipt"].as_str().unwrap(),
            "--attestation",
            &attestation_doc,
            "--root",
            &root_arg,
            "--pcr",
            &pcr0,
            "--json",
        ],
    );
    assert!(!ok);
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // attestation verify on a file, with the expected PCR0 and nonce.
    let (_, body) = stack.get("/enclave/attestation?nonce=cafe", None).unwrap();
    let doc_path = dir.path().join("doc.b64");
    std::fs::write(&doc_path, serde_json::from_str::<Value>(&body).unwrap()["attestation"].as_str().unwrap())
        .unwrap();
    let doc_arg = doc_path.display().to_string();
    let (ok, out, err) = signer(
        &stack,
        &[
            "attestation",
            "verify",
            "--doc",
            &doc_arg,
            "--root",
            &root_arg,
            "--pcr",
            &pcr0,
            "--nonce",
            "cafe",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out["valid"], true);
    assert_eq!(out["nonce"], "cafe");
    assert_eq!(out["digest"], "SHA384");
    let (ok, _, _) = signer(
        &stack,
        &["attestation", "verify", "--doc", &doc_arg, "--root", &root_arg, "--nonce", "beef", "--json"],
    );
    assert!(!ok, "a wrong nonce must fail");
    let (ok, _, _) = signer(&stack, &["attestation", "verify", "--doc", &doc_arg, "--root", "aws", "--json"]);
    assert!(!ok, "a mock document must not verify against the AWS root");
}

#[test]
fn session_mode_receipts_are_signed_by_the_attested_receipt_key() {
    use signer_common::session::{
        SESSION_DOCUMENT_USER_DATA, decode_receipt_key, session_id, signed_message,
    };
    let stack = Stack::start();
    let root = root_of(&stack);
    let wallet = create_wallet(&stack, "secp256k1", None);
    let id = wallet["id"].as_str().unwrap();
    let public_key = from_hex0x(wallet["publicKey"].as_str().unwrap()).unwrap();
    let nonce = [0x77u8; 16];
    let nonce_hex = hex::encode(nonce);

    let mut session_ids = Vec::new();
    for i in 0..3u8 {
        let hash = [i; 32];
        let body = json!({ "kind": "Hash", "hash": to_hex0x(&hash) }).to_string();
        let (status, result) = stack.signed_post(
            &format!("/wallets/{id}/signatures"),
            &body,
            &[("X-Attestation", "session"), ("X-Request-Nonce", &nonce_hex)],
        );
        assert_eq!(status, 200, "{result}");
        assert_eq!(result["attestationMode"], "session");
        assert!(result.get("attestation").is_none());
        let receipt = b64_field(&result, "receipt");
        let receipt_signature = b64_field(&result, "receiptSignature");
        let claimed_id = hex::decode(result["sessionId"].as_str().unwrap()).unwrap();

        // The session document, fetched by id and verified like any attestation document.
        let (status, body) = stack
            .get(&format!("/enclave/attestation/session?id={}", hex::encode(&claimed_id)), None)
            .unwrap();
        assert_eq!(status, 200, "{body}");
        let document = b64_field(&serde_json::from_str(&body).unwrap(), "attestation");
        assert_eq!(session_id(&document).to_vec(), claimed_id, "the id is the document's SHA-256");
        let expect = Expectations {
            user_data: Some(SESSION_DOCUMENT_USER_DATA.to_vec()),
            pcrs: BTreeMap::from([(0, expected_pcr0())]),
            ..Default::default()
        };
        let doc = attestation::verify(&document, &root, now(), &expect).unwrap();
        let receipt_key = decode_receipt_key(doc.public_key.as_deref().unwrap()).unwrap();
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&receipt_key).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&receipt_signature).unwrap();
        vk.verify_strict(&signed_message(&receipt), &sig).unwrap();

        // The receipt names this wallet, this hash, our nonce, and a signature that checks.
        let decoded = Receipt::from_cbor(&receipt).unwrap();
        assert_eq!(decoded.public_key, public_key);
        assert_eq!(decoded.payload.as_deref(), Some(&hash[..]));
        assert_eq!(decoded.nonce.as_deref(), Some(&nonce[..]));
        check_secp256k1(&public_key, &hash, decoded.signature.as_deref().unwrap());
        // A receipt signature does not carry over to another receipt.
        let mut other = receipt.clone();
        let last = other.len() - 1;
        other[last] ^= 1;
        assert!(vk.verify_strict(&signed_message(&other), &sig).is_err());
        session_ids.push(claimed_id);
    }
    // One session document serves many requests.
    assert!(session_ids.windows(2).all(|w| w[0] == w[1]));
    // An unknown session id is a clean 404, a malformed one a 400.
    assert_eq!(
        stack.get(&format!("/enclave/attestation/session?id={}", "00".repeat(32)), None).unwrap().0,
        404
    );
    assert_eq!(stack.get("/enclave/attestation/session?id=xyz", None).unwrap().0, 400);
}

fn signer_load(stack: &Stack, args: &[&str]) -> (bool, Value, String) {
    let mut all = vec!["--json", "--concurrency", "4", "--requests", "120"];
    all.extend_from_slice(args);
    run_tool(stack, "signer-load", &all)
}

/// `signer-load --root` verifies every answer under load, in both modes, on both curves; against
/// the wrong root (AWS's, for mock documents) every request counts as an error.
#[test]
fn load_tool_verifies_every_answer_when_given_a_root() {
    let stack = Stack::start();
    let (status, pem) = stack.get("/enclave/root", None).unwrap();
    assert_eq!(status, 200);
    let root_file = stack.dir.join("root.pem");
    std::fs::write(&root_file, pem).unwrap();
    let root = format!("pem:{}", root_file.display());
    let pcr0 = format!("0={}", hex::encode(expected_pcr0()));
    for curve in ["secp256k1", "ed25519"] {
        for mode in ["fresh", "session"] {
            let args = ["--curve", curve, "--attestation", mode, "--root", &root, "--pcr", &pcr0];
            let (ok, report, stderr) = signer_load(&stack, &args);
            assert!(ok, "{stderr}");
            assert_eq!(
                (&report["requests"], &report["errors"], &report["verified"]),
                (&json!(120), &json!(0), &json!(true)),
                "{curve} {mode}: {report}"
            );
        }
    }
    // Against the wrong root the wallet's own creation does not verify: nothing is loaded.
    let (ok, _, stderr) = signer_load(&stack, &["--attestation", "session", "--root", "aws", "--pcr", &pcr0]);
    assert!(!ok);
    assert!(stderr.contains("does not verify") && stderr.contains("certificate chain"), "{stderr}");
    // With a root, an expected image is required.
    let (ok, _, stderr) = signer_load(&stack, &["--root", &root]);
    assert!(!ok);
    assert!(stderr.contains("no expected enclave image"), "{stderr}");
    let (ok, report, stderr) = signer_load(&stack, &["--root", &root, "--allow-any-image"]);
    assert!(ok, "{stderr}");
    assert_eq!((&report["errors"], &report["verified"]), (&json!(0), &json!(true)), "{report}");
}
