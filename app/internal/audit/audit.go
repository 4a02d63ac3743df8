package audit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Entry is one event to record. Actor and Action are required; see the package documentation
// for what the fields may contain.
type Entry struct {
	Actor      string // "system", "user:42", "customer:booking:17"; "" for the context's (WithActor)
	Action     string // "booking.create", "login.failed"
	ObjectType string // "booking"; "" for none
	ObjectID   string // "17"; "" for none
	// Diff is the minimal change, marshalled with encoding/json (a map, a struct or a
	// json.RawMessage, a Diff); nil, JSON null or an empty Diff for none. At most MaxDiffBytes
	// as JSON.
	Diff      any
	RequestID string // printable ASCII; "" for the context's (WithRequestID), if any
	// At is when it happened; the zero time means now. It is stored (and hashed) in UTC,
	// truncated to microseconds.
	At time.Time
}

// MaxDiffBytes is the largest diff Append accepts, as JSON.
const MaxDiffBytes = 64 << 10

// lockKey is the key of the transaction-scoped advisory lock that serialises appends: "slotaudt".
const lockKey int64 = 0x736c6f74_61756474

// prevHashIndex is the unique index that keeps the chain from forking.
const prevHashIndex = "audit_log_prev_hash_key"

var (
	// ErrInvalid: the entry breaks the rules on its fields (wrapped with the details).
	ErrInvalid = errors.New("audit: invalid entry")
	// ErrChainConflict: another append committed after this transaction's snapshot was taken
	// (a REPEATABLE READ or SERIALIZABLE transaction), so this one would fork the chain. Roll back
	// and retry, or use READ COMMITTED.
	ErrChainConflict = errors.New("audit: the chain moved on since this transaction's snapshot; retry the transaction")
)

// The formats of the identifier fields; the migration's CHECKs are the same.
var (
	actorRe      = regexp.MustCompile(`^[a-z][a-z0-9_-]*(:[A-Za-z0-9_.-]+)*$`)
	actionRe     = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$`)
	objectTypeRe = regexp.MustCompile(`^([a-z][a-z0-9_]*)?$`)
	objectIDRe   = regexp.MustCompile(`^[A-Za-z0-9_.:-]*$`)
	requestIDRe  = regexp.MustCompile(`^[ -~]*$`)
)

// Validate checks an entry's fields against the rules Append enforces (the diff only for size).
func (e Entry) Validate() error {
	check := func(field, v string, max int, re *regexp.Regexp, required bool) error {
		switch {
		case required && v == "":
			return fmt.Errorf("%w: %s is required", ErrInvalid, field)
		case len(v) > max:
			return fmt.Errorf("%w: %s is longer than %d bytes", ErrInvalid, field, max)
		case !re.MatchString(v):
			return fmt.Errorf("%w: %s %q does not match %s", ErrInvalid, field, v, re)
		}
		return nil
	}
	return errors.Join(
		check("actor", e.Actor, 200, actorRe, true),
		check("action", e.Action, 100, actionRe, true),
		check("object type", e.ObjectType, 100, objectTypeRe, false),
		check("object id", e.ObjectID, 200, objectIDRe, false),
		check("request id", e.RequestID, 200, requestIDRe, false),
		checkTime(e.At),
	)
}

func checkTime(t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.UTC().Year(); y < 1970 || y > 9999 {
		return fmt.Errorf("%w: time %s is out of range", ErrInvalid, t)
	}
	return nil
}

// Append records e in tx, the caller's transaction, in which the change it records is made. It
// serialises appends with a transaction-scoped advisory lock (held until tx ends, so call Append
// last), links the new row to the last one and inserts it. If tx is rolled back, so is the entry.
// An empty Actor or RequestID is taken from ctx (WithActor, WithRequestID).
func Append(ctx context.Context, tx pgx.Tx, e Entry) error {
	if tx == nil {
		return errors.New("audit: append: no transaction")
	}
	if e.Actor == "" {
		e.Actor = ActorFrom(ctx)
	}
	if e.RequestID == "" {
		e.RequestID = RequestIDFrom(ctx)
	}
	if d, ok := e.Diff.(Diff); ok && len(d) == 0 {
		e.Diff = nil
	}
	if err := e.Validate(); err != nil {
		return err
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	at = storedTime(at)

	var diff *string
	if e.Diff != nil {
		b, err := json.Marshal(e.Diff)
		if err != nil {
			return fmt.Errorf("%w: diff: %v", ErrInvalid, err)
		}
		if len(b) > MaxDiffBytes {
			return fmt.Errorf("%w: diff is %d bytes, more than %d", ErrInvalid, len(b), MaxDiffBytes)
		}
		if s := string(b); s != "null" {
			diff = &s
		}
	}

	// Two statements, in this order and in one round trip: the lock first, then the reads, so
	// that (in READ COMMITTED) the reads' snapshot is taken after the lock was granted and sees
	// the previous holder's committed row. The diff goes through jsonb here because the hash
	// covers the stored jsonb value as PostgreSQL renders it, exactly what Verify reads back.
	batch := &pgx.Batch{}
	batch.Queue(`SELECT pg_advisory_xact_lock($1)`, lockKey)
	var prev []byte
	var stored *string
	batch.Queue(`SELECT (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), $1::text::jsonb::text`, diff).
		QueryRow(func(row pgx.Row) error { return row.Scan(&prev, &stored) })
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		// invalid_text_representation, untranslatable_character (jsonb refuses \u0000)
		if code, _ := pgCode(err); code == "22P02" || code == "22P05" {
			return fmt.Errorf("%w: diff: %v", ErrInvalid, err)
		}
		return fmt.Errorf("audit: append: %w", err)
	}
	var canonDiff []byte
	if stored != nil {
		var err error
		if canonDiff, err = canonicalJSON([]byte(*stored)); err != nil {
			return fmt.Errorf("audit: append: diff: %w", err)
		}
	}
	row := canonicalRow{At: at, Actor: e.Actor, Action: e.Action, ObjectType: e.ObjectType,
		ObjectID: e.ObjectID, Diff: canonDiff, DiffNull: stored == nil, RequestID: e.RequestID}
	hash := chainHash(prev, row.bytes())

	_, err := tx.Exec(ctx, `
		INSERT INTO audit_log (occurred_at, actor, action, object_type, object_id, diff, request_id,
		                       prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7, $8, $9)`,
		at, e.Actor, e.Action, e.ObjectType, e.ObjectID, stored, e.RequestID, prev, hash[:])
	if code, constraint := pgCode(err); code == "23505" && constraint == prevHashIndex {
		return fmt.Errorf("%w (%v)", ErrChainConflict, err)
	}
	if err != nil {
		return fmt.Errorf("audit: append: %w", err)
	}
	return nil
}

// storedTime is t as PostgreSQL stores a timestamptz: UTC, whole microseconds (pgx truncates
// the nanoseconds the same way).
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// chainHash is SHA-256(prev || canonical).
func chainHash(prev, canonical []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(canonical)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

func pgCode(err error) (code, constraint string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName
	}
	return "", ""
}
