-- The goal an idempotent creation made, so a retry after that goal was deleted is told so
-- (409) instead of being handed a goal that no longer exists. Keys stored before this
-- column replay as they did; they expire within a day.
ALTER TABLE idempotency_keys ADD COLUMN goal_id INTEGER;
