//! An account's lifecycle as the auth-service reports it, and what each report means here.
//!
//! The auth-service owns accounts: it creates, renames, deactivates and deletes them, and
//! revokes their tokens. This service keeps its own data about them, and when it owns the
//! `users` table (standalone, or fed by the auth-service's events) it keeps the account
//! columns too. [`Change::plan`] is the rule for which writes a message makes, in either
//! layout, given what is remembered of the account's end ([`Ending`]): the auth-service never
//! reuses an id, so a message that arrives after the account's deletion (or a creation after
//! its deactivation) must not bring it back.

use chrono::{DateTime, Utc};

use super::UserId;

/// What happened to an account, or to its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The username and email exactly as the auth-service sent them (see
    /// [`stored_as_sent`]).
    Created {
        user: UserId,
        username: String,
        email: Option<String>,
    },
    /// Left out: unchanged. `email: Some(None)` clears it.
    Updated {
        user: UserId,
        username: Option<String>,
        email: Option<Option<String>>,
    },
    Deactivated {
        user: UserId,
    },
    /// The account is gone: this service erases everything it holds about the user.
    Deleted {
        user: UserId,
    },
    /// A logout: the token with this `jti` is refused while it could still validate.
    TokenRevoked {
        jti: String,
        expires_at: DateTime<Utc>,
    },
    /// A password change or a "sign out everywhere": the user's tokens issued before
    /// `before` are refused.
    TokensRevoked {
        user: UserId,
        before: DateTime<Utc>,
    },
}

/// How an account ended, remembered by its id alone (no personal data) for the messages
/// that arrive after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Deactivated before this service saw it created: it is created inactive.
    Deactivated,
    /// Deleted: nothing brings it back.
    Erased,
}

impl Ending {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deactivated => "deactivated",
            Self::Erased => "erased",
        }
    }

    pub fn from_stored(stored: &str) -> Option<Self> {
        match stored {
            "deactivated" => Some(Self::Deactivated),
            "erased" => Some(Self::Erased),
            _ => None,
        }
    }
}

/// The writes a change makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Insert the account's row unless it has one.
    InsertIfMissing,
    /// The same, then mark it inactive: it was deactivated before it was created.
    InsertInactive,
    /// Change the account columns of the row.
    UpdateAccount,
    /// Mark the row inactive; with no row yet, remember the deactivation for its creation.
    Deactivate,
    /// Erase the user's data; the row too when this service owns the table, else only its
    /// profile columns. The account is remembered as erased.
    Erase { delete_row: bool },
    /// List the token's `jti` until it expires.
    DenyToken,
    /// Refuse the user's tokens issued before the moment given.
    DenyUserTokens,
    /// Nothing: the auth-service keeps these columns in its own table.
    Nothing,
    /// Nothing, and said so: the account was erased, and a late message about it (its
    /// creation above all) must not bring any of it back.
    IgnoreErased,
}

impl Change {
    /// The account the change is about; a logout names only a token.
    pub fn user(&self) -> Option<UserId> {
        match self {
            Self::Created { user, .. }
            | Self::Updated { user, .. }
            | Self::Deactivated { user }
            | Self::Deleted { user }
            | Self::TokensRevoked { user, .. } => Some(*user),
            Self::TokenRevoked { .. } => None,
        }
    }

    /// The message's `event_type`.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Created { .. } => "UserCreated",
            Self::Updated { .. } => "UserUpdated",
            Self::Deactivated { .. } => "UserDeactivated",
            Self::Deleted { .. } => "UserDeleted",
            Self::TokenRevoked { .. } => "TokenRevoked",
            Self::TokensRevoked { .. } => "UserTokensRevoked",
        }
    }

    /// What this change writes, given whether this service owns `users` and how the
    /// account ended, if it did. In a table the auth-service owns, its own columns
    /// (username, email, is_active) are its to write; a row is inserted there only when the
    /// event arrives before the row does.
    pub fn plan(&self, owns_users: bool, ending: Option<Ending>) -> Plan {
        match (self, owns_users, ending) {
            // Erasing again is harmless, and a logout names no account.
            (Self::Deleted { .. }, owns_users, _) => Plan::Erase {
                delete_row: owns_users,
            },
            (Self::TokenRevoked { .. }, _, _) => Plan::DenyToken,
            (_, _, Some(Ending::Erased)) => Plan::IgnoreErased,
            (Self::Created { .. }, true, Some(Ending::Deactivated)) => Plan::InsertInactive,
            (Self::Created { .. }, _, _) => Plan::InsertIfMissing,
            (Self::Updated { .. }, true, _) => Plan::UpdateAccount,
            (Self::Deactivated { .. }, true, _) => Plan::Deactivate,
            (Self::Updated { .. } | Self::Deactivated { .. }, false, _) => Plan::Nothing,
            (Self::TokensRevoked { .. }, _, _) => Plan::DenyUserTokens,
        }
    }
}

/// Text from the auth-service as this service stores it: exactly as sent, whatever it holds
/// (blank, long, several lines), since the auth-service accepted it and the account is its
/// own. Only a NUL, which PostgreSQL's text cannot hold, becomes U+FFFD, the replacement
/// character, on both backends alike.
pub fn stored_as_sent(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::parse(7).unwrap()
    }

    #[test]
    fn an_owned_table_takes_every_change() {
        let updated = Change::Updated {
            user: user(),
            username: Some("ada".into()),
            email: None,
        };
        assert_eq!(updated.plan(true, None), Plan::UpdateAccount);
        assert_eq!(
            Change::Deactivated { user: user() }.plan(true, None),
            Plan::Deactivate
        );
        assert_eq!(
            Change::Deleted { user: user() }.plan(true, None),
            Plan::Erase { delete_row: true }
        );
    }

    #[test]
    fn the_auth_services_table_keeps_its_own_columns_and_rows() {
        let updated = Change::Updated {
            user: user(),
            username: None,
            email: Some(None),
        };
        assert_eq!(updated.plan(false, None), Plan::Nothing);
        assert_eq!(
            Change::Deactivated { user: user() }.plan(false, None),
            Plan::Nothing
        );
        assert_eq!(
            Change::Deleted { user: user() }.plan(false, None),
            Plan::Erase { delete_row: false }
        );
    }

    #[test]
    fn a_created_account_is_inserted_only_where_it_is_missing_in_either_layout() {
        let created = Change::Created {
            user: user(),
            username: "ada".into(),
            email: None,
        };
        assert_eq!(created.plan(true, None), Plan::InsertIfMissing);
        assert_eq!(created.plan(false, None), Plan::InsertIfMissing);
        assert_eq!(created.event_type(), "UserCreated");
        assert_eq!(created.user(), Some(user()));
    }

    fn every_change() -> Vec<Change> {
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        vec![
            Change::Created {
                user: user(),
                username: "ada".into(),
                email: None,
            },
            Change::Updated {
                user: user(),
                username: None,
                email: None,
            },
            Change::Deactivated { user: user() },
            Change::Deleted { user: user() },
            Change::TokenRevoked {
                jti: "j".into(),
                expires_at: at,
            },
            Change::TokensRevoked {
                user: user(),
                before: at,
            },
        ]
    }

    #[test]
    fn nothing_brings_an_erased_account_back_in_either_layout() {
        for owns_users in [true, false] {
            for change in every_change() {
                let plan = change.plan(owns_users, Some(Ending::Erased));
                let expected = match change {
                    Change::Deleted { .. } => Plan::Erase {
                        delete_row: owns_users,
                    },
                    Change::TokenRevoked { .. } => Plan::DenyToken,
                    _ => Plan::IgnoreErased,
                };
                assert_eq!(plan, expected, "{change:?}, owns_users {owns_users}");
            }
        }
    }

    #[test]
    fn an_account_deactivated_before_its_creation_is_created_inactive() {
        let created = &every_change()[0];
        assert_eq!(
            created.plan(true, Some(Ending::Deactivated)),
            Plan::InsertInactive
        );
        // The auth-service's table says itself whether its row is active.
        assert_eq!(
            created.plan(false, Some(Ending::Deactivated)),
            Plan::InsertIfMissing
        );
        assert_eq!(
            Change::Deactivated { user: user() }.plan(true, Some(Ending::Deactivated)),
            Plan::Deactivate
        );
    }

    #[test]
    fn revocations_apply_in_either_layout_and_a_logout_names_no_account() {
        let changes = every_change();
        for owns_users in [true, false] {
            assert_eq!(changes[4].plan(owns_users, None), Plan::DenyToken);
            assert_eq!(changes[5].plan(owns_users, None), Plan::DenyUserTokens);
        }
        assert_eq!(changes[4].user(), None);
        assert_eq!(changes[4].event_type(), "TokenRevoked");
        assert_eq!(changes[5].user(), Some(user()));
        assert_eq!(changes[5].event_type(), "UserTokensRevoked");
    }

    #[test]
    fn text_is_stored_as_sent_but_for_a_nul() {
        for kept in ["", "   ", "a\nb", " spaced", &"x".repeat(300), "\u{FFFE}"] {
            assert_eq!(stored_as_sent(kept), kept);
        }
        assert_eq!(stored_as_sent("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn endings_read_back_as_stored() {
        for ending in [Ending::Deactivated, Ending::Erased] {
            assert_eq!(Ending::from_stored(ending.as_str()), Some(ending));
        }
        assert_eq!(Ending::from_stored("gone"), None);
    }
}
