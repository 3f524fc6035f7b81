//! The full Key-credential flow over HTTP against a running `signer-parent dev` (with the fake
//! enclave or the real one): the same client steps API.md describes.

use std::net::SocketAddr;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePublicKey as _;
use serde_json::{Value, json};
use signer_common::encoding::to_b64url;
use signer_parent::dev::DevCredentials;

use super::{KeyClient, Reply, http};

/// A signed-in user: their bearer and Key client.
pub struct Api {
    pub addr: SocketAddr,
    pub bearer: String,
    pub client: KeyClient,
}

/// `credentialInfo` of a new Key credential over `challenge`.
pub fn key_registration(key: &SigningKey, cred_id: &str, challenge: &str, origin: &str) -> Value {
    use ed25519_dalek::Signer as _;
    let client_data =
        serde_json::to_vec(&json!({ "type": "key.create", "challenge": challenge, "origin": origin }))
            .unwrap();
    let public_key =
        key.verifying_key().to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF).unwrap();
    let attestation =
        json!({ "publicKey": public_key, "signature": to_b64url(&key.sign(&client_data).to_bytes()) });
    json!({
        "credId": cred_id,
        "clientData": to_b64url(&client_data),
        "attestationData": to_b64url(&serde_json::to_vec(&attestation).unwrap()),
    })
}

pub async fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    http(addr, "POST", path, headers, Some(&serde_json::to_vec(body).unwrap())).await
}

impl Api {
    pub fn from_dev(addr: SocketAddr, dev: &DevCredentials) -> Api {
        Api { addr, bearer: format!("Bearer {}", dev.access_token), client: KeyClient::from_dev(dev) }
    }

    /// `POST /auth/action/init`, sign, `POST /auth/action`.
    pub async fn user_action(&self, method: &str, path: &str, body: &[u8]) -> String {
        let init = json!({
            "userActionPayload": std::str::from_utf8(body).unwrap(),
            "userActionHttpMethod": method,
            "userActionHttpPath": path,
        });
        let reply = post(self.addr, "/auth/action/init", &[("authorization", &self.bearer)], &init).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let challenge = reply.json();
        let signed = json!({
            "challengeIdentifier": challenge["challengeIdentifier"],
            "firstFactor": self.client.assertion(challenge["challenge"].as_str().unwrap()),
        });
        let reply = post(self.addr, "/auth/action", &[("authorization", &self.bearer)], &signed).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["userAction"].as_str().unwrap().to_owned()
    }

    /// The call with a fresh user action.
    pub async fn call(&self, method: &str, path: &str, body: &[u8]) -> Reply {
        let action = self.user_action(method, path, body).await;
        let headers = [("authorization", self.bearer.as_str()), ("x-user-action", action.as_str())];
        http(self.addr, method, path, &headers, Some(body)).await
    }

    /// The call signed one-shot with `request_id`.
    pub async fn one_shot(&self, method: &str, path: &str, body: &[u8], request_id: &str) -> Reply {
        let signed = self.client.one_shot(method, path, body, request_id);
        let mut headers = vec![("authorization", self.bearer.as_str())];
        headers.extend(signed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        http(self.addr, method, path, &headers, Some(body)).await
    }
}

/// Logs `username` in with `client`.
pub async fn login(addr: SocketAddr, org_id: &str, username: &str, client: KeyClient) -> Api {
    let reply = post(addr, "/auth/login/init", &[], &json!({ "username": username, "orgId": org_id })).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let challenge = reply.json();
    let body = json!({
        "challengeIdentifier": challenge["challengeIdentifier"],
        "firstFactor": client.assertion(challenge["challenge"].as_str().unwrap()),
    });
    let reply = post(addr, "/auth/login", &[], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    Api { addr, bearer: format!("Bearer {}", reply.json()["token"].as_str().unwrap()), client }
}

/// The dev admin issues a code, a new member registers with a Key credential and logs in.
pub async fn register_member(admin: &Api, dev: &DevCredentials, username: &str, seed: u8) -> Api {
    let body = serde_json::to_vec(&json!({ "username": username })).unwrap();
    let reply = admin.call("POST", "/auth/registration/codes", &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let code = reply.json()["registrationCode"].as_str().unwrap().to_owned();
    let init = json!({ "username": username, "orgId": dev.org_id, "registrationCode": code });
    let reply = post(admin.addr, "/auth/registration/init", &[], &init).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let options = reply.json();
    let key = SigningKey::from_bytes(&[seed; 32]);
    let cred_id = to_b64url(&[seed; 16]);
    let info = key_registration(&key, &cred_id, options["challenge"].as_str().unwrap(), &dev.origin);
    let temporary = format!("Bearer {}", options["temporaryAuthenticationToken"].as_str().unwrap());
    let body = json!({ "firstFactorCredential": { "credentialKind": "Key", "credentialInfo": info } });
    let reply = post(admin.addr, "/auth/registration", &[("authorization", &temporary)], &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let client = KeyClient { key, cred_id, origin: dev.origin.clone() };
    login(admin.addr, &dev.org_id, username, client).await
}

/// The whole flow: the bearer alone is refused; a user action creates; one-shot signs; a member
/// registered through a code creates and signs with their own wallet and not the admin's.
/// Returns the admin's wallet id.
pub async fn full_key_flow(addr: SocketAddr, dev: &DevCredentials, member: &str) -> String {
    let admin = Api::from_dev(addr, dev);
    let create = br#"{"curve":"ed25519"}"#;
    let reply = http(addr, "POST", "/wallets", &[("authorization", &admin.bearer)], Some(create)).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "user_action_required"));

    let reply = admin.call("POST", "/wallets", create).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let wallet = reply.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/wallets/{wallet}/signatures");
    let hash = json!({ "kind": "Hash", "hash": format!("0x{}", "ab".repeat(32)) }).to_string();
    let reply = admin.one_shot("POST", &path, hash.as_bytes(), &format!("flow-{member}-admin-0001")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["status"], "Signed");

    let bob = register_member(&admin, dev, member, 7).await;
    let reply = bob.one_shot("POST", "/wallets", create, &format!("flow-{member}-create-001")).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let own = reply.json()["id"].as_str().unwrap().to_owned();
    let reply = bob.call("POST", &format!("/wallets/{own}/signatures"), hash.as_bytes()).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = bob.one_shot("POST", &path, hash.as_bytes(), &format!("flow-{member}-steal-0001")).await;
    assert_eq!((reply.status, reply.error_code().as_str()), (403, "forbidden"), "the admin's wallet");
    wallet
}
