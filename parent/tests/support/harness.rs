//! The API on a fake enclave with the dev organisation bootstrapped through it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use signer_parent::api::health::metrics_router;
use signer_parent::api::{AppState, router};
use signer_parent::auth::TokenKeys;
use signer_parent::auth::keyset::KeySet;

/// Token keys of one Ed25519 key made from `seed`.
pub fn test_token_keys(seed: u8) -> TokenKeys {
    TokenKeys::new(&KeySet::single(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))).unwrap()
}
use signer_parent::dev::DevCredentials;
use signer_parent::enclave::EnclaveClient;
use signer_parent::metrics::Metrics;
use signer_parent::store::{SqliteStore, Store};
use signer_transport::{EnclaveAddr, Listener};

use super::{Fake, KeyClient, Reply, http, run_fake};

pub struct Harness {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub fake: Arc<Fake>,
    pub tokens: Arc<TokenKeys>,
    pub token: String,
    pub client: KeyClient,
    pub dev: DevCredentials,
    pub dir: tempfile::TempDir,
    pub _fake_task: tokio::task::JoinHandle<()>,
}

impl Harness {
    /// The API on a fake enclave, with the dev organisation bootstrapped through it (an admin
    /// with an Ed25519 Key credential).
    pub async fn start() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let socket = EnclaveAddr::Unix(dir.path().join("enclave.sock"));
        let fake = Arc::new(Fake::default());
        fake.ready.store(true, Ordering::SeqCst);
        let fake_task = tokio::spawn(run_fake(Listener::bind(&socket).unwrap(), fake.clone()));
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in(dir.path()).unwrap());
        let tokens = Arc::new(test_token_keys(7));
        let metrics = Arc::new(Metrics::new());
        let state = AppState {
            enclave: EnclaveClient::new(socket, 2, Duration::from_secs(2)),
            store,
            tokens: tokens.clone(),
            metrics: metrics.clone(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let dev = signer_parent::dev::bootstrap(&state, dir.path(), addr).await.unwrap();
        fake.requests.lock().unwrap().clear();
        tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let metrics_addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, metrics_router(metrics)).await.unwrap() });
        let client = KeyClient::from_dev(&dev);
        Harness {
            addr,
            metrics_addr,
            fake,
            tokens,
            token: dev.access_token.clone(),
            client,
            dev,
            dir,
            _fake_task: fake_task,
        }
    }

    pub fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    pub fn enclave_calls(&self, name: &str) -> usize {
        self.fake.requests.lock().unwrap().iter().filter(|n| **n == name).count()
    }

    pub async fn get(&self, path: &str) -> Reply {
        http(self.addr, "GET", path, &[("authorization", &self.auth())], None).await
    }

    /// A user action for `method path body` (API.md, "User action signing", steps 1 to 3).
    pub async fn user_action(&self, method: &str, path: &str, body: &[u8]) -> String {
        let init = json!({
            "userActionPayload": std::str::from_utf8(body).unwrap(),
            "userActionHttpMethod": method,
            "userActionHttpPath": path,
        });
        let reply = self.post_bare("/auth/action/init", &init).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let challenge = reply.json();
        assert_eq!(challenge["allowCredentials"]["key"][0]["id"], self.client.cred_id.as_str());
        let signed = json!({
            "challengeIdentifier": challenge["challengeIdentifier"],
            "firstFactor": self.client.assertion(challenge["challenge"].as_str().unwrap()),
        });
        let reply = self.post_bare("/auth/action", &signed).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["userAction"].as_str().unwrap().to_owned()
    }

    /// A POST with the bearer token only.
    pub async fn post_bare(&self, path: &str, body: &Value) -> Reply {
        let body = serde_json::to_vec(body).unwrap();
        http(self.addr, "POST", path, &[("authorization", &self.auth())], Some(&body)).await
    }

    /// A state-changing call with the bearer and a fresh user action, and `extra` headers.
    pub async fn call(&self, method: &str, path: &str, body: &[u8], extra: &[(&str, &str)]) -> Reply {
        let action = self.user_action(method, path, body).await;
        let auth = self.auth();
        let mut headers = vec![("authorization", auth.as_str()), ("x-user-action", action.as_str())];
        headers.extend_from_slice(extra);
        http(self.addr, method, path, &headers, Some(body)).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.call("POST", path, &serde_json::to_vec(body).unwrap(), &[]).await
    }

    pub async fn create(&self, curve: &str) -> Value {
        let reply = self.post("/wallets", &json!({ "curve": curve })).await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        reply.json()
    }
}

/// Stores an organisation `org_id` with a user `user_id` (records under a made-up tag: the
/// parent does not check tags), so a token of theirs passes the parent's bearer check.
pub async fn add_user(store: &dyn Store, org_id: &str, user_id: &str) {
    use serde_bytes::ByteBuf;
    use signer_common::identity::Notarized;
    use signer_common::identity::{
        AppRecord, CredentialKind, CredentialRecord, RECORD_FORMAT, Record, Role, Status, UserRecord,
        UserVerification,
    };
    use signer_common::userauth::CredentialPublicKey;
    let seal = |r: Record| Notarized { body: ByteBuf::from(r.encode()), tag: ByteBuf::from(vec![0xee; 32]) };
    let date = "2026-12-01T00:00:00.000Z".to_string();
    let org =
        signer_parent::store::OrgRow { id: org_id.into(), name: org_id.into(), date_created: date.clone() };
    let app = seal(Record::App(AppRecord {
        format: RECORD_FORMAT,
        version: 1,
        org_id: org_id.into(),
        app_id: format!("ap-{org_id}"),
        origin: "http://localhost:1".into(),
        rp_id: "localhost".into(),
        rp_name: org_id.into(),
        user_verification: UserVerification::Preferred,
    }));
    store.insert_org(org, app).await.unwrap();
    let user = seal(Record::User(UserRecord {
        format: RECORD_FORMAT,
        version: 1,
        org_id: org_id.into(),
        user_id: user_id.into(),
        username: user_id.into(),
        role: Role::Admin,
        status: Status::Active,
        service_account: false,
    }));
    let credential = seal(Record::Credential(CredentialRecord {
        format: RECORD_FORMAT,
        version: 1,
        org_id: org_id.into(),
        user_id: user_id.into(),
        cred_id: ByteBuf::from(user_id.as_bytes().to_vec()),
        kind: CredentialKind::Key,
        public_key: CredentialPublicKey::Ed25519(ByteBuf::from(vec![9; 32])),
        name: "k".into(),
        status: Status::Active,
        sign_count: 0,
        pat_expires_at_ms: None,
    }));
    store.insert_user(user, credential, date).await.unwrap();
}
