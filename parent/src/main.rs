//! `signer-parent`: see [`signer_parent::cli`].

use clap::Parser as _;
use signer_parent::cli::{Cli, init_tracing, run};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_json);
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("signer-parent: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
