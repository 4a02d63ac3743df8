package store

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/validation"
)

const settingsSQL = `
	SELECT name, time_zone, min_notice_minutes, max_advance_days, slot_interval_minutes,
	       change_deadline_minutes
	FROM business_settings`

func scanSettings(row pgx.Row) (business.Settings, error) {
	var set business.Settings
	var notice, advanceDays, interval, deadline int
	if err := row.Scan(&set.Name, &set.TimeZone, &notice, &advanceDays, &interval, &deadline); err != nil {
		return business.Settings{}, err
	}
	set.MinNotice = time.Duration(notice) * time.Minute
	set.MaxAdvance = time.Duration(advanceDays) * 24 * time.Hour
	set.SlotInterval = time.Duration(interval) * time.Minute
	set.ChangeDeadline = time.Duration(deadline) * time.Minute
	return set, nil
}

// Settings loads the business settings (there is always exactly one row: the first migration
// creates a neutral default).
func (s *Store) Settings(ctx context.Context) (business.Settings, error) {
	set, err := scanSettings(s.db.QueryRow(ctx, settingsSQL))
	return set, notFound(err)
}

// ValidateSettings checks settings before they are saved. Field names: name, timeZone,
// minNotice, maxAdvance, slotInterval, changeDeadline.
func ValidateSettings(set business.Settings) validation.Errors {
	var errs validation.Errors
	checkName(&errs, "name", set.Name)
	if set.TimeZone == "" {
		errs.Add("timeZone", "required", "Choose a time zone.", nil)
	} else if _, err := time.LoadLocation(set.TimeZone); err != nil || set.TimeZone == "Local" {
		errs.Add("timeZone", "invalid", "This is not a known time zone (e.g. Europe/Berlin).", nil)
	}
	checkMinutes(&errs, "minNotice", set.MinNotice, 0, 365*24*60)
	if set.MaxAdvance%(24*time.Hour) != 0 || set.MaxAdvance < 24*time.Hour || set.MaxAdvance > 1096*24*time.Hour {
		errs.Add("maxAdvance", "range", "Must be a whole number of days between 1 and 1096.",
			map[string]any{"min": 1, "max": 1096})
	}
	checkMinutes(&errs, "slotInterval", set.SlotInterval, 1, 1440)
	checkMinutes(&errs, "changeDeadline", set.ChangeDeadline, 0, 365*24*60)
	return errs
}

// DefaultBusinessName is the business's name until someone names it (migration 00001).
const DefaultBusinessName = "My business"

// NameBusiness gives a new business its name: it sets the name if the business still has
// DefaultBusinessName and reports whether it did, so a name chosen in the settings is never
// overridden. An invalid name gives validation.Errors (field name).
func (s *Store) NameBusiness(ctx context.Context, name string) (bool, error) {
	set, err := s.Settings(ctx)
	if err != nil || set.Name != DefaultBusinessName {
		return false, err
	}
	set.Name = strings.TrimSpace(name)
	if err := s.UpdateSettings(ctx, set); err != nil {
		return false, err
	}
	return true, nil
}

// UpdateSettings replaces the business settings. Invalid settings give validation.Errors (see
// ValidateSettings).
func (s *Store) UpdateSettings(ctx context.Context, set business.Settings) error {
	if err := ValidateSettings(set).Err(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := scanSettings(tx.QueryRow(ctx, settingsSQL+` FOR UPDATE`))
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE business_settings
			SET name = $1, time_zone = $2, min_notice_minutes = $3, max_advance_days = $4,
			    slot_interval_minutes = $5, change_deadline_minutes = $6, updated_at = now()`,
			set.Name, set.TimeZone, int(set.MinNotice/time.Minute), int(set.MaxAdvance/(24*time.Hour)),
			int(set.SlotInterval/time.Minute), int(set.ChangeDeadline/time.Minute)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit.Entry{Action: "settings.update", ObjectType: "settings",
			Diff: audit.Diff{}.Change("name", old.Name, set.Name).Change("time_zone", old.TimeZone, set.TimeZone).
				Change("min_notice_minutes", int(old.MinNotice/time.Minute), int(set.MinNotice/time.Minute)).
				Change("max_advance_days", int(old.MaxAdvance/(24*time.Hour)), int(set.MaxAdvance/(24*time.Hour))).
				Change("slot_interval_minutes", int(old.SlotInterval/time.Minute), int(set.SlotInterval/time.Minute)).
				Change("change_deadline_minutes", int(old.ChangeDeadline/time.Minute), int(set.ChangeDeadline/time.Minute))})
	})
}
