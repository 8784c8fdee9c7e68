use std::process::ExitCode;

use clap::Parser;
use user_service::cli::{Cli, run};

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("user-service: {err:#}");
            ExitCode::FAILURE
        }
    }
}
