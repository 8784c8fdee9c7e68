//! The profile card: an SVG of 500×200 to embed anywhere (a README, a forum signature) with
//! who the user is, their streaks, their badges and their last 12 weeks. It is drawn from
//! what the caller hands it, which holds only public sections: a section left out is not
//! drawn at all. Every text from a user is cut to length and XML-escaped, and nothing is
//! fetched: fonts are generic families, and badge icons are drawn inline.

use utoipa::ToSchema;

use super::badge_icon;
use crate::domain::heatmap::Day;

pub const WIDTH: u32 = 500;
pub const HEIGHT: u32 = 200;
/// Weeks of the mini heatmap.
pub const WEEKS: u64 = 12;
/// Characters of the name and the username drawn, at most (the name's line spans the
/// card); longer ones end in "…".
pub const NAME_MAX: usize = 36;
pub const USERNAME_MAX: usize = 28;
/// Badge icons drawn, the newest first.
pub const ICONS_MAX: usize = 5;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

impl Theme {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "light" => Ok(Self::Light),
            "dark" => Ok(Self::Dark),
            _ => Err("must be light or dark".into()),
        }
    }

    /// Each role's colour for a light page, then for a dark one.
    fn palette(self) -> Palette {
        Palette {
            background: self.pick("#ffffff", "#0d1117"),
            border: self.pick("#d0d7de", "#30363d"),
            text: self.pick("#1f2328", "#e6edf3"),
            muted: self.pick("#59636e", "#8d96a0"),
            levels: self.pick(
                ["#ebedf0", "#9be9a8", "#40c463", "#30a14e", "#216e39"],
                ["#161b22", "#0e4429", "#006d32", "#26a641", "#39d353"],
            ),
        }
    }

    fn pick<T>(self, light: T, dark: T) -> T {
        match self {
            Self::Light => light,
            Self::Dark => dark,
        }
    }
}

struct Palette {
    background: &'static str,
    border: &'static str,
    text: &'static str,
    muted: &'static str,
    levels: [&'static str; 5],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streaks {
    pub current: u32,
    pub longest: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badges {
    pub count: usize,
    /// The codes of the newest badges, newest first.
    pub newest: Vec<String>,
}

/// What a card shows; `None` for a section that is not public.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The display name, or the username when there is none.
    pub name: String,
    pub username: String,
    pub streaks: Option<Streaks>,
    pub badges: Option<Badges>,
    /// The days of the last weeks, the first on the user's week start.
    pub heatmap: Option<Vec<Day>>,
    pub theme: Theme,
}

/// `text` as it may stand in an SVG: without the characters XML 1.0 cannot carry at all,
/// cut to `max` characters (the last then "…"), and escaped.
pub fn user_text(text: &str, max: usize) -> String {
    let kept: Vec<char> = text
        .chars()
        .filter(|&c| matches!(c, '\t' | '\n' | '\r') || !(c.is_control() || is_noncharacter(c)))
        .collect();
    let cut: String = if kept.len() > max {
        kept[..max.saturating_sub(1)]
            .iter()
            .chain(std::iter::once(&'…'))
            .collect()
    } else {
        kept.into_iter().collect()
    };
    escape(&cut)
}

/// U+FFFE and U+FFFF are not XML characters.
fn is_noncharacter(c: char) -> bool {
    matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn days(n: u32) -> String {
    if n == 1 {
        "1 day".into()
    } else {
        format!("{n} days")
    }
}

/// The card as SVG text.
pub fn render(card: &Card) -> String {
    let p = card.theme.palette();
    let name = user_text(&card.name, NAME_MAX);
    let username = user_text(&card.username, USERNAME_MAX);
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="card-title"><title id="card-title">{name}</title><rect x="0.5" y="0.5" width="{}" height="{}" rx="12" fill="{}" stroke="{}"/><g font-family="sans-serif" fill="{}"><text x="24" y="40" font-size="20" font-weight="700">{name}</text><text x="24" y="62" font-size="13" fill="{}">@{username}</text>"#,
        WIDTH - 1,
        HEIGHT - 1,
        p.background,
        p.border,
        p.text,
        p.muted,
    );
    if let Some(streaks) = card.streaks {
        svg.push_str(&format!(
            r#"<g class="streaks"><text x="24" y="100" font-size="12" fill="{muted}">Current streak</text><text x="24" y="124" font-size="20" font-weight="700">{current}</text><text x="150" y="100" font-size="12" fill="{muted}">Longest</text><text x="150" y="124" font-size="20" font-weight="700">{longest}</text></g>"#,
            muted = p.muted,
            current = days(streaks.current),
            longest = days(streaks.longest),
        ));
    }
    if let Some(badges) = &card.badges {
        let label = if badges.count == 1 {
            "1 badge".to_owned()
        } else {
            format!("{} badges", badges.count)
        };
        svg.push_str(&format!(
            r#"<g class="badges"><text x="24" y="170" font-size="14" font-weight="700">{label}</text>"#
        ));
        for (i, code) in badges.newest.iter().take(ICONS_MAX).enumerate() {
            let x = 104 + 34 * i;
            match badge_icon::icon(code) {
                // The icon is drawn at 96×96; a third of it fits the row.
                Some(icon) => svg.push_str(&format!(
                    r#"<g transform="translate({x} 148) scale(0.3125)">{icon}</g>"#
                )),
                // A badge an operator added has no icon of ours: a plain medal.
                None => svg.push_str(&format!(
                    r#"<circle cx="{}" cy="163" r="12" fill="{}"/>"#,
                    x + 15,
                    p.levels[2]
                )),
            }
        }
        svg.push_str("</g>");
    }
    if let Some(heatmap) = &card.heatmap {
        svg.push_str(&format!(
            r#"<g class="heatmap"><text x="308" y="80" font-size="12" fill="{}">Last {WEEKS} weeks</text>"#,
            p.muted
        ));
        for (i, day) in heatmap.iter().enumerate() {
            let (column, row) = (i / 7, i % 7);
            svg.push_str(&format!(
                r#"<rect x="{}" y="{}" width="11" height="11" rx="2" fill="{}"/>"#,
                308 + 14 * column,
                88 + 14 * row,
                p.levels[usize::from(day.level.min(4))]
            ));
        }
        svg.push_str("</g>");
    }
    svg.push_str("</g></svg>");
    svg
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn card() -> Card {
        let first = NaiveDate::from_ymd_opt(2025, 12, 15).unwrap();
        Card {
            name: "Ada Lovelace".into(),
            username: "ada".into(),
            streaks: Some(Streaks {
                current: 12,
                longest: 40,
            }),
            badges: Some(Badges {
                count: 7,
                newest: vec!["streak-7".into(), "mentor".into(), "first-goal".into()],
            }),
            heatmap: Some(
                first
                    .iter_days()
                    .take(80)
                    .enumerate()
                    .map(|(i, date)| Day {
                        date,
                        checkins: (i % 3) as u32,
                        minutes: 0,
                        level: (i % 5) as u8,
                    })
                    .collect(),
            ),
            theme: Theme::Light,
        }
    }

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{e}: {svg}"))
    }

    fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
        doc.descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(str::to_owned))
            .collect()
    }

    #[test]
    fn a_card_is_a_500_by_200_svg_with_the_name_streaks_badges_and_weeks() {
        let svg = render(&card());
        let doc = parse(&svg);
        let root = doc.root_element();
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        assert_eq!(root.attribute("width"), Some("500"));
        assert_eq!(root.attribute("height"), Some("200"));
        let texts = texts(&doc);
        for expected in ["Ada Lovelace", "@ada", "12 days", "40 days", "7 badges"] {
            assert!(texts.iter().any(|t| t == expected), "{expected}: {texts:?}");
        }
        let cells = doc
            .descendants()
            .filter(|n| n.attribute("width") == Some("11"))
            .count();
        assert_eq!(cells, 80);
        // Two built-in icons drawn inline, one plain medal for the operator's badge.
        assert_eq!(
            doc.descendants().filter(|n| n.has_tag_name("svg")).count(),
            3
        );
        assert!(svg.contains(r##"<circle cx="153""##));
    }

    #[test]
    fn a_section_left_out_is_not_drawn() {
        let svg = render(&Card {
            streaks: None,
            badges: None,
            heatmap: None,
            ..card()
        });
        let doc = parse(&svg);
        let texts = texts(&doc);
        assert_eq!(texts, ["Ada Lovelace", "@ada"]);
        assert!(!svg.contains("heatmap") && !svg.contains("badges") && !svg.contains("streak"));
    }

    #[test]
    fn markup_in_a_name_is_drawn_as_its_characters_and_a_long_name_is_cut() {
        let name = "</text><script>alert(1)</script>";
        let svg = render(&Card {
            name: name.into(),
            username: "a\"b'&c".into(),
            ..card()
        });
        let doc = parse(&svg);
        assert!(!doc.descendants().any(|n| n.has_tag_name("script")));
        let drawn = texts(&doc);
        assert_eq!(drawn[0], name);
        assert_eq!(drawn[1], "@a\"b'&c");
        let long = render(&Card {
            name: "x".repeat(NAME_MAX + 1),
            ..card()
        });
        let cut = format!("{}…", "x".repeat(NAME_MAX - 1));
        assert_eq!(texts(&parse(&long))[0], cut);
        assert_eq!(
            doc.descendants()
                .find(|n| n.has_tag_name("title"))
                .and_then(|n| n.text()),
            Some(name)
        );
    }

    #[test]
    fn user_text_is_cut_to_length_and_loses_what_xml_cannot_carry() {
        assert_eq!(user_text("short", 10), "short");
        assert_eq!(user_text("exactly10!", 10), "exactly10!");
        assert_eq!(user_text("eleven char", 10), "eleven ch…");
        assert_eq!(user_text("ééééé", 3), "éé…");
        assert_eq!(user_text("a\u{0}b\u{1b}c\u{FFFF}", 10), "abc");
        assert_eq!(user_text("<&>", 10), "&lt;&amp;&gt;");
    }

    #[test]
    fn the_dark_theme_changes_the_colours_only() {
        let light = render(&card());
        let dark = render(&Card {
            theme: Theme::Dark,
            ..card()
        });
        assert!(light.contains("#ffffff") && !dark.contains("#ffffff"));
        assert!(dark.contains("#0d1117"));
        assert_eq!(texts(&parse(&light)), texts(&parse(&dark)));
        assert_eq!(Theme::parse("dark"), Ok(Theme::Dark));
        assert!(Theme::parse("Dark").is_err());
    }

    #[test]
    fn a_card_fetches_nothing() {
        let svg = render(&card());
        for reference in [
            "href",
            "url(",
            "@import",
            "<script",
            "<image",
            "<foreignObject",
        ] {
            assert!(!svg.contains(reference), "{reference}");
        }
    }
}
