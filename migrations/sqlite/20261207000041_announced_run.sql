-- How far each goal's current streak run has been announced (src/domain/platform_event.rs):
-- the run's first day and the longest streak announced in it, written in the check-in's
-- transaction, so that a day taken back and checked in again is not announced twice. NULL
-- (no check-in announced anything since, or the streak was counted again under a new rule):
-- the stored summary's run counts as announced.
ALTER TABLE learning_goals ADD COLUMN streak_announced_run TEXT;
ALTER TABLE learning_goals ADD COLUMN streak_announced INTEGER NOT NULL DEFAULT 0;
