package store

import (
	"context"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// The data-protection settings live in the business_settings row (migration 00007) but are read
// and written apart from the other settings, by their own form: the booking rules and the
// privacy rules change for different reasons (and an old caller of UpdateSettings cannot reset
// them by leaving them out).

const privacySQL = `
	SELECT retention_months, privacy_notice_url, privacy_notice_version, self_erasure_enabled
	FROM business_settings`

func scanPrivacy(row pgx.Row) (business.Privacy, error) {
	var p business.Privacy
	err := row.Scan(&p.RetentionMonths, &p.NoticeURL, &p.NoticeVersion, &p.SelfErasure)
	return p, err
}

// Privacy loads the data-protection settings.
func (s *Store) Privacy(ctx context.Context) (business.Privacy, error) {
	p, err := scanPrivacy(s.db.QueryRow(ctx, privacySQL))
	return p, notFound(err)
}

// ValidatePrivacy checks data-protection settings before they are saved. Field names:
// retentionMonths (range), privacyNoticeUrl (invalid_url, too_long), privacyNoticeVersion
// (required with a URL, too_long, invalid).
func ValidatePrivacy(p business.Privacy) validation.Errors {
	var errs validation.Errors
	if p.RetentionMonths < business.MinRetentionMonths || p.RetentionMonths > business.MaxRetentionMonths {
		errs.Add("retentionMonths", "range", "Must be a whole number of months in the allowed range.",
			map[string]any{"min": business.MinRetentionMonths, "max": business.MaxRetentionMonths})
	}
	if p.NoticeURL != "" {
		u, err := url.Parse(p.NoticeURL)
		switch {
		case len(p.NoticeURL) > 2000:
			errs.Add("privacyNoticeUrl", "too_long", "Must be at most 2000 characters.", map[string]any{"max": 2000})
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			strings.ContainsAny(p.NoticeURL, " \t\r\n"):
			errs.Add("privacyNoticeUrl", "invalid_url", "Enter a full web address starting with https://.", nil)
		}
		if p.NoticeVersion == "" {
			errs.Add("privacyNoticeVersion", "required", "Enter the version of the privacy notice (e.g. its date).", nil)
		}
	}
	switch {
	case len(p.NoticeVersion) > 100:
		errs.Add("privacyNoticeVersion", "too_long", "Must be at most 100 characters.", map[string]any{"max": 100})
	case strings.IndexFunc(p.NoticeVersion, func(r rune) bool { return r < ' ' || r > '~' }) >= 0:
		errs.Add("privacyNoticeVersion", "invalid", "Use letters, digits and punctuation (ASCII) only.", nil)
	}
	return errs
}

// UpdatePrivacy replaces the data-protection settings (audited as "settings.update" with the
// object id "privacy"). Invalid settings give
// validation.Errors (see ValidatePrivacy).
func (s *Store) UpdatePrivacy(ctx context.Context, p business.Privacy) error {
	p.NoticeURL = strings.TrimSpace(p.NoticeURL)
	p.NoticeVersion = strings.TrimSpace(p.NoticeVersion)
	if err := ValidatePrivacy(p).Err(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := scanPrivacy(tx.QueryRow(ctx, privacySQL+` FOR UPDATE`))
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE business_settings
			SET retention_months = $1, privacy_notice_url = $2, privacy_notice_version = $3,
			    self_erasure_enabled = $4, updated_at = now()`,
			p.RetentionMonths, p.NoticeURL, p.NoticeVersion, p.SelfErasure); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit.Entry{Action: "settings.update", ObjectType: "settings", ObjectID: "privacy",
			Diff: audit.Diff{}.Change("retention_months", old.RetentionMonths, p.RetentionMonths).
				Change("privacy_notice_url", old.NoticeURL, p.NoticeURL).
				Change("privacy_notice_version", old.NoticeVersion, p.NoticeVersion).
				Change("self_erasure_enabled", old.SelfErasure, p.SelfErasure)})
	})
}
