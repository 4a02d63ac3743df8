package gdpr

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
)

// retentionLockKey is the key of the transaction-level advisory lock one retention run holds,
// so that replicas running the job at the same moment do not both act: "slotrten".
const retentionLockKey int64 = 0x736c6f74_7274656e

// RetentionInterval is how often Start runs the retention job.
const RetentionInterval = time.Hour

// Retention is what a retention run did (or, dry, would do).
type Retention struct {
	// Skipped: another run held the lock; this one did nothing.
	Skipped bool
	// Months is the retention setting; Cutoff is now minus Months: bookings that ended before it
	// are anonymised, mails created before it deleted.
	Months int
	Cutoff time.Time
	// Bookings anonymised, mails deleted, expired erasure requests deleted.
	Bookings int
	Mails    int
	Requests int
}

// Changed reports whether the run changed anything.
func (r Retention) Changed() bool { return r.Bookings+r.Mails+r.Requests > 0 }

// requestKeep is how long expired or used erasure requests (ids and times only) are kept.
const requestKeep = 30 * 24 * time.Hour

// Run anonymises the personal data of every booking whose appointment ended before now minus
// the business's retention period (business_settings.retention_months; the booking rows stay,
// as with Erase), deletes the mails created before then (and those about the bookings just
// anonymised), and deletes erasure requests that expired more than 30 days ago. One
// transaction; a run that changed something appends one "retention.run" entry (counts, cutoff,
// the setting). If another run holds the lock, it returns Skipped at once.
func (s *Service) Run(ctx context.Context, now time.Time) (Retention, error) {
	return s.retention(ctx, now, false)
}

// Preview is a dry run: what Run would do now, changing nothing.
func (s *Service) Preview(ctx context.Context, now time.Time) (Retention, error) {
	return s.retention(ctx, now, true)
}

func (s *Service) retention(ctx context.Context, now time.Time, dry bool) (Retention, error) {
	now = now.UTC().Truncate(time.Microsecond)
	var res Retention
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		res = Retention{}
		var locked bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, retentionLockKey).Scan(&locked); err != nil {
			return err
		}
		if !locked {
			res.Skipped = true
			return nil
		}
		if err := tx.QueryRow(ctx, `SELECT retention_months FROM business_settings`).Scan(&res.Months); err != nil {
			return err
		}
		res.Cutoff = now.AddDate(0, -res.Months, 0)
		rows, err := tx.Query(ctx, `SELECT id FROM bookings WHERE erased_at IS NULL AND end_at < $1 ORDER BY id FOR UPDATE`, res.Cutoff)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		res.Bookings = len(ids)
		mailsSQL := `FROM mail_outbox WHERE created_at < $1 OR booking_id = ANY($2)`
		reqSQL := `FROM erasure_requests WHERE expires_at < $1`
		reqCutoff := now.Add(-requestKeep)
		if dry {
			if err := tx.QueryRow(ctx, `SELECT count(*) `+mailsSQL, res.Cutoff, ids).Scan(&res.Mails); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT count(*) `+reqSQL, reqCutoff).Scan(&res.Requests)
		}
		if err := anonymise(ctx, tx, ids, now); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE `+mailsSQL, res.Cutoff, ids)
		if err != nil {
			return err
		}
		res.Mails = int(tag.RowsAffected())
		if tag, err = tx.Exec(ctx, `DELETE `+reqSQL, reqCutoff); err != nil {
			return err
		}
		res.Requests = int(tag.RowsAffected())
		if !res.Changed() {
			return nil
		}
		return appendAudit(ctx, tx, audit.Entry{Actor: audit.ActorSystem, Action: "retention.run", At: now,
			Diff: audit.Diff{}.Set("retention_months", res.Months).Set("cutoff", res.Cutoff).
				Set("bookings", res.Bookings).Set("mails_deleted", res.Mails).Set("erasure_requests_deleted", res.Requests)})
	})
	if err != nil {
		return Retention{}, err
	}
	return res, nil
}

// Start runs the retention job in the background until ctx ends: shortly after the start, then
// every interval (RetentionInterval if 0). Errors are logged and retried at the next tick.
func (s *Service) Start(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = RetentionInterval
	}
	go func() {
		timer := time.NewTimer(time.Minute)
		defer timer.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			res, err := s.Run(ctx, s.now())
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.Error("retention run failed", "err", err)
			case res.Changed():
				s.log.Info("retention run", "bookings_anonymised", res.Bookings, "mails_deleted", res.Mails,
					"erasure_requests_deleted", res.Requests, "cutoff", res.Cutoff)
			}
			timer.Reset(interval)
		}
	}()
}
