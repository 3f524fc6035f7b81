//! Why an assertion or registration was refused.

/// Why an assertion or registration was refused. Messages name the failed check, never a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Not decodable: bad JSON, CBOR, DER, COSE key, PEM or lengths (answered 400).
    #[error("malformed: {0}")]
    Malformed(String),
    /// An algorithm or attestation format this build does not accept (answered 400).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// `clientData.type` is not the one expected.
    #[error("client data type is not {0}")]
    WrongType(&'static str),
    /// `clientData.challenge` is not the challenge issued.
    #[error("challenge does not match")]
    ChallengeMismatch,
    /// `clientData.origin` is not the application's.
    #[error("origin does not match the application's")]
    OriginMismatch,
    /// `authenticatorData.rpIdHash` is not SHA-256 of the application's rpId.
    #[error("rpIdHash does not match the application's rpId")]
    RpIdMismatch,
    /// The UP flag is not set.
    #[error("user presence flag not set")]
    UserNotPresent,
    /// The UV flag is not set and the application requires it.
    #[error("user verification required")]
    UserNotVerified,
    /// The signature does not verify under the credential's key.
    #[error("signature does not verify")]
    BadSignature,
    /// The signature counter did not increase.
    #[error("signature counter went backwards (possible cloned authenticator)")]
    CounterWentBackwards,
    /// A registration names another credential id than its authenticator data.
    #[error("credential id does not match")]
    CredentialIdMismatch,
}

impl AuthError {
    /// True when the input could not be decoded or uses something unsupported (HTTP 400); false
    /// when it decoded and a check failed (HTTP 403).
    pub fn is_malformed(&self) -> bool {
        matches!(self, AuthError::Malformed(_) | AuthError::Unsupported(_))
    }
}

/// A `Malformed` error naming what could not be decoded.
pub(crate) fn malformed(what: impl Into<String>) -> AuthError {
    AuthError::Malformed(what.into())
}
