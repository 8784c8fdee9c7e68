-- The transactional outbox: one row per platform event, written in the transaction of the
-- change it announces and published by the relay in `seq` order. Only rows that exist while
-- EVENTS_URL is set; published rows are deleted after EVENTS_RETENTION_HOURS.
CREATE TABLE event_outbox (
    seq BIGSERIAL PRIMARY KEY,
    event_id TEXT NOT NULL,
    user_id BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    data TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);
-- The relay's read: the oldest pending rows, however many published ones remain.
CREATE INDEX event_outbox_pending ON event_outbox (seq) WHERE published_at IS NULL;
-- The cleanup's read.
CREATE INDEX event_outbox_published ON event_outbox (published_at) WHERE published_at IS NOT NULL;
-- Erasure of a user.
CREATE INDEX event_outbox_user ON event_outbox (user_id);
