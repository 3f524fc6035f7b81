//! `signer`: the command-line client. See `API.md`, "Command-line contract".
//!
//! Every command prints one JSON object on stdout with `--json` (a short text otherwise) and, on
//! failure, exits non-zero with a one-line message on stderr.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand};
use serde_json::{Value, json};
use signer_client::cli::{
    self, document_json, now_unix_seconds, parse_attestation_arg, parse_b64_arg, parse_document_arg,
    parse_hash, parse_hex, parse_nonce, parse_pcrs, parse_root, parse_session_id_arg, pcrs_json,
    verified_result_json, with_field,
};
use signer_client::{
    AttestationMode, Client, Credentials, Curve, ReceiptKind, ResultExpectations, SessionCache, TrustedRoot,
    VerifiedResult, Wallet, attestation_mode_name, verify_session_result, verify_signing_result,
};
use signer_common::attestation::{self, Expectations};
use signer_common::encoding::{to_b64url, to_hex0x};

/// Enclave-isolated signer client: wallets, signing, attestation and receipt verification.
#[derive(Parser)]
#[command(name = "signer", version, about, long_about = None)]
struct Cli {
    /// The parent's base URL (http:// only for now); defaults to the credentials file's url.
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// dev-credentials.json (url, access token, application).
    #[arg(long, global = true, value_name = "FILE")]
    credentials: Option<PathBuf>,
    /// Print one JSON object on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create, read, list wallets and sign with them.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// Verify an attestation document, or fetch a fresh one.
    #[command(subcommand)]
    Attestation(AttestationCommand),
    /// Verify a signing result (receipt and attestation document).
    #[command(subcommand)]
    Receipt(ReceiptCommand),
    /// Facts about the enclave as the parent reports them.
    #[command(subcommand)]
    Enclave(EnclaveCommand),
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Create a wallet (verifies its creation receipt when --root is given).
    Create(CreateArgs),
    /// Show one wallet.
    Get {
        /// The wallet id.
        #[arg(long, value_name = "ID")]
        wallet: String,
    },
    /// List the wallets.
    List,
    /// Sign a 32-byte hash or a message (verifies the result when --root is given).
    Sign(SignArgs),
}

/// How to verify a result that the parent returns.
#[derive(Args)]
struct ResultCheck {
    /// Verify the receipt and attestation against this root: aws, pem:FILE or der:FILE.
    /// Without it nothing is verified and the output says "verified": false.
    #[arg(long, value_name = "ROOT")]
    root: Option<String>,
    /// Verification time, seconds since the epoch (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    at: Option<u64>,
    /// Expected PCR value, N=HEX (repeatable).
    #[arg(long = "pcr", value_name = "N=HEX")]
    pcrs: Vec<String>,
}

/// The root, time and PCRs that `attestation verify` and `receipt verify` check against.
#[derive(Args)]
struct VerifyCheck {
    /// The trusted root: aws, pem:FILE or der:FILE.
    #[arg(long, value_name = "ROOT")]
    root: String,
    /// Verification time, seconds since the epoch (default: now).
    #[arg(long, value_name = "UNIX_SECONDS")]
    at: Option<u64>,
    /// Expected PCR value, N=HEX (repeatable).
    #[arg(long = "pcr", value_name = "N=HEX")]
    pcrs: Vec<String>,
}

#[derive(Args)]
struct CreateArgs {
    /// secp256k1 or ed25519.
    #[arg(long, value_name = "CURVE")]
    curve: String,
    /// A name for the wallet.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Nonce (hex, up to 64 bytes) for the attestation document.
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
    #[command(flatten)]
    check: ResultCheck,
}

#[derive(Args)]
struct SignArgs {
    /// The wallet id.
    #[arg(long, value_name = "ID")]
    wallet: String,
    /// The 32-byte hash to sign (hex).
    #[arg(long, value_name = "HEX", conflicts_with = "message", required_unless_present = "message")]
    hash: Option<String>,
    /// The message to sign (hex bytes).
    #[arg(long, value_name = "HEX")]
    message: Option<String>,
    /// Nonce (hex, up to 64 bytes): in the attestation document (fresh) and the receipt.
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
    /// How the result is attested: fresh (an attestation document per request) or session (the
    /// receipt signed by a receipt key attested once in a session document).
    #[arg(long, value_name = "MODE", default_value = "fresh", value_parser = parse_attestation_arg)]
    attestation: AttestationMode,
    #[command(flatten)]
    check: ResultCheck,
}

#[derive(Subcommand)]
enum AttestationCommand {
    /// Verify an attestation document file (raw CBOR, or base64/base64url text).
    Verify {
        /// The document file.
        #[arg(long, value_name = "FILE")]
        doc: PathBuf,
        #[command(flatten)]
        check: VerifyCheck,
        /// Expected user_data (hex).
        #[arg(long, value_name = "HEX")]
        user_data: Option<String>,
        /// Expected nonce (hex).
        #[arg(long, value_name = "HEX")]
        nonce: Option<String>,
        /// Expected public_key (hex).
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
        /// Refuse a document whose timestamp is more than this many seconds from the
        /// verification time (either way).
        #[arg(long, value_name = "SECONDS")]
        max_age: Option<u64>,
    },
    /// Fetch a fresh attestation document from the parent (not verified: use `verify`).
    Get {
        /// Nonce (hex, up to 64 bytes) to put in the document.
        #[arg(long, value_name = "HEX")]
        nonce: Option<String>,
        /// Also write the document (raw CBOR) to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Fetch a session document from the parent, the current one or one by id (not verified:
    /// `receipt verify --session-document` verifies it).
    Session {
        /// The session document's id (hex SHA-256), as in a result's sessionId.
        #[arg(long, value_name = "HEX")]
        id: Option<String>,
        /// Also write the document (raw CBOR) to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Verify a receipt and its evidence end to end: an attestation document (fresh mode), or a
    /// receipt-key signature and the session document attesting that key (session mode).
    #[command(group(ArgGroup::new("evidence").required(true).args(["attestation", "receipt_signature"])))]
    Verify {
        // base64url values may begin with '-': allow_hyphen_values keeps clap from reading
        // them as flags.
        /// The receipt, base64url (or @FILE).
        #[arg(long, value_name = "B64", allow_hyphen_values = true)]
        receipt: String,
        /// Fresh mode: the attestation document, base64url (or @FILE).
        #[arg(long, value_name = "B64", allow_hyphen_values = true)]
        attestation: Option<String>,
        /// Session mode: the receipt key's signature over the receipt, base64url (or @FILE).
        #[arg(long, value_name = "B64", requires = "session_document", allow_hyphen_values = true)]
        receipt_signature: Option<String>,
        /// Session mode: the session document, base64url, or @FILE (raw CBOR or base64).
        #[arg(
            long,
            value_name = "B64|@FILE",
            requires = "receipt_signature",
            conflicts_with = "attestation",
            allow_hyphen_values = true
        )]
        session_document: Option<String>,
        #[command(flatten)]
        check: VerifyCheck,
        /// Expected nonce (hex): in the attestation document (fresh) or the receipt (session).
        #[arg(long, value_name = "HEX")]
        nonce: Option<String>,
        /// Expected wallet id.
        #[arg(long, value_name = "ID")]
        wallet: Option<String>,
        /// Expected public key (hex).
        #[arg(long, value_name = "HEX")]
        public_key: Option<String>,
    },
}

#[derive(Subcommand)]
enum EnclaveCommand {
    /// Print the attestation root certificate the parent says is in use (PEM). Pin the root
    /// out of band for anything that matters.
    Root,
}

/// What a command prints: the JSON object, and its text form.
struct Output {
    json: Value,
    text: String,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
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
        Err(message) => {
            eprintln!("signer: {}", cli::one_line(&message));
            ExitCode::FAILURE
        }
    }
}

/// Help and version go to stdout as clap prints them; usage errors become one line on stderr.
fn clap_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprintln!("signer: a subcommand is missing (see --help)");
            ExitCode::from(2)
        }
        _ => {
            eprintln!("signer: {}", cli::clap_error_line(e));
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> Result<Output, String> {
    match &cli.command {
        Command::Wallet(command) => {
            let client = client(cli)?;
            match command {
                WalletCommand::Create(args) => wallet_create(&client, args),
                WalletCommand::Get { wallet } => {
                    let wallet = client.get_wallet(wallet).map_err(|e| e.to_string())?;
                    let text = wallet_line(&wallet);
                    Ok(Output { json: to_json(&wallet)?, text })
                }
                WalletCommand::List => {
                    let wallets = client.list_wallets().map_err(|e| e.to_string())?;
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
            let document = attestation::document_from_file_bytes(&bytes).map_err(|e| e.to_string())?;
            let expect = Expectations {
                pcrs: parse_pcrs(&check.pcrs)?,
                user_data: user_data.as_deref().map(|h| parse_hex("--user-data", h)).transpose()?,
                nonce: nonce.as_deref().map(|h| parse_hex("--nonce", h)).transpose()?,
                public_key: public_key.as_deref().map(|h| parse_hex("--public-key", h)).transpose()?,
                max_age: max_age.map(Duration::from_secs),
            };
            let at = check.at.unwrap_or_else(now_unix_seconds);
            let doc = attestation::verify(&document, &root, at, &expect).map_err(|e| e.to_string())?;
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
            let fetched = client.attestation(nonce.as_deref()).map_err(|e| e.to_string())?;
            if let Some(path) = out {
                std::fs::write(path, &fetched.attestation)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
            let b64 = to_b64url(&fetched.attestation);
            let json = json!({ "attestation": b64, "pcrs": pcrs_json(&fetched.pcrs) });
            Ok(Output { json, text: format!("{b64}\n") })
        }
        Command::Attestation(AttestationCommand::Session { id, out }) => {
            let client = client(cli)?;
            let id = id.as_deref().map(parse_session_id_arg).transpose()?;
            let (id, document) = client.session_document(id).map_err(|e| e.to_string())?;
            if let Some(path) = out {
                std::fs::write(path, &document)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
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
            let receipt = parse_b64_arg("--receipt", receipt)?;
            let expect = ResultExpectations {
                pcrs: parse_pcrs(&check.pcrs)?,
                nonce: nonce.as_deref().map(parse_nonce).transpose()?,
                wallet_id: wallet.clone(),
                public_key: public_key.as_deref().map(|h| parse_hex("--public-key", h)).transpose()?,
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
            .map_err(|e| e.to_string())?;
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
        Command::Enclave(EnclaveCommand::Root) => {
            let client = client(cli)?;
            let pem = client.root_pem().map_err(|e| e.to_string())?;
            let root = TrustedRoot::from_pem(&pem).map_err(|e| format!("the parent's root: {e}"))?;
            Ok(Output {
                json: json!({ "pem": root.to_pem(), "sha256": root.sha256_hex() }),
                text: root.to_pem(),
            })
        }
    }
}

/// The client from `--credentials` (required) and `--url` (overrides the file's url).
fn client(cli: &Cli) -> Result<Client, String> {
    let path = cli.credentials.as_ref().ok_or("--credentials FILE is required for this command")?;
    let credentials = Credentials::from_file(path).map_err(|e| e.to_string())?;
    let client = Client::from_credentials(&credentials);
    Ok(match &cli.url {
        Some(url) => client.with_url(url.clone()),
        None => client,
    })
}

/// ` (session document <id>)` for a session-mode result, nothing for a fresh one.
fn session_suffix(verified: &VerifiedResult) -> String {
    verified.session_id.map(|id| format!(" (session document {})", hex::encode(id))).unwrap_or_default()
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| format!("cannot render the result: {e}"))
}

fn wallet_line(wallet: &Wallet) -> String {
    let mut line = format!("{} {} {}", wallet.id, wallet.curve, wallet.public_key);
    if let Some(status) = &wallet.status {
        line.push_str(&format!(" {status}"));
    }
    if let Some(name) = &wallet.name {
        line.push_str(&format!(" {name:?}"));
    }
    line.push('\n');
    line
}

/// Expectations and time from `--root`, `--at`, `--pcr` and the nonce, when `--root` is given.
fn result_check(
    check: &ResultCheck,
    nonce: Option<&[u8]>,
    wallet_id: Option<&str>,
) -> Result<Option<(TrustedRoot, u64, ResultExpectations)>, String> {
    let Some(root) = &check.root else {
        if check.at.is_some() || !check.pcrs.is_empty() {
            return Err("--at and --pcr need --root".into());
        }
        return Ok(None);
    };
    let expect = ResultExpectations {
        pcrs: parse_pcrs(&check.pcrs)?,
        nonce: nonce.map(<[u8]>::to_vec),
        wallet_id: wallet_id.map(str::to_owned),
        public_key: None,
    };
    Ok(Some((parse_root(root)?, check.at.unwrap_or_else(now_unix_seconds), expect)))
}

fn wallet_create(client: &Client, args: &CreateArgs) -> Result<Output, String> {
    let curve: Curve = args
        .curve
        .parse()
        .map_err(|_| format!("--curve must be secp256k1 or ed25519, not {:?}", args.curve))?;
    let nonce = args.nonce.as_deref().map(parse_nonce).transpose()?;
    let check = result_check(&args.check, nonce.as_deref(), None)?;
    let wallet =
        client.create_wallet(curve, args.name.as_deref(), nonce.as_deref()).map_err(|e| e.to_string())?;
    let verified = match check {
        Some((root, at, expect)) => {
            wallet.verify(&root, at, &expect).map_err(|e| {
                format!("wallet {} was created but its receipt does not verify: {e}", wallet.id)
            })?;
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
    Ok(Output { json: with_field(to_json(&wallet)?, "verified", Value::Bool(verified)), text })
}

fn wallet_sign(client: &Client, args: &SignArgs) -> Result<Output, String> {
    let nonce = args.nonce.as_deref().map(parse_nonce).transpose()?;
    let check = result_check(&args.check, nonce.as_deref(), Some(&args.wallet))?;
    let mode = args.attestation;
    let (kind, payload, result) = match (&args.hash, &args.message) {
        (Some(hash), None) => {
            let hash = parse_hash(hash)?;
            let result = client.sign_hash_with(&args.wallet, hash, nonce.as_deref(), mode);
            (ReceiptKind::Hash, hash.to_vec(), result)
        }
        (None, Some(message)) => {
            let message = parse_hex("--message", message)?;
            let result = client.sign_message_with(&args.wallet, &message, nonce.as_deref(), mode);
            (ReceiptKind::Message, message, result)
        }
        _ => return Err("give exactly one of --hash and --message".into()),
    };
    let result = result.map_err(|e| e.to_string())?;
    let answered = result.mode().map_err(|e| format!("signature {}: {e}", result.id))?;
    let verified = match check {
        Some((root, at, expect)) => {
            let fail =
                |e: signer_client::VerifyResultError| format!("signature {} does not verify: {e}", result.id);
            // Either form verifies; in session mode the session document is fetched by id.
            let verified =
                client.verify_signature(&result, &root, at, &expect, &SessionCache::new()).map_err(fail)?;
            verified.expect_payload(kind, &payload).map_err(fail)?;
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
    Ok(Output { json: with_field(to_json(&result)?, "verified", Value::Bool(verified.is_some())), text })
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
