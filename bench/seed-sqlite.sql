-- Benchmark data for SQLite: the same shape as seed-postgres.sql (read its header), written
-- into the service's own tables after `user-service migrate`. bench/run.sh prepends
--   CREATE TEMP TABLE p AS SELECT <n> AS n, <hist_days> AS hist_days, ...;
-- and pipes both into the sqlite3 CLI (3.40, whose shell has generate_series).
-- Times are stored the way the service stores them: RFC 3339 text with "+00:00"; days as
-- YYYY-MM-DD.
.bail on
PRAGMA foreign_keys = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -200000;

BEGIN;

INSERT INTO users (id, username, email, hashed_password, is_active, created_at,
                   display_name, bio, skills, avatar_url, timezone, profile_updated_at)
SELECT u,
       'learner' || u,
       'learner' || u || '@example.com',
       '$2b$12$' || lower(hex(randomblob(26))),
       1,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || (400 + u % 900) || ' days',
                '-' || (u % 86400) || ' seconds'),
       'Learner ' || u,
       CASE WHEN u % 5 <> 0 THEN
         'Learning in public, one day at a time. Currently deep into '
         || json_extract('["Rust", "SQL", "statistics", "French", "the guitar"]', '$[' || (u % 5) || ']')
         || ' and writing down what sticks.'
       END,
       (SELECT json_group_array(value) FROM (
          SELECT value FROM json_each('["Rust", "SQL", "Python", "Statistics", "Technical writing"]')
           WHERE key <= u % 5 ORDER BY key)),
       CASE WHEN u % 2 = 0 THEN 'https://cdn.example.com/avatars/' || u || '.png' END,
       json_extract('["UTC", "Europe/London", "Europe/Paris", "America/New_York", "America/Los_Angeles", "Asia/Tokyo", "Australia/Sydney", "Asia/Kolkata"]',
                    '$[' || (u % 8) || ']'),
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || (u % 30) || ' days')
FROM (SELECT value AS u FROM p, generate_series(p.n, 2 * p.n - 1));

INSERT INTO users (id, username, email, hashed_password, is_active, created_at,
                   display_name, bio, skills, avatar_url, timezone, profile_updated_at)
SELECT value, 'bench' || value, 'bench' || value || '@example.com',
       '$2b$12$' || lower(hex(randomblob(26))), 1,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-1200 days'), 'Bench user ' || value,
       'A user the benchmark reads or writes on purpose.', '["Rust","SQL","Python"]', NULL,
       'UTC', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-1 day')
FROM json_each('[900001, 900002, 900003, 900005, 900006, 900007, 900010, 900011, 900012, 900013]');

CREATE TEMP TABLE bench_goals (id INTEGER, user_id INTEGER, g INTEGER, status TEXT, created_at TEXT);

INSERT INTO bench_goals
SELECT (u.value - p.n) * 20 + g.value, u.value, g.value,
       CASE WHEN g.value > 20 - u.value % 7 THEN 'completed'
            WHEN g.value % 9 = 0 THEN 'paused'
            WHEN g.value % 11 = 0 THEN 'abandoned'
            ELSE 'in-progress' END,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || (390 - g.value * 3) || ' days',
                '-' || (u.value % 3600) || ' seconds')
FROM p, generate_series(p.n, 2 * p.n - 1) AS u, generate_series(1, 20) AS g;

INSERT INTO bench_goals
SELECT 20 * p.n + (s.nth - 1) * 20 + g.value, s.u, g.value, 'in-progress',
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || (1100 - g.value) || ' days')
FROM p, (SELECT 1 AS nth, 900001 AS u UNION ALL SELECT 2, 900002 UNION ALL SELECT 3, 900005) AS s,
     generate_series(1, 20) AS g;

INSERT INTO bench_goals
SELECT 20 * p.n + 60 + g.value, 900003, g.value, 'in-progress',
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || (p.many - g.value) || ' minutes')
FROM p, generate_series(1, p.many) AS g;

INSERT INTO bench_goals
SELECT s.base + g.value - 1, s.u, g.value, 'in-progress',
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-400 days', '+' || g.value || ' seconds')
FROM p, (SELECT p.ci_base AS base, 900006 AS u FROM p UNION ALL SELECT p.ci_new_base, 900007 FROM p
         UNION ALL SELECT p.cf_base, 900012 FROM p) AS s,
     generate_series(1, p.k) AS g;

INSERT INTO bench_goals
SELECT p.heat_base + s.off + g.value, s.u, g.value, 'in-progress',
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-1900 days')
FROM p, (SELECT 0 AS off, 900010 AS u UNION ALL SELECT 10, 900011) AS s, generate_series(1, 2) AS g;

INSERT INTO learning_goals (id, user_id, title, description, status, created_at, updated_at,
                            completed_at)
SELECT id, user_id,
       json_extract('["Finish", "Practise", "Read", "Learn", "Build"]', '$[' || ((user_id + g) % 5) || ']')
       || ' ' || json_extract('["the Rust book", "window functions", "Bayesian statistics", "French verbs", "a ray tracer", "the B minor scale", "Designing Data-Intensive Applications", "linear algebra", "a compiler front end", "touch typing"]',
                              '$[' || ((user_id * 3 + g) % 10) || ']')
       || ' #' || g,
       CASE WHEN g % 3 <> 0 THEN
         'Half an hour a day, notes in the journal, a review every Sunday. Goal ' || g || '.'
       END,
       status, created_at,
       CASE WHEN status = 'completed'
            THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', created_at, '+30 days') ELSE created_at END,
       CASE WHEN status = 'completed'
            THEN strftime('%Y-%m-%dT%H:%M:%S+00:00', created_at, '+30 days') END
FROM bench_goals
ORDER BY id;

CREATE TEMP TABLE bench_history (goal_id INTEGER PRIMARY KEY, user_id INTEGER, last_day TEXT, days INTEGER);

INSERT INTO bench_history
SELECT id, user_id, date('now', '-1 day'), p.hist_days FROM p, bench_goals
 WHERE user_id < 900000 AND user_id % 10 = 0 AND g = 1
UNION ALL
SELECT id, user_id, date('now', '-9 days'), p.hist_days FROM p, bench_goals
 WHERE user_id < 900000 AND user_id % 10 = 0 AND g = 2
UNION ALL
SELECT id, user_id, date('now', '-1 day'), 5 FROM bench_goals
 WHERE user_id < 900000 AND user_id % 3 = 0 AND g = 3
UNION ALL
SELECT id, user_id, date('now', '-1 day'), p.long_days FROM p, bench_goals WHERE user_id = 900001
UNION ALL
SELECT id, user_id, date('now', '-2 days'), p.hist_days FROM p, bench_goals WHERE user_id = 900006
UNION ALL
SELECT id, user_id, date('now', '-1 day'), p.heat_long_days FROM p, bench_goals WHERE user_id = 900010
UNION ALL
SELECT id, user_id, date('now', '-1 day'), p.heat_days FROM p, bench_goals WHERE user_id = 900011;

INSERT INTO goal_checkins (goal_id, user_id, checkin_date, minutes, note, created_at)
SELECT h.goal_id, h.user_id, date(h.last_day, '-' || d.value || ' days'),
       10 + (h.goal_id + d.value) % 51,
       CASE WHEN d.value % 7 = 3 THEN 'Weekly review done' END,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', h.last_day, '-' || d.value || ' days', '+19 hours', '+30 minutes')
FROM bench_history h, generate_series(0, h.days - 1) AS d
ORDER BY h.goal_id, d.value DESC;

UPDATE learning_goals
   SET (last_checkin_date, streak_run, longest_streak, freezes_held, frozen_dates, checkin_count) =
       (SELECT h.last_day, h.days, h.days, min(2, h.days / 7), '[]', h.days
          FROM bench_history h WHERE h.goal_id = learning_goals.id)
 WHERE id IN (SELECT goal_id FROM bench_history);

INSERT INTO user_badges (user_id, badge_code, awarded_at)
SELECT user_id, 'first-goal', min(created_at) FROM learning_goals GROUP BY user_id
UNION ALL
SELECT user_id, 'first-completion', min(completed_at) FROM learning_goals
 WHERE status = 'completed' GROUP BY user_id
UNION ALL
SELECT user_id, 'five-completions',
       (SELECT c.completed_at FROM learning_goals c
         WHERE c.user_id = lg.user_id AND c.status = 'completed'
         ORDER BY c.completed_at LIMIT 1 OFFSET 4)
  FROM learning_goals lg WHERE status = 'completed' GROUP BY user_id HAVING count(*) >= 5
UNION ALL
SELECT lg.user_id, r.code,
       min(strftime('%Y-%m-%dT%H:%M:%S+00:00', lg.last_checkin_date,
                    '-' || (lg.longest_streak - r.days) || ' days', '+19 hours', '+30 minutes'))
  FROM learning_goals lg,
       (SELECT 'streak-3' AS code, 3 AS days UNION ALL SELECT 'streak-7', 7
        UNION ALL SELECT 'streak-30', 30 UNION ALL SELECT 'streak-100', 100) AS r
 WHERE lg.longest_streak >= r.days
 GROUP BY lg.user_id, r.code
UNION ALL
SELECT id, 'profile-complete', profile_updated_at FROM users
 WHERE display_name IS NOT NULL AND bio IS NOT NULL AND json_array_length(skills) >= 3;

INSERT INTO activity_events (user_id, kind, section, occurred_at, goal_id, badge_code, summary)
SELECT user_id, kind, section, occurred_at, goal_id, badge_code, summary FROM (
    SELECT user_id, 'goal_created' AS kind, 'goals' AS section, created_at AS occurred_at,
           id AS goal_id, NULL AS badge_code, 'Set a goal: ' || title AS summary
      FROM learning_goals
    UNION ALL
    SELECT user_id, 'goal_completed', 'goals', completed_at, id, NULL,
           'Completed a goal: ' || title
      FROM learning_goals WHERE status = 'completed'
    UNION ALL
    SELECT ub.user_id, 'badge_awarded', 'badges', ub.awarded_at, NULL, ub.badge_code,
           'Earned the badge ' || b.name
      FROM user_badges ub JOIN badges b ON b.code = ub.badge_code
    UNION ALL
    SELECT c.user_id, 'checkin_added', 'goals', c.created_at, c.goal_id, NULL,
           'Checked in on ' || lg.title || ' for ' || c.checkin_date
      FROM goal_checkins c JOIN learning_goals lg ON lg.id = c.goal_id
     WHERE c.checkin_date > date(lg.last_checkin_date, '-7 days')
)
ORDER BY occurred_at;

-- Followers: 900012 has 100,000, 900013 has 10, each follower a user of their own, with the
-- counts as the follows' transactions keep them (see bench/seed-postgres.sql).
INSERT INTO users (id, username, email, hashed_password, is_active, created_at, display_name)
SELECT value, 'follower' || value, 'follower' || value || '@example.com',
       '$2b$12$' || lower(hex(randomblob(26))), 1,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-200 days'), 'Follower ' || value
FROM generate_series(1000000, 1099999);
INSERT INTO follows (follower_id, followee_id, state, followed_at)
SELECT value, 900012, 'following',
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || (1100000 - value) || ' seconds')
FROM generate_series(1000000, 1099999)
UNION ALL
SELECT value, 900013, 'following',
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || (1100000 - value) || ' seconds')
FROM generate_series(1000000, 1000009);
INSERT INTO follow_counts (user_id, followers, following)
SELECT 900012, 100000, 0 UNION ALL SELECT 900013, 10, 0
UNION ALL
SELECT value, 0, CASE WHEN value < 1000010 THEN 2 ELSE 1 END FROM generate_series(1000000, 1099999);

-- The home feed: three groups of feed users and their readers (see bench/seed-postgres.sql).
-- The fan-out's trigger notes nothing: those users have no counts row yet.
CREATE TEMP TABLE feed_groups AS
SELECT 1100000 AS base, 1 AS ending, feed_days AS days, 900014 AS reader FROM p
UNION ALL SELECT 1200000, 1, feed_long_days, 900015 FROM p
UNION ALL SELECT 1300000, 366, feed_days, 900016 FROM p;
INSERT INTO users (id, username, email, hashed_password, is_active, created_at, display_name)
SELECT g.base + i.value, 'feeder' || (g.base + i.value), 'feeder' || (g.base + i.value) || '@example.com',
       '$2b$12$' || lower(hex(randomblob(26))), 1,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-6 years'), 'Feeder ' || (g.base + i.value)
FROM p, feed_groups g, generate_series(0, p.feed_followed - 1) AS i
UNION ALL
SELECT reader, 'reader' || reader, 'reader' || reader || '@example.com',
       '$2b$12$' || lower(hex(randomblob(26))), 1,
       strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-6 years'), 'Feed reader ' || reader
FROM feed_groups;
INSERT INTO activity_events (user_id, kind, section, occurred_at, summary)
SELECT u, 'checkin_added', 'goals', at, 'Checked in for ' || substr(at, 1, 10) FROM (
    SELECT g.base + i.value AS u,
           strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', 'start of day',
                    '-' || (g.ending + d.value) || ' days',
                    '+' || (i.value * 37 % 86000) || ' seconds') AS at
    FROM p, feed_groups g, generate_series(0, p.feed_followed - 1) AS i,
         generate_series(0, g.days - 1) AS d
)
ORDER BY at;
INSERT INTO follows (follower_id, followee_id, state, followed_at)
SELECT g.reader, g.base + i.value, 'following', strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-6 years')
FROM p, feed_groups g, generate_series(0, p.feed_followed - 1) AS i;
INSERT INTO follow_counts (user_id, followers, following)
SELECT g.reader, 0, p.feed_followed FROM p, feed_groups g
UNION ALL
SELECT g.base + i.value, 1, 0 FROM p, feed_groups g, generate_series(0, p.feed_followed - 1) AS i;
INSERT INTO feed_items (reader_id, event_id)
SELECT f.follower_id, a.id FROM follows f JOIN activity_events a ON a.user_id = f.followee_id
WHERE f.follower_id IN (900014, 900015, 900016);
INSERT INTO feed_famous (user_id) VALUES (900012);

COMMIT;

ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);

SELECT 'users=' || (SELECT count(*) FROM users) || ' goals=' || (SELECT count(*) FROM learning_goals)
       || ' checkins=' || (SELECT count(*) FROM goal_checkins)
       || ' badges=' || (SELECT count(*) FROM user_badges)
       || ' events=' || (SELECT count(*) FROM activity_events);
