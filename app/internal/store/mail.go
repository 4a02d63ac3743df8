package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// MailSettings are the business's mail settings (table mail_settings, migration 00006): up to two
// reminders before an appointment (0 = off) and the contact customers are pointed to once the
// change deadline has passed.
type MailSettings struct {
	Reminder1    time.Duration
	Reminder2    time.Duration
	ContactEmail string
	ContactPhone string
}

// MaxReminder is the longest reminder lead time (30 days; the column's CHECK).
const MaxReminder = 30 * 24 * time.Hour

const mailSettingsSQL = `SELECT reminder_1_minutes, reminder_2_minutes, contact_email, contact_phone FROM mail_settings`

func scanMailSettings(row pgx.Row) (MailSettings, error) {
	var m MailSettings
	var r1, r2 int
	if err := row.Scan(&r1, &r2, &m.ContactEmail, &m.ContactPhone); err != nil {
		return MailSettings{}, notFound(err)
	}
	m.Reminder1, m.Reminder2 = time.Duration(r1)*time.Minute, time.Duration(r2)*time.Minute
	return m, nil
}

// MailSettings loads the mail settings (one row, created by the migration).
func (s *Store) MailSettings(ctx context.Context) (MailSettings, error) {
	return scanMailSettings(s.db.QueryRow(ctx, mailSettingsSQL))
}

// ValidateMailSettings checks mail settings before they are saved. Field names: reminder1,
// reminder2, contactEmail, contactPhone.
func ValidateMailSettings(m MailSettings) validation.Errors {
	var errs validation.Errors
	for field, d := range map[string]time.Duration{"reminder1": m.Reminder1, "reminder2": m.Reminder2} {
		if d < 0 || d > MaxReminder || d%time.Minute != 0 {
			errs.Add(field, "range", "Must be between 0 and 720 hours.", map[string]any{"min": 0, "max": 720})
		}
	}
	if len(m.ContactEmail) > 254 {
		errs.Add("contactEmail", "too_long", "is too long", map[string]any{"max": 254})
	}
	if len(m.ContactPhone) > 40 {
		errs.Add("contactPhone", "too_long", "is too long", map[string]any{"max": 40})
	}
	return errs
}

// UpdateMailSettings replaces the mail settings, audited as mail_settings.update (the reminder
// minutes; the contact only as "changed").
func (s *Store) UpdateMailSettings(ctx context.Context, m MailSettings) error {
	if err := ValidateMailSettings(m).Err(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := scanMailSettings(tx.QueryRow(ctx, mailSettingsSQL+` FOR UPDATE`))
		if err != nil {
			return err
		}
		r1, r2 := int(m.Reminder1/time.Minute), int(m.Reminder2/time.Minute)
		if _, err := tx.Exec(ctx, `
			UPDATE mail_settings SET reminder_1_minutes = $1, reminder_2_minutes = $2, contact_email = $3,
			       contact_phone = $4, updated_at = now()`, r1, r2, m.ContactEmail, m.ContactPhone); err != nil {
			return err
		}
		d := audit.Diff{}.Change("reminder_1_minutes", int(old.Reminder1/time.Minute), r1).
			Change("reminder_2_minutes", int(old.Reminder2/time.Minute), r2).
			ChangePersonal("contact_email", old.ContactEmail, m.ContactEmail).
			ChangePersonal("contact_phone", old.ContactPhone, m.ContactPhone)
		if len(d) == 0 {
			return nil
		}
		return appendAudit(ctx, tx, audit.Entry{Action: "mail_settings.update", ObjectType: "settings", Diff: d})
	})
}

// ---- staff calendar feeds ----

// feedTokenHash is what staff_feed_tokens stores of a token.
func feedTokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// StaffFeed reports when the staff member's live calendar feed token was created (nil: none).
func (s *Store) StaffFeed(ctx context.Context, staffID int64) (*time.Time, error) {
	var created time.Time
	err := s.db.QueryRow(ctx, `SELECT created_at FROM staff_feed_tokens WHERE staff_id = $1`, staffID).Scan(&created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &created, nil
}

// CreateStaffFeed makes a new calendar feed token for a staff member (256 random bits,
// base64url) and returns it; only its SHA-256 is stored, so it can be shown once. An existing
// token is replaced (it stops working). Audited as feed.create (staff/ID; "replaced": whether
// there was one). ErrNotFound for an unknown staff member.
func (s *Store) CreateStaffFeed(ctx context.Context, staffID int64) (string, error) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	token := base64.RawURLEncoding.EncodeToString(b[:])
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var exists, replaced bool
		if err := tx.QueryRow(ctx, `SELECT true FROM staff WHERE id = $1 FOR KEY SHARE`, staffID).Scan(&exists); err != nil {
			return notFound(err)
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM staff_feed_tokens WHERE staff_id = $1)`, staffID).Scan(&replaced); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO staff_feed_tokens (staff_id, token_hash) VALUES ($1, $2)
			ON CONFLICT (staff_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now()`,
			staffID, feedTokenHash(token)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit.Entry{Action: "feed.create", ObjectType: "staff", ObjectID: itoa(staffID),
			Diff: audit.Diff{}.Set("replaced", replaced)})
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// RevokeStaffFeed deletes the staff member's feed token (the URL answers 404 from then on). It
// reports whether there was one; audited as feed.revoke (staff/ID) if so.
func (s *Store) RevokeStaffFeed(ctx context.Context, staffID int64) (bool, error) {
	revoked := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM staff_feed_tokens WHERE staff_id = $1`, staffID)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		revoked = true
		return appendAudit(ctx, tx, audit.Entry{Action: "feed.revoke", ObjectType: "staff", ObjectID: itoa(staffID)})
	})
	return revoked, err
}

// StaffFeedByToken is the staff member whose live feed token this is; ErrNotFound for an unknown
// or revoked one.
func (s *Store) StaffFeedByToken(ctx context.Context, token string) (int64, error) {
	if token == "" || len(token) > 100 {
		return 0, ErrNotFound
	}
	var id int64
	err := s.db.QueryRow(ctx, `SELECT staff_id FROM staff_feed_tokens WHERE token_hash = $1`, feedTokenHash(token)).Scan(&id)
	return id, notFound(err)
}

// FeedEvent is one appointment of a staff member's calendar feed.
type FeedEvent struct {
	BookingID  int64
	Sequence   int
	Start, End time.Time
	Service    string
	// Customer is the customer's name as entered; the feed shows only its first word.
	Customer string
}

// StaffFeedEvents lists the confirmed bookings of a staff member starting in [from, to), by start.
func (s *Store) StaffFeedEvents(ctx context.Context, staffID int64, from, to time.Time) ([]FeedEvent, error) {
	rows, err := s.db.Query(ctx, `
		SELECT b.id, b.sequence, b.start_at, b.end_at, coalesce(sv.name, ''), b.customer_name
		FROM bookings b LEFT JOIN services sv ON sv.id = b.service_id
		WHERE b.staff_id = $1 AND b.status = 'confirmed' AND b.start_at >= $2 AND b.start_at < $3
		ORDER BY b.start_at, b.id`, staffID, from, to)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (FeedEvent, error) {
		var e FeedEvent
		err := r.Scan(&e.BookingID, &e.Sequence, &e.Start, &e.End, &e.Service, &e.Customer)
		return e, err
	})
}
