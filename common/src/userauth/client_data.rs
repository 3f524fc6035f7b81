//! Client data: WebAuthn's clientDataJSON or a Key credential's JSON, parsed (never compared
//! with a template: any key order, extra keys allowed) and checked.

use serde::Deserialize;

use super::error::{AuthError, malformed};
use super::expected::{Expected, MAX_CLIENT_DATA_LEN, check_len};

/// The client data members the checks read; others are ignored (WebAuthn L3 §5.8.1.2 lets
/// browsers add members).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(default)]
    cross_origin: Option<bool>,
}

/// Parses `bytes` as client data and checks its type, challenge, origin and that it was not
/// made in a cross-origin iframe.
pub(crate) fn check(bytes: &[u8], kind: &'static str, expected: &Expected<'_>) -> Result<(), AuthError> {
    check_len("client data", bytes, MAX_CLIENT_DATA_LEN)?;
    // Decode the bytes as UTF-8 JSON (the derive refuses a repeated member).
    let data: ClientData =
        serde_json::from_slice(bytes).map_err(|_| malformed("client data is not the expected JSON"))?;
    if data.kind != kind {
        return Err(AuthError::WrongType(kind));
    }
    // Text compare of the base64url challenge, as issued.
    if data.challenge != expected.challenge {
        return Err(AuthError::ChallengeMismatch);
    }
    if data.origin != expected.origin {
        return Err(AuthError::OriginMismatch);
    }
    // No application embeds the signer in another site's iframe: a cross-origin ceremony
    // is refused (and then topOrigin needs no check).
    if data.cross_origin == Some(true) {
        return Err(AuthError::OriginMismatch);
    }
    Ok(())
}
