-- Each goal counts its check-ins, kept in the transaction of every check-in written or
-- removed, so a user's total is a sum over their goals: stats cost the same however long
-- the histories grow.
ALTER TABLE learning_goals ADD COLUMN checkin_count BIGINT NOT NULL DEFAULT 0;
UPDATE learning_goals AS lg
   SET checkin_count = c.n
  FROM (SELECT goal_id, count(*) AS n FROM goal_checkins GROUP BY goal_id) AS c
 WHERE lg.id = c.goal_id;
