//! The binary as an operator runs it: a child process with only the environment given here.

use std::{
    path::Path,
    process::{Command, Output},
};

use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_user-service");

pub(crate) fn command(data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .env_clear()
        .env("DATA_DIR", data_dir)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json");
    command
}

pub(crate) fn run(command: &mut Command) -> Output {
    let output = command.output().expect("the binary runs");
    assert!(
        output.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[tokio::test]
async fn a_fresh_start_makes_a_development_key_that_the_token_command_signs_with() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let server = crate::helpers::ChildServer::start(command(&data).arg("serve"));

    let warning = server
        .log
        .iter()
        .find(|e| e["level"] == "WARN")
        .expect("a warning about the development key");
    assert!(
        warning["message"].as_str().unwrap().contains("DEVELOPMENT"),
        "{warning}"
    );
    assert!(data.join("dev-jwt-secret").is_file());
    assert!(
        data.join("user-service.db").is_file(),
        "the SQLite default lives in the data folder"
    );

    run(command(&data).args(["users", "create", "--id", "1", "--username", "ada"]));
    let token =
        String::from_utf8(run(command(&data).args(["token", "--user", "1"])).stdout).unwrap();
    let me: Value = crate::helpers::http_client()
        .get(format!("{}/users/me", server.address))
        .bearer_auth(token.trim())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["username"], "ada");
}

#[test]
fn the_token_command_refuses_to_sign_when_a_public_key_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let output = command(dir.path())
        .env("JWT_PUBLIC_KEY", crate::helpers::fixture("rsa_public.pem"))
        .args(["token", "--user", "1"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("HS256"));
}

#[test]
fn migrate_creates_the_schema_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("elsewhere/service.db");
    run(command(dir.path())
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        .arg("migrate"));
    assert!(db.is_file());
}

#[test]
fn help_documents_every_subcommand_and_setting() {
    let help = String::from_utf8(run(Command::new(BINARY).arg("--help")).stdout).unwrap();
    for word in [
        "serve",
        "migrate",
        "token",
        "users",
        "DATABASE_URL",
        "LISTEN_ADDR",
        "JWT_SECRET",
        "JWT_JWKS_URL",
    ] {
        assert!(
            help.contains(word),
            "--help does not mention {word}:\n{help}"
        );
    }
    let token_help =
        String::from_utf8(run(Command::new(BINARY).args(["token", "--help"])).stdout).unwrap();
    assert!(token_help.contains("--user") && token_help.contains("--ttl"));
}

#[test]
fn help_never_prints_the_secret_from_the_environment() {
    let help = Command::new(BINARY)
        .env("JWT_SECRET", "hunter2-very-secret")
        .env("DATABASE_URL", "postgres://u:pw-in-url@db/x")
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("pw-in-url"), "{text}");
}
