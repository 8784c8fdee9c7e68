//! SQL text both backends run as written. Parameters are `$1`, `$2`, … which SQLite also
//! understands; times are bound from the application clock rather than read from the
//! database's, so both backends store the same instants. Statements that differ by backend
//! are built in `postgres.rs` and `sqlite.rs` from the pieces here; those on `users`, whose
//! shape is the auth-service's, are built at start by `users_table`.

macro_rules! goal_columns {
    () => {
        "id, user_id, title, description, status, created_at, updated_at, completed_at, \
         last_checkin_date, streak_run, longest_streak, freezes_held, frozen_dates, \
         streak_week_days, streak_announced_run, streak_announced, cadence, days_per_week, \
         revision, reminders"
    };
}
pub(crate) use goal_columns;

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

/// A user's weekly goals, served by `learning_goals_by_user`.
macro_rules! weekly_goals {
    () => {
        concat!(
            "SELECT ",
            $crate::db::sql::goal_columns!(),
            " FROM learning_goals WHERE user_id = $1 AND cadence = 'weekly' ORDER BY id"
        )
    };
}
pub(crate) use weekly_goals;

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
    "INSERT INTO learning_goals (user_id, title, description, status, created_at, updated_at, completed_at, \
     cadence, days_per_week, reminders) ",
    "VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9) RETURNING ",
    goal_columns!()
);

pub const UPDATE_GOAL: &str = concat!(
    "UPDATE learning_goals SET title = $3, description = $4, status = $5, completed_at = $6, ",
    "updated_at = $7, cadence = $8, days_per_week = $9, reminders = $10, revision = revision + 1 ",
    "WHERE id = $1 AND user_id = $2 RETURNING ",
    goal_columns!()
);

pub const DELETE_GOAL: &str =
    "DELETE FROM learning_goals WHERE id = $1 AND user_id = $2 RETURNING title";

pub const COUNT_GOALS: &str = "SELECT count(*) FROM learning_goals WHERE user_id = $1";

pub const COUNT_GOALS_WITH_STATUS: &str =
    "SELECT count(*) FROM learning_goals WHERE user_id = $1 AND status = $2";

/// Served by `learning_goals_by_user_last_checkin`. Daily goals only: the stats' streaks
/// are in days.
pub const RECENT_STREAKS: &str = "\
    SELECT last_checkin_date, streak_run, longest_streak, freezes_held, frozen_dates, \
      streak_week_days \
    FROM learning_goals WHERE user_id = $1 AND last_checkin_date >= $2 AND cadence = 'daily'";

/// The best streak any of the user's daily goals ever had, in days (0 without goals).
pub const LONGEST_STREAK: &str = "\
    SELECT CAST(COALESCE(max(longest_streak), 0) AS BIGINT) FROM learning_goals \
    WHERE user_id = $1 AND cadence = 'daily'";

/// The streak summary, the check-in count moved by $7 (+1 or -1) and how far the run was
/// announced ($9, $10): a new revision of the goal, whose representation shows the streak.
pub const SAVE_STREAK: &str = "\
    UPDATE learning_goals SET last_checkin_date = $2, streak_run = $3, longest_streak = $4, \
    freezes_held = $5, frozen_dates = $6, checkin_count = checkin_count + $7, \
    streak_week_days = $8, streak_announced_run = $9, streak_announced = $10, \
    revision = revision + 1 WHERE id = $1";

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

/// Newest first, days between $2 and $3 inclusive, of the goal if it is user $5's.
pub const CHECKINS_PAGE: &str = concat!(
    "SELECT ",
    checkin_columns!(),
    " FROM goal_checkins WHERE goal_id = $1 AND user_id = $5 ",
    "AND checkin_date >= $2 AND checkin_date <= $3 ORDER BY checkin_date DESC LIMIT $4"
);

/// A user's check-ins per day from $2 to $3 inclusive, of goal $4 when it is not null:
/// one range scan of `goal_checkins_by_user (user_id, checkin_date)`, so the cost follows
/// the range, not the history.
pub const HEATMAP: &str = "\
    SELECT checkin_date, count(*) AS checkins, \
      CAST(COALESCE(sum(minutes), 0) AS BIGINT) AS minutes \
    FROM goal_checkins \
    WHERE user_id = $1 AND checkin_date >= $2 AND checkin_date <= $3 \
      AND ($4 IS NULL OR goal_id = $4) \
    GROUP BY checkin_date ORDER BY checkin_date";

pub const DELETE_CHECKIN: &str =
    "DELETE FROM goal_checkins WHERE goal_id = $1 AND checkin_date = $2";

pub const CHECKIN_DATES: &str = "SELECT checkin_date FROM goal_checkins WHERE goal_id = $1";

pub const INSERT_EVENT: &str = "\
    INSERT INTO activity_events (user_id, kind, section, occurred_at, goal_id, badge_code, summary) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Newest first; $3 and $4 say whether goal and badge events may be shown.
/// $6 the reader, if any: whether they gave each event kudos.
pub const ACTIVITY_PAGE: &str = "\
    SELECT id, CAST(user_id AS BIGINT) AS user_id, kind, occurred_at, goal_id, badge_code, \
      summary, CAST(kudos_count AS BIGINT) AS kudos_count, \
      CASE WHEN $6 IS NULL THEN NULL ELSE EXISTS (SELECT 1 FROM kudos k \
        WHERE k.event_id = activity_events.id AND k.giver_id = $6) END AS kudos_by_me \
    FROM activity_events \
    WHERE user_id = $1 AND id < $2 AND ($3 OR section <> 'goals') AND ($4 OR section <> 'badges') \
    ORDER BY id DESC LIMIT $5";

/// A user's figures in one statement: one row per status some goal has (its goals, their
/// check-ins, their best streak), each carrying the user-wide totals; one row with a null
/// status when the user has no goal. $3, $4 and $5 say whether the goals, the badges and
/// the activity may be read: a figure from a section that may not is null, and the latest
/// activity is of the events the feed shows.
pub const STATS: &str = "\
    SELECT t.active_days, t.badges_count, t.last_active_at, \
      g.status, g.goals, g.checkins, g.longest_streak \
    FROM (SELECT \
      CASE WHEN $3 THEN (SELECT count(DISTINCT checkin_date) FROM goal_checkins \
         WHERE user_id = $1 AND checkin_date >= $2) END AS active_days, \
      CASE WHEN $4 THEN (SELECT count(*) FROM user_badges WHERE user_id = $1) END AS badges_count, \
      CASE WHEN $5 THEN (SELECT occurred_at FROM activity_events WHERE user_id = $1 \
         AND ($3 OR section <> 'goals') AND ($4 OR section <> 'badges') \
         ORDER BY id DESC LIMIT 1) END AS last_active_at) AS t \
    LEFT JOIN (SELECT status, count(*) AS goals, \
      CAST(COALESCE(sum(checkin_count), 0) AS BIGINT) AS checkins, \
      CAST(COALESCE(max(CASE WHEN cadence = 'daily' THEN longest_streak END), 0) AS BIGINT) \
        AS longest_streak \
      FROM learning_goals WHERE user_id = $1 AND $3 GROUP BY status) AS g ON TRUE";

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
    SELECT k.request_hash, k.body, \
      (k.goal_id IS NOT NULL AND NOT EXISTS ( \
        SELECT 1 FROM learning_goals g WHERE g.id = k.goal_id AND g.user_id = k.user_id)) \
        AS goal_deleted \
    FROM idempotency_keys k \
    WHERE k.user_id = $1 AND k.idempotency_key = $2";

/// What the request created, in `body` (status 201 marks it done, as earlier versions did).
pub const SAVE_IDEMPOTENT_RESULT: &str = "\
    UPDATE idempotency_keys SET status = 201, body = $3, goal_id = $4 \
    WHERE user_id = $1 AND idempotency_key = $2";

pub const PURGE_IDEMPOTENCY_KEYS: &str = "DELETE FROM idempotency_keys WHERE created_at < $1";

/// Erasure: everything this service holds about a user, table by table ($1 the user).
pub const ERASE_USER_DATA: &[&str] = &[
    "DELETE FROM goal_checkins WHERE user_id = $1",
    "DELETE FROM learning_goals WHERE user_id = $1",
    "DELETE FROM user_badges WHERE user_id = $1",
    "DELETE FROM activity_events WHERE user_id = $1",
    "DELETE FROM idempotency_keys WHERE user_id = $1",
    "DELETE FROM event_outbox WHERE user_id = $1",
    "DELETE FROM revoked_user_tokens WHERE user_id = $1",
    "DELETE FROM export_runs WHERE user_id = $1",
    // reminders_sent: with the goals, by their foreign key.
    "DELETE FROM reminder_users WHERE user_id = $1",
    // The keys of partners' reminders sent to the user (those sent to a partner who
    // remains name only the partnership, which is kept as history).
    "DELETE FROM partner_reminders_sent WHERE user_id = $1",
];

pub const INSERT_OUTBOX: &str = "\
    INSERT INTO event_outbox (event_id, user_id, event_type, data, occurred_at) \
    VALUES ($1, $2, $3, $4, $5)";

pub const OUTBOX_PENDING: &str = "\
    SELECT seq, event_id, user_id, event_type, data, occurred_at FROM event_outbox \
    WHERE published_at IS NULL ORDER BY seq LIMIT $1";

pub const PURGE_OUTBOX: &str = "\
    DELETE FROM event_outbox WHERE seq IN ( \
      SELECT seq FROM event_outbox WHERE published_at < $1 LIMIT $2)";

pub const OUTBOX_BACKLOG: &str = "\
    SELECT COUNT(*) AS pending, MIN(occurred_at) AS oldest FROM event_outbox \
    WHERE published_at IS NULL";

/// The profile columns back to what a user this service never saw has ($2 no skills, $3
/// now, when the service sees the user anew).
pub const RESET_PROFILE: &str = "\
    UPDATE users SET display_name = NULL, bio = NULL, skills = $2, avatar_url = NULL, \
      timezone = 'UTC', week_start = 'monday', profile_updated_at = NULL, \
      goals_visibility = 'public', badges_visibility = 'public', activity_visibility = 'public', \
      stats_visibility = 'public', \
      first_seen_at = $3, profile_revision = profile_revision + 1 \
    WHERE id = $1";

pub const DELETE_USER: &str = "DELETE FROM users WHERE id = $1";

/// Rows inserted by the auth-service while the service was stopped have no first-seen
/// time on SQLite, which cannot give an added column a default of "now".
pub const STAMP_FIRST_SEEN: &str =
    "UPDATE users SET first_seen_at = $1 WHERE first_seen_at IS NULL";

/// Claims an auth-service message by its key: no row when it was applied before.
pub const CLAIM_INBOX_MESSAGE: &str = "\
    INSERT INTO auth_event_inbox (message_key, received_at) VALUES ($1, $2) \
    ON CONFLICT (message_key) DO NOTHING RETURNING message_key";

pub const PURGE_INBOX: &str = "DELETE FROM auth_event_inbox WHERE received_at < $1";

/// How the account ended, if it did ($1 the id).
pub const ACCOUNT_ENDING: &str = "SELECT ending FROM ended_accounts WHERE account_id = $1";

/// Remembers how an account ended ($2, at $3): an erasure is final, a deactivation is
/// remembered only until then.
pub const RECORD_ACCOUNT_ENDING: &str = "\
    INSERT INTO ended_accounts (account_id, ending, ended_at) VALUES ($1, $2, $3) \
    ON CONFLICT (account_id) DO UPDATE SET ending = excluded.ending, ended_at = excluded.ended_at \
    WHERE ended_accounts.ending <> 'erased'";

/// Lists a token's `jti` until $2, the latest expiry it was listed with.
pub const REVOKE_TOKEN: &str = "\
    INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) \
    ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at \
    WHERE excluded.expires_at > revoked_tokens.expires_at";

/// Refuses user $1's tokens issued before $2, or before a later moment already recorded.
pub const REVOKE_USER_TOKENS: &str = "\
    INSERT INTO revoked_user_tokens (user_id, revoked_before) VALUES ($1, $2) \
    ON CONFLICT (user_id) DO UPDATE SET revoked_before = excluded.revoked_before \
    WHERE excluded.revoked_before > revoked_user_tokens.revoked_before";

pub const PURGE_REVOKED_TOKENS: &str = "DELETE FROM revoked_tokens WHERE expires_at < $1";

/// A token's revocations: the expiry its `jti` ($1, null for none) is listed with, and the
/// moment before which its user's ($2) tokens are refused. One row, of nulls when neither.
pub const REVOCATIONS: &str = "\
    SELECT (SELECT expires_at FROM revoked_tokens WHERE jti = $1) AS token_expires_at, \
      (SELECT revoked_before FROM revoked_user_tokens WHERE user_id = $2) AS tokens_before";

/// Whether any token or user is revoked at all: while none is, no token needs a lookup.
pub const ANYTHING_REVOKED: &str = "\
    SELECT EXISTS (SELECT 1 FROM revoked_tokens) OR EXISTS (SELECT 1 FROM revoked_user_tokens)";

/// This service's own notes about the database it runs on.
pub const CREATE_META: &str = "\
    CREATE TABLE IF NOT EXISTS user_service_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)";

/// Recorded when this service created `users` itself: it then owns the table's rows.
pub const RECORD_USERS_OWNED: &str = "\
    INSERT INTO user_service_meta (name, value) VALUES ('users_owner', 'user-service') \
    ON CONFLICT (name) DO NOTHING";

pub const USERS_OWNED: &str =
    "SELECT value FROM user_service_meta WHERE name = 'users_owner' AND value = 'user-service'";
