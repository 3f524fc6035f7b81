//! The `signer-parent` command line:
//!
//! ```text
//! signer-parent serve --listen 127.0.0.1:8080 --enclave unix:PATH|vsock:CID:PORT --data-dir DIR
//! signer-parent dev   --listen 127.0.0.1:PORT --data-dir DIR [--enclave-bin PATH]
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use signer_transport::EnclaveAddr;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{AppState, router};
use crate::auth::TokenKeys;
use crate::dev::{self, Supervisor};
use crate::enclave::{DEFAULT_POOL_SIZE, EnclaveClient};
use crate::metrics::Metrics;
use crate::store::{SqliteStore, Store};

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// The parent-instance proxy of the enclave signer.
#[derive(Debug, Parser)]
#[command(name = "signer-parent", version, about)]
pub struct Cli {
    /// Log as JSON lines instead of text (the filter comes from RUST_LOG, default `info`).
    #[arg(long, global = true, env = "SIGNER_LOG_JSON")]
    pub log_json: bool,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API in front of a running enclave.
    Serve(ServeArgs),
    /// Run the whole stack on one machine: a mock-NSM enclave child process and the HTTP API, with
    /// a bootstrapped dev organisation in DATA_DIR/dev-credentials.json. Not for production.
    Dev(DevArgs),
}

/// Options shared by both subcommands.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// The HTTP listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// The data directory (database, access-token secret).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Connections to the enclave.
    #[arg(long, default_value_t = DEFAULT_POOL_SIZE)]
    pub enclave_pool: usize,
    /// Deadline of one enclave call, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub enclave_timeout_ms: u64,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen address, data directory, pool.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The enclave socket: `unix:PATH` or `vsock:CID:PORT`.
    #[arg(long)]
    pub enclave: EnclaveAddr,
}

/// `dev`.
#[derive(Debug, Args)]
pub struct DevArgs {
    /// Listen address, data directory, pool.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The enclave binary (default: `signer-enclave` next to this executable).
    #[arg(long)]
    pub enclave_bin: Option<PathBuf>,
}

/// A failure that ends the program, as one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

fn fail(context: &str, e: impl std::fmt::Display) -> CliError {
    CliError(format!("{context}: {e}"))
}

/// Sets up logging to stderr.
pub fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Runs the parsed command to completion.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Dev(args) => dev(args).await,
    }
}

async fn open_store(data_dir: &Path) -> Result<(Arc<dyn Store>, Arc<TokenKeys>), CliError> {
    let dir = data_dir.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || {
        let store = SqliteStore::open_in(&dir).map_err(|e| fail("opening the store", e))?;
        let tokens = TokenKeys::load_or_create(&dir).map_err(|e| fail("access-token secret", e))?;
        Ok::<_, CliError>((store, tokens))
    })
    .await
    .map_err(|e| fail("startup", e))??;
    Ok((Arc::new(opened.0), Arc::new(opened.1)))
}

async fn bind(listen: &str) -> Result<TcpListener, CliError> {
    TcpListener::bind(listen).await.map_err(|e| fail(&format!("cannot listen on {listen}"), e))
}

fn state(
    common: &CommonArgs,
    enclave: EnclaveAddr,
    store: Arc<dyn Store>,
    tokens: Arc<TokenKeys>,
) -> AppState {
    let timeout = Duration::from_millis(common.enclave_timeout_ms.max(1));
    AppState {
        enclave: EnclaveClient::new(enclave, common.enclave_pool, timeout),
        store,
        tokens,
        metrics: Arc::new(Metrics::new()),
    }
}

async fn serve(args: ServeArgs) -> Result<(), CliError> {
    create_private_dir(&args.common.data_dir)?;
    let listener = bind(&args.common.listen).await?;
    let (store, tokens) = open_store(&args.common.data_dir).await?;
    tracing::info!(enclave = %args.enclave, "serving");
    let state = state(&args.common, args.enclave, store, tokens);
    serve_http(listener, state).await
}

async fn dev(args: DevArgs) -> Result<(), CliError> {
    tracing::warn!(
        "DEV MODE: mock NSM, a dev master key and a parent-generated user key written to disk. \
         Nothing here is secure; never use dev mode for real funds."
    );
    let dir = &args.common.data_dir;
    create_private_dir(dir)?;
    create_private_dir(&dir.join(dev::ENCLAVE_STATE_DIR))?;
    let bin = match &args.enclave_bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe()
            .map_err(|e| fail("locating this executable", e))?
            .with_file_name("signer-enclave"),
    };
    if !bin.is_file() {
        return Err(CliError(format!(
            "enclave binary not found at {} (build it with `cargo build -p signer-enclave` or pass --enclave-bin)",
            bin.display()
        )));
    }
    let listener = bind(&args.common.listen).await?;
    let local = listener.local_addr().map_err(|e| fail("listen address", e))?;
    let (store, tokens) = open_store(dir).await?;
    let credentials =
        dev::bootstrap(store.as_ref(), &tokens, dir, local).await.map_err(|e| fail("dev bootstrap", e))?;
    tracing::info!(
        org_id = %credentials.org_id,
        user_id = %credentials.user_id,
        file = %dir.join(dev::CREDENTIALS_FILE).display(),
        "dev credentials written"
    );
    let supervisor = Supervisor::start(bin, dir.clone());
    let enclave = EnclaveAddr::Unix(dir.join(dev::ENCLAVE_SOCKET));
    let state = state(&args.common, enclave, store, tokens);
    let served = serve_http(listener, state).await;
    supervisor.stop().await;
    served
}

fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::DirBuilderExt as _;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| fail(&format!("creating {}", dir.display()), e))
}

/// Serves the API on `listener` until SIGINT or SIGTERM, then stops accepting and drains
/// in-flight requests (up to [`DRAIN_TIMEOUT`]).
pub async fn serve_http(listener: TcpListener, state: AppState) -> Result<(), CliError> {
    let local = listener.local_addr().map_err(|e| fail("listen address", e))?;
    let (stop, mut stopped) = watch::channel(false);
    let app = router(state);
    let mut server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|s| *s).await;
            })
            .await
    });
    eprintln!("signer-parent listening on http://{local}");
    tracing::info!(addr = %local, "listening");
    tokio::select! {
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down: draining in-flight requests");
        }
        ended = &mut server => {
            return match ended {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(fail("HTTP server", e)),
                Err(e) => Err(fail("HTTP server task", e)),
            };
        }
    }
    let _ = stop.send(true);
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(e))) => Err(fail("HTTP server", e)),
        Ok(Err(e)) => Err(fail("HTTP server task", e)),
        Err(_) => {
            tracing::warn!("in-flight requests did not finish within {} s; exiting", DRAIN_TIMEOUT.as_secs());
            server.abort();
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM, naming the signal.
async fn shutdown_signal() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_parse() {
        let cli = Cli::try_parse_from([
            "signer-parent",
            "serve",
            "--listen",
            "127.0.0.1:8080",
            "--enclave",
            "vsock:16:5000",
            "--data-dir",
            "/d",
        ])
        .unwrap();
        match cli.command {
            Command::Serve(a) => {
                assert_eq!(a.enclave, EnclaveAddr::Vsock { cid: 16, port: 5000 });
                assert_eq!(a.common.listen, "127.0.0.1:8080");
                assert_eq!(a.common.enclave_pool, DEFAULT_POOL_SIZE);
            }
            Command::Dev(_) => panic!("dev"),
        }
        let cli = Cli::try_parse_from([
            "signer-parent",
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            "/d",
            "--enclave-bin",
            "/bin/e",
        ])
        .unwrap();
        match cli.command {
            Command::Dev(a) => assert_eq!(a.enclave_bin, Some(PathBuf::from("/bin/e"))),
            Command::Serve(_) => panic!("serve"),
        }
        assert!(
            Cli::try_parse_from(["signer-parent", "serve", "--data-dir", "/d", "--enclave", "tcp:1"])
                .is_err()
        );
        assert!(Cli::try_parse_from(["signer-parent", "dev", "--listen", "127.0.0.1:1"]).is_err());
    }
}
