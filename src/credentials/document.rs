//! The unsigned documents: an award as an Open Badges 3.0 `OpenBadgeCredential`, and a
//! status list as a `BitstringStatusListCredential`. Plain functions of stored data, so the
//! same award always reads the same (and, signed, carries the same proof).

use chrono::SecondsFormat;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use super::status_list::{self, StatusPosition};
use crate::db::CredentialAward;

/// The JSON-LD context of the Verifiable Credentials Data Model 2.0; it also defines the
/// Data Integrity proof and the Bitstring Status List terms.
pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The JSON-LD context of Open Badges 3.0 (its release for VC 2.0).
pub const OB_V3_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";

/// The platform that issues the credentials: its name and its public address, under which
/// the gateway serves this service's `/users/…` routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub name: String,
    pub url: Url,
}

impl Platform {
    /// An address on the platform: `path` starts with `/`, after the platform URL's own
    /// path (without its trailing slash).
    pub fn address(&self, path: &str) -> String {
        format!("{}{path}", self.url.as_str().trim_end_matches('/'))
    }

    /// Where the gateway serves status list `list`.
    pub fn status_list_url(&self, list: u64) -> String {
        self.address(&format!("/users/credentials/status/{list}"))
    }
}

/// The award as an `OpenBadgeCredential` issued by `issuer` (a DID), without its proof.
///
/// The recipient is the user's public profile URL, never the email: see the README's
/// "Verifiable badges". The credential's `id` is a UUID drawn from the issuer and the
/// award's status index, which no other award shares, so a badge awarded again (after a
/// revocation) is another credential.
pub fn badge_credential(platform: &Platform, issuer: &str, award: &CredentialAward) -> Value {
    let position =
        StatusPosition::of(award.status_index).expect("the database numbers status indexes from 1");
    let list_url = platform.status_list_url(position.list);
    let mut achievement = json!({
        "id": platform.address(&format!("/users/badges#{}", award.code)),
        "type": ["Achievement"],
        "name": award.name,
        "description": award.description,
        "criteria": {"narrative": award.criteria},
    });
    if let Some(icon) = &award.icon_url {
        // A catalog icon is a path on the platform (the built-in badges') or a URL.
        let image = match Url::parse(icon) {
            Ok(url) => url.to_string(),
            Err(_) => platform.address(icon),
        };
        achievement["image"] = json!({"id": image, "type": "Image"});
    }
    json!({
        "@context": [VC_V2_CONTEXT, OB_V3_CONTEXT],
        "id": credential_id(issuer, award.status_index),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": award.name,
        "issuer": {
            "id": issuer,
            "type": ["Profile"],
            "name": platform.name,
            "url": platform.address(""),
        },
        "validFrom": award.awarded_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "credentialSubject": {
            "id": platform.address(&format!("/users/{}", award.user_id)),
            "type": ["AchievementSubject"],
            "achievement": achievement,
        },
        "credentialStatus": {
            "id": format!("{list_url}#{}", position.bit),
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": position.bit.to_string(),
            "statusListCredential": list_url,
        },
    })
}

/// Status list `list` as a `BitstringStatusListCredential` issued by `issuer`, without its
/// proof: `revoked` are the status indexes revoked in it.
pub fn status_list_credential(
    platform: &Platform,
    issuer: &str,
    list: u64,
    revoked: &[i64],
) -> Value {
    let url = platform.status_list_url(list);
    let bits = revoked
        .iter()
        .filter_map(|index| StatusPosition::of(*index))
        .filter(|position| position.list == list)
        .map(|position| position.bit);
    json!({
        "@context": [VC_V2_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": status_list::encode(bits),
        },
    })
}

/// `urn:uuid:` of a version-8 UUID (RFC 9562) made from a digest of the issuer and the
/// status index.
fn credential_id(issuer: &str, status_index: i64) -> String {
    let digest = Sha256::new()
        .chain_update(b"user-service badge credential\x1f")
        .chain_update(issuer.as_bytes())
        .chain_update(b"\x1f")
        .chain_update(status_index.to_be_bytes())
        .finalize();
    let bytes: [u8; 16] = digest[..16]
        .try_into()
        .expect("a SHA-256 digest has 32 bytes");
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .urn()
        .to_string()
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::domain::UserId;

    const ISSUER: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

    fn platform() -> Platform {
        Platform {
            name: "Learning platform".into(),
            url: Url::parse("https://learn.example.com/").unwrap(),
        }
    }

    fn award(status_index: i64, icon_url: Option<&str>) -> CredentialAward {
        CredentialAward {
            user_id: UserId::parse(42).unwrap(),
            code: "streak-7".into(),
            name: "Week streak".into(),
            description: "Seven days in a row".into(),
            criteria: "Check in on one goal seven days in a row.".into(),
            icon_url: icon_url.map(str::to_owned),
            awarded_at: Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
                + chrono::Duration::milliseconds(250),
            status_index,
        }
    }

    #[test]
    fn an_award_reads_as_an_open_badge_credential_of_the_platform() {
        let vc = badge_credential(
            &platform(),
            ISSUER,
            &award(131_075, Some("/badges/streak-7.svg")),
        );
        assert_eq!(vc["@context"], json!([VC_V2_CONTEXT, OB_V3_CONTEXT]));
        assert_eq!(
            vc["type"],
            json!(["VerifiableCredential", "OpenBadgeCredential"])
        );
        assert_eq!(
            vc["issuer"],
            json!({"id": ISSUER, "type": ["Profile"], "name": "Learning platform", "url": "https://learn.example.com"})
        );
        // Whole seconds, so a verifier never sees the award as being in the future.
        assert_eq!(vc["validFrom"], "2026-03-10T12:00:00Z");
        let subject = &vc["credentialSubject"];
        assert_eq!(subject["id"], "https://learn.example.com/users/42");
        assert_eq!(subject["type"], json!(["AchievementSubject"]));
        assert_eq!(
            subject["achievement"],
            json!({
                "id": "https://learn.example.com/users/badges#streak-7",
                "type": ["Achievement"],
                "name": "Week streak",
                "description": "Seven days in a row",
                "criteria": {"narrative": "Check in on one goal seven days in a row."},
                "image": {"id": "https://learn.example.com/badges/streak-7.svg", "type": "Image"},
            })
        );
        assert_eq!(
            vc["credentialStatus"],
            json!({
                "id": "https://learn.example.com/users/credentials/status/2#3",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "3",
                "statusListCredential": "https://learn.example.com/users/credentials/status/2",
            })
        );
    }

    #[test]
    fn an_icon_given_as_a_url_is_kept_and_no_icon_means_no_image() {
        let vc = badge_credential(
            &platform(),
            ISSUER,
            &award(5, Some("https://cdn.example.org/m.png")),
        );
        assert_eq!(
            vc["credentialSubject"]["achievement"]["image"]["id"],
            "https://cdn.example.org/m.png"
        );
        let vc = badge_credential(&platform(), ISSUER, &award(5, None));
        assert!(
            vc["credentialSubject"]["achievement"]
                .get("image")
                .is_none()
        );
    }

    #[test]
    fn each_award_is_a_credential_of_its_own_and_the_same_award_always_the_same() {
        let id = |index| badge_credential(&platform(), ISSUER, &award(index, None))["id"].clone();
        assert_eq!(id(5), id(5));
        assert_ne!(id(5), id(6));
        let text = id(5).as_str().unwrap().to_owned();
        let uuid = uuid::Uuid::parse_str(text.strip_prefix("urn:uuid:").unwrap()).unwrap();
        assert_eq!(uuid.get_version_num(), 8);
    }

    #[test]
    fn a_platform_url_with_a_path_keeps_it_in_every_address() {
        let platform = Platform {
            name: "P".into(),
            url: Url::parse("https://example.org/learn").unwrap(),
        };
        assert_eq!(
            platform.status_list_url(1),
            "https://example.org/learn/users/credentials/status/1"
        );
    }

    #[test]
    fn a_status_list_sets_the_bits_of_its_revoked_indexes_only() {
        let list = status_list_credential(&platform(), ISSUER, 1, &[3, 131_072]);
        assert_eq!(
            list["id"],
            "https://learn.example.com/users/credentials/status/1"
        );
        assert_eq!(
            list["type"],
            json!(["VerifiableCredential", "BitstringStatusListCredential"])
        );
        assert_eq!(list["issuer"], ISSUER);
        let subject = &list["credentialSubject"];
        assert_eq!(subject["type"], "BitstringStatusList");
        assert_eq!(subject["statusPurpose"], "revocation");
        assert_eq!(subject["encodedList"], status_list::encode([3]));
    }
}
