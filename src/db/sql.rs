//! SQL text both backends run as written. Parameters are `$1`, `$2`, … which SQLite also
//! understands; times are bound from the application clock rather than read from the
//! database's, so both backends store the same instants. Statements that differ by backend
//! are built in `postgres.rs` and `sqlite.rs` from the pieces here.

macro_rules! user_columns {
    () => {
        "id, username, email, display_name, bio, skills, avatar_url, timezone, created_at, \
         goals_visibility, badges_visibility, activity_visibility, stats_visibility"
    };
}
pub(crate) use user_columns;

macro_rules! goal_columns {
    () => {
        "id, user_id, title, description, status, created_at, updated_at, completed_at, \
         last_checkin_date, streak_run, longest_streak, freezes_held, frozen_dates"
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
    "goals_visibility = $7, badges_visibility = $8, activity_visibility = $9, stats_visibility = $10, ",
    "profile_updated_at = $11 WHERE id = $1 RETURNING ",
    user_columns!()
);

/// Standalone use only: in a shared database the auth-service inserts users.
pub const INSERT_USER: &str = "INSERT INTO users (id, username, created_at) VALUES ($1, $2, $3)";

/// Newest first by id (ids only grow), served by `learning_goals_by_user`. The first page
/// has no `id <` bound: with one, a planner that sees a user holding much of the table may
/// walk the primary key backwards instead.
pub const GOALS_FIRST_PAGE: &str = concat!(
    "SELECT ",
    goal_columns!(),
    " FROM learning_goals WHERE user_id = $1 ORDER BY id DESC LIMIT $2"
);

pub const GOALS_PAGE: &str = concat!(
    "SELECT ",
    goal_columns!(),
    " FROM learning_goals WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
);

/// Served by `learning_goals_by_user_status`.
pub const GOALS_FIRST_PAGE_WITH_STATUS: &str = concat!(
    "SELECT ",
    goal_columns!(),
    " FROM learning_goals WHERE user_id = $1 AND status = $2 ORDER BY id DESC LIMIT $3"
);

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

pub const COUNT_GOALS: &str = "SELECT count(*) FROM learning_goals WHERE user_id = $1";

pub const COUNT_GOALS_WITH_STATUS: &str =
    "SELECT count(*) FROM learning_goals WHERE user_id = $1 AND status = $2";

/// Served by `learning_goals_by_user_last_checkin`.
pub const RECENT_STREAKS: &str = "\
    SELECT last_checkin_date, streak_run, longest_streak, freezes_held, frozen_dates \
    FROM learning_goals WHERE user_id = $1 AND last_checkin_date >= $2";

/// The streak summary, and the check-in count moved by $7 (+1 or -1).
pub const SAVE_STREAK: &str = "\
    UPDATE learning_goals SET last_checkin_date = $2, streak_run = $3, longest_streak = $4, \
    freezes_held = $5, frozen_dates = $6, checkin_count = checkin_count + $7 WHERE id = $1";

macro_rules! checkin_columns {
    () => {
        "goal_id, checkin_date, minutes, note, created_at"
    };
}

/// The primary key (goal_id, checkin_date) turns a repeated check-in into no row.
pub const INSERT_CHECKIN: &str = concat!(
    "INSERT INTO goal_checkins (goal_id, user_id, checkin_date, minutes, note, created_at) ",
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (goal_id, checkin_date) DO NOTHING RETURNING ",
    checkin_columns!()
);

pub const CHECKIN: &str = concat!(
    "SELECT ",
    checkin_columns!(),
    " FROM goal_checkins WHERE goal_id = $1 AND checkin_date = $2"
);

/// Newest first, days between $2 and $3 inclusive.
pub const CHECKINS_PAGE: &str = concat!(
    "SELECT ",
    checkin_columns!(),
    " FROM goal_checkins WHERE goal_id = $1 AND checkin_date >= $2 AND checkin_date <= $3 ",
    "ORDER BY checkin_date DESC LIMIT $4"
);

pub const DELETE_CHECKIN: &str =
    "DELETE FROM goal_checkins WHERE goal_id = $1 AND checkin_date = $2";

pub const CHECKIN_DATES: &str = "SELECT checkin_date FROM goal_checkins WHERE goal_id = $1";

pub const INSERT_EVENT: &str = "\
    INSERT INTO activity_events (user_id, kind, section, occurred_at, goal_id, badge_code, summary) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Newest first; $3 and $4 say whether goal and badge events may be shown.
pub const ACTIVITY_PAGE: &str = "\
    SELECT id, kind, occurred_at, goal_id, badge_code, summary FROM activity_events \
    WHERE user_id = $1 AND id < $2 AND ($3 OR section <> 'goals') AND ($4 OR section <> 'badges') \
    ORDER BY id DESC LIMIT $5";

/// A user's figures in one statement: one row per status some goal has (its goals, their
/// check-ins, their best streak), each carrying the user-wide totals; one row with a null
/// status when the user has no goal.
pub const STATS: &str = "\
    SELECT t.active_days, t.badges_count, t.last_active_at, \
      g.status, g.goals, g.checkins, g.longest_streak \
    FROM (SELECT \
      (SELECT count(DISTINCT checkin_date) FROM goal_checkins \
         WHERE user_id = $1 AND checkin_date >= $2) AS active_days, \
      (SELECT count(*) FROM user_badges WHERE user_id = $1) AS badges_count, \
      (SELECT occurred_at FROM activity_events WHERE user_id = $1 \
         ORDER BY id DESC LIMIT 1) AS last_active_at) AS t \
    LEFT JOIN (SELECT status, count(*) AS goals, \
      CAST(COALESCE(sum(checkin_count), 0) AS BIGINT) AS checkins, \
      CAST(max(longest_streak) AS BIGINT) AS longest_streak \
      FROM learning_goals WHERE user_id = $1 GROUP BY status) AS g ON TRUE";

pub const BADGES_OF_USER: &str = "\
    SELECT b.code, b.name, b.description, b.icon_url, ub.awarded_at \
    FROM user_badges ub JOIN badges b ON b.code = ub.badge_code \
    WHERE ub.user_id = $1 ORDER BY ub.awarded_at DESC, b.code";

pub const USER_BADGE: &str = "\
    SELECT b.code, b.name, b.description, b.icon_url, ub.awarded_at \
    FROM user_badges ub JOIN badges b ON b.code = ub.badge_code \
    WHERE ub.user_id = $1 AND ub.badge_code = $2";

pub const HELD_BADGES: &str = "SELECT badge_code FROM user_badges WHERE user_id = $1";

macro_rules! catalog_select {
    () => {
        "SELECT b.code, b.name, b.description, b.icon_url, b.tier, b.criteria, \
         (SELECT count(*) FROM user_badges ub WHERE ub.badge_code = b.code) AS holders \
         FROM badges b"
    };
}

pub const BADGE_CATALOG: &str = concat!(catalog_select!(), " ORDER BY b.code");

pub const BADGE: &str = concat!(catalog_select!(), " WHERE b.code = $1");

pub const INSERT_BADGE: &str = "\
    INSERT INTO badges (code, name, description, icon_url, tier, criteria) \
    VALUES ($1, $2, $3, $4, $5, $6)";

/// Awards a catalog badge once: the primary key (user_id, badge_code) makes a second award,
/// even a concurrent one, no row.
pub const AWARD_BADGE: &str = "\
    INSERT INTO user_badges (user_id, badge_code, awarded_at) \
    SELECT $1, code, $3 FROM badges WHERE code = $2 \
    ON CONFLICT (user_id, badge_code) DO NOTHING";

pub const REVOKE_BADGE: &str = "DELETE FROM user_badges WHERE user_id = $1 AND badge_code = $2";

/// Claims a key for a new request: inserted, or taken over when the old one has expired
/// ($5); no row when a live request holds it.
pub const CLAIM_IDEMPOTENCY_KEY: &str = "\
    INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, created_at) \
    VALUES ($1, $2, $3, $4) \
    ON CONFLICT (user_id, idempotency_key) DO UPDATE SET request_hash = excluded.request_hash, \
      created_at = excluded.created_at, status = NULL, location = NULL, body = NULL \
    WHERE idempotency_keys.created_at < $5 \
    RETURNING user_id";

/// With whether the goal the first request created has been deleted since.
pub const IDEMPOTENCY_RECORD: &str = "\
    SELECT k.request_hash, k.status, k.location, k.body, \
      (k.goal_id IS NOT NULL AND NOT EXISTS ( \
        SELECT 1 FROM learning_goals g WHERE g.id = k.goal_id AND g.user_id = k.user_id)) \
        AS goal_deleted \
    FROM idempotency_keys k \
    WHERE k.user_id = $1 AND k.idempotency_key = $2";

pub const SAVE_IDEMPOTENT_RESPONSE: &str = "\
    UPDATE idempotency_keys SET status = $3, location = $4, body = $5, goal_id = $6 \
    WHERE user_id = $1 AND idempotency_key = $2";

pub const PURGE_IDEMPOTENCY_KEYS: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";
