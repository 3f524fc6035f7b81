//! End-user signatures: the credential public keys, and the checks of WebAuthn and Key
//! assertions and registrations, as numbered steps (see `SPEC.md` in this folder). Sans-I/O;
//! the enclave runs these checks, clients and the parent may reuse the parsing.
//!
//! - [`CredentialPublicKey`]: a credential's public key, from a COSE key or a PEM
//!   SubjectPublicKeyInfo, and its signature check.
//! - [`verify_assertion`]: a `webauthn.get` or `key.get` assertion against a stored credential.
//! - [`verify_registration`]: a `webauthn.create` or `key.create` registration.
//! - [`request_challenge`]: the challenge of a one-shot signed request.
//!
//! Files, each importing only those above it: `error`, `expected` (inputs and size limits),
//! `public_key`, `client_data`, `authenticator_data`, then `assertion` and `registration`.

mod assertion;
mod authenticator_data;
mod client_data;
mod error;
mod expected;
mod public_key;
mod registration;
mod request_signature;

pub use assertion::{Asserted, verify_assertion};
pub use error::AuthError;
pub use expected::{
    Expected, MAX_ATTESTATION_LEN, MAX_AUTHENTICATOR_DATA_LEN, MAX_CLIENT_DATA_LEN, MAX_CREDENTIAL_ID_LEN,
    MAX_SIGNATURE_LEN,
};
pub use public_key::{
    COSE_EDDSA, COSE_ES256, COSE_ES256K, COSE_RS256, CredentialPublicKey, RSA_MODULUS_BITS,
};
pub use registration::{Registered, verify_registration};
pub use request_signature::{is_valid_request_id, request_challenge};
