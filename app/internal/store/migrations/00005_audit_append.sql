-- audit_append: the step of the audit log's hash chain, done inside PostgreSQL (package audit,
-- "Writing"). Until now audit.Append took the chain's advisory lock, read the last row's hash in a
-- round trip to the application, computed the new hash there and inserted the row in a second
-- round trip: the lock, which serialises every audited write of the whole business, was held over
-- two client round trips plus the COMMIT. This function does the same under the same lock with no
-- round trip in between, so a write and its audit row can be one statement (or one batch) whose
-- implicit transaction commits, and releases the lock, without waiting for the client.
--
-- The hash and the canonical serialisation are exactly those of package audit (its documentation
-- is the specification; audit.Verify recomputes them in Go and is unchanged):
--
--     hash = sha256(prev_hash || canonical(row))
--     canonical(row) = for each of "slotbook-audit-v1", occurred_at, actor, action, object_type,
--                      object_id, diff, request_id: its length as 8 bytes big-endian, its bytes
--
-- occurred_at is rendered here in UTC with six fractional digits (time-zone independent: the
-- session's TimeZone does not matter). p_diff must already be the diff's canonical JSON (audit
-- computes it in Go): it is hashed as given and stored as jsonb, and jsonb's rendering of a
-- canonical text canonicalises back to the same text, which is what audit.Verify recomputes (the
-- audit tests check this for awkward values). NULL means no diff.
--
-- READ COMMITTED (the default): the function is VOLATILE, so each statement in it takes a new
-- snapshot; the SELECT of the last hash therefore runs after the lock was granted and sees the
-- row the previous holder committed. In REPEATABLE READ or SERIALIZABLE the transaction's older
-- snapshot may miss it: then the INSERT collides in audit_log_prev_hash_key (the chain never
-- forks) and audit reports ErrChainConflict.
--
-- Ids are taken by the INSERT under the lock, so they follow the chain's order.

-- +goose Up

-- +goose StatementBegin
CREATE FUNCTION audit_append(p_occurred_at timestamptz, p_actor text, p_action text,
                             p_object_type text, p_object_id text, p_diff text,
                             p_request_id text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    prev   bytea;
    canon  bytea;
    f      bytea;
    new_id bigint;
BEGIN
    -- The key of audit's lockKey: "slotaudt".
    PERFORM pg_advisory_xact_lock(8317145157488436340);
    SELECT hash INTO prev FROM audit_log ORDER BY id DESC LIMIT 1;
    canon := int8send(17) || convert_to('slotbook-audit-v1', 'UTF8');
    f := convert_to(to_char(p_occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8');
    canon := canon || int8send(octet_length(f)::bigint) || f;
    f := convert_to(p_actor, 'UTF8');
    canon := canon || int8send(octet_length(f)::bigint) || f;
    f := convert_to(p_action, 'UTF8');
    canon := canon || int8send(octet_length(f)::bigint) || f;
    f := convert_to(p_object_type, 'UTF8');
    canon := canon || int8send(octet_length(f)::bigint) || f;
    f := convert_to(p_object_id, 'UTF8');
    canon := canon || int8send(octet_length(f)::bigint) || f;
    f := coalesce(convert_to(p_diff, 'UTF8'), ''::bytea);
    canon := canon || int8send(octet_length(f)::bigint) || f;
    f := convert_to(p_request_id, 'UTF8');
    canon := canon || int8send(octet_length(f)::bigint) || f;
    INSERT INTO audit_log (occurred_at, actor, action, object_type, object_id, diff, request_id,
                           prev_hash, hash)
    VALUES (p_occurred_at, p_actor, p_action, p_object_type, p_object_id, p_diff::jsonb,
            p_request_id, prev, sha256(coalesce(prev, ''::bytea) || canon))
    RETURNING id INTO new_id;
    RETURN new_id;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION audit_append(timestamptz, text, text, text, text, text, text);
