-- When the auth-service's users table has no created_at, a profile's created_at is when
-- this service first saw the user: the time of this migration for the rows there now, the
-- time of insertion for rows the auth-service adds later.
ALTER TABLE users ADD COLUMN IF NOT EXISTS first_seen_at TIMESTAMPTZ DEFAULT now();

-- The auth-service's lifecycle messages already applied, by key, so that a redelivered or
-- repeated message changes nothing. Keys only: no user data. Purged after a week.
CREATE TABLE auth_event_inbox (
    message_key TEXT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX auth_event_inbox_by_age ON auth_event_inbox (received_at);
