package gdpr

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
)

// requestQuiet is how long after a request another one for the same booking sends no new mail
// (someone pressing the button repeatedly, or a script, does not flood the customer's inbox).
const requestQuiet = 10 * time.Minute

// SelfErasureAllowed reports whether the business lets customers erase their own data.
func (s *Service) SelfErasureAllowed(ctx context.Context) (bool, error) {
	var on bool
	err := s.db.QueryRow(ctx, `SELECT self_erasure_enabled FROM business_settings`).Scan(&on)
	return on, err
}

// ErasureURL is the confirmation link of a token.
func (s *Service) ErasureURL(token string) string {
	return s.baseURL + "/erase/" + url.PathEscape(token)
}

// RequestErasure starts a customer's self-erasure from the manage page of the booking with this
// manage token: it stores a single-use confirmation token (its SHA-256 only; valid for the
// link TTL) and queues the mail ErasureTemplate to the booking's address, in the booking's
// language, in one transaction, audited as "customer.erasure_request" by the customer of the
// booking. A second request within 10 minutes sends nothing new (and is not an error).
// ErrNotFound for an unknown or erased booking, ErrSelfErasureOff when the business switched it
// off.
func (s *Service) RequestErasure(ctx context.Context, manageToken string) error {
	if !validToken(manageToken) {
		return ErrNotFound
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var on bool
		var business string
		if err := tx.QueryRow(ctx, `SELECT self_erasure_enabled, name FROM business_settings`).Scan(&on, &business); err != nil {
			return err
		}
		if !on {
			return ErrSelfErasureOff
		}
		var id int64
		var email, locale string
		err := tx.QueryRow(ctx, `SELECT id, customer_email, locale FROM bookings
			WHERE manage_token_hash = $1 AND erased_at IS NULL FOR UPDATE`, hashToken(manageToken)).Scan(&id, &email, &locale)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var recent bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM erasure_requests
			WHERE booking_id = $1 AND used_at IS NULL AND created_at > $2)`, id, now.Add(-requestQuiet)).Scan(&recent); err != nil {
			return err
		}
		if recent {
			return nil
		}
		token, hash := newToken()
		expires := now.Add(s.linkTTL)
		if _, err := tx.Exec(ctx, `INSERT INTO erasure_requests (token_hash, booking_id, created_at, expires_at)
			VALUES ($1, $2, $3, $4)`, hash, id, now, expires); err != nil {
			return err
		}
		data, err := json.Marshal(map[string]string{"link": s.ErasureURL(token), "business": business,
			"expires_at": expires.Format(time.RFC3339)})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO mail_outbox (template, recipient, language, data, booking_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, ErasureTemplate, email, locale, data, id, now); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit.Entry{Actor: audit.CustomerOfBooking(id), Action: "customer.erasure_request",
			ObjectType: "booking", ObjectID: strconv.FormatInt(id, 10), At: now,
			Diff: audit.Diff{}.Set("expires_at", expires)})
	})
}

// CheckErasureLink reports whether a confirmation token is valid now (for the page that asks
// for the final confirmation): ErrLinkInvalid or ErrSelfErasureOff otherwise.
func (s *Service) CheckErasureLink(ctx context.Context, token string) error {
	if !validToken(token) {
		return ErrLinkInvalid
	}
	var on, ok bool
	err := s.db.QueryRow(ctx, `
		SELECT (SELECT self_erasure_enabled FROM business_settings),
		       EXISTS (SELECT 1 FROM erasure_requests WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2)`,
		hashToken(token), s.now()).Scan(&on, &ok)
	switch {
	case err != nil:
		return err
	case !on:
		return ErrSelfErasureOff
	case !ok:
		return ErrLinkInvalid
	}
	return nil
}

// ConfirmErasure uses a confirmation token: it erases everything stored under the e-mail
// address the booking it was requested from has now (all of that customer's bookings, see
// Erase), as that customer ("customer:booking:ID" in the audit log). The token works once, until
// it expires. ErrLinkInvalid for an unknown, used or expired token, ErrSelfErasureOff when the
// business switched self-erasure off meanwhile.
func (s *Service) ConfirmErasure(ctx context.Context, token string) (Erasure, error) {
	if !validToken(token) {
		return Erasure{}, ErrLinkInvalid
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var res Erasure
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var on bool
		if err := tx.QueryRow(ctx, `SELECT self_erasure_enabled FROM business_settings`).Scan(&on); err != nil {
			return err
		}
		var bookingID int64
		var expires time.Time
		var used *time.Time
		err := tx.QueryRow(ctx, `SELECT booking_id, expires_at, used_at FROM erasure_requests WHERE token_hash = $1 FOR UPDATE`,
			hashToken(token)).Scan(&bookingID, &expires, &used)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrLinkInvalid
		case err != nil:
			return err
		case used != nil || !now.Before(expires):
			return ErrLinkInvalid
		case !on:
			return ErrSelfErasureOff
		}
		if _, err := tx.Exec(ctx, `UPDATE erasure_requests SET used_at = $2 WHERE token_hash = $1`, hashToken(token), now); err != nil {
			return err
		}
		var email string
		if err := tx.QueryRow(ctx, `SELECT customer_email FROM bookings WHERE id = $1`, bookingID).Scan(&email); err != nil {
			return err
		}
		ctx := audit.WithActor(ctx, audit.CustomerOfBooking(bookingID))
		if email == "" { // erased meanwhile (by an admin or retention): nothing left
			res = Erasure{BookingIDs: []int64{}}
			return nil
		}
		res, err = s.erase(ctx, tx, NormaliseEmail(email), "customer")
		return err
	})
	return res, err
}

// Tokens: 32 random bytes, base64url (43 characters), stored as SHA-256; the same form as the
// manage tokens of package booking.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	token := base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func validToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(b) == 32
}
