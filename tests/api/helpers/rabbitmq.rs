//! The machine's RabbitMQ (127.0.0.1:5672, guest/guest), used as the auth-service uses it:
//! each test on queues of its own, deleted when the kit is dropped, and policies of its own
//! (set with `rabbitmqctl`, as an operator would), cleared likewise. [`Proxy`] stands
//! between a service and the broker so that a test can take the broker away from the
//! service (and give it back) without stopping the broker everyone shares.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties,
    options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions},
    types::FieldTable,
};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};

use super::{after_the_test, eventually};

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Queues of one test on the shared broker.
pub struct Broker {
    channel: Channel,
    connection: Connection,
    queues: Vec<String>,
    policies: Vec<String>,
}

impl Broker {
    /// Connects to the machine's broker. With `CI=true` a broker that does not answer fails
    /// the test; elsewhere the test is skipped, loudly.
    pub async fn connect() -> Option<Self> {
        match Connection::connect(AMQP_URL, ConnectionProperties::default()).await {
            Ok(connection) => Some(Self {
                channel: connection.create_channel().await.expect("a channel"),
                connection,
                queues: Vec::new(),
                policies: Vec::new(),
            }),
            Err(err) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("CI=true and RabbitMQ is not reachable at {AMQP_URL}: {err}")
            }
            Err(err) => {
                eprintln!("SKIPPED: RabbitMQ not reachable ({err})");
                None
            }
        }
    }

    /// Connects (see [`connect`](Self::connect)) and declares a fresh queue as the
    /// auth-service does: the kit and the queue's name.
    pub async fn with_queue() -> Option<(Self, String)> {
        let mut broker = Self::connect().await?;
        let queue = broker.queue_name("user-events");
        broker.declare(&queue).await;
        Some((broker, queue))
    }

    /// The same, with a queue of its own for what the first dead-letters by a policy (see
    /// [`declare_with_dead_letters`](Self::declare_with_dead_letters)): the kit, the queue
    /// and the dead letters' queue.
    pub async fn with_dead_lettered_queue() -> Option<(Self, String, String)> {
        let mut broker = Self::connect().await?;
        let queue = broker.queue_name("user-events");
        let dead = broker.queue_name("user-events-dead");
        broker
            .declare_with_dead_letters(&queue, &dead)
            .await
            .then_some((broker, queue, dead))
    }

    /// A fresh queue name for this test.
    pub fn queue_name(&mut self, what: &str) -> String {
        let name = format!("test-{what}-{}", uuid::Uuid::new_v4().simple());
        self.queues.push(name.clone());
        name
    }

    /// Declares `queue` as the auth-service does: durable, no arguments.
    pub async fn declare(&mut self, queue: &str) {
        self.declare_with(queue, FieldTable::default()).await;
    }

    /// Declares `queue` as the auth-service does (durable, no arguments) and dead-letters
    /// what it rejects into `dead_letters` (also declared) through the default exchange, by
    /// a broker policy, as the README recommends. `false` when `rabbitmqctl` cannot set
    /// policies here: the test is then skipped (with `CI=true` it fails).
    pub async fn declare_with_dead_letters(&mut self, queue: &str, dead_letters: &str) -> bool {
        self.declare(dead_letters).await;
        self.declare(queue).await;
        let policy = format!("dlx-{queue}");
        let definition = json!({
            "dead-letter-exchange": "",
            "dead-letter-routing-key": dead_letters,
        })
        .to_string();
        let pattern = format!("^{queue}$");
        let set = [
            "set_policy",
            "--apply-to",
            "queues",
            &policy,
            &pattern,
            &definition,
        ];
        if rabbitmqctl(&set).await.is_none() {
            return false;
        }
        self.policies.push(policy.clone());
        eventually("the policy applies to the queue", || async {
            let listed = run_rabbitmqctl(&["list_queues", "--formatter", "json", "name", "policy"])
                .await
                .unwrap_or_default();
            let queues: Value = serde_json::from_str(&listed).unwrap_or_default();
            queues
                .as_array()?
                .iter()
                .any(|q| q["name"] == queue && q["policy"] == policy.as_str())
                .then_some(())
        })
        .await;
        true
    }

    async fn declare_with(&mut self, queue: &str, arguments: FieldTable) {
        self.channel
            .queue_declare(queue.into(), QueueDeclareOptions::durable(), arguments)
            .await
            .expect("queue declared");
    }

    /// Publishes as the auth-service's signup does: default exchange, persistent, JSON.
    pub async fn publish(&self, queue: &str, body: &[u8]) {
        self.channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default()
                    .with_delivery_mode(2)
                    .with_content_type("application/json".into()),
            )
            .await
            .expect("published")
            .await
            .expect("the broker took it");
    }

    pub async fn publish_json(&self, queue: &str, body: &Value) {
        self.publish(queue, body.to_string().as_bytes()).await;
    }

    /// Messages ready in `queue` (not delivered to a consumer), and its consumers.
    pub async fn counts(&self, queue: &str) -> (u32, u32) {
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        let queue = self
            .channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .expect("the queue exists");
        (queue.message_count(), queue.consumer_count())
    }

    /// Consumers of `queue`, 0 while it does not exist yet (asked on a channel of its own,
    /// which a failed passive declaration closes).
    pub async fn consumers(&self, queue: &str) -> u32 {
        let channel = self.connection.create_channel().await.expect("a channel");
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(queue.into(), passive, FieldTable::default())
            .await
            .map_or(0, |queue| queue.consumer_count())
    }

    /// Takes every message waiting in `queue`, acknowledging them.
    pub async fn drain(&self, queue: &str) -> Vec<Vec<u8>> {
        let mut bodies = Vec::new();
        while let Some(message) = self
            .channel
            .basic_get(queue.into(), BasicGetOptions { no_ack: true })
            .await
            .expect("basic.get")
        {
            bodies.push(message.delivery.data.clone());
        }
        bodies
    }
}

/// Runs `rabbitmqctl` (as root, or a user with the broker's Erlang cookie): its output when
/// it succeeds, else why not.
async fn run_rabbitmqctl(args: &[&str]) -> Result<String, String> {
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let output = std::process::Command::new("rabbitmqctl")
            .arg("--quiet")
            .args(&args)
            .output()
            .map_err(|err| err.to_string())?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    })
    .await
    .map_err(|err| err.to_string())?
}

/// [`run_rabbitmqctl`] for a test: `None` when it cannot run here, said loudly; with
/// `CI=true` a failure.
async fn rabbitmqctl(args: &[&str]) -> Option<String> {
    match run_rabbitmqctl(args).await {
        Ok(output) => Some(output),
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true and rabbitmqctl {args:?} failed: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED: rabbitmqctl cannot set policies here ({why})");
            None
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let channel = self.channel.clone();
        let queues = std::mem::take(&mut self.queues);
        let policies = std::mem::take(&mut self.policies);
        after_the_test(async move {
            for policy in policies {
                let _ = run_rabbitmqctl(&["clear_policy", &policy]).await;
            }
            for queue in queues {
                let _ = channel
                    .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                    .await;
            }
        });
    }
}

/// A TCP proxy to the broker on a port of its own. [`Proxy::cut`] closes every connection
/// through it and refuses new ones, as a broker that went away would; [`Proxy::restore`]
/// lets connections through again.
pub struct Proxy {
    address: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
}

#[derive(Default)]
struct ProxyState {
    accepting: Option<JoinHandle<()>>,
    connections: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy that lets connections through.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy = Self {
            address: listener.local_addr().unwrap(),
            state: Arc::default(),
        };
        proxy.accept_on(listener);
        proxy
    }

    /// The broker's URL through this proxy.
    pub fn url(&self) -> String {
        format!("amqp://guest:guest@{}/%2f", self.address)
    }

    fn accept_on(&self, listener: TcpListener) {
        let state = self.state.clone();
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let connection = tokio::spawn(async move {
                    if let Ok(mut broker) = tokio::net::TcpStream::connect("127.0.0.1:5672").await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut broker).await;
                    }
                });
                state.lock().unwrap().connections.push(connection);
            }
        });
        self.state.lock().unwrap().accepting = Some(accepting);
    }

    /// Drops every connection and stops listening: the broker is out of reach.
    pub fn cut(&self) {
        let mut state = self.state.lock().unwrap();
        if let Some(accepting) = state.accepting.take() {
            accepting.abort();
        }
        for connection in state.connections.drain(..) {
            connection.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn restore(&self) {
        // The port was just released by the aborted listener; binding may briefly race it.
        for _ in 0..100 {
            if let Ok(listener) = TcpListener::bind(self.address).await {
                self.accept_on(listener);
                return;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the proxy's port {} could not be bound again", self.address);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}
