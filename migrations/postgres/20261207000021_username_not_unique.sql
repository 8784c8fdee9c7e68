-- The auth-service's id is the account; usernames are its business, and it may hand out the
-- same one twice (or two that differ only in spaces). In the users table this service
-- created itself, the unique constraint (and any unique index) on username would drop the
-- second account's UserCreated, so it goes. A users table of the auth-service's own keeps
-- its constraints: it is not this service's to change. Without the notes table (the
-- auth-service owns users) there is nothing to read: checked first, in a statement of its
-- own, since PL/pgSQL plans each statement when it first runs it.
DO $$
DECLARE
    found record;
BEGIN
    IF to_regclass('user_service_meta') IS NULL THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM user_service_meta
                   WHERE name = 'users_owner' AND value = 'user-service') THEN
        RETURN;
    END IF;
    FOR found IN
        SELECT i.indexrelid::regclass AS index_name, c.conname AS constraint_name
        FROM pg_index i
        LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
        WHERE i.indrelid = to_regclass('users') AND i.indisunique AND NOT i.indisprimary
          AND EXISTS (SELECT 1 FROM pg_attribute a
                      WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                        AND a.attname = 'username')
    LOOP
        IF found.constraint_name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE users DROP CONSTRAINT %I', found.constraint_name);
        ELSE
            EXECUTE format('DROP INDEX %s', found.index_name);
        END IF;
    END LOOP;
END
$$;
