package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// The business of the benchmark.
var benchSettings = business.Settings{
	Name:           "Bench Salon",
	TimeZone:       "Europe/Berlin",
	MinNotice:      0,
	MaxAdvance:     400 * 24 * time.Hour,
	SlotInterval:   5 * time.Minute,
	ChangeDeadline: 24 * time.Hour,
}

const serviceDuration = 30 * time.Minute

// Days (counted from today, in the business's time zone) of each part of the benchmark, so that
// they never meet: the availability window with the pre-existing bookings, the contention rounds,
// then the throughput run's bookings up to the maximum advance.
const (
	contentionFirstDay = 32 // after the 31-day availability window (days 0–30)
	contentionDays     = 20 // rounds of the contention run: 11 a day with the default hours
	throughputFirstDay = contentionFirstDay + contentionDays
	throughputLastDay  = 399 // MaxAdvance is 400 days
)

// fixture is what seed made.
type fixture struct {
	loc       *time.Location
	today     schedule.Date
	serviceID int64
	staffIDs  []int64 // in their stable order
	open      schedule.Interval
}

// slotsPerDay is how many back-to-back appointments of the service fit into a working day.
func (f *fixture) slotsPerDay() int {
	return int(f.open.End-f.open.Start) / int(serviceDuration/time.Minute)
}

// at is the local time of day minutes after midnight on the day that is day days after today.
func (f *fixture) at(day int, minute schedule.Clock) time.Time {
	d := f.today.AddDays(day)
	return time.Date(d.Year, d.Month, d.Day, 0, int(minute), 0, 0, f.loc)
}

// seed creates the business: settings, nStaff staff members working every day within open, one
// 30-minute service without buffers that all of them offer, and nBookings confirmed bookings
// spread at random (fixed seed) over the staff and the windowDays days starting today, on the
// half-hour grid of the working day, none overlapping.
func seed(ctx context.Context, st *store.Store, nStaff, nBookings, windowDays int, open schedule.Interval) (*fixture, error) {
	loc, err := time.LoadLocation(benchSettings.TimeZone)
	if err != nil {
		return nil, err
	}
	f := &fixture{loc: loc, today: schedule.DateOf(time.Now().In(loc)), open: open}
	err = st.InTx(ctx, func(tx *store.Store) error {
		if err := tx.UpdateSettings(ctx, benchSettings); err != nil {
			return fmt.Errorf("settings: %w", err)
		}
		hours := schedule.WeeklyHours{}
		for d := time.Sunday; d <= time.Saturday; d++ {
			hours[d] = []schedule.Interval{open}
		}
		for i := range nStaff {
			id, err := tx.CreateStaff(ctx, schedule.Staff{
				Name: fmt.Sprintf("Staff %02d", i+1), Email: fmt.Sprintf("staff%02d@bench.example", i+1),
				Active: true, SortOrder: i + 1,
			})
			if err != nil {
				return fmt.Errorf("staff: %w", err)
			}
			if err := tx.SetWorkingHours(ctx, id, hours); err != nil {
				return fmt.Errorf("hours: %w", err)
			}
			f.staffIDs = append(f.staffIDs, id)
		}
		f.serviceID, err = tx.CreateService(ctx, catalog.Service{
			Name: "Haircut", Duration: serviceDuration, StaffIDs: f.staffIDs, Active: true,
		})
		if err != nil {
			return fmt.Errorf("service: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if nBookings == 0 {
		return f, nil
	}

	// The existing bookings: nBookings distinct cells of the (staff, day, half-hour) grid.
	perDay := f.slotsPerDay()
	cells := nStaff * windowDays * perDay
	if nBookings > cells {
		return nil, fmt.Errorf("%d bookings do not fit into %d staff × %d days × %d slots", nBookings, nStaff, windowDays, perDay)
	}
	r := rand.New(rand.NewPCG(5000, 31))
	picked := r.Perm(cells)[:nBookings]
	staff := make([]int64, nBookings)
	starts := make([]time.Time, nBookings)
	for i, c := range picked {
		staff[i] = f.staffIDs[c%nStaff]
		c /= nStaff
		day, slot := c%windowDays, c/windowDays
		starts[i] = f.at(day, open.Start+schedule.Clock(slot*int(serviceDuration/time.Minute)))
	}
	// One statement, as a restore would do it; the app's own InsertBooking is measured later.
	_, err = st.Pool().Exec(ctx, `
		INSERT INTO bookings (service_id, staff_id, start_at, end_at, blocked, customer_name,
		                      customer_email, locale, status, manage_token_hash)
		SELECT $1, b.staff_id, b.start_at, b.start_at + $4::interval,
		       tstzrange(b.start_at, b.start_at + $4::interval, '[)'),
		       'Existing ' || b.n, 'existing-' || b.n || '@bench.example', 'en', 'confirmed',
		       sha256(('existing-' || b.n)::bytea)
		FROM unnest($2::bigint[], $3::timestamptz[]) WITH ORDINALITY AS b (staff_id, start_at, n)`,
		f.serviceID, staff, starts, serviceDuration)
	if err != nil {
		return nil, fmt.Errorf("existing bookings: %w", err)
	}
	if _, err := st.Pool().Exec(ctx, `ANALYZE`); err != nil {
		return nil, err
	}
	return f, nil
}

// doubleBookings counts pairs of confirmed bookings of one staff member whose blocked ranges
// overlap: what the exclusion constraint must make impossible.
func doubleBookings(ctx context.Context, conn *pgx.Conn) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `
		SELECT count(*)
		FROM bookings a
		JOIN bookings b ON a.staff_id = b.staff_id AND a.id < b.id AND a.blocked && b.blocked
		WHERE a.status = 'confirmed' AND b.status = 'confirmed'`).Scan(&n)
	return n, err
}

// countBookings counts the bookings whose customer e-mail address starts with prefix.
func countBookings(ctx context.Context, conn *pgx.Conn, prefix string) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM bookings WHERE customer_email LIKE $1 || '%'`, prefix).Scan(&n)
	return n, err
}

// dbStats are the counters of pg_stat_database for the benchmark's database.
type dbStats struct {
	commits, rollbacks, tupFetched, tupReturned, tupInserted int64
}

func readDBStats(ctx context.Context, conn *pgx.Conn) (dbStats, error) {
	// Statistics are flushed by backends at most once a second and at transaction end when idle;
	// pg_stat_force_next_flush only flushes ours. Read a fresh snapshot.
	if _, err := conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
		return dbStats{}, err
	}
	var s dbStats
	err := conn.QueryRow(ctx, `
		SELECT xact_commit, xact_rollback, tup_fetched, tup_returned, tup_inserted
		FROM pg_stat_database WHERE datname = current_database()`).
		Scan(&s.commits, &s.rollbacks, &s.tupFetched, &s.tupReturned, &s.tupInserted)
	return s, err
}

func (s dbStats) minus(o dbStats) dbStats {
	return dbStats{s.commits - o.commits, s.rollbacks - o.rollbacks, s.tupFetched - o.tupFetched,
		s.tupReturned - o.tupReturned, s.tupInserted - o.tupInserted}
}
