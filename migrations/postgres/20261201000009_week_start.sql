-- The day a user's week starts on, in their time zone: `monday` or `sunday`.
ALTER TABLE users ADD COLUMN IF NOT EXISTS week_start TEXT NOT NULL DEFAULT 'monday';
