package audit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
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

// lockKey is the key of the transaction-scoped advisory lock that serialises appends: "slotaudt"
// (8317145157488436340). The database function audit_append takes it (migration 00005).
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
// last), links the new row to the last one and inserts it, all in one statement (the database
// function audit_append, migration 00005). If tx is rolled back, so is the entry. An empty Actor
// or RequestID is taken from ctx (WithActor, WithRequestID).
func Append(ctx context.Context, tx pgx.Tx, e Entry) error {
	if tx == nil {
		return errors.New("audit: append: no transaction")
	}
	p, err := Prepare(ctx, e)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `SELECT `+CallSQL(1, ""), p.Args(true)...)
	return AppendError(err)
}

// Prepared is an Entry that has been checked and completed (actor and request id from the
// context, the time set and truncated to what PostgreSQL stores, the diff as canonical JSON):
// the arguments of the database function audit_append. Prepare makes one; a write can then append
// its entry in the same statement as the change (CallSQL), so that the change, the entry and
// the commit need no round trip to the application while the chain's lock is held.
type Prepared struct {
	At         time.Time
	Actor      string
	Action     string
	ObjectType string
	ObjectID   string
	Diff       *string // canonical JSON; nil for none
	RequestID  string
}

// Prepare checks e and completes it as Append does.
func Prepare(ctx context.Context, e Entry) (Prepared, error) {
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
		return Prepared{}, err
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	p := Prepared{At: storedTime(at), Actor: e.Actor, Action: e.Action, ObjectType: e.ObjectType,
		ObjectID: e.ObjectID, RequestID: e.RequestID}
	if e.Diff != nil {
		b, err := json.Marshal(e.Diff)
		if err != nil {
			return Prepared{}, fmt.Errorf("%w: diff: %v", ErrInvalid, err)
		}
		if len(b) > MaxDiffBytes {
			return Prepared{}, fmt.Errorf("%w: diff is %d bytes, more than %d", ErrInvalid, len(b), MaxDiffBytes)
		}
		if string(b) != "null" {
			// The hash covers the canonical JSON, which is also what is stored: jsonb renders it
			// differently (key order, numbers), but its rendering canonicalises back to these
			// bytes, which is what Verify recomputes.
			c, err := canonicalJSON(b)
			if err != nil {
				return Prepared{}, fmt.Errorf("%w: diff: %v", ErrInvalid, err)
			}
			if len(c) > MaxDiffBytes {
				return Prepared{}, fmt.Errorf("%w: diff is %d bytes, more than %d", ErrInvalid, len(c), MaxDiffBytes)
			}
			s := string(c)
			p.Diff = &s
		}
	}
	return p, nil
}

// CallSQL is the SQL call of audit_append for p's arguments as parameters $first, $first+1, …
// (see Args), to use in a statement of the transaction that makes the change, last. With
// objectIDExpr not empty, the object id is that SQL expression instead of a parameter (e.g. the
// id of a row inserted by the same statement, "b.id::text"), and Args(false) leaves it out. The
// call returns the new row's id; its errors are mapped by AppendError.
//
// In a statement with data-modifying CTEs the call must run after the change, and not at all if
// the change did nothing: call it in a CTE over the change's RETURNING rows and refer to that
// CTE in the main query (PostgreSQL does not run an unreferenced SELECT CTE).
func CallSQL(first int, objectIDExpr string) string {
	n := first
	param := func() string { n++; return "$" + strconv.Itoa(n-1) }
	at, actor, action, objectType := param(), param(), param(), param()
	objectID := objectIDExpr
	if objectID == "" {
		objectID = param() + "::text"
	}
	diff, requestID := param(), param()
	return "audit_append(" + at + "::timestamptz, " + actor + "::text, " + action + "::text, " +
		objectType + "::text, " + objectID + ", " + diff + "::text, " + requestID + "::text)"
}

// Args are the parameters of CallSQL, in its order; withObjectID false leaves out the object
// id (CallSQL with an objectIDExpr).
func (p Prepared) Args(withObjectID bool) []any {
	if withObjectID {
		return []any{p.At, p.Actor, p.Action, p.ObjectType, p.ObjectID, p.Diff, p.RequestID}
	}
	return []any{p.At, p.Actor, p.Action, p.ObjectType, p.Diff, p.RequestID}
}

// AppendError maps an error of a statement that called audit_append to the package's errors:
// ErrChainConflict (a stale snapshot would have forked the chain), ErrInvalid (a diff PostgreSQL
// refuses, e.g. with \u0000). Other errors are wrapped, nil stays nil.
func AppendError(err error) error {
	if err == nil {
		return nil
	}
	switch code, constraint := pgCode(err); {
	case code == "23505" && constraint == prevHashIndex:
		return fmt.Errorf("%w (%v)", ErrChainConflict, err)
	// invalid_text_representation, untranslatable_character (jsonb refuses \u0000)
	case code == "22P02" || code == "22P05":
		return fmt.Errorf("%w: diff: %v", ErrInvalid, err)
	}
	return fmt.Errorf("audit: append: %w", err)
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
