package store

import "context"

// BatchesWritten is how many book_batch statements s has sent (batch.go).
func BatchesWritten(s *Store) int64 { return s.batches.written.Load() }

// BookingsWaiting is how many bookings wait for a batch.
func BookingsWaiting(s *Store) int {
	s.batches.mu.Lock()
	defer s.batches.mu.Unlock()
	return len(s.batches.waiting)
}

// MaxBatchesInFlight is maxBatchesInFlight.
const MaxBatchesInFlight = maxBatchesInFlight

// InsertBookings (for tests: the batch statement itself, without the batcher's timing) inserts
// the bookings in one statement, as a batch of InsertBookingIfCurrent would (catalogVersions[i] is b[i]'s; nil: no check), and returns each one's outcome in order:
// the stored row and nil, or a zero Booking and ErrOverlap (it overlaps a confirmed booking,
// possibly an earlier one of the same call) or ErrStaleCatalog. The error is for the statement
// as a whole: then nothing was inserted.
func (s *Store) InsertBookings(ctx context.Context, b []Booking, catalogVersions []int64) ([]Booking, []error, error) {
	batch := make([]*pendingBooking, len(b))
	for i := range b {
		var v int64
		if catalogVersions != nil {
			v = catalogVersions[i]
		}
		p, err := newPendingBooking(ctx, b[i], v)
		if err != nil {
			return nil, nil, err
		}
		batch[i] = p
	}
	outcomes, err := insertBatch(ctx, s.db, batch)
	if err != nil {
		return nil, nil, overlapOrAppend(err)
	}
	rows, errs := make([]Booking, len(b)), make([]error, len(b))
	for i, o := range outcomes {
		rows[i], errs[i] = o.row, o.err
	}
	return rows, errs, nil
}
