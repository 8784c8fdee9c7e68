//! Badge rules: which badge a write earns. Each rule is a line of data: a badge code, the
//! measure it looks at, and the threshold that earns it. Adding a rule for an existing
//! measure is one line here (and a catalog entry); the services award whatever
//! [`earned`] returns, in the transaction of the write that earned it.

/// A badge's code in the catalog: 1–64 lowercase letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadgeCode(String);

/// The codes [`BadgeCode::parse`] accepts, as the OpenAPI document states them.
pub const CODE_PATTERN: &str = "^[a-z0-9-]{1,64}$";

impl BadgeCode {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let is_code = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if raw.is_empty() || raw.len() > 64 || !raw.chars().all(is_code) {
            return Err("must be 1-64 lowercase letters, digits and dashes".into());
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

use super::{GoalStatus, streak::StreakUnit};

/// How hard a badge is to earn.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Bronze,
    Silver,
    Gold,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bronze => "bronze",
            Self::Silver => "silver",
            Self::Gold => "gold",
        }
    }

    /// A stored tier; the database's check constraint keeps it one of the three.
    pub fn from_stored(raw: &str) -> Self {
        match raw {
            "gold" => Self::Gold,
            "silver" => Self::Silver,
            _ => Self::Bronze,
        }
    }
}

/// What a rule looks at, measured right after a write: either a count of the user's goals
/// (taken from the database, and only when a badge on it is pending) or a value the write
/// reports itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Goals the user has, after creating one.
    GoalsCreated,
    /// Goals the user has completed, after completing one.
    GoalsCompleted,
    /// The longest streak of the daily goal just checked in (reported).
    StreakDays,
    /// The longest streak, in weeks, of the weekly goal just checked in (reported).
    StreakWeeks,
    /// 1 when the profile has a display name, a bio and at least three skills (reported).
    ProfileComplete,
    /// The user's followers, after a follow of them began (reported).
    Followers,
    /// Events the user gave kudos to, after giving some (reported).
    KudosGiven,
    /// Kudos the user's events received, after one did (reported).
    KudosReceived,
    /// The shared daily streak of a partnership, after a check-in grew it (reported).
    SharedStreakDays,
}

impl Measure {
    /// What a goal's longest streak in `unit` is measured as.
    pub fn streak_in(unit: StreakUnit) -> Self {
        match unit {
            StreakUnit::Day => Self::StreakDays,
            StreakUnit::Week => Self::StreakWeeks,
        }
    }

    /// For a count, which of the user's goals it counts (`Some(None)`: all of them);
    /// `None` for a measure the write reports.
    pub fn goals_counted(self) -> Option<Option<GoalStatus>> {
        match self {
            Self::GoalsCreated => Some(None),
            Self::GoalsCompleted => Some(Some(GoalStatus::Completed)),
            Self::StreakDays
            | Self::StreakWeeks
            | Self::ProfileComplete
            | Self::Followers
            | Self::KudosGiven
            | Self::KudosReceived
            | Self::SharedStreakDays => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub measure: Measure,
    pub threshold: i64,
}

const fn rule(code: &'static str, measure: Measure, threshold: i64) -> Rule {
    Rule {
        code,
        measure,
        threshold,
    }
}

pub const RULES: &[Rule] = &[
    rule("first-goal", Measure::GoalsCreated, 1),
    rule("first-completion", Measure::GoalsCompleted, 1),
    rule("five-completions", Measure::GoalsCompleted, 5),
    rule("twenty-five-completions", Measure::GoalsCompleted, 25),
    rule("streak-3", Measure::StreakDays, 3),
    rule("streak-7", Measure::StreakDays, 7),
    rule("streak-30", Measure::StreakDays, 30),
    rule("streak-100", Measure::StreakDays, 100),
    rule("profile-complete", Measure::ProfileComplete, 1),
    rule("weekly-streak-4", Measure::StreakWeeks, 4),
    rule("weekly-streak-12", Measure::StreakWeeks, 12),
    rule("weekly-streak-52", Measure::StreakWeeks, 52),
    rule("first-follower", Measure::Followers, 1),
    rule("followers-10", Measure::Followers, 10),
    rule("followers-100", Measure::Followers, 100),
    rule("kudos-given-10", Measure::KudosGiven, 10),
    rule("kudos-given-100", Measure::KudosGiven, 100),
    rule("kudos-received-100", Measure::KudosReceived, 100),
    rule("partner-streak-7", Measure::SharedStreakDays, 7),
    rule("partner-streak-30", Measure::SharedStreakDays, 30),
];

/// Skills a complete profile lists.
pub const COMPLETE_PROFILE_SKILLS: usize = 3;

/// The rules on `measure` whose badge the user does not hold yet: when there are none, the
/// measure need not be taken at all.
pub fn pending(measure: Measure, held: &[String]) -> Vec<Rule> {
    RULES
        .iter()
        .filter(|r| r.measure == measure && !held.iter().any(|h| h == r.code))
        .copied()
        .collect()
}

/// The badges among `pending` that a measured `value` earns.
pub fn earned(pending: &[Rule], value: i64) -> Vec<&'static str> {
    pending
        .iter()
        .filter(|r| value >= r.threshold)
        .map(|r| r.code)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn thresholds_earn_every_badge_reached_and_only_those() {
        let pending = pending(Measure::GoalsCompleted, &[]);
        assert_eq!(earned(&pending, 0), Vec::<&str>::new());
        assert_eq!(earned(&pending, 1), ["first-completion"]);
        assert_eq!(
            earned(&pending, 5),
            ["first-completion", "five-completions"]
        );
        assert_eq!(earned(&pending, 25).len(), 3);
    }

    #[test]
    fn a_badge_already_held_is_never_pending() {
        let pending = pending(Measure::StreakDays, &held(&["streak-3", "streak-7"]));
        let codes: Vec<_> = pending.iter().map(|r| r.code).collect();
        assert_eq!(codes, ["streak-30", "streak-100"]);
        assert!(super::pending(Measure::GoalsCreated, &held(&["first-goal"])).is_empty());
    }

    #[test]
    fn streak_badges_are_earned_at_3_7_30_and_100_days() {
        let pending = pending(Measure::StreakDays, &[]);
        assert_eq!(earned(&pending, 2), Vec::<&str>::new());
        assert_eq!(earned(&pending, 7), ["streak-3", "streak-7"]);
        assert_eq!(earned(&pending, 100).len(), 4);
    }

    #[test]
    fn codes_are_lowercase_letters_digits_and_dashes() {
        for good in ["streak-3", "first-goal", "a", &"x".repeat(64)] {
            assert!(BadgeCode::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Streak", "a b", "a\u{0}b", "é", "a_b", &"x".repeat(65)] {
            assert!(BadgeCode::parse(bad).is_err(), "{bad:?}");
        }
        let pattern = regex::Regex::new(CODE_PATTERN).unwrap();
        for code in RULES.iter().map(|r| r.code) {
            assert!(
                pattern.is_match(code) && BadgeCode::parse(code).is_ok(),
                "{code}"
            );
        }
    }

    #[test]
    fn counts_count_goals_and_the_rest_are_reported() {
        assert_eq!(Measure::GoalsCreated.goals_counted(), Some(None));
        assert_eq!(
            Measure::GoalsCompleted.goals_counted(),
            Some(Some(GoalStatus::Completed))
        );
        assert_eq!(Measure::StreakDays.goals_counted(), None);
        assert_eq!(Measure::ProfileComplete.goals_counted(), None);
    }

    #[test]
    fn every_rule_has_a_distinct_code() {
        let mut codes: Vec<_> = RULES.iter().map(|r| r.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RULES.len());
    }
}
