-- Badge credentials' revocation (src/credentials, src/db/credentials.rs): every award gets a
-- status index, its bit in the BitstringStatusList credentials the service signs. The bits
-- live in credential_status, one row per award ever made, holding the index and whether it
-- is revoked and nothing that names the user, so that a revocation outlives the erasure of
-- the user's data. The database keeps it by itself, whichever statement adds or removes an
-- award (a revocation, an erasure, a cascade from users or badges).
CREATE SEQUENCE credential_status_index START WITH 1;

CREATE TABLE credential_status (
    status_index BIGINT PRIMARY KEY,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
-- The revoked bits of one list: a range read of this index.
CREATE INDEX credential_status_revoked ON credential_status (status_index) WHERE revoked;

-- Awards made before credentials existed get their indexes now, oldest first.
ALTER TABLE user_badges ADD COLUMN status_index BIGINT UNIQUE;
UPDATE user_badges SET status_index = numbered.n
FROM (
    SELECT user_id, badge_code, nextval('credential_status_index') AS n
    FROM (SELECT user_id, badge_code FROM user_badges ORDER BY awarded_at, user_id, badge_code) AS oldest_first
) AS numbered
WHERE numbered.user_id = user_badges.user_id AND numbered.badge_code = user_badges.badge_code;
INSERT INTO credential_status (status_index) SELECT status_index FROM user_badges;
ALTER TABLE user_badges
    ALTER COLUMN status_index SET DEFAULT nextval('credential_status_index'),
    ALTER COLUMN status_index SET NOT NULL;
-- Owned by the column it numbers: it moves with user_badges (src/db/own_schema.rs).
ALTER SEQUENCE credential_status_index OWNED BY user_badges.status_index;

-- The triggers also fire in the auth-service's sessions (a user row it deletes cascades to
-- user_badges), whose search path does not name this service's schema: each function keeps
-- the path it was created with.

CREATE FUNCTION credential_status_awarded() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO credential_status (status_index) VALUES (NEW.status_index);
    RETURN NULL;
END
$$;
CREATE TRIGGER user_badges_status_awarded AFTER INSERT ON user_badges
    FOR EACH ROW EXECUTE FUNCTION credential_status_awarded();

CREATE FUNCTION credential_status_revoked() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE credential_status SET revoked = TRUE WHERE status_index = OLD.status_index;
    RETURN NULL;
END
$$;
CREATE TRIGGER user_badges_status_revoked AFTER DELETE ON user_badges
    FOR EACH ROW EXECUTE FUNCTION credential_status_revoked();
