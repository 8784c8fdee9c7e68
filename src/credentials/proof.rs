//! A Data Integrity proof of the `eddsa-rdfc-2022` cryptosuite (W3C, Data Integrity EdDSA
//! Cryptosuites v1.0, §3.3), made from SpruceID's JSON-LD expansion (`ssi-json-ld`, with the
//! bundled contexts) and RDF canonicalization (`ssi-rdf`).
//!
//! The suite's own steps are few and written here: the proof configuration takes the
//! document's `@context`; both are canonicalized to N-Quads; the signature is Ed25519 over
//! SHA-256(configuration) followed by SHA-256(document); `proofValue` is its base58btc
//! multibase. `ssi-data-integrity`, which has them too, would turn on serde_json's
//! `arbitrary_precision` for the whole binary (see the README's "Verifiable badges").

use anyhow::Context;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use ssi_json_ld::{CompactJsonLd, ContextLoader, Expandable, syntax::Parse};
use ssi_rdf::{AnyLdEnvironment, LdEnvironment};

/// What the proof says besides its value.
#[derive(Debug, Clone, Copy)]
pub struct ProofOptions<'a> {
    /// The key's URL, a DID URL of the issuer.
    pub verification_method: &'a str,
    /// When the proof was made: left out of our proofs so that a document always gets the
    /// same one (Ed25519 is deterministic), and its entity tag moves only with its content.
    pub created: Option<&'a str>,
}

/// `document` with an `eddsa-rdfc-2022` proof for assertions, by `key`. A document the
/// contexts cannot expand is refused.
pub async fn prove(
    document: &Value,
    options: ProofOptions<'_>,
    key: &SigningKey,
    loader: &ContextLoader,
) -> anyhow::Result<Value> {
    let context = document
        .get("@context")
        .context("the document has no @context")?;
    let mut proof = json!({
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": options.verification_method,
        "proofPurpose": "assertionMethod",
    });
    if let Some(created) = options.created {
        proof["created"] = created.into();
    }
    let mut configuration = proof.clone();
    configuration["@context"] = context.clone();
    let mut signed_bytes = Sha256::digest(canonical(&configuration, loader).await?).to_vec();
    signed_bytes.extend(Sha256::digest(canonical(document, loader).await?));
    let signature = key.sign(&signed_bytes);
    proof["proofValue"] = format!("z{}", bs58::encode(signature.to_bytes()).into_string()).into();
    let mut signed = document.clone();
    signed["proof"] = proof;
    Ok(signed)
}

/// The RDF canonical form (RDFC-1.0) of a JSON-LD document, as N-Quads.
async fn canonical(document: &Value, loader: &ContextLoader) -> anyhow::Result<String> {
    let (json, _) = ssi_json_ld::syntax::Value::parse_str(&document.to_string())
        .context("re-reading a JSON document")?;
    let mut ld = LdEnvironment::default();
    let expanded = CompactJsonLd(json)
        .expand_with(&mut ld, loader)
        .await
        .map_err(|err| anyhow::anyhow!("JSON-LD expansion: {err}"))?;
    Ok(ld
        .canonical_form_of(&expanded)
        .context("JSON-LD to RDF")?
        .concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's test vector (vc-di-eddsa, appendix B.1): its key, its Alumni
    /// credential and its proof options give its proof value.
    #[tokio::test]
    async fn the_specifications_test_vector_gets_the_specifications_proof_value() {
        let secret = bs58::decode("3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")
            .into_vec()
            .unwrap();
        // Multicodec ed25519-priv (0x1300, as the varint 0x80 0x26), then the seed.
        assert_eq!(secret[..2], [0x80, 0x26]);
        let key = SigningKey::from_bytes(&secret[2..].try_into().unwrap());
        let public = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
        let method = format!("did:key:{public}#{public}");
        let document = json!({
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "https://www.w3.org/ns/credentials/examples/v2"
            ],
            "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
            "type": ["VerifiableCredential", "AlumniCredential"],
            "name": "Alumni Credential",
            "description": "A minimum viable example of an Alumni Credential.",
            "issuer": "https://vc.example/issuers/5678",
            "validFrom": "2023-01-01T00:00:00Z",
            "credentialSubject": {
                "id": "did:example:abcdefgh",
                "alumniOf": "The School of Examples"
            }
        });
        let options = ProofOptions {
            verification_method: &method,
            created: Some("2023-02-24T23:36:38Z"),
        };

        let signed = prove(&document, options, &key, &ContextLoader::default())
            .await
            .unwrap();

        assert_eq!(
            signed["proof"],
            json!({
                "type": "DataIntegrityProof",
                "cryptosuite": "eddsa-rdfc-2022",
                "created": "2023-02-24T23:36:38Z",
                "verificationMethod": method,
                "proofPurpose": "assertionMethod",
                "proofValue": "z2YwC8z3ap7yx1nZYCg4L3j3ApHsF8kgPdSb5xoS1VR7vPG3F561B52hYnQF9iseabecm3ijx4K1FBTQsCZahKZme"
            })
        );
        let mut unsigned = signed.clone();
        unsigned.as_object_mut().unwrap().remove("proof");
        assert_eq!(unsigned, document);
    }
}
