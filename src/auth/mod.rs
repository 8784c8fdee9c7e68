//! Authentication: the auth-service mints JWTs; this service only verifies them.
//!
//! - [`keys`] turns the configuration into verification keys: an HS256 shared secret (or a
//!   generated development secret), a PEM public key, or a JWKS endpoint ([`jwks`]).
//! - [`Authenticator::verify`] checks a token against RFC 8725's advice and yields the caller.
//! - [`AuthUser`] is the axum extractor handlers take to require a caller.
//! - [`denylist`] refuses tokens the auth-service revoked (its logout) before they expire, as
//!   its shared table lists them; [`revocations`] as its messages report them.

pub mod denylist;
mod extract;
pub mod jwks;
pub mod keys;
pub mod revocations;

use std::collections::HashSet;

use anyhow::{Context, bail};
use jsonwebtoken::{Algorithm, Header, Validation, decode, decode_header};
use serde_json::{Map, Value};

use denylist::Denylist;
pub use extract::{AuthUser, bearer_token};
use keys::KeySource;
use revocations::{Presented, Revocations, Verdict};

use crate::{
    config::JwtConfig,
    db::DenylistTable,
    domain::{
        UserId,
        revocation::{epoch_seconds, plausible_jti},
    },
};

/// Tokens longer than this are refused before any parsing or cryptography.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The caller a valid token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub scopes: Vec<String>,
}

impl Caller {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Why a token was refused. Logged, never sent: the client only learns "invalid_token".
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token longer than {MAX_TOKEN_BYTES} bytes")]
    TooLong,
    #[error("malformed token: {}", describe(.0))]
    Malformed(jsonwebtoken::errors::Error),
    #[error("algorithm {0:?} is not accepted")]
    AlgorithmNotAccepted(Algorithm),
    #[error("header parameter `{0}` is not accepted")]
    ForbiddenHeader(&'static str),
    #[error("`kid` is not a plausible key id")]
    ImplausibleKid,
    #[error("`typ` is not the required one")]
    WrongType,
    #[error("no key for this token: {0}")]
    UnknownKey(String),
    #[error("rejected: {}", describe(.0))]
    Rejected(jsonwebtoken::errors::Error),
    #[error("user claim `{0}` is missing or not a positive 64-bit integer")]
    BadUserClaim(String),
    #[error("claim `{0}` is missing or does not have the required value")]
    RequiredClaim(String),
    #[error("no plausible `jti`, which the deny-list needs")]
    NoJti,
    #[error("revoked: its `jti` is on the deny-list")]
    Revoked,
    #[error("revoked: it was issued before its user's tokens were revoked")]
    RevokedForUser,
}

impl TokenError {
    /// A fixed word for the metrics: the kind of refusal, never anything from the token.
    pub fn reason(&self) -> &'static str {
        use jsonwebtoken::errors::ErrorKind as K;
        match self {
            Self::TooLong => "too_long",
            Self::Malformed(_) => "malformed",
            Self::AlgorithmNotAccepted(_) => "algorithm_not_accepted",
            Self::ForbiddenHeader(_) => "forbidden_header",
            Self::ImplausibleKid => "implausible_kid",
            Self::WrongType => "wrong_typ",
            Self::UnknownKey(_) => "unknown_key",
            Self::Rejected(err) => match err.kind() {
                K::InvalidSignature => "bad_signature",
                K::ExpiredSignature => "expired",
                K::ImmatureSignature => "not_yet_valid",
                K::InvalidIssuer => "wrong_issuer",
                K::InvalidAudience => "wrong_audience",
                K::MissingRequiredClaim(_) => "missing_claim",
                _ => "invalid",
            },
            Self::BadUserClaim(_) => "bad_user_claim",
            Self::RequiredClaim(_) => "required_claim",
            Self::NoJti => "no_jti",
            Self::Revoked | Self::RevokedForUser => "denied",
        }
    }
}

/// Why a token was not accepted: the token itself, or a deny-list that could not be read
/// (the request may succeed a moment later).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Denylist(#[from] denylist::Unreadable),
}

/// A claim every token must carry with exactly this value (`JWT_REQUIRED_CLAIMS`).
#[derive(Debug, Clone, PartialEq)]
pub struct RequiredClaim {
    pub name: String,
    pub value: Value,
}

impl RequiredClaim {
    /// `name=value`, where the value is a JSON number (`ver=2`), a JSON string
    /// (`type="access"`), or bare text, read as a string (`type=access`).
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let (name, value) = raw
            .split_once('=')
            .with_context(|| format!("JWT_REQUIRED_CLAIMS: {raw:?} is not name=value"))?;
        let (name, value) = (name.trim(), value.trim());
        if name.is_empty() || value.is_empty() {
            bail!("JWT_REQUIRED_CLAIMS: {raw:?} needs a claim name and a value");
        }
        let value = match serde_json::from_str::<Value>(value) {
            Ok(json @ (Value::Number(_) | Value::String(_))) => json,
            _ => Value::String(value.to_owned()),
        };
        Ok(Self {
            name: name.to_owned(),
            value,
        })
    }
}

pub struct Authenticator {
    keys: KeySource,
    /// One validation per accepted algorithm: jsonwebtoken refuses a key unless every
    /// algorithm its validation lists belongs to the key's family, so each token is checked
    /// against a validation that lists only its own.
    validations: Vec<(Algorithm, Validation)>,
    user_claim: String,
    required_typ: Option<String>,
    required_claims: Vec<RequiredClaim>,
    denylist: Option<Denylist>,
    revocations: Option<Revocations>,
}

impl Authenticator {
    pub async fn from_config(
        config: &JwtConfig,
        dev_secret: Option<String>,
    ) -> anyhow::Result<Self> {
        let keys = KeySource::from_config(config, dev_secret).await?;
        let algorithms = if config.jwt_algorithms.is_empty() {
            keys.default_algorithms()
        } else {
            config.jwt_algorithms.clone()
        };
        keys.check_algorithms(&algorithms)?;
        let validations = algorithms
            .into_iter()
            .map(|alg| (alg, validation(alg, config)))
            .collect();
        let required_claims = config
            .jwt_required_claims
            .iter()
            .filter(|raw| !raw.trim().is_empty())
            .map(|raw| RequiredClaim::parse(raw))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            keys,
            validations,
            user_claim: config.jwt_user_claim.clone(),
            required_typ: config.jwt_required_typ.as_deref().map(media_type),
            required_claims,
            denylist: None,
            revocations: None,
        })
    }

    /// Also refuses tokens on this deny-list, and tokens without a `jti`.
    pub fn with_denylist(mut self, denylist: Denylist) -> Self {
        self.denylist = Some(denylist);
        self
    }

    /// Also refuses the tokens this service's own deny-list names (see [`revocations`]).
    pub fn with_revocations(mut self, revocations: Revocations) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// The table of `JWT_DENYLIST_TABLE`, which readiness waits for.
    pub fn denylist_table(&self) -> Option<&DenylistTable> {
        self.denylist.as_ref().map(Denylist::table)
    }

    /// Verifies a bearer token and names its caller.
    pub async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLong.into());
        }
        let header = decode_header(token).map_err(TokenError::Malformed)?;
        check_header(&header)?;
        if let Some(required) = &self.required_typ
            && header.typ.as_deref().map(media_type).as_ref() != Some(required)
        {
            return Err(TokenError::WrongType.into());
        }
        let Some((_, validation)) = self.validations.iter().find(|(alg, _)| *alg == header.alg)
        else {
            return Err(TokenError::AlgorithmNotAccepted(header.alg).into());
        };
        let key = self.keys.key_for(&header).await?;
        let claims = decode::<Map<String, Value>>(token, &key, validation)
            .map_err(TokenError::Rejected)?
            .claims;
        let user_id = claims
            .get(&self.user_claim)
            .and_then(user_id_from_claim)
            .ok_or_else(|| TokenError::BadUserClaim(self.user_claim.clone()))?;
        if let Some(missing) = self
            .required_claims
            .iter()
            .find(|required| claims.get(&required.name) != Some(&required.value))
        {
            return Err(TokenError::RequiredClaim(missing.name.clone()).into());
        }
        if let Some(denylist) = &self.denylist {
            let jti = claims
                .get("jti")
                .and_then(Value::as_str)
                .filter(|jti| plausible_jti(jti))
                .ok_or(TokenError::NoJti)?;
            if denylist.is_revoked(jti).await? {
                return Err(TokenError::Revoked.into());
            }
        }
        if let Some(revocations) = &self.revocations {
            let jti = claims
                .get("jti")
                .and_then(Value::as_str)
                .filter(|jti| plausible_jti(jti));
            let presented = Presented {
                jti,
                user: user_id,
                iat: claims
                    .get("iat")
                    .and_then(Value::as_f64)
                    .and_then(epoch_seconds),
            };
            match revocations.verdict(presented).await? {
                Verdict::Accepted => {}
                Verdict::Listed => return Err(TokenError::Revoked.into()),
                Verdict::CutOff => return Err(TokenError::RevokedForUser.into()),
            }
        }
        Ok(Caller {
            user_id,
            scopes: scopes(&claims),
        })
    }
}

/// What a token signed with `alg` must satisfy: an `exp` (and `nbf` when present) within the
/// leeway, and the configured issuer and audience, which are then required claims.
fn validation(alg: Algorithm, config: &JwtConfig) -> Validation {
    let mut validation = Validation::new(alg);
    validation.leeway = config.jwt_leeway_secs;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp"]);
    match &config.jwt_audience {
        Some(aud) => {
            validation.set_audience(&[aud]);
            validation.required_spec_claims.insert("aud".into());
        }
        // Without a configured audience any `aud` is acceptable.
        None => validation.validate_aud = false,
    }
    if let Some(iss) = &config.jwt_issuer {
        validation.set_issuer(&[iss]);
        validation.required_spec_claims.insert("iss".into());
    }
    validation
}

/// A short reason for the logs. jsonwebtoken's own messages may quote claim values, which
/// can be personal data, so only the kind of failure is kept.
fn describe(err: &jsonwebtoken::errors::Error) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match err.kind() {
        K::InvalidToken => "not three base64url segments",
        K::InvalidSignature => "bad signature",
        K::ExpiredSignature => "expired",
        K::ImmatureSignature => "not valid yet (nbf)",
        K::InvalidIssuer => "wrong issuer",
        K::InvalidAudience => "wrong audience",
        K::InvalidSubject => "wrong subject",
        K::MissingRequiredClaim(_) => "a required claim is missing",
        K::InvalidClaimFormat(_) => "a claim has the wrong type",
        K::InvalidAlgorithm | K::InvalidAlgorithmName | K::MissingAlgorithm => {
            "algorithm not accepted"
        }
        K::Base64(_) => "bad base64url",
        K::Json(_) => "bad JSON",
        K::Utf8(_) => "bad UTF-8",
        _ => "key or format not usable",
    }
}

/// Header parameters that would make us fetch or trust key material named by the token
/// itself, or that demand extensions we do not implement (RFC 8725 §3.10, RFC 7515 §4.1.11).
fn check_header(header: &Header) -> Result<(), TokenError> {
    let forbidden = [
        ("jku", header.jku.is_some()),
        ("x5u", header.x5u.is_some()),
        ("jwk", header.jwk.is_some()),
        ("x5c", header.x5c.is_some()),
        ("crit", header.crit.is_some()),
    ];
    if let Some((name, _)) = forbidden.into_iter().find(|(_, present)| *present) {
        return Err(TokenError::ForbiddenHeader(name));
    }
    match &header.kid {
        Some(kid) if !plausible_kid(kid) => Err(TokenError::ImplausibleKid),
        _ => Ok(()),
    }
}

/// Key ids are opaque, but real ones are short and printable: one with path separators,
/// quotes, spaces or controls is an attack on some lookup, refused before any.
fn plausible_kid(kid: &str) -> bool {
    (1..=256).contains(&kid.len())
        && !kid.contains("..")
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+=@#".contains(&b))
}

/// A `typ` compared as a media type: case-insensitive, `application/` optional (RFC 7515
/// §4.1.9).
fn media_type(typ: &str) -> String {
    let typ = typ.trim().to_ascii_lowercase();
    typ.strip_prefix("application/")
        .map(str::to_owned)
        .unwrap_or(typ)
}

/// A user id claim may be a JSON number or a string of decimal digits in canonical form:
/// no sign, no spaces, no leading zero (`"01"` is not user 1).
fn user_id_from_claim(value: &Value) -> Option<UserId> {
    match value {
        Value::Number(n) => n.as_i64().and_then(|n| UserId::parse(n).ok()),
        Value::String(s) if s.starts_with('0') => None,
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Scopes from the `scope` claim, separated by single spaces as RFC 6749 §3.3 says (a tab is
/// part of a scope, not a separator), or a `scopes` array.
fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut scopes: Vec<String> = match claims.get("scope") {
        Some(Value::String(s)) => s
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if let Some(Value::Array(items)) = claims.get("scopes") {
        scopes.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    let mut seen = HashSet::new();
    scopes.retain(|s| seen.insert(s.clone()));
    scopes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn user_ids_come_from_numbers_or_digit_strings() {
        assert_eq!(user_id_from_claim(&json!(7)).map(UserId::get), Some(7));
        assert_eq!(user_id_from_claim(&json!("7")).map(UserId::get), Some(7));
        for bad in [
            json!(0),
            json!(-3),
            json!("0"),
            json!("01"),
            json!("+1"),
            json!(" 1"),
            json!("1 "),
            json!("abc"),
            json!("18446744073709551616"),
            json!(18446744073709551615u64),
            json!(1.5),
            json!(null),
            json!(["1"]),
        ] {
            assert_eq!(user_id_from_claim(&bad), None, "{bad} was accepted");
        }
    }

    fn authenticator() -> Authenticator {
        let mut jwt: JwtConfig = crate::config::from_env();
        jwt.jwt_secret = Some("fuzz-secret".into());
        jwt.jwt_public_key = None;
        jwt.jwt_jwks_url = None;
        jwt.jwt_algorithms = Vec::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(Authenticator::from_config(&jwt, None))
            .unwrap()
    }

    fn b64(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    proptest::proptest! {
        /// Whatever arrives as a bearer token, verification answers; it never panics.
        #[test]
        fn verifying_arbitrary_tokens_never_panics(
            raw in ".{0,64}",
            header in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            json_header in r#"\{"alg":"(HS256|none|RS256|ES256|xx)"(,"kid":".{0,8}")?(,"typ":".{0,6}")?\}"#,
            json_payload in r#"\{("sub":(-?[0-9]{1,22}|".{0,22}"|null|\[\]))?(,"exp":-?[0-9]{1,12})?\}"#,
        ) {
            let auth = authenticator();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            for token in [
                raw,
                format!("{}.{}.{}", b64(&header), b64(&payload), b64(&header)),
                format!("{}.{}.", b64(json_header.as_bytes()), b64(json_payload.as_bytes())),
                format!("{}.{}.c2ln", b64(json_header.as_bytes()), b64(json_payload.as_bytes())),
            ] {
                let _ = runtime.block_on(auth.verify(&token));
            }
        }
    }

    #[test]
    fn key_ids_must_look_like_key_ids() {
        for good in ["2024-06-rsa", "key_1", "a1b2c3", "kid:prod#3", "abc+def="] {
            assert!(plausible_kid(good), "{good}");
        }
        for bad in [
            "../../dev/null",
            "' OR 1=1--",
            "a b",
            "a/b",
            "",
            "x\u{0}",
            &"k".repeat(257),
        ] {
            assert!(!plausible_kid(bad), "{bad:?}");
        }
    }

    #[test]
    fn required_claims_are_strings_unless_written_as_json_numbers() {
        let access = RequiredClaim::parse("type=access").unwrap();
        assert_eq!(
            (access.name.as_str(), access.value),
            ("type", json!("access"))
        );
        assert_eq!(RequiredClaim::parse(" ver = 2 ").unwrap().value, json!(2));
        assert_eq!(RequiredClaim::parse("ver=\"2\"").unwrap().value, json!("2"));
        assert_eq!(
            RequiredClaim::parse("ok=true").unwrap().value,
            json!("true")
        );
        for bad in ["type", "=access", "type=", " = "] {
            assert!(RequiredClaim::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn token_types_compare_as_media_types() {
        assert_eq!(media_type("application/AT+JWT"), "at+jwt");
        assert_eq!(media_type("at+jwt"), "at+jwt");
        assert_ne!(media_type("JWT"), "at+jwt");
    }

    #[test]
    fn scopes_come_from_the_scope_string_or_the_scopes_array() {
        let claims = json!({"scope": "badges:award  profile", "scopes": ["extra", "profile"]});
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        assert_eq!(scopes(&claims), ["badges:award", "profile", "extra"]);
    }

    #[test]
    fn scopes_are_separated_by_spaces_only() {
        let claims = json!({"scope": "x\tbadges:award read\nwrite"});
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        assert_eq!(scopes(&claims), ["x\tbadges:award", "read\nwrite"]);
    }
}
