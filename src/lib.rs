//! user-service: profiles, activity, badges and the learning tracker of a learning
//! platform. The binary in `main.rs` is a thin shell over [`cli::run`]; tests build the same
//! [`startup::Application`].
//!
//! A request flows `startup` (middleware) → `routes` (parse, authorise with `auth`) →
//! `services` (one transaction, rules from `domain`) → `db` (SQL for PostgreSQL or SQLite),
//! and failures become `error::AppError` problems on the way back.

pub mod auth;
pub mod auth_events;
pub mod cli;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod extract;
pub mod fanout;
pub mod idempotency;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod private_file;
pub mod rate_limit;
pub mod reminders;
pub mod render;
pub mod routes;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
