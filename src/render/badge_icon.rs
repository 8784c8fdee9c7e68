//! The icons of the built-in badges: a medal in the badge's tier colour with a sign of what
//! earns it, drawn once, served from the binary at `/users/badges/<code>.svg` (the catalog's
//! `icon_url`).

use std::{collections::HashMap, sync::LazyLock};

use crate::domain::badges::Tier;

/// What a badge's medal shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sign {
    /// A goal set.
    Flag,
    /// Goals completed.
    Check,
    /// Days in a row.
    Flame,
    /// A complete profile.
    Person,
}

/// The built-in badges (those of the migrated catalog), their tier and what their medal
/// shows.
const BUILT_IN: &[(&str, Tier, Sign, &str)] = &[
    ("first-goal", Tier::Bronze, Sign::Flag, ""),
    ("first-completion", Tier::Bronze, Sign::Check, "1"),
    ("five-completions", Tier::Silver, Sign::Check, "5"),
    ("twenty-five-completions", Tier::Gold, Sign::Check, "25"),
    ("streak-3", Tier::Bronze, Sign::Flame, "3"),
    ("streak-7", Tier::Silver, Sign::Flame, "7"),
    ("streak-30", Tier::Gold, Sign::Flame, "30"),
    ("streak-100", Tier::Gold, Sign::Flame, "100"),
    ("profile-complete", Tier::Bronze, Sign::Person, ""),
    ("weekly-streak-4", Tier::Bronze, Sign::Flame, "4w"),
    ("weekly-streak-12", Tier::Silver, Sign::Flame, "12w"),
    ("weekly-streak-52", Tier::Gold, Sign::Flame, "52w"),
    ("first-follower", Tier::Bronze, Sign::Person, "1"),
    ("followers-10", Tier::Silver, Sign::Person, "10"),
    ("followers-100", Tier::Gold, Sign::Person, "100"),
    ("kudos-given-10", Tier::Bronze, Sign::Check, "10"),
    ("kudos-given-100", Tier::Silver, Sign::Check, "100"),
    ("kudos-received-100", Tier::Gold, Sign::Person, "100"),
    ("partner-streak-7", Tier::Silver, Sign::Flame, "7"),
    ("partner-streak-30", Tier::Gold, Sign::Flame, "30"),
];

static ICONS: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    BUILT_IN
        .iter()
        .map(|&(code, tier, sign, label)| (code, draw(code, tier, sign, label)))
        .collect()
});

/// The icon of a built-in badge, SVG.
pub fn icon(code: &str) -> Option<&'static str> {
    ICONS.get(code).map(String::as_str)
}

/// The codes that have an icon.
pub fn codes() -> impl Iterator<Item = &'static str> {
    BUILT_IN.iter().map(|(code, ..)| *code)
}

/// Face, rim and ribbon colours.
fn colours(tier: Tier) -> (&'static str, &'static str, &'static str) {
    match tier {
        Tier::Bronze => ("#d08a4a", "#8c5523", "#b5462f"),
        Tier::Silver => ("#cfd4da", "#7d848c", "#3f6fb5"),
        Tier::Gold => ("#f2c230", "#a87f0e", "#c0392b"),
    }
}

const INK: &str = "#3b2a14";

fn draw(code: &str, tier: Tier, sign: Sign, label: &str) -> String {
    let (face, rim, ribbon) = colours(tier);
    let sign = match sign {
        Sign::Flag => format!(
            r#"<path d="M39 20V56" stroke="{INK}" stroke-width="3.5" stroke-linecap="round"/><path d="M41 21H62L56 30L62 39H41Z" fill="{INK}"/>"#
        ),
        Sign::Check => format!(
            r#"<path d="M33 38L44 49L63 27" fill="none" stroke="{INK}" stroke-width="6" stroke-linecap="round" stroke-linejoin="round"/>"#
        ),
        Sign::Flame => format!(
            r#"<path d="M48 16C56 27 63 33 60 45C58 52 53 56 48 56C42 56 37 52 36 45C35 38 40 34 42 28C44 34 46 36 48 36C50 30 49 24 48 16Z" fill="{INK}"/>"#
        ),
        Sign::Person => format!(
            r#"<circle cx="48" cy="29" r="8" fill="{INK}"/><path d="M33 55C33 44 40 40 48 40C56 40 63 44 63 55Z" fill="{INK}"/>"#
        ),
    };
    let label = if label.is_empty() {
        String::new()
    } else {
        format!(
            r#"<text x="48" y="69" font-family="sans-serif" font-size="12" font-weight="700" text-anchor="middle" fill="{INK}">{label}</text>"#
        )
    };
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96" role="img" aria-label="{code}"><title>{code}</title><path d="M30 60L20 92L34 85L42 96L48 64Z" fill="{ribbon}"/><path d="M66 60L76 92L62 85L54 96L48 64Z" fill="{ribbon}"/><circle cx="48" cy="40" r="34" fill="{face}" stroke="{rim}" stroke-width="4"/><circle cx="48" cy="40" r="27" fill="none" stroke="{rim}" stroke-opacity="0.5" stroke-width="1.5"/>{sign}{label}</svg>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::badges::RULES;

    #[test]
    fn every_badge_a_rule_awards_has_an_icon() {
        for rule in RULES {
            assert!(icon(rule.code).is_some(), "{}", rule.code);
        }
    }

    #[test]
    fn an_icon_is_svg_in_its_tiers_colour_and_fetches_nothing() {
        let gold = icon("streak-100").unwrap();
        assert!(gold.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(gold.contains(colours(Tier::Gold).0));
        assert!(gold.contains(">100</text>"));
        assert!(icon("streak-3").unwrap().contains(colours(Tier::Bronze).0));
        for code in codes() {
            let svg = icon(code).unwrap();
            assert!(!svg.contains("href") && !svg.contains("url("), "{code}");
        }
        assert!(icon("mentor").is_none());
    }

    /// Built-in badges added after the icons moved, whose catalog entries start under
    /// /users.
    const BORN_UNDER_USERS: &[&str] = &[
        "first-follower",
        "followers-10",
        "followers-100",
        "kudos-given-10",
        "kudos-given-100",
        "kudos-received-100",
        "partner-streak-7",
        "partner-streak-30",
    ];

    #[test]
    fn the_migration_that_moved_the_icons_under_users_names_every_built_in_badge() {
        for moved in [
            include_str!("../../migrations/postgres/20261207000031_icons_under_users.sql"),
            include_str!("../../migrations/sqlite/20261207000031_icons_under_users.sql"),
        ] {
            for code in codes().filter(|code| !BORN_UNDER_USERS.contains(code)) {
                assert!(moved.contains(&format!("'{code}'")), "{code}");
            }
        }
    }

    #[test]
    fn the_badges_added_since_have_their_icons_under_users_from_the_start() {
        let added = [
            include_str!("../../migrations/postgres/20261207000051_connect.sql"),
            include_str!("../../migrations/sqlite/20261207000051_connect.sql"),
            include_str!("../../migrations/postgres/20261207000053_kudos.sql"),
            include_str!("../../migrations/sqlite/20261207000053_kudos.sql"),
            include_str!("../../migrations/postgres/20261207000091_partnerships.sql"),
            include_str!("../../migrations/sqlite/20261207000091_partnerships.sql"),
        ];
        for code in BORN_UNDER_USERS {
            let icon = format!("'/users/badges/{code}.svg'");
            let defined = added.iter().filter(|sql| sql.contains(&icon)).count();
            assert_eq!(defined, 2, "{code}: once per backend");
        }
    }
}
