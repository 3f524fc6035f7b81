//! Verifying an assertion (WebAuthn L3 §7.2, and its Key-credential counterpart).

use sha2::{Digest, Sha256};

use crate::identity::CredentialKind;

use super::authenticator_data::{self, FLAG_AT, FLAG_UV};
use super::client_data;
use super::error::{AuthError, malformed};
use super::expected::Expected;
use super::public_key::CredentialPublicKey;

/// What a valid assertion tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asserted {
    /// The counter to store (the authenticator's; 0 for Key credentials).
    pub sign_count: u32,
    /// Whether the authenticator verified the user (always false for Key credentials).
    pub user_verified: bool,
}

/// Checks an assertion by a `kind` credential against `expected` and the stored credential.
/// `authenticator_data` is required for Fido2 and refused for Key.
pub fn verify_assertion(
    kind: CredentialKind,
    expected: &Expected<'_>,
    public_key: &CredentialPublicKey,
    stored_sign_count: u32,
    client_data: &[u8],
    authenticator_data: Option<&[u8]>,
    signature: &[u8],
) -> Result<Asserted, AuthError> {
    match kind {
        CredentialKind::Key => {
            if authenticator_data.is_some() {
                return Err(malformed("a Key assertion has no authenticatorData"));
            }
            verify_key(expected, public_key, client_data, signature)
        }
        CredentialKind::Fido2 => {
            let authenticator_data =
                authenticator_data.ok_or_else(|| malformed("a Fido2 assertion needs authenticatorData"))?;
            verify_fido2(expected, public_key, stored_sign_count, client_data, authenticator_data, signature)
        }
    }
}

/// A Key credential's assertion (SPEC.md, "Assertion, Key").
fn verify_key(
    expected: &Expected<'_>,
    public_key: &CredentialPublicKey,
    client_data: &[u8],
    signature: &[u8],
) -> Result<Asserted, AuthError> {
    // 1-4. The client data is JSON with type `key.get`, the challenge and the origin.
    client_data::check(client_data, "key.get", expected)?;
    // 5. The signature is over the exact client data bytes.
    public_key.verify(client_data, signature)?;
    Ok(Asserted { sign_count: 0, user_verified: false })
}

/// A WebAuthn assertion, steps numbered after WebAuthn Level 3 §7.2. Steps 1-7 (the
/// ceremony, allowCredentials, userHandle, credential lookup) are the caller's: it found the credential
/// by its id and checked that it belongs to the user and is active.
fn verify_fido2(
    expected: &Expected<'_>,
    public_key: &CredentialPublicKey,
    stored_sign_count: u32,
    client_data: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
) -> Result<Asserted, AuthError> {
    // 9-10. Decode clientDataJSON as UTF-8 JSON (within its size limit).
    // 11. type is `webauthn.get`.
    // 12. challenge equals the one issued.
    // 13. origin is the application's.
    // 14. crossOrigin is not true (we refuse cross-origin ceremonies; no topOrigin check).
    client_data::check(client_data, "webauthn.get", expected)?;
    // 8. Parse the authenticator data (37 bytes at least, extensions as one CBOR map, flags
    //    BS without BE refused as malformed).
    let data = authenticator_data::parse(authenticator_data)?;
    // (ours) An assertion carries no attested credential data.
    if data.has(FLAG_AT) {
        return Err(malformed("an assertion's authenticator data has the AT flag"));
    }
    // 15. rpIdHash is SHA-256 of the application's rpId.
    // 16. UP is set.
    // 17. UV is set if the application requires user verification.
    // 18-19. BE/BS: nothing stored about backup state; BS without BE was refused at parsing.
    data.check(expected)?;
    // 20. Extensions: none requested, so any the authenticator added are ignored.
    // 21. hash = SHA-256(clientDataJSON).
    // 22. The signature is over authenticatorData || hash with the credential's key.
    let mut signed = Vec::with_capacity(authenticator_data.len() + 32);
    signed.extend_from_slice(authenticator_data);
    signed.extend_from_slice(&Sha256::digest(client_data));
    public_key.verify(&signed, signature)?;
    // 23. signCount: both zero means the authenticator keeps no counter; otherwise it must
    //     have grown, or the authenticator may be cloned.
    if (data.sign_count != 0 || stored_sign_count != 0) && data.sign_count <= stored_sign_count {
        return Err(AuthError::CounterWentBackwards);
    }
    // 24. Return the counter to store and UV.
    Ok(Asserted { sign_count: data.sign_count, user_verified: data.has(FLAG_UV) })
}
