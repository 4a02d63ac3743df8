package gdpr

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
)

// Erasure says what an erasure did.
type Erasure struct {
	// BookingIDs are the bookings whose personal data was erased.
	BookingIDs []int64
	// Cancelled are those of them that were confirmed and in the future, and were cancelled.
	Cancelled []int64
	// MailsDeleted is how many mail_outbox rows addressed to the customer were deleted.
	MailsDeleted int
}

// Erase removes the personal data of the customer with this e-mail address (GDPR Art. 17): their
// confirmed future bookings are cancelled (the staff member is told as usual, the customer is
// not: their address is gone), then every booking of theirs keeps its times, service, staff
// member, status and language but loses name, e-mail address, phone number and manage token
// (the manage link stops working); mails addressed to them are deleted, pending self-erasure
// links are used up. One transaction, audited as "customer.erase" (the booking ids and counts)
// plus a "booking.cancel" entry per cancelled booking. ErrNoEmail for an implausible address;
// erasing someone with nothing stored is not an error (and still audited).
func (s *Service) Erase(ctx context.Context, email string) (Erasure, error) {
	email = NormaliseEmail(email)
	if !plausible(email) {
		return Erasure{}, ErrNoEmail
	}
	var res Erasure
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) (err error) {
		res, err = s.erase(ctx, tx, email, "admin")
		return err
	})
	return res, err
}

// erase does the work of Erase in tx; by says who asked ("admin", "customer").
func (s *Service) erase(ctx context.Context, tx pgx.Tx, email, by string) (Erasure, error) {
	now := s.now().UTC().Truncate(time.Microsecond)
	ids, err := customerBookings(ctx, tx, email, true)
	if err != nil {
		return Erasure{}, err
	}
	res := Erasure{BookingIDs: ids}
	if res.BookingIDs == nil {
		res.BookingIDs = []int64{}
	}
	// Cancel first, while the address is still there: the mail trigger of migration 00006 queues
	// the usual cancellation mails (the customer's is deleted below with the others).
	rows, err := tx.Query(ctx, `
		UPDATE bookings SET status = 'cancelled', cancelled_at = $2, updated_at = $2
		WHERE id = ANY($1) AND status = 'confirmed' AND start_at > $2
		RETURNING id`, ids, now)
	if err != nil {
		return Erasure{}, err
	}
	if res.Cancelled, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return Erasure{}, err
	}
	mails, err := mailsToErase(ctx, tx, email)
	if err != nil {
		return Erasure{}, err
	}
	if err := anonymise(ctx, tx, ids, now); err != nil {
		return Erasure{}, err
	}
	tag, err := tx.Exec(ctx, `DELETE FROM mail_outbox WHERE id = ANY($1)`, mails)
	if err != nil {
		return Erasure{}, err
	}
	res.MailsDeleted = int(tag.RowsAffected())
	if _, err := tx.Exec(ctx, `UPDATE erasure_requests SET used_at = $2 WHERE booking_id = ANY($1) AND used_at IS NULL`,
		ids, now); err != nil {
		return Erasure{}, err
	}
	for _, id := range res.Cancelled {
		if err := appendAudit(ctx, tx, audit.Entry{Action: "booking.cancel", ObjectType: "booking",
			ObjectID: strconv.FormatInt(id, 10), At: now,
			Diff: audit.Diff{}.Change("status", "confirmed", "cancelled").Set("reason", "erasure")}); err != nil {
			return Erasure{}, err
		}
	}
	cancelled := res.Cancelled
	if cancelled == nil {
		cancelled = []int64{}
	}
	return res, appendAudit(ctx, tx, audit.Entry{Action: "customer.erase", ObjectType: "customer", At: now,
		Diff: audit.Diff{}.Set("by", by).Set("booking_ids", res.BookingIDs).Set("cancelled_ids", cancelled).
			Set("bookings", len(res.BookingIDs)).Set("mails_deleted", res.MailsDeleted)})
}

// anonymiseSQL empties the personal data of bookings ($1) as of $2. manage_token_sealed is the
// manage token for mails (migration 00006).
const anonymiseSQL = `
	UPDATE bookings
	SET customer_name = '', customer_email = '', customer_phone = '', manage_token_hash = NULL,
	    manage_token_sealed = NULL, erased_at = $2, updated_at = $2
	WHERE id = ANY($1) AND erased_at IS NULL`

func anonymise(ctx context.Context, tx pgx.Tx, ids []int64, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, anonymiseSQL, ids, now)
	return err
}
