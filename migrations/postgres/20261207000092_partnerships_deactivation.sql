-- A deactivated user's open partnerships end, whoever flips `users.is_active` (this service
-- on the auth-service's UserDeactivated, which ends them itself first and tells the
-- partners, or the auth-service in a shared database, which this trigger covers). They stay
-- ended when the user comes back. As the follow counts' trigger, the function keeps the
-- search path it was created with: it fires in the auth-service's sessions too.
CREATE FUNCTION partnerships_deactivation() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE partnerships SET status = 'ended', end_reason = 'deactivated', ended_at = now()
    WHERE status IN ('pending', 'active') AND (inviter_id = NEW.id OR invitee_id = NEW.id);
    RETURN NULL;
END
$$;

-- Only where `users` has `is_active`: without it nobody is deactivated.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_attribute
               WHERE attrelid = 'users'::regclass AND attname = 'is_active' AND NOT attisdropped) THEN
        CREATE TRIGGER users_end_partnerships AFTER UPDATE OF is_active ON users FOR EACH ROW
            WHEN (COALESCE(OLD.is_active, TRUE) AND NOT COALESCE(NEW.is_active, TRUE))
            EXECUTE FUNCTION partnerships_deactivation();
    END IF;
END
$$;
