//! Keys published by the auth-service as a JWKS, cached in memory.
//!
//! The set is fetched at start, refreshed periodically, and fetched again when a token names
//! an unknown `kid`, but at most once per [`REFETCH_INTERVAL`] and by one request at a time:
//! a flood of tokens with random `kid`s costs the issuer one request per interval. A key
//! rotated out of the published set stops verifying at the next fetch.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock, Weak},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use jsonwebtoken::{
    Algorithm, DecodingKey,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse},
};
use serde::Deserialize;
use url::Url;

use super::TokenError;

pub const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_JWKS_BYTES: usize = 1024 * 1024;

struct PublishedKey {
    key: Arc<DecodingKey>,
    alg: Algorithm,
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, Arc<PublishedKey>>,
    /// Used for tokens without a `kid` when it is the only key published.
    only: Option<Arc<PublishedKey>>,
}

pub struct Jwks {
    url: Url,
    client: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// When the set was last fetched; held while fetching, which makes fetches single-flight.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl Jwks {
    /// Fetches the set once (a failure is logged, not fatal: the auth-service may start
    /// later) and refreshes it every `refresh` in the background.
    pub async fn start(url: Url, refresh: Duration) -> anyhow::Result<Arc<Self>> {
        // reqwest's TLS needs a process-wide crypto provider; an earlier install is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the JWKS HTTP client")?;
        let jwks = Arc::new(Self {
            url,
            client,
            keys: RwLock::default(),
            last_fetch: tokio::sync::Mutex::new(None),
        });
        jwks.refresh().await;
        tokio::spawn(refresh_periodically(Arc::downgrade(&jwks), refresh));
        Ok(jwks)
    }

    pub async fn key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<DecodingKey>, TokenError> {
        let found = match self.lookup(kid) {
            Some(found) => found,
            None => {
                self.refetch_unknown().await;
                self.lookup(kid).ok_or_else(|| {
                    TokenError::UnknownKey(kid.map_or("no kid".into(), |k| format!("kid {k:?}")))
                })?
            }
        };
        // A published key verifies only the algorithm it was published for.
        if found.alg != alg {
            return Err(TokenError::AlgorithmNotAccepted(alg));
        }
        Ok(found.key.clone())
    }

    fn lookup(&self, kid: Option<&str>) -> Option<Arc<PublishedKey>> {
        let keys = self.keys.read().expect("jwks lock").clone();
        match kid {
            Some(kid) => keys.by_kid.get(kid).cloned(),
            None => keys.only.clone(),
        }
    }

    async fn refetch_unknown(&self) {
        let mut last = self.last_fetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < REFETCH_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        self.fetch_and_store().await;
    }

    async fn refresh(&self) {
        let mut last = self.last_fetch.lock().await;
        *last = Some(Instant::now());
        self.fetch_and_store().await;
    }

    async fn fetch_and_store(&self) {
        match self.fetch().await {
            Ok(set) => {
                tracing::info!(keys = set.by_kid.len(), "JWKS fetched");
                *self.keys.write().expect("jwks lock") = Arc::new(set);
            }
            Err(err) => tracing::warn!(error = ?err, "JWKS fetch failed; keeping the keys we had"),
        }
    }

    async fn fetch(&self) -> anyhow::Result<KeySet> {
        let mut response = self
            .client
            .get(self.url.clone())
            .send()
            .await?
            .error_for_status()?;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                bail!("JWKS larger than {MAX_JWKS_BYTES} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        parse_key_set(&body)
    }
}

async fn refresh_periodically(jwks: Weak<Jwks>, every: Duration) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    loop {
        ticker.tick().await;
        match jwks.upgrade() {
            Some(jwks) => jwks.refresh().await,
            None => return,
        }
    }
}

/// Parses a JWKS document, skipping keys that cannot verify signatures (encryption keys,
/// symmetric keys, unsupported curves) instead of refusing the whole set.
fn parse_key_set(body: &[u8]) -> anyhow::Result<KeySet> {
    #[derive(Deserialize)]
    struct Document {
        keys: Vec<serde_json::Value>,
    }
    let document: Document = serde_json::from_slice(body).context("JWKS is not a JSON key set")?;
    let mut by_kid = HashMap::new();
    let mut usable = Vec::new();
    for raw in document.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw) else {
            continue;
        };
        let Some(key) = published_key(&jwk) else {
            continue;
        };
        let key = Arc::new(key);
        if let Some(kid) = &jwk.common.key_id {
            by_kid.insert(kid.clone(), key.clone());
        }
        usable.push(key);
    }
    let only = match usable.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    Ok(KeySet { by_kid, only })
}

fn published_key(jwk: &Jwk) -> Option<PublishedKey> {
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let alg = match jwk.common.key_algorithm {
        Some(declared) => Algorithm::try_from(declared).ok()?,
        None => match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
            _ => return None,
        },
    };
    // Never accept a shared secret from a published set.
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    (key.family() == alg.family()).then(|| PublishedKey {
        key: Arc::new(key),
        alg,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symmetric_and_encryption_keys_are_skipped_and_signing_keys_kept() {
        let set = parse_key_set(
            br#"{"keys": [
                {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
                {"kty": "RSA", "kid": "enc", "use": "enc", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"},
                {"kty": "RSA", "kid": "sig", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"},
                {"kty": "weird", "kid": "unknown"}
            ]}"#,
        )
        .unwrap();
        let kids: Vec<_> = set.by_kid.keys().collect();
        assert_eq!(kids, ["sig"]);
        assert_eq!(set.by_kid["sig"].alg, Algorithm::RS256);
        assert!(set.only.is_some());
    }
}
