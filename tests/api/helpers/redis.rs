//! Redis for the rate limiter's tests: the machine's at 127.0.0.1:6379, shared, each test
//! under a key prefix of its own; and [`PrivateRedis`], a `redis-server` a test starts on a
//! port of its own so that it can stop, pause and start it again (never the shared one).

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use super::eventually;

pub const REDIS_URL: &str = "redis://127.0.0.1:6379";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether the machine's Redis answers. With `CI=true` one that does not fails the test;
/// elsewhere the test is skipped, loudly.
pub async fn shared_available() -> bool {
    match ping(REDIS_URL).await {
        Ok(()) => true,
        Err(err) if in_ci() => panic!("CI=true and Redis is not reachable at {REDIS_URL}: {err}"),
        Err(err) => {
            eprintln!("SKIPPED: Redis not reachable at {REDIS_URL} ({err})");
            false
        }
    }
}

async fn ping(url: &str) -> Result<(), String> {
    let client = ::redis::Client::open(url).map_err(|e| e.to_string())?;
    let answer = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        ::redis::cmd("PING")
            .query_async::<String>(&mut connection)
            .await
    };
    match tokio::time::timeout(Duration::from_secs(2), answer).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err("no answer within 2 s".into()),
    }
}

/// A key prefix no other test uses.
pub fn prefix() -> String {
    format!("user-service-test:{}:", uuid::Uuid::new_v4().simple())
}

/// A `redis-server` of the test's own, on a free port, keeping nothing on disk.
pub struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// A port nothing listens on, where [`start`](Self::start) will run a server: for a
    /// service that starts before its Redis does. `None` (the test is skipped) when there is
    /// no `redis-server` here, unless `CI=true`.
    pub fn reserve() -> Option<Self> {
        if Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_err()
        {
            assert!(!in_ci(), "CI=true and there is no redis-server");
            eprintln!("SKIPPED: no redis-server on this machine");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        Some(Self { port, child: None })
    }

    /// A server on a port of its own, answering.
    pub async fn started() -> Option<Self> {
        let mut redis = Self::reserve()?;
        redis.start().await;
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again, empty) on its port and waits until it answers.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "the private Redis is running already");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let url = self.url();
        eventually("the private Redis answers", || {
            let url = url.clone();
            async move { ping(&url).await.ok() }
        })
        .await;
    }

    /// Stops the server in its tracks (SIGSTOP): connections stay open and nothing answers,
    /// as with a Redis cut off by the network.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the private Redis is running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill {signal}");
    }

    /// Kills the server: every connection to it drops, and the port refuses new ones.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
