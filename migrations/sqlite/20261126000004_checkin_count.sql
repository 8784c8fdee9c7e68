-- Each goal counts its check-ins, kept in the transaction of every check-in written or
-- removed, so a user's total is a sum over their goals: stats cost the same however long
-- the histories grow.
ALTER TABLE learning_goals ADD COLUMN checkin_count INTEGER NOT NULL DEFAULT 0;
UPDATE learning_goals
   SET checkin_count = (SELECT count(*) FROM goal_checkins c WHERE c.goal_id = learning_goals.id)
 WHERE id IN (SELECT goal_id FROM goal_checkins);
