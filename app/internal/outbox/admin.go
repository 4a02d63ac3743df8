package outbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Entry is an unsent mail as the admin's mail page shows it: no data, only the recipient.
type Entry struct {
	ID          int64
	Template    string
	Recipient   string
	CreatedAt   time.Time
	Attempts    int
	NextAttempt time.Time
	LastError   string
	FailedAt    *time.Time
}

// Counts of the queue.
type Counts struct {
	Queued, Failed, SentLastDay int
}

// Pending lists up to limit unsent mails, failed ones first, then by due time.
func Pending(ctx context.Context, db *pgxpool.Pool, limit int) ([]Entry, Counts, error) {
	var c Counts
	if err := db.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL),
		       count(*) FILTER (WHERE failed_at IS NOT NULL AND sent_at IS NULL),
		       count(*) FILTER (WHERE sent_at > now() - interval '1 day')
		FROM mail_outbox`).Scan(&c.Queued, &c.Failed, &c.SentLastDay); err != nil {
		return nil, c, err
	}
	rows, err := db.Query(ctx, `
		SELECT id, template, recipient, created_at, attempts, next_attempt_at, coalesce(last_error, ''), failed_at
		FROM mail_outbox WHERE sent_at IS NULL
		ORDER BY failed_at IS NULL, next_attempt_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, c, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := r.Scan(&e.ID, &e.Template, &e.Recipient, &e.CreatedAt, &e.Attempts, &e.NextAttempt, &e.LastError, &e.FailedAt)
		return e, err
	})
	return list, c, err
}

// Retry queues an unsent mail again at once (a failed one with fresh attempts). It reports
// whether there was such a mail.
func Retry(ctx context.Context, db *pgxpool.Pool, id int64) (bool, error) {
	tag, err := db.Exec(ctx, `
		UPDATE mail_outbox SET failed_at = NULL, next_attempt_at = now(), locked_until = NULL,
		       attempts = CASE WHEN failed_at IS NULL THEN attempts ELSE 0 END
		WHERE id = $1 AND sent_at IS NULL`, id)
	return tag.RowsAffected() == 1, err
}
