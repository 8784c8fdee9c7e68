-- Kudos: one tap of encouragement on another user's activity event (see
-- src/services/social.rs). The counts are kept in the kudos' own transaction: the event's
-- on the event, each user's given and received in kudos_counts.
ALTER TABLE activity_events ADD COLUMN kudos_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE kudos (
    event_id BIGINT NOT NULL REFERENCES activity_events (id) ON DELETE CASCADE,
    giver_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The event's owner, so that a block or an erasure finds the kudos between two users.
    owner_id BIGINT NOT NULL,
    given_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, giver_id)
);
-- An event's givers, newest first, keyset-paged.
CREATE INDEX kudos_by_event ON kudos (event_id, given_at DESC, giver_id DESC);
-- What a user gave, and to whom (an erasure, a block).
CREATE INDEX kudos_by_giver ON kudos (giver_id, owner_id);
-- What a user received, and from whom.
CREATE INDEX kudos_by_owner ON kudos (owner_id, giver_id);

CREATE TABLE kudos_counts (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    given BIGINT NOT NULL DEFAULT 0,
    received BIGINT NOT NULL DEFAULT 0
);

-- Badges for encouragement, awarded by the rules in src/domain/badges.rs.
INSERT INTO badges (code, name, description, icon_url, tier, criteria) VALUES
    ('kudos-given-10', 'Encourager', 'Gave kudos to ten events.', '/users/badges/kudos-given-10.svg', 'bronze', 'Give kudos to ten of other learners'' events.'),
    ('kudos-given-100', 'Cheerleader', 'Gave kudos to a hundred events.', '/users/badges/kudos-given-100.svg', 'silver', 'Give kudos to a hundred of other learners'' events.'),
    ('kudos-received-100', 'Inspiring', 'Received a hundred kudos.', '/users/badges/kudos-received-100.svg', 'gold', 'Receive a hundred kudos from other learners.');
