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
