//! Where verification keys come from: exactly one of a shared secret, a PEM public key or a
//! JWKS endpoint; with none configured, a development secret kept in the data directory.

use std::{path::Path, sync::Arc};

use anyhow::{Context, bail};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Header};
use rand::RngCore;

use super::{TokenError, jwks::Jwks};
use crate::{config::JwtConfig, private_file};

const DEV_SECRET_FILE: &str = "dev-jwt-secret";

pub enum KeySource {
    /// A shared secret or a PEM public key: one key for every token.
    Static {
        key: Arc<DecodingKey>,
        default_algorithm: Algorithm,
    },
    /// Keys published by the auth-service, chosen by the token's `kid`.
    Jwks(Arc<Jwks>),
}

impl KeySource {
    pub async fn from_config(
        config: &JwtConfig,
        dev_secret: Option<String>,
    ) -> anyhow::Result<Self> {
        let configured = [
            config.jwt_secret.is_some(),
            config.jwt_public_key.is_some(),
            config.jwt_jwks_url.is_some(),
        ];
        if configured.iter().filter(|c| **c).count() > 1 {
            bail!("configure only one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL");
        }
        if let Some(url) = &config.jwt_jwks_url {
            let refresh = std::time::Duration::from_secs(config.jwt_jwks_refresh_secs.max(1));
            return Ok(Self::Jwks(Jwks::start(url.clone(), refresh).await?));
        }
        if let Some(path) = &config.jwt_public_key {
            let pem = std::fs::read(path)
                .with_context(|| format!("reading JWT_PUBLIC_KEY {}", path.display()))?;
            let (key, default_algorithm) = public_key_from_pem(&pem).with_context(|| {
                format!("JWT_PUBLIC_KEY {} is not a PEM public key", path.display())
            })?;
            return Ok(Self::Static {
                key: Arc::new(key),
                default_algorithm,
            });
        }
        let secret = config
            .jwt_secret
            .clone()
            .or(dev_secret)
            .context("no JWT key configured")?;
        if secret.is_empty() {
            bail!("JWT_SECRET is empty");
        }
        Ok(Self::Static {
            key: Arc::new(DecodingKey::from_secret(secret.as_bytes())),
            default_algorithm: Algorithm::HS256,
        })
    }

    /// The algorithms accepted when JWT_ALGORITHMS is not set: the one matching the key, or
    /// for a JWKS every asymmetric one (each key still accepts only its own).
    pub fn default_algorithms(&self) -> Vec<Algorithm> {
        match self {
            Self::Static {
                default_algorithm, ..
            } => vec![*default_algorithm],
            Self::Jwks(_) => [
                AlgorithmFamily::Rsa,
                AlgorithmFamily::Ec,
                AlgorithmFamily::Ed,
            ]
            .iter()
            .flat_map(|f| f.algorithms().iter().copied())
            .collect(),
        }
    }

    /// Refuses configurations that would let a token pick a key of another family, such as
    /// HS256 beside a public key (the algorithm-confusion attack).
    pub fn check_algorithms(&self, algorithms: &[Algorithm]) -> anyhow::Result<()> {
        for alg in algorithms {
            let fits = match self {
                Self::Static { key, .. } => alg.family() == key.family(),
                Self::Jwks(_) => alg.family() != AlgorithmFamily::Hmac,
            };
            if !fits {
                bail!("JWT_ALGORITHMS names {alg:?}, which the configured key cannot verify");
            }
        }
        Ok(())
    }

    pub async fn key_for(&self, header: &Header) -> Result<Arc<DecodingKey>, TokenError> {
        match self {
            Self::Static { key, .. } => Ok(key.clone()),
            Self::Jwks(jwks) => jwks.key(header.kid.as_deref(), header.alg).await,
        }
    }
}

fn public_key_from_pem(pem: &[u8]) -> Option<(DecodingKey, Algorithm)> {
    if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
        return Some((key, Algorithm::RS256));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(pem) {
        return Some((key, Algorithm::ES256));
    }
    DecodingKey::from_ed_pem(pem)
        .ok()
        .map(|key| (key, Algorithm::EdDSA))
}

/// The development secret: read from the data directory, or generated there on first use
/// (readable by its owner only).
pub fn dev_secret(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(DEV_SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => return Ok(secret.trim().to_owned()),
        Ok(_) => bail!(
            "{} is empty; delete it to generate a new one",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if private_file::create_new(&path, secret.as_bytes())? {
        Ok(secret)
    } else {
        // Another process created it first: use theirs.
        dev_secret(data_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_secret_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = dev_secret(dir.path()).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(dev_secret(dir.path()).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(DEV_SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
