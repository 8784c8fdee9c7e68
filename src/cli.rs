//! The command line: `serve` (the default) and the operator subcommands.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Arg, Parser, Subcommand};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Map, Value, json};

use crate::{
    auth::keys::dev_secret,
    clock::{Clock, SystemClock},
    config::Config,
    credentials::Issuer,
    db::{self, NewBadge},
    domain::{
        UserId,
        badges::{BadgeCode, Tier},
    },
    routes::export::Archive,
    services,
    startup::{Application, Stop},
    telemetry,
};

/// Profiles, badges and the learning tracker of a learning platform, beside its auth-service.
#[derive(Debug, Parser)]
// Every setting may follow the subcommand too: `user-service badges add --database-url …`.
#[command(name = "user-service", version, mut_args = |arg: Arg| arg.global(true))]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Copy the SQLite database, consistently, while the service serves (never creating the
    /// database, never overwriting a file). On PostgreSQL: use pg_dump.
    Backup {
        /// The file to create: a plain path (never a URI), not a link.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Print a token signed with the HS256 secret (JWT_SECRET or the development secret).
    Token {
        /// The user the token names.
        #[arg(long)]
        user: UserId,
        /// Space-separated scopes, e.g. "badges:award".
        #[arg(long)]
        scope: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Users, for standalone use (in a shared database the auth-service owns them).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The badge catalog.
    Badges {
        #[command(subcommand)]
        command: BadgesCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum BadgesCommand {
    /// Add a badge to the catalog, to be awarded by trusted services (or by a rule added in
    /// code).
    Add {
        /// Lowercase letters, digits and dashes, e.g. "mentor".
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        description: String,
        #[arg(long)]
        icon_url: Option<String>,
        #[arg(long, value_enum, default_value_t = Tier::Bronze)]
        tier: Tier,
        /// How it is earned, in one sentence.
        #[arg(long)]
        criteria: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Insert a user row, as the auth-service would.
    Create {
        #[arg(long)]
        id: UserId,
        #[arg(long)]
        username: String,
    },
    /// Erase everything this service holds about a user (its goals, check-ins, badges,
    /// activity and profile; the row too when this service owns the users table).
    Erase {
        #[arg(long)]
        id: UserId,
    },
    /// Write everything this service holds about a user into a ZIP archive, the one
    /// `GET /users/{user_id}/export` streams (without its hourly limit).
    Export {
        #[arg(long)]
        id: UserId,
        /// The archive's path; an existing file is refused.
        #[arg(long)]
        to: std::path::PathBuf,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.config;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            telemetry::init(config.log_format);
            let app = Application::build(&config, std::sync::Arc::new(SystemClock)).await?;
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            telemetry::init(config.log_format);
            db::connect(&config).await?.migrate().await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Backup { to } => {
            db::backup(&config.database_url(), &to).await?;
            println!("backed up into {}", to.display());
            Ok(())
        }
        Command::Token { user, scope, ttl } => {
            println!("{}", token(&config, user, scope.as_deref(), ttl)?);
            Ok(())
        }
        Command::Badges {
            command:
                BadgesCommand::Add {
                    code,
                    name,
                    description,
                    icon_url,
                    tier,
                    criteria,
                },
        } => {
            if let Err(message) = BadgeCode::parse(&code) {
                bail!("--code {message}");
            }
            let store = db::connect(&config).await?;
            store.migrate().await?;
            let badge = NewBadge {
                code: code.clone(),
                name,
                description,
                icon_url,
                tier,
                criteria,
            };
            services::badges::add_to_catalog(&*store, &badge)
                .await
                .map_err(|e| anyhow::anyhow!("adding badge {code}: {e}"))?;
            store.close().await;
            println!("added badge {code}");
            Ok(())
        }
        Command::Users {
            command: UsersCommand::Create { id, username },
        } => {
            let store = db::connect(&config).await?;
            store.migrate().await?;
            services::users::create(&*store, &SystemClock, id, &username)
                .await
                .map_err(|e| anyhow::anyhow!("creating user {id}: {}", e.log_text()))?;
            store.close().await;
            println!("created user {id} ({username})");
            Ok(())
        }
        Command::Users {
            command: UsersCommand::Erase { id },
        } => {
            let store = db::connect(&config).await?;
            store.migrate().await?;
            let erased = services::users::erase(&*store, &SystemClock, id)
                .await
                .map_err(|e| anyhow::anyhow!("erasing user {id}: {}", e.log_text()))?;
            store.close().await;
            if erased {
                println!("erased everything held about user {id}");
            } else {
                println!("nothing was held about user {id}");
            }
            Ok(())
        }
        Command::Users {
            command: UsersCommand::Export { id, to },
        } => export(&config, id, &to).await,
    }
}

/// `users export`: the archive of user `id`, written into a new file `to` (removed again
/// when writing fails).
async fn export(config: &Config, id: UserId, to: &std::path::Path) -> anyhow::Result<()> {
    let issuer = Issuer::from_config(&config.credentials, &config.data_dir)?;
    let store = db::connect(config).await?;
    store.migrate().await?;
    let archive = Archive::open(&*store, id, SystemClock.now())
        .await
        .map_err(|e| anyhow::anyhow!("exporting user {id}: {}", e.log_text()))?
        .with_context(|| format!("there is no active user {id}"))?;
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .await
        .with_context(|| format!("creating {}", to.display()))?;
    let written = archive
        .write(&issuer, tokio::io::BufWriter::new(file))
        .await;
    store.close().await;
    if let Err(err) = written {
        let _ = tokio::fs::remove_file(to).await;
        return Err(err.context(format!("writing the archive of user {id}")));
    }
    println!("exported user {id} into {}", to.display());
    Ok(())
}

/// A token the service will accept: signed with the configured HS256 secret (or the
/// development one), carrying the configured issuer and audience.
fn token(config: &Config, user: UserId, scope: Option<&str>, ttl: u64) -> anyhow::Result<String> {
    let jwt = &config.jwt;
    if jwt.jwt_public_key.is_some() || jwt.jwt_jwks_url.is_some() {
        bail!("`token` signs with an HS256 secret only; the auth-service holds the private key");
    }
    let secret = match &jwt.jwt_secret {
        Some(secret) => secret.clone(),
        None => dev_secret(&config.data_dir)?,
    };
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut claims = Map::new();
    claims.insert(jwt.jwt_user_claim.clone(), json!(user.to_string()));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + ttl));
    // As the auth-service's tokens: a `jti` a logout can put on the deny-list.
    claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
    let optional = [
        ("scope", scope),
        ("iss", jwt.jwt_issuer.as_deref()),
        ("aud", jwt.jwt_audience.as_deref()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            claims.insert(name.into(), Value::from(value));
        }
    }
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .context("signing the token")
}

/// SIGTERM (from an orchestrator: drain after the grace period) or Ctrl-C (now).
///
/// The SIGTERM handler is installed when this is called, before the server logs "serving",
/// not when the returned future is first polled (inside the server's own task): until it is
/// installed, a SIGTERM kills the process by the default action, with no drain and a failed
/// exit, so an orchestrator stopping a service that has only just started would see that.
fn shutdown_signal() -> impl std::future::Future<Output = Stop> {
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        let stop = tokio::select! {
            () = ctrl_c => Stop::Now,
            () = terminate => Stop::AfterGrace,
        };
        tracing::info!(?stop, "shutdown signal received");
        stop
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn every_setting_is_a_global_flag_read_from_the_variable_of_its_name() {
        let command = Cli::command();
        let settings: Vec<&Arg> = command.get_arguments().collect();
        assert!(settings.len() >= 40, "{}", settings.len());
        for arg in settings {
            let flag = arg.get_long().expect("every setting is a flag");
            let variable = flag.to_uppercase().replace('-', "_");
            assert_eq!(
                arg.get_env().and_then(|v| v.to_str()),
                Some(variable.as_str()),
                "--{flag}"
            );
            assert!(
                arg.is_global_set(),
                "--{flag} is accepted after a subcommand"
            );
        }
        let parsed =
            Cli::try_parse_from(["user-service", "migrate", "--db-max-connections", "3"]).unwrap();
        assert_eq!(parsed.config.db_max_connections, 3);
    }
}
