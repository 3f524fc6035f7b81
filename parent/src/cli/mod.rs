//! The `signer-parent` command line:
//!
//! ```text
//! signer-parent serve --listen 127.0.0.1:8080 --enclave unix:PATH|vsock:CID:PORT --data-dir DIR
//! signer-parent dev   --listen 127.0.0.1:PORT --data-dir DIR [--enclave-bin PATH]
//! signer-parent org create --data-dir DIR --enclave ADDR --name NAME --admin-username U
//!                          --origin O --rp-id R [--code-ttl-secs 86400] --json
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use signer_common::api::auth::RegistrationCodeAnswer;
use signer_common::identity::UserVerification;
use signer_transport::EnclaveAddr;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::health::metrics_router;
use crate::api::userauth::rfc3339_ms;
use crate::api::{AppState, router_with};
use crate::auth::{TokenKeys, keyset};
use crate::dev::{self, Supervisor};
use crate::enclave::{DEFAULT_POOL_SIZE, EnclaveClient};
use crate::limits::defaults;
use crate::metrics::Metrics;
use crate::org::{NewOrg, create_org};
use crate::ratelimit::Rate;
use crate::server::{self, ConnectionLimits};
use crate::store::{SqliteStore, Store};

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Hourly log files kept by default with --log-dir (two days).
pub const DEFAULT_LOG_FILES: usize = 48;

/// The prefix of the log files in --log-dir.
pub const LOG_FILE_PREFIX: &str = "signer-parent.log";

/// The parent-instance proxy of the enclave signer.
#[derive(Debug, Parser)]
#[command(name = "signer-parent", version, about)]
pub struct Cli {
    /// Log as JSON lines instead of text (the filter comes from RUST_LOG, default `info`).
    #[arg(long, global = true, env = "SIGNER_LOG_JSON")]
    pub log_json: bool,
    /// Write the log (the access log included) to files in this directory, `signer-parent.log.<hour>`,
    /// rotated every hour, instead of stderr.
    #[arg(long, global = true, env = "SIGNER_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// With --log-dir: how many hourly files to keep (older ones are deleted).
    #[arg(long, global = true, default_value_t = DEFAULT_LOG_FILES)]
    pub log_max_files: usize,
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
    /// Operator commands on organisations.
    Org(OrgArgs),
    /// Operator commands on the access-token signing keys (DATA_DIR/jwt-keys): list, rotate,
    /// remove a previous key. Takes effect when the parent next starts.
    JwtKeys(crate::auth::keyset::JwtKeysArgs),
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
    /// Close a connection whose request headers are not complete within this many milliseconds.
    #[arg(long, default_value_t = defaults::HEADER_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_ms: u64,
    /// Answer 408 to a request (body included) not complete within this many milliseconds.
    #[arg(long, default_value_t = defaults::REQUEST_TIMEOUT_MS, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_ms: u64,
    /// Open HTTP connections at most; more clients wait in the listen backlog.
    #[arg(long, default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Requests per second per client address on /enclave/attestation and
    /// /enclave/attestation/session (429 past it).
    #[arg(long, default_value_t = defaults::ATTESTATION_RATE)]
    pub attestation_rate: f64,
    /// Requests at once per client address on those routes.
    #[arg(long, default_value_t = defaults::ATTESTATION_BURST)]
    pub attestation_burst: f64,
    /// Where to serve GET /metrics (`off`: nowhere). Default: 127.0.0.1:9464 for `serve`, a free
    /// loopback port for `dev` (printed at start). The API listener does not serve /metrics.
    #[arg(long)]
    pub metrics_listen: Option<String>,
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

/// How long `dev` waits for its enclave to answer ready.
pub const DEV_ENCLAVE_START: Duration = Duration::from_secs(30);

/// `org`.
#[derive(Debug, Args)]
pub struct OrgArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: OrgCommand,
}

/// The `org` subcommands.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organisation through a running enclave, and print the first admin's one-time
    /// registration code (the answer of `POST /auth/registration/codes`).
    Create(OrgCreateArgs),
}

/// `org create`.
#[derive(Debug, Args)]
pub struct OrgCreateArgs {
    /// The data directory (database).
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The enclave socket: `unix:PATH` or `vsock:CID:PORT`.
    #[arg(long)]
    pub enclave: EnclaveAddr,
    /// The organisation's display name (also the relying party's).
    #[arg(long)]
    pub name: String,
    /// The first admin's login name.
    #[arg(long)]
    pub admin_username: String,
    /// The default application's expected origin, e.g. `https://app.example.com`.
    #[arg(long)]
    pub origin: String,
    /// The default application's WebAuthn relying-party id, e.g. `app.example.com`.
    #[arg(long)]
    pub rp_id: String,
    /// How long the registration code lives, in seconds.
    #[arg(long, default_value_t = 86_400)]
    pub code_ttl_secs: u64,
    /// Print the answer as JSON (the only format).
    #[arg(long)]
    pub json: bool,
}

/// A failure that ends the program, as one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CliError(pub String);

fn fail(context: &str, e: impl std::fmt::Display) -> CliError {
    CliError(format!("{context}: {e}"))
}

/// Sets up logging: to stderr, or with `log_dir` to files rotated every hour of which at most
/// `max_files` are kept, through a non-blocking writer. Keep the returned guard for the life of
/// the process: dropping it flushes the lines still queued.
pub fn init_tracing(
    json: bool,
    log_dir: Option<&Path>,
    max_files: usize,
) -> Result<Option<tracing_appender::non_blocking::WorkerGuard>, CliError> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let Some(dir) = log_dir else {
        // Colour codes only for a person at a terminal, not in log files.
        let builder = builder
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
        if json {
            builder.json().init();
        } else {
            builder.init();
        }
        return Ok(None);
    };
    let appender = rolling_log(dir, max_files)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let builder = builder.with_writer(writer).with_ansi(false);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
    Ok(Some(guard))
}

/// The hourly rolling log file appender of `--log-dir`, keeping at most `max_files` files.
pub fn rolling_log(
    dir: &Path,
    max_files: usize,
) -> Result<tracing_appender::rolling::RollingFileAppender, CliError> {
    create_private_dir(dir)?;
    tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::HOURLY)
        .filename_prefix(LOG_FILE_PREFIX)
        .max_log_files(max_files.max(1))
        .build(dir)
        .map_err(|e| fail(&format!("log directory {}", dir.display()), e))
}

/// Runs the parsed command to completion.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Dev(args) => dev(args).await,
        Command::Org(OrgArgs { command: OrgCommand::Create(args) }) => org_create(args).await,
        Command::JwtKeys(args) => {
            let answer = crate::auth::keyset::run(&args).map_err(|e| fail("jwt-keys", e))?;
            println!("{answer}");
            Ok(())
        }
    }
}

async fn org_create(args: OrgCreateArgs) -> Result<(), CliError> {
    create_private_dir(&args.data_dir)?;
    let (store, tokens) = open_store(&args.data_dir).await?;
    let state = AppState {
        enclave: EnclaveClient::new(args.enclave, 1, Duration::from_secs(10)),
        store,
        tokens,
        metrics: Arc::new(Metrics::new()),
    };
    let new = NewOrg {
        name: args.name,
        admin_username: args.admin_username.clone(),
        origin: args.origin,
        rp_id: args.rp_id,
        user_verification: UserVerification::Preferred,
        code_ttl_secs: args.code_ttl_secs,
    };
    let created = create_org(&state, new).await.map_err(|e| fail("creating the organisation", e))?;
    let answer = RegistrationCodeAnswer {
        registration_code: created.created.registration_code,
        org_id: created.org.id,
        username: Some(args.admin_username),
        role: "Admin".into(),
        expires_at: rfc3339_ms(created.created.expires_at_ms),
    };
    let json = serde_json::to_string(&answer).map_err(|e| fail("answer JSON", e))?;
    println!("{json}");
    Ok(())
}

async fn open_store(data_dir: &Path) -> Result<(Arc<dyn Store>, Arc<TokenKeys>), CliError> {
    let dir = data_dir.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || {
        let store = SqliteStore::open_in(&dir).map_err(|e| fail("opening the store", e))?;
        let keys = keyset::load_or_create(&dir).map_err(|e| fail("access-token keys", e))?;
        let tokens = TokenKeys::new(&keys).map_err(|e| fail("access-token keys", e))?;
        Ok::<_, CliError>((store, tokens))
    })
    .await
    .map_err(|e| fail("startup", e))??;
    Ok((Arc::new(opened.0), Arc::new(opened.1)))
}

async fn bind(listen: &str) -> Result<TcpListener, CliError> {
    TcpListener::bind(listen).await.map_err(|e| fail(&format!("cannot listen on {listen}"), e))
}

/// The metrics listener: `--metrics-listen`, else `default`; none for `off`.
async fn bind_metrics(common: &CommonArgs, default: Option<&str>) -> Result<Option<TcpListener>, CliError> {
    match common.metrics_listen.as_deref().or(default) {
        None | Some("off") => Ok(None),
        Some(addr) => TcpListener::bind(addr).await.map(Some).map_err(|e| {
            fail(&format!("cannot listen on {addr} for /metrics (--metrics-listen ADDR|off)"), e)
        }),
    }
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
    let metrics = bind_metrics(&args.common, Some(defaults::METRICS_LISTEN)).await?;
    let state = state(&args.common, args.enclave, store, tokens);
    serve_http(listener, metrics, state, &args.common).await
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
    dev::write_pcrs(dir, &bin).map_err(|e| fail("expected PCRs", e))?;
    let listener = bind(&args.common.listen).await?;
    let local = listener.local_addr().map_err(|e| fail("listen address", e))?;
    // A free port by default: several dev stacks (tests) run side by side.
    let metrics = bind_metrics(&args.common, Some("127.0.0.1:0")).await?;
    let (store, tokens) = open_store(dir).await?;
    let supervisor = Supervisor::start(bin, dir.clone());
    let enclave = EnclaveAddr::Unix(dir.join(dev::ENCLAVE_SOCKET));
    let state = state(&args.common, enclave, store, tokens);
    // The bootstrap goes through the enclave, as an operator and a client would.
    let bootstrapped = async {
        dev::wait_ready(&state, DEV_ENCLAVE_START).await?;
        dev::bootstrap(&state, dir, local).await
    }
    .await;
    let credentials = match bootstrapped {
        Ok(credentials) => credentials,
        Err(e) => {
            supervisor.stop().await;
            return Err(fail("dev bootstrap", e));
        }
    };
    tracing::info!(
        org_id = %credentials.org_id,
        user_id = %credentials.user_id,
        file = %dir.join(dev::CREDENTIALS_FILE).display(),
        "dev credentials written"
    );
    let served = serve_http(listener, metrics, state, &args.common).await;
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

/// Serves the API on `listener` (and `/metrics` on `metrics`) until SIGINT or SIGTERM, then stops
/// accepting and drains in-flight requests (up to [`DRAIN_TIMEOUT`]).
pub async fn serve_http(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    state: AppState,
    common: &CommonArgs,
) -> Result<(), CliError> {
    let local = listener.local_addr().map_err(|e| fail("listen address", e))?;
    let (stop, stopped) = watch::channel(false);
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_millis(common.header_timeout_ms),
        max_connections: common.max_connections,
    };
    let rate = Rate { per_second: common.attestation_rate, burst: common.attestation_burst };
    if let Some(metrics) = metrics {
        let addr = metrics.local_addr().map_err(|e| fail("metrics listen address", e))?;
        // Few connections: it is for one scraper.
        let metrics_limits = ConnectionLimits { max_connections: 16, ..limits };
        tokio::spawn(server::serve(
            metrics,
            metrics_router(state.metrics.clone()),
            metrics_limits,
            stopped.clone(),
        ));
        eprintln!("signer-parent metrics on http://{addr}/metrics");
        tracing::info!(addr = %addr, "serving /metrics");
    }
    let app = router_with(state, Duration::from_millis(common.request_timeout_ms), rate);
    // Before the server answers anything: a client that saw an answer may send SIGTERM.
    let signal = shutdown_signal();
    let mut server = tokio::spawn(server::serve(listener, app, limits, stopped));
    eprintln!("signer-parent listening on http://{local}");
    tracing::info!(addr = %local, "listening");
    tokio::select! {
        signal = signal => {
            tracing::info!(signal, "shutting down: draining in-flight requests");
        }
        ended = &mut server => {
            return match ended {
                Ok(()) => Ok(()),
                Err(e) => Err(fail("HTTP server task", e)),
            };
        }
    }
    let _ = stop.send(true);
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut server).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(fail("HTTP server task", e)),
        Err(_) => {
            tracing::warn!("in-flight requests did not finish within {} s; exiting", DRAIN_TIMEOUT.as_secs());
            server.abort();
            Ok(())
        }
    }
}

/// Resolves on SIGINT or SIGTERM, naming the signal.
/// Registers for SIGTERM now (a signal that arrives once this returns is caught, not fatal)
/// and answers a future that resolves on SIGTERM or SIGINT.
fn shutdown_signal() -> impl std::future::Future<Output = &'static str> {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let mut term = match term {
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
}

#[cfg(test)]
mod tests;
