package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/availability"
)

// Booking is a row of the bookings table. (The domain type is booking.Booking; package booking
// builds on this package, so it converts.)
type Booking struct {
	ID        int64
	ServiceID int64
	StaffID   int64
	// Start and End are the appointment, [Start, End).
	Start time.Time
	End   time.Time
	// BlockedStart and BlockedEnd include the service's buffers: no other confirmed booking of
	// the staff member may overlap [BlockedStart, BlockedEnd).
	BlockedStart  time.Time
	BlockedEnd    time.Time
	CustomerName  string
	CustomerEmail string
	CustomerPhone string
	Locale        string
	Status        string // "confirmed" or "cancelled"
	// ManageTokenHash is the SHA-256 of the customer's manage token (32 bytes).
	ManageTokenHash []byte
	// ManageTokenSealed is the manage token sealed for later mails (booking.SealManageToken);
	// written on insert only, never read back by the booking path ("" = none).
	ManageTokenSealed string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	CancelledAt       *time.Time
	// PrivacyNoticeVersion is the privacy-notice version the customer accepted ("" for none).
	PrivacyNoticeVersion string
	// ErasedAt is when the customer's data was erased (package gdpr): then the customer fields
	// are empty and ManageTokenHash is nil.
	ErasedAt *time.Time
}

// Booking statuses as stored.
const (
	StatusConfirmed = "confirmed"
	StatusCancelled = "cancelled"
)

const bookingColumns = `
	id, service_id, staff_id, start_at, end_at, lower(blocked), upper(blocked), customer_name,
	customer_email, customer_phone, locale, status, manage_token_hash, created_at, updated_at,
	cancelled_at, coalesce(privacy_notice_version, ''), erased_at`

func scanBooking(row pgx.Row) (Booking, error) {
	var b Booking
	err := row.Scan(&b.ID, &b.ServiceID, &b.StaffID, &b.Start, &b.End, &b.BlockedStart, &b.BlockedEnd,
		&b.CustomerName, &b.CustomerEmail, &b.CustomerPhone, &b.Locale, &b.Status, &b.ManageTokenHash,
		&b.CreatedAt, &b.UpdatedAt, &b.CancelledAt, &b.PrivacyNoticeVersion, &b.ErasedAt)
	return b, err
}

// scanBookingAnd scans bookingColumns followed by more columns.
func scanBookingAnd(row pgx.Row, more ...any) (Booking, error) {
	var b Booking
	err := row.Scan(append([]any{&b.ID, &b.ServiceID, &b.StaffID, &b.Start, &b.End, &b.BlockedStart, &b.BlockedEnd,
		&b.CustomerName, &b.CustomerEmail, &b.CustomerPhone, &b.Locale, &b.Status, &b.ManageTokenHash,
		&b.CreatedAt, &b.UpdatedAt, &b.CancelledAt, &b.PrivacyNoticeVersion, &b.ErasedAt}, more...)...)
	return b, err
}

func collectBookings(rows pgx.Rows, err error) ([]Booking, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Booking, error) { return scanBooking(r) })
}

// overlapOr maps the exclusion violation to ErrOverlap. A deadlock can only come from two
// writes of overlapping bookings checking the exclusion constraint against each other (the
// staff lock below prevents it; this is the safety net), so it is a lost race too.
func overlapOr(err error) error {
	switch code, _ := pgCode(err); code {
	case codeExclusionViolation, codeDeadlockDetected:
		return ErrOverlap
	}
	return err
}

// overlapOrAppend maps the error of a statement that inserts bookings and appends their audit
// entries: ErrOverlap (overlapOr), else audit.AppendError.
func overlapOrAppend(err error) error {
	if err := overlapOr(err); errors.Is(err, ErrOverlap) {
		return err
	}
	return audit.AppendError(err)
}

// lockStaff is the expression that takes a transaction-level advisory lock on one staff member
// ($staffParam) before a booking write of theirs (in a CTE that the write depends on). Without it, two concurrent inserts of overlapping bookings can
// wait on each other inside the exclusion constraint's check until PostgreSQL's deadlock detector
// aborts one after a second; with it, the second simply waits its turn and then meets the
// committed booking. It costs no extra round trip.
func lockStaff(staffParam string) string {
	return fmt.Sprintf("pg_advisory_xact_lock(%d, (%s)::int)", bookingLockClass, staffParam)
}

// insertBookingSQL inserts a booking unless it overlaps another or the catalogue moved on, and
// appends its audit entry, in one statement (see InsertBookingIfCurrent). The CTE parents locks
// the staff and service rows (FOR KEY SHARE, what the foreign-key checks take anyway) BEFORE the
// audit entry takes the chain's lock: the foreign-key checks themselves run at the end of the
// statement, after the audit CTE, and would otherwise wait for a catalogue edit that holds the
// staff row and waits for the chain's lock — a deadlock (seen in TestAuditConcurrentWorkload).
// Every writer thus takes its row locks first and the chain's lock last. It always returns one
// row: the catalogue version, then the new booking's id and timestamps (NULL if nothing was
// inserted). Parameters: $1–$11 the booking, $12 the catalogue version the caller checked
// against (0: none), $13… the audit entry (audit.CallSQL), then the sealed manage token (NULL:
// none), then the accepted privacy-notice version (empty for none). The booking's mails are queued
// by the trigger bookings_mail_created (migration 00008) in the same statement.
var insertBookingSQL = `
	WITH cv AS (SELECT version FROM catalog_version),
	staff_lock AS (
		SELECT ` + lockStaff("$2::bigint") + `
		FROM cv WHERE $12::bigint = 0 OR cv.version <= $12),
	parents AS (
		SELECT 1 FROM staff st, services sv WHERE st.id = $2 AND sv.id = $1
		FOR KEY SHARE OF st, sv),
	ins AS (
		INSERT INTO bookings (service_id, staff_id, start_at, end_at, blocked, customer_name,
		                      customer_email, customer_phone, locale, status, manage_token_hash,
		                      manage_token_sealed, privacy_notice_version)
		SELECT $1, $2, $3, $4, tstzrange($5, $6, '[)'), $7, $8, $9, $10, 'confirmed', $11,
		       $19::text, NULLIF($20::text, '')
		FROM staff_lock LEFT JOIN parents ON true
		ON CONFLICT DO NOTHING
		RETURNING id, created_at, updated_at),
	aud AS (SELECT ` + audit.CallSQL(13, "ins.id::text") + ` AS audit_id FROM ins)
	SELECT cv.version, ins.id, ins.created_at, ins.updated_at
	FROM cv LEFT JOIN (ins CROSS JOIN aud) ON true`

// InsertBooking inserts a confirmed booking with its audit entry and returns the stored row (with
// id and timestamps); see InsertBookingIfCurrent.
func (s *Store) InsertBooking(ctx context.Context, b Booking) (Booking, error) {
	return s.InsertBookingIfCurrent(ctx, b, 0)
}

// InsertBookingIfCurrent inserts a confirmed booking and returns the stored row (with id and
// timestamps), unless the catalogue version is newer than catalogVersion (ErrStaleCatalog: the
// caller checked the booking against an outdated catalogue; 0 skips the check). The fields used
// are ServiceID, StaffID, Start, End, BlockedStart, BlockedEnd, the customer fields, Locale,
// ManageTokenHash and PrivacyNoticeVersion. ErrOverlap if it overlaps another confirmed booking
// of the staff member (also
// when a concurrent insert won the race).
//
// It is one statement, so one round trip and one implicit transaction: the version check, the
// staff member's advisory lock (see lockStaff), the INSERT and the audit entry ("booking.create",
// object the new booking, actor from the context or audit.ActorSystem, a diff of ids and times
// only: nothing about the customer). The audit chain's global lock is taken last and released by
// the commit that ends the statement, without waiting for the application. Bookings that arrive
// while others are being written share one such statement (batch.go); inside InTx the booking
// is written in the caller's transaction, on its own.
//
// The overlap is reported by ON CONFLICT DO NOTHING (without a conflict target it takes the
// bookings_no_overlap exclusion constraint as an arbiter; the constraint is enforced all the
// same): no row instead of an error, and then no audit entry either. A lost race is an everyday
// outcome, and as an error it would cost more than the failed statement: PostgreSQL logs every
// error, and pgx drops the statement from its cache of prepared statements after any error, so
// the connection's next booking would prepare it again. That makes a lost race about a third
// cheaper; the price is that every insert probes its arbiters once more (roughly 0.05 ms of
// PostgreSQL CPU, a few per cent of a booking, measured with pgbench). (The other arbiter, the
// unique manage token hash, cannot conflict: 32 random bytes.)
func (s *Store) InsertBookingIfCurrent(ctx context.Context, b Booking, catalogVersion int64) (Booking, error) {
	p, err := newPendingBooking(ctx, b, catalogVersion)
	if err != nil {
		return Booking{}, err
	}
	if s.batches != nil {
		return s.batches.insert(ctx, p)
	}
	return insertOne(ctx, s.db, p)
}

// pendingBooking is a booking ready to insert: the row as stored, the catalogue version it was
// checked against and its audit entry.
type pendingBooking struct {
	row            Booking
	catalogVersion int64
	audit          audit.Prepared
	// done receives the outcome when the booking goes in a batch (capacity 1: the batch never
	// waits for the caller).
	done chan batchOutcome
}

func newPendingBooking(ctx context.Context, b Booking, catalogVersion int64) (*pendingBooking, error) {
	if b.Locale == "" {
		b.Locale = "en"
	}
	b.Status = StatusConfirmed
	b.CancelledAt = nil
	// As stored (and returned by a read): microseconds.
	for _, t := range []*time.Time{&b.Start, &b.End, &b.BlockedStart, &b.BlockedEnd} {
		*t = t.Truncate(time.Microsecond)
	}
	entry, err := prepareAudit(ctx, audit.Entry{Action: "booking.create", ObjectType: "booking",
		Diff: audit.Diff{}.Set("service_id", b.ServiceID).Set("staff_id", b.StaffID).
			Set("start", b.Start).Set("end", b.End).Set("status", StatusConfirmed)})
	if err != nil {
		return nil, err
	}
	return &pendingBooking{row: b, catalogVersion: catalogVersion, audit: entry}, nil
}

// sealedOrNil is the sealed manage token as a parameter: NULL for none.
func (p *pendingBooking) sealedOrNil() *string {
	if p.row.ManageTokenSealed == "" {
		return nil
	}
	return &p.row.ManageTokenSealed
}

// insertOne inserts p with insertBookingSQL, on its own.
func insertOne(ctx context.Context, db dbtx, p *pendingBooking) (Booking, error) {
	b := p.row
	args := append([]any{b.ServiceID, b.StaffID, b.Start, b.End, b.BlockedStart, b.BlockedEnd,
		b.CustomerName, b.CustomerEmail, b.CustomerPhone, b.Locale, b.ManageTokenHash, p.catalogVersion},
		p.audit.Args(false)...)
	args = append(args, p.sealedOrNil())        // $19, after the audit entry's six
	args = append(args, b.PrivacyNoticeVersion) // $20
	var version int64
	var id *int64
	var created, updated *time.Time
	err := db.QueryRow(ctx, insertBookingSQL, args...).Scan(&version, &id, &created, &updated)
	switch {
	case err != nil:
		return Booking{}, overlapOrAppend(err)
	case id != nil:
		b.ID, b.CreatedAt, b.UpdatedAt = *id, *created, *updated
		return b, nil
	case p.catalogVersion != 0 && version > p.catalogVersion:
		return Booking{}, ErrStaleCatalog
	default:
		return Booking{}, ErrOverlap
	}
}

// GetBooking returns a booking by id, or ErrNotFound.
func (s *Store) GetBooking(ctx context.Context, id int64) (Booking, error) {
	b, err := scanBooking(s.db.QueryRow(ctx, `SELECT `+bookingColumns+` FROM bookings WHERE id = $1`, id))
	return b, notFound(err)
}

// GetBookingByTokenHash returns the booking whose manage token hashes to hash, or ErrNotFound.
func (s *Store) GetBookingByTokenHash(ctx context.Context, hash []byte) (Booking, error) {
	b, err := scanBooking(s.db.QueryRow(ctx,
		`SELECT `+bookingColumns+` FROM bookings WHERE manage_token_hash = $1`, hash))
	return b, notFound(err)
}

// ListBookings returns the bookings (confirmed and cancelled) starting in [from, to), of one staff
// member if staffID is not nil, ordered by start, staff id and id.
func (s *Store) ListBookings(ctx context.Context, from, to time.Time, staffID *int64) ([]Booking, error) {
	return collectBookings(s.db.Query(ctx, `
		SELECT `+bookingColumns+`
		FROM bookings
		WHERE start_at >= $1 AND start_at < $2 AND ($3::bigint IS NULL OR staff_id = $3)
		ORDER BY start_at, staff_id, id`, from, to, staffID))
}

// SearchBookings finds up to limit bookings whose customer name, e-mail address or phone number
// contains query (case-insensitive), newest start first. An empty query finds nothing.
func (s *Store) SearchBookings(ctx context.Context, query string, limit int) ([]Booking, error) {
	query = strings.TrimSpace(query)
	if query == "" || limit <= 0 {
		return nil, nil
	}
	if limit > 1000 {
		limit = 1000
	}
	pattern := "%" + escapeLike(query) + "%"
	// Phone numbers are compared without formatting ("+49 30 1234" finds "+49301234").
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, query)
	return collectBookings(s.db.Query(ctx, `
		SELECT `+bookingColumns+`
		FROM bookings
		WHERE customer_name ILIKE $1 OR customer_email ILIKE $1 OR customer_phone ILIKE $1
		   OR (length($2) >= 3 AND regexp_replace(customer_phone, '[^0-9]', '', 'g') LIKE '%' || $2 || '%')
		ORDER BY start_at DESC, id DESC
		LIMIT $3`, pattern, digits, limit))
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// BusyRanges returns, per staff member, the blocked ranges (buffers included) of their confirmed
// bookings that overlap [from, to), ordered by start — what the availability engine needs. The
// booking exceptBookingID (0 for none) is left out, so that a booking being moved does not block
// itself.
func (s *Store) BusyRanges(ctx context.Context, staffIDs []int64, from, to time.Time, exceptBookingID int64) (map[int64][]availability.Range, error) {
	sql, staff := busySQL(staffIDs)
	rows, err := s.db.Query(ctx, sql+`
		ORDER BY b.staff_id, lower(b.blocked)`, staff, from, to, exceptBookingID)
	if err != nil {
		return nil, err
	}
	return collectBusy(rows, len(staffIDs))
}

// cancelBookingSQL cancels a confirmed booking and appends the audit entry ($2… audit.CallSQL)
// in one statement.
var cancelBookingSQL = `
	WITH upd AS (
		UPDATE bookings
		SET status = 'cancelled', cancelled_at = now(), updated_at = now()
		WHERE id = $1 AND status = 'confirmed'
		RETURNING ` + bookingColumns + `),
	aud AS (SELECT ` + audit.CallSQL(2, "upd.id::text") + ` AS audit_id FROM upd)
	SELECT upd.* FROM upd, aud`

// CancelBooking cancels a confirmed booking and returns the updated row, freeing its time. The
// audit entry ("booking.cancel", the status change) is written by the same statement, so in the
// same transaction. ErrNotFound if there is no such booking; ErrNotConfirmed (with the row) if it
// was already cancelled (and then nothing is audited).
func (s *Store) CancelBooking(ctx context.Context, id int64) (Booking, error) {
	entry, err := prepareAudit(ctx, audit.Entry{Action: "booking.cancel", ObjectType: "booking",
		Diff: audit.Diff{}.Change("status", StatusConfirmed, StatusCancelled)})
	if err != nil {
		return Booking{}, err
	}
	b, err := scanBooking(s.db.QueryRow(ctx, cancelBookingSQL, append([]any{id}, entry.Args(false)...)...))
	if errors.Is(err, pgx.ErrNoRows) {
		return s.notConfirmed(ctx, id)
	}
	if err != nil {
		return Booking{}, audit.AppendError(err)
	}
	return b, nil
}

// notConfirmed explains why an update of a confirmed booking found no row.
func (s *Store) notConfirmed(ctx context.Context, id int64) (Booking, error) {
	b, err := s.GetBooking(ctx, id)
	if err != nil {
		return Booking{}, err
	}
	return b, ErrNotConfirmed
}

// Move is where a booking moves to: the new staff member and times (see Booking).
type Move struct {
	StaffID      int64
	Start, End   time.Time
	BlockedStart time.Time
	BlockedEnd   time.Time
}

// MoveBooking moves a confirmed booking to a new time and/or staff member and returns the updated
// row. It is one UPDATE of the row, so taking the new time and releasing the old one happen
// together or not at all: on ErrOverlap (the new time is taken) the booking is unchanged. The new
// range may overlap the booking's own old range. ErrNotFound if there is no such booking;
// ErrNotConfirmed (with the row) if it is cancelled. The audit entry ("booking.move": the changes
// of staff_id, start and end) is appended in the same transaction, after the UPDATE.
func (s *Store) MoveBooking(ctx context.Context, id int64, m Move) (Booking, error) {
	var b Booking
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var oldStaff int64
		var oldStart, oldEnd time.Time
		var err error
		b, err = scanBookingAnd(tx.QueryRow(ctx, moveBookingSQL, id, m.StaffID, m.Start, m.End, m.BlockedStart, m.BlockedEnd),
			&oldStaff, &oldStart, &oldEnd)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit.Entry{Action: "booking.move", ObjectType: "booking", ObjectID: itoa(id),
			Diff: audit.Diff{}.Change("staff_id", oldStaff, b.StaffID).Change("start", oldStart, b.Start).
				Change("end", oldEnd, b.End)})
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return s.notConfirmed(ctx, id)
	}
	if err != nil {
		return Booking{}, overlapOr(err)
	}
	return b, nil
}

// moveBookingSQL moves a confirmed booking (see MoveBooking) and returns the new row and the old
// staff member and times. The staff member's lock is taken before the row's (old's join needs
// staff_lock first), the order of every booking write.
var moveBookingSQL = `
	WITH staff_lock AS (SELECT ` + lockStaff("$2::bigint") + `),
	old AS (
		SELECT b.id AS old_id, b.staff_id AS old_staff, b.start_at AS old_start, b.end_at AS old_end
		FROM bookings b, staff_lock
		WHERE b.id = $1 AND b.status = 'confirmed'
		FOR UPDATE OF b)
	UPDATE bookings
	SET staff_id = $2, start_at = $3, end_at = $4, blocked = tstzrange($5, $6, '[)'),
	    updated_at = now()
	FROM old
	WHERE bookings.id = old.old_id
	RETURNING ` + bookingColumns + `, old.old_staff, old.old_start, old.old_end`
