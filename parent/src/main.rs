//! `signer-parent`: see [`signer_parent::cli`].

use clap::Parser as _;
use signer_parent::cli::{Cli, init_tracing, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // Held to the end: dropping it flushes the log files.
    let _log_guard = match init_tracing(cli.log_json, cli.log_dir.as_deref(), cli.log_max_files) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("signer-parent: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signer-parent: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
