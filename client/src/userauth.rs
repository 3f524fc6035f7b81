//! Signing user actions and one-shot requests (API.md, "User action signing" and "One-shot
//! signed requests"), for callers that hold the key anywhere: a [`UserActionSigner`] signs a
//! challenge, [`one_shot_headers`] builds the three headers of a one-shot request, and
//! [`crate::Client::user_action`] runs the three calls of the user-action flow.

use std::time::{SystemTime, UNIX_EPOCH};

use signer_common::api::auth::{
    CredentialAssertion, REQUEST_ID_HEADER, REQUEST_SIGNATURE_HEADER, REQUEST_TIME_HEADER, RequestSignature,
};
use signer_common::encoding::to_b64url;
use signer_common::userauth::{is_valid_request_id, request_challenge};

use crate::error::ClientError;
use crate::keys::{KeySigner, client_data};

/// Random bytes in a request id (22 base64url characters).
const REQUEST_ID_BYTES: usize = 16;

/// How state-changing calls prove the user's consent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthFlow {
    /// One round trip: the call carries `X-Request-Time`, `X-Request-Id` and
    /// `X-Request-Signature`.
    #[default]
    OneShot,
    /// Three calls: `POST /auth/action/init`, `POST /auth/action`, then the call with
    /// `X-User-Action`.
    UserAction,
}

impl AuthFlow {
    /// `one-shot` or `user-action`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFlow::OneShot => "one-shot",
            AuthFlow::UserAction => "user-action",
        }
    }
}

impl std::str::FromStr for AuthFlow {
    type Err = String;

    fn from_str(text: &str) -> Result<AuthFlow, String> {
        match text {
            "one-shot" => Ok(AuthFlow::OneShot),
            "user-action" => Ok(AuthFlow::UserAction),
            _ => Err(format!("the auth form must be one-shot or user-action, not {text:?}")),
        }
    }
}

/// Something that signs an enclave challenge with one of the user's credentials: a local key
/// ([`KeySigner`]), or a key held elsewhere (an HSM, a passkey through a browser).
pub trait UserActionSigner: Send + Sync + std::fmt::Debug {
    /// The signature of `challenge` (base64url, as the enclave issued it or as
    /// [`request_challenge`] computes it) as `{ kind, credentialAssertion }`.
    fn sign_challenge(&self, challenge: &str) -> Result<RequestSignature, ClientError>;
}

impl UserActionSigner for KeySigner {
    /// Client data `{"type":"key.get","challenge","origin"}`, signed as it is sent.
    fn sign_challenge(&self, challenge: &str) -> Result<RequestSignature, ClientError> {
        let data = client_data("key.get", challenge, self.origin())?;
        let signature = self.sign(&data)?;
        Ok(RequestSignature {
            kind: "Key".into(),
            credential_assertion: CredentialAssertion {
                cred_id: self.cred_id().to_owned(),
                client_data: to_b64url(&data),
                authenticator_data: None,
                signature: to_b64url(&signature),
                user_handle: None,
            },
        })
    }
}

/// The three headers of a one-shot signed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneShotHeaders {
    /// `X-Request-Time`: milliseconds since the epoch.
    pub time_ms: u64,
    /// `X-Request-Id`.
    pub request_id: String,
    /// `X-Request-Signature`: base64url of the JSON [`RequestSignature`].
    pub signature: String,
}

impl OneShotHeaders {
    /// `(name, value)` pairs to send.
    pub fn pairs(&self) -> [(&'static str, String); 3] {
        [
            (REQUEST_TIME_HEADER, self.time_ms.to_string()),
            (REQUEST_ID_HEADER, self.request_id.clone()),
            (REQUEST_SIGNATURE_HEADER, self.signature.clone()),
        ]
    }
}

/// A fresh request id: base64url of 16 random bytes (22 characters).
pub fn fresh_request_id() -> Result<String, ClientError> {
    let mut bytes = [0u8; REQUEST_ID_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| ClientError::InvalidInput(format!("no randomness: {e}")))?;
    Ok(to_b64url(&bytes))
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default() as u64
}

/// The headers of a one-shot request: `signer` signs [`request_challenge`] over `method`,
/// `path` (as on the HTTP request line, query included), the exact `body` bytes that will be
/// sent, `time_ms` and `request_id`.
pub fn one_shot_headers(
    signer: &dyn UserActionSigner,
    method: &str,
    path: &str,
    body: &[u8],
    time_ms: u64,
    request_id: &str,
) -> Result<OneShotHeaders, ClientError> {
    if !is_valid_request_id(request_id) {
        return Err(ClientError::InvalidInput("a request id is 16 to 64 characters of [A-Za-z0-9_-]".into()));
    }
    let challenge = request_challenge(method, path, body, time_ms, request_id);
    let signature = signer.sign_challenge(&challenge)?;
    let json = serde_json::to_vec(&signature)
        .map_err(|e| ClientError::InvalidInput(format!("cannot encode the request signature: {e}")))?;
    Ok(OneShotHeaders { time_ms, request_id: request_id.to_owned(), signature: to_b64url(&json) })
}

/// [`one_shot_headers`] with the current time and a fresh id.
pub fn fresh_one_shot_headers(
    signer: &dyn UserActionSigner,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<OneShotHeaders, ClientError> {
    one_shot_headers(signer, method, path, body, now_ms(), &fresh_request_id()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyAlgorithm;
    use signer_common::encoding::from_b64;

    fn decode(headers: &OneShotHeaders) -> (RequestSignature, serde_json::Value, Vec<u8>) {
        let signature: RequestSignature =
            serde_json::from_slice(&from_b64(&headers.signature).unwrap()).unwrap();
        let data = from_b64(&signature.credential_assertion.client_data).unwrap();
        let json = serde_json::from_slice(&data).unwrap();
        (signature, json, data)
    }

    #[test]
    fn one_shot_headers_sign_the_request_challenge_of_the_exact_bytes() {
        let signer = KeySigner::generate(KeyAlgorithm::EdDsa, "http://localhost:8080").unwrap();
        let body = br#"{"curve":"ed25519"}"#;
        let id = "abcdefghijklmnopqrstuv";
        let headers = one_shot_headers(&signer, "post", "/wallets", body, 1_700_000_000_123, id).unwrap();
        assert_eq!((headers.time_ms, headers.request_id.as_str()), (1_700_000_000_123, id));
        let (signature, json, data) = decode(&headers);
        assert_eq!(signature.kind, "Key");
        assert_eq!(signature.credential_assertion.cred_id, signer.cred_id());
        assert_eq!(json["type"], "key.get");
        assert_eq!(json["origin"], "http://localhost:8080");
        let expected = request_challenge("POST", "/wallets", body, 1_700_000_000_123, id);
        assert_eq!(json["challenge"], expected.as_str());
        // Another body, path, time or id is another challenge.
        for other in [
            request_challenge("POST", "/wallets", br#"{"curve":"secp256k1"}"#, 1_700_000_000_123, id),
            request_challenge("POST", "/wallets?x", body, 1_700_000_000_123, id),
            request_challenge("POST", "/wallets", body, 1_700_000_000_124, id),
            request_challenge("POST", "/wallets", body, 1_700_000_000_123, "abcdefghijklmnopqrstuw"),
        ] {
            assert_ne!(json["challenge"], other.as_str());
        }
        // The signature is over the exact client data bytes sent, under the credential's key.
        use ed25519_dalek::pkcs8::DecodePublicKey as _;
        let key =
            ed25519_dalek::VerifyingKey::from_public_key_pem(&signer.public_key_pem().unwrap()).unwrap();
        let sig = from_b64(&signature.credential_assertion.signature).unwrap();
        key.verify_strict(&data, &ed25519_dalek::Signature::from_slice(&sig).unwrap()).unwrap();
        let pairs = headers.pairs();
        assert_eq!(pairs[0], (REQUEST_TIME_HEADER, "1700000000123".to_owned()));
        assert_eq!(pairs[1].0, REQUEST_ID_HEADER);
        assert_eq!(pairs[2].0, REQUEST_SIGNATURE_HEADER);
    }

    #[test]
    fn request_ids_are_fresh_and_valid_and_bad_ones_are_refused() {
        let a = fresh_request_id().unwrap();
        let b = fresh_request_id().unwrap();
        assert_eq!(a.len(), 22);
        assert!(is_valid_request_id(&a));
        assert_ne!(a, b);
        let signer = KeySigner::generate(KeyAlgorithm::EdDsa, "o").unwrap();
        for bad in ["short", "abcdefghijklmnop!", &"a".repeat(65)] {
            assert!(one_shot_headers(&signer, "POST", "/wallets", b"", 1, bad).is_err(), "{bad}");
        }
        let fresh = fresh_one_shot_headers(&signer, "POST", "/wallets", b"").unwrap();
        assert!(fresh.time_ms.abs_diff(now_ms()) < 60_000);
    }

    #[test]
    fn auth_flows_parse() {
        assert_eq!("one-shot".parse::<AuthFlow>().unwrap(), AuthFlow::OneShot);
        assert_eq!("user-action".parse::<AuthFlow>().unwrap(), AuthFlow::UserAction);
        assert!("bearer".parse::<AuthFlow>().is_err());
        assert_eq!(AuthFlow::default(), AuthFlow::OneShot);
        assert_eq!(AuthFlow::UserAction.as_str(), "user-action");
    }
}
