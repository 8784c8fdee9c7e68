//! A field of a partial update: left out (unchanged), `null` (cleared) or a new value.

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    #[default]
    Unchanged,
    Clear,
    Set(T),
}

impl<T> Patch<T> {
    /// Validates a new value, keeping `Unchanged` and `Clear` as they are.
    pub fn try_map<U, E>(self, f: impl FnOnce(T) -> Result<U, E>) -> Result<Patch<U>, E> {
        Ok(match self {
            Self::Unchanged => Patch::Unchanged,
            Self::Clear => Patch::Clear,
            Self::Set(value) => Patch::Set(f(value)?),
        })
    }

    /// The value after the update, given the current one.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Self::Unchanged => current,
            Self::Clear => None,
            Self::Set(value) => Some(value),
        }
    }
}

impl<T> Patch<Option<T>> {
    /// For fields whose validation may itself decide to clear (blank text).
    pub fn flatten(self) -> Patch<T> {
        match self {
            Self::Unchanged => Patch::Unchanged,
            Self::Clear | Self::Set(None) => Patch::Clear,
            Self::Set(Some(value)) => Patch::Set(value),
        }
    }
}

/// With `#[serde(default)]` on the field: absent is `Unchanged`, `null` is `Clear`.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Self::Clear, Self::Set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default)]
        name: Patch<String>,
    }

    #[test]
    fn absent_null_and_value_are_three_different_patches() {
        let parse = |json| serde_json::from_str::<Body>(json).unwrap().name;
        assert_eq!(parse("{}"), Patch::Unchanged);
        assert_eq!(parse(r#"{"name":null}"#), Patch::Clear);
        assert_eq!(parse(r#"{"name":"x"}"#), Patch::Set("x".into()));
    }

    #[test]
    fn applying_a_patch_keeps_clears_or_replaces() {
        assert_eq!(Patch::Unchanged.apply(Some(1)), Some(1));
        assert_eq!(Patch::<i32>::Clear.apply(Some(1)), None);
        assert_eq!(Patch::Set(2).apply(Some(1)), Some(2));
    }
}
