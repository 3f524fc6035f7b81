//! `signer auth ...`, `signer credential ...` and `signer registration-code ...`.

use std::path::Path;

use serde_json::{Value, json};
use signer_client::cli::CliError;
use signer_client::{Client, Credentials, KeyAlgorithm, KeySigner};
use signer_common::api::auth::CredentialAnswer;

use crate::args::{AuthCommand, Cli, CredentialCommand, RegistrationCodeCommand};
use crate::{Output, client, to_json};

fn parse_algorithm(text: &str) -> Result<KeyAlgorithm, CliError> {
    text.parse().map_err(|_| format!("--algorithm must be ES256, ES256K or EdDSA, not {text:?}").into())
}

/// Refuses to overwrite a file that may hold a key, before anything is sent.
fn check_new_file(path: &Path) -> Result<(), CliError> {
    if path.exists() {
        return Err(CliError::new(
            "invalid_argument",
            format!("{} exists; give a new --out file", path.display()),
        ));
    }
    Ok(())
}

fn credential_line(credential: &CredentialAnswer) -> String {
    format!(
        "{} {} {} {} {}\n",
        credential.cred_id,
        credential.kind,
        credential.algorithm.as_deref().unwrap_or("-"),
        credential.status,
        credential.name
    )
}

pub(crate) fn auth(cli: &Cli, command: &AuthCommand) -> Result<Output, CliError> {
    match command {
        AuthCommand::Register { org_id, username, code, algorithm, app_id, out } => {
            let algorithm = parse_algorithm(algorithm)?;
            check_new_file(out)?;
            let url = cli.url.as_ref().ok_or("--url URL is required for auth register")?;
            let client = Client::new(url.clone(), "").with_app_id(app_id.clone());
            // The key is saved as soon as it is registered, then the file gets its token.
            let registered = client.register_key(org_id, username, code, algorithm)?;
            registered.credentials.write_file(out)?;
            let signer = KeySigner::from_credentials(&registered.credentials)?;
            let token = client.login(org_id, username, &signer).map_err(|e| {
                let message = format!(
                    "registered and saved the key in {}, but the login failed ({e}); run `signer --credentials {} auth login`",
                    out.display(),
                    out.display()
                );
                CliError::new("request_failed", message)
            })?;
            Credentials::update_access_token(out, &token)?;
            let text = format!(
                "registered user {} ({}) with credential {}; wrote {}\n",
                registered.user.username,
                registered.user.id,
                registered.credential.cred_id,
                out.display()
            );
            let json = json!({ "user": to_json(&registered.user)?, "credential": to_json(&registered.credential)?, "out": out });
            Ok(Output { json, text })
        }
        AuthCommand::Login => {
            let path = cli.credentials.as_ref().ok_or("--credentials FILE is required for auth login")?;
            let credentials = Credentials::from_file(path)?;
            let signer = KeySigner::from_credentials(&credentials)?;
            let url = cli.url.clone().unwrap_or_else(|| credentials.url.clone());
            let client =
                Client::new(url, "").with_app_id(Some(credentials.app_id.clone()).filter(|a| !a.is_empty()));
            let token = client.login(&credentials.org_id, &credentials.username, &signer)?;
            Credentials::update_access_token(path, &token)?;
            let text =
                format!("logged in as {}; new access token in {}\n", credentials.username, path.display());
            Ok(Output { json: json!({ "username": credentials.username, "out": path }), text })
        }
    }
}

pub(crate) fn credential(cli: &Cli, command: &CredentialCommand) -> Result<Output, CliError> {
    let client = client(cli)?;
    match command {
        CredentialCommand::Add { algorithm, name, out } => {
            let algorithm = parse_algorithm(algorithm)?;
            check_new_file(out)?;
            let path = cli.credentials.as_ref().ok_or("--credentials FILE is required")?;
            let current = Credentials::from_file(path)?;
            let (credential, signer) = client.add_key_credential(algorithm, name, &current.origin)?;
            let new = Credentials {
                origin: signer.origin().to_owned(),
                credential: signer.local_credential()?,
                ..current
            };
            new.write_file(out)?;
            let text = format!("added credential {}; wrote {}\n", credential.cred_id, out.display());
            Ok(Output { json: json!({ "credential": to_json(&credential)?, "out": out }), text })
        }
        CredentialCommand::List => {
            let items = client.list_credentials()?;
            let text = items.iter().map(credential_line).collect();
            Ok(Output { json: json!({ "items": to_json(&items)? }), text })
        }
        CredentialCommand::Deactivate { cred_id } | CredentialCommand::Activate { cred_id } => {
            let active = matches!(command, CredentialCommand::Activate { .. });
            let credential = client.set_credential_active(cred_id, active)?;
            Ok(Output {
                json: json!({ "credential": to_json(&credential)? }),
                text: credential_line(&credential),
            })
        }
    }
}

pub(crate) fn registration_code(cli: &Cli, command: &RegistrationCodeCommand) -> Result<Output, CliError> {
    let client = client(cli)?;
    match command {
        RegistrationCodeCommand::Create { username, role } => {
            let code = client.create_registration_code(username.as_deref(), role.as_deref())?;
            let text = format!(
                "registration code {} for org {} ({}{}), expires {}\n",
                code.registration_code,
                code.org_id,
                code.role,
                code.username.as_deref().map(|u| format!(", user {u}")).unwrap_or_default(),
                code.expires_at
            );
            let json: Value = to_json(&code)?;
            Ok(Output { json, text })
        }
    }
}
