//! Shared rules for free text: control characters (which no form produces and which break
//! logs and terminals) are refused, surrounding whitespace is trimmed, length is counted
//! after trimming, in Unicode scalar values (what a person calls characters), and text that
//! draws nothing (only format characters, noncharacters and the like) is refused, as a name
//! nobody can see or tell apart.
//!
//! [`pattern`] and [`visible_pattern`] state the same rules as the regular expressions the
//! OpenAPI document carries; a property test holds the functions and the expressions to each
//! other, so a client that validates against the document agrees with the service.

use std::{ops::RangeInclusive, sync::LazyLock};

use icu_properties::{
    CodePointMapData, CodePointSetData,
    props::{DefaultIgnorableCodePoint, GeneralCategory, NoncharacterCodePoint, WhiteSpace},
};

/// The trimmed text, `None` when nothing is left.
pub(crate) fn clean(
    raw: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<Option<String>, String> {
    let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\t' | '\r'));
    if !raw.chars().all(allowed) {
        return Err(if multiline {
            "must not contain control characters other than line breaks and tabs".into()
        } else {
            "must not contain line breaks or other control characters".into()
        });
    }
    let text = raw.trim();
    let count = text.chars().count();
    if count > max_chars {
        return Err(format!(
            "must be at most {max_chars} characters (got {count})"
        ));
    }
    if !text.is_empty() && !is_visible(text) {
        return Err(
            "must hold a visible character, not only spaces, format characters or noncharacters"
                .into(),
        );
    }
    Ok((!text.is_empty()).then(|| text.to_owned()))
}

/// Whether `c` draws nothing by itself: whitespace, a control, a format character (Cf), a
/// default-ignorable code point (variation selectors, fillers, tags) or a noncharacter.
pub fn draws_nothing(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || CodePointSetData::new::<DefaultIgnorableCodePoint>().contains(c)
        || CodePointSetData::new::<NoncharacterCodePoint>().contains(c)
        || CodePointMapData::<GeneralCategory>::new().get(c) == GeneralCategory::Format
}

/// Whether the text draws something: holds a character other than those of
/// [`draws_nothing`].
pub fn is_visible(text: &str) -> bool {
    text.chars().any(|c| !draws_nothing(c))
}

/// Like [`clean`], for one line of text that must be present.
pub(crate) fn required(raw: &str, max_chars: usize) -> Result<String, String> {
    clean(raw, max_chars, false)?.ok_or_else(|| "must not be empty".to_owned())
}

/// The kinds of text [`pattern`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// [`clean`] on one line: blank allowed.
    Line,
    /// [`required`].
    RequiredLine,
    /// [`clean`] over several lines.
    Multiline,
}

/// Whitespace as `str::trim` sees it, less the control characters (refused anyway).
const SPACE: &str = r" \xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Control characters: all of them, and all but tab and line breaks.
const CONTROLS: &str = r"\x00-\x1f\x7f-\x9f";
const CONTROLS_BUT_BREAKS: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";
/// Neither whitespace nor a control: what trimmed text starts and ends with.
const SOLID: &str = r"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

/// The regular expression (ECMA-262, as JSON Schema reads it) of the values [`clean`] or
/// [`required`] accept with this `max_chars`.
pub fn pattern(kind: Kind, max_chars: usize) -> String {
    let (space, allowed) = match kind {
        Kind::Line | Kind::RequiredLine => (format!("[{SPACE}]"), format!("[^{CONTROLS}]")),
        Kind::Multiline => (
            format!(r"[\t\n\r{SPACE}]"),
            format!("[^{CONTROLS_BUT_BREAKS}]"),
        ),
    };
    let inner = max_chars.saturating_sub(2);
    let text = format!("{SOLID}(?:{allowed}{{0,{inner}}}{SOLID})?");
    let text = if kind == Kind::RequiredLine {
        text
    } else {
        format!("(?:{text})?")
    };
    format!("^{space}*{text}{space}*$")
}

/// The characters of [`draws_nothing`] as the inside of a character class: ranges of the
/// Basic Multilingual Plane as `\uXXXX` escapes, others as the characters themselves (no
/// escape of theirs is read alike by ECMA-262, Python and Rust).
static INVISIBLE: LazyLock<String> = LazyLock::new(|| {
    let gc = CodePointMapData::<GeneralCategory>::new();
    let mut ranges: Vec<RangeInclusive<u32>> = CodePointSetData::new::<DefaultIgnorableCodePoint>()
        .iter_ranges()
        .chain(CodePointSetData::new::<NoncharacterCodePoint>().iter_ranges())
        .chain(CodePointSetData::new::<WhiteSpace>().iter_ranges())
        .chain(gc.iter_ranges_for_value(GeneralCategory::Format))
        .chain(gc.iter_ranges_for_value(GeneralCategory::Control))
        .collect();
    ranges.sort_by_key(|r| *r.start());
    let mut merged: Vec<RangeInclusive<u32>> = Vec::new();
    for range in ranges {
        match merged.last_mut() {
            Some(last) if *range.start() <= last.end() + 1 => {
                *last = *last.start()..=(*last.end()).max(*range.end());
            }
            _ => merged.push(range),
        }
    }
    let escaped = |c: u32| match char::from_u32(c) {
        Some(c) if c > '\u{ffff}' => c.to_string(),
        _ => format!("\\u{c:04x}"),
    };
    merged
        .iter()
        .map(|r| match r.end() - r.start() {
            0 => escaped(*r.start()),
            _ => format!("{}-{}", escaped(*r.start()), escaped(*r.end())),
        })
        .collect()
});

/// The regular expression (unanchored, as JSON Schema applies a `pattern`) that text of
/// this kind must also match: it holds a visible character, or (when blank is allowed) it
/// is blank.
pub fn visible_pattern(kind: Kind) -> String {
    let visible = format!("[^{}]", *INVISIBLE);
    match kind {
        Kind::RequiredLine => visible,
        Kind::Line => format!("^[{SPACE}]*$|{visible}"),
        Kind::Multiline => format!(r"^[\t\n\r{SPACE}]*$|{visible}"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use regex::Regex;

    use super::*;

    #[test]
    fn text_is_trimmed_and_blank_text_is_none() {
        assert_eq!(clean("  hi  ", 2, false), Ok(Some("hi".into())));
        assert_eq!(clean(" \u{3000} ", 5, false), Ok(None));
    }

    #[test]
    fn length_counts_characters_after_trimming() {
        assert!(clean(&"é".repeat(5), 5, false).is_ok());
        assert!(clean(&format!("  {}  ", "é".repeat(5)), 5, false).is_ok());
        assert!(clean(&"é".repeat(6), 5, false).is_err());
    }

    #[test]
    fn line_breaks_are_allowed_only_in_multiline_text() {
        assert!(clean("a\nb", 5, true).is_ok());
        assert!(clean("a\nb", 5, false).is_err());
        assert!(clean("a\u{7}b", 5, true).is_err());
        assert!(
            clean("ab\n", 5, false).is_err(),
            "even where trimming would remove it"
        );
    }

    #[test]
    fn required_text_rejects_blank() {
        assert_eq!(required("   ", 5), Err("must not be empty".into()));
    }

    #[test]
    fn text_that_draws_nothing_is_refused_and_blank_text_still_clears() {
        for invisible in [
            "\u{FFFE}\u{FFFF}",
            "\u{200B}",
            "\u{00AD}\u{2060}",
            "\u{FE0F}",
            "\u{3164}",
            "\u{E0041}\u{E007F}",
            "\u{FDD0} \u{200D}",
        ] {
            assert!(clean(invisible, 10, false).is_err(), "{invisible:?}");
            assert!(clean(invisible, 10, true).is_err(), "{invisible:?}");
            assert!(required(invisible, 10).is_err(), "{invisible:?}");
            assert!(!is_visible(invisible), "{invisible:?}");
        }
        assert_eq!(clean(" \u{3000} ", 5, false), Ok(None));
        for visible in ["\u{2764}\u{FE0F}", "\u{200F}שלום", "a\u{200B}", "\u{0301}"] {
            assert_eq!(clean(visible, 10, false), Ok(Some(visible.into())));
        }
    }

    /// Characters where the rules have edges: controls, every kind of whitespace, and the
    /// byte-order mark, which some regular expression engines count as whitespace.
    fn tricky_text() -> impl Strategy<Value = String> {
        let chars = prop_oneof![
            Just('a'),
            Just('é'),
            Just('😀'),
            Just(' '),
            Just('\t'),
            Just('\n'),
            Just('\r'),
            Just('\u{b}'),
            Just('\u{0}'),
            Just('\u{7}'),
            Just('\u{1f}'),
            Just('\u{7f}'),
            Just('\u{85}'),
            Just('\u{9f}'),
            Just('\u{a0}'),
            Just('\u{1680}'),
            Just('\u{2003}'),
            Just('\u{2028}'),
            Just('\u{3000}'),
            Just('\u{feff}'),
            Just('\u{180e}'),
            Just('\u{200b}'),
            Just('\u{fe0f}'),
            Just('\u{fffe}'),
            Just('\u{e0041}'),
            Just('\u{1bca0}'),
            any::<char>(),
        ];
        proptest::collection::vec(chars, 0..9).prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #[test]
        fn the_documented_patterns_say_what_the_functions_do(text in tricky_text(), max in 2usize..6) {
            let line = Regex::new(&pattern(Kind::Line, max)).unwrap();
            let required_line = Regex::new(&pattern(Kind::RequiredLine, max)).unwrap();
            let multiline = Regex::new(&pattern(Kind::Multiline, max)).unwrap();
            let visible = |kind| Regex::new(&visible_pattern(kind)).unwrap().is_match(&text);
            prop_assert_eq!(
                clean(&text, max, false).is_ok(),
                line.is_match(&text) && visible(Kind::Line)
            );
            prop_assert_eq!(
                required(&text, max).is_ok(),
                required_line.is_match(&text) && visible(Kind::RequiredLine)
            );
            prop_assert_eq!(
                clean(&text, max, true).is_ok(),
                multiline.is_match(&text) && visible(Kind::Multiline)
            );
        }
    }
}
