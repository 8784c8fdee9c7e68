//! The profile columns this service owns on the auth-service's `users` table, their
//! validation, and how a partial update applies to them.

use std::str::FromStr;

use chrono_tz::Tz;
use url::Url;

use super::{FieldError, Patch, social::FollowPolicy, text, week::WeekStart};

pub const DISPLAY_NAME_MAX: usize = 100;
pub const BIO_MAX: usize = 500;
pub const SKILLS_MAX: usize = 30;
pub const SKILL_MAX: usize = 40;
pub const AVATAR_URL_MAX: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Blank text means "no display name".
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        Ok(text::clean(raw, DISPLAY_NAME_MAX, false)?.map(Self))
    }
}

/// The name a profile is shown under where one is drawn (the card): the display name, or
/// the username when there is none or it draws nothing (stored before such names were
/// refused, or written by another program).
pub fn shown_name<'a>(display_name: Option<&'a str>, username: &'a str) -> &'a str {
    display_name
        .filter(|name| text::is_visible(name))
        .unwrap_or(username)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bio(String);

impl Bio {
    /// Blank text means "no bio". Line breaks are kept.
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        Ok(text::clean(raw, BIO_MAX, true)?.map(Self))
    }
}

/// At most 30 skills, each 1–40 characters after trimming; a skill repeated in another
/// case is dropped, keeping the first spelling and the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skills(Vec<String>);

impl Skills {
    pub fn parse(raw: Vec<String>) -> Result<Self, Vec<FieldError>> {
        if raw.len() > SKILLS_MAX {
            return Err(vec![FieldError::new(
                "skills",
                format!("must have at most {SKILLS_MAX} items (got {})", raw.len()),
            )]);
        }
        let mut errors = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut skills = Vec::with_capacity(raw.len());
        for (i, item) in raw.iter().enumerate() {
            match text::required(item, SKILL_MAX) {
                Ok(skill) => {
                    if seen.insert(skill.to_lowercase()) {
                        skills.push(skill);
                    }
                }
                Err(message) => errors.push(FieldError::new(format!("skills[{i}]"), message)),
            }
        }
        if errors.is_empty() {
            Ok(Self(skills))
        } else {
            Err(errors)
        }
    }
}

/// An absolute `https` URL of a named host, without credentials, at most 2048
/// characters; or the empty string, for "no avatar". The host's last label starts with a
/// letter (so it is never read as an IP address) and no label has two hyphens in a row (so
/// it is never a malformed internationalised name). The OpenAPI document states this
/// expression; every string it admits also parses as a URL.
pub const AVATAR_URL_PATTERN: &str = concat!(
    r"^(|https://(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*",
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?",
    r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@/%-]*)?",
    r"(?:\?[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?",
    r"(?:#[A-Za-z0-9._~!$&'()*+,;=:@/?%-]*)?)$"
);

static AVATAR_URL: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(AVATAR_URL_PATTERN).expect("a valid expression"));

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarUrl(String);

impl AvatarUrl {
    /// The empty string means "no avatar".
    pub fn parse(raw: &str) -> Result<Option<Self>, String> {
        if raw.chars().count() > AVATAR_URL_MAX {
            return Err(format!("must be at most {AVATAR_URL_MAX} characters"));
        }
        if !AVATAR_URL.is_match(raw) || (!raw.is_empty() && Url::parse(raw).is_err()) {
            return Err(
                "must be an absolute https URL of a named host, without a user name or password"
                    .into(),
            );
        }
        Ok((!raw.is_empty()).then(|| Self(raw.to_owned())))
    }
}

/// An IANA time zone name such as `Europe/Paris`; it decides where a user's day begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl TimeZone {
    pub const UTC: Self = Self(Tz::UTC);

    pub fn parse(raw: &str) -> Result<Self, String> {
        Tz::from_str(raw)
            .map(Self)
            .map_err(|_| "must be an IANA time zone name such as Europe/Paris".to_owned())
    }

    /// A name read back from the database; an unknown one (written by another program)
    /// falls back to UTC rather than failing the read.
    pub fn from_stored(name: &str) -> Self {
        Self::parse(name).unwrap_or(Self::UTC)
    }

    pub fn tz(self) -> Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

/// The schema of a time zone name in the OpenAPI document: every name the service knows.
pub struct TimeZoneName;

impl utoipa::PartialSchema for TimeZoneName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
            .examples([serde_json::json!("Europe/Paris")])
            .into()
    }
}

impl utoipa::ToSchema for TimeZoneName {}

/// The profile as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub skills: Vec<String>,
    pub avatar_url: Option<String>,
    pub timezone: TimeZone,
    pub week_start: WeekStart,
    pub follow_policy: FollowPolicy,
    /// Whether `streak.at_risk.v1` and `partner_streak.at_risk.v1` reminders go out for the
    /// user's goals.
    pub reminders: bool,
}

impl Profile {
    /// A display name, a bio and enough skills to say who someone is.
    pub fn is_complete(&self) -> bool {
        self.display_name.is_some()
            && self.bio.is_some()
            && self.skills.len() >= super::badges::COMPLETE_PROFILE_SKILLS
    }
}

/// A validated partial update of a profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChanges {
    pub display_name: Patch<DisplayName>,
    pub bio: Patch<Bio>,
    pub skills: Patch<Skills>,
    pub avatar_url: Patch<AvatarUrl>,
    pub timezone: Patch<TimeZone>,
    pub week_start: Patch<WeekStart>,
    pub follow_policy: Patch<FollowPolicy>,
    pub reminders: Patch<bool>,
}

impl ProfileChanges {
    /// The profile after this update. Clearing skills leaves none; clearing the time zone
    /// returns it to UTC, and clearing the week start to Monday.
    pub fn apply(self, current: Profile) -> Profile {
        Profile {
            display_name: self
                .display_name
                .apply(current.display_name.map(DisplayName))
                .map(|v| v.0),
            bio: self.bio.apply(current.bio.map(Bio)).map(|v| v.0),
            skills: self
                .skills
                .apply(Some(Skills(current.skills)))
                .map_or_else(Vec::new, |v| v.0),
            avatar_url: self
                .avatar_url
                .apply(current.avatar_url.map(AvatarUrl))
                .map(|v| v.0),
            timezone: self
                .timezone
                .apply(Some(current.timezone))
                .unwrap_or(TimeZone::UTC),
            week_start: self
                .week_start
                .apply(Some(current.week_start))
                .unwrap_or_default(),
            follow_policy: self
                .follow_policy
                .apply(Some(current.follow_policy))
                .unwrap_or_default(),
            reminders: self
                .reminders
                .apply(Some(current.reminders))
                .unwrap_or(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> Profile {
        Profile {
            display_name: Some("Ada".into()),
            bio: Some("Counts things".into()),
            skills: vec!["maths".into()],
            avatar_url: None,
            timezone: TimeZone::parse("Europe/London").unwrap(),
            week_start: WeekStart::Sunday,
            follow_policy: FollowPolicy::Open,
            reminders: true,
        }
    }

    #[test]
    fn a_name_that_draws_nothing_is_shown_as_the_username() {
        assert_eq!(shown_name(Some("Ada"), "ada"), "Ada");
        assert_eq!(shown_name(None, "ada"), "ada");
        assert_eq!(shown_name(Some("\u{FFFE}\u{FFFF}"), "ada"), "ada");
        assert_eq!(shown_name(Some("\u{200B}\u{3164}"), "ada"), "ada");
    }

    #[test]
    fn skills_drop_case_insensitive_duplicates_keeping_first_spelling_and_order() {
        let skills = Skills::parse(vec![
            " Rust ".into(),
            "SQL".into(),
            "rust".into(),
            "sql".into(),
            "HTTP".into(),
        ])
        .unwrap();
        assert_eq!(skills.0, ["Rust", "SQL", "HTTP"]);
    }

    #[test]
    fn skills_are_bounded_in_count_and_length() {
        assert!(Skills::parse(vec!["x".into(); SKILLS_MAX]).is_ok());
        assert!(Skills::parse(vec!["x".into(); SKILLS_MAX + 1]).is_err());
        assert!(Skills::parse(vec!["x".repeat(SKILL_MAX)]).is_ok());
        let errors =
            Skills::parse(vec!["ok".into(), "x".repeat(SKILL_MAX + 1), "  ".into()]).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["skills[1]", "skills[2]"]);
    }

    #[test]
    fn avatar_urls_must_be_absolute_https_without_credentials() {
        assert!(
            AvatarUrl::parse("https://cdn.example.com/a.png")
                .unwrap()
                .is_some()
        );
        for bad in [
            "http://cdn.example.com/a.png",
            "/a.png",
            "javascript:alert(1)",
            "https://user:pw@cdn.example.com/a.png",
            "data:image/png;base64,AAAA",
        ] {
            assert!(AvatarUrl::parse(bad).is_err(), "{bad} was accepted");
        }
        let long = format!("https://example.com/{}", "a".repeat(AVATAR_URL_MAX));
        assert!(AvatarUrl::parse(&long).is_err());
    }

    proptest::proptest! {
        #[test]
        fn every_url_the_document_admits_is_accepted(url in AVATAR_URL_PATTERN.trim_start_matches('^').trim_end_matches('$')) {
            proptest::prop_assume!(url.chars().count() <= AVATAR_URL_MAX);
            proptest::prop_assert!(AvatarUrl::parse(&url).is_ok(), "{url}");
        }
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            TimeZone::parse("Pacific/Auckland").unwrap().name(),
            "Pacific/Auckland"
        );
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert!(TimeZone::parse("+05:00").is_err());
        assert_eq!(TimeZone::from_stored("nonsense"), TimeZone::UTC);
    }

    #[test]
    fn a_profile_is_complete_with_a_name_a_bio_and_three_skills() {
        let mut p = profile();
        assert!(!p.is_complete());
        p.skills = vec!["a".into(), "b".into(), "c".into()];
        assert!(p.is_complete());
        p.bio = None;
        assert!(!p.is_complete());
    }

    #[test]
    fn an_update_changes_only_the_fields_it_names() {
        let changes = ProfileChanges {
            bio: Patch::Clear,
            skills: Patch::Set(Skills::parse(vec!["Go".into()]).unwrap()),
            ..Default::default()
        };
        let updated = changes.apply(profile());
        assert_eq!(updated.display_name.as_deref(), Some("Ada"));
        assert_eq!(updated.bio, None);
        assert_eq!(updated.skills, ["Go"]);
        assert_eq!(updated.timezone.name(), "Europe/London");
        assert_eq!(updated.week_start, WeekStart::Sunday);
    }

    #[test]
    fn clearing_the_week_start_returns_to_monday() {
        let changes = ProfileChanges {
            week_start: Patch::Clear,
            ..Default::default()
        };
        assert_eq!(changes.apply(profile()).week_start, WeekStart::Monday);
        let changes = ProfileChanges {
            week_start: Patch::Set(WeekStart::Monday),
            ..Default::default()
        };
        assert_eq!(changes.apply(profile()).week_start, WeekStart::Monday);
    }

    #[test]
    fn clearing_the_time_zone_returns_to_utc_and_clearing_skills_leaves_none() {
        let changes = ProfileChanges {
            timezone: Patch::Clear,
            skills: Patch::Clear,
            ..Default::default()
        };
        let updated = changes.apply(profile());
        assert_eq!(updated.timezone, TimeZone::UTC);
        assert!(updated.skills.is_empty());
    }
}
