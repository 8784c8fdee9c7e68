//! SQL text both backends run as written. Parameters are `$1`, `$2`, … which SQLite also
//! understands; times are bound from the application clock rather than read from the
//! database's, so both backends store the same instants. Statements that differ by backend
//! are built in `postgres.rs` and `sqlite.rs` from the column lists here.

macro_rules! user_columns {
    () => {
        "id, username, email, display_name, bio, skills, avatar_url, timezone, created_at"
    };
}
pub(crate) use user_columns;

macro_rules! goal_columns {
    () => {
        "id, user_id, title, description, status, created_at, updated_at, completed_at"
    };
}
pub(crate) use goal_columns;

/// An active user: the auth-service may leave `is_active` null, which counts as active.
macro_rules! select_active_user {
    () => {
        concat!(
            "SELECT ",
            $crate::db::sql::user_columns!(),
            " FROM users WHERE id = $1 AND COALESCE(is_active, TRUE)"
        )
    };
}
pub(crate) use select_active_user;

macro_rules! select_goal {
    () => {
        concat!(
            "SELECT ",
            $crate::db::sql::goal_columns!(),
            " FROM learning_goals WHERE id = $1 AND user_id = $2"
        )
    };
}
pub(crate) use select_goal;

pub const USER_BY_ID: &str = select_active_user!();

pub const UPDATE_PROFILE: &str = concat!(
    "UPDATE users SET display_name = $2, bio = $3, skills = $4, avatar_url = $5, timezone = $6, ",
    "profile_updated_at = $7 WHERE id = $1 RETURNING ",
    user_columns!()
);

/// Standalone use only: in a shared database the auth-service inserts users.
pub const INSERT_USER: &str = "INSERT INTO users (id, username, created_at) VALUES ($1, $2, $3)";

pub const BADGES_OF_USER: &str = "\
    SELECT b.code, b.name, b.description, b.icon_url, ub.awarded_at \
    FROM user_badges ub JOIN badges b ON b.code = ub.badge_code \
    WHERE ub.user_id = $1 ORDER BY ub.awarded_at DESC, b.code";

/// Newest first by id (ids only grow), served by `learning_goals_by_user`.
pub const GOALS_PAGE: &str = concat!(
    "SELECT ",
    goal_columns!(),
    " FROM learning_goals WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
);

/// Served by `learning_goals_by_user_status`.
pub const GOALS_PAGE_WITH_STATUS: &str = concat!(
    "SELECT ",
    goal_columns!(),
    " FROM learning_goals WHERE user_id = $1 AND status = $2 AND id < $3 ORDER BY id DESC LIMIT $4"
);

pub const GOAL_BY_ID: &str = select_goal!();

pub const INSERT_GOAL: &str = concat!(
    "INSERT INTO learning_goals (user_id, title, description, status, created_at, updated_at, completed_at) ",
    "VALUES ($1, $2, $3, $4, $5, $5, $6) RETURNING ",
    goal_columns!()
);

pub const UPDATE_GOAL: &str = concat!(
    "UPDATE learning_goals SET title = $3, description = $4, status = $5, completed_at = $6, ",
    "updated_at = $7 WHERE id = $1 AND user_id = $2 RETURNING ",
    goal_columns!()
);

pub const DELETE_GOAL: &str =
    "DELETE FROM learning_goals WHERE id = $1 AND user_id = $2 RETURNING title";

pub const GOAL_COUNTS: &str =
    "SELECT status, count(*) FROM learning_goals WHERE user_id = $1 GROUP BY status";

pub const BADGE_COUNT: &str = "SELECT count(*) FROM user_badges WHERE user_id = $1";
