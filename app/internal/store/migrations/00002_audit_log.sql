-- The tamper-evident audit log (GDPR Art. 32 / TOM "Eingabekontrolle"; OWASP ASVS L2 logging):
-- who changed what, when. The Go side is package app/internal/audit, which is the only writer:
-- audit.Append inserts a row in the same transaction as the change it records.
--
-- Tamper evidence: every row carries hash = SHA-256(prev_hash || canonical(row)) and prev_hash =
-- the hash of the row before it (NULL for the very first row), so the rows form a hash chain in id
-- order. audit.Verify (`slotbook audit verify`) recomputes the chain; an edited, deleted or
-- reordered row breaks it. The canonical serialisation is documented in package audit.
--
-- Append-only: the triggers below reject every UPDATE, DELETE and TRUNCATE, also by the table's
-- owner and by superusers. They are ENABLE ALWAYS, so they fire even in sessions with
-- session_replication_role = replica (the usual way to skip triggers). Privileges alone cannot
-- do this: with CloudNativePG the application role owns its tables, and an owner may always
-- modify them. Ideally the role the application runs as has only SELECT and INSERT on audit_log;
-- if a separate role runs the migrations:
--     GRANT SELECT, INSERT ON audit_log TO <app role>;
-- (INSERT covers the identity column's sequence.) The owner (or a superuser) can still disable the
-- triggers with ALTER TABLE; that is what the hash chain detects.
--
-- Personal data: nothing in this table can ever be erased, so it must hold no more personal data
-- than necessary (GDPR Art. 5(1)(c), Art. 17): actors and objects are identifiers ("user:42",
-- "customer:booking:17"), never names or e-mail addresses, and diffs name changed personal fields
-- without their values. The CHECKs below keep names, e-mail addresses and free text out of the
-- identifier columns.

-- +goose Up

CREATE TABLE audit_log (
    -- The chain's order. Ids are taken under audit.Append's advisory lock, so they follow the
    -- order of appends; keep the sequence uncached (CACHE 1, the default) so that this holds
    -- across sessions. Gaps (rolled-back appends) are fine.
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- When it happened, to the microsecond (the hash covers exactly the stored value).
    occurred_at timestamptz NOT NULL,
    -- Who: "system", "user:42", "customer:booking:17" — an identifier, never a name or e-mail.
    actor       text        NOT NULL CHECK (char_length(actor) <= 200
                                            AND actor ~ '^[a-z][a-z0-9_-]*(:[A-Za-z0-9_.-]+)*$'),
    -- What: "booking.create", "login.failed", ...
    action      text        NOT NULL CHECK (char_length(action) <= 100
                                            AND action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
    -- On what: e.g. object_type 'booking', object_id '17'; both '' if there is no object.
    object_type text        NOT NULL DEFAULT '' CHECK (char_length(object_type) <= 100
                                                      AND object_type ~ '^([a-z][a-z0-9_]*)?$'),
    object_id   text        NOT NULL DEFAULT '' CHECK (char_length(object_id) <= 200
                                                      AND object_id ~ '^[A-Za-z0-9_.:-]*$'),
    -- A minimal diff of the change (see package audit for what may be in it); NULL for none.
    diff        jsonb,
    -- The request's id, to find the matching application log lines ('' if none).
    request_id  text        NOT NULL DEFAULT '' CHECK (char_length(request_id) <= 200
                                                      AND request_id ~ '^[ -~]*$'),
    prev_hash   bytea       CHECK (octet_length(prev_hash) = 32),
    hash        bytea       NOT NULL CHECK (octet_length(hash) = 32)
);

-- At most one row follows each row (and only one row starts the chain): the chain can never
-- fork, even if an append ran with a stale snapshot (a REPEATABLE READ or SERIALIZABLE
-- transaction) — that append fails instead.
CREATE UNIQUE INDEX audit_log_prev_hash_key ON audit_log ((coalesce(prev_hash, '\x'::bytea)));

-- The admin page's filters (newest first, by id).
CREATE INDEX audit_log_object_idx ON audit_log (object_type, object_id, id);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, id);
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);

-- +goose StatementBegin
CREATE FUNCTION audit_log_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING HINT = 'Audit entries are never changed or removed; see package audit.';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_reject_change();
CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_reject_change();
-- Fire also with session_replication_role = replica (or local).
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_update_delete;
ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate;

-- PUBLIC has none of these by default; the REVOKE states the intent and undoes any that
-- ALTER DEFAULT PRIVILEGES might have granted.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;

-- +goose Down
-- Dropping the table destroys the audit trail; the application never migrates down.
DROP TABLE audit_log;
DROP FUNCTION audit_log_reject_change();
