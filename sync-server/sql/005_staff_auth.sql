-- Server schema v5: staff sign-in for the web dashboard (issue 6).
-- Only community_staff, town_staff and admin have a password (checked in
-- accounts/passwords.rs); gridworkers keep using device tokens.

-- One Argon2id PHC string per staff member (salt and parameters inside it),
-- with the failed-login counter: after 5 consecutive failures the account is
-- locked until `locked_until` (ms since the epoch) and the counter restarts.
CREATE TABLE staff_credentials (
    worker_id       TEXT PRIMARY KEY REFERENCES workers(id),
    password_hash   TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    updated_at      INTEGER NOT NULL
);

-- Signed-in browser sessions. The cookie holds a random 32-byte token; only
-- its SHA-256 is stored. `csrf_token` is echoed in every POST form.
CREATE TABLE staff_sessions (
    token_hash BLOB PRIMARY KEY,
    worker_id  TEXT NOT NULL REFERENCES workers(id),
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX staff_sessions_worker ON staff_sessions(worker_id);
CREATE INDEX staff_sessions_expires ON staff_sessions(expires_at);
