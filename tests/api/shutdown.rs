//! SIGTERM, as an orchestrator sends it, to the binary running as a child process on SQLite:
//! readiness turns 503 at once, the listener stays open for the grace period and then
//! closes, requests in flight finish, the pool closes, and the process exits with 0.
//!
//! HTTP here goes over raw sockets, one connection per request, so that which connection a
//! request travels on (an old one, a new one) is the test's choice, not a client pool's.

use std::{
    io::{ErrorKind, Read, Write},
    net::TcpStream,
    path::Path,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    cli::{command, run},
    helpers::{ChildServer, SECRET, token},
};

/// `SHUTDOWN_GRACE_SECS` of the servers here.
const GRACE: Duration = Duration::from_secs(2);

/// Serves on SQLite in `data`, logging each request as it reaches the service.
fn serve(data: &Path) -> ChildServer {
    ChildServer::start(
        command(data)
            .env("JWT_SECRET", SECRET)
            .env("SHUTDOWN_GRACE_SECS", GRACE.as_secs().to_string())
            .env("REQUEST_TIMEOUT_SECS", "60")
            .env("RUST_LOG", "info,sqlx=warn,tower_http=debug")
            .arg("serve"),
    )
}

/// Opens a connection; a test's read on it gives up after 30 s rather than hang.
fn connect(address: &str) -> std::io::Result<TcpStream> {
    let stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    Ok(stream)
}

/// Reads a whole response (the request asked to close the connection after it) and returns
/// its status and text.
fn response(mut stream: TcpStream) -> (u16, String) {
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("a response");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    (status, text)
}

/// `GET path` on a new connection.
fn get(address: &str, path: &str) -> (u16, String) {
    let mut stream = connect(address).expect("the listener accepts");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    response(stream)
}

/// Connects until the listener refuses, at most 200 times 50 ms apart (10 s, several times
/// the grace period).
fn wait_until_refused(address: &str) {
    for _ in 0..200 {
        match TcpStream::connect(address) {
            Ok(accepted) => drop(accepted),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => return,
            Err(e) => panic!("connecting to {address}: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{address} still accepts connections after 200 attempts");
}

#[test]
fn on_sigterm_readiness_turns_503_at_once_and_new_connections_are_refused_only_after_the_grace_period()
 {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path());
    let address = server.socket_address().to_owned();
    assert_eq!(get(&address, "/readyz").0, 200);

    let signalled = Instant::now();
    server.terminate();
    server.wait_for_log("draining");

    // On a new connection: the listener still accepts, and the service still answers.
    let (status, text) = get(&address, "/readyz");
    assert_eq!(status, 503, "{text}");
    assert!(
        signalled.elapsed() < GRACE,
        "readiness turned 503 only {:?} after SIGTERM",
        signalled.elapsed()
    );
    assert_eq!(get(&address, "/healthz").0, 200);

    wait_until_refused(&address);
    assert!(
        signalled.elapsed() >= GRACE,
        "the listener closed {:?} after SIGTERM, before the grace period of {GRACE:?}",
        signalled.elapsed()
    );
    assert!(server.wait_for_exit().success());
}

#[test]
fn a_request_in_flight_at_sigterm_completes_with_200_after_the_listener_has_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path());
    let address = server.socket_address().to_owned();
    run(command(dir.path()).args(["users", "create", "--id", "1", "--username", "ada"]));
    let body = json!({ "display_name": "Drained", "bio": "Finished after the signal" }).to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    // The whole head, announcing the whole body, and half of the body: the service waits for
    // the rest inside the handler.
    let mut slow = connect(&address).unwrap();
    write!(
        slow,
        "PUT /users/1 HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first}",
        token(1),
        body.len()
    )
    .unwrap();
    server.wait_for("the PUT reaching the service", |event| {
        event["message"] == "started processing request" && event["span"]["method"] == "PUT"
    });

    server.terminate();
    server.wait_for_log("draining");
    assert_eq!(get(&address, "/readyz").0, 503);
    wait_until_refused(&address);

    slow.write_all(rest.as_bytes()).unwrap();
    let (status, text) = response(slow);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"display_name\":\"Drained\""), "{text}");
    assert!(server.wait_for_exit().success());
}

#[test]
fn after_sigterm_the_service_closes_its_database_pool_logs_that_it_stopped_and_exits_with_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path());
    let address = server.socket_address().to_owned();
    assert_eq!(get(&address, "/readyz").0, 200);
    // SQLite's write-ahead log: present while connections are open; the last one to close
    // checkpoints it into the database file and deletes it.
    let wal = dir.path().join("user-service.db-wal");
    assert!(wal.is_file(), "a write-ahead log while serving");

    server.terminate();
    let status = server.wait_for_exit();

    assert_eq!(status.code(), Some(0), "{:#?}", server.log);
    assert!(
        !wal.exists(),
        "the write-ahead log outlived the process: its connections were never closed"
    );
    let messages: Vec<&str> = server
        .log
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    let position = |prefix: &str| {
        messages
            .iter()
            .position(|m| m.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in the log: {messages:#?}"))
    };
    assert!(position("draining") < position("closing the listener"));
    assert!(position("closing the listener") < position("database pool closed"));
    assert!(position("database pool closed") < position("stopped"));
}
