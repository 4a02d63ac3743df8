package booking

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// replica is another instance of the app on the fixture's database: its own pool and Service,
// so its own cached catalogue, on the same clock.
func (f *fixture) replica(t *testing.T) *Service {
	t.Helper()
	st, err := store.Open(t.Context(), f.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return NewService(st, WithNow(f.clock.now), WithBaseURL("https://book.example.com/"))
}

// slotText is a slot as "15:04-15:04 [ids]" in the slot's own zone, for readable comparisons.
func slotText(s availability.Slot) string {
	return fmt.Sprintf("%s %s-%s %v", s.Start.Format("2006-01-02"), s.Start.Format("15:04"), s.End.Format("15:04"), s.StaffIDs)
}

func slotTexts(slots []availability.Slot) []string {
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = slotText(s)
	}
	return out
}

func startsOf(slots []availability.Slot) []string {
	out := make([]string, len(slots))
	for i, s := range slots {
		out[i] = s.Start.Format("15:04")
	}
	return out
}

// TestCatalogueChangesAreSeen: a change of the catalogue — through the store, by any replica, or
// by hand in SQL — is seen by the next availability or booking request of every replica, although
// each keeps the catalogue in memory.
func TestCatalogueChangesAreSeen(t *testing.T) {
	tue := schedule.DateOf(on(1, 0, 0))
	settings := business.Settings{
		Name: "Test salon", TimeZone: "Europe/Berlin", MinNotice: 2 * time.Hour,
		MaxAdvance: 60 * 24 * time.Hour, SlotInterval: 15 * time.Minute, ChangeDeadline: 24 * time.Hour,
	}
	cut := func(f *fixture) catalog.Service {
		svc, err := f.st.GetService(context.Background(), f.cut)
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	for _, tc := range []struct {
		name string
		// change changes the catalogue and returns an id check needs (or 0).
		change func(t *testing.T, f *fixture) int64
		check  func(t *testing.T, f *fixture, svc *Service, id int64)
	}{
		{"working hours", func(t *testing.T, f *fixture) int64 {
			return noID(t, f.st.SetWorkingHours(t.Context(), f.a, schedule.WeeklyHours{time.Tuesday: {{Start: 9 * 60, End: 10 * 60}}}))
		}, func(t *testing.T, f *fixture, svc *Service, _ int64) {
			slots, err := svc.Availability(t.Context(), f.cut, &f.a, tue, tue)
			if got := startsOf(slots); err != nil || !slices.Equal(got, []string{"09:00", "09:15", "09:30"}) {
				t.Fatalf("A's Tuesday: %v, %v", got, err)
			}
			_, err = svc.Book(t.Context(), Request{ServiceID: f.cut, StaffID: &f.a, Start: on(1, 13, 0), Customer: kim})
			wantField(t, err, "start", "not_offered")
		}},
		{"time off", func(t *testing.T, f *fixture) int64 {
			_, err := f.st.AddTimeOff(t.Context(), schedule.TimeOff{StaffID: f.a, Range: schedule.DateRange{First: tue, Last: tue}})
			return noID(t, err)
		}, func(t *testing.T, f *fixture, svc *Service, _ int64) {
			if slots, err := svc.Availability(t.Context(), f.cut, &f.a, tue, tue); err != nil || len(slots) != 0 {
				t.Fatalf("A on time off: %v, %v", startsOf(slots), err)
			}
			_, err := svc.Book(t.Context(), Request{ServiceID: f.cut, StaffID: &f.a, Start: on(1, 10, 0), Customer: kim})
			wantField(t, err, "start", "not_offered")
		}},
		{"settings: slot interval", func(t *testing.T, f *fixture) int64 {
			s := settings
			s.SlotInterval = time.Hour
			return noID(t, f.st.UpdateSettings(t.Context(), s))
		}, func(t *testing.T, f *fixture, svc *Service, _ int64) {
			slots, err := svc.Availability(t.Context(), f.cut, &f.a, tue, tue)
			if got := startsOf(slots); err != nil || !slices.Equal(got, []string{"09:00", "10:00", "11:00", "13:00", "14:00", "15:00", "16:00"}) {
				t.Fatalf("hourly grid: %v, %v", got, err)
			}
			_, err = svc.Book(t.Context(), Request{ServiceID: f.cut, Start: on(1, 10, 15), Customer: kim})
			wantField(t, err, "start", "not_offered")
		}},
		{"settings: time zone", func(t *testing.T, f *fixture) int64 {
			s := settings
			s.TimeZone = "UTC"
			return noID(t, f.st.UpdateSettings(t.Context(), s))
		}, func(t *testing.T, f *fixture, svc *Service, _ int64) {
			if loc, err := svc.Location(t.Context()); err != nil || loc != time.UTC {
				t.Fatalf("Location: %v, %v", loc, err)
			}
			slots, err := svc.Availability(t.Context(), f.cut, &f.a, tue, tue)
			if err != nil || len(slots) == 0 || slots[0].Start != time.Date(2030, 5, 7, 9, 0, 0, 0, time.UTC) {
				t.Fatalf("first slot in UTC: %v, %v", slotTexts(slots), err)
			}
		}},
		{"service deactivated", func(t *testing.T, f *fixture) int64 {
			svc := cut(f)
			svc.Active = false
			return noID(t, f.st.UpdateService(t.Context(), svc))
		}, func(t *testing.T, f *fixture, svc *Service, _ int64) {
			_, err := svc.Availability(t.Context(), f.cut, nil, tue, tue)
			wantField(t, err, "serviceId", "unknown")
			_, err = svc.Book(t.Context(), Request{ServiceID: f.cut, Start: on(1, 10, 0), Customer: kim})
			wantField(t, err, "serviceId", "unknown")
		}},
		{"service's staff", func(t *testing.T, f *fixture) int64 {
			svc := cut(f)
			svc.StaffIDs = []int64{f.b}
			return noID(t, f.st.UpdateService(t.Context(), svc))
		}, func(t *testing.T, f *fixture, svc *Service, _ int64) {
			slots, err := svc.Availability(t.Context(), f.cut, nil, tue, tue)
			if err != nil || len(slots) == 0 || slices.ContainsFunc(slots, func(s availability.Slot) bool { return !slices.Equal(s.StaffIDs, []int64{f.b}) }) {
				t.Fatalf("only B: %v, %v", slotTexts(slots), err)
			}
			_, err = svc.Book(t.Context(), Request{ServiceID: f.cut, StaffID: &f.a, Start: on(1, 10, 0), Customer: kim})
			wantField(t, err, "staffId", "not_offered")
		}},
		{"service duration", func(t *testing.T, f *fixture) int64 {
			svc := cut(f)
			svc.Duration = time.Hour
			return noID(t, f.st.UpdateService(t.Context(), svc))
		}, func(t *testing.T, f *fixture, svc *Service, _ int64) {
			slots, err := svc.Availability(t.Context(), f.cut, &f.a, tue, tue)
			if err != nil || len(slots) == 0 || slots[0].End.Sub(slots[0].Start) != time.Hour || startsOf(slots)[len(slots)-1] != "16:00" {
				t.Fatalf("an hour long: %v, %v", slotTexts(slots), err)
			}
		}},
		{"new service", func(t *testing.T, f *fixture) int64 {
			id, err := f.st.CreateService(t.Context(), catalog.Service{Name: "Shave", Duration: 20 * time.Minute, Active: true, StaffIDs: []int64{f.b}})
			if err != nil {
				t.Fatal(err)
			}
			return id
		}, func(t *testing.T, f *fixture, svc *Service, id int64) {
			slots, err := svc.Availability(t.Context(), id, nil, tue, tue)
			if err != nil || len(slots) == 0 || slots[0].End.Sub(slots[0].Start) != 20*time.Minute {
				t.Fatalf("the new service: %v, %v", slotTexts(slots), err)
			}
		}},
		{"staff deactivated", func(t *testing.T, f *fixture) int64 {
			return noID(t, f.st.UpdateStaff(t.Context(), schedule.Staff{ID: f.a, Name: "A", Active: false, SortOrder: 1}))
		}, func(t *testing.T, f *fixture, svc *Service, _ int64) {
			slots, err := svc.Availability(t.Context(), f.cut, nil, tue, tue)
			if err != nil || len(slots) == 0 || slices.ContainsFunc(slots, func(s availability.Slot) bool { return slices.Contains(s.StaffIDs, f.a) }) {
				t.Fatalf("without A: %v, %v", slotTexts(slots), err)
			}
			_, err = svc.Book(t.Context(), Request{ServiceID: f.cut, StaffID: &f.a, Start: on(1, 10, 0), Customer: kim})
			wantField(t, err, "staffId", "unknown")
		}},
		{"by hand in SQL", func(t *testing.T, f *fixture) int64 {
			conn, err := pgx.Connect(t.Context(), f.url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(t.Context())
			if _, err := conn.Exec(t.Context(), `DELETE FROM working_hours WHERE staff_id = $1 AND weekday = 2`, f.a); err != nil {
				t.Fatal(err)
			}
			return 0
		}, func(t *testing.T, f *fixture, svc *Service, _ int64) {
			if slots, err := svc.Availability(t.Context(), f.cut, &f.a, tue, tue); err != nil || len(slots) != 0 {
				t.Fatalf("A without Tuesday hours: %v, %v", startsOf(slots), err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			other := f.replica(t)
			// Both replicas have the catalogue cached.
			for _, svc := range []*Service{f.svc, other} {
				if slots, err := svc.Availability(t.Context(), f.cut, nil, tue, tue); err != nil || len(slots) == 0 {
					t.Fatalf("before the change: %v, %v", slots, err)
				}
			}
			id := tc.change(t, f)
			t.Run("this replica", func(t *testing.T) { tc.check(t, f, f.svc, id) })
			t.Run("another replica", func(t *testing.T) { tc.check(t, f, other, id) })
		})
	}
}

// noID fails the test on an error; it is what a change that has no id for its check returns.
func noID(t *testing.T, err error) int64 {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestCatalogueCachedUntilChanged: requests reuse the cached catalogue while its version is
// current, also after bookings (which are not part of it), and load it again after a change.
func TestCatalogueCachedUntilChanged(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	tue := schedule.DateOf(on(1, 0, 0))
	if _, err := f.svc.Availability(ctx, f.cut, nil, tue, tue); err != nil {
		t.Fatal(err)
	}
	cached := f.svc.cache.current.Load()
	f.book(t, f.cut, &f.a, on(1, 10, 0))
	f.book(t, f.cut, nil, on(1, 10, 0))
	if _, err := f.svc.Availability(ctx, f.cut, nil, tue, tue); err != nil {
		t.Fatal(err)
	}
	if now := f.svc.cache.current.Load(); now != cached {
		t.Fatalf("the catalogue was loaded again (version %d, then %d) although it did not change", cached.version, now.version)
	}
	if _, err := f.st.AddTimeOff(ctx, schedule.TimeOff{StaffID: f.d, Range: schedule.DateRange{First: tue, Last: tue}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Availability(ctx, f.cut, nil, tue, tue); err != nil {
		t.Fatal(err)
	}
	if now := f.svc.cache.current.Load(); now == cached || now.version <= cached.version {
		t.Fatalf("after a change: version %d, before %d", now.version, cached.version)
	}
}

// block books staffID from one time to another directly in the store (no buffers), so that
// tests can fill calendars.
func (f *fixture) block(t *testing.T, staffID int64, from, to time.Time) store.Booking {
	t.Helper()
	h := sha256.Sum256(fmt.Appendf(nil, "%s %d %v", t.Name(), staffID, from))
	b, err := f.st.InsertBooking(t.Context(), store.Booking{
		ServiceID: f.cut, StaffID: staffID, Start: from, End: to, BlockedStart: from, BlockedEnd: to,
		CustomerName: "Block", CustomerEmail: "block@example.com", ManageTokenHash: h[:],
	})
	if err != nil {
		t.Fatalf("block %d %v–%v: %v", staffID, from, to, err)
	}
	return b
}

// fillDay books a staff member's whole working day d days after Monday (09–12, 13–17), but for
// the starts listed (30-minute gaps left free).
func (f *fixture) fillDay(t *testing.T, staffID int64, d int, free ...time.Time) {
	t.Helper()
	var gaps []time.Time
	for _, g := range free {
		gaps = append(gaps, g, g.Add(30*time.Minute))
	}
	for _, iv := range [][2]time.Time{{on(d, 9, 0), on(d, 12, 0)}, {on(d, 13, 0), on(d, 17, 0)}} {
		from := iv[0]
		for i := 0; i < len(gaps); i += 2 {
			if !gaps[i].Before(iv[0]) && !iv[1].Before(gaps[i+1]) {
				if from.Before(gaps[i]) {
					f.block(t, staffID, from, gaps[i])
				}
				from = gaps[i+1]
			}
		}
		if from.Before(iv[1]) {
			f.block(t, staffID, from, iv[1])
		}
	}
}

// slotsTheOldWay computes the slots of the staff for the local dates from..to as the service
// did before it narrowed its reads: busy ranges from a day before to two days after the window.
func (f *fixture) slotsTheOldWay(t *testing.T, svc catalog.Service, staff []schedule.Staff, from, to schedule.Date, exceptBookingID int64, admin bool) []availability.Slot {
	t.Helper()
	e, err := f.svc.env(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, st := range staff {
		ids = append(ids, st.ID)
	}
	busy, err := f.st.BusyRanges(t.Context(), ids,
		time.Date(from.Year, from.Month, from.Day-1, 0, 0, 0, 0, e.loc), time.Date(to.Year, to.Month, to.Day+2, 0, 0, 0, 0, e.loc), exceptBookingID)
	if err != nil {
		t.Fatal(err)
	}
	q := query(e, svc, staff, from, to, busy)
	if admin {
		q = adminQuery(q)
	}
	return f.svc.compute(q, e.loc)
}

// alternativesTheOldWay is how alternatives were found before they were searched day by day: the
// slots of the day and the 30 after it, at once.
func (f *fixture) alternativesTheOldWay(t *testing.T, svc catalog.Service, staff []schedule.Staff, near time.Time, exceptBookingID int64, admin bool) []availability.Slot {
	t.Helper()
	day := schedule.DateOf(near.In(berlin))
	if today := schedule.DateOf(f.clock.now().In(berlin)); day.Before(today) && !admin {
		day = today
	}
	var sameDay, later []availability.Slot
	for _, sl := range f.slotsTheOldWay(t, svc, staff, day, day.AddDays(30), exceptBookingID, admin) {
		if schedule.DateOf(sl.Start) == day {
			sameDay = append(sameDay, sl)
		} else {
			later = append(later, sl)
		}
	}
	if len(sameDay) > MaxAlternatives {
		dist := func(sl availability.Slot) time.Duration { return sl.Start.Sub(near).Abs() }
		slices.SortStableFunc(sameDay, func(a, b availability.Slot) int { return int(dist(a) - dist(b)) })
		sameDay = sameDay[:MaxAlternatives]
		slices.SortFunc(sameDay, func(a, b availability.Slot) int { return a.Start.Compare(b.Start) })
	}
	out := append(sameDay, later...)
	return out[:min(len(out), MaxAlternatives)]
}

// TestAlternatives: searching the taken slot's day first and then widening finds exactly the
// alternatives that computing the whole month found.
func TestAlternatives(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, f *fixture) (near time.Time, except int64)
		anyone  bool // all staff offering the service, not only A
		admin   bool
		want    int // how many alternatives (a sanity check of the scenario)
	}{
		{"plenty on the day", func(t *testing.T, f *fixture) (time.Time, int64) {
			return on(1, 10, 0), 0
		}, false, false, 10},
		{"three left on the day", func(t *testing.T, f *fixture) (time.Time, int64) {
			f.fillDay(t, f.a, 1, on(1, 9, 30), on(1, 14, 0), on(1, 16, 30))
			return on(1, 10, 0), 0
		}, false, false, 10},
		{"the rest of the week full", func(t *testing.T, f *fixture) (time.Time, int64) {
			for d := 1; d <= 8; d++ {
				if d != 5 && d != 6 { // not the weekend: no hours anyway
					f.fillDay(t, f.a, d)
				}
			}
			f.fillDay(t, f.a, 9, on(9, 16, 30)) // one left on the Wednesday after
			return on(1, 10, 0), 0
		}, false, false, 10},
		{"nothing in 30 days", func(t *testing.T, f *fixture) (time.Time, int64) {
			for d := 1; d <= 31; d++ {
				if wd := on(d, 0, 0).Weekday(); wd != time.Saturday && wd != time.Sunday {
					f.fillDay(t, f.a, d)
				}
			}
			return on(1, 10, 0), 0
		}, false, false, 0},
		{"near the advance limit", func(t *testing.T, f *fixture) (time.Time, int64) {
			// 60 days from Monday 08:00: Thursday 4 July is the last full day, Friday has
			// nothing before 08:00.
			f.fillDay(t, f.a, 59, on(59, 9, 0), on(59, 15, 0))
			return on(59, 10, 0), 0
		}, false, false, 2},
		{"in the past: from today", func(t *testing.T, f *fixture) (time.Time, int64) {
			return on(-3, 10, 0), 0
		}, false, false, 10},
		{"admin, in the past", func(t *testing.T, f *fixture) (time.Time, int64) {
			f.fillDay(t, f.a, -3, on(-3, 11, 0))
			return on(-3, 10, 0), 0
		}, false, true, 10},
		{"any staff", func(t *testing.T, f *fixture) (time.Time, int64) {
			f.fillDay(t, f.a, 1, on(1, 9, 0))
			f.fillDay(t, f.b, 1, on(1, 16, 0), on(1, 16, 30))
			f.fillDay(t, f.a, 2, on(2, 11, 0))
			return on(1, 10, 0), 0
		}, true, false, 10},
		{"moving a booking: its own time is free", func(t *testing.T, f *fixture) (time.Time, int64) {
			f.fillDay(t, f.a, 1, on(1, 10, 0), on(1, 13, 0))
			mine := f.block(t, f.a, on(1, 10, 0), on(1, 10, 30))
			return on(1, 10, 15), mine.ID
		}, false, false, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			near, except := tc.prepare(t, f)
			e, err := f.svc.env(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			svc := e.cat.services[f.cut]
			staff := []schedule.Staff{e.cat.staff[f.a]}
			if tc.anyone {
				staff = e.cat.offering[f.cut]
			}
			got, err := f.svc.alternatives(t.Context(), e, svc, staff, near, except, tc.admin, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := f.alternativesTheOldWay(t, svc, staff, near, except, tc.admin)
			if !slices.Equal(slotTexts(got), slotTexts(want)) {
				t.Fatalf("alternatives\n got  %v\n want %v", slotTexts(got), slotTexts(want))
			}
			if len(got) != tc.want {
				t.Fatalf("%d alternatives, the scenario expects %d: %v", len(got), tc.want, slotTexts(got))
			}
		})
	}
}

// TestBusyWindow: availability reads the busy ranges of only the days asked for, widened by the
// service's buffers and by clock changes, and still sees every booking that blocks a start:
// bookings of the day before and after, around midnight, also on the days clocks change.
func TestBusyWindow(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	// E works around the clock; the service has half an hour of buffer on either side.
	e, err := f.st.CreateStaff(ctx, schedule.Staff{Name: "E", Active: true, SortOrder: 5})
	if err != nil {
		t.Fatal(err)
	}
	allDay := schedule.WeeklyHours{}
	for d := time.Sunday; d <= time.Saturday; d++ {
		allDay[d] = []schedule.Interval{{Start: 0, End: 24 * 60}}
	}
	if err := f.st.SetWorkingHours(ctx, e, allDay); err != nil {
		t.Fatal(err)
	}
	long, err := f.st.CreateService(ctx, catalog.Service{Name: "Long", Duration: time.Hour, BufferBefore: 30 * time.Minute,
		BufferAfter: 30 * time.Minute, Active: true, StaffIDs: []int64{e}})
	if err != nil {
		t.Fatal(err)
	}
	// From 1 March 2030, a year ahead (each case sets its zone): the clock changes of 2030 can be
	// booked.
	f.clock.set(time.Date(2030, 3, 1, 0, 0, 0, 0, berlin))
	santiago, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	var bookings atomic.Int32
	put := func(from, to time.Time) {
		bookings.Add(1)
		h := sha256.Sum256(fmt.Appendf(nil, "busy window %d", bookings.Load()))
		if _, err := f.st.InsertBooking(ctx, store.Booking{ServiceID: long, StaffID: e, Start: from, End: to,
			BlockedStart: from, BlockedEnd: to, CustomerName: "Busy", CustomerEmail: "busy@example.com", ManageTokenHash: h[:]}); err != nil {
			t.Fatal(err)
		}
	}
	// wall is a local time in 2030 in the case's zone.
	type wall struct {
		month          time.Month
		day, hour, min int
	}
	for _, tc := range []struct {
		name        string
		loc         *time.Location // the business's time zone
		day         schedule.Date
		busy        [][2]wall // E's bookings, from and to
		first, last string    // the day's first and last start
	}{
		// 00:00 would need 23:30 the day before free.
		{"the day before", berlin, schedule.Date{Year: 2030, Month: 4, Day: 10},
			[][2]wall{{{4, 9, 23, 0}, {4, 9, 23, 45}}}, "00:15", "23:00"},
		// 22:45 would need until 00:15 free.
		{"the day after", berlin, schedule.Date{Year: 2030, Month: 4, Day: 20},
			[][2]wall{{{4, 21, 0, 10}, {4, 21, 0, 40}}}, "00:00", "22:30"},
		// 31 March: clocks go from 02:00 to 03:00; the day has 23 hours.
		{"spring forward", berlin, schedule.Date{Year: 2030, Month: 3, Day: 31},
			[][2]wall{{{3, 30, 23, 0}, {3, 30, 23, 50}}, {{4, 1, 0, 5}, {4, 1, 1, 0}}}, "00:30", "22:30"},
		// 27 October: clocks go from 03:00 back to 02:00; the day has 25 hours.
		{"fall back", berlin, schedule.Date{Year: 2030, Month: 10, Day: 27},
			[][2]wall{{{10, 26, 23, 30}, {10, 26, 23, 45}}, {{10, 28, 0, 0}, {10, 28, 0, 30}}}, "00:15", "22:30"},
		// In Chile clocks go forward at midnight: 8 September 2030 starts at 01:00, so 7 September
		// ends an hour later than time.Date makes of 8 September 00:00. 22:45 (until 23:45, the
		// buffer until 01:15) would overlap the booking at 01:00.
		{"the next midnight does not exist", santiago, schedule.Date{Year: 2030, Month: 9, Day: 7},
			[][2]wall{{{9, 8, 1, 0}, {9, 8, 1, 30}}}, "00:00", "22:30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.st.UpdateSettings(ctx, business.Settings{Name: "Test salon", TimeZone: tc.loc.String(),
				MaxAdvance: 366 * 24 * time.Hour, SlotInterval: 15 * time.Minute, ChangeDeadline: time.Hour}); err != nil {
				t.Fatal(err)
			}
			at := func(w wall) time.Time { return time.Date(2030, w.month, w.day, w.hour, w.min, 0, 0, tc.loc) }
			for _, b := range tc.busy {
				put(at(b[0]), at(b[1]))
			}
			got, err := f.svc.Availability(ctx, long, nil, tc.day, tc.day)
			if err != nil || len(got) == 0 {
				t.Fatalf("%v, %v", got, err)
			}
			cat, _ := f.svc.env(ctx)
			want := f.slotsTheOldWay(t, cat.cat.services[long], cat.cat.offering[long], tc.day, tc.day, 0, false)
			if !slices.Equal(slotTexts(got), slotTexts(want)) {
				t.Fatalf("slots\n got  %v\n want %v", slotTexts(got), slotTexts(want))
			}
			if s := startsOf(got); s[0] != tc.first || s[len(s)-1] != tc.last {
				t.Fatalf("first and last start %s, %s; want %s, %s", s[0], s[len(s)-1], tc.first, tc.last)
			}
		})
	}
}

// TestBusyQuery: the busy ranges read for local dates are the days themselves, widened by the
// buffers and, near a clock change, by its size.
func TestBusyQuery(t *testing.T) {
	svc := catalog.Service{Duration: time.Hour, BufferBefore: 10 * time.Minute, BufferAfter: 20 * time.Minute}
	staff := []schedule.Staff{{ID: 7}, {ID: 3}}
	d := func(y int, m time.Month, day int) schedule.Date { return schedule.Date{Year: y, Month: m, Day: day} }
	at := func(y int, m time.Month, day, h, min int) time.Time {
		return time.Date(y, m, day, h, min, 0, 0, berlin)
	}
	for _, tc := range []struct {
		name     string
		from, to schedule.Date
		lo, hi   time.Time
	}{
		{"one day", d(2030, 5, 7), d(2030, 5, 7), at(2030, 5, 6, 23, 50), at(2030, 5, 8, 0, 20)},
		{"a month", d(2030, 5, 7), d(2030, 6, 6), at(2030, 5, 6, 23, 50), at(2030, 6, 7, 0, 20)},
		{"spring forward", d(2030, 3, 31), d(2030, 3, 31), at(2030, 3, 30, 22, 50), at(2030, 4, 1, 1, 20)},
		{"the day after spring forward", d(2030, 4, 1), d(2030, 4, 1), at(2030, 3, 31, 22, 50), at(2030, 4, 2, 0, 20)},
		{"fall back", d(2030, 10, 27), d(2030, 10, 27), at(2030, 10, 26, 22, 50), at(2030, 10, 28, 1, 20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := busyQuery(berlin, svc, staff, tc.from, tc.to, 42)
			if !q.From.Equal(tc.lo) || !q.To.Equal(tc.hi) || !slices.Equal(q.StaffIDs, []int64{7, 3}) || q.ExceptBookingID != 42 {
				t.Fatalf("got %v – %v, staff %v, except %d; want %v – %v", q.From, q.To, q.StaffIDs, q.ExceptBookingID, tc.lo, tc.hi)
			}
		})
	}
	if q := busyQuery(berlin, svc, nil, d(2030, 5, 7), d(2030, 5, 7), 0); len(q.StaffIDs) != 0 {
		t.Fatalf("no staff: %+v", q)
	}
}
