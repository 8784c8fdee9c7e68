-- users belongs to the auth-service. In a shared database it already exists, with rows and
-- often more columns: we only add the profile columns this service owns that are missing,
-- and touch nothing else. Standalone, we create the auth-service's minimal shape.
CREATE TABLE IF NOT EXISTS users (
    id BIGINT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    email TEXT,
    hashed_password TEXT,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE users
    ADD COLUMN IF NOT EXISTS display_name TEXT,
    ADD COLUMN IF NOT EXISTS bio TEXT,
    ADD COLUMN IF NOT EXISTS skills JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN IF NOT EXISTS avatar_url TEXT,
    ADD COLUMN IF NOT EXISTS timezone TEXT NOT NULL DEFAULT 'UTC',
    ADD COLUMN IF NOT EXISTS profile_updated_at TIMESTAMPTZ;

-- The badge catalog. Icons are paths the front end resolves against its asset base.
CREATE TABLE badges (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    icon_url TEXT
);

INSERT INTO badges (code, name, description, icon_url) VALUES
    ('first-goal', 'First step', 'Set a first learning goal.', '/badges/first-goal.svg'),
    ('first-completion', 'Finisher', 'Completed a first learning goal.', '/badges/first-completion.svg'),
    ('five-completions', 'Closer', 'Completed five learning goals.', '/badges/five-completions.svg'),
    ('twenty-five-completions', 'Achiever', 'Completed twenty-five learning goals.', '/badges/twenty-five-completions.svg'),
    ('streak-3', 'Warming up', 'Kept a goal going three days in a row.', '/badges/streak-3.svg'),
    ('streak-7', 'On a roll', 'Kept a goal going seven days in a row.', '/badges/streak-7.svg'),
    ('streak-30', 'Habit formed', 'Kept a goal going thirty days in a row.', '/badges/streak-30.svg'),
    ('streak-100', 'Unstoppable', 'Kept a goal going a hundred days in a row.', '/badges/streak-100.svg'),
    ('profile-complete', 'Introduced', 'Filled in a display name, a bio and at least three skills.', '/badges/profile-complete.svg');

-- Awards: at most one of each badge per user.
CREATE TABLE user_badges (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    badge_code TEXT NOT NULL REFERENCES badges (code) ON DELETE CASCADE,
    awarded_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, badge_code)
);
-- Holders of a badge; also serves the cascade when a catalog entry is removed.
CREATE INDEX user_badges_by_code ON user_badges (badge_code);

CREATE TABLE learning_goals (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'in-progress'
        CHECK (status IN ('in-progress', 'paused', 'completed', 'abandoned')),
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ
);
-- A user's goals newest first, without and with a status filter.
CREATE INDEX learning_goals_by_user ON learning_goals (user_id, id DESC);
CREATE INDEX learning_goals_by_user_status ON learning_goals (user_id, status, id DESC);
