// Package outbox delivers the mails queued in the table mail_outbox: a worker in every `slotbook
// serve` replica claims due rows, renders them (package mail), sends them over SMTP and marks them
// sent; it also queues the reminders.
//
// # The queue
//
// Rows are written in the transaction of the change that causes them: the account service inserts
// its mails, the booking triggers (migration 00006) insert the booking mails within the booking's
// own statement. So a mail exists exactly when its change committed, and sending never blocks or
// rolls back a booking.
//
// A worker claims one due row at a time (sent_at and failed_at NULL, next_attempt_at passed, no
// live lease) with FOR UPDATE SKIP LOCKED, setting a lease (locked_until = now + Lease) and
// counting the attempt, and commits the claim at once: no transaction stays open while SMTP
// talks, and replicas never wait for each other or take the same row. After a successful send it
// sets sent_at and clears data (which can hold names and one-time links; the recipient stays for
// the admin's mail page). A failed send sets next_attempt_at with exponential backoff (Backoff,
// doubling, at most MaxBackoff) and last_error; after MaxAttempts attempts, or at once for a
// permanent refusal (5xx), failed_at is set and the admin sees it at /admin/mail, where "retry"
// queues it again.
//
// # Exactly once, as far as SMTP allows
//
// The row is marked sent after the server accepted the message (250 after DATA). A crash between
// the claim and the send leaves the row claimed until its lease ends; then another worker (or the
// restarted one) sends it: exactly once. A crash between the server's 250 and the mark (one round
// trip) sends it again after the lease: SMTP has no way to make delivery and our commit atomic,
// and marking before sending would lose mails instead. The duplicate carries the same Message-ID
// (<outbox-ID@host>), so mail programs can recognise it. A send never takes longer than Lease
// (each SMTP step times out; Lease is set well above), so a live worker never loses its lease.
//
// # Reminders
//
// ScheduleReminders inserts a booking_reminder row per confirmed booking whose reminder time
// (mail_settings: reminder_1_minutes, reminder_2_minutes before the start; 0 = off) has come,
// with the key reminder:<booking>:<n>:<sequence> in the unique column dedupe_key and ON CONFLICT
// DO NOTHING: however many replicas run it, each reminder is queued once; a moved booking (new
// sequence) gets a new one for its new time. A booking made or changed after its reminder time
// gets none (it was just confirmed). When sent, a reminder of a booking cancelled or moved
// meanwhile, or whose start has passed, is skipped (marked sent with last_error "skipped: …").
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/ics"
	"github.com/slotbook/slotbook/app/internal/mail"
)

// Defaults of Options.
const (
	DefaultLease       = 5 * time.Minute
	DefaultMaxAttempts = 10
	DefaultBackoff     = time.Minute
	DefaultMaxBackoff  = 6 * time.Hour
	DefaultPoll        = 5 * time.Second
)

// Options configure a Worker.
type Options struct {
	// Sender sends the mails; nil: no mail server configured, nothing is sent (mails stay queued,
	// reminders are still queued).
	Sender *mail.Sender
	// BaseURL is the public address (manage links, the booking page, the host of UIDs).
	BaseURL string
	// TokenKey opens the sealed manage tokens (the session key).
	TokenKey []byte
	// Lease, MaxAttempts, Backoff, MaxBackoff, Poll: see the package documentation.
	Lease       time.Duration
	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
	Poll        time.Duration
	Logger      *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// BeforeSend, if set, runs after a row was claimed and before it is sent; an error stops the
	// worker there as if it had crashed (tests).
	BeforeSend func(id int64) error
}

// Worker sends the queued mails. Several may run against one database.
type Worker struct {
	db   *pgxpool.Pool
	r    *mail.Renderer
	opts Options
	host string
}

// New returns a worker.
func New(db *pgxpool.Pool, opts Options) (*Worker, error) {
	r, err := mail.NewRenderer()
	if err != nil {
		return nil, err
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Sender != nil && opts.Lease < 4*opts.Sender.Timeout() {
		return nil, fmt.Errorf("outbox: the lease (%s) must be at least 4 SMTP timeouts (%s)", opts.Lease, opts.Sender.Timeout())
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	return &Worker{db: db, r: r, opts: opts, host: ics.HostOf(opts.BaseURL)}, nil
}

// Configured reports whether a mail server is configured.
func (w *Worker) Configured() bool { return w.opts.Sender != nil }

// Run queues reminders and sends due mails every Poll until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	t := time.NewTicker(w.opts.Poll)
	defer t.Stop()
	for {
		if _, err := w.ScheduleReminders(ctx); err != nil && ctx.Err() == nil {
			w.opts.Logger.Error("queueing reminders", "err", err)
		}
		if _, err := w.SendDue(ctx); err != nil && ctx.Err() == nil {
			w.opts.Logger.Error("sending mail", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// row is a claimed outbox row.
type row struct {
	ID        int64
	Template  string
	Recipient string
	Language  string
	Data      map[string]any
	Attempts  int
	BookingID *int64
}

const claimSQL = `
	UPDATE mail_outbox o
	SET locked_until = $1::timestamptz + $2::interval, attempts = o.attempts + 1
	FROM (SELECT id FROM mail_outbox
	      WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
	        AND (locked_until IS NULL OR locked_until <= $1)
	      ORDER BY next_attempt_at, id
	      LIMIT 1
	      FOR UPDATE SKIP LOCKED) due
	WHERE o.id = due.id
	RETURNING o.id, o.template, o.recipient, o.language, o.data, o.attempts, o.booking_id`

// claim takes the next due row, or nil.
func (w *Worker) claim(ctx context.Context) (*row, error) {
	var r row
	err := w.db.QueryRow(ctx, claimSQL, w.opts.Now(), w.opts.Lease).
		Scan(&r.ID, &r.Template, &r.Recipient, &r.Language, &r.Data, &r.Attempts, &r.BookingID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return &r, err
}

// ErrStopped is what SendDue returns when BeforeSend stopped it.
var ErrStopped = errors.New("outbox: stopped before sending")

// SendDue sends the mails that are due, one at a time over one SMTP connection, and returns how
// many were sent. Without a mail server it does nothing.
func (w *Worker) SendDue(ctx context.Context) (int, error) {
	if w.opts.Sender == nil {
		return 0, nil
	}
	var conn *mail.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	sent := 0
	for ctx.Err() == nil {
		r, err := w.claim(ctx)
		if err != nil || r == nil {
			return sent, err
		}
		if w.opts.BeforeSend != nil {
			if err := w.opts.BeforeSend(r.ID); err != nil {
				return sent, ErrStopped
			}
		}
		msg, skip, err := w.render(ctx, r)
		switch {
		case err != nil:
			w.fail(ctx, r, fmt.Errorf("rendering: %w", err), true)
			continue
		case skip != "":
			w.markSent(ctx, r, "skipped: "+skip)
			continue
		}
		m, err := w.opts.Sender.Build(msg, fmt.Sprintf("outbox-%d", r.ID))
		if err != nil {
			w.fail(ctx, r, err, true)
			continue
		}
		if conn == nil {
			if conn, err = w.opts.Sender.Dial(ctx); err != nil {
				conn = nil
				w.fail(ctx, r, fmt.Errorf("connecting to the mail server: %w", err), false)
				return sent, nil // the server is unreachable: the others wait for their next turn
			}
		}
		if err := conn.Send(m); err != nil {
			var perm *mail.PermanentError
			w.fail(ctx, r, err, errors.As(err, &perm))
			_ = conn.Close()
			conn = nil
			continue
		}
		w.markSent(ctx, r, "")
		sent++
	}
	return sent, ctx.Err()
}

// markSent records the delivery and clears the row's data. It runs even if ctx ended (the mail
// is out).
func (w *Worker) markSent(ctx context.Context, r *row, note string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var last *string
	if note != "" {
		last = &note
	}
	if _, err := w.db.Exec(ctx, `
		UPDATE mail_outbox SET sent_at = $2, data = '{}', locked_until = NULL, last_error = $3
		WHERE id = $1 AND sent_at IS NULL`, r.ID, w.opts.Now(), last); err != nil {
		w.opts.Logger.Error("marking a mail sent (it will be sent again after its lease)", "id", r.ID, "err", err)
	}
}

// Backoff is the wait after the n-th failed attempt (n ≥ 1).
func (w *Worker) backoff(n int) time.Duration {
	d := w.opts.Backoff
	for i := 1; i < n && d < w.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.opts.MaxBackoff)
}

func (w *Worker) fail(ctx context.Context, r *row, err error, permanent bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	now := w.opts.Now()
	var failed *time.Time
	if permanent || r.Attempts >= w.opts.MaxAttempts {
		failed = &now
	}
	w.opts.Logger.Warn("sending a mail failed", "id", r.ID, "template", r.Template, "attempt", r.Attempts,
		"given_up", failed != nil, "err", msg)
	if _, err := w.db.Exec(ctx, `
		UPDATE mail_outbox SET last_error = $2, next_attempt_at = $3, failed_at = $4, locked_until = NULL
		WHERE id = $1 AND sent_at IS NULL`, r.ID, msg, now.Add(w.backoff(r.Attempts)), failed); err != nil {
		w.opts.Logger.Error("recording a failed mail", "id", r.ID, "err", err)
	}
}

// ---- rendering ----

type businessInfo struct {
	name, tz                   string
	deadlineMin                int
	contactEmail, contactPhone string
}

func (w *Worker) business(ctx context.Context) (businessInfo, *time.Location, error) {
	var b businessInfo
	err := w.db.QueryRow(ctx, `
		SELECT s.name, s.time_zone, s.change_deadline_minutes, m.contact_email, m.contact_phone
		FROM business_settings s, mail_settings m`).Scan(&b.name, &b.tz, &b.deadlineMin, &b.contactEmail, &b.contactPhone)
	if err != nil {
		return b, nil, err
	}
	loc, err := time.LoadLocation(b.tz)
	if err != nil {
		loc = time.UTC
	}
	return b, loc, nil
}

// render composes a row's mail, or says why it is skipped.
func (w *Worker) render(ctx context.Context, r *row) (*mail.Message, string, error) {
	biz, loc, err := w.business(ctx)
	if err != nil {
		return nil, "", err
	}
	if !mail.IsBookingTemplate(r.Template) {
		if _, ok := r.Data["business"]; !ok {
			r.Data["business"] = biz.name
		}
		m, err := w.r.Account(r.Template, r.Recipient, r.Language, r.Data, loc)
		return m, "", err
	}
	var d struct {
		BookingID int64     `json:"booking_id"`
		Sequence  int       `json:"sequence"`
		Start     time.Time `json:"start"`
		End       time.Time `json:"end"`
		StaffID   int64     `json:"staff_id"`
		ServiceID int64     `json:"service_id"`
		Reminder  int       `json:"reminder"`
	}
	raw, _ := json.Marshal(r.Data)
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, "", err
	}
	var (
		customer, status, service, staff string
		sealed                           *string
		seq                              int
		start                            time.Time
	)
	err = w.db.QueryRow(ctx, `
		SELECT b.customer_name, b.manage_token_sealed, b.status, b.sequence, b.start_at,
		       (SELECT name FROM services WHERE id = $2), (SELECT name FROM staff WHERE id = $3)
		FROM bookings b WHERE b.id = $1`, d.BookingID, d.ServiceID, d.StaffID).
		Scan(&customer, &sealed, &status, &seq, &start, &service, &staff)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "the booking no longer exists", nil
	}
	if err != nil {
		return nil, "", err
	}
	now := w.opts.Now()
	if r.Template == "booking_reminder" {
		switch {
		case status != "confirmed":
			return nil, "the booking was cancelled", nil
		case seq != d.Sequence:
			return nil, "the booking was changed", nil
		case !start.After(now):
			return nil, "the appointment has begun", nil
		}
	}
	m := mail.BookingMail{
		Template: r.Template, To: r.Recipient, Lang: r.Language,
		BookingID: d.BookingID, Sequence: d.Sequence, Start: d.Start, End: d.End, Location: loc,
		Business: biz.name, Service: service, Staff: staff, Customer: customer,
		Deadline: d.Start.Add(-time.Duration(biz.deadlineMin) * time.Minute),
		BookURL:  w.opts.BaseURL + "/",
		Host:     w.host, Now: now,
	}
	if from := w.opts.Sender; from != nil {
		m.From = from.From().Address
	}
	switch {
	case biz.contactEmail != "" && biz.contactPhone != "":
		m.Contact = biz.contactEmail + ", " + biz.contactPhone
	default:
		m.Contact = biz.contactEmail + biz.contactPhone
	}
	if sealed != nil && w.opts.TokenKey != nil && !strings.HasPrefix(r.Template, "staff_") {
		if token, err := booking.OpenManageToken(w.opts.TokenKey, *sealed); err == nil {
			m.ManageURL = w.opts.BaseURL + "/manage/" + url.PathEscape(token)
		} else {
			w.opts.Logger.Warn("manage token cannot be opened (session key changed?): mail without link", "booking", d.BookingID)
		}
	}
	msg, err := w.r.Booking(m)
	return msg, "", err
}

// ---- reminders ----

const remindersSQL = `
	INSERT INTO mail_outbox (template, recipient, language, data, booking_id, dedupe_key, created_at, next_attempt_at)
	SELECT 'booking_reminder', b.customer_email, b.locale,
	       jsonb_build_object('booking_id', b.id, 'sequence', b.sequence, 'start', b.start_at, 'end', b.end_at,
	                          'staff_id', b.staff_id, 'service_id', b.service_id, 'reminder', r.n),
	       b.id, 'reminder:' || b.id || ':' || r.n || ':' || b.sequence, $1, $1
	FROM mail_settings s
	CROSS JOIN LATERAL (VALUES (1, s.reminder_1_minutes), (2, s.reminder_2_minutes)) AS r (n, minutes)
	JOIN bookings b ON b.status = 'confirmed' AND b.start_at > $1
	                AND b.start_at <= $1 + make_interval(mins => r.minutes)
	                AND b.updated_at <= b.start_at - make_interval(mins => r.minutes)
	WHERE r.minutes > 0
	ON CONFLICT (dedupe_key) DO NOTHING`

// ScheduleReminders queues the reminders that are due and returns how many it queued.
func (w *Worker) ScheduleReminders(ctx context.Context) (int64, error) {
	tag, err := w.db.Exec(ctx, remindersSQL, w.opts.Now())
	return tag.RowsAffected(), err
}
