use std::process::ExitCode;

use clap::Parser;
use user_service::cli::{Cli, run};

/// Request handling allocates many small short-lived buffers (JSON, headers, spans):
/// mimalloc serves them with less time and less fragmentation than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
