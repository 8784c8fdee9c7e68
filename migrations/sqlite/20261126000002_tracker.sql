-- The visibility columns on users are ensured before migrations: see PROFILE_COLUMNS in
-- src/db/sqlite.rs.

-- Each goal's streak as of its last check-in (see src/domain/streak.rs), rewritten in the
-- transaction of every check-in write, so reading a goal never scans its history.
ALTER TABLE learning_goals ADD COLUMN last_checkin_date TEXT;
ALTER TABLE learning_goals ADD COLUMN streak_run INTEGER NOT NULL DEFAULT 0;
ALTER TABLE learning_goals ADD COLUMN longest_streak INTEGER NOT NULL DEFAULT 0;
ALTER TABLE learning_goals ADD COLUMN freezes_held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE learning_goals ADD COLUMN frozen_dates TEXT NOT NULL DEFAULT '[]';
-- Goals whose streak may still be alive, for a user's stats.
CREATE INDEX learning_goals_by_user_last_checkin ON learning_goals (user_id, last_checkin_date);

-- One check-in per goal and day: the primary key makes a repeated check-in a no-op.
CREATE TABLE goal_checkins (
    goal_id INTEGER NOT NULL REFERENCES learning_goals (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    checkin_date TEXT NOT NULL,
    minutes INTEGER CHECK (minutes BETWEEN 1 AND 1440),
    note TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (goal_id, checkin_date)
) WITHOUT ROWID;
-- A user's check-ins by day: totals and active days.
CREATE INDEX goal_checkins_by_user ON goal_checkins (user_id, checkin_date);

-- The activity feed. goal_id has no foreign key: a deleted goal's events stay.
CREATE TABLE activity_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    section TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    goal_id INTEGER,
    badge_code TEXT,
    summary TEXT NOT NULL
);
CREATE INDEX activity_events_by_user ON activity_events (user_id, id DESC);

-- The catalog gains a tier and a one-sentence criterion.
ALTER TABLE badges ADD COLUMN tier TEXT NOT NULL DEFAULT 'bronze' CHECK (tier IN ('bronze', 'silver', 'gold'));
ALTER TABLE badges ADD COLUMN criteria TEXT NOT NULL DEFAULT '';

UPDATE badges SET tier = 'bronze', criteria = 'Create a learning goal.' WHERE code = 'first-goal';
UPDATE badges SET tier = 'bronze', criteria = 'Complete a learning goal.' WHERE code = 'first-completion';
UPDATE badges SET tier = 'silver', criteria = 'Complete five learning goals.' WHERE code = 'five-completions';
UPDATE badges SET tier = 'gold', criteria = 'Complete twenty-five learning goals.' WHERE code = 'twenty-five-completions';
UPDATE badges SET tier = 'bronze', criteria = 'Check in on one goal three days in a row.' WHERE code = 'streak-3';
UPDATE badges SET tier = 'silver', criteria = 'Check in on one goal seven days in a row.' WHERE code = 'streak-7';
UPDATE badges SET tier = 'gold', criteria = 'Check in on one goal thirty days in a row.' WHERE code = 'streak-30';
UPDATE badges SET tier = 'gold', criteria = 'Check in on one goal a hundred days in a row.' WHERE code = 'streak-100';
UPDATE badges SET tier = 'bronze', criteria = 'Fill in a display name, a bio and at least three skills.' WHERE code = 'profile-complete';
