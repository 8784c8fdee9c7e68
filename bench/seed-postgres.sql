-- Benchmark data for PostgreSQL, written into the service's own tables after
-- `user-service migrate`. bench/run.sh runs it with psql variables:
--   n          regular users (ids n .. 2n-1, so oha's regex `1[0-9]{4}` covers all of them)
--   hist_days  length of a "year of daily check-ins" (365)
--   long_days  check-ins on each goal of the cost-growth user (1000)
--   many       goals of the user with many goals (10000)
--   k          goals of each check-in user (they take the POST check-in scenarios)
--   ci_base, ci_new_base   first goal id of the two check-in users
--   ev_off_base, ev_on_base   first goal id of the two events check-in users
--   heat_base  goal ids of the heatmap users (heat_base + 1, 2 and + 11, 12)
--   heat_long_days, heat_days  their histories: five years, and one (53 weeks)
-- Special users (ids above every regular one):
--   900001  20 goals with long_days check-ins each      (cost growth: history)
--   900002  20 goals, no check-ins                      (cost growth: baseline, 20 goals)
--   900003  `many` goals, no check-ins                  (cost growth: many goals)
--   900005  20 goals; POST goal and the mix write here  (one token)
--   900006  k goals with hist_days check-ins ending the day before yesterday, so that
--           each takes two new check-ins, yesterday and today (POST check-in)
--   900007  k goals, no check-ins                       (POST check-in, no history)
--   900008, 900009  each as 900006: the POST check-in with events off, and on (bench/run.sh
--           events_run), each on check-ins no other scenario spent
--   900010  2 goals with heat_long_days check-ins each, ending yesterday (heatmap: 5 years)
--   900011  2 goals with heat_days check-ins each, ending yesterday      (heatmap: 1 year)
--   900012  100,000 followers (users 1000000 .. 1099999, a follow a second apart), and k
--           goals from cf_base with no check-ins (POST check-in by a followed user)
--   900013  10 followers (users 1000000 .. 1000009)       (cost growth: followers)
--   900014  follows feed_followed users with a year of activity (the home feed), 900015
--           as many with five years, 900016 as many inactive for a year
--   feed_followed, feed_days, feed_long_days   those users and their histories
-- Every check-in history is one unbroken run of days, so each goal's stored streak summary
-- (src/domain/streak.rs) is exact: run = longest = days, freezes = min(2, days / 7), no
-- frozen dates, last_checkin_date = its last day. Badges and activity events are derived
-- from the seeded goals, check-ins and profiles by the same rules the service applies.
\set ON_ERROR_STOP on
SET TIME ZONE 'UTC';
SET synchronous_commit = off;
SET client_min_messages = warning;

-- The fan-out's trigger has nothing to note here: the timelines are written below.
ALTER TABLE activity_events DISABLE TRIGGER activity_events_feed_pending;

BEGIN;

-- Users: the auth-service's columns and this service's profile columns.
INSERT INTO users (id, username, email, hashed_password, is_active, created_at,
                   display_name, bio, skills, avatar_url, timezone, profile_updated_at)
SELECT u,
       'learner' || u,
       'learner' || u || '@example.com',
       '$2b$12$' || md5(u::text) || substr(md5((u * 7)::text), 1, 21),
       TRUE,
       now() - make_interval(days => 400 + u % 900, secs => u % 86400),
       'Learner ' || u,
       CASE WHEN u % 5 <> 0 THEN
         'Learning in public, one day at a time. Currently deep into '
         || (ARRAY['Rust', 'SQL', 'statistics', 'French', 'the guitar'])[1 + u % 5]
         || ' and writing down what sticks.'
       END,
       (SELECT jsonb_agg(s ORDER BY i)
          FROM unnest(ARRAY['Rust', 'SQL', 'Python', 'Statistics', 'Technical writing'])
               WITH ORDINALITY AS t (s, i)
         WHERE i <= 1 + u % 5),
       CASE WHEN u % 2 = 0 THEN 'https://cdn.example.com/avatars/' || u || '.png' END,
       (ARRAY['UTC', 'Europe/London', 'Europe/Paris', 'America/New_York',
              'America/Los_Angeles', 'Asia/Tokyo', 'Australia/Sydney', 'Asia/Kolkata'])[1 + u % 8],
       now() - make_interval(days => u % 30)
FROM generate_series(:n, 2 * :n - 1) AS u;

INSERT INTO users (id, username, email, hashed_password, is_active, created_at,
                   display_name, bio, skills, avatar_url, timezone, profile_updated_at)
SELECT u, 'bench' || u, 'bench' || u || '@example.com', '$2b$12$' || md5(u::text), TRUE,
       now() - interval '1200 days', 'Bench user ' || u,
       'A user the benchmark reads or writes on purpose.',
       '["Rust", "SQL", "Python"]'::jsonb, NULL, 'UTC', now() - interval '1 day'
FROM unnest(ARRAY[900001, 900002, 900003, 900005, 900006, 900007, 900008, 900009, 900010,
                   900011, 900012, 900013]) AS u;

-- Goals. Regular user u has goals (u - n) * 20 + 1 .. + 20; (u % 7) of them completed,
-- a few paused or abandoned, the rest in progress.
CREATE TEMP TABLE bench_goals (
    id BIGINT, user_id BIGINT, g INT, status TEXT, created_at TIMESTAMPTZ
) ON COMMIT DROP;

INSERT INTO bench_goals
SELECT (u - :n) * 20 + g, u, g,
       CASE WHEN g > 20 - u % 7 THEN 'completed'
            WHEN g % 9 = 0 THEN 'paused'
            WHEN g % 11 = 0 THEN 'abandoned'
            ELSE 'in-progress' END,
       now() - make_interval(days => 390 - g * 3, secs => u % 3600)
FROM generate_series(:n, 2 * :n - 1) AS u, generate_series(1, 20) AS g;

INSERT INTO bench_goals
SELECT 20 * :n + (s.nth - 1) * 20 + g, s.u, g, 'in-progress',
       now() - make_interval(days => 1100 - g)
FROM (VALUES (1, 900001), (2, 900002), (3, 900005)) AS s (nth, u), generate_series(1, 20) AS g;

INSERT INTO bench_goals
SELECT 20 * :n + 60 + g, 900003, g, 'in-progress', now() - make_interval(mins => :many - g)
FROM generate_series(1, :many) AS g;

INSERT INTO bench_goals
SELECT base + g - 1, u, g, 'in-progress', now() - interval '400 days' + make_interval(secs => g)
FROM (VALUES (:ci_base, 900006), (:ci_new_base, 900007), (:ev_off_base, 900008),
             (:ev_on_base, 900009), (:cf_base, 900012)) AS s (base, u),
     generate_series(1, :k) AS g;

INSERT INTO bench_goals
SELECT :heat_base + s.off + g, s.u, g, 'in-progress', now() - interval '1900 days'
FROM (VALUES (0, 900010), (10, 900011)) AS s (off, u), generate_series(1, 2) AS g;

INSERT INTO learning_goals (id, user_id, title, description, status, created_at, updated_at,
                            completed_at)
OVERRIDING SYSTEM VALUE
SELECT id, user_id,
       (ARRAY['Finish', 'Practise', 'Read', 'Learn', 'Build'])[1 + (user_id + g) % 5] || ' '
       || (ARRAY['the Rust book', 'window functions', 'Bayesian statistics', 'French verbs',
                 'a ray tracer', 'the B minor scale', 'Designing Data-Intensive Applications',
                 'linear algebra', 'a compiler front end', 'touch typing'])[1 + (user_id * 3 + g) % 10]
       || ' #' || g,
       CASE WHEN g % 3 <> 0 THEN
         'Half an hour a day, notes in the journal, a review every Sunday. Goal ' || g || '.'
       END,
       status, created_at,
       CASE WHEN status = 'completed' THEN created_at + interval '30 days' ELSE created_at END,
       CASE WHEN status = 'completed' THEN created_at + interval '30 days' END
FROM bench_goals
ORDER BY id;

-- Check-in histories: one unbroken run of `days` days ending on `last_day` per goal.
CREATE TEMP TABLE bench_history (
    goal_id BIGINT, user_id BIGINT, last_day DATE, days INT
) ON COMMIT DROP;

-- Every 10th user: a year ending yesterday (a live streak) and a year ending 9 days ago
-- (a streak broken at read time); every 3rd user: 5 days ending yesterday.
INSERT INTO bench_history
SELECT id, user_id, current_date - 1, :hist_days FROM bench_goals
 WHERE user_id < 900000 AND user_id % 10 = 0 AND g = 1
UNION ALL
SELECT id, user_id, current_date - 9, :hist_days FROM bench_goals
 WHERE user_id < 900000 AND user_id % 10 = 0 AND g = 2
UNION ALL
SELECT id, user_id, current_date - 1, 5 FROM bench_goals
 WHERE user_id < 900000 AND user_id % 3 = 0 AND g = 3
UNION ALL
SELECT id, user_id, current_date - 1, :long_days FROM bench_goals WHERE user_id = 900001
UNION ALL
SELECT id, user_id, current_date - 2, :hist_days FROM bench_goals WHERE user_id IN (900006, 900008, 900009)
UNION ALL
SELECT id, user_id, current_date - 1, :heat_long_days FROM bench_goals WHERE user_id = 900010
UNION ALL
SELECT id, user_id, current_date - 1, :heat_days FROM bench_goals WHERE user_id = 900011;

INSERT INTO goal_checkins (goal_id, user_id, checkin_date, minutes, note, created_at)
SELECT h.goal_id, h.user_id, h.last_day - d, 10 + (h.goal_id + d) % 51,
       CASE WHEN d % 7 = 3 THEN 'Weekly review done' END,
       ((h.last_day - d) + time '19:30') AT TIME ZONE 'UTC'
FROM bench_history h, generate_series(0, h.days - 1) AS d;

UPDATE learning_goals AS lg
   SET last_checkin_date = h.last_day, streak_run = h.days, longest_streak = h.days,
       freezes_held = LEAST(2, h.days / 7), frozen_dates = '[]'::jsonb,
       checkin_count = h.days
  FROM bench_history h
 WHERE lg.id = h.goal_id;

-- Badges, by the service's rules (src/domain/badges.rs).
INSERT INTO user_badges (user_id, badge_code, awarded_at)
SELECT user_id, 'first-goal', min(created_at) FROM learning_goals GROUP BY user_id
UNION ALL
SELECT user_id, 'first-completion', min(completed_at) FROM learning_goals
 WHERE status = 'completed' GROUP BY user_id
UNION ALL
SELECT user_id, 'five-completions', (array_agg(completed_at ORDER BY completed_at))[5]
  FROM learning_goals WHERE status = 'completed' GROUP BY user_id HAVING count(*) >= 5
UNION ALL
SELECT lg.user_id, r.code,
       min(((lg.last_checkin_date - lg.longest_streak + r.days) + time '19:30') AT TIME ZONE 'UTC')
  FROM learning_goals lg,
       (VALUES ('streak-3', 3), ('streak-7', 7), ('streak-30', 30), ('streak-100', 100)) AS r (code, days)
 WHERE lg.longest_streak >= r.days
 GROUP BY lg.user_id, r.code
UNION ALL
SELECT id, 'profile-complete', profile_updated_at FROM users
 WHERE display_name IS NOT NULL AND bio IS NOT NULL AND jsonb_array_length(skills) >= 3;

-- The activity feed, oldest first so ids follow time: goals created and completed, badges
-- earned, and the last week of each check-in history.
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
     WHERE c.checkin_date > lg.last_checkin_date - 7
) AS e
ORDER BY occurred_at;

SELECT setval(pg_get_serial_sequence('learning_goals', 'id'), (SELECT max(id) FROM learning_goals));

-- Followers: 900012 has 100,000, 900013 has 10, each follower a user of their own, with the
-- counts as the follows' transactions keep them.
INSERT INTO users (id, username, email, hashed_password, is_active, created_at, display_name)
SELECT u, 'follower' || u, 'follower' || u || '@example.com', '$2b$12$' || md5(u::text), TRUE,
       now() - interval '200 days', 'Follower ' || u
FROM generate_series(1000000, 1099999) AS u;
INSERT INTO follows (follower_id, followee_id, state, followed_at)
SELECT u, 900012, 'following', date_trunc('second', now()) - make_interval(secs => 1100000 - u)
FROM generate_series(1000000, 1099999) AS u
UNION ALL
SELECT u, 900013, 'following', date_trunc('second', now()) - make_interval(secs => 1100000 - u)
FROM generate_series(1000000, 1000009) AS u;
INSERT INTO follow_counts (user_id, followers, following)
SELECT 900012, 100000, 0 UNION ALL SELECT 900013, 10, 0
UNION ALL
SELECT u, 0, CASE WHEN u < 1000010 THEN 2 ELSE 1 END FROM generate_series(1000000, 1099999) AS u;

-- The home feed: three groups of feed_followed users, each with one check-in event a
-- day: for the last feed_days days (1100000 ..), for the last feed_long_days (1200000 ..),
-- and for feed_days days ending a year ago (1300000 .., inactive since). Readers 900014,
-- 900015 and 900016 follow one group each, their timelines filled as the fan-out fills them.
INSERT INTO users (id, username, email, hashed_password, is_active, created_at, display_name)
SELECT u, 'feeder' || u, 'feeder' || u || '@example.com', '$2b$12$' || md5(u::text), TRUE,
       now() - interval '6 years', 'Feeder ' || u
FROM generate_series(0, :feed_followed - 1) AS i,
     unnest(ARRAY[1100000 + i, 1200000 + i, 1300000 + i]) AS u
UNION ALL
SELECT r, 'reader' || r, 'reader' || r || '@example.com', '$2b$12$' || md5(r::text), TRUE,
       now() - interval '6 years', 'Feed reader ' || r
FROM unnest(ARRAY[900014, 900015, 900016]) AS r;
INSERT INTO activity_events (user_id, kind, section, occurred_at, summary)
SELECT u, 'checkin_added', 'goals', at, 'Checked in for ' || at::date
FROM (
    SELECT g.base + i AS u,
           date_trunc('day', now()) - make_interval(days => g.ending + d) + make_interval(secs => i * 37 % 86000) AS at
    FROM generate_series(0, :feed_followed - 1) AS i,
         (VALUES (1100000, 1, :feed_days), (1200000, 1, :feed_long_days),
                 (1300000, 366, :feed_days)) AS g (base, ending, days),
         generate_series(0, g.days - 1) AS d
) AS e
ORDER BY at;
INSERT INTO follows (follower_id, followee_id, state, followed_at)
SELECT r.reader, r.base + i, 'following', now() - interval '6 years'
FROM (VALUES (900014, 1100000), (900015, 1200000), (900016, 1300000)) AS r (reader, base),
     generate_series(0, :feed_followed - 1) AS i;
INSERT INTO follow_counts (user_id, followers, following)
SELECT r, 0, :feed_followed FROM unnest(ARRAY[900014, 900015, 900016]) AS r
UNION ALL
SELECT base + i, 1, 0 FROM unnest(ARRAY[1100000, 1200000, 1300000]) AS base,
       generate_series(0, :feed_followed - 1) AS i;
INSERT INTO feed_items (reader_id, event_id)
SELECT f.follower_id, a.id FROM follows f JOIN activity_events a ON a.user_id = f.followee_id
WHERE f.follower_id IN (900014, 900015, 900016);
-- 900012's events are read where they are, as the fan-out decides for 100,000 followers.
INSERT INTO feed_famous (user_id) VALUES (900012);

COMMIT;

ALTER TABLE activity_events ENABLE TRIGGER activity_events_feed_pending;

VACUUM ANALYZE;

SELECT (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM learning_goals) AS goals,
       (SELECT count(*) FROM goal_checkins) AS checkins,
       (SELECT count(*) FROM user_badges) AS badges,
       (SELECT count(*) FROM activity_events) AS events;

-- The auth-service's deny-list of logged-out tokens (its token_blacklist), for the /me
-- scenario with JWT_DENYLIST_TABLE: 100,000 revoked tokens, none of them the benchmark's.
CREATE TABLE token_blacklist (jti VARCHAR(255) PRIMARY KEY, expires_at TIMESTAMP NOT NULL);
INSERT INTO token_blacklist (jti, expires_at)
SELECT 'revoked-' || i, now() AT TIME ZONE 'UTC' + interval '1 day' FROM generate_series(1, 100000) AS i;
ANALYZE token_blacklist;
