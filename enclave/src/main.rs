//! `signer-enclave`: the enclave binary. Inside a Nitro Enclave it listens on vsock with the real
//! NSM; on a laptop or in CI it listens on a Unix socket with the mock NSM.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use signer_enclave::auth::DEFAULT_REQUEST_WINDOW_MS;
use signer_enclave::auth::tokens::SHORT_TTL_MS;
use signer_enclave::clock::system_clock;
use signer_enclave::core::EnclaveCore;
use signer_enclave::keys::MasterKey;
use signer_enclave::nsm::Nsm;
use signer_enclave::server::{DEFAULT_FRAME_TIMEOUT, DEFAULT_IDLE_TIMEOUT, Limits};
use signer_transport::{EnclaveAddr, Listener};
use tracing::{error, info, warn};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NsmKind {
    /// The local mock NSM (a test PKI under --state-dir); needs the `mock-nsm` feature (default,
    /// not in the enclave image).
    Mock,
    /// The real Nitro Secure Module (/dev/nsm); needs the `nitro` feature.
    Nitro,
}

/// The enclave: unseals wallet keys, signs, and attests.
#[derive(Debug, Parser)]
#[command(name = "signer-enclave", version)]
struct Args {
    /// Where to listen: vsock:CID:PORT (vsock:any:5000 inside an enclave) or unix:PATH.
    #[arg(long)]
    listen: EnclaveAddr,
    /// Which NSM to use.
    #[arg(long, value_enum)]
    nsm: NsmKind,
    /// Directory for the mock NSM's PKI and the dev master key.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// DEV ONLY: take the master key from STATE_DIR/dev-master.key, created on first start.
    #[arg(long)]
    dev_master_key: bool,
    /// Exit when standard input closes (the parent that started this process has died).
    #[arg(long)]
    exit_with_stdin: bool,
    /// Seconds within which a whole request frame must arrive once its first byte has, and a
    /// write of answers must complete; a peer that stalls longer is dropped.
    #[arg(long, default_value_t = DEFAULT_FRAME_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    frame_timeout_secs: u64,
    /// Seconds after which a connection with no request in flight and nothing received is closed.
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=86400))]
    idle_timeout_secs: u64,
    /// Seconds a one-shot signed request's X-Request-Time may differ from the enclave's clock,
    /// either way; its request id is remembered for that long.
    #[arg(long, default_value_t = DEFAULT_REQUEST_WINDOW_MS / 1000, value_parser = clap::value_parser!(u64).range(1..=3600))]
    request_window_secs: u64,
    /// Seconds a challenge, a user-action token or a temporary registration token lives; at
    /// most (and by default) 300.
    #[arg(long, default_value_t = SHORT_TTL_MS / 1000, value_parser = clap::value_parser!(u64).range(1..=SHORT_TTL_MS / 1000))]
    user_action_ttl_secs: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            error!("{message}");
            eprintln!("signer-enclave: {message}");
            ExitCode::FAILURE
        }
    }
}

fn open_nsm(args: &Args) -> Result<Arc<dyn Nsm>, String> {
    match args.nsm {
        #[cfg(feature = "mock-nsm")]
        NsmKind::Mock => {
            let dir = args.state_dir.as_ref().ok_or("--nsm mock needs --state-dir")?;
            let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
            let image = std::fs::read(&exe).map_err(|e| format!("cannot read own executable: {e}"))?;
            let nsm = signer_enclave::nsm::mock::MockNsm::open(&dir.join("mock-nsm"), &image)
                .map_err(|e| format!("mock NSM: {e}"))?;
            warn!("MOCK NSM: attestation documents chain to a local test root, not to AWS");
            Ok(Arc::new(nsm))
        }
        #[cfg(not(feature = "mock-nsm"))]
        NsmKind::Mock => Err(
            "this build has no mock NSM (built without the `mock-nsm` feature, as the enclave image is); use --nsm nitro".into(),
        ),
        #[cfg(feature = "nitro")]
        NsmKind::Nitro => {
            Ok(Arc::new(signer_enclave::nsm::nitro::NitroNsm::open().map_err(|e| format!("NSM: {e}"))?))
        }
        #[cfg(not(feature = "nitro"))]
        NsmKind::Nitro => Err("this build has no real NSM driver; rebuild with --features nitro".into()),
    }
}

fn run(args: Args) -> Result<(), String> {
    let nsm = open_nsm(&args)?;
    let master = if args.dev_master_key {
        let dir = args.state_dir.as_ref().ok_or("--dev-master-key needs --state-dir")?;
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        warn!(
            "DEV MODE: the master key is a plain file on disk; anyone who can read it can unseal every wallet"
        );
        Some(
            MasterKey::load_or_create_dev(&dir.join("dev-master.key"))
                .map_err(|e| format!("dev master key: {e}"))?,
        )
    } else {
        warn!("no master key: the enclave answers NotReady until one is provisioned");
        None
    };
    let core = Arc::new(
        EnclaveCore::new(nsm.clone(), master, system_clock())
            .with_request_window_ms(args.request_window_secs * 1000)
            .with_short_ttl_ms(args.user_action_ttl_secs * 1000),
    );
    match core.start_session() {
        Ok(id) => info!(session_id = %hex::encode(id), "session receipt key attested"),
        Err(e) => warn!(error = %e, "no session receipt key yet; the first session-mode request retries"),
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    runtime.block_on(async move {
        let listener =
            Listener::bind(&args.listen).map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        info!(
            listen = %args.listen,
            nsm = nsm.kind(),
            frame_timeout_s = args.frame_timeout_secs,
            idle_timeout_s = args.idle_timeout_secs,
            request_window_s = args.request_window_secs,
            user_action_ttl_s = args.user_action_ttl_secs,
            "signer-enclave listening"
        );
        let exit_with_stdin = args.exit_with_stdin;
        let shutdown = async move {
            let stdin_closed = async {
                if exit_with_stdin {
                    wait_for_stdin_eof().await;
                } else {
                    std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                () = stdin_closed => info!("standard input closed"),
                _ = tokio::signal::ctrl_c() => info!("interrupted"),
                () = terminated() => info!("terminated"),
            }
        };
        let limits = Limits {
            frame_timeout: Duration::from_secs(args.frame_timeout_secs),
            idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        };
        signer_enclave::server::serve(listener, core, limits, shutdown).await;
        if let EnclaveAddr::Unix(path) = &args.listen {
            let _ = std::fs::remove_file(path);
        }
        Ok(())
    })
}

async fn wait_for_stdin_eof() {
    use tokio::io::AsyncReadExt;
    let mut stdin = tokio::io::stdin();
    let mut buf = [0u8; 64];
    while let Ok(n) = stdin.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

async fn terminated() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut s) => {
            s.recv().await;
        }
        Err(_) => std::future::pending().await,
    }
}
