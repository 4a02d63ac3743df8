package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// TestInsertBookings: a batch gives each booking the outcome it would get on its own — inserted,
// ErrOverlap (with an existing booking or an earlier one of the same batch, buffers included) or
// ErrStaleCatalog — with one audit entry and the mails of each inserted booking, and nothing for
// the others.
func TestInsertBookings(t *testing.T) {
	type item struct {
		staff    string // "a" or "b"
		from, to time.Time
		blocked  [2]time.Time // zero: from/to
		stale    bool         // checked against the catalogue version before the last change
	}
	for _, tc := range []struct {
		name  string
		items []item
		want  []error
	}{
		{"distinct", []item{{staff: "a", from: at(11, 0), to: at(11, 30)}, {staff: "b", from: at(11, 0), to: at(11, 30)}, {staff: "a", from: at(11, 30), to: at(12, 0)}},
			[]error{nil, nil, nil}},
		{"overlaps an existing booking", []item{{staff: "a", from: at(10, 15), to: at(10, 45)}, {staff: "a", from: at(10, 30), to: at(11, 0)}},
			[]error{store.ErrOverlap, nil}},
		{"overlaps an earlier one of the batch", []item{{staff: "a", from: at(12, 0), to: at(12, 30)}, {staff: "a", from: at(12, 15), to: at(12, 45)}, {staff: "b", from: at(12, 15), to: at(12, 45)}, {staff: "a", from: at(12, 30), to: at(13, 0)}},
			[]error{nil, store.ErrOverlap, nil, nil}},
		{"buffer of an earlier one", []item{{staff: "b", from: at(14, 0), to: at(14, 30), blocked: [2]time.Time{at(14, 0), at(14, 40)}}, {staff: "b", from: at(14, 30), to: at(15, 0)}},
			[]error{nil, store.ErrOverlap}},
		{"stale catalogue", []item{{staff: "a", from: at(15, 0), to: at(15, 30), stale: true}, {staff: "b", from: at(15, 0), to: at(15, 30)}},
			[]error{store.ErrStaleCatalog, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, svc, a, b := fixture(t)
			ctx := t.Context()
			// Staff member a has an e-mail address, b has none: a's bookings queue two mails, b's one.
			if err := st.UpdateStaff(ctx, schedule.Staff{ID: a, Name: "A", Email: "a@example.com", Active: true}); err != nil {
				t.Fatal(err)
			}
			insert(t, st, svc, a, at(10, 0), at(10, 30))
			var version int64
			if err := st.Pool().QueryRow(ctx, `SELECT version FROM catalog_version`).Scan(&version); err != nil {
				t.Fatal(err)
			}
			log := &auditLog{t: t, st: st}
			log.since()
			mailsBefore := countRows(t, st, `SELECT count(*) FROM mail_outbox`)

			bookings := make([]store.Booking, len(tc.items))
			versions := make([]int64, len(tc.items))
			for i, it := range tc.items {
				staff := map[string]int64{"a": a, "b": b}[it.staff]
				bookings[i] = newBooking(svc, staff, it.from, it.to)
				if !it.blocked[0].IsZero() {
					bookings[i].BlockedStart, bookings[i].BlockedEnd = it.blocked[0], it.blocked[1]
				}
				versions[i] = version
				if it.stale {
					versions[i] = version - 1
				}
			}
			rows, errs, err := st.InsertBookings(ctx, bookings, versions)
			if err != nil {
				t.Fatal(err)
			}
			wantMails := 0
			var inserted []store.Booking
			for i := range tc.items {
				if !errors.Is(errs[i], tc.want[i]) || (tc.want[i] == nil) != (errs[i] == nil) {
					t.Fatalf("booking %d: err = %v, want %v", i, errs[i], tc.want[i])
				}
				if errs[i] != nil {
					if rows[i].ID != 0 {
						t.Fatalf("booking %d failed but has id %d", i, rows[i].ID)
					}
					continue
				}
				got, err := st.GetBooking(ctx, rows[i].ID)
				if err != nil {
					t.Fatal(err)
				}
				if !got.Start.Equal(bookings[i].Start) || got.StaffID != bookings[i].StaffID || !got.CreatedAt.Equal(rows[i].CreatedAt) {
					t.Fatalf("booking %d: stored %+v, returned %+v", i, got, rows[i])
				}
				if len(inserted) > 0 && rows[i].ID <= inserted[len(inserted)-1].ID {
					t.Fatalf("ids not in the batch's order: %d after %d", rows[i].ID, inserted[len(inserted)-1].ID)
				}
				inserted = append(inserted, rows[i])
				wantMails += map[bool]int{true: 2, false: 1}[bookings[i].StaffID == a]
			}
			// One booking.create per inserted booking, in the batch's order, nothing else.
			recs := log.since()
			if len(recs) != len(inserted) {
				t.Fatalf("%d audit entries for %d bookings: %+v", len(recs), len(inserted), recs)
			}
			for i, r := range recs {
				if r.Action != "booking.create" || r.ObjectID != id(inserted[i].ID) || r.Actor != audit.ActorSystem {
					t.Fatalf("audit entry %d: %+v, want booking.create of %d", i, r, inserted[i].ID)
				}
			}
			if res, err := audit.Verify(ctx, st.Pool()); err != nil || !res.OK() {
				t.Fatalf("Verify = %+v, %v", res, err)
			}
			if got := countRows(t, st, `SELECT count(*) FROM mail_outbox`) - mailsBefore; got != wantMails {
				t.Fatalf("%d mails queued, want %d", got, wantMails)
			}
		})
	}
}

// TestInsertBookingsMailsLikeOneByOne: the mails a batch queues are the rows a booking inserted
// on its own queues (same templates, recipients, languages and data), customer first.
func TestInsertBookingsMailsLikeOneByOne(t *testing.T) {
	st, svc, a, _ := fixture(t)
	ctx := t.Context()
	if err := st.UpdateStaff(ctx, schedule.Staff{ID: a, Name: "A", Email: "a@example.com", Active: true}); err != nil {
		t.Fatal(err)
	}
	mails := func(bookingID int64) []string {
		rows, err := st.Pool().Query(ctx, `
			SELECT template || ' ' || recipient || ' ' || language || ' ' ||
			       (data - 'booking_id' - 'start' - 'end')::text
			FROM mail_outbox WHERE booking_id = $1 ORDER BY id`, bookingID)
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	alone := insert(t, st, svc, a, at(9, 0), at(9, 30))
	rows, errs, err := st.InsertBookings(ctx, []store.Booking{newBooking(svc, a, at(10, 0), at(10, 30)), newBooking(svc, a, at(11, 0), at(11, 30))}, nil)
	if err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatal(err, errs)
	}
	want := mails(alone.ID)
	if len(want) != 2 {
		t.Fatalf("a booking on its own queued %v", want)
	}
	for _, r := range rows {
		if got := mails(r.ID); !slices.Equal(got, want) {
			t.Fatalf("batch booking %d queued\n%v\nwant (like one on its own)\n%v", r.ID, got, want)
		}
	}
}

// TestConcurrentBookingsBatched: many concurrent InsertBooking calls, racing in groups for the
// same times, are written in batches (fewer statements than bookings) and each group has exactly
// one winner; every winner has its audit entry and the chain holds.
func TestConcurrentBookingsBatched(t *testing.T) {
	st, svc, a, b := fixture(t)
	ctx := t.Context()
	const groups, racers = 40, 4
	var wg sync.WaitGroup
	errs := make([][racers]error, groups)
	start := make(chan struct{})
	for g := range groups {
		for r := range racers {
			wg.Go(func() {
				<-start
				// Group g races for one half-hour of one staff member: 20 minutes from minute r, so
				// the racers overlap each other but never the next group's half-hour.
				from := at(8, 0).Add(time.Duration(g/2)*30*time.Minute + time.Duration(r)*time.Minute)
				_, errs[g][r] = st.InsertBooking(context.Background(), newBooking(svc, []int64{a, b}[g%2], from, from.Add(20*time.Minute)))
			})
		}
	}
	before := store.BatchesWritten(st)
	close(start)
	wg.Wait()
	created := 0
	for g := range groups {
		won := 0
		for _, err := range errs[g] {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrOverlap):
				t.Fatalf("group %d: %v", g, err)
			}
		}
		if won != 1 {
			t.Fatalf("group %d: %d winners, want 1 (%v)", g, won, errs[g])
		}
		created += won
	}
	batches := store.BatchesWritten(st) - before
	if batches == 0 || batches >= groups*racers {
		t.Fatalf("%d batch statements for %d bookings: want some, fewer than one per booking", batches, groups*racers)
	}
	if n := countRows(t, st, `SELECT count(*) FROM audit_log WHERE action = 'booking.create'`); n != created {
		t.Fatalf("%d booking.create entries for %d bookings", n, created)
	}
	if res, err := audit.Verify(ctx, st.Pool()); err != nil || !res.OK() {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	t.Logf("%d bookings in %d batch statements", groups*racers, batches)
}

func countRows(t *testing.T, st *store.Store, sql string) int {
	t.Helper()
	var n int
	if err := st.Pool().QueryRow(t.Context(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBatchFailureFallsBackToOneByOne: when the batch statement fails as a whole (here: one
// booking breaks a CHECK, which the booking package would never send), every booking of it is
// written again on its own, so the others are made and only the broken one fails.
func TestBatchFailureFallsBackToOneByOne(t *testing.T) {
	st, svc, a, b := fixture(t)
	ctx := t.Context()
	// Keep the batcher busy: hold staff member a's booking lock in another transaction, so
	// the first bookings (of a, one per batch in flight) wait for it while the next ones queue.
	blocker, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer blocker.Rollback(context.WithoutCancel(ctx))
	if _, err := blocker.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2::int)`, 0x5107, a); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	book := func(bk store.Booking, err *error) {
		wg.Go(func() { _, *err = st.InsertBooking(context.Background(), bk) })
	}
	blocked := make([]error, store.MaxBatchesInFlight)
	for i := range blocked {
		book(newBooking(svc, a, at(9, 0).Add(time.Duration(i)*time.Hour), at(9, 30).Add(time.Duration(i)*time.Hour)), &blocked[i])
	}
	waitFor(t, func() bool {
		var n int
		err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`).Scan(&n)
		return err == nil && n == store.MaxBatchesInFlight
	})
	broken := newBooking(svc, b, at(12, 0), at(12, 30))
	broken.CustomerName = " " // CHECK (char_length(btrim(customer_name)) BETWEEN 1 AND 200)
	queued := []store.Booking{newBooking(svc, b, at(11, 0), at(11, 30)), broken, newBooking(svc, b, at(13, 0), at(13, 30))}
	errs := make([]error, len(queued))
	for i, bk := range queued {
		book(bk, &errs[i])
	}
	waitFor(t, func() bool { return store.BookingsWaiting(st) == len(queued) })
	before := store.BatchesWritten(st)
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, err := range blocked {
		if err != nil {
			t.Fatalf("blocked booking %d: %v", i, err)
		}
	}
	if errs[0] != nil || errs[2] != nil || errs[1] == nil || errors.Is(errs[1], store.ErrOverlap) {
		t.Fatalf("outcomes %v: want the broken booking to fail on its own and the others made", errs)
	}
	if got := store.BatchesWritten(st) - before; got != 1 {
		t.Fatalf("%d batch statements, want 1 (the queued three)", got)
	}
	if n := countRows(t, st, `SELECT count(*) FROM bookings`); n != store.MaxBatchesInFlight+2 {
		t.Fatalf("%d bookings stored, want %d", n, store.MaxBatchesInFlight+2)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
