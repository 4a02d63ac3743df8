package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// WorkingHours returns one staff member's weekly hours (an empty map if they have none; no check
// that the staff member exists).
func (s *Store) WorkingHours(ctx context.Context, staffID int64) (schedule.WeeklyHours, error) {
	m, err := s.WorkingHoursFor(ctx, []int64{staffID})
	if err != nil {
		return nil, err
	}
	return m[staffID], nil
}

// WorkingHoursFor returns the weekly hours of several staff members, by staff id. Every requested
// id has an entry (an empty map if they have no hours); each day's intervals are sorted.
func (s *Store) WorkingHoursFor(ctx context.Context, staffIDs []int64) (map[int64]schedule.WeeklyHours, error) {
	out := make(map[int64]schedule.WeeklyHours, len(staffIDs))
	for _, id := range staffIDs {
		out[id] = schedule.WeeklyHours{}
	}
	rows, err := s.db.Query(ctx, `
		SELECT `+hoursColumns+`
		FROM working_hours
		WHERE staff_id = ANY($1)
		ORDER BY staff_id, weekday, start_minute`, staffIDs)
	if err != nil {
		return nil, err
	}
	return out, collectHours(rows, out)
}

const hoursColumns = `staff_id, weekday, start_minute, end_minute`

// collectHours adds the rows (hoursColumns, ordered by staff, weekday and start) to out, adding
// an entry for a staff member who has none yet, and closes rows.
func collectHours(rows pgx.Rows, out map[int64]schedule.WeeklyHours) error {
	defer rows.Close()
	for rows.Next() {
		var staffID int64
		var weekday, start, end int
		if err := rows.Scan(&staffID, &weekday, &start, &end); err != nil {
			return err
		}
		wd := time.Weekday(weekday)
		if out[staffID] == nil {
			out[staffID] = schedule.WeeklyHours{}
		}
		out[staffID][wd] = append(out[staffID][wd], schedule.Interval{Start: schedule.Clock(start), End: schedule.Clock(end)})
	}
	return rows.Err()
}

// HoursField is the validation field name of a weekday's hours: "hours.monday" etc.
func HoursField(d time.Weekday) string { return "hours." + strings.ToLower(d.String()) }

// ValidateHours checks weekly hours: every interval within the day with start < end, and no two
// intervals of a day overlapping (touching is fine). Errors are reported per day (HoursField).
func ValidateHours(h schedule.WeeklyHours) validation.Errors {
	var errs validation.Errors
	for d := time.Sunday; d <= time.Saturday; d++ {
		ivs := slices.Clone(h[d])
		slices.SortFunc(ivs, func(a, b schedule.Interval) int { return int(a.Start - b.Start) })
		for i, iv := range ivs {
			if iv.Start < 0 || iv.End > 24*60 || iv.Start >= iv.End {
				errs.Add(HoursField(d), "invalid_interval",
					fmt.Sprintf("%s–%s is not a valid interval: it must start before it ends, within the day.", iv.Start, iv.End),
					map[string]any{"start": iv.Start.String(), "end": iv.End.String()})
				break
			}
			if i > 0 && ivs[i-1].End > iv.Start {
				errs.Add(HoursField(d), "overlap",
					fmt.Sprintf("%s–%s overlaps %s–%s.", ivs[i-1].Start, ivs[i-1].End, iv.Start, iv.End), nil)
				break
			}
		}
	}
	for d := range h {
		if d < time.Sunday || d > time.Saturday {
			errs.Add("hours", "invalid_weekday", "Unknown weekday.", nil)
			break
		}
	}
	return errs
}

// SetWorkingHours replaces a staff member's weekly hours in one transaction. Invalid hours give
// validation.Errors (see ValidateHours); an unknown staff member gives ErrNotFound.
func (s *Store) SetWorkingHours(ctx context.Context, staffID int64, h schedule.WeeklyHours) error {
	if err := ValidateHours(h).Err(); err != nil {
		return err
	}
	var weekdays, starts, ends []int32
	for d, ivs := range h {
		for _, iv := range ivs {
			weekdays = append(weekdays, int32(d))
			starts = append(starts, int32(iv.Start))
			ends = append(ends, int32(iv.End))
		}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Lock the staff row: concurrent replacements of the same person's hours run one after
		// the other, and a missing person is noticed.
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM staff WHERE id = $1 FOR NO KEY UPDATE`, staffID).Scan(&one); err != nil {
			return notFound(err)
		}
		old := map[int64]schedule.WeeklyHours{staffID: {}}
		rows, err := tx.Query(ctx, `SELECT `+hoursColumns+` FROM working_hours WHERE staff_id = $1
			ORDER BY staff_id, weekday, start_minute`, staffID)
		if err != nil {
			return err
		}
		if err := collectHours(rows, old); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM working_hours WHERE staff_id = $1`, staffID); err != nil {
			return err
		}
		if len(weekdays) > 0 {
			if _, err := tx.Exec(ctx, `
				INSERT INTO working_hours (staff_id, weekday, start_minute, end_minute)
				SELECT $1, w, s, e FROM unnest($2::smallint[], $3::int[], $4::int[]) AS t(w, s, e)`,
				staffID, weekdays, starts, ends); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, audit.Entry{Action: "hours.update", ObjectType: "staff", ObjectID: itoa(staffID),
			Diff: hoursDiff(old[staffID], h)})
	})
}
