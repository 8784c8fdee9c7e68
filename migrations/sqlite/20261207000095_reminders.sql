-- Reminders (streak.at_risk.v1, src/reminders.rs): each user's opt-out and schedule, each
-- goal's opt-out, and the reminders sent. See the PostgreSQL migration for the columns.

ALTER TABLE learning_goals ADD COLUMN reminders BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE reminder_users (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_date TEXT,
    next_at INTEGER
);
CREATE INDEX reminder_users_due ON reminder_users (next_at) WHERE next_at IS NOT NULL;

INSERT INTO reminder_users (user_id, enabled, next_date, next_at)
SELECT DISTINCT user_id, TRUE, NULL, 0 FROM learning_goals;

CREATE TABLE reminders_sent (
    goal_id INTEGER NOT NULL REFERENCES learning_goals (id) ON DELETE CASCADE,
    local_date TEXT NOT NULL,
    PRIMARY KEY (goal_id, local_date)
);
CREATE INDEX reminders_sent_by_date ON reminders_sent (local_date);

-- PostgreSQL's lease row; SQLite runs the scheduler in its one process.
CREATE TABLE reminder_lease (
    name TEXT PRIMARY KEY
);
INSERT INTO reminder_lease (name) VALUES ('reminders');
