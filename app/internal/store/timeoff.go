package store

import (
	"context"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// ListTimeOff returns the time off of the given staff members (all staff if staffIDs is nil)
// that overlaps [from, to] (inclusive dates; a zero Date leaves that end open), ordered by
// first day, staff id and id.
func (s *Store) ListTimeOff(ctx context.Context, staffIDs []int64, from, to schedule.Date) ([]schedule.TimeOff, error) {
	return collectTimeOff(s.db.Query(ctx, `
		SELECT `+timeOffColumns+`
		FROM time_off
		WHERE ($1::bigint[] IS NULL OR staff_id = ANY($1))
		  AND ($2::date IS NULL OR last_day >= $2)
		  AND ($3::date IS NULL OR first_day <= $3)
		ORDER BY first_day, staff_id, id`, staffIDs, dateParam(from), dateParam(to)))
}

const timeOffColumns = `id, staff_id, first_day, last_day, reason`

func collectTimeOff(rows pgx.Rows, err error) ([]schedule.TimeOff, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (schedule.TimeOff, error) {
		var t schedule.TimeOff
		var first, last time.Time
		err := r.Scan(&t.ID, &t.StaffID, &first, &last, &t.Reason)
		t.Range = schedule.DateRange{First: schedule.DateOf(first), Last: schedule.DateOf(last)}
		return t, err
	})
}

// ValidateTimeOff checks time off before it is saved. Field names: firstDay, lastDay, reason.
func ValidateTimeOff(t schedule.TimeOff) validation.Errors {
	var errs validation.Errors
	if t.Range.First == (schedule.Date{}) {
		errs.Add("firstDay", "required", "Enter the first day.", nil)
	}
	if t.Range.Last == (schedule.Date{}) {
		errs.Add("lastDay", "required", "Enter the last day.", nil)
	}
	if len(errs) == 0 && t.Range.Last.Before(t.Range.First) {
		errs.Add("lastDay", "before_first", "The last day cannot be before the first day.", nil)
	}
	if utf8.RuneCountInString(t.Reason) > 500 {
		errs.Add("reason", "too_long", "Must be at most 500 characters.", map[string]any{"max": 500})
	}
	return errs
}

// AddTimeOff records time off for t.StaffID and returns its id. ErrNotFound if the staff member
// does not exist; invalid input gives validation.Errors.
func (s *Store) AddTimeOff(ctx context.Context, t schedule.TimeOff) (int64, error) {
	if err := ValidateTimeOff(t).Err(); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO time_off (staff_id, first_day, last_day, reason)
			VALUES ($1, $2::date, $3::date, $4) RETURNING id`,
			t.StaffID, t.Range.First.String(), t.Range.Last.String(), t.Reason).Scan(&id)
		if err != nil {
			return err
		}
		// The reason is free text about a person (e.g. an illness): named, without its value.
		return appendAudit(ctx, tx, audit.Entry{Action: "timeoff.create", ObjectType: "time_off", ObjectID: itoa(id),
			Diff: audit.Diff{}.Set("staff_id", t.StaffID).Set("first_day", t.Range.First.String()).
				Set("last_day", t.Range.Last.String()).SetPersonal("reason", t.Reason)})
	})
	if code, _ := pgCode(err); code == codeForeignKeyViolation {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return id, nil
}

// DeleteTimeOff deletes one time-off entry, or gives ErrNotFound.
func (s *Store) DeleteTimeOff(ctx context.Context, id int64) error {
	return s.deleteByID(ctx, `DELETE FROM time_off WHERE id = $1 RETURNING staff_id, to_char(first_day, 'YYYY-MM-DD'), to_char(last_day, 'YYYY-MM-DD')`, id,
		func(row pgx.Row) (audit.Entry, error) {
			var staffID int64
			var first, last string
			err := row.Scan(&staffID, &first, &last)
			return audit.Entry{Action: "timeoff.delete", ObjectType: "time_off", ObjectID: itoa(id),
				Diff: audit.Diff{}.Set("staff_id", staffID).Set("first_day", first).Set("last_day", last)}, err
		})
}

// dateParam is a date as a query parameter: NULL for the zero Date.
func dateParam(d schedule.Date) *string {
	if d == (schedule.Date{}) {
		return nil
	}
	s := d.String()
	return &s
}
