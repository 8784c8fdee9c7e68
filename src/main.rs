use std::process::ExitCode;

use clap::Parser;
use user_service::cli::{Cli, run};

/// A request allocates and frees many small buffers (headers, JSON, rows); with glibc's
/// allocator that was a fifth of the server's CPU on a profile read (`perf`, see
/// BENCHMARKS.md), with mimalloc a small part of it.
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
