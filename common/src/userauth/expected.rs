//! What the caller expects of an assertion or registration, and the size limits of its parts.

use crate::identity::UserVerification;

use super::error::{AuthError, malformed};

/// The longest client data (clientDataJSON or a Key credential's JSON), in bytes.
pub const MAX_CLIENT_DATA_LEN: usize = 4 * 1024;
/// The longest authenticator data, in bytes.
pub const MAX_AUTHENTICATOR_DATA_LEN: usize = 4 * 1024;
/// The longest attestationObject (or a Key credential's attestation JSON), in bytes.
pub const MAX_ATTESTATION_LEN: usize = 16 * 1024;
/// The longest signature, in bytes (an RSA-8192 signature is 1024).
pub const MAX_SIGNATURE_LEN: usize = 1024;
/// The longest credential id, in bytes (WebAuthn L3 §7.1 step 23).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// What an assertion or registration must name: the challenge the enclave issued and the
/// application's origin, relying party and user-verification policy.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The base64url challenge, compared with `clientData.challenge` as text.
    pub challenge: &'a str,
    /// The application's expected origin.
    pub origin: &'a str,
    /// The application's relying-party id (WebAuthn only).
    pub rp_id: &'a str,
    /// Whether the UV flag is required (WebAuthn only).
    pub user_verification: UserVerification,
}

impl Expected<'_> {
    /// True when the application requires the UV flag.
    pub(crate) fn requires_uv(&self) -> bool {
        self.user_verification == UserVerification::Required
    }
}

/// Refuses `bytes` as malformed when longer than `max`.
pub(crate) fn check_len(what: &str, bytes: &[u8], max: usize) -> Result<(), AuthError> {
    if bytes.len() > max {
        return Err(malformed(format!("{what} longer than {max} bytes")));
    }
    Ok(())
}
