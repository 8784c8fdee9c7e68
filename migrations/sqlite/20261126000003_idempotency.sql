-- Idempotency-Key on POST (draft-ietf-httpapi-idempotency-key-header): the first request
-- with a key stores its response in the transaction of the write, so a retry, on any
-- replica, replays it instead of writing again. Keys are per user and live 24 hours.
CREATE TABLE idempotency_keys (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER,
    location TEXT,
    body TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
) WITHOUT ROWID;
-- Expired keys are purged by age.
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
