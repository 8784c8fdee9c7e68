//! Tokens as the auth-service signs them, and the key material the tests use.

use std::path::PathBuf;

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// The auth-service's shared secret in tests.
pub const SECRET: &str = "test-secret-shared-with-the-auth-service";

/// Claims of a token the test application accepts for `user`.
pub fn claims(user: i64) -> Value {
    let now = Utc::now().timestamp();
    json!({ "sub": user.to_string(), "iat": now, "exp": now + 3600 })
}

/// A valid HS256 token for `user`.
pub fn token(user: i64) -> String {
    sign(&claims(user))
}

/// HS256 with the test secret.
pub fn sign(claims: &Value) -> String {
    sign_with(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
}

pub fn sign_with(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).expect("signing a test token")
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).expect("fixture")
}

/// A trusted service's token: `sub` 900 (no row), the `badges:award` scope.
pub fn award_token() -> String {
    let mut claims = claims(900);
    claims["scope"] = json!("badges:award");
    sign(&claims)
}
