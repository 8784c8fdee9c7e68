-- Partners' reminders (partner_streak.at_risk.v1, src/reminders.rs): the key of each one
-- sent. See the PostgreSQL migration.

CREATE TABLE partner_reminders_sent (
    partnership_id INTEGER NOT NULL REFERENCES partnerships (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    local_date TEXT NOT NULL,
    PRIMARY KEY (partnership_id, user_id, local_date)
);
CREATE INDEX partner_reminders_sent_by_user ON partner_reminders_sent (user_id);
CREATE INDEX partner_reminders_sent_by_date ON partner_reminders_sent (local_date);
