//! The `users` table as this service finds it. The auth-service owns it and declares it as
//! it likes: `id` of any integer type, `username` and `email` as TEXT or VARCHAR, `email`
//! nullable or absent, `is_active` nullable or absent, `created_at` with or without a time
//! zone, or absent. At start the service reads the table's columns and builds its
//! statements from what is there; a table without `id` or `username` is refused, so the
//! service never reports itself ready and then fails every request.

use std::sync::Arc;

use super::social::PeopleStatements;

/// A column as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The declared type, as `information_schema` (PostgreSQL) or `PRAGMA table_info`
    /// (SQLite) spells it.
    pub data_type: String,
}

impl Column {
    pub fn new(name: &str, data_type: &str) -> Self {
        Self {
            name: name.to_owned(),
            data_type: data_type.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    Sqlite,
}

/// Why the service cannot work with a `users` table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("there is no table `users`")]
    NoTable,
    #[error("table `users` has no column `{0}`, which this service needs")]
    Missing(&'static str),
    #[error("column `users.{column}` is {found}; this service needs {expected}")]
    WrongType {
        column: &'static str,
        found: String,
        expected: &'static str,
    },
}

/// What the auth-service's table has, and who created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsersTable {
    dialect: Dialect,
    pub email: bool,
    pub is_active: bool,
    /// The auth-service's signup time. Without it a profile's `created_at` is
    /// `first_seen_at`, when this service first saw the user.
    pub created_at: bool,
    /// This service created the table (standalone, or fed by the auth-service's events):
    /// it may then write the auth-service's columns too.
    pub owned: bool,
}

impl UsersTable {
    /// The table from its columns as the database lists them: (name, declared type).
    pub fn from_described(
        dialect: Dialect,
        described: &[(String, String)],
        owned: bool,
    ) -> Result<Self, ShapeError> {
        let columns: Vec<Column> = described
            .iter()
            .map(|(name, data_type)| Column::new(name, data_type))
            .collect();
        Self::from_columns(dialect, &columns, owned)
    }

    pub fn from_columns(
        dialect: Dialect,
        columns: &[Column],
        owned: bool,
    ) -> Result<Self, ShapeError> {
        if columns.is_empty() {
            return Err(ShapeError::NoTable);
        }
        let find = |name: &str| {
            columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
                .map(|c| c.data_type.to_ascii_lowercase())
        };
        let id = find("id").ok_or(ShapeError::Missing("id"))?;
        if !is_integer(dialect, &id) {
            return Err(ShapeError::WrongType {
                column: "id",
                found: id,
                expected: "an integer type (INTEGER, BIGINT, SERIAL)",
            });
        }
        let username = find("username").ok_or(ShapeError::Missing("username"))?;
        if !is_text(dialect, &username) {
            return Err(ShapeError::WrongType {
                column: "username",
                found: username,
                expected: "TEXT or VARCHAR",
            });
        }
        let email = find("email");
        if let Some(email) = email.as_deref().filter(|t| !is_text(dialect, t)) {
            return Err(ShapeError::WrongType {
                column: "email",
                found: email.to_owned(),
                expected: "TEXT or VARCHAR",
            });
        }
        let is_active = find("is_active");
        if let Some(flag) = is_active
            .as_deref()
            .filter(|t| dialect == Dialect::Postgres && *t != "boolean")
        {
            return Err(ShapeError::WrongType {
                column: "is_active",
                found: flag.to_owned(),
                expected: "BOOLEAN",
            });
        }
        let created_at = find("created_at");
        if let Some(stamp) = created_at
            .as_deref()
            .filter(|t| dialect == Dialect::Postgres && !t.starts_with("timestamp"))
        {
            return Err(ShapeError::WrongType {
                column: "created_at",
                found: stamp.to_owned(),
                expected: "TIMESTAMP or TIMESTAMPTZ",
            });
        }
        Ok(Self {
            dialect,
            email: email.is_some(),
            is_active: is_active.is_some(),
            created_at: created_at.is_some(),
            owned,
        })
    }

    /// The columns of a `UserRow`, in its order.
    fn select_list(&self) -> String {
        let mut list = String::from("CAST(id AS BIGINT) AS id, username, ");
        list.push_str(if self.email {
            "email"
        } else {
            "CAST(NULL AS TEXT) AS email"
        });
        list.push_str(
            ", display_name, bio, skills, avatar_url, timezone, week_start, profile_revision, \
             goals_visibility, badges_visibility, activity_visibility, stats_visibility, \
             connections_visibility, follow_policy, \
             COALESCE((SELECT r.enabled FROM reminder_users r WHERE r.user_id = users.id), TRUE) \
             AS reminders, \
             COALESCE((SELECT c.followers FROM follow_counts c WHERE c.user_id = users.id), 0) \
             AS followers_count, \
             COALESCE((SELECT c.following FROM follow_counts c WHERE c.user_id = users.id), 0) \
             AS following_count, ",
        );
        list.push_str(if self.created_at {
            "created_at"
        } else {
            "first_seen_at AS created_at"
        });
        list
    }

    /// The condition that a row is an active user: a null `is_active` counts as active,
    /// and without the column everyone is.
    fn active(&self) -> &'static str {
        if self.is_active {
            "COALESCE(is_active, TRUE)"
        } else {
            "TRUE"
        }
    }

    /// The same condition on the users table as `alias`.
    fn active_of(&self, alias: &str) -> String {
        if self.is_active {
            format!("COALESCE({alias}.is_active, TRUE)")
        } else {
            "TRUE".into()
        }
    }

    pub fn statements(&self) -> UserStatements {
        let select = self.select_list();
        let active_user = format!(
            "SELECT {select} FROM users WHERE id = $1 AND {}",
            self.active()
        );
        let lock_suffix = match self.dialect {
            // Serialises writers of the row without blocking the key-share locks that
            // inserting a child row takes (see postgres.rs).
            Dialect::Postgres => " FOR NO KEY UPDATE",
            // The writer's BEGIN IMMEDIATE already serialises writes.
            Dialect::Sqlite => "",
        };
        let mut insert_columns = String::from("id, username, first_seen_at");
        let mut insert_values = String::from("$1, $2, $4");
        if self.email {
            insert_columns.push_str(", email");
            insert_values.push_str(", $3");
        }
        if self.created_at {
            insert_columns.push_str(", created_at");
            insert_values.push_str(", $4");
        }
        let mut update_account = String::from("UPDATE users SET username = COALESCE($2, username)");
        if self.email {
            update_account.push_str(", email = CASE WHEN $3 THEN $4 ELSE email END");
        }
        update_account.push_str(" WHERE id = $1");
        UserStatements {
            lock_active: format!("{active_user}{lock_suffix}").into(),
            active: active_user.into(),
            exists: "SELECT CAST(id AS BIGINT) FROM users WHERE id = $1".into(),
            update_profile: format!(
                "UPDATE users SET display_name = $2, bio = $3, skills = $4, avatar_url = $5, \
                 timezone = $6, goals_visibility = $7, badges_visibility = $8, \
                 activity_visibility = $9, stats_visibility = $10, profile_updated_at = $11, \
                 week_start = $12, connections_visibility = $13, follow_policy = $14, \
                 profile_revision = profile_revision + 1 WHERE id = $1 \
                 RETURNING {select}"
            )
            .into(),
            insert: format!(
                "INSERT INTO users ({insert_columns}) VALUES ({insert_values}) \
                 ON CONFLICT (id) DO NOTHING"
            )
            .into(),
            update_account: update_account.into(),
            deactivate: self
                .is_active
                .then(|| "UPDATE users SET is_active = FALSE WHERE id = $1".into()),
            email: self.email,
            owned: self.owned,
            people: PeopleStatements::new(&self.active_of("u"), self.dialect),
            among: {
                // $1 a JSON array of ids: one statement for a page's worth of rows.
                let ids = match self.dialect {
                    Dialect::Postgres => {
                        "(SELECT CAST(value AS BIGINT) FROM json_array_elements_text(CAST($1 AS json)))"
                    }
                    Dialect::Sqlite => "(SELECT value FROM json_each($1))",
                };
                Among {
                    users: format!(
                        "SELECT {select} FROM users WHERE id IN {ids} AND {}",
                        self.active()
                    )
                    .into(),
                    goal_titles: format!(
                        "SELECT CAST(id AS BIGINT) AS id, title FROM learning_goals WHERE id IN {ids}"
                    )
                    .into(),
                    recent_dates: format!(
                        "SELECT CAST(goal_id AS BIGINT) AS goal_id, checkin_date FROM goal_checkins \
                         WHERE goal_id IN {ids} AND checkin_date >= $2"
                    )
                    .into(),
                }
            },
            reminders_due: super::reminders::due_statement(&self.active_of("u")).into(),
        }
    }
}

/// The statements on `users`, built once from its shape (shared, so a query takes its text
/// without copying it). Parameters are described on each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserStatements {
    /// $1 id: the user's row, if active.
    pub active: Arc<str>,
    /// The same, locking the row for the rest of the transaction.
    pub lock_active: Arc<str>,
    /// $1 id: the id, if a row exists, active or not.
    pub exists: Arc<str>,
    /// $1 id, then the profile columns, the update's time ($11), the week start ($12), the
    /// connections' visibility ($13) and the follow policy ($14);
    /// returns the row.
    pub update_profile: Arc<str>,
    /// $1 id, $2 username, $3 email, $4 now (the service first saw the user).
    pub insert: Arc<str>,
    /// $1 id, $2 username (null keeps it), and with an email column $3 whether to set the
    /// email and $4 the email.
    pub update_account: Arc<str>,
    /// $1 id; `None` when the table has no `is_active`.
    pub deactivate: Option<Arc<str>>,
    /// Whether the table has an email column (the statements take its parameters).
    pub email: bool,
    pub owned: bool,
    /// The lists of people (followers, following, requests, blocks, mutes).
    pub people: PeopleStatements,
    /// The reminder schedules due (see `reminders::due_statement`).
    pub reminders_due: Arc<str>,
    pub among: Among,
}

/// Reads of the rows of several ids at once ($1 a JSON array of ids), so that a page of
/// items that each name other rows reads them in one statement each, not one per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Among {
    /// The active users among the ids.
    pub users: Arc<str>,
    /// (goal, title) of the goals among the ids.
    pub goal_titles: Arc<str>,
    /// (goal, date) of the check-ins of the goals among the ids on or after $2.
    pub recent_dates: Arc<str>,
}

fn is_integer(dialect: Dialect, data_type: &str) -> bool {
    match dialect {
        Dialect::Postgres => matches!(data_type, "smallint" | "integer" | "bigint"),
        // SQLite's rule for integer affinity.
        Dialect::Sqlite => data_type.contains("int"),
    }
}

fn is_text(dialect: Dialect, data_type: &str) -> bool {
    match dialect {
        Dialect::Postgres => matches!(data_type, "text" | "character varying" | "character"),
        // SQLite's rules for text affinity; an undeclared type stores text as text.
        Dialect::Sqlite => {
            data_type.is_empty()
                || ["char", "clob", "text"]
                    .iter()
                    .any(|t| data_type.contains(t))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(spec: &[(&str, &str)]) -> Vec<Column> {
        spec.iter().map(|(n, t)| Column::new(n, t)).collect()
    }

    /// The FastAPI auth-service's table: SERIAL id, VARCHAR columns, no created_at.
    fn fastapi() -> Vec<Column> {
        columns(&[
            ("id", "integer"),
            ("username", "character varying"),
            ("email", "character varying"),
            ("hashed_password", "character varying"),
            ("is_active", "boolean"),
        ])
    }

    #[test]
    fn the_fastapi_table_is_read_with_first_seen_at_for_created_at() {
        let table = UsersTable::from_columns(Dialect::Postgres, &fastapi(), false).unwrap();
        assert!(table.email && table.is_active && !table.created_at);
        let statements = table.statements();
        assert!(statements.active.contains("first_seen_at AS created_at"));
        assert!(statements.active.contains("CAST(id AS BIGINT) AS id"));
        assert!(statements.active.contains("COALESCE(is_active, TRUE)"));
        assert!(statements.lock_active.ends_with("FOR NO KEY UPDATE"));
        assert!(!statements.insert.contains("created_at"));
    }

    #[test]
    fn absent_columns_are_read_as_null_or_as_true() {
        let table = UsersTable::from_columns(
            Dialect::Sqlite,
            &columns(&[("ID", "INTEGER"), ("username", "TEXT")]),
            true,
        )
        .unwrap();
        let statements = table.statements();
        assert!(statements.active.contains("CAST(NULL AS TEXT) AS email"));
        assert!(statements.active.ends_with("AND TRUE"));
        assert_eq!(statements.deactivate, None);
        assert!(!statements.update_account.contains("email"));
        assert!(!statements.insert.contains("email"));
    }

    #[test]
    fn a_table_without_id_or_username_is_refused_by_name() {
        let no_username = columns(&[("id", "bigint"), ("email", "text")]);
        assert_eq!(
            UsersTable::from_columns(Dialect::Postgres, &no_username, false),
            Err(ShapeError::Missing("username"))
        );
        let no_id = columns(&[("user_id", "bigint"), ("username", "text")]);
        assert_eq!(
            UsersTable::from_columns(Dialect::Postgres, &no_id, false),
            Err(ShapeError::Missing("id"))
        );
        assert_eq!(
            UsersTable::from_columns(Dialect::Postgres, &[], false),
            Err(ShapeError::NoTable)
        );
    }

    #[test]
    fn an_id_that_is_not_an_integer_is_refused() {
        let uuid = columns(&[("id", "uuid"), ("username", "text")]);
        assert!(matches!(
            UsersTable::from_columns(Dialect::Postgres, &uuid, false),
            Err(ShapeError::WrongType { column: "id", .. })
        ));
        let text = columns(&[("id", "TEXT"), ("username", "TEXT")]);
        assert!(matches!(
            UsersTable::from_columns(Dialect::Sqlite, &text, false),
            Err(ShapeError::WrongType { column: "id", .. })
        ));
    }

    #[test]
    fn integer_and_text_types_of_either_dialect_are_accepted() {
        for (dialect, id, username) in [
            (Dialect::Postgres, "bigint", "text"),
            (Dialect::Postgres, "smallint", "character"),
            (Dialect::Sqlite, "bigint", "varchar(50)"),
            (Dialect::Sqlite, "integer", ""),
        ] {
            let shape = columns(&[("id", id), ("username", username)]);
            assert!(
                UsersTable::from_columns(dialect, &shape, false).is_ok(),
                "{dialect:?} {id} {username}"
            );
        }
    }

    #[test]
    fn a_created_at_of_either_timestamp_type_is_read_and_others_are_refused() {
        for stamp in ["timestamp without time zone", "timestamp with time zone"] {
            let shape = columns(&[
                ("id", "bigint"),
                ("username", "text"),
                ("created_at", stamp),
            ]);
            let table = UsersTable::from_columns(Dialect::Postgres, &shape, false).unwrap();
            assert!(table.statements().active.contains(", created_at FROM"));
        }
        let date = columns(&[
            ("id", "bigint"),
            ("username", "text"),
            ("created_at", "date"),
        ]);
        assert!(UsersTable::from_columns(Dialect::Postgres, &date, false).is_err());
    }
}
