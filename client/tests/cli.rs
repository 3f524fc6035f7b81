//! The `signer` and `signer-load` binaries, against the loopback stub and real AWS documents.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use signer_common::encoding::to_b64url;
use signer_common::protocol::Curve;
use signer_common::receipt::ReceiptKind;
use support::{MockNsm, StubParent, Tamper, WalletKey, pcrs};

fn signer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signer")).args(args).output().unwrap()
}

/// `signer --credentials CREDS wallet ARGS...`
fn wallet_cmd(creds: &Path, args: &[&str]) -> Output {
    signer(&[&["--credentials", path(creds), "wallet"], args].concat())
}

/// `--pcr 0=HEX` of the stub's mock enclave image.
fn pin() -> String {
    format!("0={}", hex::encode(&pcrs()[&0]))
}

/// `signer receipt verify --receipt RECEIPT --attestation DOC --root ROOT ARGS...`, pinned to
/// the stub's image unless `args` say otherwise.
fn receipt_verify(receipt: &str, attestation: &str, root: &str, args: &[&str]) -> Output {
    let head = ["receipt", "verify", "--receipt", receipt, "--attestation", attestation, "--root", root];
    let pin = pin();
    let pinned = args.iter().any(|a| *a == "--pcrs" || *a == "--allow-any-image");
    let pin_args: &[&str] = if pinned { &[] } else { &["--pcr", &pin] };
    signer(&[&head, pin_args, args].concat())
}

/// `signer attestation verify --doc DOC --root ROOT ARGS...`
fn attestation_verify(doc: &Path, root: &str, args: &[&str]) -> Output {
    signer(&[&["attestation", "verify", "--doc", path(doc), "--root", root], args].concat())
}

/// Runs a command that must succeed with one JSON object on stdout.
fn ok_json(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    serde_json::from_str(stdout.trim()).unwrap()
}

/// A command that must fail with one line on stderr and, on stdout, nothing or (with `--json`)
/// the same message as `{ "error": { "code", "message" } }`; answers the line.
fn failure(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "unexpected success: {}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    if !output.stdout.is_empty() {
        let error = json_error(output);
        assert_eq!(format!("signer: {}", error["message"].as_str().unwrap()), stderr.trim_end());
    }
    stderr
}

/// The `{ "error": { "code", "message" } }` a failed `--json` command prints on stdout.
fn json_error(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    let value: Value = serde_json::from_str(stdout.trim()).unwrap();
    let error = value["error"].clone();
    let code = error["code"].as_str().unwrap();
    assert!(!code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code}");
    assert_eq!(value.as_object().unwrap().len(), 1, "{value}");
    error
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn pem_arg(file: &Path) -> String {
    format!("pem:{}", file.display())
}

#[test]
fn wallet_create_and_sign_with_and_without_verification() {
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    let root = pem_arg(&stub.root_file(dir.path()));

    // The exact form of the command-line contract.
    let out = signer(&[
        "--url",
        &stub.url,
        "--credentials",
        path(&creds),
        "wallet",
        "create",
        "--curve",
        "secp256k1",
        "--json",
    ]);
    let wallet = ok_json(&out);
    assert_eq!(wallet["verified"], false);
    assert_eq!(wallet["curve"], "secp256k1");
    let id = wallet["id"].as_str().unwrap().to_owned();

    // url from the credentials file; global options after the subcommand; verified.
    let pcr0 = format!("0={}", hex::encode(&pcrs()[&0]));
    let out = signer(&[
        "wallet",
        "create",
        "--curve",
        "ed25519",
        "--name",
        "n1",
        "--nonce",
        "0xabcd",
        "--root",
        &root,
        "--pcr",
        &pcr0,
        "--credentials",
        path(&creds),
        "--json",
    ]);
    let ed = ok_json(&out);
    assert_eq!(ed["verified"], true);
    assert_eq!(ed["name"], "n1");
    assert!(ed["receipt"].is_string() && ed["attestation"].is_string());
    assert_eq!(stub.requests().last().unwrap().header("x-request-nonce"), Some("abcd"));

    let hash = format!("0x{}", "ab".repeat(32));
    let out = wallet_cmd(
        &creds,
        &["sign", "--wallet", &id, "--hash", &hash, "--root", &root, "--pcr", &pin(), "--json"],
    );
    let signed = ok_json(&out);
    assert_eq!(signed["verified"], true);
    assert_eq!(signed["status"], "Signed");
    assert_eq!(signed["walletId"], id.as_str());
    assert_eq!(signed["signature"]["encoded"].as_str().unwrap().len(), 2 + 130);

    let ed_id = ed["id"].as_str().unwrap();
    let out = wallet_cmd(
        &creds,
        &[
            "sign",
            "--wallet",
            ed_id,
            "--message",
            "68656c6c6f",
            "--nonce",
            "01",
            "--root",
            &root,
            "--pcr",
            &pin(),
            "--json",
        ],
    );
    assert_eq!(ok_json(&out)["verified"], true);

    // The receipt from `wallet sign` verifies on its own with `receipt verify`.
    let out = receipt_verify(
        signed["receipt"].as_str().unwrap(),
        signed["attestation"].as_str().unwrap(),
        &root,
        &["--wallet", &id, "--json"],
    );
    let verified = ok_json(&out);
    assert_eq!(verified["valid"], true);
    assert_eq!(verified["kind"], "Hash");
    assert_eq!(verified["walletId"], id.as_str());
    assert_eq!(verified["curve"], "secp256k1");
    assert_eq!(verified["publicKey"], wallet["publicKey"]);
    assert_eq!(verified["signature"], signed["signature"]["encoded"]);
    assert_eq!(verified["payload"], hash.as_str());
    assert_eq!(verified["moduleId"], "i-mock-enc0");
    assert_eq!(verified["pcrs"]["2"], hex::encode(&pcrs()[&2]));
    for key in ["payloadSha256", "requestId", "time"] {
        assert!(!verified[key].is_null(), "{key}");
    }

    // get, list, and the text forms.
    let out = wallet_cmd(&creds, &["get", "--wallet", &id, "--json"]);
    assert_eq!(ok_json(&out)["id"], id.as_str());
    let out = wallet_cmd(&creds, &["list", "--json"]);
    assert_eq!(ok_json(&out)["items"].as_array().unwrap().len(), 2);
    let out = wallet_cmd(&creds, &["list"]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let out = wallet_cmd(&creds, &["sign", "--wallet", &id, "--hash", &hash]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("not verified"));

    // Failures: API error, bad input, missing credentials, usage errors.
    let err = failure(&wallet_cmd(&creds, &["get", "--wallet", "wa-none", "--json"]));
    assert!(err.contains("404") && err.contains("not_found"), "{err}");
    let err = failure(&wallet_cmd(&creds, &["sign", "--wallet", &id, "--hash", "0x12", "--json"]));
    assert!(err.contains("32 bytes"), "{err}");
    failure(&wallet_cmd(&creds, &["sign", "--wallet", &id, "--hash", &hash, "--message", "00"]));
    failure(&wallet_cmd(&creds, &["sign", "--wallet", &id]));
    failure(&signer(&["wallet", "list", "--json"]));
    failure(&wallet_cmd(&creds, &["create", "--curve", "p256", "--json"]));
    failure(&signer(&["wallet"]));
    failure(&signer(&["--bogus"]));
}

#[test]
fn lies_from_the_parent_fail_verification() {
    for tamper in [Tamper::WalletPublicKey, Tamper::SwapHash, Tamper::EncodedSignature] {
        let stub = StubParent::start(tamper);
        let dir = tempfile::tempdir().unwrap();
        let creds = stub.credentials_file(dir.path());
        let root = pem_arg(&stub.root_file(dir.path()));
        let created = wallet_cmd(
            &creds,
            &["create", "--curve", "secp256k1", "--root", &root, "--pcr", &pin(), "--json"],
        );
        if tamper == Tamper::WalletPublicKey {
            let err = failure(&created);
            assert!(err.contains("does not verify") && err.contains("publicKey"), "{err}");
            continue;
        }
        let id = ok_json(&created)["id"].as_str().unwrap().to_owned();
        let hash = format!("0x{}", "01".repeat(32));
        let err = failure(&wallet_cmd(
            &creds,
            &["sign", "--wallet", &id, "--hash", &hash, "--root", &root, "--pcr", &pin(), "--json"],
        ));
        assert!(err.contains("step 4"), "{err}");
        // Without --root the lie goes unnoticed, and the output says so.
        let out = wallet_cmd(&creds, &["sign", "--wallet", &id, "--hash", &hash, "--json"]);
        assert_eq!(ok_json(&out)["verified"], false);
    }
    // The real AWS root does not accept the mock chain.
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    let err = failure(&wallet_cmd(
        &creds,
        &["create", "--curve", "ed25519", "--root", "aws", "--pcr", &pin(), "--json"],
    ));
    assert!(err.contains("certificate chain"), "{err}");
}

#[test]
fn receipt_verify_refuses_tampering() {
    let nsm = MockNsm::new();
    let dir = tempfile::tempdir().unwrap();
    let root = pem_arg(&nsm.root_file(dir.path()));
    let key = WalletKey::new(Curve::Ed25519, 3);
    let receipt = key.signed_receipt("wa-9", ReceiptKind::Message, b"m");
    let (bytes, doc) = nsm.attest_receipt(&receipt, Some(b"nn"));
    let (r64, d64) = (to_b64url(&bytes), to_b64url(&doc));

    let verify = |extra: &[&str]| receipt_verify(&r64, &d64, &root, &[&["--json"], extra].concat());
    let pcr1 = format!("1={}", hex::encode(&pcrs()[&1]));
    let json = ok_json(&verify(&["--nonce", "0x6e6e", "--pcr", &pcr1]));
    assert_eq!(json["nonce"], "6e6e");
    assert!(failure(&verify(&["--nonce", "6e6f"])).contains("nonce"));
    assert!(failure(&verify(&["--pcr", "1=00"])).contains("PCR1"));
    assert!(failure(&verify(&["--wallet", "wa-8"])).contains("walletId"));
    assert!(failure(&verify(&["--at", "1600000000"])).contains("certificate"));
    let err =
        failure(&verify(&["--public-key", &hex::encode(WalletKey::new(Curve::Ed25519, 4).public_key())]));
    assert!(err.contains("publicKey"), "{err}");

    // Another receipt with this document.
    let other = to_b64url(&key.signed_receipt("wa-9", ReceiptKind::Message, b"n").to_cbor());
    let err = failure(&receipt_verify(&other, &d64, &root, &["--json"]));
    assert!(err.contains("user_data"), "{err}");
    // @FILE arguments and the text form.
    let rfile = dir.path().join("r.b64");
    std::fs::write(&rfile, &r64).unwrap();
    let out = receipt_verify(&format!("@{}", rfile.display()), &d64, &root, &[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("valid Message receipt for wallet wa-9"));
    failure(&receipt_verify("!!", &d64, &root, &["--json"]));
    failure(&receipt_verify(&r64, &d64, "gcp", &["--json"]));
}

#[test]
fn attestation_verify_with_mock_documents() {
    let nsm = MockNsm::new();
    let dir = tempfile::tempdir().unwrap();
    let root = pem_arg(&nsm.root_file(dir.path()));
    let doc = nsm.attest(&[7; 32], Some(b"xyz"));
    let raw = dir.path().join("doc.cbor");
    std::fs::write(&raw, &doc).unwrap();
    let b64 = dir.path().join("doc.b64");
    std::fs::write(&b64, format!("{}\n", to_b64url(&doc))).unwrap();
    for file in [&raw, &b64] {
        let out = attestation_verify(
            file,
            &root,
            &["--user-data", &hex::encode([7; 32]), "--nonce", "0x78797a", "--json"],
        );
        let json = ok_json(&out);
        assert_eq!(json["valid"], true);
        assert_eq!(json["moduleId"], "i-mock-enc0");
        assert_eq!(json["digest"], "SHA384");
        assert_eq!(json["userData"], hex::encode([7; 32]));
        assert_eq!(json["nonce"], "78797a");
        assert_eq!(json["publicKey"], Value::Null);
        assert!(json["timestamp"].as_u64().unwrap() > 1_700_000_000_000);
        assert_eq!(json["pcrs"].as_object().unwrap().len(), 3);
    }
    let err = failure(&attestation_verify(&raw, &root, &["--user-data", "00", "--json"]));
    assert!(err.contains("user_data"), "{err}");
    let err = failure(&attestation_verify(&raw, &root, &["--public-key", "00", "--json"]));
    assert!(err.contains("public_key"), "{err}");
    failure(&attestation_verify(&raw, "aws", &["--json"]));
    failure(&attestation_verify(Path::new("/nonexistent"), &root, &["--json"]));
    failure(&attestation_verify(&raw, &root, &["--pcr", "40=00", "--json"]));

    // --max-age: the document was just made, so an hour passes; an hour later, a minute does not.
    ok_json(&attestation_verify(&raw, &root, &["--max-age", "3600", "--json"]));
    let later = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        + 3600)
        .to_string();
    let err = failure(&attestation_verify(&raw, &root, &["--at", &later, "--max-age", "60", "--json"]));
    assert!(err.contains("step 5") && err.contains("timestamp"), "{err}");
}

fn aws_vectors() -> (PathBuf, Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../common/tests/data/nitro");
    let expected = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    (dir, expected)
}

#[test]
fn attestation_verify_accepts_real_aws_documents_at_their_time() {
    let (dir, expected) = aws_vectors();
    for (name, want) in expected.as_object().unwrap() {
        let file = dir.join(name);
        let at = want["verify_at_unix_s"].as_u64().unwrap().to_string();
        let (index, value) = want["pcrs"].as_object().unwrap().iter().next().unwrap();
        let pcr = format!("{index}={}", value.as_str().unwrap());
        let out = attestation_verify(&file, "aws", &["--at", &at, "--pcr", &pcr, "--json"]);
        let json = ok_json(&out);
        assert_eq!(json["moduleId"], want["module_id"], "{name}");
        assert_eq!(json["timestamp"], want["timestamp_ms"], "{name}");
        assert_eq!(json["pcrs"][index], value.as_str().unwrap(), "{name}");
        // Now, years later, the certificates have expired.
        let err = failure(&attestation_verify(&file, "aws", &["--json"]));
        assert!(err.contains("certificate chain"), "{name}: {err}");
    }
}

#[test]
fn load_tool_measures_and_is_bounded() {
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    // `signer-load --credentials CREDS ARGS...`
    let load = |args: &[&str]| {
        let bin = env!("CARGO_BIN_EXE_signer-load");
        Command::new(bin).args(["--credentials", path(&creds)]).args(args).output().unwrap()
    };
    let out = load(&["--concurrency", "3", "--requests", "20", "--curve", "ed25519", "--json"]);
    let json = ok_json(&out);
    assert_eq!((json["requests"].as_u64(), json["errors"].as_u64()), (Some(20), Some(0)));
    assert_eq!(json["concurrency"], 3);
    assert_eq!(json["curve"], "ed25519");
    assert!(json["throughput"].as_f64().unwrap() > 0.0);
    assert!(json["p50Ms"].as_f64().unwrap() <= json["p99Ms"].as_f64().unwrap());
    assert!(json["p99Ms"].as_f64().unwrap() <= json["maxMs"].as_f64().unwrap());
    let signs = stub.requests().iter().filter(|r| r.path.ends_with("/signatures")).count();
    assert_eq!(signs, 20);
    // An existing wallet, text output.
    let wallet = json["walletId"].as_str().unwrap();
    let out = load(&["--wallet", wallet, "--concurrency", "1", "--requests", "2"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("req/s"));
    // Bounds and loopback only.
    failure(&load(&["--concurrency", "1", "--requests", "0"]));
    failure(&load(&["--concurrency", "1", "--requests", "1000001"]));
    failure(&load(&["--concurrency", "1000", "--requests", "1"]));
    failure(&load(&["--concurrency", "1"]));
    let err = failure(&load(&["--url", "http://192.0.2.1:80", "--concurrency", "1", "--requests", "1"]));
    assert!(err.contains("loopback"), "{err}");
}

#[test]
fn session_mode_sign_and_receipt_verify() {
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    let root = pem_arg(&stub.root_file(dir.path()));
    let id = ok_json(&wallet_cmd(&creds, &["create", "--curve", "secp256k1", "--json"]))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hash = format!("0x{}", "cd".repeat(32));
    let sign = |extra: &[&str]| {
        wallet_cmd(
            &creds,
            &[&["sign", "--wallet", &id, "--hash", &hash, "--attestation", "session"], extra].concat(),
        )
    };

    // Verified with --root: the session document is fetched by id.
    let pcr0 = format!("0={}", hex::encode(&pcrs()[&0]));
    let signed = ok_json(&sign(&["--nonce", "0a0b", "--root", &root, "--pcr", &pcr0, "--json"]));
    assert_eq!(signed["verified"], true);
    assert_eq!(signed["attestationMode"], "session");
    assert!(signed.get("attestation").is_none());
    let session_id = signed["sessionId"].as_str().unwrap().to_owned();
    let requests = stub.requests();
    assert_eq!(requests[requests.len() - 2].header("x-attestation"), Some("session"));
    assert_eq!(requests.last().unwrap().path, format!("/enclave/attestation/session?id={session_id}"));
    let out = sign(&["--root", &root, "--pcr", &pcr0]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("attestation session verified (session document"), "{text}");
    assert_eq!(ok_json(&sign(&["--json"]))["verified"], false);
    // Fresh is the default.
    let fresh = ok_json(&wallet_cmd(
        &creds,
        &["sign", "--wallet", &id, "--hash", &hash, "--root", &root, "--pcr", &pin(), "--json"],
    ));
    assert_eq!((fresh["attestationMode"].as_str(), fresh["verified"].as_bool()), (Some("fresh"), Some(true)));
    let err =
        failure(&wallet_cmd(&creds, &["sign", "--wallet", &id, "--hash", &hash, "--attestation", "weekly"]));
    assert!(err.contains("fresh or session"), "{err}");

    // The session document from the CLI, to a file.
    let doc_file = dir.path().join("session.cbor");
    let out = signer(&[
        "--credentials",
        path(&creds),
        "attestation",
        "session",
        "--id",
        &session_id,
        "--out",
        path(&doc_file),
        "--json",
    ]);
    let fetched = ok_json(&out);
    assert_eq!(fetched["id"], session_id.as_str());
    // Written to the file, not also printed.
    assert!(fetched.get("attestation").is_none(), "{fetched}");
    assert_eq!(fetched["out"], path(&doc_file));
    let document = std::fs::read(&doc_file).unwrap();
    let doc_b64 = to_b64url(&document);
    assert_eq!(hex::encode(signer_common::session::session_id(&document)), session_id);
    let err = failure(&signer(&["--credentials", path(&creds), "attestation", "session", "--id", "00"]));
    assert!(err.contains("32 bytes"), "{err}");

    // `receipt verify` in session form, the document inline or as a raw CBOR file.
    let receipt = signed["receipt"].as_str().unwrap();
    let signature = signed["receiptSignature"].as_str().unwrap();
    let doc_b64 = doc_b64.as_str();
    let doc_arg = format!("@{}", doc_file.display());
    let verify = |signature: &str, document: &str, extra: &[&str]| {
        let head = ["receipt", "verify", "--receipt", receipt, "--receipt-signature", signature];
        signer(
            &[&head[..], &["--session-document", document, "--root", &root, "--pcr", &pcr0], extra].concat(),
        )
    };
    for document in [doc_b64, doc_arg.as_str()] {
        let json = ok_json(&verify(signature, document, &["--nonce", "0a0b", "--pcr", &pcr0, "--json"]));
        assert_eq!(json["valid"], true);
        assert_eq!(json["attestationMode"], "session");
        assert_eq!(json["sessionId"], session_id.as_str());
        assert_eq!(json["nonce"], "0a0b");
        assert_eq!(json["walletId"], id.as_str());
        assert_eq!(json["payload"], hash.as_str());
    }
    let out = verify(signature, doc_b64, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("(session document"));

    // Failures, each one line naming the step.
    let err = failure(&verify(signature, doc_b64, &["--nonce", "0a0c"]));
    assert!(err.contains("step 4") && err.contains("nonce"), "{err}");
    let other_sig = to_b64url(&support::sign_receipt(
        &support::receipt_key(1),
        &signer_common::encoding::from_b64(receipt).unwrap(),
    ));
    let err = failure(&verify(&other_sig, doc_b64, &[]));
    assert!(err.contains("step 1 (receipt key signature)"), "{err}");
    let foreign = to_b64url(&MockNsm::new().session_document(&support::receipt_key(0x5e)));
    let err = failure(&verify(signature, &foreign, &[]));
    assert!(err.contains("step 1 (session document)") && err.contains("certificate chain"), "{err}");
    let err = failure(&verify(signature, doc_b64, &["--pcr", "1=00"]));
    assert!(err.contains("step 1 (session document)") && err.contains("PCR1"), "{err}");
    // Another image: a PCR0 file for another enclave.
    let other_image = dir.path().join("other-pcrs.json");
    std::fs::write(&other_image, format!(r#"{{"0":"{}"}}"#, "ee".repeat(48))).unwrap();
    let head = ["receipt", "verify", "--receipt", receipt, "--receipt-signature", signature];
    let args = ["--session-document", doc_b64, "--root", &root, "--pcrs", path(&other_image)];
    let err = failure(&signer(&[&head[..], &args].concat()));
    assert!(err.contains("step 1 (session document)") && err.contains("PCR0"), "{err}");
    // A fresh document given as a session document.
    let fresh_doc = fresh["attestation"].as_str().unwrap();
    let err = failure(&verify(signature, fresh_doc, &[]));
    assert!(err.contains("user_data is not the session receipt-key marker"), "{err}");
    // Exactly one form.
    let both = [
        "receipt",
        "verify",
        "--receipt",
        receipt,
        "--attestation",
        fresh_doc,
        "--receipt-signature",
        signature,
        "--session-document",
        doc_b64,
        "--root",
        &root,
    ];
    let err = failure(&signer(&both));
    assert!(err.contains("cannot be used with"), "{err}");
    let err = failure(&signer(&[
        "receipt",
        "verify",
        "--receipt",
        receipt,
        "--receipt-signature",
        signature,
        "--root",
        &root,
    ]));
    assert!(err.contains("--session-document"), "{err}");
    let err = failure(&signer(&["receipt", "verify", "--receipt", receipt, "--root", &root]));
    assert!(err.contains("--attestation") && err.contains("--receipt-signature"), "{err}");
    let err = failure(&verify(signature, "@/nonexistent/doc", &[]));
    assert!(err.contains("/nonexistent/doc"), "{err}");
}

#[test]
fn session_mode_lies_fail_wallet_sign_verification() {
    for (tamper, step) in [
        (Tamper::SessionSignature, "step 1 (receipt key signature)"),
        (Tamper::SessionId, "step 1 (receipt key signature)"),
        (Tamper::SessionDocumentSwap, "step 1 (session document): cannot fetch"),
    ] {
        let stub = StubParent::start(tamper);
        let dir = tempfile::tempdir().unwrap();
        let creds = stub.credentials_file(dir.path());
        let root = pem_arg(&stub.root_file(dir.path()));
        let id = ok_json(&wallet_cmd(&creds, &["create", "--curve", "ed25519", "--json"]))["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let hash = format!("0x{}", "01".repeat(32));
        let pin = pin();
        let args = [
            "sign",
            "--wallet",
            &id,
            "--hash",
            &hash,
            "--attestation",
            "session",
            "--root",
            &root,
            "--pcr",
            &pin,
        ];
        let err = failure(&wallet_cmd(&creds, &args));
        assert!(err.contains("does not verify") && err.contains(step), "{tamper:?}: {err}");
    }
}

#[test]
fn load_tool_in_session_mode() {
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    let bin = env!("CARGO_BIN_EXE_signer-load");
    let run =
        |args: &[&str]| Command::new(bin).args(["--credentials", path(&creds)]).args(args).output().unwrap();
    let json =
        ok_json(&run(&["--concurrency", "2", "--requests", "6", "--attestation", "session", "--json"]));
    assert_eq!((json["requests"].as_u64(), json["errors"].as_u64()), (Some(6), Some(0)));
    assert_eq!(json["attestation"], "session");
    let signs: Vec<_> = stub.requests().into_iter().filter(|r| r.path.ends_with("/signatures")).collect();
    assert_eq!(signs.len(), 6);
    assert!(signs.iter().all(|r| r.header("x-attestation") == Some("session")));
    let json = ok_json(&run(&["--concurrency", "1", "--requests", "1", "--json"]));
    assert_eq!(json["attestation"], "fresh");
    failure(&run(&["--concurrency", "1", "--requests", "1", "--attestation", "both"]));
}

/// With a root, the image must be pinned (or any image allowed explicitly); the refusal happens
/// before anything is sent, and `--json` prints it as an error object.
#[test]
fn a_root_without_an_expected_image_is_refused() {
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    let root = pem_arg(&stub.root_file(dir.path()));
    let before = stub.requests().len();
    let out = wallet_cmd(&creds, &["create", "--curve", "ed25519", "--root", &root, "--json"]);
    let err = failure(&out);
    assert!(err.contains("no expected enclave image"), "{err}");
    assert_eq!(json_error(&out)["code"], "no_expected_image");
    assert_eq!(stub.requests().len(), before, "nothing was sent");
    // PCR1 alone does not pin the image.
    let out = wallet_cmd(&creds, &["create", "--curve", "ed25519", "--root", &root, "--pcr", "1=00"]);
    assert!(failure(&out).contains("no expected enclave image"));
    // Explicitly unpinned: accepted, and said so by the flag.
    let out =
        wallet_cmd(&creds, &["create", "--curve", "ed25519", "--root", &root, "--allow-any-image", "--json"]);
    let created = ok_json(&out);
    assert_eq!(created["verified"], true);
    // A fresh random nonce was sent and is reported.
    let nonce = created["nonce"].as_str().unwrap();
    assert_eq!(nonce.len(), 64);
    assert_eq!(stub.requests().last().unwrap().header("x-request-nonce"), Some(nonce));
    // The nitro-cli form of the PCR file pins it too.
    let pcrs_file = dir.path().join("describe-eif.json");
    let measurements = serde_json::json!({
        "EnclaveName": "signer",
        "Measurements": { "HashAlgorithm": "Sha384 { ... }", "PCR0": hex::encode(&pcrs()[&0]) },
    });
    std::fs::write(&pcrs_file, measurements.to_string()).unwrap();
    let id = created["id"].as_str().unwrap();
    let hash = format!("0x{}", "ab".repeat(32));
    let args =
        ["sign", "--wallet", id, "--hash", &hash, "--root", &root, "--pcrs", path(&pcrs_file), "--json"];
    assert_eq!(ok_json(&wallet_cmd(&creds, &args))["verified"], true);
    // Usage errors with --json: the same object, code invalid_argument.
    let out = wallet_cmd(&creds, &["sign", "--wallet", id, "--hash", "0xabc", "--json"]);
    let err = failure(&out);
    assert!(err.contains("odd number of hex digits"), "{err}");
    assert_eq!(json_error(&out)["code"], "invalid_argument");
    let out = wallet_cmd(&creds, &["sign", "--wallet", id, "--hash", &"ab".repeat(32), "--json"]);
    assert!(failure(&out).contains("must start with 0x"));
    let out = signer(&["wallet", "frobnicate", "--json"]);
    assert_eq!(json_error(&out)["code"], "invalid_argument");
    // signer-load describes itself.
    let help = Command::new(env!("CARGO_BIN_EXE_signer-load")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.starts_with("Load generator"), "{help}");
    assert!(!help.contains("SDK"), "{help}");
}

/// `wallet sign --curve C --public-key HEX` pins the wallet's verified key: a result under
/// another key or curve is refused.
#[test]
fn wallet_sign_pins_the_wallet_key_when_given() {
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    let root = pem_arg(&stub.root_file(dir.path()));
    let created = ok_json(&wallet_cmd(
        &creds,
        &["create", "--curve", "ed25519", "--root", &root, "--pcr", &pin(), "--json"],
    ));
    let id = created["id"].as_str().unwrap();
    let key = created["publicKey"].as_str().unwrap();
    let hash = format!("0x{}", "ab".repeat(32));
    let sign = |curve: &str, public_key: &str| {
        let args =
            ["sign", "--wallet", id, "--hash", &hash, "--root", &root, "--pcr", &pin(), "--curve", curve];
        wallet_cmd(&creds, &[&args[..], &["--public-key", public_key, "--json"]].concat())
    };
    assert_eq!(ok_json(&sign("ed25519", key))["verified"], true);
    let other = hex::encode(WalletKey::new(Curve::Ed25519, 9).public_key());
    let err = failure(&sign("ed25519", &other));
    assert!(err.contains("publicKey"), "{err}");
    let err = failure(&sign("secp256k1", key));
    assert!(err.contains("curve"), "{err}");
    // The pin needs a root to check against, and both halves.
    let args = ["sign", "--wallet", id, "--hash", &hash, "--curve", "ed25519", "--public-key", key];
    assert!(failure(&wallet_cmd(&creds, &args)).contains("need --root"));
    let args =
        ["sign", "--wallet", id, "--hash", &hash, "--root", &root, "--pcr", &pin(), "--curve", "ed25519"];
    assert!(failure(&wallet_cmd(&creds, &args)).contains("--public-key"));
}
