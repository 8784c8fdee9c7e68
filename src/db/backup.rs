//! `user-service backup --to FILE`: a consistent copy of the embedded SQLite database, taken
//! while the service serves. The source must be the service's own database and is never
//! created here (a mistyped `DATABASE_URL` must not pass for an empty database); the target
//! is a plain path in the file system, never a URI and never followed through a symbolic
//! link, and is created afresh, never overwritten.

use std::{fs::OpenOptions, io::ErrorKind, path::Path, str::FromStr, time::Duration};

use anyhow::{Context, bail};
use sqlx::{Connection, sqlite::SqliteConnectOptions};

use super::sqlite::is_in_memory;

/// Copies the database `url` names into a new file at `to`.
pub async fn backup(url: &str, to: &Path) -> anyhow::Result<()> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        bail!(
            "a PostgreSQL database is backed up with its own tools: \
             pg_dump --format=custom --file=FILE DATABASE_URL (and pg_restore to restore)"
        );
    }
    if !url.starts_with("sqlite:") {
        bail!("DATABASE_URL must start with sqlite:// or postgres://");
    }
    if is_in_memory(url) {
        bail!("DATABASE_URL names an in-memory database: there is no file to back up");
    }
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(false)
        .busy_timeout(Duration::from_secs(5));
    let source = options.get_filename().to_owned();
    if !source.is_file() {
        bail!(
            "there is no database at {}: DATABASE_URL must name the service's SQLite file \
             (a backup never creates one)",
            source.display()
        );
    }
    // Absolute, a name SQLite never reads as a URI (`file:…`), whatever it was given.
    let target = std::path::absolute(to).with_context(|| format!("{}", to.display()))?;
    let target_text = target
        .to_str()
        .with_context(|| format!("{} is not UTF-8", to.display()))?
        .to_owned();
    // Created here, exclusively: whatever is at the path, a file or a link (even one that
    // points nowhere), is refused rather than written through. SQLite copies into the empty
    // file.
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&target)
        .map_err(|err| match err.kind() {
            ErrorKind::AlreadyExists => anyhow::anyhow!(
                "{} exists: a backup never overwrites a file or writes through a link",
                to.display()
            ),
            _ => anyhow::Error::new(err).context(format!("creating {}", to.display())),
        })?;
    let copied = copy(options, &source, &target_text).await;
    if copied.is_err() {
        let _ = std::fs::remove_file(&target);
    }
    copied
}

/// `VACUUM INTO`: one read transaction, so the copy is the database as of one moment, while
/// the service goes on writing beside it (WAL).
async fn copy(options: SqliteConnectOptions, source: &Path, target: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .with_context(|| format!("opening {}", source.display()))?;
    let migrated: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = '_sqlx_migrations')",
    )
    .fetch_one(&mut conn)
    .await
    .with_context(|| format!("reading {}", source.display()))?;
    if !migrated {
        bail!(
            "{} is not a user-service database: the service has never migrated it",
            source.display()
        );
    }
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&mut conn)
        .await
        .with_context(|| format!("backing up into {target}"))?;
    conn.close().await?;
    Ok(())
}
