package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Batches. Every audited write of a business takes the audit chain's lock (package audit) from
// its append to its commit, so bookings, one statement each, form one queue however many
// connections there are: when many customers book at once, each waits for all bookings ahead of
// it, one commit at a time. Instead, bookings that arrive while others are being written wait
// together and then go to the database as ONE statement (book_batch, migration 00008): one
// round trip, one transaction, one turn at the chain's lock for all of them. Each booking keeps
// its own exclusion check (the constraint decides, as on every path), its own audit entry and
// mails; PostgreSQL's work per booking drops to about a third (docs/benchmarks.md).
//
// Nothing waits for a batch to fill: a booking that arrives when fewer than maxBatchesInFlight
// batches are being written starts one at once, with whatever is waiting (itself alone when
// the app is quiet, and then it simply takes the one-statement path, insertOne). So batches grow
// only while the database is busy, and a quiet app behaves exactly as before.
//
// Batches are written with their own context (batchTimeout), not a caller's: one customer
// giving up must not cancel the others' bookings. A caller whose context ends while its booking
// waits gets the context's error and its booking is taken out; once the batch is on its way the
// booking may still be made, and its confirmation mail then arrives all the same.
//
// If the batch statement fails as a whole (the database went away, a deadlock with a writer
// outside the batch order, an audit entry PostgreSQL refuses), every booking of it is written
// again on its own by its caller, so each gets its own precise outcome.

const (
	// maxBatch bounds a batch: 64 bookings are one statement of about 64 × 18 array elements.
	maxBatch = 64
	// maxBatchesInFlight: one batch at the chain's lock and the next one on its way there.
	maxBatchesInFlight = 2
	// batchTimeout bounds a batch statement.
	batchTimeout = 30 * time.Second
)

// errInsertAlone tells a caller that its booking was not written in a batch and that it must
// write it on its own (insertOne).
var errInsertAlone = errors.New("store: insert on its own")

// batchOutcome is what a batch did with one booking: the stored row, ErrOverlap,
// ErrStaleCatalog or errInsertAlone.
type batchOutcome struct {
	row Booking
	err error
}

// bookingBatcher collects the bookings waiting to be written.
type bookingBatcher struct {
	pool *pgxpool.Pool

	mu       sync.Mutex
	waiting  []*pendingBooking
	inFlight int // batches being written (goroutines running flush)

	written atomic.Int64 // batch statements written (for tests)
}

// insert writes p, in a batch if others are waiting too.
func (q *bookingBatcher) insert(ctx context.Context, p *pendingBooking) (Booking, error) {
	p.done = make(chan batchOutcome, 1)
	q.mu.Lock()
	q.waiting = append(q.waiting, p)
	start := q.inFlight < maxBatchesInFlight
	if start {
		q.inFlight++
	}
	q.mu.Unlock()
	if start {
		go q.flush()
	}
	select {
	case o := <-p.done:
		if errors.Is(o.err, errInsertAlone) {
			return insertOne(ctx, q.pool, p)
		}
		return o.row, o.err
	case <-ctx.Done():
		q.mu.Lock()
		for i, w := range q.waiting {
			if w == p {
				q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
				break
			}
		}
		q.mu.Unlock()
		return Booking{}, ctx.Err()
	}
}

// flush writes batches of the waiting bookings until none is left.
func (q *bookingBatcher) flush() {
	for {
		q.mu.Lock()
		n := min(len(q.waiting), maxBatch)
		if n == 0 {
			q.inFlight--
			q.mu.Unlock()
			return
		}
		batch := make([]*pendingBooking, n)
		copy(batch, q.waiting)
		q.waiting = append(q.waiting[:0], q.waiting[n:]...)
		q.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		if len(batch) == 1 {
			row, err := insertOne(ctx, q.pool, batch[0])
			cancel()
			batch[0].done <- batchOutcome{row: row, err: err}
			continue
		}
		outcomes, err := insertBatch(ctx, q.pool, batch)
		cancel()
		q.written.Add(1)
		for i, p := range batch {
			if err != nil {
				p.done <- batchOutcome{err: errInsertAlone}
			} else {
				p.done <- outcomes[i]
			}
		}
	}
}

// insertBatch writes the bookings with one book_batch statement and returns each one's outcome.
func insertBatch(ctx context.Context, db dbtx, batch []*pendingBooking) ([]batchOutcome, error) {
	n := len(batch)
	var (
		versions                                 = make([]int64, n)
		serviceIDs, staffIDs                     = make([]int64, n), make([]int64, n)
		starts, ends, blockedStarts, blockedEnds = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		names, emails, phones, locales, privacy  = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		tokenHashes                              = make([][]byte, n)
		sealed, diffs                            = make([]*string, n), make([]*string, n)
		occurredAt                               = make([]time.Time, n)
		actors, requestIDs                       = make([]string, n), make([]string, n)
	)
	for i, p := range batch {
		b := p.row
		if p.audit.Action != "booking.create" || p.audit.ObjectType != "booking" {
			return nil, fmt.Errorf("store: batch entry %d is a %s %s audit entry, not booking.create", i, p.audit.ObjectType, p.audit.Action)
		}
		versions[i] = p.catalogVersion
		serviceIDs[i], staffIDs[i] = b.ServiceID, b.StaffID
		starts[i], ends[i], blockedStarts[i], blockedEnds[i] = b.Start, b.End, b.BlockedStart, b.BlockedEnd
		names[i], emails[i], phones[i], locales[i] = b.CustomerName, b.CustomerEmail, b.CustomerPhone, b.Locale
		privacy[i] = b.PrivacyNoticeVersion
		tokenHashes[i] = b.ManageTokenHash
		sealed[i], diffs[i] = p.sealedOrNil(), p.audit.Diff
		occurredAt[i], actors[i], requestIDs[i] = p.audit.At, p.audit.Actor, p.audit.RequestID
	}
	rows, err := db.Query(ctx, `SELECT booking_id, created_at, updated_at, stale FROM book_batch(
		$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		versions, serviceIDs, staffIDs, starts, ends, blockedStarts, blockedEnds, names, emails,
		phones, locales, tokenHashes, sealed, privacy, occurredAt, actors, diffs, requestIDs)
	if err != nil {
		return nil, err
	}
	outcomes := make([]batchOutcome, 0, n)
	for rows.Next() {
		var (
			id               *int64
			created, updated *time.Time
			stale            bool
		)
		if err := rows.Scan(&id, &created, &updated, &stale); err != nil {
			rows.Close()
			return nil, err
		}
		o := batchOutcome{row: batch[len(outcomes)].row}
		switch {
		case id != nil:
			o.row.ID, o.row.CreatedAt, o.row.UpdatedAt = *id, *created, *updated
		case stale:
			o = batchOutcome{err: ErrStaleCatalog}
		default:
			o = batchOutcome{err: ErrOverlap}
		}
		outcomes = append(outcomes, o)
		if len(outcomes) > n {
			break
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(outcomes) != n {
		return nil, fmt.Errorf("store: book_batch answered %d rows for %d bookings", len(outcomes), n)
	}
	return outcomes, nil
}
