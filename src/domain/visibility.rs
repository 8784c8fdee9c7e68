//! Who sees which part of a profile. The owner always sees everything; everyone else sees a
//! section only while it is public. Every read of a section asks [`Privacy::allows`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "public" => Ok(Self::Public),
            "private" => Ok(Self::Private),
            _ => Err("must be public or private".into()),
        }
    }

    /// A stored value; anything unexpected is treated as private, the safe side.
    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(Self::Private)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Goals,
    Badges,
    Activity,
    Stats,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Privacy {
    pub goals: Visibility,
    pub badges: Visibility,
    pub activity: Visibility,
    pub stats: Visibility,
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Owner,
    Other,
}

impl Privacy {
    pub fn of(&self, section: Section) -> Visibility {
        match section {
            Section::Goals => self.goals,
            Section::Badges => self.badges,
            Section::Activity => self.activity,
            Section::Stats => self.stats,
        }
    }

    pub fn allows(&self, section: Section, viewer: Viewer) -> bool {
        viewer == Viewer::Owner || self.of(section) == Visibility::Public
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_sees_private_sections_and_others_do_not() {
        let privacy = Privacy {
            goals: Visibility::Private,
            ..Default::default()
        };
        assert!(privacy.allows(Section::Goals, Viewer::Owner));
        assert!(!privacy.allows(Section::Goals, Viewer::Other));
        assert!(privacy.allows(Section::Badges, Viewer::Other));
    }

    #[test]
    fn an_unreadable_stored_visibility_is_private() {
        assert_eq!(Visibility::from_stored("friends"), Visibility::Private);
        assert_eq!(Visibility::from_stored("public"), Visibility::Public);
    }
}
