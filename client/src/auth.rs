//! The auth endpoints (API.md, "Registration and login"): registering a user with a Key
//! credential, logging in, adding, listing, activating and deactivating credentials, and
//! registration codes. Credential changes and codes are state-changing calls, signed like the
//! others ([`crate::userauth`]).

use signer_common::api::auth::{
    CreateCredentialRequest, CreationOptions, CredentialAnswer, CredentialChangeAnswer,
    CredentialInitRequest, CredentialList, CredentialStatusRequest, FirstFactorCredential, LoginAnswer,
    LoginInitRequest, RegistrationAnswer, RegistrationCodeAnswer, RegistrationCodeRequest,
    RegistrationInitRequest, RegistrationRequest, SignedChallenge, UserInfo,
};

use crate::client::{Client, to_value};
use crate::credentials::{Credentials, Secret};
use crate::error::ClientError;
use crate::keys::{KeyAlgorithm, KeySigner};
use crate::userauth::UserActionSigner;

/// A user just registered: the answer, and a credentials file's content for the new key.
#[derive(Debug)]
pub struct Registered {
    /// The new user.
    pub user: UserInfo,
    /// The new credential as the parent describes it.
    pub credential: CredentialAnswer,
    /// url, org, user, access token (from a login with the new key; empty from
    /// [`Client::register_key`]), origin and the key.
    pub credentials: Credentials,
}

impl Client {
    /// `POST /auth/registration/init` (no access token).
    pub fn registration_init(
        &self,
        org_id: &str,
        username: &str,
        registration_code: &str,
    ) -> Result<CreationOptions, ClientError> {
        let request = RegistrationInitRequest {
            username: username.into(),
            org_id: org_id.into(),
            registration_code: registration_code.into(),
        };
        self.clone().with_access_token("").http.post_json(
            "/auth/registration/init",
            &to_value(&request)?,
            None,
        )
    }

    /// Registers a user with a new `algorithm` Key credential and logs in with it
    /// ([`Self::register_key`], then [`Self::login`]).
    pub fn register(
        &self,
        org_id: &str,
        username: &str,
        registration_code: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<Registered, ClientError> {
        let mut registered = self.register_key(org_id, username, registration_code, algorithm)?;
        let signer = KeySigner::from_credentials(&registered.credentials)?;
        registered.credentials.access_token = Secret::new(self.login(org_id, username, &signer)?);
        Ok(registered)
    }

    /// Registers a user with a new `algorithm` Key credential: registration init with the
    /// one-time code, a new key signing the `key.create` client data for the application's
    /// origin (the creation options' `origin`), and `POST /auth/registration` with the
    /// temporary token. The credentials answered have no access token yet: save them (the key
    /// exists nowhere else), then [`Self::login`].
    pub fn register_key(
        &self,
        org_id: &str,
        username: &str,
        registration_code: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<Registered, ClientError> {
        let options = self.registration_init(org_id, username, registration_code)?;
        let origin = options
            .origin
            .clone()
            .ok_or_else(|| ClientError::Decode("the creation options name no origin".into()))?;
        let token = options
            .temporary_authentication_token
            .clone()
            .ok_or_else(|| ClientError::Decode("the creation options carry no temporary token".into()))?;
        let signer = KeySigner::generate(algorithm, origin.clone())?;
        let request = RegistrationRequest {
            first_factor_credential: FirstFactorCredential {
                credential_kind: "Key".into(),
                credential_info: signer.key_create(&options.challenge)?,
                credential_name: None,
            },
        };
        let answer: RegistrationAnswer = self.clone().with_access_token(token).http.post_json(
            "/auth/registration",
            &to_value(&request)?,
            None,
        )?;
        let credentials = Credentials {
            url: self.url().to_owned(),
            org_id: org_id.to_owned(),
            user_id: answer.user.id.clone(),
            username: answer.user.username.clone(),
            access_token: Secret::default(),
            app_id: self.http.app_id.clone().unwrap_or_default(),
            origin,
            credential: signer.local_credential()?,
        };
        Ok(Registered { user: answer.user, credential: answer.credential, credentials })
    }

    /// `POST /auth/login/init`, `signer` signs the challenge, `POST /auth/login` (no access
    /// token): answers the new access token.
    pub fn login(
        &self,
        org_id: &str,
        username: &str,
        signer: &dyn UserActionSigner,
    ) -> Result<String, ClientError> {
        let anonymous = self.clone().with_access_token("");
        let request = LoginInitRequest { username: username.into(), org_id: org_id.into() };
        let challenge: signer_common::api::auth::ChallengeAnswer =
            anonymous.http.post_json("/auth/login/init", &to_value(&request)?, None)?;
        let signed = SignedChallenge {
            challenge_identifier: challenge.challenge_identifier,
            first_factor: signer.sign_challenge(&challenge.challenge)?,
        };
        let answer: LoginAnswer = anonymous.http.post_json("/auth/login", &to_value(&signed)?, None)?;
        Ok(answer.token)
    }

    /// Adds a new `algorithm` Key credential to the signed-in user: `POST
    /// /auth/credentials/init`, a new key signing `key.create` for the options' origin (this
    /// client's signer's origin when the options name none), then `POST /auth/credentials`
    /// signed by the current credential. Answers the parent's description and the new key.
    pub fn add_key_credential(
        &self,
        algorithm: KeyAlgorithm,
        name: &str,
        origin: &str,
    ) -> Result<(CredentialAnswer, KeySigner), ClientError> {
        let init = CredentialInitRequest { kind: "Key".into() };
        let options: CreationOptions =
            self.http.post_json("/auth/credentials/init", &to_value(&init)?, None)?;
        let challenge_identifier = options
            .challenge_identifier
            .clone()
            .ok_or_else(|| ClientError::Decode("the creation options carry no challengeIdentifier".into()))?;
        let signer = KeySigner::generate(algorithm, options.origin.as_deref().unwrap_or(origin))?;
        let request = CreateCredentialRequest {
            challenge_identifier,
            credential_name: name.into(),
            credential_kind: "Key".into(),
            credential_info: signer.key_create(&options.challenge)?,
        };
        let answer: CredentialChangeAnswer =
            self.signed_json("POST", "/auth/credentials", &to_value(&request)?, None)?;
        Ok((answer.credential, signer))
    }

    /// `GET /auth/credentials`: the signed-in user's credentials.
    pub fn list_credentials(&self) -> Result<Vec<CredentialAnswer>, ClientError> {
        let list: CredentialList = self.http.get_json("/auth/credentials", &[], None)?;
        Ok(list.items)
    }

    /// `PUT /auth/credentials/activate` or `/deactivate` (signed).
    pub fn set_credential_active(
        &self,
        cred_id: &str,
        active: bool,
    ) -> Result<CredentialAnswer, ClientError> {
        let path = if active { "/auth/credentials/activate" } else { "/auth/credentials/deactivate" };
        let request = CredentialStatusRequest { cred_id: cred_id.into() };
        let answer: CredentialChangeAnswer = self.signed_json("PUT", path, &to_value(&request)?, None)?;
        Ok(answer.credential)
    }

    /// `POST /auth/registration/codes` (an admin, signed): a one-time registration code, for
    /// `username` only when given, with `role` (`Admin` or `Member`, the parent's default when
    /// absent).
    pub fn create_registration_code(
        &self,
        username: Option<&str>,
        role: Option<&str>,
    ) -> Result<RegistrationCodeAnswer, ClientError> {
        let request =
            RegistrationCodeRequest { username: username.map(str::to_owned), role: role.map(str::to_owned) };
        self.signed_json("POST", "/auth/registration/codes", &to_value(&request)?, None)
    }
}
