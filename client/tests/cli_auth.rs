//! The `signer` auth commands and the signing forms of `signer` and `signer-load`, against the
//! loopback stub (which checks user signatures as the enclave does).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::auth::{ADMIN_CRED_ID, ORG_ID, ORIGIN, PRESET_CODE};
use support::{StubParent, Tamper};

fn signer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_signer")).args(args).output().unwrap()
}

/// A command that must succeed with one JSON object on stdout.
fn ok_json(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(stdout.trim().lines().count(), 1, "{stdout}");
    serde_json::from_str(stdout.trim()).unwrap()
}

/// A command that must fail with one line on stderr; answers the line.
fn failure(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!output.status.success(), "unexpected success: {}", String::from_utf8_lossy(&output.stdout));
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    stderr
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_json(file: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

#[test]
fn register_login_add_list_deactivate_and_codes() {
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let admin = stub.credentials_file(dir.path());

    // An admin makes a code; a new user registers with it.
    let code = ok_json(&signer(&[
        "--credentials",
        path(&admin),
        "registration-code",
        "create",
        "--username",
        "bob",
        "--role",
        "Member",
        "--json",
    ]));
    assert_eq!(
        (code["orgId"].as_str(), code["role"].as_str(), code["username"].as_str()),
        (Some(ORG_ID), Some("Member"), Some("bob"))
    );
    let code = code["registrationCode"].as_str().unwrap();
    let bob = dir.path().join("bob.json");
    let register = |code: &str, out: &Path| {
        signer(&[
            "--url",
            &stub.url,
            "auth",
            "register",
            "--org-id",
            ORG_ID,
            "--username",
            "bob",
            "--code",
            code,
            "--algorithm",
            "ES256K",
            "--out",
            path(out),
            "--json",
        ])
    };
    let out = register(code, &bob);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("PRIVATE"), "the key stays in the file");
    let registered = ok_json(&out);
    assert_eq!(registered["user"]["username"], "bob");
    assert_eq!(registered["credential"]["algorithm"], "ES256K");
    let file = read_json(&bob);
    assert_eq!(std::fs::metadata(&bob).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(
        (file["url"].as_str(), file["orgId"].as_str(), file["origin"].as_str()),
        (Some(stub.url.as_str()), Some(ORG_ID), Some(ORIGIN))
    );
    assert_eq!(file["credential"]["kind"], "Key");
    assert_eq!(file["credential"]["algorithm"], "ES256K");
    assert_eq!(file["credential"]["credId"], registered["credential"]["credId"]);
    assert!(
        file["credential"]["privateKeyPem"].as_str().unwrap().starts_with("-----BEGIN PRIVATE KEY-----\n")
    );
    // The code was used; an existing --out is refused before anything is sent.
    failure(&register(code, &dir.path().join("again.json")));
    let before = stub.requests().len();
    let err = failure(&register(PRESET_CODE, &bob));
    assert!(err.contains("exists"), "{err}");
    assert_eq!(stub.requests().len(), before);

    // bob signs with his new key.
    let created =
        ok_json(&signer(&["--credentials", path(&bob), "wallet", "create", "--curve", "ed25519", "--json"]));
    assert!(created["id"].as_str().unwrap().starts_with("wa-"));

    // Login replaces the access token and keeps the rest.
    let old = read_json(&bob);
    ok_json(&signer(&["--credentials", path(&bob), "auth", "login", "--json"]));
    let new = read_json(&bob);
    assert_ne!(new["accessToken"], old["accessToken"]);
    assert_eq!(new["credential"], old["credential"]);
    assert_eq!(std::fs::metadata(&bob).unwrap().permissions().mode() & 0o777, 0o600);

    // A second credential, signed by the first, in its own file.
    let bob2 = dir.path().join("bob2.json");
    let added = ok_json(&signer(&[
        "--credentials",
        path(&bob),
        "credential",
        "add",
        "--algorithm",
        "EdDSA",
        "--out",
        path(&bob2),
        "--json",
    ]));
    let second = added["credential"]["credId"].as_str().unwrap().to_owned();
    let file2 = read_json(&bob2);
    assert_eq!(file2["credential"]["credId"], second.as_str());
    assert_eq!(file2["accessToken"], new["accessToken"]);
    let list = ok_json(&signer(&["--credentials", path(&bob), "credential", "list", "--json"]));
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // The second deactivates the first, which then signs nothing; and activates it again.
    let first = new["credential"]["credId"].as_str().unwrap().to_owned();
    let off = ok_json(&signer(&[
        "--credentials",
        path(&bob2),
        "credential",
        "deactivate",
        "--cred-id",
        &first,
        "--json",
    ]));
    assert_eq!(off["credential"]["status"], "Inactive");
    let err = failure(&signer(&["--credentials", path(&bob), "wallet", "create", "--curve", "ed25519"]));
    assert!(err.contains("403"), "{err}");
    let on = ok_json(&signer(&[
        "--credentials",
        path(&bob2),
        "credential",
        "activate",
        "--cred-id",
        &first,
        "--json",
    ]));
    assert_eq!(on["credential"]["status"], "Active");

    // A member makes no codes.
    let err = failure(&signer(&["--credentials", path(&bob), "registration-code", "create", "--json"]));
    assert!(err.contains("403"), "{err}");
    // Bad arguments fail with one line.
    failure(&signer(&["--credentials", path(&admin), "registration-code", "create", "--role", "Owner"]));
    failure(&signer(&[
        "--url",
        &stub.url,
        "auth",
        "register",
        "--org-id",
        ORG_ID,
        "--username",
        "x",
        "--code",
        PRESET_CODE,
        "--algorithm",
        "RS256",
        "--out",
        path(&dir.path().join("y.json")),
    ]));
}

#[test]
fn a_registered_key_is_saved_even_when_the_login_fails() {
    let stub = StubParent::start(Tamper::RefuseLogin);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("carol.json");
    let args = ["--url", &stub.url, "auth", "register", "--org-id", ORG_ID, "--username", "carol"];
    let err = failure(&signer(&[&args[..], &["--code", PRESET_CODE, "--out", path(&out)]].concat()));
    assert!(err.contains("auth login") && err.contains("503"), "{err}");
    let file = read_json(&out);
    assert_eq!(file["accessToken"], "");
    assert_eq!(file["username"], "carol");
    let cred_id = file["credential"]["credId"].as_str().unwrap();
    assert!(stub.auth.creds.lock().unwrap().contains_key(cred_id), "the saved key is the registered one");
}

#[test]
fn wallet_commands_sign_one_shot_or_with_the_user_action_flow() {
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    let created = ok_json(&signer(&[
        "--credentials",
        path(&creds),
        "wallet",
        "create",
        "--curve",
        "secp256k1",
        "--json",
    ]));
    let wallet = created["id"].as_str().unwrap();
    ok_json(&signer(&[
        "--credentials",
        path(&creds),
        "--user-action-flow",
        "wallet",
        "sign",
        "--wallet",
        wallet,
        "--hash",
        &format!("0x{}", "ab".repeat(32)),
        "--json",
    ]));
    let forms: Vec<_> = stub.signed_forms().into_iter().map(|(_, form)| form).collect();
    assert_eq!(forms, ["one-shot", "user-action"]);
    let paths: Vec<_> = stub.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths[1..3], ["/auth/action/init", "/auth/action"]);
    let sent = stub.requests();
    let header = sent[0].header("x-request-signature").unwrap();
    let json: Value = serde_json::from_slice(&signer_common::encoding::from_b64(header).unwrap()).unwrap();
    assert_eq!(json["credentialAssertion"]["credId"], ADMIN_CRED_ID);
}

#[test]
fn load_tool_signs_in_either_form() {
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    let load = |auth: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_signer-load"))
            .args([
                "--credentials",
                path(&creds),
                "--concurrency",
                "2",
                "--requests",
                "6",
                "--curve",
                "ed25519",
            ])
            .args(["--auth", auth, "--json"])
            .output()
            .unwrap();
        ok_json(&out)
    };
    let report = load("user-action");
    assert_eq!((report["requests"].as_u64(), report["errors"].as_u64()), (Some(6), Some(0)));
    assert_eq!(report["auth"], "user-action");
    let forms = stub.signed_forms();
    assert_eq!(forms.len(), 7, "the wallet and 6 signatures");
    assert!(forms.iter().all(|(_, form)| *form == "user-action"), "{forms:?}");
    let report = load("one-shot");
    assert_eq!(report["auth"], "one-shot");
    assert_eq!(report["errors"], 0);
    assert!(stub.signed_forms()[7..].iter().all(|(_, form)| *form == "one-shot"));
    let out = Command::new(env!("CARGO_BIN_EXE_signer-load"))
        .args(["--credentials", path(&creds), "--concurrency", "1", "--requests", "1", "--auth", "bearer"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// Whether `program` runs here; prints a notice when it does not.
fn have(program: &str) -> bool {
    let ok = Command::new(program).arg("--version").output().is_ok();
    if !ok {
        println!("NOTICE: {program} not available; skipping the README curl recipe check");
    }
    ok
}

#[test]
fn the_readme_curl_signing_recipe_is_accepted() {
    if !["bash", "openssl", "jq", "curl"].into_iter().all(have) {
        return;
    }
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    // The README's b64u and sig_post, as written, pointed at the stub and its files.
    let start = readme.find("b64u() {").unwrap();
    let end = start + readme[start..].find("\n}\n").unwrap() + 3;
    let stub = StubParent::start(Tamper::None);
    let dir = tempfile::tempdir().unwrap();
    let creds = stub.credentials_file(dir.path());
    let key = dir.path().join("key.pem");
    std::fs::write(&key, read_json(&creds)["credential"]["privateKeyPem"].as_str().unwrap()).unwrap();
    let functions = readme[start..end]
        .replace(".dev/dev-credentials.json", path(&creds))
        .replace(".dev/key.pem", path(&key))
        .replace("localhost:8080", stub.url.trim_start_matches("http://"));
    let script =
        format!("set -e\nTOKEN=test-token\n{functions}\nsig_post /wallets '{{\"curve\":\"ed25519\"}}'\n");
    let out = Command::new("bash").arg("-c").arg(&script).output().unwrap();
    let answer = ok_json(&out);
    assert!(answer["id"].as_str().is_some_and(|id| id.starts_with("wa-")), "{answer}");
    assert_eq!(stub.signed_forms(), [("/wallets".to_owned(), "one-shot")]);
}
