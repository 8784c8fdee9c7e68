-- The home feed's timelines (src/fanout.rs): see the PostgreSQL migration of the same name.
CREATE TABLE feed_items (
    reader_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL REFERENCES activity_events (id) ON DELETE CASCADE,
    PRIMARY KEY (reader_id, event_id)
) WITHOUT ROWID;
CREATE INDEX feed_items_by_event ON feed_items (event_id);

-- Whether a reader follows an item's user, probed per item at every read.
CREATE UNIQUE INDEX follows_following ON follows (follower_id, followee_id)
    WHERE state = 'following';

CREATE TABLE feed_pending (
    event_id INTEGER PRIMARY KEY REFERENCES activity_events (id) ON DELETE CASCADE
);

CREATE TABLE feed_famous (
    user_id INTEGER PRIMARY KEY
);

CREATE TRIGGER activity_events_feed_pending AFTER INSERT ON activity_events
WHEN EXISTS (SELECT 1 FROM follow_counts c WHERE c.user_id = NEW.user_id AND c.followers > 0)
BEGIN
    INSERT INTO feed_pending (event_id) VALUES (NEW.id);
END;

INSERT INTO feed_items (reader_id, event_id)
SELECT f.follower_id, a.id FROM follows f JOIN activity_events a ON a.user_id = f.followee_id
WHERE f.state = 'following'
ON CONFLICT DO NOTHING;
