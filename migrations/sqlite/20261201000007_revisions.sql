-- users.profile_revision is ensured before migrations (see PROFILE_COLUMNS in
-- src/db/sqlite.rs). A revision per goal, moved by every write of it: what its entity tag is
-- derived from, so that a conditional write is checked against the stored row.
ALTER TABLE learning_goals ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
