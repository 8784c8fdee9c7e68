//! Who sees which part of a profile. The owner always sees everything; a follower sees a
//! section that is public or for followers; everyone else sees a section only while it is
//! public. Who follows whom is read when a request is (never cached), so an unfollow, a
//! removal or a block takes effect on the next request.
//!
//! The database's reads of a section take an [`Access`] for that section, and only
//! [`Privacy::grant`] makes one: a handler that forgot to ask cannot read the data at all.

use std::marker::PhantomData;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::UserId;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    /// Seen by the owner and the users who follow them.
    Followers,
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Followers => "followers",
            Self::Private => "private",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "public" => Ok(Self::Public),
            "followers" => Ok(Self::Followers),
            "private" => Ok(Self::Private),
            _ => Err("must be public, followers or private".into()),
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
    /// The lists of followers and of users followed.
    Connections,
}

/// A section as a type, so that an [`Access`] names the one it opens.
pub trait SectionKind {
    const SECTION: Section;
}

macro_rules! section_kinds {
    ($($kind:ident => $section:ident),*) => {$(
        #[derive(Debug, Clone, Copy)]
        pub struct $kind;
        impl SectionKind for $kind {
            const SECTION: Section = Section::$section;
        }
    )*};
}
section_kinds!(
    Goals => Goals,
    Badges => Badges,
    Activity => Activity,
    Stats => Stats,
    Connections => Connections
);

/// Leave to read section `S` of one user's profile.
#[derive(Debug, Clone, Copy)]
pub struct Access<S> {
    user: UserId,
    viewer: Viewer,
    section: PhantomData<S>,
}

impl<S> Access<S> {
    pub fn user(&self) -> UserId {
        self.user
    }

    pub fn viewer(&self) -> Viewer {
        self.viewer
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Privacy {
    pub goals: Visibility,
    pub badges: Visibility,
    pub activity: Visibility,
    pub stats: Visibility,
    pub connections: Visibility,
}

/// A partial change of visibilities; `None` keeps a section as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrivacyChanges {
    pub goals: Option<Visibility>,
    pub badges: Option<Visibility>,
    pub activity: Option<Visibility>,
    pub stats: Option<Visibility>,
    pub connections: Option<Visibility>,
}

impl PrivacyChanges {
    pub fn apply(self, current: Privacy) -> Privacy {
        Privacy {
            goals: self.goals.unwrap_or(current.goals),
            badges: self.badges.unwrap_or(current.badges),
            activity: self.activity.unwrap_or(current.activity),
            stats: self.stats.unwrap_or(current.stats),
            connections: self.connections.unwrap_or(current.connections),
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Owner,
    /// A signed-in user who follows the owner (an approved follow, not a request).
    Follower,
    Other,
}

impl Privacy {
    pub fn of(&self, section: Section) -> Visibility {
        match section {
            Section::Goals => self.goals,
            Section::Badges => self.badges,
            Section::Activity => self.activity,
            Section::Stats => self.stats,
            Section::Connections => self.connections,
        }
    }

    pub fn allows(&self, section: Section, viewer: Viewer) -> bool {
        match (self.of(section), viewer) {
            (_, Viewer::Owner) | (Visibility::Public, _) => true,
            (Visibility::Followers, Viewer::Follower) => true,
            (Visibility::Followers | Visibility::Private, _) => false,
        }
    }

    /// Whether some section is for followers: only then does it matter whether a caller
    /// follows the owner, and only then is it read.
    pub fn has_followers_section(&self) -> bool {
        [
            self.goals,
            self.badges,
            self.activity,
            self.stats,
            self.connections,
        ]
        .contains(&Visibility::Followers)
    }

    /// Leave to read section `S` of `user`'s profile, if this viewer has it.
    pub fn grant<S: SectionKind>(&self, user: UserId, viewer: Viewer) -> Option<Access<S>> {
        self.allows(S::SECTION, viewer).then_some(Access {
            user,
            viewer,
            section: PhantomData,
        })
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
    fn leave_to_read_a_section_is_granted_only_where_it_is_allowed() {
        let privacy = Privacy {
            stats: Visibility::Private,
            ..Default::default()
        };
        let user = UserId::parse(1).unwrap();
        assert!(privacy.grant::<Stats>(user, Viewer::Other).is_none());
        assert!(privacy.grant::<Stats>(user, Viewer::Owner).is_some());
        assert_eq!(
            privacy.grant::<Goals>(user, Viewer::Other).unwrap().user(),
            user
        );
    }

    #[test]
    fn a_followers_section_is_seen_by_the_owner_and_followers_alone() {
        let privacy = Privacy {
            goals: Visibility::Followers,
            ..Default::default()
        };
        assert!(privacy.allows(Section::Goals, Viewer::Owner));
        assert!(privacy.allows(Section::Goals, Viewer::Follower));
        assert!(!privacy.allows(Section::Goals, Viewer::Other));
        assert!(privacy.has_followers_section());
        assert!(!Privacy::default().has_followers_section());
    }

    #[test]
    fn a_private_section_is_hidden_from_followers_too() {
        let privacy = Privacy {
            connections: Visibility::Private,
            ..Default::default()
        };
        assert!(!privacy.allows(Section::Connections, Viewer::Follower));
        assert!(privacy.allows(Section::Connections, Viewer::Owner));
        assert!(privacy.allows(Section::Stats, Viewer::Follower));
    }

    #[test]
    fn an_unreadable_stored_visibility_is_private() {
        assert_eq!(Visibility::from_stored("friends"), Visibility::Private);
        assert_eq!(Visibility::from_stored("public"), Visibility::Public);
        assert_eq!(Visibility::from_stored("followers"), Visibility::Followers);
    }
}
