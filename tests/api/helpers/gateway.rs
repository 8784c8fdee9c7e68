//! The platform's gateway as it stands in front of this service: it forwards `/users/*` and
//! nothing else (anything other is its own 404), and hands redirects back to the client
//! rather than following them.

use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use reqwest::{Client, redirect::Policy};

pub struct Gateway {
    pub address: String,
    server: tokio::task::JoinHandle<()>,
}

impl Gateway {
    /// A gateway on a port of its own forwarding `/users/*` to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("an HTTP client");
        let router = axum::Router::new()
            .fallback(forward)
            .with_state((client, upstream.to_owned()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self { address, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn forward(State((client, upstream)): State<(Client, String)>, request: Request) -> Response {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    if !request.uri().path().starts_with("/users/") {
        return (StatusCode::NOT_FOUND, "the gateway routes /users/* only").into_response();
    }
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut outgoing = client
        .request(parts.method, format!("{upstream}{path_and_query}"))
        .body(body);
    for (name, value) in parts.headers.iter().filter(|(n, _)| !hop_by_hop(n)) {
        if name != header::HOST {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing
        .send()
        .await
        .expect("the service answers the gateway");
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers().iter().filter(|(n, _)| !hop_by_hop(n)) {
        response = response.header(name, value);
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}

/// Headers about one connection, which a proxy does not pass on (RFC 9110 §7.6.1), and the
/// length, which the proxy's own client and server set.
fn hop_by_hop(name: &header::HeaderName) -> bool {
    [
        header::CONNECTION,
        header::TRANSFER_ENCODING,
        header::CONTENT_LENGTH,
        header::TE,
        header::UPGRADE,
    ]
    .contains(name)
}
