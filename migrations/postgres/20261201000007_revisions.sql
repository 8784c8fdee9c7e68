-- A revision per profile and per goal, moved by every write of it: what their entity tags
-- are derived from, so that a conditional write is checked against the stored row.
ALTER TABLE users ADD COLUMN IF NOT EXISTS profile_revision BIGINT NOT NULL DEFAULT 0;
ALTER TABLE learning_goals ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
