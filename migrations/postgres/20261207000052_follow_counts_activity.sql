-- A deactivated user leaves every count and comes back when reactivated: whoever flips
-- `users.is_active` (this service on the auth-service's UserDeactivated, or the
-- auth-service itself in a shared database), the counts of the users on the other side of
-- the user's follows move with it, in the same transaction. The counts then count follows
-- between active users only (src/db/social.rs keeps the rest so).
--
-- The function keeps the search path it was created with, as the credential triggers'
-- do: it fires in the auth-service's sessions too.
CREATE FUNCTION follow_counts_activity() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    step BIGINT := CASE WHEN COALESCE(NEW.is_active, TRUE) THEN 1 ELSE -1 END;
BEGIN
    UPDATE follow_counts SET followers = followers + step WHERE user_id IN
        (SELECT followee_id FROM follows WHERE follower_id = NEW.id AND state = 'following');
    UPDATE follow_counts SET following = following + step WHERE user_id IN
        (SELECT follower_id FROM follows WHERE followee_id = NEW.id AND state = 'following');
    RETURN NULL;
END
$$;

-- Only where `users` has `is_active`: without it everyone is active.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = 'users'::regclass AND attname = 'is_active' AND NOT attisdropped) THEN
        CREATE TRIGGER users_follow_counts AFTER UPDATE OF is_active ON users FOR EACH ROW
            WHEN (COALESCE(OLD.is_active, TRUE) IS DISTINCT FROM COALESCE(NEW.is_active, TRUE))
            EXECUTE FUNCTION follow_counts_activity();
    END IF;
END
$$;
