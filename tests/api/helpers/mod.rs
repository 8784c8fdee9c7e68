//! The tests' kits, one per file: the application on a fresh database (`app`), tokens
//! (`tokens`), reading answers (`answers`), the binary as a child process (`child`), a
//! consumer of the events this service publishes (`events`), the pinned npm tools of
//! `.ci` (`node`), a
//! PostgreSQL server of the test's own (`temp_postgres`) or a database of its own
//! (`own_database`), the platform's gateway, which forwards `/users/*` only (`gateway`),
//! the machine's RabbitMQ (`rabbitmq`), Redis, shared or of the test's
//! own (`redis`), `/metrics` read by a Prometheus parser (`prometheus`), and the
//! auth-service's Alembic (`alembic`).

pub mod alembic;
mod answers;
mod app;
mod child;
pub mod events;
pub mod gateway;
mod node;
pub mod own_database;
pub mod prometheus;
pub mod rabbitmq;
pub mod redis;
mod temp_postgres;
mod tokens;

pub use answers::*;
pub use app::*;
pub use child::*;
pub use node::*;
pub use temp_postgres::*;
pub use tokens::*;

/// Runs `cleanup` to its end on a thread of its own, for a kit's `Drop`, which cannot await:
/// best effort, as a test that failed may have left the server in any state.
pub fn after_the_test<F: std::future::Future<Output = ()> + Send + 'static>(cleanup: F) {
    let _ = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for cleaning up")
            .block_on(cleanup);
    })
    .join();
}

/// The Python of `.venv` (which `.ci/run` makes), if it can import `modules` (comma-separated,
/// as `import` takes them). Without them a test is skipped, loudly; with `CI=true` it fails
/// instead. `install` is how to get them.
pub fn venv_python(modules: &str, install: &str) -> Option<std::path::PathBuf> {
    let python = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let usable = std::process::Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if usable {
        return Some(python);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true and {} cannot import {modules} (.ci/run installs them)",
            python.display()
        );
    }
    eprintln!("SKIPPED: {modules} not in .venv: python3 -m venv .venv && {install}");
    None
}
