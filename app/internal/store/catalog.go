package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

// Catalog is everything about the business that changes rarely — settings, services with their
// staff, staff, working hours and time off — as of one catalogue version, so that callers can
// cache it and check it with CatalogVersion (or CatalogVersionAndBusy) instead of reading it
// again. Every statement that changes one of these tables increments the version (triggers of
// migration 00003).
type Catalog struct {
	Version  int64
	Settings business.Settings
	// Privacy are the data-protection settings (the privacy notice bookings must accept).
	Privacy business.Privacy
	// Services are all services, active or not, in display order (sort_order, name, id); their
	// StaffIDs list everyone assigned, active or not, in the staff's stable order.
	Services []catalog.Service
	// Staff are all staff members, active or not, in the stable order (sort_order, id).
	Staff []schedule.Staff
	// Hours has an entry for every staff member (an empty map if they have no hours); each day's
	// intervals are sorted.
	Hours map[int64]schedule.WeeklyHours
	// TimeOff is all time off, ordered by first day, staff id and id.
	TimeOff []schedule.TimeOff
}

const catalogVersionSQL = `SELECT version FROM catalog_version`

// LoadCatalog reads the whole catalogue with its version from one snapshot (a read-only
// REPEATABLE READ transaction, its queries sent as one batch), so the version describes exactly
// the data returned.
func (s *Store) LoadCatalog(ctx context.Context) (Catalog, error) {
	var c Catalog
	err := s.snapshot(ctx, func(tx pgx.Tx) error {
		c = Catalog{Hours: map[int64]schedule.WeeklyHours{}}
		b := &pgx.Batch{}
		b.Queue(catalogVersionSQL).QueryRow(func(row pgx.Row) error { return row.Scan(&c.Version) })
		b.Queue(settingsSQL).QueryRow(func(row pgx.Row) (err error) {
			c.Settings, err = scanSettings(row)
			return notFound(err)
		})
		b.Queue(privacySQL).QueryRow(func(row pgx.Row) (err error) {
			c.Privacy, err = scanPrivacy(row)
			return notFound(err)
		})
		b.Queue(`SELECT ` + serviceColumns + ` FROM services s ORDER BY s.sort_order, s.name, s.id`).Query(
			func(rows pgx.Rows) (err error) {
				c.Services, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.Service, error) { return scanService(r) })
				return err
			})
		b.Queue(`SELECT ` + staffColumns + ` FROM staff ORDER BY sort_order, id`).Query(func(rows pgx.Rows) (err error) {
			c.Staff, err = collectStaff(rows, nil)
			for _, st := range c.Staff {
				c.Hours[st.ID] = schedule.WeeklyHours{}
			}
			return err
		})
		b.Queue(`SELECT ` + hoursColumns + ` FROM working_hours ORDER BY staff_id, weekday, start_minute`).Query(
			func(rows pgx.Rows) error { return collectHours(rows, c.Hours) })
		b.Queue(`SELECT ` + timeOffColumns + ` FROM time_off ORDER BY first_day, staff_id, id`).Query(
			func(rows pgx.Rows) (err error) {
				c.TimeOff, err = collectTimeOff(rows, nil)
				return err
			})
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return Catalog{}, fmt.Errorf("store: load catalogue: %w", err)
	}
	return c, nil
}

// snapshot runs fn in a read-only REPEATABLE READ transaction: all its queries see the same
// snapshot. Inside InTx it is a savepoint of that transaction instead.
func (s *Store) snapshot(ctx context.Context, fn func(pgx.Tx) error) error {
	if p, ok := s.db.(*pgxpool.Pool); ok {
		return pgx.BeginTxFunc(ctx, p, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
	}
	return pgx.BeginFunc(ctx, s.db, fn)
}

// CatalogVersion returns the current catalogue version (see Catalog).
func (s *Store) CatalogVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRow(ctx, catalogVersionSQL).Scan(&v)
	return v, err
}

// BusyQuery asks for the busy ranges of StaffIDs that overlap [From, To), leaving out the
// booking ExceptBookingID (0 for none); see BusyRanges.
type BusyQuery struct {
	StaffIDs        []int64
	From, To        time.Time
	ExceptBookingID int64
}

// CatalogVersionAndBusy returns the current catalogue version and, if q has staff, their busy
// ranges as BusyRanges does but in no particular order (the availability engine does not need
// them sorted, and sorting thousands of rows is a good part of the query's cost). Both are read
// in one round trip (one batch), which is all a booking reads when its cached catalogue is
// current.
func (s *Store) CatalogVersionAndBusy(ctx context.Context, q BusyQuery) (int64, map[int64][]availability.Range, error) {
	if len(q.StaffIDs) == 0 {
		v, err := s.CatalogVersion(ctx)
		return v, nil, err
	}
	var version int64
	var busy map[int64][]availability.Range
	b := &pgx.Batch{}
	b.Queue(catalogVersionSQL).QueryRow(func(row pgx.Row) error { return row.Scan(&version) })
	sql, staff := busySQL(q.StaffIDs)
	b.Queue(sql, staff, q.From, q.To, q.ExceptBookingID).Query(func(rows pgx.Rows) (err error) {
		busy, err = collectBusy(rows, len(q.StaffIDs))
		return err
	})
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return 0, nil, err
	}
	return version, busy, nil
}

// busySQL is the query of the busy ranges of staffIDs ($1) overlapping tstzrange($2, $3) except
// the booking $4, and the value for $1. The bookings_no_overlap GiST index is on (staff_id,
// blocked), but GiST cannot search for `staff_id = ANY(array)`: with ANY only `blocked &&` is an
// index condition, and the scan reads every staff member's bookings of the time range to keep
// those of one. So one staff member is `staff_id = $1`, and several are joined from unnest($1),
// which gives one index scan with both conditions per staff member.
func busySQL(staffIDs []int64) (string, any) {
	const cond = `b.status = 'confirmed' AND b.blocked && tstzrange($2, $3, '[)') AND b.id <> $4`
	if len(staffIDs) == 1 {
		return `
			SELECT b.staff_id, lower(b.blocked), upper(b.blocked)
			FROM bookings b
			WHERE b.staff_id = $1 AND ` + cond, staffIDs[0]
	}
	return `
		SELECT b.staff_id, lower(b.blocked), upper(b.blocked)
		FROM unnest($1::bigint[]) AS s(id)
		JOIN bookings b ON b.staff_id = s.id
		WHERE ` + cond, staffIDs
}

func collectBusy(rows pgx.Rows, staff int) (map[int64][]availability.Range, error) {
	defer rows.Close()
	out := make(map[int64][]availability.Range, staff)
	// Declared once: scanning into them makes them escape, and a month of availability is
	// thousands of rows.
	var staffID int64
	var r availability.Range
	for rows.Next() {
		if err := rows.Scan(&staffID, &r.Start, &r.End); err != nil {
			return nil, err
		}
		out[staffID] = append(out[staffID], r)
	}
	return out, rows.Err()
}
