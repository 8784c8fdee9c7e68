-- Weekly goals ("three times a week"): a cadence, the days per week a weekly goal asks for,
-- and, beside the stored streak summary, the days checked in so far in the week of the last
-- check-in (see src/domain/weekly_streak.rs). Existing goals are daily.
ALTER TABLE learning_goals ADD COLUMN cadence TEXT NOT NULL DEFAULT 'daily';
ALTER TABLE learning_goals ADD COLUMN days_per_week INTEGER;
ALTER TABLE learning_goals ADD COLUMN streak_week_days INTEGER NOT NULL DEFAULT 0;

-- Badges for weekly streaks, awarded by the rules in src/domain/badges.rs.
INSERT INTO badges (code, name, description, icon_url, tier, criteria) VALUES
    ('weekly-streak-4', 'Steady month', 'Met a weekly goal four weeks in a row.', '/badges/weekly-streak-4.svg', 'bronze', 'Meet a weekly goal''s target four weeks in a row.'),
    ('weekly-streak-12', 'Steady season', 'Met a weekly goal twelve weeks in a row.', '/badges/weekly-streak-12.svg', 'silver', 'Meet a weekly goal''s target twelve weeks in a row.'),
    ('weekly-streak-52', 'Steady year', 'Met a weekly goal fifty-two weeks in a row.', '/badges/weekly-streak-52.svg', 'gold', 'Meet a weekly goal''s target fifty-two weeks in a row.');
