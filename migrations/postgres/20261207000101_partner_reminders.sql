-- Partners' reminders (partner_streak.at_risk.v1, src/reminders.rs): sent to the partner
-- who has not checked in on a shared day the other has, in the pass that handles their
-- schedule (reminder_users), so they are selected through its index like streak.at_risk.v1
-- and a pass with nothing due reads no partnership.

-- A partner's reminder is sent once per partnership, user and local day: this key is
-- written in the transaction of its event's outbox row. It goes with its partnership, and
-- with its user (erased); rows older than a few days are purged with reminders_sent's.
CREATE TABLE partner_reminders_sent (
    partnership_id BIGINT NOT NULL REFERENCES partnerships (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    local_date DATE NOT NULL,
    PRIMARY KEY (partnership_id, user_id, local_date)
);
CREATE INDEX partner_reminders_sent_by_user ON partner_reminders_sent (user_id);
CREATE INDEX partner_reminders_sent_by_date ON partner_reminders_sent (local_date);
