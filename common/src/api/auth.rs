//! The JSON of the auth endpoints (API.md, "User action signing", "One-shot signed requests",
//! "Registration and login"), shared by the parent and clients. Binary values are unpadded
//! base64url text, as the browser's WebAuthn API gives them.

use serde::{Deserialize, Serialize};

/// `X-User-Action`: the token from `POST /auth/action`.
pub const USER_ACTION_HEADER: &str = "x-user-action";
/// `X-App-Id`: the application; the org's default when absent.
pub const APP_ID_HEADER: &str = "x-app-id";
/// `X-Request-Time`: milliseconds since the epoch of a one-shot signed request.
pub const REQUEST_TIME_HEADER: &str = "x-request-time";
/// `X-Request-Id`: the id of a one-shot signed request (16 to 64 of `[A-Za-z0-9_-]`).
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// `X-Request-Signature`: base64url of the JSON [`RequestSignature`].
pub const REQUEST_SIGNATURE_HEADER: &str = "x-request-signature";

/// `POST /auth/action/init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionInitRequest {
    /// The exact body of the call to be made (`""` for none).
    pub user_action_payload: String,
    /// Its method.
    pub user_action_http_method: String,
    /// Its path (with the query string, if any).
    pub user_action_http_path: String,
}

/// A credential the user may sign with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowCredential {
    /// `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// base64url credential id.
    pub id: String,
}

/// The user's active credentials, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AllowCredentials {
    /// Key credentials.
    pub key: Vec<AllowCredential>,
    /// Passkeys.
    pub webauthn: Vec<AllowCredential>,
}

/// The relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelyingParty {
    /// The rpId.
    pub id: String,
    /// Display name.
    pub name: String,
}

/// The answer of `POST /auth/action/init` and `POST /auth/login/init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeAnswer {
    /// The base64url challenge to sign.
    pub challenge: String,
    /// Names the challenge in the next call.
    pub challenge_identifier: String,
    /// The credentials that may sign it.
    pub allow_credentials: AllowCredentials,
    /// The relying party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp: Option<RelyingParty>,
    /// `required`, `preferred` or `discouraged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<String>,
    /// The application's expected origin, which a Key credential puts in its client data
    /// (an addition to the Dfns shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// A credential's signature, base64url fields as the browser gives them (`authenticatorData`
/// and `userHandle` for Fido2 only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialAssertion {
    /// The credential id.
    pub cred_id: String,
    /// The exact client data bytes that were signed.
    pub client_data: String,
    /// WebAuthn authenticator data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_data: Option<String>,
    /// The signature.
    pub signature: String,
    /// WebAuthn user handle (may be null).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_handle: Option<String>,
}

/// `firstFactor` of `POST /auth/action` and `POST /auth/login`, and the JSON inside
/// `X-Request-Signature`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestSignature {
    /// `Key` or `Fido2`.
    pub kind: String,
    /// The signature.
    pub credential_assertion: CredentialAssertion,
}

/// `POST /auth/action` and `POST /auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedChallenge {
    /// From the init call.
    pub challenge_identifier: String,
    /// The signature.
    pub first_factor: RequestSignature,
}

/// The answer of `POST /auth/action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserActionAnswer {
    /// The single-use `X-User-Action` token.
    pub user_action: String,
}

/// `POST /auth/registration/init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationInitRequest {
    /// The new user's login name.
    pub username: String,
    /// The organisation.
    pub org_id: String,
    /// The one-time code from an admin.
    pub registration_code: String,
}

/// The new user in WebAuthn creation options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntity {
    /// base64url user handle.
    pub id: String,
    /// Login name.
    pub name: String,
    /// Display name.
    pub display_name: String,
}

/// A public-key algorithm the relying party accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PubKeyCredParam {
    /// `public-key`.
    #[serde(rename = "type")]
    pub kind: String,
    /// COSE algorithm number.
    pub alg: i64,
}

/// Which credential kinds may be registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedCredentialKinds {
    /// First factors.
    pub first_factor: Vec<String>,
    /// Second factors.
    pub second_factor: Vec<String>,
}

/// WebAuthn `authenticatorSelection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    /// `required`, `preferred` or `discouraged`.
    pub resident_key: String,
    /// Legacy form of `residentKey`.
    pub require_resident_key: bool,
    /// `required`, `preferred` or `discouraged`.
    pub user_verification: String,
}

/// The answer of `POST /auth/registration/init` and `POST /auth/credentials/init`: WebAuthn
/// creation options in JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreationOptions {
    /// The base64url challenge the new credential signs.
    pub challenge: String,
    /// Registration only: the bearer token of `POST /auth/registration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporary_authentication_token: Option<String>,
    /// `POST /auth/credentials/init` only: names the challenge in `POST /auth/credentials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge_identifier: Option<String>,
    /// The relying party.
    pub rp: RelyingParty,
    /// The user.
    pub user: UserEntity,
    /// Accepted algorithms.
    pub pub_key_cred_params: Vec<PubKeyCredParam>,
    /// Accepted kinds.
    pub supported_credential_kinds: SupportedCredentialKinds,
    /// `none`.
    pub attestation: String,
    /// Authenticator requirements.
    pub authenticator_selection: AuthenticatorSelection,
    /// Credentials the user already has.
    pub exclude_credentials: Vec<AllowCredential>,
    /// The application's expected origin, which a Key credential puts in its client data
    /// (an addition to the Dfns shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// `credentialInfo`: base64url fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialInfo {
    /// The credential id.
    pub cred_id: String,
    /// `clientDataJSON` (Fido2) or the `key.create` client data (Key).
    pub client_data: String,
    /// `attestationObject` (Fido2) or base64url of JSON `{ publicKey, signature }` (Key).
    pub attestation_data: String,
}

/// `firstFactorCredential` of `POST /auth/registration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirstFactorCredential {
    /// `Key` or `Fido2`.
    pub credential_kind: String,
    /// The credential.
    pub credential_info: CredentialInfo,
    /// A display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_name: Option<String>,
}

/// `POST /auth/registration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationRequest {
    /// The first credential.
    pub first_factor_credential: FirstFactorCredential,
}

/// The `attestationData` of a Key credential, before base64url.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyAttestation {
    /// PEM SubjectPublicKeyInfo.
    pub public_key: String,
    /// base64url signature over the exact client data bytes.
    pub signature: String,
}

/// A user in answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// User id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Organisation.
    pub org_id: String,
}

/// `POST /auth/service-accounts` (an admin's user action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateServiceAccountRequest {
    /// Its name (a username of the organisation).
    pub name: String,
    /// PEM SubjectPublicKeyInfo (P-256, secp256k1 or Ed25519): the account's Key credential,
    /// which signs its user actions and one-shot requests.
    pub public_key: String,
    /// A permission set (not supported yet: refused when given).
    #[serde(default)]
    pub permission_id: Option<String>,
}

/// The answer of `POST /auth/service-accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountAnswer {
    /// The account's user id.
    pub id: String,
    /// Its access token.
    pub access_token: String,
    /// base64url id of its Key credential (the `credId` of its signatures).
    pub cred_id: String,
}

/// `POST /auth/pats` (the user's user action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePatRequest {
    /// Its name.
    pub name: String,
    /// PEM SubjectPublicKeyInfo (P-256, secp256k1 or Ed25519): the key that signs the token's
    /// user actions and one-shot requests.
    pub public_key: String,
    /// A permission set (not supported yet: refused when given).
    #[serde(default)]
    pub permission_id: Option<String>,
    /// Days the token and its key live: 1 to 365, 30 when absent.
    #[serde(default)]
    pub days_valid: Option<u32>,
}

/// The answer of `POST /auth/pats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatAnswer {
    /// The token's id (`DELETE /auth/pats/{id}`): its key's credential id.
    pub id: String,
    /// The access token.
    pub access_token: String,
    /// base64url id of its key's credential (the `credId` of its signatures).
    pub cred_id: String,
}

/// The answer of `DELETE /auth/pats/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatRevoked {
    /// The token's id.
    pub id: String,
    /// Always false: revoked.
    pub is_active: bool,
}

/// `PUT /auth/users/{id}/deactivate` and `/activate`: the user after the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserStatusAnswer {
    /// User id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Organisation.
    pub org_id: String,
    /// `Admin` or `Member`.
    pub role: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// `status == "Active"`.
    pub is_active: bool,
}

/// A credential in answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialAnswer {
    /// base64url credential id.
    pub cred_id: String,
    /// `Key` or `Fido2`.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// `ES256`, `ES256K`, `EdDSA` or `RS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    /// RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_created: Option<String>,
}

/// The answer of `POST /auth/registration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationAnswer {
    /// The new user.
    pub user: UserInfo,
    /// The first credential.
    pub credential: CredentialAnswer,
}

/// `POST /auth/login/init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginInitRequest {
    /// Login name.
    pub username: String,
    /// Organisation.
    pub org_id: String,
}

/// The answer of `POST /auth/login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginAnswer {
    /// The access token (JWT).
    pub token: String,
}

/// `POST /auth/credentials/init`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialInitRequest {
    /// `Key` or `Fido2`.
    pub kind: String,
}

/// `POST /auth/credentials` (with `X-User-Action`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCredentialRequest {
    /// From `POST /auth/credentials/init`.
    pub challenge_identifier: String,
    /// A display name.
    pub credential_name: String,
    /// `Key` or `Fido2`.
    pub credential_kind: String,
    /// The new credential.
    pub credential_info: CredentialInfo,
}

/// The answer of `POST /auth/credentials` and of activation changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialChangeAnswer {
    /// The credential as it now is.
    pub credential: CredentialAnswer,
}

/// `GET /auth/credentials`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialList {
    /// The signed-in user's credentials.
    pub items: Vec<CredentialAnswer>,
}

/// `PUT /auth/credentials/activate` and `/auth/credentials/deactivate` (with `X-User-Action`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CredentialStatusRequest {
    /// base64url credential id.
    pub cred_id: String,
}

/// `POST /auth/registration/codes` (an admin, with `X-User-Action`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistrationCodeRequest {
    /// The login name the code is for; any name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Admin` or `Member` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// The answer of `POST /auth/registration/codes` (and of `signer-parent org create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationCodeAnswer {
    /// The one-time code.
    pub registration_code: String,
    /// The organisation.
    pub org_id: String,
    /// The name it is bound to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `Admin` or `Member`.
    pub role: String,
    /// RFC 3339.
    pub expires_at: String,
}
