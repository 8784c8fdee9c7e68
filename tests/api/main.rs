//! The HTTP API tested end to end: each test starts the real application on a random port
//! over a fresh database, once on SQLite and once on PostgreSQL (see `helpers`).

mod access;
mod account_life;
mod asyncapi;
mod auth;
mod auth_events;
mod auth_service;
mod backup;
mod browser;
mod card;
mod cli;
mod credentials;
mod deactivated;
mod erasure;
mod events;
mod faults;
mod gamification;
mod goals;
mod hardening;
mod heatmap;
mod helpers;
mod icons;
mod logouts;
mod logs;
mod metrics;
mod operations;
mod private_sections;
mod profiles;
mod shared_database;
mod shared_rate_limits;
mod shutdown;
mod storable_values;
mod strictness;
mod tracker;
mod users_table_owner;
mod weekly;
