-- Who sees each section of a profile; the owner always does.
ALTER TABLE users
    ADD COLUMN IF NOT EXISTS goals_visibility TEXT NOT NULL DEFAULT 'public',
    ADD COLUMN IF NOT EXISTS badges_visibility TEXT NOT NULL DEFAULT 'public',
    ADD COLUMN IF NOT EXISTS activity_visibility TEXT NOT NULL DEFAULT 'public',
    ADD COLUMN IF NOT EXISTS stats_visibility TEXT NOT NULL DEFAULT 'public';

-- Each goal's streak as of its last check-in (see src/domain/streak.rs), rewritten in the
-- transaction of every check-in write, so reading a goal never scans its history.
ALTER TABLE learning_goals
    ADD COLUMN last_checkin_date DATE,
    ADD COLUMN streak_run INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN longest_streak INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN freezes_held INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN frozen_dates JSONB NOT NULL DEFAULT '[]'::jsonb;
-- Goals whose streak may still be alive, for a user's stats.
CREATE INDEX learning_goals_by_user_last_checkin ON learning_goals (user_id, last_checkin_date);

-- One check-in per goal and day: the primary key makes a repeated check-in a no-op.
CREATE TABLE goal_checkins (
    goal_id BIGINT NOT NULL REFERENCES learning_goals (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    checkin_date DATE NOT NULL,
    minutes INTEGER CHECK (minutes BETWEEN 1 AND 1440),
    note TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (goal_id, checkin_date)
);
-- A user's check-ins by day: totals and active days.
CREATE INDEX goal_checkins_by_user ON goal_checkins (user_id, checkin_date);

-- The activity feed. goal_id has no foreign key: a deleted goal's events stay.
CREATE TABLE activity_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    section TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    goal_id BIGINT,
    badge_code TEXT,
    summary TEXT NOT NULL
);
CREATE INDEX activity_events_by_user ON activity_events (user_id, id DESC);

-- The catalog gains a tier and a one-sentence criterion.
ALTER TABLE badges
    ADD COLUMN tier TEXT NOT NULL DEFAULT 'bronze' CHECK (tier IN ('bronze', 'silver', 'gold')),
    ADD COLUMN criteria TEXT NOT NULL DEFAULT '';

UPDATE badges SET tier = v.tier, criteria = v.criteria
FROM (VALUES
    ('first-goal', 'bronze', 'Create a learning goal.'),
    ('first-completion', 'bronze', 'Complete a learning goal.'),
    ('five-completions', 'silver', 'Complete five learning goals.'),
    ('twenty-five-completions', 'gold', 'Complete twenty-five learning goals.'),
    ('streak-3', 'bronze', 'Check in on one goal three days in a row.'),
    ('streak-7', 'silver', 'Check in on one goal seven days in a row.'),
    ('streak-30', 'gold', 'Check in on one goal thirty days in a row.'),
    ('streak-100', 'gold', 'Check in on one goal a hundred days in a row.'),
    ('profile-complete', 'bronze', 'Fill in a display name, a bio and at least three skills.')
) AS v (code, tier, criteria)
WHERE badges.code = v.code;
