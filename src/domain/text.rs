//! Shared rules for free text: control characters (which no form produces and which break
//! logs and terminals) are refused, surrounding whitespace is trimmed, and length is
//! counted after trimming, in Unicode scalar values (what a person calls characters).
//!
//! [`pattern`] states the same rules as the regular expression the OpenAPI document
//! carries; a property test holds the functions and the expressions to each other, so a
//! client that validates against the document agrees with the service.

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
    Ok((!text.is_empty()).then(|| text.to_owned()))
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
            prop_assert_eq!(clean(&text, max, false).is_ok(), line.is_match(&text));
            prop_assert_eq!(required(&text, max).is_ok(), required_line.is_match(&text));
            prop_assert_eq!(clean(&text, max, true).is_ok(), multiline.is_match(&text));
        }
    }
}
