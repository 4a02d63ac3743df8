package store

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
