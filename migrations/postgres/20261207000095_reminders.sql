-- Reminders (streak.at_risk.v1, src/reminders.rs): each user's opt-out and schedule, each
-- goal's opt-out, and the reminders sent.

-- A goal's reminders, on unless its owner turned them off.
ALTER TABLE learning_goals ADD COLUMN reminders BOOLEAN NOT NULL DEFAULT TRUE;

-- One row per user who has set a goal or turned reminders off. `enabled` is the profile's
-- `reminders` (a user without a row has them on). `next_date` is the next local day whose
-- reminder is to be handled and `next_at` its instant (seconds since the epoch, UTC), null
-- while reminders are off; a null `next_date` with a `next_at` means "schedule anew at the
-- next pass" (a new row, a new time zone). A pass reads only the rows whose instant came,
-- through the partial index, so with nothing due it reads no user's goals.
CREATE TABLE reminder_users (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    next_date DATE,
    next_at BIGINT
);
CREATE INDEX reminder_users_due ON reminder_users (next_at) WHERE next_at IS NOT NULL;

-- Every user who has a goal now is scheduled anew at the first pass.
INSERT INTO reminder_users (user_id, enabled, next_date, next_at)
SELECT DISTINCT user_id, TRUE, CAST(NULL AS DATE), CAST(0 AS BIGINT) FROM learning_goals;

-- A reminder is sent once per goal and local day: this key is written in the transaction of
-- its event's outbox row; it goes with its goal (deleted, or erased with its user). Rows
-- older than a few days are purged.
CREATE TABLE reminders_sent (
    goal_id BIGINT NOT NULL REFERENCES learning_goals (id) ON DELETE CASCADE,
    local_date DATE NOT NULL,
    PRIMARY KEY (goal_id, local_date)
);
CREATE INDEX reminders_sent_by_date ON reminders_sent (local_date);

-- One scheduler at a time among replicas: the one whose transaction holds this row's lock
-- (FOR UPDATE SKIP LOCKED) runs the pass; a replica that dies drops it with its connection.
CREATE TABLE reminder_lease (
    name TEXT PRIMARY KEY
);
INSERT INTO reminder_lease (name) VALUES ('reminders');
