//! The auth-service's migration tool, as its team runs it: Alembic's autogenerate over
//! SQLAlchemy models of the FastAPI auth-service's tables, from the `.venv` that `.ci/run`
//! makes (alembic, SQLAlchemy, psycopg2). Without them the tests that use it are skipped,
//! loudly; with `CI=true` they fail instead.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
};

use serde_json::Value;

/// The auth-service's models (as its FastAPI source declares them) and two commands:
/// `create` makes its tables as its first migration would (with Alembic's version table),
/// `compare` prints what autogenerate would put in the next migration, as JSON, with the
/// hooks that the code given on standard input defines (`include_name`, `include_object`;
/// none when it is empty) and `include_schemas` when asked.
const SCRIPT: &str = r#"
import json, sys
from sqlalchemy import (Boolean, Column, DateTime, Integer, MetaData, String, Table,
                        create_engine, text)
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

metadata = MetaData()
Table("users", metadata,
      Column("id", Integer, primary_key=True, index=True),
      Column("username", String(50), unique=True, index=True, nullable=False),
      Column("email", String(100), unique=True, index=True, nullable=False),
      Column("hashed_password", String(255), nullable=False),
      Column("is_active", Boolean, default=True))
Table("token_blacklist", metadata,
      Column("jti", String(255), primary_key=True),
      Column("expires_at", DateTime, nullable=False))

command, url = sys.argv[1], sys.argv[2]
engine = create_engine(url)
with engine.begin() as connection:
    if command == "create":
        metadata.create_all(connection)
        connection.execute(text(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL "
            "CONSTRAINT alembic_version_pkc PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('0001_initial')"))
    else:
        hooks = {}
        exec(sys.stdin.read(), hooks)
        options = {"compare_type": True, "include_schemas": "--include-schemas" in sys.argv}
        for hook in ("include_name", "include_object"):
            if hook in hooks:
                options[hook] = hooks[hook]
        context = MigrationContext.configure(connection, opts=options)
        diffs = compare_metadata(context, metadata)
        json.dump([repr(d) for d in diffs], sys.stdout)
"#;

/// The virtual environment's Python, if it has Alembic, SQLAlchemy and psycopg2.
pub fn python() -> Option<PathBuf> {
    super::venv_python(
        "alembic, sqlalchemy, psycopg2",
        ".venv/bin/pip install alembic sqlalchemy psycopg2-binary",
    )
}

/// SQLAlchemy's URL of a `postgres://` database.
fn sqlalchemy_url(database_url: &str) -> String {
    let rest = database_url
        .strip_prefix("postgres://")
        .or_else(|| database_url.strip_prefix("postgresql://"))
        .expect("a PostgreSQL URL");
    format!("postgresql+psycopg2://{rest}")
}

/// Creates the auth-service's tables in the database, as its first migration does.
pub fn create_tables(python: &PathBuf, database_url: &str) {
    run(python, &["create", &sqlalchemy_url(database_url)], "");
}

/// What autogenerate would put in the auth-service's next migration, one line per change,
/// with the hooks `hooks` (Python source) defines.
pub fn autogenerate(
    python: &PathBuf,
    database_url: &str,
    hooks: &str,
    include_schemas: bool,
) -> Vec<String> {
    let url = sqlalchemy_url(database_url);
    let mut args = vec!["compare", url.as_str()];
    if include_schemas {
        args.push("--include-schemas");
    }
    let out = run(python, &args, hooks);
    let diffs: Value = serde_json::from_str(&out).expect("the script prints JSON");
    diffs
        .as_array()
        .expect("a list")
        .iter()
        .map(|d| d.as_str().expect("text").to_owned())
        .collect()
}

fn run(python: &PathBuf, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("the hooks are written");
    let output = child.wait_with_output().expect("python ends");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8")
}
