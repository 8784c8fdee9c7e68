//! The issuer's Ed25519 signing key: a PKCS#8 PEM file named by `CREDENTIALS_SIGNING_KEY`,
//! or, with none configured, a development key generated in the data directory and kept
//! there (readable by its owner only), as the development JWT secret is.

use std::path::Path;

use anyhow::{Context, bail};
use ed25519_dalek::{
    SigningKey,
    pkcs8::{DecodePrivateKey, EncodePrivateKey, spki::der::pem::LineEnding},
};
use rand::RngCore;

/// The development key's file in the data directory.
pub const DEV_KEY_FILE: &str = "dev-credentials-key.pem";

/// The key in a PEM file (`-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -algorithm
/// ed25519` writes it).
pub fn from_pem_file(path: &Path) -> anyhow::Result<SigningKey> {
    let pem = std::fs::read_to_string(path)
        .with_context(|| format!("reading CREDENTIALS_SIGNING_KEY {}", path.display()))?;
    SigningKey::from_pkcs8_pem(&pem).map_err(|_| {
        anyhow::anyhow!(
            "CREDENTIALS_SIGNING_KEY {} is not an Ed25519 private key in PKCS#8 PEM",
            path.display()
        )
    })
}

/// The development key: read from the data directory, or generated there on first use.
pub fn dev_key(data_dir: &Path) -> anyhow::Result<SigningKey> {
    let path = data_dir.join(DEV_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(pem) if pem.trim().is_empty() => bail!(
            "{} is empty; delete it to generate a new one",
            path.display()
        ),
        Ok(pem) => {
            return SigningKey::from_pkcs8_pem(&pem).map_err(|_| {
                anyhow::anyhow!(
                    "{} is not an Ed25519 private key in PKCS#8 PEM; delete it to generate a new one",
                    path.display()
                )
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let mut seed = [0u8; 32];
    rand::rng().fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let pem = key
        .to_pkcs8_pem(LineEnding::LF)
        .context("encoding the development signing key")?;
    if crate::private_file::create_new(&path, pem.as_bytes())? {
        Ok(key)
    } else {
        // Another process created it first: use theirs.
        dev_key(data_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_key_is_generated_once_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = dev_key(&data).unwrap();
        let again = dev_key(&data).unwrap();
        assert_eq!(first.to_bytes(), again.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(data.join(DEV_KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        assert_ne!(dev_key(other.path()).unwrap().to_bytes(), first.to_bytes());
    }

    #[test]
    fn a_configured_key_is_read_from_pem_and_anything_else_is_refused_naming_the_setting() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        assert!(from_pem_file(&fixtures.join("ed_private.pem")).is_ok());
        let error = from_pem_file(&fixtures.join("rsa_private.pem")).unwrap_err();
        assert!(
            error.to_string().contains("CREDENTIALS_SIGNING_KEY"),
            "{error}"
        );
        let error = from_pem_file(&fixtures.join("missing.pem")).unwrap_err();
        assert!(
            error.to_string().contains("CREDENTIALS_SIGNING_KEY"),
            "{error}"
        );
    }
}
