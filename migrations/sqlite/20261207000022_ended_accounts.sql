-- How accounts ended, by id alone (no personal data): the auth-service never reuses an id,
-- so a UserCreated that arrives after the account's UserDeleted is ignored, and one that
-- arrives after its UserDeactivated creates it inactive. Kept for good: one short row per
-- ended account. Named account_id, not user_id: it outlives the erasure of the user's data.
-- (The unique constraint on users.username goes before the migrations run: SQLite drops a
-- column constraint only by rebuilding the table; see USERNAME_NOT_UNIQUE in
-- src/db/sqlite.rs.)
CREATE TABLE ended_accounts (
    account_id INTEGER PRIMARY KEY,
    ending TEXT NOT NULL CHECK (ending IN ('deactivated', 'erased')),
    ended_at TEXT NOT NULL
);
