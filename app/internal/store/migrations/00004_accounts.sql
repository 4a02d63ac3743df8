-- Accounts (package app/internal/account): the people who sign in, their one-time links
-- (owner setup, invitation, password reset), their server-side sessions, login throttling, the
-- table alexedwards/scs keeps its cookie sessions in, and the durable outbox for mails.
--
-- Times: every timestamp the service compares (expiry, lockout, idle timeout) is written by the
-- application from its own clock, never by now() in SQL, so that one clock decides and tests
-- can move it.
--
-- Secrets: passwords only as argon2id PHC strings, TOTP secrets sealed (AES-256-GCM, key
-- derived from SLOTBOOK_SESSION_KEY), recovery codes and one-time link tokens only as SHA-256
-- hashes. Nothing here goes into the audit log except ids and roles.

-- +goose Up

CREATE TABLE users (
    id                        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Normalised by the application (trimmed, NFC, lower case): one account per address.
    email                     text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254
                                                          AND email = lower(email)),
    name                      text        NOT NULL DEFAULT '' CHECK (char_length(name) <= 200),
    role                      text        NOT NULL CHECK (role IN ('owner', 'admin', 'staff', 'viewer')),
    -- The staff member this account is. RESTRICT, not SET NULL: a staff account without its
    -- staff member would break the CHECK below (and silently lose its scope), so a staff
    -- member with an account cannot be deleted (the store reports ErrInUse, as for bookings):
    -- change the account's role or its staff link first, or deactivate the staff member.
    staff_id                  bigint      REFERENCES staff (id) ON DELETE RESTRICT,
    -- argon2id PHC string; NULL until the setup or invitation link was used.
    password_hash             text,
    -- The active TOTP secret, sealed; NULL when MFA is off.
    mfa_secret_sealed         text,
    -- The last accepted TOTP time step: a code for this step or an earlier one is a replay.
    mfa_last_step             bigint      NOT NULL DEFAULT 0,
    -- A started, unconfirmed enrolment's secret, sealed.
    mfa_pending_secret_sealed text,
    -- SHA-256 hashes (hex) of the unused recovery codes; a used code is removed.
    recovery_codes            text[]      NOT NULL DEFAULT '{}',
    disabled_at               timestamptz,
    created_at                timestamptz NOT NULL,
    last_login_at             timestamptz,
    CONSTRAINT users_email_key UNIQUE (email),
    -- A staff account acts for exactly one staff member (its scope in the permission matrix).
    CONSTRAINT users_staff_has_staff_id CHECK (role <> 'staff' OR staff_id IS NOT NULL),
    -- Recovery codes exist only with MFA.
    CONSTRAINT users_recovery_needs_mfa CHECK (mfa_secret_sealed IS NOT NULL OR recovery_codes = '{}')
);
-- One account per staff member: an account is one person.
CREATE UNIQUE INDEX users_staff_id_key ON users (staff_id) WHERE staff_id IS NOT NULL;
-- Last-owner checks.
CREATE INDEX users_owner_idx ON users (id) WHERE role = 'owner' AND disabled_at IS NULL;

-- One-time links that set a password: owner setup, invitation, password reset. The token itself
-- (256 bits from crypto/rand) is only in the link; the table keeps its SHA-256.
CREATE TABLE one_time_links (
    token_hash bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('owner_setup', 'invite', 'reset')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CHECK (created_at < expires_at)
);
-- At most one unused link per user and purpose: a new one replaces (deletes) the old.
CREATE UNIQUE INDEX one_time_links_live_key ON one_time_links (user_id, purpose) WHERE used_at IS NULL;
CREATE INDEX one_time_links_expires_at_idx ON one_time_links (expires_at);

-- Signed-in browsers. The id (256 random bits) lives only inside the scs session data (table
-- sessions below), never in a cookie; ending a session deletes its row.
CREATE TABLE user_sessions (
    id           text        PRIMARY KEY CHECK (char_length(id) BETWEEN 22 AND 100),
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    -- Updated at most once a minute (not on every request).
    last_seen_at timestamptz NOT NULL,
    user_agent   text        NOT NULL DEFAULT '' CHECK (char_length(user_agent) <= 500),
    ip           text        NOT NULL DEFAULT '' CHECK (char_length(ip) <= 100)
);
CREATE INDEX user_sessions_user_id_idx ON user_sessions (user_id);
CREATE INDEX user_sessions_last_seen_at_idx ON user_sessions (last_seen_at);

-- Failed login (and code) attempts per key: "account:" + hex SHA-256 of the normalised e-mail
-- (for unknown addresses too, so a lockout says nothing about existence; the address itself is
-- not stored) and "ip:" + client address.
CREATE TABLE login_throttle (
    key               text        PRIMARY KEY CHECK (char_length(key) <= 200),
    failures          integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    locked_until      timestamptz,
    last_failure_at   timestamptz,
    -- Start of the counting window (per-IP limit).
    window_started_at timestamptz
);
CREATE INDEX login_throttle_last_failure_at_idx ON login_throttle (last_failure_at);

-- Cookie sessions of github.com/alexedwards/scs/v2 with its pgxstore: exactly the table that
-- store expects (it deletes expired rows itself). The account service does not use it.
CREATE TABLE sessions (
    token  TEXT        PRIMARY KEY,
    data   BYTEA       NOT NULL,
    expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- Mails to send, written in the same transaction as the change that causes them (invitation,
-- password reset, ...). Delivery (SMTP) comes later and marks sent_at. data holds what the
-- template needs, including one-time links: the deliverer should clear it once sent.
CREATE TABLE mail_outbox (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    template   text        NOT NULL CHECK (template ~ '^[a-z][a-z0-9_]*$'),
    recipient  text        NOT NULL CHECK (char_length(recipient) BETWEEN 3 AND 254),
    -- '' = the business's default language.
    language   text        NOT NULL DEFAULT '' CHECK (language ~ '^([a-z]{2})?$'),
    data       jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    attempts   integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error text
);
CREATE INDEX mail_outbox_unsent_idx ON mail_outbox (id) WHERE sent_at IS NULL;

-- +goose Down
DROP TABLE mail_outbox;
DROP TABLE sessions;
DROP TABLE login_throttle;
DROP TABLE user_sessions;
DROP TABLE one_time_links;
DROP TABLE users;
