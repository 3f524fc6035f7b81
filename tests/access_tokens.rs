//! Access tokens on the real stack: EdDSA JWTs whose keys `GET /.well-known/jwks.json`
//! publishes; a key rotated with `signer-parent jwt-keys rotate` keeps verifying the tokens it
//! signed, and once removed they are refused; forged tokens are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Command;

use ed25519_dalek::Verifier as _;
use serde_json::Value;
use signer_e2e::auth_support::{b64u, dev_user, unb64u};
use signer_e2e::{Stack, bin};

fn jwt_keys(stack: &Stack, args: &[&str]) -> Value {
    let out = Command::new(bin("signer-parent"))
        .arg("jwt-keys")
        .args(args)
        .arg("--data-dir")
        .arg(&stack.dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn status(stack: &Stack, token: &str) -> u16 {
    stack.get("/wallets", Some(token)).unwrap().0
}

fn header_of(token: &str) -> Value {
    serde_json::from_slice(&unb64u(token.split('.').next().unwrap())).unwrap()
}

#[test]
fn published_keys_verify_tokens_and_rotation_keeps_them_until_removed() {
    let mut stack = Stack::start();
    let old = dev_user(&stack).token;
    assert_eq!(status(&stack, &old), 200);

    // The token's kid is the published key, and that key verifies the token's signature.
    let (code, jwks) = stack.get("/.well-known/jwks.json", None).unwrap();
    assert_eq!(code, 200, "{jwks}");
    let jwks: Value = serde_json::from_str(&jwks).unwrap();
    let header = header_of(&old);
    assert_eq!(header["alg"], "EdDSA");
    let jwk = &jwks["keys"][0];
    assert_eq!(
        (&jwk["kid"], &jwk["kty"], &jwk["crv"]),
        (&header["kid"], &Value::from("OKP"), &Value::from("Ed25519"))
    );
    let x: [u8; 32] = unb64u(jwk["x"].as_str().unwrap()).try_into().unwrap();
    let (signed, signature) = old.rsplit_once('.').unwrap();
    let signature = ed25519_dalek::Signature::from_slice(&unb64u(signature)).unwrap();
    ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap().verify(signed.as_bytes(), &signature).unwrap();

    // Rotated: new tokens are the new key's, the old token still works.
    let old_kid = header["kid"].as_str().unwrap().to_owned();
    let rotated = jwt_keys(&stack, &["rotate"]);
    assert_eq!(rotated["previous"], serde_json::json!([old_kid]));
    stack.restart();
    let new = dev_user(&stack).token;
    assert_eq!(header_of(&new)["kid"], rotated["current"]);
    assert_eq!((status(&stack, &old), status(&stack, &new)), (200, 200));
    let (_, jwks) = stack.get("/.well-known/jwks.json", None).unwrap();
    assert_eq!(serde_json::from_str::<Value>(&jwks).unwrap()["keys"].as_array().unwrap().len(), 2);

    // Removed: the old key's tokens are refused, the new ones are not.
    jwt_keys(&stack, &["remove", "--kid", &old_kid]);
    stack.restart();
    let new = dev_user(&stack).token;
    assert_eq!((status(&stack, &old), status(&stack, &new)), (401, 200));
}

#[test]
fn forged_tokens_are_refused() {
    let stack = Stack::start();
    let token = dev_user(&stack).token;
    let mut parts = token.split('.');
    let (header, claims, signature) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let kid = header_of(&token)["kid"].as_str().unwrap().to_owned();
    let with_header = |h: String| format!("{}.{claims}.{signature}", b64u(h.as_bytes()));
    let mut flipped = unb64u(signature);
    flipped[0] ^= 1;
    for forged in [
        format!("{}.{claims}.", b64u(format!(r#"{{"alg":"none","kid":"{kid}"}}"#).as_bytes())),
        with_header(format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#)),
        with_header(r#"{"alg":"EdDSA","kid":"unknown"}"#.to_owned()),
        format!("{header}.{claims}.{}", b64u(&flipped)),
    ] {
        assert_eq!(status(&stack, &forged), 401, "{forged}");
    }
    assert_eq!(status(&stack, &token), 200);
}
