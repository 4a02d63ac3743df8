-- Bookings in batches (store.InsertBookingIfCurrent, "Batches"): when many customers book at
-- once, the app sends the bookings that are waiting as ONE statement, book_batch, instead of one
-- statement each. Every booking still gets its own exclusion check, its own audit entry and its
-- own mails; what the batch shares is the work around them: one round trip, one transaction, one
-- commit, one turn at the audit chain's lock (which serialises every audited write of the
-- business, so one booking per turn was the limit) and one trigger call for the mails.
--
-- Measured with pgbench on 2 cores (docs/benchmarks.md): PostgreSQL CPU per booking 1.1 ms one at
-- a time; in batches of 32 with the per-row triggers and audit_append of before 0.36 ms, of
-- which audit_append was 0.11 ms and the mail trigger 0.10 ms. Hence also the set-based audit
-- append and mail trigger below.

-- +goose Up

-- audit_canonical is canonical(row) of package audit (see audit_append, migration 00005), now in
-- one place for audit_append and audit_append_many. The Down migration keeps it and the
-- audit_append below (which computes exactly what 00005's did), hence OR REPLACE.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_canonical(p_occurred_at timestamptz, p_actor text, p_action text,
                                p_object_type text, p_object_id text, p_diff text,
                                p_request_id text)
RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT int8send(17) || convert_to('slotbook-audit-v1', 'UTF8')
        || int8send(octet_length(t)::bigint) || t
        || int8send(octet_length(convert_to(p_actor, 'UTF8'))::bigint) || convert_to(p_actor, 'UTF8')
        || int8send(octet_length(convert_to(p_action, 'UTF8'))::bigint) || convert_to(p_action, 'UTF8')
        || int8send(octet_length(convert_to(p_object_type, 'UTF8'))::bigint) || convert_to(p_object_type, 'UTF8')
        || int8send(octet_length(convert_to(p_object_id, 'UTF8'))::bigint) || convert_to(p_object_id, 'UTF8')
        || int8send(coalesce(octet_length(convert_to(p_diff, 'UTF8')), 0)::bigint)
        || coalesce(convert_to(p_diff, 'UTF8'), ''::bytea)
        || int8send(octet_length(convert_to(p_request_id, 'UTF8'))::bigint) || convert_to(p_request_id, 'UTF8')
    FROM (SELECT convert_to(to_char(p_occurred_at AT TIME ZONE 'UTC',
                                    'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8') AS t) AS occurred
$$;
-- +goose StatementEnd

-- audit_append as in migration 00005, with the canonical form from audit_canonical.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_append(p_occurred_at timestamptz, p_actor text, p_action text,
                                        p_object_type text, p_object_id text, p_diff text,
                                        p_request_id text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    prev   bytea;
    new_id bigint;
BEGIN
    -- The key of audit's lockKey: "slotaudt".
    PERFORM pg_advisory_xact_lock(8317145157488436340);
    SELECT hash INTO prev FROM audit_log ORDER BY id DESC LIMIT 1;
    INSERT INTO audit_log (occurred_at, actor, action, object_type, object_id, diff, request_id,
                           prev_hash, hash)
    VALUES (p_occurred_at, p_actor, p_action, p_object_type, p_object_id, p_diff::jsonb,
            p_request_id, prev,
            sha256(coalesce(prev, ''::bytea) || audit_canonical(p_occurred_at, p_actor, p_action,
                   p_object_type, p_object_id, p_diff, p_request_id)))
    RETURNING id INTO new_id;
    RETURN new_id;
END;
$$;
-- +goose StatementEnd

-- audit_append_many appends several entries, in the order of the arrays (all of one length), as
-- consecutive links of the chain: one lock, one read of the last hash, one INSERT. It returns
-- the new rows' ids in that order.
-- +goose StatementBegin
CREATE FUNCTION audit_append_many(p_occurred_at timestamptz[], p_actor text[], p_action text[],
                                  p_object_type text[], p_object_id text[], p_diff text[],
                                  p_request_id text[])
RETURNS SETOF bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    prev   bytea;
    hashes bytea[];
    prevs  bytea[];
BEGIN
    PERFORM pg_advisory_xact_lock(8317145157488436340);
    SELECT hash INTO prev FROM audit_log ORDER BY id DESC LIMIT 1;
    FOR i IN 1 .. coalesce(array_length(p_actor, 1), 0) LOOP
        prevs[i] := prev;
        prev := sha256(coalesce(prev, ''::bytea) || audit_canonical(p_occurred_at[i], p_actor[i],
                       p_action[i], p_object_type[i], p_object_id[i], p_diff[i], p_request_id[i]));
        hashes[i] := prev;
    END LOOP;
    -- Ids are taken in the order the rows are produced, the arrays' order.
    RETURN QUERY
    INSERT INTO audit_log (occurred_at, actor, action, object_type, object_id, diff, request_id,
                           prev_hash, hash)
    SELECT e.occurred_at, e.actor, e.action, e.object_type, e.object_id, e.diff::jsonb,
           e.request_id, e.prev_hash, e.hash
    FROM unnest(p_occurred_at, p_actor, p_action, p_object_type, p_object_id, p_diff,
                p_request_id, prevs, hashes) WITH ORDINALITY
         AS e(occurred_at, actor, action, object_type, object_id, diff, request_id, prev_hash,
              hash, n)
    ORDER BY e.n
    RETURNING id;
END;
$$;
-- +goose StatementEnd

-- book_batch inserts bookings given as parallel arrays (element i of every array is booking i)
-- and returns one row per booking, in order: its id and timestamps, or NULL if it was not
-- inserted, and stale = true if it was not inserted because the catalogue changed after the
-- version it was checked against (p_catalog_version[i]; 0: no check). A booking that is not
-- stale and not inserted overlaps a confirmed booking of its staff member: one that existed, or
-- an earlier one of the same batch (ON CONFLICT DO NOTHING with the exclusion constraint as the
-- arbiter sees rows its own statement inserted). For each booking that is inserted it appends
-- the audit entry "booking.create" with the booking's id as the object; p_diff[i],
-- p_occurred_at[i], p_actor[i] and p_request_id[i] are that entry's.
--
-- Locks, in the same order as every other booking write (store.insertBookingSQL): the staff
-- members' advisory locks (lockStaff), here in ascending id order so that two batches queue
-- rather than deadlock, then the staff and service rows (FOR KEY SHARE), then the audit chain's
-- lock last.
-- +goose StatementBegin
CREATE FUNCTION book_batch(p_catalog_version bigint[], p_service_id bigint[], p_staff_id bigint[],
                           p_start timestamptz[], p_end timestamptz[],
                           p_blocked_start timestamptz[], p_blocked_end timestamptz[],
                           p_name text[], p_email text[], p_phone text[], p_locale text[],
                           p_token_hash bytea[], p_token_sealed text[], p_privacy text[],
                           p_occurred_at timestamptz[], p_actor text[], p_diff text[],
                           p_request_id text[])
RETURNS TABLE (booking_id bigint, created_at timestamptz, updated_at timestamptz, stale boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    current_version bigint;
    ins_n   bigint[];
    ins_id  bigint[];
    ins_created timestamptz[];
    ins_updated timestamptz[];
BEGIN
    SELECT version INTO current_version FROM catalog_version;
    -- The staff lock's first key is store.bookingLockClass (0x5107).
    PERFORM pg_advisory_xact_lock(20743, s::int)
    FROM (SELECT DISTINCT s FROM unnest(p_staff_id) AS s ORDER BY s) AS staff_ids;
    PERFORM 1 FROM staff st WHERE st.id = ANY (p_staff_id) ORDER BY st.id FOR KEY SHARE;
    PERFORM 1 FROM services sv WHERE sv.id = ANY (p_service_id) ORDER BY sv.id FOR KEY SHARE;

    WITH b AS (
        SELECT * FROM unnest(p_catalog_version, p_service_id, p_staff_id, p_start, p_end,
                             p_blocked_start, p_blocked_end, p_name, p_email, p_phone, p_locale,
                             p_token_hash, p_token_sealed, p_privacy) WITH ORDINALITY
            AS b(catalog_version, service_id, staff_id, start_at, end_at, blocked_start,
                 blocked_end, name, email, phone, locale, token_hash, token_sealed, privacy, n)
    ), ins AS (
        INSERT INTO bookings (service_id, staff_id, start_at, end_at, blocked, customer_name,
                              customer_email, customer_phone, locale, status, manage_token_hash,
                              manage_token_sealed, privacy_notice_version)
        SELECT b.service_id, b.staff_id, b.start_at, b.end_at,
               tstzrange(b.blocked_start, b.blocked_end, '[)'), b.name, b.email, b.phone,
               b.locale, 'confirmed', b.token_hash, b.token_sealed, NULLIF(b.privacy, '')
        FROM b
        WHERE b.catalog_version = 0 OR current_version <= b.catalog_version
        ORDER BY b.n
        ON CONFLICT DO NOTHING
        RETURNING id, manage_token_hash, bookings.created_at, bookings.updated_at)
    -- The manage token's hash (unique) says which booking a returned row is.
    SELECT array_agg(b.n ORDER BY b.n), array_agg(ins.id ORDER BY b.n),
           array_agg(ins.created_at ORDER BY b.n), array_agg(ins.updated_at ORDER BY b.n)
    INTO ins_n, ins_id, ins_created, ins_updated
    FROM ins JOIN b ON b.token_hash = ins.manage_token_hash;

    IF ins_n IS NOT NULL THEN
        PERFORM audit_append_many(
            (SELECT array_agg(p_occurred_at[n] ORDER BY i) FROM unnest(ins_n) WITH ORDINALITY AS x(n, i)),
            (SELECT array_agg(p_actor[n] ORDER BY i) FROM unnest(ins_n) WITH ORDINALITY AS x(n, i)),
            array_fill('booking.create'::text, ARRAY[cardinality(ins_n)]),
            array_fill('booking'::text, ARRAY[cardinality(ins_n)]),
            (SELECT array_agg(id::text ORDER BY i) FROM unnest(ins_id) WITH ORDINALITY AS x(id, i)),
            (SELECT array_agg(p_diff[n] ORDER BY i) FROM unnest(ins_n) WITH ORDINALITY AS x(n, i)),
            (SELECT array_agg(p_request_id[n] ORDER BY i) FROM unnest(ins_n) WITH ORDINALITY AS x(n, i)));
    END IF;

    RETURN QUERY
    SELECT r.id, r.created_at, r.updated_at,
           r.id IS NULL AND v.v <> 0 AND current_version > v.v
    FROM unnest(p_catalog_version) WITH ORDINALITY AS v(v, n)
    LEFT JOIN unnest(ins_n, ins_id, ins_created, ins_updated) AS r(n, id, created_at, updated_at)
           ON r.n = v.n
    ORDER BY v.n;
END;
$$;
-- +goose StatementEnd

-- The mails of new bookings, for all rows of an INSERT at once (one statement instead of two per
-- booking): the same rows bookings_enqueue_mail (migration 00006) writes for an insert, the
-- customer's first, then the staff member's, booking by booking. Updates keep the row trigger.
-- +goose StatementBegin
CREATE FUNCTION bookings_enqueue_created_mail() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO mail_outbox (template, recipient, language, data, booking_id)
    SELECT m.template, m.recipient, m.language,
           jsonb_build_object('booking_id', n.id, 'sequence', n.sequence, 'start', n.start_at,
                              'end', n.end_at, 'staff_id', n.staff_id, 'service_id', n.service_id),
           n.id
    FROM new_bookings n
    LEFT JOIN staff st ON st.id = n.staff_id
    CROSS JOIN LATERAL (VALUES (1, 'booking_created', n.customer_email, n.locale),
                               (2, 'staff_booking_created', st.email, '')) AS m(k, template, recipient, language)
    WHERE m.k = 1 OR m.recipient <> ''
    ORDER BY n.id, m.k;
    RETURN NULL;
END $$;
-- +goose StatementEnd
DROP TRIGGER bookings_mail ON bookings;
CREATE TRIGGER bookings_mail AFTER UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_enqueue_mail();
CREATE TRIGGER bookings_mail_created AFTER INSERT ON bookings
    REFERENCING NEW TABLE AS new_bookings
    FOR EACH STATEMENT EXECUTE FUNCTION bookings_enqueue_created_mail();

-- +goose Down
DROP TRIGGER bookings_mail_created ON bookings;
DROP TRIGGER bookings_mail ON bookings;
CREATE TRIGGER bookings_mail AFTER INSERT OR UPDATE ON bookings
    FOR EACH ROW EXECUTE FUNCTION bookings_enqueue_mail();
DROP FUNCTION bookings_enqueue_created_mail();
DROP FUNCTION book_batch(bigint[], bigint[], bigint[], timestamptz[], timestamptz[], timestamptz[],
                         timestamptz[], text[], text[], text[], text[], bytea[], text[], text[],
                         timestamptz[], text[], text[], text[]);
DROP FUNCTION audit_append_many(timestamptz[], text[], text[], text[], text[], text[], text[]);
