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
// An entry without Actor or RequestID takes them from the context (WithActor, WithRequestID), so
// the HTTP layer can set them once per request. Diff helps build diffs by the rules below.
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
