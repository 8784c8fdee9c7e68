//! Authentication: every way a token can be wrong is refused with 401 and
//! `WWW-Authenticate: Bearer error="invalid_token"` on a read and on a write, and the write
//! changes nothing; no credentials get a bare `Bearer` challenge; each kind of key verifies
//! its own tokens and only those. Headers that name, carry or look up keys (`jku`, `jwk`,
//! hostile `kid`s), the wrong `typ`, and key sets that rotate, grow huge or are not JSON are
//! all handled without trusting the token.

use std::{
    convert::Infallible,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    response::IntoResponse,
    routing::get,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use futures::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header, jwk::Jwk};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::{
    sync::{Semaphore, mpsc},
    task::JoinSet,
};
use user_service::config::JwtConfig;

use crate::helpers::{
    Backend, SECRET, TestApp, claims, fixture, fixture_bytes, json_body, problem, sign, sign_with,
    token,
};

/// The user every test's tokens name, and whose profile a refused write would change.
const ADA: i64 = 7;

/// The write each refused token attempts.
fn a_change() -> Value {
    json!({ "bio": "written with a token that should have been refused" })
}

/// An app with `configure` applied to its JWT settings and user 7 in its database.
async fn app_with(backend: Backend, configure: impl FnOnce(&mut JwtConfig)) -> TestApp {
    let app = TestApp::builder(backend).jwt(configure).spawn().await;
    app.insert_user(ADA, "ada").await;
    app
}

/// The default app: HS256 with the shared secret, user 7 in its database.
async fn app(backend: Backend) -> TestApp {
    app_with(backend, |_| {}).await
}

fn www_authenticate(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// Asserts a 401 problem whose challenge is exactly `challenge`.
async fn assert_challenge(response: Response, challenge: &str) {
    assert_eq!(
        www_authenticate(&response),
        [challenge],
        "challenge of {}",
        response.url()
    );
    problem(response, 401).await;
}

/// Asserts that no profile was written, by any request, since the app started.
async fn assert_nothing_written(app: &TestApp) {
    let written = app
        .db
        .scalar(
            "SELECT count(*) FROM users WHERE bio IS NOT NULL OR profile_updated_at IS NOT NULL",
        )
        .await;
    assert_eq!(written, 0, "a refused request wrote a profile");
}

/// Asserts that `token` is refused as invalid when reading (`GET /users/me`) and when
/// writing (`PUT /users/7`), and that the write changed nothing.
async fn assert_invalid(app: &TestApp, token: &str, what: &str) {
    let read = app.get_as("/users/me", token).await;
    assert_eq!(
        read.status(),
        StatusCode::UNAUTHORIZED,
        "reading with {what}"
    );
    assert_challenge(read, r#"Bearer error="invalid_token""#).await;
    let write = app.put("/users/7", Some(token), &a_change()).await;
    assert_eq!(
        write.status(),
        StatusCode::UNAUTHORIZED,
        "writing with {what}"
    );
    assert_challenge(write, r#"Bearer error="invalid_token""#).await;
    assert_nothing_written(app).await;
}

/// Asserts that `token` is accepted as user 7's (read only: nothing is written).
async fn assert_accepted(app: &TestApp, token: &str, what: &str) {
    let response = app.get_as("/users/me", token).await;
    assert_eq!(response.status(), StatusCode::OK, "reading with {what}");
    let me = json_body(response, 200).await;
    assert_eq!(me["id"], ADA, "{what}");
}

/// Claims for user 7 with `changes` merged in (a null removes a claim).
fn claims_with(changes: Value) -> Value {
    let mut claims = claims(ADA);
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

fn pem_key(name: &str) -> EncodingKey {
    let pem = fixture_bytes(name);
    EncodingKey::from_rsa_pem(&pem)
        .or_else(|_| EncodingKey::from_ec_pem(&pem))
        .or_else(|_| EncodingKey::from_ed_pem(&pem))
        .expect("a PKCS#8 private key fixture")
}

fn signed(alg: Algorithm, private_key: &str, claims: &Value) -> String {
    sign_with(&Header::new(alg), claims, &pem_key(private_key))
}

async fn no_credentials_or_another_scheme_get_a_bare_bearer_challenge(backend: Backend) {
    let app = app(backend).await;

    assert_challenge(app.get("/users/me").await, "Bearer").await;
    assert_challenge(app.put("/users/7", None, &a_change()).await, "Bearer").await;
    let bare_token = token(ADA);
    for scheme in ["Basic YWRhOnBhc3N3b3Jk", "Token abc", bare_token.as_str()] {
        for method in [Method::GET, Method::PUT] {
            let path = if method == Method::GET {
                "/users/me"
            } else {
                "/users/7"
            };
            let response = app
                .request(method, path, None)
                .header("authorization", scheme)
                .json(&a_change())
                .send()
                .await
                .unwrap();
            assert_challenge(response, "Bearer").await;
        }
    }
    assert_nothing_written(&app).await;
}

async fn a_token_signed_with_another_secret_is_refused(backend: Backend) {
    let app = app(backend).await;
    let forged = sign_with(
        &Header::new(Algorithm::HS256),
        &claims(ADA),
        &EncodingKey::from_secret(b"not-the-auth-services-secret"),
    );

    assert_invalid(&app, &forged, "another secret").await;
    assert_accepted(&app, &token(ADA), "the shared secret").await;
}

async fn a_token_expired_beyond_the_leeway_is_refused(backend: Backend) {
    let app = app(backend).await;
    let now = Utc::now().timestamp();

    let expired = sign(&claims_with(json!({"iat": now - 3600, "exp": now - 31})));
    assert_invalid(&app, &expired, "exp 31 s ago").await;
    let long_expired = sign(&claims_with(json!({"iat": now - 7200, "exp": now - 3600})));
    assert_invalid(&app, &long_expired, "exp an hour ago").await;

    let within_leeway = sign(&claims_with(json!({"iat": now - 3600, "exp": now - 20})));
    assert_accepted(&app, &within_leeway, "exp 20 s ago, within the leeway").await;
}

async fn a_token_not_valid_yet_is_refused(backend: Backend) {
    let app = app(backend).await;
    let now = Utc::now().timestamp();

    let early = sign(&claims_with(json!({"nbf": now + 120})));
    assert_invalid(&app, &early, "nbf in two minutes").await;

    let within_leeway = sign(&claims_with(json!({"nbf": now + 10})));
    assert_accepted(&app, &within_leeway, "nbf within the leeway").await;
}

async fn a_token_from_another_issuer_is_refused_when_an_issuer_is_configured(backend: Backend) {
    let app = app_with(backend, |j| {
        j.jwt_issuer = Some("https://auth.example.com".into());
    })
    .await;

    let other = sign(&claims_with(json!({"iss": "https://evil.example.com"})));
    assert_invalid(&app, &other, "another iss").await;
    let missing = sign(&claims(ADA));
    assert_invalid(&app, &missing, "no iss").await;

    let right = sign(&claims_with(json!({"iss": "https://auth.example.com"})));
    assert_accepted(&app, &right, "the configured iss").await;
}

async fn a_token_for_another_api_is_refused_when_an_audience_is_configured(backend: Backend) {
    let app = app_with(backend, |j| {
        j.jwt_audience = Some("user-service".into());
    })
    .await;

    let other = sign(&claims_with(json!({"aud": "billing-service"})));
    assert_invalid(&app, &other, "another aud").await;
    let others = sign(&claims_with(json!({"aud": ["billing-service", "chat"]})));
    assert_invalid(&app, &others, "an aud list without ours").await;

    let right = sign(&claims_with(json!({"aud": "user-service"})));
    assert_accepted(&app, &right, "the configured aud").await;
    let among = sign(&claims_with(
        json!({"aud": ["billing-service", "user-service"]}),
    ));
    assert_accepted(&app, &among, "an aud list naming ours").await;
}

async fn a_token_without_an_audience_is_refused_when_an_audience_is_configured(backend: Backend) {
    let app = app_with(backend, |j| {
        j.jwt_audience = Some("user-service".into());
    })
    .await;

    let missing = sign(&claims(ADA));
    assert_invalid(&app, &missing, "no aud").await;
}

async fn a_token_signed_with_an_algorithm_not_accepted_is_refused(backend: Backend) {
    let hs = |alg| {
        sign_with(
            &Header::new(alg),
            &claims(ADA),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
    };

    let by_default = app(backend).await;
    assert_invalid(&by_default, &hs(Algorithm::HS384), "HS384 by default").await;
    assert_invalid(&by_default, &hs(Algorithm::HS512), "HS512 by default").await;
    drop(by_default);

    let explicit = app_with(backend, |j| j.jwt_algorithms = vec![Algorithm::HS256]).await;
    assert_invalid(
        &explicit,
        &hs(Algorithm::HS384),
        "HS384 when HS256 is listed",
    )
    .await;
    assert_accepted(&explicit, &hs(Algorithm::HS256), "HS256 when listed").await;
    drop(explicit);

    let hs384_only = app_with(backend, |j| j.jwt_algorithms = vec![Algorithm::HS384]).await;
    assert_invalid(
        &hs384_only,
        &hs(Algorithm::HS256),
        "HS256 when HS384 is listed",
    )
    .await;
    assert_accepted(&hs384_only, &hs(Algorithm::HS384), "HS384 when listed").await;
}

async fn an_unsigned_alg_none_token_is_refused(backend: Backend) {
    let app = app(backend).await;
    let payload = b64(&claims(ADA));
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "None", "typ": "JWT"}),
        json!({"alg": "NONE"}),
    ] {
        let unsigned = format!("{}.{payload}.", b64(&header));
        assert_invalid(&app, &unsigned, &format!("{header}")).await;
    }
    // alg none beside a signature that is valid for HS256 over the same bytes.
    let header = b64(&json!({"alg": "none", "typ": "JWT"}));
    let message = format!("{header}.{payload}");
    let mac = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .unwrap();
    assert_invalid(&app, &format!("{message}.{mac}"), "alg none with a MAC").await;
}

async fn a_token_without_an_expiry_is_refused(backend: Backend) {
    let app = app(backend).await;
    let forever = sign(&claims_with(json!({"exp": null})));
    assert_invalid(&app, &forever, "no exp").await;
    let not_a_time = sign(&claims_with(json!({"exp": "tomorrow"})));
    assert_invalid(&app, &not_a_time, "exp not a number").await;
}

async fn a_malformed_token_is_refused(backend: Backend) {
    let app = app(backend).await;
    let valid = token(ADA);
    let parts: Vec<&str> = valid.split('.').collect();
    let cases = [
        ("two segments", format!("{}.{}", parts[0], parts[1])),
        ("four segments", format!("{valid}.{}", parts[2])),
        ("an empty fourth segment", format!("{valid}.")),
        (
            "bad base64 in the payload",
            format!("{}.!!not*base64!!.{}", parts[0], parts[2]),
        ),
        (
            "a header that is not JSON",
            format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode("{alg"),
                parts[1],
                parts[2]
            ),
        ),
        (
            "a payload that is not JSON",
            format!(
                "{}.{}.{}",
                parts[0],
                URL_SAFE_NO_PAD.encode("[1,"),
                parts[2]
            ),
        ),
        ("garbage", "garbage".to_owned()),
        ("dots only", "..".to_owned()),
    ];
    for (what, malformed) in cases {
        assert_invalid(&app, &malformed, what).await;
    }
}

async fn a_token_longer_than_8_kib_is_refused_even_when_signed(backend: Backend) {
    let app = app(backend).await;
    let padded = sign(&claims_with(json!({"padding": "p".repeat(9 * 1024)})));
    assert!(padded.len() > 8 * 1024);

    assert_invalid(&app, &padded, "a 12 KiB token").await;
}

async fn a_token_naming_where_to_fetch_its_key_is_refused(backend: Backend) {
    let app = app(backend).await;
    let key = EncodingKey::from_secret(SECRET.as_bytes());

    let mut jku = Header::new(Algorithm::HS256);
    jku.jku = Some("https://evil.example.com/jwks.json".into());
    assert_invalid(&app, &sign_with(&jku, &claims(ADA), &key), "a jku header").await;

    let mut x5u = Header::new(Algorithm::HS256);
    x5u.x5u = Some("https://evil.example.com/cert.pem".into());
    assert_invalid(&app, &sign_with(&x5u, &claims(ADA), &key), "an x5u header").await;

    // The same header built by hand and MAC'd over `header.payload`.
    let message = format!(
        "{}.{}",
        b64(&json!({"alg": "HS256", "typ": "JWT", "jku": "https://evil.example.com/k"})),
        b64(&claims(ADA))
    );
    let mac = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).unwrap();
    assert_invalid(&app, &format!("{message}.{mac}"), "a hand-built jku header").await;
}

async fn a_user_claim_that_is_not_a_positive_64_bit_integer_is_refused(backend: Backend) {
    let app = app(backend).await;
    for sub in [
        json!(0),
        json!("0"),
        json!(-7),
        json!("-7"),
        json!("seven"),
        json!(""),
        json!(7.5),
        json!("7.0"),
        json!("18446744073709551616"),
        json!("9223372036854775808"),
        json!(18446744073709551615u64),
        json!(true),
        json!(["7"]),
        json!({"id": 7}),
        Value::Null,
    ] {
        let token = sign(&claims_with(json!({ "sub": sub })));
        assert_invalid(&app, &token, &format!("sub {sub}")).await;
    }
    assert_accepted(&app, &sign(&claims_with(json!({"sub": 7}))), "sub 7").await;
}

async fn a_valid_token_for_another_user_is_forbidden_to_change_the_profile(backend: Backend) {
    let app = app(backend).await;
    let bob = app.user(8).await;

    let response = app.put("/users/7", Some(&bob), &a_change()).await;
    assert!(www_authenticate(&response).is_empty());
    problem(response, 403).await;

    assert_nothing_written(&app).await;
    let ada = json_body(app.get("/users/7").await, 200).await;
    assert_eq!(ada["bio"], Value::Null);
}

async fn rs256_tokens_verify_against_the_configured_public_key(backend: Backend) {
    let app = app_with(backend, |j| {
        j.jwt_secret = None;
        j.jwt_public_key = Some(fixture("rsa_public.pem"));
    })
    .await;

    let other_key = signed(Algorithm::RS256, "rsa_other_private.pem", &claims(ADA));
    assert_invalid(&app, &other_key, "RS256 with another RSA key").await;
    let rs512 = signed(Algorithm::RS512, "rsa_private.pem", &claims(ADA));
    assert_invalid(&app, &rs512, "RS512 with the right key").await;
    assert_invalid(&app, &token(ADA), "HS256 with the old shared secret").await;

    let good = signed(Algorithm::RS256, "rsa_private.pem", &claims(ADA));
    assert_accepted(&app, &good, "RS256 with the right key").await;
    let updated = json_body(
        app.put("/users/7", Some(&good), &json!({"bio": "signed by RSA"}))
            .await,
        200,
    )
    .await;
    assert_eq!(updated["bio"], "signed by RSA");
}

async fn an_hs256_token_keyed_with_the_public_key_is_refused(backend: Backend) {
    let app = app_with(backend, |j| {
        j.jwt_secret = None;
        j.jwt_public_key = Some(fixture("rsa_public.pem"));
    })
    .await;
    let public_pem = fixture_bytes("rsa_public.pem");

    let confused = sign_with(
        &Header::new(Algorithm::HS256),
        &claims(ADA),
        &EncodingKey::from_secret(&public_pem),
    );
    assert_invalid(&app, &confused, "HS256 keyed with the RSA public key PEM").await;
    let trimmed = sign_with(
        &Header::new(Algorithm::HS256),
        &claims(ADA),
        &EncodingKey::from_secret(String::from_utf8(public_pem).unwrap().trim().as_bytes()),
    );
    assert_invalid(&app, &trimmed, "HS256 keyed with the trimmed PEM").await;
}

async fn es256_tokens_verify_against_an_ec_public_key(backend: Backend) {
    let app = app_with(backend, |j| {
        j.jwt_secret = None;
        j.jwt_public_key = Some(fixture("ec_public.pem"));
    })
    .await;

    let rsa = signed(Algorithm::RS256, "rsa_private.pem", &claims(ADA));
    assert_invalid(&app, &rsa, "an RS256 token").await;
    let ed = signed(Algorithm::EdDSA, "ed_private.pem", &claims(ADA));
    assert_invalid(&app, &ed, "an EdDSA token").await;

    let good = signed(Algorithm::ES256, "ec_private.pem", &claims(ADA));
    assert_accepted(&app, &good, "ES256 with the right key").await;
}

async fn eddsa_tokens_verify_against_an_ed25519_public_key(backend: Backend) {
    let app = app_with(backend, |j| {
        j.jwt_secret = None;
        j.jwt_public_key = Some(fixture("ed_public.pem"));
    })
    .await;

    let ec = signed(Algorithm::ES256, "ec_private.pem", &claims(ADA));
    assert_invalid(&app, &ec, "an ES256 token").await;

    let good = signed(Algorithm::EdDSA, "ed_private.pem", &claims(ADA));
    assert_accepted(&app, &good, "EdDSA with the right key").await;
}

async fn the_user_can_come_from_a_configured_numeric_claim(backend: Backend) {
    let app = app_with(backend, |j| j.jwt_user_claim = "user_id".into()).await;

    let numeric = sign(&claims_with(
        json!({"sub": "someone@example.com", "user_id": 7}),
    ));
    assert_accepted(&app, &numeric, "user_id 7").await;
    let text = sign(&claims_with(json!({"sub": null, "user_id": "7"})));
    assert_accepted(&app, &text, "user_id \"7\"").await;

    let sub_only = sign(&claims(ADA));
    assert_invalid(&app, &sub_only, "sub without user_id").await;
    let zero = sign(&claims_with(json!({"user_id": 0})));
    assert_invalid(&app, &zero, "user_id 0").await;
}

/// A JWKS endpoint on 127.0.0.1 that counts how often it is fetched.
struct JwksServer {
    url: String,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(keys: Vec<Jwk>) -> Self {
        let set = json!({ "keys": keys });
        let fetches = Arc::new(AtomicUsize::new(0));
        let counter = fetches.clone();
        let router = Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                let set = set.clone();
                async move { Json(set) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, fetches }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// The public half of a private key fixture as a JWK named `kid`.
fn jwk(private_key: &str, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(&pem_key(private_key), alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    jwk
}

fn with_kid(alg: Algorithm, kid: &str, private_key: &str, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    sign_with(&header, claims, &pem_key(private_key))
}

/// An app verifying with the keys `jwks` publishes, accepting `algorithms` (empty: the
/// default, every asymmetric algorithm).
async fn app_with_jwks(backend: Backend, jwks: &JwksServer, algorithms: &[Algorithm]) -> TestApp {
    let url = jwks.url.parse().unwrap();
    app_with(backend, |j| {
        j.jwt_secret = None;
        j.jwt_jwks_url = Some(url);
        j.jwt_algorithms = algorithms.to_vec();
    })
    .await
}

async fn a_token_verifies_with_the_jwks_key_its_kid_names(backend: Backend) {
    let jwks = JwksServer::start(vec![
        jwk("rsa_private.pem", Algorithm::RS256, "rsa-2026"),
        jwk("ec_private.pem", Algorithm::ES256, "ec-2026"),
    ])
    .await;
    let app = app_with_jwks(backend, &jwks, &[]).await;

    let rsa = with_kid(
        Algorithm::RS256,
        "rsa-2026",
        "rsa_private.pem",
        &claims(ADA),
    );
    assert_accepted(&app, &rsa, "RS256 with a published kid").await;
    let ec = with_kid(Algorithm::ES256, "ec-2026", "ec_private.pem", &claims(ADA));
    assert_accepted(&app, &ec, "ES256 with a published kid").await;

    let unknown = with_kid(
        Algorithm::RS256,
        "rsa-1999",
        "rsa_private.pem",
        &claims(ADA),
    );
    assert_invalid(&app, &unknown, "an unknown kid").await;
    let no_kid = signed(Algorithm::RS256, "rsa_private.pem", &claims(ADA));
    assert_invalid(&app, &no_kid, "no kid among two keys").await;
    let wrong_key = with_kid(
        Algorithm::RS256,
        "rsa-2026",
        "rsa_other_private.pem",
        &claims(ADA),
    );
    assert_invalid(&app, &wrong_key, "a published kid, signed by another key").await;
    let other_alg = with_kid(
        Algorithm::RS512,
        "rsa-2026",
        "rsa_private.pem",
        &claims(ADA),
    );
    assert_invalid(&app, &other_alg, "RS512 with a kid published for RS256").await;
    let other_family = with_kid(Algorithm::ES256, "rsa-2026", "ec_private.pem", &claims(ADA));
    assert_invalid(&app, &other_family, "ES256 with an RSA kid").await;
    let hs = {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("rsa-2026".into());
        sign_with(
            &header,
            &claims(ADA),
            &EncodingKey::from_secret(&fixture_bytes("rsa_public.pem")),
        )
    };
    assert_invalid(&app, &hs, "HS256 with an RSA kid").await;
}

async fn unknown_kids_cost_the_key_server_at_most_one_refetch(backend: Backend) {
    let jwks = JwksServer::start(vec![jwk("rsa_private.pem", Algorithm::RS256, "rsa-2026")]).await;
    // RS256 named explicitly: what is tested here is the refetch, whatever the default.
    let app = app_with_jwks(backend, &jwks, &[Algorithm::RS256]).await;
    assert_eq!(jwks.fetches(), 1, "the set is fetched once at start");

    let mut requests = JoinSet::new();
    for _ in 0..20 {
        let kid = uuid::Uuid::new_v4().to_string();
        let token = with_kid(Algorithm::RS256, &kid, "rsa_private.pem", &claims(ADA));
        requests.spawn(app.request(Method::GET, "/users/me", Some(&token)).send());
    }
    while let Some(response) = requests.join_next().await {
        assert_challenge(
            response.unwrap().unwrap(),
            r#"Bearer error="invalid_token""#,
        )
        .await;
    }

    assert!(
        jwks.fetches() <= 2,
        "20 unknown kids fetched the JWKS {} times",
        jwks.fetches()
    );
    let known = with_kid(
        Algorithm::RS256,
        "rsa-2026",
        "rsa_private.pem",
        &claims(ADA),
    );
    assert_accepted(&app, &known, "the published kid afterwards").await;
    assert!(jwks.fetches() <= 2);
}

fn secret_key() -> EncodingKey {
    EncodingKey::from_secret(SECRET.as_bytes())
}

/// HS256 with the shared secret under `header`: only the header can make it wrong.
fn with_header(header: &Header) -> String {
    sign_with(header, &claims(ADA), &secret_key())
}

async fn a_payload_changed_after_signing_is_refused(backend: Backend) {
    let app = app(backend).await;
    app.insert_user(8, "bob").await;
    let bobs = sign(&claims(8));
    let [header, _, signature] = bobs.split('.').collect::<Vec<_>>()[..] else {
        unreachable!()
    };
    let mut as_ada = claims(8);
    as_ada["sub"] = json!("7");
    let mut with_scope = as_ada.clone();
    with_scope["scope"] = json!("badges:award");
    // The same claims, reformatted: the signature covers bytes, not meaning.
    let spaced = URL_SAFE_NO_PAD.encode(serde_json::to_string_pretty(&claims(8)).unwrap());

    for (what, payload) in [
        ("sub changed from 8 to 7", b64(&as_ada)),
        ("sub changed and a scope added", b64(&with_scope)),
        ("the payload re-encoded with whitespace", spaced),
    ] {
        assert_invalid(&app, &format!("{header}.{payload}.{signature}"), what).await;
    }
    assert_eq!(
        json_body(app.get_as("/users/me", &bobs).await, 200).await["id"],
        8,
        "the untouched token is valid"
    );
}

async fn an_hs256_token_keyed_with_an_ec_or_ed25519_public_key_is_refused(backend: Backend) {
    for (public, private, alg) in [
        ("ec_public.pem", "ec_private.pem", Algorithm::ES256),
        ("ed_public.pem", "ed_private.pem", Algorithm::EdDSA),
    ] {
        let app = app_with(backend, |j| {
            j.jwt_secret = None;
            j.jwt_public_key = Some(fixture(public));
        })
        .await;
        let pem = fixture_bytes(public);
        let trimmed = String::from_utf8(pem.clone())
            .unwrap()
            .trim()
            .as_bytes()
            .to_vec();
        for key in [&pem, &trimmed] {
            for hmac in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
                let confused = sign_with(
                    &Header::new(hmac),
                    &claims(ADA),
                    &EncodingKey::from_secret(key),
                );
                assert_invalid(&app, &confused, &format!("{hmac:?} keyed with {public}")).await;
            }
        }
        let good = signed(alg, private, &claims(ADA));
        assert_accepted(&app, &good, &format!("{alg:?} with {private}")).await;
    }
}

async fn a_token_over_8_kib_is_refused_whichever_part_is_long_and_one_of_8_kib_is_accepted(
    backend: Backend,
) {
    let app = app(backend).await;

    // The first padded token of exactly 8192 bytes, and the first longer than that.
    let padded = |length: usize| sign(&claims_with(json!({"padding": "p".repeat(length)})));
    let at_limit = (5_000..7_000)
        .map(padded)
        .find(|t| t.len() == 8 * 1024)
        .expect("some padding makes a token of exactly 8 KiB");
    let over_limit = (5_000..7_000)
        .map(padded)
        .find(|t| t.len() > 8 * 1024)
        .unwrap();
    assert_accepted(&app, &at_limit, "a token of exactly 8 KiB").await;
    assert_invalid(
        &app,
        &over_limit,
        &format!("a signed token of {} bytes", over_limit.len()),
    )
    .await;

    // A JOSE header past 8 KiB, correctly MAC'd.
    let mut header = Header::new(Algorithm::HS256);
    header.extras.insert("padding", "p".repeat(9 * 1024));
    assert_invalid(&app, &with_header(&header), "a 12 KiB JOSE header").await;

    // An Authorization header far past 8 KiB of what would cost the most to parse: a
    // header segment of nested arrays.
    for size in [64 * 1024, 256 * 1024] {
        let nested = URL_SAFE_NO_PAD.encode("[".repeat(size));
        let huge = format!("{nested}.{}.{}", b64(&claims(ADA)), "s".repeat(43));
        assert_invalid(&app, &huge, &format!("a {} KiB token", huge.len() / 1024)).await;
    }
    // Past what the HTTP server reads at all: refused there (431), or the connection is
    // closed; either way no handler runs and the service keeps serving.
    let oversized = format!("Bearer {}", "a".repeat(1024 * 1024));
    if let Ok(response) = app
        .request(Method::PUT, "/users/7", None)
        .header("authorization", oversized)
        .json(&a_change())
        .send()
        .await
    {
        assert!(
            [401, 431].contains(&response.status().as_u16()),
            "a 1 MiB Authorization header: {}",
            response.status()
        );
    }
    assert_nothing_written(&app).await;
    assert_accepted(&app, &token(ADA), "a normal token afterwards").await;
}

/// Kids a key store might resolve as a path or splice into SQL.
const HOSTILE_KIDS: &[&str] = &[
    "../../dev/null",
    "' OR 1=1--",
    "/etc/passwd",
    "k1\" OR \"1\"=\"1",
    "a b",
    "k1\u{0}",
    "..",
];

async fn a_kid_shaped_like_a_path_or_sql_is_refused_even_where_a_key_would_verify(
    backend: Backend,
) {
    // A shared secret verifies every token whatever its kid: only the kid check refuses these.
    let shared = app(backend).await;
    for kid in HOSTILE_KIDS {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some((*kid).into());
        assert_invalid(&shared, &with_header(&header), &format!("kid {kid:?}")).await;
        // What a key read from /dev/null would be: empty.
        let empty_key = sign_with(&header, &claims(ADA), &EncodingKey::from_secret(b""));
        assert_invalid(&shared, &empty_key, &format!("kid {kid:?}, empty key")).await;
    }
    let mut plain = Header::new(Algorithm::HS256);
    plain.kid = Some("hs-2026".into());
    assert_accepted(&shared, &with_header(&plain), "a plain kid").await;
    drop(shared);

    // A key set that publishes a signing key under each of those kids.
    let mut keys: Vec<Jwk> = HOSTILE_KIDS
        .iter()
        .map(|kid| jwk("rsa_private.pem", Algorithm::RS256, kid))
        .collect();
    keys.push(jwk("rsa_private.pem", Algorithm::RS256, "rsa-2026"));
    let jwks = JwksServer::start(keys).await;
    let app = app_with_jwks(backend, &jwks, &[]).await;
    for kid in HOSTILE_KIDS {
        let token = with_kid(Algorithm::RS256, kid, "rsa_private.pem", &claims(ADA));
        assert_invalid(&app, &token, &format!("published kid {kid:?}")).await;
    }
    let good = with_kid(
        Algorithm::RS256,
        "rsa-2026",
        "rsa_private.pem",
        &claims(ADA),
    );
    assert_accepted(&app, &good, "the same key under a plain kid").await;
}

async fn only_tokens_of_the_required_typ_are_accepted_when_one_is_configured(backend: Backend) {
    let typed = |typ: Option<&str>| {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = typ.map(str::to_owned);
        with_header(&header)
    };
    let strict = app_with(backend, |j| j.jwt_required_typ = Some("at+jwt".into())).await;

    for typ in [
        "at+jwt",
        "application/at+jwt",
        "AT+JWT",
        "Application/At+JWT",
    ] {
        assert_accepted(&strict, &typed(Some(typ)), &format!("typ {typ}")).await;
    }
    for typ in [
        Some("JWT"),
        None,
        Some("refresh+jwt"),
        Some("application/refresh+jwt"),
        Some("id_token+jwt"),
        Some("logout+jwt"),
        Some("application/jwt"),
        Some("at+jwt-not"),
        Some("application/application/at+jwt"),
        Some(""),
    ] {
        assert_invalid(&strict, &typed(typ), &format!("typ {typ:?}")).await;
    }
    drop(strict);

    let unset = app(backend).await;
    assert_accepted(
        &unset,
        &typed(Some("refresh+jwt")),
        "any typ when none is required",
    )
    .await;
    assert_accepted(&unset, &typed(None), "no typ when none is required").await;
}

async fn a_token_carrying_its_own_key_or_critical_extensions_is_refused_and_nothing_is_fetched(
    backend: Backend,
) {
    // Where the token says its key is: it must never be asked.
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let router = Router::new().fallback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { "{}" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let app = app(backend).await;
    let attackers_key = jwk("rsa_other_private.pem", Algorithm::RS256, "attacker");
    let headers: Vec<(&str, Header)> = vec![
        ("jku", {
            let mut h = Header::new(Algorithm::HS256);
            h.jku = Some(format!("{elsewhere}/jwks.json"));
            h
        }),
        ("x5u", {
            let mut h = Header::new(Algorithm::HS256);
            h.x5u = Some(format!("{elsewhere}/cert.pem"));
            h
        }),
        ("jwk", {
            let mut h = Header::new(Algorithm::HS256);
            h.jwk = Some(attackers_key.clone());
            h
        }),
        ("x5c", {
            let mut h = Header::new(Algorithm::HS256);
            h.x5c = Some(vec![
                base64::engine::general_purpose::STANDARD.encode(b"not a certificate"),
            ]);
            h
        }),
        ("crit", {
            let mut h = Header::new(Algorithm::HS256);
            h.crit = Some(vec!["exp".into()]);
            h
        }),
    ];
    for (what, header) in &headers {
        assert_invalid(&app, &with_header(header), &format!("a {what} header")).await;
    }
    drop(app);

    // With a JWKS: a token signed by the attacker, carrying the attacker's key or naming
    // the attacker's key set, under a published kid.
    let jwks = JwksServer::start(vec![jwk("rsa_private.pem", Algorithm::RS256, "rsa-2026")]).await;
    let app = app_with_jwks(backend, &jwks, &[]).await;
    let mut carried = Header::new(Algorithm::RS256);
    carried.kid = Some("rsa-2026".into());
    carried.jwk = Some(attackers_key);
    let mut pointed = Header::new(Algorithm::RS256);
    pointed.kid = Some("rsa-2026".into());
    pointed.jku = Some(format!("{elsewhere}/jwks.json"));
    for (what, header) in [("an embedded jwk", carried), ("a jku", pointed)] {
        let token = sign_with(&header, &claims(ADA), &pem_key("rsa_other_private.pem"));
        assert_invalid(&app, &token, &format!("the attacker's key via {what}")).await;
    }

    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a URL from a token was fetched"
    );
}

/// Serves `router` on 127.0.0.1 and returns where its key set is.
async fn key_server(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/.well-known/jwks.json",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

async fn a_rotated_out_key_keeps_working_until_a_fetch_no_longer_publishes_it(backend: Backend) {
    let both = json!({"keys": [
        jwk("rsa_private.pem", Algorithm::RS256, "k1"),
        jwk("rsa_other_private.pem", Algorithm::RS256, "k2"),
    ]});
    let published = Arc::new(Mutex::new(both));
    // Each fetch after the first waits for the test to release it, and says it started:
    // the test knows which set the service holds without waiting on a clock.
    let releases = Arc::new(Semaphore::new(1));
    let (started, mut fetches) = mpsc::unbounded_channel::<usize>();
    let count = Arc::new(AtomicUsize::new(0));
    let router = {
        let published = published.clone();
        let releases = releases.clone();
        Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                let n = count.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = started.send(n);
                let (published, releases) = (published.clone(), releases.clone());
                async move {
                    releases.acquire().await.unwrap().forget();
                    let set = published.lock().unwrap().clone();
                    Json(set)
                }
            }),
        )
    };
    let url = key_server(router).await.parse().unwrap();
    let app = app_with(backend, |j| {
        j.jwt_secret = None;
        j.jwt_jwks_url = Some(url);
        j.jwt_algorithms = vec![Algorithm::RS256];
        j.jwt_jwks_refresh_secs = 1;
    })
    .await;
    assert_eq!(fetches.recv().await, Some(1), "the set is fetched at start");
    let k1 = with_kid(Algorithm::RS256, "k1", "rsa_private.pem", &claims(ADA));
    let k2 = with_kid(
        Algorithm::RS256,
        "k2",
        "rsa_other_private.pem",
        &claims(ADA),
    );
    assert_accepted(&app, &k1, "k1 while published").await;
    assert_accepted(&app, &k2, "k2 while published").await;

    // The auth-service rotates k1 out; the service's next periodic fetch is under way.
    *published.lock().unwrap() = json!({"keys": [
        jwk("rsa_other_private.pem", Algorithm::RS256, "k2"),
    ]});
    assert_eq!(fetches.recv().await, Some(2));
    assert_accepted(&app, &k1, "k1, rotated out but still in the cached set").await;

    // Let that fetch answer. The next one starts only once it has been stored.
    releases.add_permits(1);
    assert_eq!(fetches.recv().await, Some(3));
    releases.add_permits(Semaphore::MAX_PERMITS / 2);
    assert_invalid(&app, &k1, "k1 once a fetch no longer publishes it").await;
    assert_accepted(&app, &k2, "k2, still published").await;
}

/// A key server's answer, given the right key padded past 1 MiB.
type JwksDocument = fn(Value) -> axum::response::Response;

async fn a_jwks_that_is_not_json_or_too_large_leaves_the_service_serving_and_refusing_tokens(
    backend: Backend,
) {
    // The right key, padded past the 1 MiB the service reads of a key set.
    let mut padded = serde_json::to_value(jwk("rsa_private.pem", Algorithm::RS256, "k1")).unwrap();
    padded["x-padding"] = json!("p".repeat(2 * 1024 * 1024));
    let documents: Vec<(&str, JwksDocument)> = vec![
        ("an HTML page", |_| {
            axum::response::Html("<html><body>Sign in</body></html>").into_response()
        }),
        ("JSON that is not a key set", |_| {
            Json(json!({"keys": "k1"})).into_response()
        }),
        ("JSON nested 100 000 deep", |_| {
            format!("{{\"keys\": {}", "[".repeat(100_000)).into_response()
        }),
        ("a 2 MiB key set holding the right key", |padded| {
            Json(json!({ "keys": [padded] })).into_response()
        }),
        ("a key set that never ends", |_| {
            let start = futures::stream::once(async {
                Ok::<_, Infallible>(Bytes::from_static(b"{\"keys\": ["))
            });
            let endless = futures::stream::repeat_with(|| {
                Ok::<_, Infallible>(Bytes::from(vec![b' '; 64 * 1024]))
            });
            Body::from_stream(start.chain(endless)).into_response()
        }),
    ];
    for (what, document) in documents {
        let padded = padded.clone();
        let router = Router::new().route(
            "/.well-known/jwks.json",
            get(move || {
                let padded = padded.clone();
                async move { document(padded) }
            }),
        );
        let url = key_server(router).await.parse().unwrap();
        let app = app_with(backend, |j| {
            j.jwt_secret = None;
            j.jwt_jwks_url = Some(url);
        })
        .await;
        let response = app.get("/healthz").await;
        assert_eq!(response.status(), StatusCode::OK, "alive after {what}");
        let token = with_kid(Algorithm::RS256, "k1", "rsa_private.pem", &claims(ADA));
        assert_invalid(&app, &token, &format!("a token after {what}")).await;
        assert_eq!(
            app.get("/users/7").await.status(),
            StatusCode::OK,
            "serving after {what}"
        );
    }
}

crate::backend_tests!(
    no_credentials_or_another_scheme_get_a_bare_bearer_challenge,
    a_token_signed_with_another_secret_is_refused,
    a_token_expired_beyond_the_leeway_is_refused,
    a_token_not_valid_yet_is_refused,
    a_token_from_another_issuer_is_refused_when_an_issuer_is_configured,
    a_token_for_another_api_is_refused_when_an_audience_is_configured,
    a_token_without_an_audience_is_refused_when_an_audience_is_configured,
    a_token_signed_with_an_algorithm_not_accepted_is_refused,
    an_unsigned_alg_none_token_is_refused,
    a_token_without_an_expiry_is_refused,
    a_malformed_token_is_refused,
    a_token_longer_than_8_kib_is_refused_even_when_signed,
    a_token_naming_where_to_fetch_its_key_is_refused,
    a_user_claim_that_is_not_a_positive_64_bit_integer_is_refused,
    a_valid_token_for_another_user_is_forbidden_to_change_the_profile,
    rs256_tokens_verify_against_the_configured_public_key,
    an_hs256_token_keyed_with_the_public_key_is_refused,
    es256_tokens_verify_against_an_ec_public_key,
    eddsa_tokens_verify_against_an_ed25519_public_key,
    the_user_can_come_from_a_configured_numeric_claim,
    a_token_verifies_with_the_jwks_key_its_kid_names,
    unknown_kids_cost_the_key_server_at_most_one_refetch,
    a_payload_changed_after_signing_is_refused,
    an_hs256_token_keyed_with_an_ec_or_ed25519_public_key_is_refused,
    a_token_over_8_kib_is_refused_whichever_part_is_long_and_one_of_8_kib_is_accepted,
    a_kid_shaped_like_a_path_or_sql_is_refused_even_where_a_key_would_verify,
    only_tokens_of_the_required_typ_are_accepted_when_one_is_configured,
    a_token_carrying_its_own_key_or_critical_extensions_is_refused_and_nothing_is_fetched,
    a_rotated_out_key_keeps_working_until_a_fetch_no_longer_publishes_it,
    a_jwks_that_is_not_json_or_too_large_leaves_the_service_serving_and_refusing_tokens,
);
