//! Shared rules for free text: surrounding whitespace is trimmed, length is counted in
//! Unicode scalar values (what a person calls characters), and control characters, which
//! no form produces and which break logs and terminals, are refused.

/// The trimmed text, `None` when nothing is left.
pub(crate) fn clean(
    raw: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<Option<String>, String> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let count = text.chars().count();
    if count > max_chars {
        return Err(format!(
            "must be at most {max_chars} characters (got {count})"
        ));
    }
    let allowed = |c: char| !c.is_control() || (multiline && matches!(c, '\n' | '\t' | '\r'));
    if !text.chars().all(allowed) {
        return Err(if multiline {
            "must not contain control characters other than line breaks and tabs".into()
        } else {
            "must not contain line breaks or other control characters".into()
        });
    }
    Ok(Some(text.to_owned()))
}

/// Like [`clean`], for text that must be present.
pub(crate) fn required(raw: &str, max_chars: usize) -> Result<String, String> {
    clean(raw, max_chars, false)?.ok_or_else(|| "must not be empty".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_blank_text_is_none() {
        assert_eq!(clean("  hi  ", 5, false), Ok(Some("hi".into())));
        assert_eq!(clean(" \t ", 5, false), Ok(None));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(clean(&"é".repeat(5), 5, false).is_ok());
        assert!(clean(&"é".repeat(6), 5, false).is_err());
    }

    #[test]
    fn line_breaks_are_allowed_only_in_multiline_text() {
        assert!(clean("a\nb", 5, true).is_ok());
        assert!(clean("a\nb", 5, false).is_err());
        assert!(clean("a\u{7}b", 5, true).is_err());
    }

    #[test]
    fn required_text_rejects_blank() {
        assert_eq!(required("   ", 5), Err("must not be empty".into()));
    }
}
