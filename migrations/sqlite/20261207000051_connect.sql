-- Connect: who follows whom, follow requests, blocks and mutes (see src/domain/social.rs).

-- The users columns connections_visibility and follow_policy are added by the service before
-- the migrations (SQLite has no ADD COLUMN IF NOT EXISTS; see src/db/sqlite.rs).

-- A follow, or a request for one (`state` 'following' or 'requested'). `followed_at` is when
-- the follow began (its approval) or the request was made: the lists' order, with the id.
CREATE TABLE follows (
    follower_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('following', 'requested')),
    followed_at TEXT NOT NULL,
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
-- A user's followers (or requests), newest first: one range read per page at any depth.
CREATE INDEX follows_by_followee ON follows (followee_id, state, followed_at DESC, follower_id DESC);
-- The users a user follows, likewise.
CREATE INDEX follows_by_follower ON follows (follower_id, state, followed_at DESC, followee_id DESC);

-- Each user's counts, kept in the transaction of every follow that moves them, so that no
-- read counts rows. A row exists for both sides of any follow or request ever made.
CREATE TABLE follow_counts (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    followers INTEGER NOT NULL DEFAULT 0,
    following INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE blocks (
    blocker_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
-- A block the other way round, and an erasure of the blocked user.
CREATE INDEX blocks_by_blocked ON blocks (blocked_id, blocker_id);

CREATE TABLE mutes (
    muter_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    muted_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (muter_id, muted_id)
);
CREATE INDEX mutes_by_muted ON mutes (muted_id);

-- Writes of one kind by one user on one day (UTC), for the daily quotas.
CREATE TABLE daily_writes (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    day TEXT NOT NULL,
    writes INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind, day)
);

-- Badges for followers, awarded by the rules in src/domain/badges.rs.
INSERT INTO badges (code, name, description, icon_url, tier, criteria) VALUES
    ('first-follower', 'First follower', 'Someone followed your progress.', '/users/badges/first-follower.svg', 'bronze', 'Be followed by one user.'),
    ('followers-10', 'Ten followers', 'Ten people follow your progress.', '/users/badges/followers-10.svg', 'silver', 'Be followed by ten users.'),
    ('followers-100', 'A hundred followers', 'A hundred people follow your progress.', '/users/badges/followers-100.svg', 'gold', 'Be followed by a hundred users.');
