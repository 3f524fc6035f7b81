//! `signer`: the command-line client. See `API.md`, "Command-line contract".
//!
//! Every command prints one JSON object on stdout with `--json` (a short text otherwise) and, on
//! failure, exits non-zero with a one-line message on stderr.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};
use signer_client::cli::{
    self, document_json, now_unix_seconds, parse_b64_arg, parse_hash, parse_hex, parse_nonce, parse_pcrs,
    parse_root, pcrs_json, verified_result_json, with_field,
};
use signer_client::{
    Client, Credentials, Curve, ReceiptKind, ResultExpectations, TrustedRoot, Wallet, verify_signing_result,
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
    /// Nonce (hex, up to 64 bytes) for the attestation document.
    #[arg(long, value_name = "HEX")]
    nonce: Option<String>,
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
}

#[derive(Subcommand)]
enum ReceiptCommand {
    /// Verify a receipt and its attestation document end to end.
    Verify {
        /// The receipt, base64url (or @FILE).
        #[arg(long, value_name = "B64")]
        receipt: String,
        /// The attestation document, base64url (or @FILE).
        #[arg(long, value_name = "B64")]
        attestation: String,
        #[command(flatten)]
        check: VerifyCheck,
        /// Expected nonce in the attestation document (hex).
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
        Command::Attestation(AttestationCommand::Verify { doc, check, user_data, nonce, public_key }) => {
            let root = parse_root(&check.root)?;
            let bytes = cli::read_small_file(doc)?;
            let document = attestation::document_from_file_bytes(&bytes).map_err(|e| e.to_string())?;
            let expect = Expectations {
                pcrs: parse_pcrs(&check.pcrs)?,
                user_data: user_data.as_deref().map(|h| parse_hex("--user-data", h)).transpose()?,
                nonce: nonce.as_deref().map(|h| parse_hex("--nonce", h)).transpose()?,
                public_key: public_key.as_deref().map(|h| parse_hex("--public-key", h)).transpose()?,
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
        Command::Receipt(ReceiptCommand::Verify {
            receipt,
            attestation,
            check,
            nonce,
            wallet,
            public_key,
        }) => {
            let root = parse_root(&check.root)?;
            let receipt = parse_b64_arg("--receipt", receipt)?;
            let attestation = parse_b64_arg("--attestation", attestation)?;
            let expect = ResultExpectations {
                pcrs: parse_pcrs(&check.pcrs)?,
                nonce: nonce.as_deref().map(parse_nonce).transpose()?,
                wallet_id: wallet.clone(),
                public_key: public_key.as_deref().map(|h| parse_hex("--public-key", h)).transpose()?,
            };
            let at = check.at.unwrap_or_else(now_unix_seconds);
            let verified = verify_signing_result(&receipt, &attestation, &root, at, &expect)
                .map_err(|e| e.to_string())?;
            let r = &verified.receipt;
            let text = format!(
                "valid {} receipt for wallet {} ({}, public key {}), request {}, attested by {}\n",
                r.kind.as_str(),
                r.wallet_id,
                r.curve.as_str(),
                to_hex0x(&r.public_key),
                r.request_id,
                verified.document.module_id
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
    let (kind, payload, result) = match (&args.hash, &args.message) {
        (Some(hash), None) => {
            let hash = parse_hash(hash)?;
            let result = client.sign_hash(&args.wallet, hash, nonce.as_deref());
            (ReceiptKind::Hash, hash.to_vec(), result)
        }
        (None, Some(message)) => {
            let message = parse_hex("--message", message)?;
            let result = client.sign_message(&args.wallet, &message, nonce.as_deref());
            (ReceiptKind::Message, message, result)
        }
        _ => return Err("give exactly one of --hash and --message".into()),
    };
    let result = result.map_err(|e| e.to_string())?;
    let verified = match check {
        Some((root, at, expect)) => {
            let fail =
                |e: signer_client::VerifyResultError| format!("signature {} does not verify: {e}", result.id);
            let verified = result.verify(&root, at, &expect).map_err(fail)?;
            verified.expect_payload(kind, &payload).map_err(fail)?;
            true
        }
        None => false,
    };
    let text = format!(
        "signature {}\nrequest {} wallet {} {}\n",
        result.signature.encoded,
        result.id,
        result.wallet_id,
        if verified { "verified" } else { "not verified (no --root)" }
    );
    Ok(Output { json: with_field(to_json(&result)?, "verified", Value::Bool(verified)), text })
}
