//! An account's lifecycle as the auth-service reports it, and what each report means here.
//!
//! The auth-service owns accounts: it creates, renames, deactivates and deletes them. This
//! service keeps its own data about them, and when it owns the `users` table (standalone,
//! or fed by the auth-service's events) it keeps the account columns too. [`Change::plan`]
//! is the rule for which writes an event makes, in either layout.

use super::UserId;

/// What happened to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
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
}

/// The writes a change makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Insert the account's row unless it has one.
    InsertIfMissing,
    /// Change the account columns of the row.
    UpdateAccount,
    /// Mark the row inactive.
    Deactivate,
    /// Erase the user's data; the row too when this service owns the table, else only its
    /// profile columns.
    Erase { delete_row: bool },
    /// Nothing: the auth-service keeps these columns in its own table.
    Nothing,
}

impl Change {
    pub fn user(&self) -> UserId {
        match self {
            Self::Created { user, .. }
            | Self::Updated { user, .. }
            | Self::Deactivated { user }
            | Self::Deleted { user } => *user,
        }
    }

    /// The auth-service's name for the event.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Created { .. } => "UserCreated",
            Self::Updated { .. } => "UserUpdated",
            Self::Deactivated { .. } => "UserDeactivated",
            Self::Deleted { .. } => "UserDeleted",
        }
    }

    /// What this change writes, given whether this service owns `users`. In a table the
    /// auth-service owns, its own columns (username, email, is_active) are its to write;
    /// a row is inserted there only when the event arrives before the row does.
    pub fn plan(&self, owns_users: bool) -> Plan {
        match (self, owns_users) {
            (Self::Created { .. }, _) => Plan::InsertIfMissing,
            (Self::Updated { .. }, true) => Plan::UpdateAccount,
            (Self::Deactivated { .. }, true) => Plan::Deactivate,
            (Self::Updated { .. } | Self::Deactivated { .. }, false) => Plan::Nothing,
            (Self::Deleted { .. }, owns_users) => Plan::Erase {
                delete_row: owns_users,
            },
        }
    }
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
        assert_eq!(updated.plan(true), Plan::UpdateAccount);
        assert_eq!(
            Change::Deactivated { user: user() }.plan(true),
            Plan::Deactivate
        );
        assert_eq!(
            Change::Deleted { user: user() }.plan(true),
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
        assert_eq!(updated.plan(false), Plan::Nothing);
        assert_eq!(
            Change::Deactivated { user: user() }.plan(false),
            Plan::Nothing
        );
        assert_eq!(
            Change::Deleted { user: user() }.plan(false),
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
        assert_eq!(created.plan(true), Plan::InsertIfMissing);
        assert_eq!(created.plan(false), Plan::InsertIfMissing);
        assert_eq!(created.event_type(), "UserCreated");
        assert_eq!(created.user(), user());
    }
}
