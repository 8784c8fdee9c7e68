//! The tests' kits, one per file: the application on a fresh database (`app`), tokens
//! (`tokens`), reading answers (`answers`), the binary as a child process (`child`), a
//! consumer of the events this service publishes (`events`), a
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
pub mod own_database;
pub mod prometheus;
pub mod rabbitmq;
pub mod redis;
mod temp_postgres;
mod tokens;

pub use answers::*;
pub use app::*;
pub use child::*;
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
