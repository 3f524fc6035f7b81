//! `signer`: the command-line client. See `API.md`, "Command-line contract".
//!
//! Every command prints one JSON object on stdout with `--json` (a short text otherwise) and, on
//! failure, exits non-zero with a one-line message on stderr.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;
use serde_json::{Value, json};
use signer_client::cli::{
    self, CliError, document_json, now_unix_seconds, parse_b64_arg, parse_document_arg, parse_hash,
    parse_hex, parse_nonce, parse_root, parse_session_id_arg, pcrs_json, verified_result_json, with_field,
};
use signer_client::{
    AuthFlow, Client, Credentials, Curve, ImagePolicy, ResultExpectations, SessionCache, TrustedRoot,
    VerifiedResult, Wallet, WalletKey, attestation_mode_name, verify_session_result, verify_signing_result,
};
use signer_common::attestation::{self, Expectations};
use signer_common::encoding::{to_b64url, to_hex0x};

mod args;
mod auth;

use args::{
    AttestationCommand, Cli, Command, CreateArgs, EnclaveCommand, ReceiptCommand, ResultCheck, SignArgs,
    WalletCommand,
};

/// What a command prints: the JSON object, and its text form.
pub(crate) struct Output {
    pub(crate) json: Value,
    pub(crate) text: String,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e, std::env::args().any(|a| a == "--json")),
    };
    match run(&cli) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            let written = if cli.json {
                writeln!(stdout, "{}", output.json)
            } else {
                write!(stdout, "{}", output.text)
            };
            if written.and_then(|()| stdout.flush()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(error) => fail(&error, cli.json, ExitCode::FAILURE),
    }
}

/// Prints a failure: the one-line message on stderr and, with `--json`, the error object on
/// stdout.
fn fail(error: &CliError, json: bool, code: ExitCode) -> ExitCode {
    eprintln!("signer: {}", error.message);
    if json {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", error.to_json()).and_then(|()| stdout.flush());
    }
    code
}

/// Help and version go to stdout as clap prints them; usage errors become one line on stderr.
fn clap_error(e: &clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    let message = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "a subcommand is missing (see --help)".to_owned()
        }
        _ => cli::clap_error_line(e),
    };
    fail(&CliError::new("invalid_argument", message), json, ExitCode::from(2))
}

fn run(cli: &Cli) -> Result<Output, CliError> {
    match &cli.command {
        Command::Wallet(command) => {
            let client = client(cli)?;
            match command {
                WalletCommand::Create(args) => wallet_create(&client, args),
                WalletCommand::Get { wallet } => {
                    let wallet = client.get_wallet(wallet)?;
                    let text = wallet_line(&wallet);
                    Ok(Output { json: to_json(&wallet)?, text })
                }
                WalletCommand::List => {
                    let wallets = client.list_wallets()?;
                    let text: String = wallets.iter().map(wallet_line).collect();
                    Ok(Output { json: json!({ "items": to_json(&wallets)? }), text })
                }
                WalletCommand::Sign(args) => wallet_sign(&client, args),
            }
        }
        Command::Attestation(AttestationCommand::Verify {
            doc,
            check,
            user_data,
            nonce,
            public_key,
            max_age,
        }) => {
            let root = parse_root(&check.root)?;
            let bytes = cli::read_small_file(doc)?;
            let document = attestation::document_from_file_bytes(&bytes)
                .map_err(|e| CliError::new("verification_failed", e.to_string()))?;
            // `--pcr` stays optional here (API.md); `--pcrs` adds its PCRs.
            let pcrs = check.image.expected_pcrs()?;
            let expect = Expectations {
                pcrs,
                user_data: user_data.as_deref().map(|h| parse_hex("--user-data", h)).transpose()?,
                nonce: nonce.as_deref().map(|h| parse_hex("--nonce", h)).transpose()?,
                public_key: public_key.as_deref().map(|h| parse_hex("--public-key", h)).transpose()?,
                max_age: max_age.map(Duration::from_secs),
            };
            let at = check.at.unwrap_or_else(now_unix_seconds);
            let doc = attestation::verify(&document, &root, at, &expect)
                .map_err(|e| CliError::new("verification_failed", e.to_string()))?;
            let mut text =
                format!("valid attestation document from {} made at {} ms\n", doc.module_id, doc.timestamp);
            for (index, value) in &doc.pcrs {
                text.push_str(&format!("PCR{index} {}\n", hex::encode(value)));
            }
            Ok(Output { json: document_json(&doc), text })
        }
        Command::Attestation(AttestationCommand::Get { nonce, out }) => {
            let client = client(cli)?;
            let nonce = nonce.as_deref().map(parse_nonce).transpose()?;
            let fetched = client.attestation(nonce.as_deref())?;
            let pcrs = pcrs_json(&fetched.pcrs);
            if let Some(path) = out {
                write_out(path, &fetched.attestation)?;
                let text = format!("wrote the attestation document to {}\n", path.display());
                return Ok(Output { json: json!({ "out": path, "pcrs": pcrs }), text });
            }
            let b64 = to_b64url(&fetched.attestation);
            let json = json!({ "attestation": b64, "pcrs": pcrs });
            Ok(Output { json, text: format!("{b64}\n") })
        }
        Command::Attestation(AttestationCommand::Session { id, out }) => {
            let client = client(cli)?;
            let id = id.as_deref().map(parse_session_id_arg).transpose()?;
            let (id, document) = client.session_document(id)?;
            if let Some(path) = out {
                write_out(path, &document)?;
                let text = format!("{}\nwrote the session document to {}\n", hex::encode(id), path.display());
                return Ok(Output { json: json!({ "id": hex::encode(id), "out": path }), text });
            }
            let b64 = to_b64url(&document);
            let json = json!({ "id": hex::encode(id), "attestation": b64 });
            Ok(Output { json, text: format!("{}\n{b64}\n", hex::encode(id)) })
        }
        Command::Receipt(ReceiptCommand::Verify {
            receipt,
            attestation,
            receipt_signature,
            session_document,
            check,
            nonce,
            wallet,
            public_key,
        }) => {
            let root = parse_root(&check.root)?;
            let image = check.image.policy()?;
            let receipt = parse_b64_arg("--receipt", receipt)?;
            let expect = ResultExpectations {
                nonce: nonce.as_deref().map(parse_nonce).transpose()?,
                wallet_id: wallet.clone(),
                public_key: public_key.as_deref().map(|h| parse_hex("--public-key", h)).transpose()?,
                ..ResultExpectations::new(image)
            };
            let at = check.at.unwrap_or_else(now_unix_seconds);
            let verified = match (attestation, receipt_signature, session_document) {
                (Some(attestation), None, None) => {
                    let attestation = parse_b64_arg("--attestation", attestation)?;
                    verify_signing_result(&receipt, &attestation, &root, at, &expect)
                }
                (None, Some(signature), Some(document)) => {
                    let signature = parse_b64_arg("--receipt-signature", signature)?;
                    let document = parse_document_arg("--session-document", document)?;
                    let cache = SessionCache::new();
                    verify_session_result(&receipt, &signature, &document, &root, at, &expect, &cache)
                }
                _ => {
                    return Err(
                        "give either --attestation, or --receipt-signature and --session-document".into()
                    );
                }
            }
            .map_err(|e| CliError::verification("", &e))?;
            let r = &verified.receipt;
            let text = format!(
                "valid {} receipt for wallet {} ({}, public key {}), request {}, attested by {}{}\n",
                r.kind.as_str(),
                r.wallet_id,
                r.curve.as_str(),
                to_hex0x(&r.public_key),
                r.request_id,
                verified.document.module_id,
                session_suffix(&verified),
            );
            Ok(Output { json: verified_result_json(&verified), text })
        }
        Command::Auth(command) => auth::auth(cli, command),
        Command::Credential(command) => auth::credential(cli, command),
        Command::RegistrationCode(command) => auth::registration_code(cli, command),
        Command::Enclave(EnclaveCommand::Root) => {
            let client = client(cli)?;
            let pem = client.root_pem()?;
            let root = TrustedRoot::from_pem(&pem)
                .map_err(|e| CliError::new("request_failed", format!("the parent's root: {e}")))?;
            Ok(Output {
                json: json!({ "pem": root.to_pem(), "sha256": root.sha256_hex() }),
                text: root.to_pem(),
            })
        }
    }
}

/// The client from `--credentials` (required; its key signs state-changing calls),
/// `--url` (overrides the file's url) and `--user-action-flow`.
pub(crate) fn client(cli: &Cli) -> Result<Client, CliError> {
    let path = cli.credentials.as_ref().ok_or("--credentials FILE is required for this command")?;
    let credentials = Credentials::from_file(path)?;
    let flow = if cli.user_action_flow { AuthFlow::UserAction } else { AuthFlow::OneShot };
    let client = Client::from_credentials(&credentials)?.with_auth_flow(flow);
    Ok(match &cli.url {
        Some(url) => client.with_url(url.clone()),
        None => client,
    })
}

/// ` (session document <id>)` for a session-mode result, nothing for a fresh one.
fn session_suffix(verified: &VerifiedResult) -> String {
    verified.session_id.map(|id| format!(" (session document {})", hex::encode(id))).unwrap_or_default()
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, CliError> {
    serde_json::to_value(value)
        .map_err(|e| CliError::new("io_error", format!("cannot render the result: {e}")))
}

/// Writes a fetched document to `--out`.
fn write_out(path: &std::path::Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes)
        .map_err(|e| CliError::new("io_error", format!("cannot write {}: {e}", path.display())))
}

fn wallet_line(wallet: &Wallet) -> String {
    let mut line = format!("{} {} {} {}", wallet.id, wallet.curve, wallet.public_key, wallet.status);
    if let Some(name) = &wallet.name {
        line.push_str(&format!(" {name:?}"));
    }
    line.push('\n');
    line
}

/// The root, time and expected image from `--root`, `--at`, `--pcr`, `--pcrs` and
/// `--allow-any-image`, when `--root` is given (and then PCR0 is required unless any image is
/// allowed).
fn result_check(check: &ResultCheck) -> Result<Option<(TrustedRoot, u64, ImagePolicy)>, CliError> {
    let Some(root) = &check.root else {
        if check.at.is_some() || check.image.is_given() {
            return Err("--at, --pcr, --pcrs and --allow-any-image need --root".into());
        }
        return Ok(None);
    };
    let image = check.image.policy()?;
    Ok(Some((parse_root(root)?, check.at.unwrap_or_else(now_unix_seconds), image)))
}

fn parse_curve(text: &str) -> Result<Curve, CliError> {
    text.parse().map_err(|_| format!("--curve must be secp256k1 or ed25519, not {text:?}").into())
}

fn wallet_create(client: &Client, args: &CreateArgs) -> Result<Output, CliError> {
    let curve = parse_curve(&args.curve)?;
    let nonce = args.nonce.as_deref().map(parse_nonce).transpose()?;
    let check = result_check(&args.check)?;
    let created = client.create_wallet(curve, args.name.as_deref(), nonce.as_deref())?;
    let wallet = &created.wallet;
    let verified = match check {
        Some((root, at, image)) => {
            let context = format!("wallet {} was created but its receipt does not verify: ", wallet.id);
            created.verify(&root, at, &image).map_err(|e| CliError::verification(&context, &e))?;
            true
        }
        None => false,
    };
    let text = format!(
        "created wallet {} ({}) public key {}\n{}\n",
        wallet.id,
        wallet.curve,
        wallet.public_key,
        if verified { "receipt verified" } else { "receipt not verified (no --root)" }
    );
    let json = with_field(to_json(wallet)?, "verified", Value::Bool(verified));
    Ok(Output { json: with_field(json, "nonce", Value::String(hex::encode(&created.request.nonce))), text })
}

fn wallet_sign(client: &Client, args: &SignArgs) -> Result<Output, CliError> {
    let nonce = args.nonce.as_deref().map(parse_nonce).transpose()?;
    let check = result_check(&args.check)?;
    let key = match (&args.curve, &args.public_key) {
        (None, None) => None,
        (Some(curve), public_key) => {
            if check.is_none() {
                return Err("--curve and --public-key need --root".into());
            }
            let curve = parse_curve(curve)?;
            match public_key {
                Some(hex) => Some(WalletKey { curve, public_key: parse_hex("--public-key", hex)? }),
                None => return Err("--curve needs --public-key (the wallet's verified key)".into()),
            }
        }
        (None, Some(_)) => return Err("--public-key needs --curve".into()),
    };
    let mode = args.attestation;
    let signed = match (&args.hash, &args.message) {
        (Some(hash), None) => client.sign_hash_with(&args.wallet, parse_hash(hash)?, nonce.as_deref(), mode),
        (None, Some(message)) => {
            let message = parse_hex("--message", message)?;
            client.sign_message_with(&args.wallet, &message, nonce.as_deref(), mode)
        }
        _ => return Err("give exactly one of --hash and --message".into()),
    }?;
    let result = &signed.result;
    let answered = result.mode().map_err(|e| format!("signature {}: {e}", result.id))?;
    let verified = match check {
        Some((root, at, image)) => {
            let context = format!("signature {} does not verify: ", result.id);
            // Either form verifies; in session mode the session document is fetched by id.
            let verified = client
                .verify_signature(&signed, &root, at, &image, key.as_ref(), &SessionCache::new())
                .map_err(|e| CliError::verification(&context, &e))?;
            Some(verified)
        }
        None => None,
    };
    let text = format!(
        "signature {}\nrequest {} wallet {} attestation {} {}\n",
        result.signature.encoded,
        result.id,
        result.wallet_id,
        attestation_mode_name(answered),
        match &verified {
            Some(verified) => format!("verified{}", session_suffix(verified)),
            None => "not verified (no --root)".to_owned(),
        }
    );
    let json = with_field(to_json(result)?, "verified", Value::Bool(verified.is_some()));
    Ok(Output { json: with_field(json, "nonce", Value::String(hex::encode(&signed.request.nonce))), text })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_values_may_begin_with_a_hyphen() {
        let args = [
            "signer",
            "receipt",
            "verify",
            "--receipt",
            "-receipt",
            "--receipt-signature",
            "-m8sig",
            "--session-document",
            "-doc",
            "--root",
            "aws",
        ];
        if let Err(e) = Cli::try_parse_from(args) {
            panic!("{e}");
        }
    }
}
