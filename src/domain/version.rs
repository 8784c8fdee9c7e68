//! Versions of what the API shows: a short digest of what a representation is made from
//! (a row's revision, the day it is shown on, who is looking), which changes whenever the
//! representation does. The API sends a version as a strong entity tag, and a conditional
//! write ([`Expected`]) is checked against the stored row's version by the service itself,
//! under the row's lock, with nothing rendered.

use std::fmt::Display;

use base64::Engine;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version(String);

impl Version {
    /// The version of a representation made from `parts`, in order.
    pub fn of(parts: &[&dyn Display]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part.to_string().as_bytes());
            hasher.update([0x1f]);
        }
        let digest = hasher.finalize();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16]))
    }

    /// An opaque token of URL-safe characters.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A version as an entity tag names it (its text, unquoted).
    pub fn from_tag(tag: &str) -> Self {
        Self(tag.to_owned())
    }
}

/// The versions a conditional write may apply to (`If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Whatever the version (`*`).
    Any,
    /// Only these.
    OneOf(Vec<Version>),
}

impl Expected {
    pub fn admits(&self, current: &Version) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(versions) => versions.contains(current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_follows_every_part_and_their_order() {
        let a = Version::of(&[&"goal", &7, &3]);
        assert_eq!(a, Version::of(&[&"goal", &7, &3]));
        assert_ne!(a, Version::of(&[&"goal", &7, &4]));
        assert_ne!(a, Version::of(&[&"goal", &3, &7]));
        // Parts are kept apart: ("ab", "c") is not ("a", "bc").
        assert_ne!(Version::of(&[&"ab", &"c"]), Version::of(&[&"a", &"bc"]));
        assert_eq!(a.as_str().len(), 22);
    }

    #[test]
    fn an_expectation_admits_its_versions_or_any() {
        let v = Version::of(&[&1]);
        assert!(Expected::Any.admits(&v));
        assert!(Expected::OneOf(vec![Version::of(&[&2]), v.clone()]).admits(&v));
        assert!(!Expected::OneOf(vec![Version::of(&[&2])]).admits(&v));
        assert!(!Expected::OneOf(Vec::new()).admits(&v));
    }
}
