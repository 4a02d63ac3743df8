package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/validation"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func newStore(t *testing.T) *store.Store { return open(t, pgtest.NewDatabase(t)) }

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func fieldErr(t *testing.T, err error, field string) {
	t.Helper()
	var verrs validation.Errors
	if !errors.As(err, &verrs) || verrs.For(field) == nil {
		t.Fatalf("want a validation error on %s, got %v", field, err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	ctx := t.Context()
	url := pgtest.NewEmptyDatabase(t)
	st := open(t, url)
	if ok, err := st.MigrationsApplied(ctx); err != nil || ok {
		t.Fatalf("empty database: MigrationsApplied = %v, %v; want false", ok, err)
	}

	const replicas = 3
	var wg sync.WaitGroup
	results := make([][]string, replicas)
	errs := make([]error, replicas)
	for i := range replicas {
		wg.Go(func() { results[i], errs[i] = store.Migrate(ctx, url) })
	}
	wg.Wait()
	applied := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if len(results[i]) > 0 {
			applied++
		}
	}
	if applied != 1 {
		t.Fatalf("%d replicas applied migrations, want exactly 1: %v", applied, results)
	}
	if ok, err := st.MigrationsApplied(ctx); err != nil || !ok {
		t.Fatalf("MigrationsApplied = %v, %v; want true", ok, err)
	}
	// Again, through the pool: nothing to do.
	if names, err := st.Migrate(ctx); err != nil || len(names) != 0 {
		t.Fatalf("second migration: %v, %v", names, err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSettings(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	def := must[business.Settings](t)(st.Settings(ctx))
	if def.TimeZone != "UTC" || def.SlotInterval != 15*time.Minute {
		t.Fatalf("default settings: %+v", def)
	}
	want := business.Settings{
		Name: "Salon", TimeZone: "Europe/Berlin", MinNotice: 90 * time.Minute,
		MaxAdvance: 30 * 24 * time.Hour, SlotInterval: 10 * time.Minute, ChangeDeadline: 48 * time.Hour,
	}
	if err := st.UpdateSettings(ctx, want); err != nil {
		t.Fatal(err)
	}
	if got := must[business.Settings](t)(st.Settings(ctx)); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}

	for _, tc := range []struct {
		field  string
		change func(*business.Settings)
	}{
		{"name", func(s *business.Settings) { s.Name = " " }},
		{"timeZone", func(s *business.Settings) { s.TimeZone = "Mars/Olympus" }},
		{"minNotice", func(s *business.Settings) { s.MinNotice = -time.Minute }},
		{"maxAdvance", func(s *business.Settings) { s.MaxAdvance = 36 * time.Hour }},
		{"slotInterval", func(s *business.Settings) { s.SlotInterval = 0 }},
		{"changeDeadline", func(s *business.Settings) { s.ChangeDeadline = 30 * time.Second }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			bad := want
			tc.change(&bad)
			fieldErr(t, st.UpdateSettings(ctx, bad), tc.field)
		})
	}
	if got := must[business.Settings](t)(st.Settings(ctx)); got != want {
		t.Fatalf("invalid updates changed the settings: %+v", got)
	}
}

func TestStaffAndServices(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	id := must[int64](t)
	// Stable order: sort_order, then id.
	bob := id(st.CreateStaff(ctx, schedule.Staff{Name: "Bob", Active: true, SortOrder: 2}))
	amy := id(st.CreateStaff(ctx, schedule.Staff{Name: "Amy", Email: "amy@example.com", Active: true, SortOrder: 1}))
	cat := id(st.CreateStaff(ctx, schedule.Staff{Name: "Cat", Active: false, SortOrder: 2}))
	fieldErr(t, func() error { _, err := st.CreateStaff(ctx, schedule.Staff{Name: "X", Email: "nope"}); return err }(), "email")

	all := must[[]schedule.Staff](t)(st.ListStaff(ctx, false))
	if got := ids(all); !slices.Equal(got, []int64{amy, bob, cat}) {
		t.Fatalf("staff order %v, want %v", got, []int64{amy, bob, cat})
	}
	if active := must[[]schedule.Staff](t)(st.ListStaff(ctx, true)); !slices.Equal(ids(active), []int64{amy, bob}) {
		t.Fatalf("active staff %v", ids(active))
	}
	amyRow := must[schedule.Staff](t)(st.GetStaff(ctx, amy))
	if amyRow != (schedule.Staff{ID: amy, Name: "Amy", Email: "amy@example.com", Active: true, SortOrder: 1}) {
		t.Fatalf("GetStaff: %+v", amyRow)
	}
	amyRow.Name, amyRow.SortOrder = "Amy B.", 5
	if err := st.UpdateStaff(ctx, amyRow); err != nil {
		t.Fatal(err)
	}
	if got := must[schedule.Staff](t)(st.GetStaff(ctx, amy)); got != amyRow {
		t.Fatalf("after update: %+v", got)
	}
	if _, err := st.GetStaff(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetStaff(unknown): %v", err)
	}
	if err := st.UpdateStaff(ctx, schedule.Staff{ID: 9999, Name: "X"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateStaff(unknown): %v", err)
	}

	cut := catalog.Service{Name: "Cut", Description: "d", Duration: 30 * time.Minute, BufferAfter: 5 * time.Minute,
		Active: true, SortOrder: 1, StaffIDs: []int64{bob, amy, cat}}
	cut.ID = id(st.CreateService(ctx, cut))
	color := catalog.Service{Name: "Color", Duration: 90 * time.Minute, BufferBefore: 10 * time.Minute, Active: false, SortOrder: 2}
	color.ID = id(st.CreateService(ctx, color))

	got := must[catalog.Service](t)(st.GetService(ctx, cut.ID))
	cut.StaffIDs = []int64{bob, cat, amy} // stable order: Amy now has sort_order 5
	if fmt.Sprint(got) != fmt.Sprint(cut) {
		t.Fatalf("GetService:\n got %+v\nwant %+v", got, cut)
	}
	if l := must[[]catalog.Service](t)(st.ListServices(ctx, true)); len(l) != 1 || l[0].ID != cut.ID {
		t.Fatalf("active services: %+v", l)
	}
	if l := must[[]catalog.Service](t)(st.ListServices(ctx, false)); len(l) != 2 || l[1].StaffIDs == nil || len(l[1].StaffIDs) != 0 {
		t.Fatalf("all services: %+v", l)
	}
	if sf := must[[]schedule.Staff](t)(st.StaffForService(ctx, cut.ID, true)); !slices.Equal(ids(sf), []int64{bob, amy}) {
		t.Fatalf("StaffForService: %v", ids(sf))
	}

	// Update replaces the staff assignment atomically; an unknown staff id changes nothing.
	cut.StaffIDs = []int64{amy, 424242}
	cut.Name = "Changed"
	fieldErr(t, st.UpdateService(ctx, cut), "staffIds")
	if got := must[catalog.Service](t)(st.GetService(ctx, cut.ID)); got.Name != "Cut" || len(got.StaffIDs) != 3 {
		t.Fatalf("failed update changed the service: %+v", got)
	}
	cut.StaffIDs = []int64{amy}
	if err := st.UpdateService(ctx, cut); err != nil {
		t.Fatal(err)
	}
	if got := must[catalog.Service](t)(st.GetService(ctx, cut.ID)); got.Name != "Changed" || !slices.Equal(got.StaffIDs, []int64{amy}) {
		t.Fatalf("after update: %+v", got)
	}
	fieldErr(t, st.UpdateService(ctx, catalog.Service{ID: cut.ID, Name: "x", Duration: 0}), "duration")
	if _, err := st.CreateService(ctx, catalog.Service{Name: "x", Duration: time.Hour, StaffIDs: []int64{777}}); err == nil {
		t.Fatal("service with unknown staff created")
	}
	if l := must[[]catalog.Service](t)(st.ListServices(ctx, false)); len(l) != 2 {
		t.Fatalf("a failed create left a service behind: %d services", len(l))
	}

	// Deleting: fine without bookings, ErrInUse with.
	if err := st.DeleteService(ctx, color.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteService(ctx, color.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	insert(t, st, cut.ID, amy, at(10, 0), at(10, 30))
	if err := st.DeleteService(ctx, cut.ID); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("delete service with bookings: %v", err)
	}
	if err := st.DeleteStaff(ctx, amy); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("delete staff with bookings: %v", err)
	}
	if err := st.DeleteStaff(ctx, bob); err != nil {
		t.Fatal(err)
	}
}

func ids(staff []schedule.Staff) []int64 {
	out := []int64{}
	for _, s := range staff {
		out = append(out, s.ID)
	}
	return out
}

func TestWorkingHoursAndTimeOff(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	a := must[int64](t)(st.CreateStaff(ctx, schedule.Staff{Name: "A", Active: true}))
	b := must[int64](t)(st.CreateStaff(ctx, schedule.Staff{Name: "B", Active: true}))
	week := schedule.WeeklyHours{
		time.Monday:   {{Start: 13 * 60, End: 17 * 60}, {Start: 9 * 60, End: 12 * 60}},
		time.Saturday: {{Start: 10 * 60, End: 14 * 60}},
		time.Sunday:   {{Start: 0, End: 24 * 60}},
	}
	if err := st.SetWorkingHours(ctx, a, week); err != nil {
		t.Fatal(err)
	}
	got := must[schedule.WeeklyHours](t)(st.WorkingHours(ctx, a))
	want := schedule.WeeklyHours{
		time.Monday:   {{Start: 9 * 60, End: 12 * 60}, {Start: 13 * 60, End: 17 * 60}}, // sorted
		time.Saturday: {{Start: 10 * 60, End: 14 * 60}},
		time.Sunday:   {{Start: 0, End: 24 * 60}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hours: %v, want %v", got, want)
	}
	for name, bad := range map[string]schedule.WeeklyHours{
		"overlap":  {time.Tuesday: {{Start: 9 * 60, End: 12 * 60}, {Start: 11 * 60, End: 13 * 60}}},
		"reversed": {time.Tuesday: {{Start: 12 * 60, End: 9 * 60}}},
		"too late": {time.Tuesday: {{Start: 12 * 60, End: 25 * 60}}},
	} {
		t.Run(name, func(t *testing.T) {
			fieldErr(t, st.SetWorkingHours(ctx, a, bad), "hours.tuesday")
		})
	}
	if got := must[schedule.WeeklyHours](t)(st.WorkingHours(ctx, a)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("invalid hours changed the stored ones: %v", got)
	}
	// Touching intervals are fine; replacing drops the old days.
	touching := schedule.WeeklyHours{time.Friday: {{Start: 9 * 60, End: 12 * 60}, {Start: 12 * 60, End: 13 * 60}}}
	if err := st.SetWorkingHours(ctx, a, touching); err != nil {
		t.Fatal(err)
	}
	all := must[map[int64]schedule.WeeklyHours](t)(st.WorkingHoursFor(ctx, []int64{a, b}))
	if fmt.Sprint(all[a]) != fmt.Sprint(touching) || all[b] == nil || len(all[b]) != 0 {
		t.Fatalf("WorkingHoursFor: %v", all)
	}
	if err := st.SetWorkingHours(ctx, 4711, week); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("hours of unknown staff: %v", err)
	}

	d := func(s string) schedule.Date { return must[schedule.Date](t)(schedule.ParseDate(s)) }
	offA := must[int64](t)(st.AddTimeOff(ctx, schedule.TimeOff{StaffID: a, Range: schedule.DateRange{First: d("2030-07-01"), Last: d("2030-07-14")}, Reason: "Holiday"}))
	must[int64](t)(st.AddTimeOff(ctx, schedule.TimeOff{StaffID: b, Range: schedule.DateRange{First: d("2030-07-10"), Last: d("2030-07-10")}}))
	must[int64](t)(st.AddTimeOff(ctx, schedule.TimeOff{StaffID: b, Range: schedule.DateRange{First: d("2030-08-01"), Last: d("2030-08-02")}}))
	fieldErr(t, func() error {
		_, err := st.AddTimeOff(ctx, schedule.TimeOff{StaffID: a, Range: schedule.DateRange{First: d("2030-07-02"), Last: d("2030-07-01")}})
		return err
	}(), "lastDay")
	if _, err := st.AddTimeOff(ctx, schedule.TimeOff{StaffID: 999, Range: schedule.DateRange{First: d("2030-07-02"), Last: d("2030-07-02")}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("time off of unknown staff: %v", err)
	}
	list := func(staff []int64, from, to schedule.Date) int {
		return len(must[[]schedule.TimeOff](t)(st.ListTimeOff(ctx, staff, from, to)))
	}
	for _, tc := range []struct {
		staff    []int64
		from, to schedule.Date
		want     int
	}{
		{nil, schedule.Date{}, schedule.Date{}, 3},
		{[]int64{a}, schedule.Date{}, schedule.Date{}, 1},
		{nil, d("2030-07-14"), d("2030-07-31"), 1}, // last day inclusive
		{nil, d("2030-07-15"), d("2030-07-31"), 0},
		{nil, d("2030-07-10"), d("2030-07-10"), 2},
		{[]int64{b}, d("2030-06-01"), schedule.Date{}, 2},
	} {
		if got := list(tc.staff, tc.from, tc.to); got != tc.want {
			t.Errorf("ListTimeOff(%v, %v, %v) = %d entries, want %d", tc.staff, tc.from, tc.to, got, tc.want)
		}
	}
	got0 := must[[]schedule.TimeOff](t)(st.ListTimeOff(ctx, []int64{a}, schedule.Date{}, schedule.Date{}))[0]
	if got0 != (schedule.TimeOff{ID: offA, StaffID: a, Range: schedule.DateRange{First: d("2030-07-01"), Last: d("2030-07-14")}, Reason: "Holiday"}) {
		t.Fatalf("time off round trip: %+v", got0)
	}
	if err := st.DeleteTimeOff(ctx, offA); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteTimeOff(ctx, offA); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestInTxRollsBack(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	boom := errors.New("boom")
	err := st.InTx(ctx, func(tx *store.Store) error {
		if _, err := tx.CreateStaff(ctx, schedule.Staff{Name: "Ghost", Active: true}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if l := must[[]schedule.Staff](t)(st.ListStaff(ctx, false)); len(l) != 0 {
		t.Fatalf("rolled-back staff is there: %v", l)
	}
}

// ---- bookings ----

var day = time.Date(2030, 5, 6, 0, 0, 0, 0, time.UTC)

func at(h, m int) time.Time {
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

var tokenCounter struct {
	sync.Mutex
	n int
}

func tokenHash() []byte {
	tokenCounter.Lock()
	defer tokenCounter.Unlock()
	tokenCounter.n++
	h := sha256.Sum256(fmt.Appendf(nil, "token-%d-%d", tokenCounter.n, time.Now().UnixNano()))
	return h[:]
}

func newBooking(serviceID, staffID int64, from, to time.Time) store.Booking {
	return store.Booking{
		ServiceID: serviceID, StaffID: staffID, Start: from, End: to, BlockedStart: from, BlockedEnd: to,
		CustomerName: "Kim", CustomerEmail: "kim@example.com", CustomerPhone: "+49 30 1234567",
		Locale: "de", ManageTokenHash: tokenHash(),
	}
}

func insert(t *testing.T, st *store.Store, serviceID, staffID int64, from, to time.Time) store.Booking {
	t.Helper()
	return must[store.Booking](t)(st.InsertBooking(t.Context(), newBooking(serviceID, staffID, from, to)))
}

// fixture: two staff members and a service they both offer.
func fixture(t *testing.T) (st *store.Store, svc, a, b int64) {
	t.Helper()
	ctx := t.Context()
	st = newStore(t)
	a = must[int64](t)(st.CreateStaff(ctx, schedule.Staff{Name: "A", Active: true}))
	b = must[int64](t)(st.CreateStaff(ctx, schedule.Staff{Name: "B", Active: true}))
	svc = must[int64](t)(st.CreateService(ctx, catalog.Service{Name: "S", Duration: 30 * time.Minute, Active: true, StaffIDs: []int64{a, b}}))
	return st, svc, a, b
}

func TestNoDoubleBooking(t *testing.T) {
	st, svc, a, b := fixture(t)
	ctx := t.Context()
	// A is busy 10:00–10:30 (buffers included), confirmed.
	existing := insert(t, st, svc, a, at(10, 0), at(10, 30))

	for _, tc := range []struct {
		name     string
		staff    int64
		from, to time.Time
		blocked  [2]time.Time // zero: same as from/to
		wantErr  error
	}{
		{"same time", a, at(10, 0), at(10, 30), [2]time.Time{}, store.ErrOverlap},
		{"starts inside", a, at(10, 15), at(10, 45), [2]time.Time{}, store.ErrOverlap},
		{"ends inside", a, at(9, 45), at(10, 15), [2]time.Time{}, store.ErrOverlap},
		{"contains it", a, at(9, 0), at(11, 0), [2]time.Time{}, store.ErrOverlap},
		{"one minute overlap", a, at(10, 29), at(10, 59), [2]time.Time{}, store.ErrOverlap},
		{"buffer after overlaps", a, at(9, 30), at(10, 0), [2]time.Time{at(9, 30), at(10, 5)}, store.ErrOverlap},
		{"buffer before overlaps", a, at(10, 30), at(11, 0), [2]time.Time{at(10, 20), at(11, 0)}, store.ErrOverlap},
		{"adjacent before", a, at(9, 30), at(10, 0), [2]time.Time{}, nil},
		{"adjacent after", a, at(10, 30), at(11, 0), [2]time.Time{}, nil},
		{"other staff, same time", b, at(10, 0), at(10, 30), [2]time.Time{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nb := newBooking(svc, tc.staff, tc.from, tc.to)
			if !tc.blocked[0].IsZero() {
				nb.BlockedStart, nb.BlockedEnd = tc.blocked[0], tc.blocked[1]
			}
			got, err := st.InsertBooking(ctx, nb)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil {
				// Clean up so that the cases are independent.
				if _, err := st.CancelBooking(ctx, got.ID); err != nil {
					t.Fatal(err)
				}
			}
		})
	}

	// Once the existing booking is cancelled, its time is free again.
	cancelled := must[store.Booking](t)(st.CancelBooking(ctx, existing.ID))
	if cancelled.Status != store.StatusCancelled || cancelled.CancelledAt == nil {
		t.Fatalf("cancelled: %+v", cancelled)
	}
	if _, err := st.CancelBooking(ctx, existing.ID); !errors.Is(err, store.ErrNotConfirmed) {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := st.CancelBooking(ctx, 12345); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cancel unknown: %v", err)
	}
	insert(t, st, svc, a, at(10, 0), at(10, 30))
}

func TestNoDoubleBookingConcurrently(t *testing.T) {
	st, svc, a, _ := fixture(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			// Overlapping but different ranges, all at once.
			from := at(10, i)
			_, errs[i] = st.InsertBooking(context.Background(), newBooking(svc, a, from, from.Add(30*time.Minute)))
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrOverlap):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d inserts succeeded, want 1", ok)
	}
}

func TestBookingQueries(t *testing.T) {
	st, svc, a, b := fixture(t)
	ctx := t.Context()
	b1 := insert(t, st, svc, a, at(9, 0), at(9, 30))
	b2 := newBooking(svc, b, at(9, 0), at(9, 30))
	b2.CustomerName, b2.CustomerEmail, b2.CustomerPhone = "Lee O'Brien", "LEE@Example.org", "(030) 555-0199"
	b2.BlockedStart = at(8, 50)
	b2.BlockedEnd = at(9, 45)
	b2 = must[store.Booking](t)(st.InsertBooking(ctx, b2))
	b3 := insert(t, st, svc, a, at(14, 0), at(14, 30))
	next := insert(t, st, svc, a, at(24+9, 0), at(24+9, 30)) // the next day
	must[store.Booking](t)(st.CancelBooking(ctx, b3.ID))

	// Round trip.
	got := must[store.Booking](t)(st.GetBooking(ctx, b2.ID))
	if got.CustomerName != "Lee O'Brien" || !got.BlockedStart.Equal(at(8, 50)) || !got.BlockedEnd.Equal(at(9, 45)) ||
		!got.Start.Equal(at(9, 0)) || got.Status != store.StatusConfirmed || got.Locale != "de" || got.CreatedAt.IsZero() {
		t.Fatalf("GetBooking: %+v", got)
	}
	byHash := must[store.Booking](t)(st.GetBookingByTokenHash(ctx, b2.ManageTokenHash))
	if byHash.ID != b2.ID {
		t.Fatalf("GetBookingByTokenHash: %d", byHash.ID)
	}
	if _, err := st.GetBookingByTokenHash(ctx, tokenHash()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown hash: %v", err)
	}

	listIDs := func(bs []store.Booking) []int64 {
		out := []int64{}
		for _, b := range bs {
			out = append(out, b.ID)
		}
		return out
	}
	if l := listIDs(must[[]store.Booking](t)(st.ListBookings(ctx, day, day.Add(24*time.Hour), nil))); !slices.Equal(l, []int64{b1.ID, b2.ID, b3.ID}) {
		t.Fatalf("ListBookings(day) = %v", l)
	}
	if l := listIDs(must[[]store.Booking](t)(st.ListBookings(ctx, day, day.Add(48*time.Hour), &a))); !slices.Equal(l, []int64{b1.ID, b3.ID, next.ID}) {
		t.Fatalf("ListBookings(a) = %v", l)
	}

	for _, tc := range []struct {
		q    string
		want []int64
	}{
		{"lee", []int64{b2.ID}},
		{"example.ORG", []int64{b2.ID}},
		{"0305550199", []int64{b2.ID}}, // phone digits without formatting
		{"555-01", []int64{b2.ID}},
		{"kim", []int64{next.ID, b3.ID, b1.ID}}, // newest first
		{"%", nil},
		{"", nil},
	} {
		if got := must[[]store.Booking](t)(st.SearchBookings(ctx, tc.q, 10)); !slices.Equal(listIDs(got), append([]int64{}, tc.want...)) {
			t.Errorf("Search(%q) = %v, want %v", tc.q, listIDs(got), tc.want)
		}
	}

	busy := must[map[int64][]availability.Range](t)(st.BusyRanges(ctx, []int64{a, b}, day, day.Add(24*time.Hour), 0))
	if len(busy[a]) != 1 || !busy[a][0].Start.Equal(at(9, 0)) || len(busy[b]) != 1 || !busy[b][0].Start.Equal(at(8, 50)) || !busy[b][0].End.Equal(at(9, 45)) {
		t.Fatalf("BusyRanges: %+v", busy) // the cancelled b3 is not busy, the next day is outside
	}
	busy = must[map[int64][]availability.Range](t)(st.BusyRanges(ctx, []int64{a, b}, day, day.Add(24*time.Hour), b1.ID))
	if len(busy[a]) != 0 {
		t.Fatalf("BusyRanges except b1: %+v", busy)
	}
}

func TestMoveBooking(t *testing.T) {
	st, svc, a, b := fixture(t)
	ctx := t.Context()
	moving := insert(t, st, svc, a, at(10, 0), at(10, 30))
	other := insert(t, st, svc, a, at(11, 0), at(11, 30))
	move := func(staff int64, from time.Time) (store.Booking, error) {
		to := from.Add(30 * time.Minute)
		return st.MoveBooking(ctx, moving.ID, store.Move{StaffID: staff, Start: from, End: to, BlockedStart: from, BlockedEnd: to})
	}
	// Overlapping its own old range is fine (one UPDATE of the row).
	if got, err := move(a, at(10, 15)); err != nil || !got.Start.Equal(at(10, 15)) {
		t.Fatalf("move by 15 minutes: %+v, %v", got, err)
	}
	// Onto another booking: ErrOverlap, and nothing changes.
	if _, err := move(a, at(10, 45)); !errors.Is(err, store.ErrOverlap) {
		t.Fatalf("move onto another booking: %v", err)
	}
	if got := must[store.Booking](t)(st.GetBooking(ctx, moving.ID)); !got.Start.Equal(at(10, 15)) || got.StaffID != a || got.Status != store.StatusConfirmed {
		t.Fatalf("failed move changed the booking: %+v", got)
	}
	// To another staff member at the other booking's time: fine, and the old time is free.
	if got, err := move(b, at(11, 0)); err != nil || got.StaffID != b {
		t.Fatalf("move to b: %+v, %v", got, err)
	}
	insert(t, st, svc, a, at(10, 0), at(10, 30))
	must[store.Booking](t)(st.CancelBooking(ctx, other.ID))
	if _, err := st.MoveBooking(ctx, other.ID, store.Move{StaffID: a, Start: at(15, 0), End: at(15, 30), BlockedStart: at(15, 0), BlockedEnd: at(15, 30)}); !errors.Is(err, store.ErrNotConfirmed) {
		t.Fatalf("move cancelled: %v", err)
	}
	if _, err := st.MoveBooking(ctx, 9999, store.Move{StaffID: a, Start: at(15, 0), End: at(15, 30), BlockedStart: at(15, 0), BlockedEnd: at(15, 30)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("move unknown: %v", err)
	}
}
