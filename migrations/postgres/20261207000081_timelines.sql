-- The home feed's timelines (src/fanout.rs): each reader's events of the users they
-- follow, filled off the write path. A write only notes its event in feed_pending (a
-- trigger, and only when the user has followers); the fan-out task moves it into the
-- followers' timelines, and a feed read takes what is still pending too, so a new event
-- shows at once. Privacy is not stored here: every read decides it again, item by item.
CREATE TABLE feed_items (
    reader_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL REFERENCES activity_events (id) ON DELETE CASCADE,
    PRIMARY KEY (reader_id, event_id)
);
-- An event's rows, when the event goes (a goal deleted, an erasure).
CREATE INDEX feed_items_by_event ON feed_items (event_id);

-- Whether a reader follows an item's user, probed per item at every read.
CREATE UNIQUE INDEX follows_following ON follows (follower_id, followee_id)
    WHERE state = 'following';

CREATE TABLE feed_pending (
    event_id BIGINT PRIMARY KEY REFERENCES activity_events (id) ON DELETE CASCADE
);

-- Users with more followers than FEED_FANOUT_MAX_FOLLOWERS when an event of theirs was
-- fanned out: their events are not copied to every follower, each feed reads them
-- through activity_events_by_user instead (the hybrid of Twitter and Mastodon).
CREATE TABLE feed_famous (
    user_id BIGINT PRIMARY KEY
);

-- The function keeps the search path it was created with, as the other triggers' do.
CREATE FUNCTION feed_pending_event() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO feed_pending (event_id)
    SELECT NEW.id WHERE EXISTS
        (SELECT 1 FROM follow_counts c WHERE c.user_id = NEW.user_id AND c.followers > 0);
    RETURN NULL;
END
$$;
CREATE TRIGGER activity_events_feed_pending AFTER INSERT ON activity_events FOR EACH ROW
    EXECUTE FUNCTION feed_pending_event();

-- The timelines of the follows made before.
INSERT INTO feed_items (reader_id, event_id)
SELECT f.follower_id, a.id FROM follows f JOIN activity_events a ON a.user_id = f.followee_id
WHERE f.state = 'following'
ON CONFLICT DO NOTHING;
