-- Accountability partners (see src/services/partners.rs): two users, each on a goal of
-- their own, who keep a streak together. A partnership outlives its end as history: the
-- ids of an erased partner and of a deleted goal become NULL (no foreign keys, so a goal's
-- deletion or a user's erasure leaves the other partner's row), and a partnership that
-- names nobody any more is deleted.
CREATE TABLE partnerships (
    id BIGSERIAL PRIMARY KEY,
    inviter_id BIGINT,
    invitee_id BIGINT,
    inviter_goal_id BIGINT,
    -- Set when the invited user accepts, naming a goal of theirs.
    invitee_goal_id BIGINT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'ended')),
    -- The streak's unit, from the inviter's goal: daily or weekly.
    cadence TEXT NOT NULL CHECK (cadence IN ('daily', 'weekly')),
    -- Fixed when the partnership starts: the inviter's week start, each goal's target.
    week_start TEXT NOT NULL DEFAULT 'monday',
    inviter_target INTEGER NOT NULL DEFAULT 1,
    invitee_target INTEGER NOT NULL DEFAULT 1,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    -- The first day that counts: the earlier of the partners' dates when it started.
    started_on DATE,
    ended_at TIMESTAMPTZ,
    end_reason TEXT,
    -- The shared streak's summary (src/domain/partnership.rs), kept in each check-in's
    -- transaction; NULL before the first shared day.
    summary TEXT,
    -- The shared streak when the partnership ended.
    final_streak INTEGER NOT NULL DEFAULT 0
);
-- Each user's partnerships by status, newest first, keyset-paged on the id.
CREATE INDEX partnerships_by_inviter ON partnerships (inviter_id, status, id);
CREATE INDEX partnerships_by_invitee ON partnerships (invitee_id, status, id);
-- A goal's partnerships (a check-in, a goal's deletion or completion, its limit).
CREATE INDEX partnerships_by_inviter_goal ON partnerships (inviter_goal_id, status);
CREATE INDEX partnerships_by_invitee_goal ON partnerships (invitee_goal_id, status);

-- A nudge a partner sent, at most one per partner per partnership per day of theirs.
CREATE TABLE partnership_nudges (
    partnership_id BIGINT NOT NULL REFERENCES partnerships (id) ON DELETE CASCADE,
    from_user_id BIGINT NOT NULL,
    day DATE NOT NULL,
    nudged_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (partnership_id, from_user_id, day)
);
CREATE INDEX partnership_nudges_by_user ON partnership_nudges (from_user_id);

-- Badges for shared streaks, awarded to both partners by the rules in src/domain/badges.rs.
INSERT INTO badges (code, name, description, icon_url, tier, criteria) VALUES
    ('partner-streak-7', 'Good Company', 'Kept a shared streak of 7 days with a partner.', '/users/badges/partner-streak-7.svg', 'silver', 'Check in on the same 7 days in a row as an accountability partner.'),
    ('partner-streak-30', 'In It Together', 'Kept a shared streak of 30 days with a partner.', '/users/badges/partner-streak-30.svg', 'gold', 'Check in on the same 30 days in a row as an accountability partner.');
