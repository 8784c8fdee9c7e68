-- Badge credentials' revocation (src/credentials, src/db/credentials.rs): every award gets a
-- status index, its bit in the BitstringStatusList credentials the service signs. The bits
-- live in credential_status, one row per award ever made, holding the index and whether it
-- is revoked and nothing that names the user, so that a revocation outlives the erasure of
-- the user's data. The database keeps it by itself, whichever statement adds or removes an
-- award (a revocation, an erasure, a cascade from users or badges).
-- AUTOINCREMENT: an index is never given out twice, as with PostgreSQL's sequence.
CREATE TABLE credential_status (
    status_index INTEGER PRIMARY KEY AUTOINCREMENT,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
-- The revoked bits of one list: a range read of this index.
CREATE INDEX credential_status_revoked ON credential_status (status_index) WHERE revoked;

-- Awards made before credentials existed get their indexes now, oldest first.
ALTER TABLE user_badges ADD COLUMN status_index INTEGER;
CREATE UNIQUE INDEX user_badges_status_index ON user_badges (status_index);
UPDATE user_badges SET status_index = numbered.n
FROM (
    SELECT user_id, badge_code,
        row_number() OVER (ORDER BY awarded_at, user_id, badge_code) AS n
    FROM user_badges
) AS numbered
WHERE numbered.user_id = user_badges.user_id AND numbered.badge_code = user_badges.badge_code;
INSERT INTO credential_status (status_index) SELECT status_index FROM user_badges;

-- SQLite cannot take the next index in a column default: the award's row gets it right
-- after its insert, in the same statement.
CREATE TRIGGER user_badges_status_awarded AFTER INSERT ON user_badges
BEGIN
    INSERT INTO credential_status (revoked) VALUES (FALSE);
    UPDATE user_badges SET status_index = last_insert_rowid()
    WHERE user_id = NEW.user_id AND badge_code = NEW.badge_code;
END;

CREATE TRIGGER user_badges_status_revoked AFTER DELETE ON user_badges
BEGIN
    UPDATE credential_status SET revoked = TRUE WHERE status_index = OLD.status_index;
END;
