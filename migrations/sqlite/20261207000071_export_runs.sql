-- The export (GET /users/{user_id}/export, src/routes/export): when each user last started
-- one, for the limit of one an hour. Erased with the user's data.
CREATE TABLE export_runs (
    user_id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL
);
