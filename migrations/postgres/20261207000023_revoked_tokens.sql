-- The deny-list fed by the auth-service's TokenRevoked and UserTokensRevoked messages (see
-- src/auth/revocations.rs). A revoked jti is kept until its token can no longer validate,
-- then purged by the hourly housekeeping (by expires_at).
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires_at);

-- A user's tokens issued before revoked_before are refused (a password change, a "sign out
-- everywhere"). Erased with the user's data.
CREATE TABLE revoked_user_tokens (
    user_id BIGINT PRIMARY KEY,
    revoked_before TIMESTAMPTZ NOT NULL
);
