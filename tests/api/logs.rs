//! The log, as an operator collects it from the binary: tokens, the key that verifies them and
//! the personal data that requests carry never reach it, even at debug level, while every
//! request does.

use std::{
    io::{BufRead, BufReader, Read},
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread::JoinHandle,
    time::Duration,
};

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    cli::{command, run},
    helpers::{http_client, sign_with},
};

/// Recognisable wherever it would be printed.
const SECRET: &str = "logs-test-secret-7d41c9e2-never-print-me";

/// The binary serving with `SECRET` at debug level, everything it writes to stdout and
/// stderr collected. Killed when dropped.
struct LoggedServer {
    child: Child,
    address: String,
    readers: Vec<JoinHandle<Vec<String>>>,
}

impl LoggedServer {
    fn start(data: &Path) -> Self {
        let mut child = with_secret(command(data))
            .env("RUST_LOG", "debug")
            .env("SHUTDOWN_GRACE_SECS", "0")
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let (serving, announced) = mpsc::channel();
        let readers = vec![
            collect(child.stdout.take().unwrap(), Some(serving)),
            collect(child.stderr.take().unwrap(), None),
        ];
        let mut server = Self {
            child,
            address: String::new(),
            readers,
        };
        server.address = announced
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs where it serves");
        server
    }

    /// Stops the process with SIGTERM and returns all it wrote, once it has exited.
    fn stop(mut self) -> Vec<String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let exit = self.child.wait().expect("the process exits");
        assert!(exit.success(), "exit status {exit}");
        self.readers
            .drain(..)
            .flat_map(|reader| reader.join().expect("reading the output"))
            .collect()
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `stream` to its end on a thread of its own; the first "serving" event's address is
/// sent to `serving`.
fn collect(
    stream: impl Read + Send + 'static,
    mut serving: Option<mpsc::Sender<String>>,
) -> JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Ok(event) = serde_json::from_str::<Value>(&line)
                && event["message"] == "serving"
                && let Some(send) = serving.take()
            {
                let _ = send.send(format!("http://{}", event["address"].as_str().unwrap()));
            }
            lines.push(line);
        }
        lines
    })
}

fn with_secret(mut command: Command) -> Command {
    command.env("JWT_SECRET", SECRET);
    command
}

fn signed(claims: &Value, key: &[u8]) -> String {
    sign_with(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(key),
    )
}

fn claims(user: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({ "sub": user, "iat": now, "exp": now + 3600 })
}

/// The events of a JSON log (other lines are kept as strings).
fn events(log: &[String]) -> Vec<Value> {
    log.iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| Value::String(line.clone())))
        .collect()
}

/// Whether some event has this message and, in its own fields or its spans', each of
/// `fields`.
fn logged(events: &[Value], message: &str, fields: &[(&str, Value)]) -> bool {
    events.iter().any(|event| {
        event["message"] == message
            && fields.iter().all(|(name, value)| {
                event[name] == *value
                    || event["span"][name] == *value
                    || event["spans"]
                        .as_array()
                        .is_some_and(|spans| spans.iter().any(|s| s[name] == *value))
            })
    })
}

/// A request: method, path, token, body, and the status it must get.
type Call<'a> = (Method, String, Option<&'a str>, Option<Value>, u16);

#[tokio::test]
async fn tokens_secrets_and_personal_data_never_reach_the_log_even_at_debug_level() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    run(with_secret(command(&data)).args(["users", "create", "--id", "1", "--username", "ada"]));
    let server = LoggedServer::start(&data);
    let client = http_client();
    let url = |path: &str| format!("{}{path}", server.address);

    let now = Utc::now().timestamp();
    let claim_email = "ada.claim.7f3a@example.net";
    let sub_email = "ada.sub.19b2@example.net";
    let body_email = "ada.body.c0de@example.net";
    let rejected_email = "ada.rejected.e5e5@example.net";
    let valid = signed(&claims("1"), SECRET.as_bytes());
    let mut with_email = claims("1");
    with_email["email"] = json!(claim_email);
    let with_email = signed(&with_email, SECRET.as_bytes());
    let expired = signed(
        &json!({"sub": "1", "iat": now - 7200, "exp": now - 3600, "email": claim_email}),
        SECRET.as_bytes(),
    );
    let bad_signature = signed(&claims("1"), b"a-secret-the-service-does-not-know");
    let email_as_user = signed(&claims(sub_email), SECRET.as_bytes());
    let malformed = "malformed-token-5be1.not-base64!.sig-7c2e".to_owned();

    let requests: Vec<Call> = vec![
        (Method::GET, "/users/me".into(), Some(&valid), None, 200),
        (
            Method::GET,
            "/users/me".into(),
            Some(&with_email),
            None,
            200,
        ),
        (Method::GET, "/users/me".into(), Some(&expired), None, 401),
        (
            Method::GET,
            "/users/me".into(),
            Some(&bad_signature),
            None,
            401,
        ),
        (
            Method::GET,
            "/users/me".into(),
            Some(&email_as_user),
            None,
            401,
        ),
        (Method::GET, "/users/me".into(), Some(&malformed), None, 401),
        (
            Method::PUT,
            "/users/1".into(),
            Some(&valid),
            Some(json!({"bio": format!("Write to me at {body_email}")})),
            200,
        ),
        (
            Method::PUT,
            "/users/1".into(),
            Some(&with_email),
            Some(json!({"email": rejected_email, "bio": rejected_email.repeat(40)})),
            422,
        ),
        (
            Method::PUT,
            "/users/1".into(),
            Some(&expired),
            Some(json!({"bio": body_email})),
            401,
        ),
        (
            Method::GET,
            format!("/users/1?access_token={valid}&email={body_email}"),
            None,
            None,
            200,
        ),
    ];
    for (method, path, token, body, status) in &requests {
        let mut request = client.request(method.clone(), url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), *status, "{method} {path}");
    }

    let log = server.stop();
    let text = log.join("\n");
    let tokens = [
        &valid,
        &with_email,
        &expired,
        &bad_signature,
        &email_as_user,
    ];
    let mut forbidden: Vec<(String, &str)> = vec![(SECRET.into(), "the secret")];
    for token in tokens {
        let parts: Vec<&str> = token.split('.').collect();
        forbidden.push((token.to_string(), "a token"));
        forbidden.push((parts[1].into(), "a token's payload segment"));
        forbidden.push((parts[2].into(), "a token's signature segment"));
    }
    for part in malformed.split('.') {
        forbidden.push((part.into(), "part of a malformed token"));
    }
    for email in [claim_email, sub_email, body_email, rejected_email] {
        forbidden.push((email.into(), "an email address"));
    }
    for (value, what) in &forbidden {
        assert!(
            !text.contains(value.as_str()),
            "the log shows {what} ({value}):\n{}",
            log.iter()
                .filter(|l| l.contains(value.as_str()))
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    // It is the full log: every request and every refusal is in it.
    let events = events(&log);
    assert!(
        events.iter().any(|e| e["level"] == "DEBUG"),
        "debug events are logged"
    );
    for (route, status) in [
        ("/users/me", 200),
        ("/users/me", 401),
        ("/users/{user_id}", 422),
    ] {
        assert!(
            logged(
                &events,
                "finished processing request",
                &[("route", json!(route)), ("status", json!(status))]
            ),
            "no log line for a {status} on {route}:\n{text}"
        );
    }
    let rejections = events
        .iter()
        .filter(|e| e["message"] == "token rejected")
        .count();
    assert_eq!(rejections, 5, "each refused token is logged once:\n{text}");
}

#[tokio::test]
async fn an_oversized_token_is_refused_for_its_length_before_it_is_parsed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = LoggedServer::start(&data);

    // A header segment that is neither base64 nor JSON: parsing it would fail otherwise.
    let oversized = format!("{}.{}.{}", "!".repeat(9 * 1024), "e30", "sig");
    let response = http_client()
        .get(format!("{}/users/me", server.address))
        .bearer_auth(&oversized)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let events = events(&server.stop());
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e["message"] == "token rejected")
        .filter_map(|e| e["reason"].as_str())
        .collect();
    assert_eq!(reasons.len(), 1, "{events:#?}");
    assert!(
        reasons[0].contains("longer than 8192 bytes"),
        "refused for another reason: {}",
        reasons[0]
    );
}
