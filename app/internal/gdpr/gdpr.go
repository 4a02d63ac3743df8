// Package gdpr implements the data-subject rights of Slotbook's customers (GDPR Art. 15, 17 and
// 20) and the retention of their data (Art. 5(1)(e)): see docs/data-protection.md.
//
//   - Export: everything stored about a customer, found by e-mail address, as JSON or as a zip
//     of CSV files (one per table): their bookings, the mails addressed to them or about their
//     bookings, their erasure requests and the audit entries of their bookings.
//   - Erase: removes a customer's personal data. Booking rows stay (times, service, staff
//     member, status, language) with the name, e-mail address and phone number emptied and the
//     manage token forgotten, so calendars, statistics and the audit log (which names bookings
//     by id only) stay consistent; confirmed future bookings are cancelled first, since nobody
//     could be reached about them; mails addressed to the customer are deleted.
//   - Retention: Run anonymises the bookings whose appointment ended more than the business's
//     retention period ago, and deletes mails older than that. Start runs it every hour in
//     serve; a PostgreSQL advisory lock makes sure only one replica acts at a time.
//   - Self-erasure: a customer asks from the manage page (RequestErasure); a single-use link by
//     e-mail (template "erasure_confirm") confirms it (ConfirmErasure).
//
// Every change is audited ("customer.export", "customer.erase", "customer.erasure_request",
// "retention.run") with counts and booking ids, never with names or addresses.
package gdpr

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/audit"
)

// DefaultErasureLinkTTL is how long a self-erasure confirmation link works.
const DefaultErasureLinkTTL = 24 * time.Hour

// ErasureTemplate is the mail_outbox template of the self-erasure confirmation. Its data:
// {"link": the confirmation URL, "business": the business's name, "expires_at": RFC 3339}.
const ErasureTemplate = "erasure_confirm"

var (
	// ErrNotFound: no (unerased) booking for this manage token.
	ErrNotFound = errors.New("gdpr: booking not found")
	// ErrSelfErasureOff: the business does not let customers erase their data themselves.
	ErrSelfErasureOff = errors.New("gdpr: self-erasure is switched off")
	// ErrLinkInvalid: the confirmation link is unknown, used or expired.
	ErrLinkInvalid = errors.New("gdpr: the link is invalid, used or expired")
	// ErrNoEmail: an empty or implausible e-mail address was asked for.
	ErrNoEmail = errors.New("gdpr: enter an e-mail address")
)

// Options configure a Service.
type Options struct {
	// BaseURL is the public address of the app, for confirmation links ("" = relative links).
	BaseURL string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ErasureLinkTTL is how long a confirmation link works (default DefaultErasureLinkTTL).
	ErasureLinkTTL time.Duration
	Logger         *slog.Logger
}

// Service exports and erases customers' data and enforces retention. It is safe for concurrent
// use.
type Service struct {
	db      *pgxpool.Pool
	baseURL string
	now     func() time.Time
	linkTTL time.Duration
	log     *slog.Logger
}

// New returns a Service on the database pool.
func New(db *pgxpool.Pool, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ErasureLinkTTL <= 0 {
		o.ErasureLinkTTL = DefaultErasureLinkTTL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Service{db: db, baseURL: strings.TrimRight(o.BaseURL, "/"), now: o.Now, linkTTL: o.ErasureLinkTTL, log: o.Logger}
}

// NormaliseEmail is how addresses are compared: trimmed, NFC, lower case (as accounts do).
func NormaliseEmail(email string) string { return account.NormaliseEmail(email) }

// plausible reports whether a normalised address is worth looking for.
func plausible(email string) bool {
	at := strings.LastIndexByte(email, '@')
	return len(email) >= 3 && len(email) <= 254 && at > 0 && at < len(email)-1
}

// customerBookings returns the ids of the bookings, not yet erased, whose e-mail address
// normalises to email, in id order (locked FOR UPDATE with lock). PostgreSQL's lower() only
// folds ASCII reliably, so addresses with other characters are compared in Go.
func customerBookings(ctx context.Context, tx pgx.Tx, email string, lock bool) ([]int64, error) {
	q := `SELECT id, customer_email FROM bookings
		WHERE erased_at IS NULL
		  AND (lower(btrim(customer_email)) = $1 OR octet_length(customer_email) <> char_length(customer_email))
		ORDER BY id`
	if lock {
		q += ` FOR UPDATE`
	}
	return matchIDs(ctx, tx, q, email)
}

// customerMails returns the ids of the mail_outbox rows addressed to email or (bookingIDs)
// about one of the customer's bookings.
func customerMails(ctx context.Context, tx pgx.Tx, email string, bookingIDs []int64) ([]int64, error) {
	ids, err := matchIDs(ctx, tx, `SELECT id, recipient FROM mail_outbox
		WHERE lower(btrim(recipient)) = $1 OR octet_length(recipient) <> char_length(recipient)
		ORDER BY id`, email)
	if err != nil || len(bookingIDs) == 0 {
		return ids, err
	}
	rows, err := tx.Query(ctx, `SELECT id FROM mail_outbox WHERE booking_id = ANY($1) ORDER BY id`, bookingIDs)
	if err != nil {
		return nil, err
	}
	more, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	return mergeIDs(ids, more), nil
}

// mailsToErase are the customer's mails an erasure deletes: those addressed to them. Mails of a
// user account with the same address (invitations, password resets: rows without a booking and
// of another template than the erasure confirmation) stay, since they are not about the
// customer's bookings. Staff members' mails about the bookings hold only ids and times and stay.
func mailsToErase(ctx context.Context, tx pgx.Tx, email string) ([]int64, error) {
	ids, err := matchIDs(ctx, tx, `SELECT id, recipient FROM mail_outbox m
		WHERE (lower(btrim(recipient)) = $1 OR octet_length(recipient) <> char_length(recipient))
		  AND NOT (booking_id IS NULL AND template <> '`+ErasureTemplate+`'
		           AND EXISTS (SELECT 1 FROM users u WHERE u.email = lower(m.recipient)))
		ORDER BY id`, email)
	return ids, err
}

// matchIDs runs q ($1 = email; columns id and address) and keeps the rows whose address
// normalises to email.
func matchIDs(ctx context.Context, tx pgx.Tx, q, email string) ([]int64, error) {
	rows, err := tx.Query(ctx, q, email)
	if err != nil {
		return nil, err
	}
	var ids []int64
	var id int64
	var addr string
	_, err = pgx.ForEachRow(rows, []any{&id, &addr}, func() error {
		if NormaliseEmail(addr) == email {
			ids = append(ids, id)
		}
		return nil
	})
	return ids, err
}

func mergeIDs(a, b []int64) []int64 {
	seen := map[int64]bool{}
	var out []int64
	for _, id := range append(a, b...) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// appendAudit appends e with the context's actor (or system) in tx.
func appendAudit(ctx context.Context, tx pgx.Tx, e audit.Entry) error {
	if e.Actor == "" {
		e.Actor = audit.ActorOr(ctx, audit.ActorSystem)
	}
	return audit.Append(ctx, tx, e)
}
