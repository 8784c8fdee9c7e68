//! Logging: `tracing` events to stdout, filtered by `RUST_LOG` (default `info`), as text or
//! JSON lines. Request spans carry the method, route, status and request id, never headers
//! or bodies, so tokens and personal data stay out of the logs.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests build several applications in one process) keeps the first.
    let _ = match format {
        LogFormat::Text => registry
            .with(fmt::layer().with_ansi(std::io::stdout().is_terminal()))
            .try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
    };
}
