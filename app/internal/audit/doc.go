// Package audit is Slotbook's tamper-evident audit log (GDPR Art. 32 TOM "Eingabekontrolle",
// OWASP ASVS L2 logging): who changed what, and when, in the table audit_log (migration
// 00002_audit_log.sql).
//
// # Writing
//
// Append records one Entry inside the caller's transaction, the same one as the change it
// records, so that both are committed or rolled back together. Call it as the last statement of
// the transaction, after the change: it takes a transaction-scoped advisory lock that serialises
// all appends until the transaction ends: the shorter it is held the better, and locks taken
// after it could deadlock with another transaction waiting for it. Use READ COMMITTED
// (PostgreSQL's and pgx's default): in a REPEATABLE READ or SERIALIZABLE transaction whose
// snapshot predates a concurrent append, Append fails with ErrChainConflict (the chain never
// forks), and the caller retries.
//
// The chain step runs inside PostgreSQL, in the function audit_append (migration 00005): it
// takes the lock, reads the last row's hash (a new snapshot per statement, so after the lock it
// sees the previous holder's committed row), computes the hash below and inserts the row, with
// no round trip to the application in between. The application prepares the entry (Prepare:
// checks, actor and request id from the context, the time, the diff as canonical JSON), and
// either calls the function on its own (Append) or in the very statement that makes the change
// (CallSQL, Args, AppendError): a booking, its audit row and the COMMIT are then one statement
// and one implicit transaction, and the lock is released by that commit without waiting for a
// client. The function hashes the canonical JSON it is given and stores it as jsonb; jsonb
// renders it differently (key order, number notation), but canonicalising that rendering gives
// back the same bytes, which is what Verify recomputes (tested with random awkward values).
// The canonical serialisation itself is computed in SQL from the stored values (occurred_at
// formatted in UTC, so the session's time zone does not matter), by audit_canonical (migration
// 00008), which audit_append and audit_append_many share. audit_append_many appends several
// entries as consecutive links under one turn at the lock: the booking batches of package store
// use it, one entry per booking made.
//
// The lock makes audited writes of the whole business one queue: every audited transaction holds
// it from its append to its commit. With synchronous_commit on, that includes the commit's WAL
// flush, so audited writes cannot commit faster than one flush each. That is why package store
// writes concurrent bookings in batches, one transaction (and one turn at the lock) each;
// measured figures are in docs/benchmarks.md.
//
// An entry without Actor or RequestID takes them from the context (WithActor, WithRequestID), so
// the HTTP layer can set them once per request. Diff helps build diffs by the rules below.
//
// # Actors and actions of business data
//
// Actors: "user:ID" for a person logged in (the web layer's WithActor; it takes precedence);
// without one in the context, ActorCustomer ("customer") for a booking made through the public
// page or API, CustomerOfBooking ("customer:booking:17") for a customer cancelling or moving
// their booking through its manage link, and ActorSystem ("system") for everything else: writes
// whose context names nobody (e.g. admin pages before logins existed), command-line tools such as
// seed-demo, and the application itself. ActorAnonymous ("anonymous") is for security events of
// nobody known.
//
// Actions written by package store (object type/id in brackets, then the diff):
//
//   - booking.create (booking/ID): service_id, staff_id, start, end, status. Nothing about the
//     customer.
//   - booking.cancel (booking/ID): status from confirmed to cancelled.
//   - booking.move (booking/ID): the changes of staff_id, start and end.
//   - service.create, service.update (service/ID): name, description, duration_minutes,
//     buffer_before_minutes, buffer_after_minutes, active, sort_order, staff_ids (all of a new
//     service; the changed ones of an update). service.delete: the name.
//   - staff.create, staff.update (staff/ID): name and email only as "set"/"changed" (personal
//     data), active, sort_order. staff.delete: no diff (hours, time off and assignments go with
//     the staff member).
//   - hours.update (staff/ID): per weekday that changed ("monday"), the intervals from and to
//     (["09:00-12:00", "13:00-17:00"]).
//   - timeoff.create (time_off/ID): staff_id, first_day, last_day, reason only as "set".
//     timeoff.delete: staff_id, first_day, last_day.
//   - settings.update (settings, no id): the changed fields (name, time_zone,
//     min_notice_minutes, max_advance_days, slot_interval_minutes, change_deadline_minutes).
//   - mail_settings.update (settings, no id): reminder_1_minutes, reminder_2_minutes;
//     contact_email and contact_phone only as "changed".
//   - feed.create (staff/ID): replaced (whether a live calendar feed token was replaced);
//     feed.revoke (staff/ID): no diff. Never the token.
//
// A write that fails (validation, a conflict, a constraint) or finds nothing to change (an
// unknown id, a booking already cancelled) writes no entry.
//
// # What an entry may contain (data minimisation)
//
// Audit rows can never be changed or deleted, so they cannot be erased on a data subject's
// request either. They must therefore hold no personal data beyond identifiers:
//
//   - Actor identifies who acted: "system", "user:42", "customer:booking:17" (a customer acting
//     through the manage link of booking 17), "anonymous". Never a name or an e-mail address;
//     the format (lower-case kind, then ":"-separated ids) enforces that.
//   - Action is a dotted verb: "booking.create", "booking.cancel", "service.update",
//     "login.failed".
//   - ObjectType and ObjectID name the object ("booking", "17"); both empty if there is none.
//   - Diff is the minimal change: only the fields that changed, as {"field": {"from": old,
//     "to": new}} or, for a new object, {"field": value}. Fields that are personal data
//     (customer name, e-mail address, phone number, staff e-mail, free-text notes or reasons) are
//     named but their values are left out, e.g. {"customer_email": "changed"}. Never secrets or
//     their hashes (manage tokens, passwords, API keys). Times as RFC 3339 strings, ids as
//     numbers. Nil for no diff. The Diff type does all this (Change, ChangePersonal, Set,
//     SetPersonal).
//   - RequestID links the entry to the application's log lines for the request.
//
// # Tamper evidence
//
// Each row stores prev_hash, the hash of the row before it in id order (NULL for the first row),
// and
//
//	hash = SHA-256(prev_hash || canonical(row))
//
// where canonical(row) is, in this order, the fields
//
//	"slotbook-audit-v1", occurred_at, actor, action, object_type, object_id, diff, request_id
//
// each as an 8-byte big-endian length followed by that many bytes. occurred_at is the stored
// instant in UTC with exactly six fractional digits ("2026-03-01T09:30:00.123456Z"), the precision
// PostgreSQL stores, so neither the session's nor the process's time zone matters. diff is the
// canonical JSON of the stored jsonb value, or empty for NULL. Canonical JSON has no white space,
// object keys sorted by their UTF-8 bytes (the last of duplicate keys wins), strings with only
// ", \ and control characters escaped (\", \\, \b, \f, \n, \r, \t, else \u00xx), and numbers
// as exact normalised decimals: the significant digits, then "e" and the power of ten unless it
// is 0, so 1.50 and 0.15E1 are "15e-1", 100 is "1e2" and -0.0 is "0". The id is not hashed:
// identity values may skip, and the order is fixed by the links.
//
// Verify walks the chain and names the first bad row: a hash mismatch (the row was edited), or a
// broken link (the row's prev_hash is not the hash of the row before it: rows were deleted or
// reordered, or the previous row was edited and re-hashed). The triggers make UPDATE, DELETE and
// TRUNCATE fail for everyone, including the owner and superusers; someone who can disable them
// (the table's owner, a superuser) could still rewrite the whole chain from the altered row on,
// or delete rows at its end. Against that, keep the head that Verify returns (Result.Last, id
// and hash) somewhere the database's users cannot write, e.g. in the backup bucket or the
// operator's logs, and pass it to a later Verify as an anchor: it must still be in the chain,
// with the same hash.
//
// # Reading
//
// Query serves the admin page (filters, keyset paging by id, oldest or newest first);
// ExportJSONLines streams entries, with their hashes, one JSON object per line.
package audit
