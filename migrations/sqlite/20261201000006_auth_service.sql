-- users.first_seen_at is ensured before migrations (see PROFILE_COLUMNS in src/db/sqlite.rs).

-- The auth-service's lifecycle messages already applied, by key, so that a redelivered or
-- repeated message changes nothing. Keys only: no user data. Purged after a week.
CREATE TABLE auth_event_inbox (
    message_key TEXT PRIMARY KEY,
    received_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX auth_event_inbox_by_age ON auth_event_inbox (received_at);
