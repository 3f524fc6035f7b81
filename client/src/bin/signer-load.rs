//! `signer-load`: an end-to-end load tool. Creates one wallet (or uses `--wallet`), then N
//! threads sign random 32-byte hashes (attested as `--attestation` asks, each request signed by
//! the credentials file's key as `--auth` says) until M requests are done or the duration
//! passes, and prints throughput and latency percentiles.
//!
//! Bounded: at most 1,000,000 requests, 256 threads and one hour; it talks only to the given
//! URL, and only to a loopback one unless `--allow-remote` is given.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use signer_client::cli::{ImageArgs, now_unix_seconds, parse_attestation_arg, parse_root};
use signer_client::load::{self, LoadConfig, MAX_CONCURRENCY, MAX_REQUESTS};
use signer_client::{
    AttestationMode, AuthFlow, Client, Credentials, Curve, TrustedRoot, verify_wallet_record_of,
};

/// Load generator for the signer's `POST /wallets/{id}/signatures`.
#[derive(Parser)]
#[command(
    name = "signer-load",
    version,
    about = "Load generator for the signer: signs random hashes with one wallet from N threads and \
             prints throughput and latency percentiles (optionally verifying every answer)",
    long_about = None
)]
struct Args {
    /// dev-credentials.json (url, access token, application, and the Key credential that signs).
    #[arg(long, value_name = "FILE")]
    credentials: PathBuf,
    /// The parent's base URL; defaults to the credentials file's url.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// Threads sending requests, each with its own connection pool.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=MAX_CONCURRENCY as u64))]
    concurrency: u64,
    /// Requests in total.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..=MAX_REQUESTS))]
    requests: u64,
    /// Curve of the wallet to create (ignored with --wallet).
    #[arg(long, value_name = "CURVE", default_value = "secp256k1")]
    curve: String,
    /// Use this existing wallet instead of creating one.
    #[arg(long, value_name = "ID")]
    wallet: Option<String>,
    /// Stop after this many seconds even if requests remain.
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration_secs: Option<u64>,
    /// How each signature is attested: fresh (an attestation document per request) or session
    /// (a receipt-key signature; the key is attested once).
    #[arg(long, value_name = "MODE", default_value = "fresh", value_parser = parse_attestation_arg)]
    attestation: AttestationMode,
    /// How each request carries the user's signature: one-shot (`X-Request-Signature`, one
    /// round trip) or user-action (`/auth/action/init`, `/auth/action`, then the call with
    /// `X-User-Action`: three round trips).
    #[arg(long, value_name = "FORM", default_value = "one-shot")]
    auth: AuthFlow,
    /// Verify every answer as a careful client would, against this root (aws, pem:FILE or
    /// der:FILE): attestation chain and binding (fresh) or the session document, once, and the
    /// receipt-key signature (session), the wallet signature, wallet, payload and a per-request
    /// nonce. Verification time counts in the latencies; a failed check counts as an error.
    #[arg(long, value_name = "ROOT", value_parser = parse_root)]
    root: Option<TrustedRoot>,
    /// With --root: the expected enclave image.
    #[command(flatten)]
    image: ImageArgs,
    /// Allow a URL whose host is not loopback.
    #[arg(long)]
    allow_remote: bool,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            eprintln!("signer-load: {}", signer_client::cli::clap_error_line(&e));
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(report) => {
            let mut stdout = std::io::stdout().lock();
            let written = if args.json {
                writeln!(stdout, "{}", report.to_json())
            } else {
                write!(stdout, "{}", report.to_text())
            };
            if written.is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("signer-load: {}", signer_client::cli::one_line(&message));
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<load::LoadReport, String> {
    let credentials = Credentials::from_file(&args.credentials).map_err(|e| e.to_string())?;
    let mut client =
        Client::from_credentials(&credentials).map_err(|e| e.to_string())?.with_auth_flow(args.auth);
    if let Some(url) = &args.url {
        client = client.with_url(url.clone());
    }
    if !args.allow_remote && !load::is_loopback_url(client.url()) {
        return Err(format!(
            "{} is not a loopback URL; pass --allow-remote to load a remote parent",
            client.url()
        ));
    }
    // With --root the image is required before anything is sent.
    let check = match &args.root {
        None => {
            if args.image.is_given() {
                return Err("--pcr, --pcrs and --allow-any-image need --root".into());
            }
            None
        }
        Some(root) => {
            let image = args.image.policy().map_err(|e| e.message)?;
            Some((root.clone(), image))
        }
    };
    // The wallet, and with --root its key verified from its creation record.
    let (wallet, key) = match &args.wallet {
        Some(id) => {
            let wallet = client.get_wallet(id).map_err(|e| format!("wallet {id}: {e}"))?;
            let key = match &check {
                None => None,
                Some((root, image)) => Some(
                    verify_wallet_record_of(&wallet, id, root, now_unix_seconds(), image)
                        .map_err(|e| format!("wallet {id}: its creation record does not verify: {e}"))?
                        .wallet_key(),
                ),
            };
            (wallet, key)
        }
        None => {
            let curve: Curve = args
                .curve
                .parse()
                .map_err(|_| format!("--curve must be secp256k1 or ed25519, not {:?}", args.curve))?;
            let created = client
                .create_wallet(curve, Some("signer-load"), None)
                .map_err(|e| format!("creating the wallet: {e}"))?;
            let key = match &check {
                None => None,
                Some((root, image)) => Some(
                    created
                        .verify(root, now_unix_seconds(), image)
                        .map_err(|e| format!("the new wallet {} does not verify: {e}", created.wallet.id))?
                        .wallet_key(),
                ),
            };
            (created.wallet, key)
        }
    };
    let curve = wallet
        .curve()
        .ok_or_else(|| format!("wallet {} has an unknown curve {:?}", wallet.id, wallet.curve))?;
    let verify = match (check, key) {
        (Some((root, image)), Some(key)) => Some(load::VerifyConfig { root, image, key }),
        _ => None,
    };
    let wallet_id = wallet.id;
    let config = LoadConfig {
        client,
        wallet_id,
        curve,
        concurrency: usize::try_from(args.concurrency).map_err(|_| "--concurrency is too large")?,
        requests: args.requests,
        duration: args.duration_secs.map(Duration::from_secs),
        attestation: args.attestation,
        verify,
    };
    load::run(&config)
}
