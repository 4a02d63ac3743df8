package store_test

import (
	"cmp"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// TestCatalogVersion: every change of the catalogue bumps the version, whichever table and
// however it is made (also when it changes no row); bookings never do.
func TestCatalogVersion(t *testing.T) {
	st, svc, a, b := fixture(t)
	ctx := t.Context()
	mon := schedule.Date{Year: 2030, Month: 5, Day: 6}
	off := must[int64](t)(st.AddTimeOff(ctx, schedule.TimeOff{StaffID: a, Range: schedule.DateRange{First: mon, Last: mon}}))
	booked := insert(t, st, svc, a, at(9, 0), at(9, 30))
	service := must[catalog.Service](t)(st.GetService(ctx, svc))
	for _, tc := range []struct {
		name   string
		change func(ctx context.Context) error
		bumps  bool
	}{
		{"update settings", func(ctx context.Context) error {
			return st.UpdateSettings(ctx, business.Settings{Name: "Salon", TimeZone: "Europe/Berlin", MinNotice: time.Hour,
				MaxAdvance: 30 * 24 * time.Hour, SlotInterval: 15 * time.Minute})
		}, true},
		{"create staff", func(ctx context.Context) error {
			_, err := st.CreateStaff(ctx, schedule.Staff{Name: "C", Active: true})
			return err
		}, true},
		{"update staff", func(ctx context.Context) error {
			return st.UpdateStaff(ctx, schedule.Staff{ID: b, Name: "B2", Active: true})
		}, true},
		{"create service", func(ctx context.Context) error {
			_, err := st.CreateService(ctx, catalog.Service{Name: "T", Duration: time.Hour, StaffIDs: []int64{b}})
			return err
		}, true},
		{"update service (its staff too)", func(ctx context.Context) error {
			s := service
			s.StaffIDs = []int64{b}
			return st.UpdateService(ctx, s)
		}, true},
		{"set working hours", func(ctx context.Context) error {
			return st.SetWorkingHours(ctx, a, schedule.WeeklyHours{time.Monday: {{Start: 9 * 60, End: 17 * 60}}})
		}, true},
		{"set no working hours", func(ctx context.Context) error {
			return st.SetWorkingHours(ctx, b, schedule.WeeklyHours{}) // b had none: no row changes
		}, true},
		{"add time off", func(ctx context.Context) error {
			_, err := st.AddTimeOff(ctx, schedule.TimeOff{StaffID: b, Range: schedule.DateRange{First: mon, Last: mon}})
			return err
		}, true},
		{"delete time off", func(ctx context.Context) error { return st.DeleteTimeOff(ctx, off) }, true},
		{"delete a staff member (with cascades)", func(ctx context.Context) error {
			id, err := st.CreateStaff(ctx, schedule.Staff{Name: "Gone"})
			if err != nil {
				return err
			}
			before := must[int64](t)(st.CatalogVersion(ctx))
			if err := st.DeleteStaff(ctx, id); err != nil {
				return err
			}
			if after := must[int64](t)(st.CatalogVersion(ctx)); after <= before {
				t.Errorf("DeleteStaff: version %d, then %d", before, after)
			}
			return nil
		}, true},
		{"a change inside InTx", func(ctx context.Context) error {
			return st.InTx(ctx, func(tx *store.Store) error {
				return tx.UpdateStaff(ctx, schedule.Staff{ID: b, Name: "B3", Active: true})
			})
		}, true},
		{"insert a booking", func(ctx context.Context) error {
			_, err := st.InsertBooking(ctx, newBooking(svc, b, at(9, 0), at(9, 30)))
			return err
		}, false},
		{"move a booking", func(ctx context.Context) error {
			_, err := st.MoveBooking(ctx, booked.ID, store.Move{StaffID: a, Start: at(10, 0), End: at(10, 30), BlockedStart: at(10, 0), BlockedEnd: at(10, 30)})
			return err
		}, false},
		{"cancel a booking", func(ctx context.Context) error {
			_, err := st.CancelBooking(ctx, booked.ID)
			return err
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := must[int64](t)(st.CatalogVersion(ctx))
			if err := tc.change(ctx); err != nil {
				t.Fatal(err)
			}
			after := must[int64](t)(st.CatalogVersion(ctx))
			if bumped := after > before; bumped != tc.bumps || after < before {
				t.Fatalf("version %d, then %d; want bumped = %v", before, after, tc.bumps)
			}
		})
	}
}

// TestLoadCatalog: the catalogue is what the individual queries return, with the current version.
func TestLoadCatalog(t *testing.T) {
	st, _, a, b := fixture(t)
	ctx := t.Context()
	must[int64](t)(st.CreateService(ctx, catalog.Service{Name: "Inactive", Duration: time.Hour, StaffIDs: []int64{b}}))
	must[int64](t)(st.CreateStaff(ctx, schedule.Staff{Name: "Inactive, no hours"}))
	if err := st.SetWorkingHours(ctx, a, schedule.WeeklyHours{
		time.Monday: {{Start: 13 * 60, End: 17 * 60}, {Start: 9 * 60, End: 12 * 60}}, time.Friday: {{Start: 10 * 60, End: 11 * 60}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, d := range []int{20, 6, 13} {
		first := schedule.Date{Year: 2030, Month: 5, Day: d}
		must[int64](t)(st.AddTimeOff(ctx, schedule.TimeOff{StaffID: b, Range: schedule.DateRange{First: first, Last: first.AddDays(1)}, Reason: "off"}))
	}

	check := func(t *testing.T, st *store.Store) {
		t.Helper()
		c := must[store.Catalog](t)(st.LoadCatalog(ctx))
		if v := must[int64](t)(st.CatalogVersion(ctx)); c.Version != v {
			t.Errorf("version %d, current %d", c.Version, v)
		}
		if want := must[business.Settings](t)(st.Settings(ctx)); c.Settings != want {
			t.Errorf("settings %+v, want %+v", c.Settings, want)
		}
		if want := must[[]catalog.Service](t)(st.ListServices(ctx, false)); !slices.EqualFunc(c.Services, want, func(x, y catalog.Service) bool {
			return x.ID == y.ID && x.Name == y.Name && x.Active == y.Active && x.Duration == y.Duration && slices.Equal(x.StaffIDs, y.StaffIDs)
		}) {
			t.Errorf("services %+v, want %+v", c.Services, want)
		}
		staff := must[[]schedule.Staff](t)(st.ListStaff(ctx, false))
		if !slices.Equal(c.Staff, staff) {
			t.Errorf("staff %+v, want %+v", c.Staff, staff)
		}
		var ids []int64
		for _, s := range staff {
			ids = append(ids, s.ID)
		}
		hours := must[map[int64]schedule.WeeklyHours](t)(st.WorkingHoursFor(ctx, ids))
		if len(c.Hours) != len(hours) {
			t.Errorf("hours of %d staff members, want %d", len(c.Hours), len(hours))
		}
		for id, h := range hours {
			got, ok := c.Hours[id]
			if !ok || len(got) != len(h) {
				t.Errorf("hours of %d: %v, want %v", id, got, h)
			}
			for d, ivs := range h {
				if !slices.Equal(got[d], ivs) {
					t.Errorf("hours of %d on %v: %v, want %v", id, d, got[d], ivs)
				}
			}
		}
		if want := must[[]schedule.TimeOff](t)(st.ListTimeOff(ctx, nil, schedule.Date{}, schedule.Date{})); !slices.Equal(c.TimeOff, want) || len(want) != 3 {
			t.Errorf("time off %+v, want %+v", c.TimeOff, want)
		}
	}
	t.Run("pool", func(t *testing.T) { check(t, st) })
	t.Run("inside InTx", func(t *testing.T) {
		if err := st.InTx(ctx, func(tx *store.Store) error { check(t, tx); return nil }); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCatalogVersionAndBusy: the busy ranges come with the version, as BusyRanges returns them
// (in any order), for one staff member and for several.
func TestCatalogVersionAndBusy(t *testing.T) {
	st, svc, a, b := fixture(t)
	ctx := t.Context()
	c := must[int64](t)(st.CreateStaff(ctx, schedule.Staff{Name: "C", Active: true}))
	insert(t, st, svc, a, at(9, 0), at(9, 30))
	mine := insert(t, st, svc, a, at(11, 0), at(11, 30))
	insert(t, st, svc, a, at(8, 0), at(8, 30))
	insert(t, st, svc, b, at(23, 30), at(24, 30)) // overlaps the end of the day
	insert(t, st, svc, b, at(-1, 0), at(0, 0))    // ends when the day begins: not busy
	must[store.Booking](t)(st.CancelBooking(ctx, insert(t, st, svc, b, at(12, 0), at(12, 30)).ID))
	insert(t, st, svc, c, at(10, 0), at(10, 30))

	sorted := func(m map[int64][]availability.Range) map[int64][]availability.Range {
		for _, rs := range m {
			slices.SortFunc(rs, func(x, y availability.Range) int { return cmp.Compare(x.Start.UnixNano(), y.Start.UnixNano()) })
		}
		return m
	}
	version := must[int64](t)(st.CatalogVersion(ctx))
	for _, tc := range []struct {
		name   string
		staff  []int64
		except int64
	}{
		{"one staff member", []int64{a}, 0},
		{"one, except a booking", []int64{a}, mine.ID},
		{"several", []int64{a, b}, 0},
		{"several, except a booking", []int64{b, a, c}, mine.ID},
		{"someone without bookings", []int64{must[int64](t)(st.CreateStaff(ctx, schedule.Staff{Name: "D"}))}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			version := must[int64](t)(st.CatalogVersion(ctx)) // the case list created a staff member
			q := store.BusyQuery{StaffIDs: tc.staff, From: day, To: day.Add(24 * time.Hour), ExceptBookingID: tc.except}
			v, got, err := st.CatalogVersionAndBusy(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			want := must[map[int64][]availability.Range](t)(st.BusyRanges(ctx, q.StaffIDs, q.From, q.To, q.ExceptBookingID))
			if v != version {
				t.Errorf("version %d, want %d", v, version)
			}
			got = sorted(got)
			if len(got) != len(want) {
				t.Fatalf("busy %v, want %v", got, want)
			}
			for id, rs := range want {
				if !slices.EqualFunc(got[id], rs, func(x, y availability.Range) bool { return x.Start.Equal(y.Start) && x.End.Equal(y.End) }) {
					t.Errorf("busy of %d: %v, want %v", id, got[id], rs)
				}
			}
		})
	}
	// Without staff only the version is read.
	if v, busy, err := st.CatalogVersionAndBusy(ctx, store.BusyQuery{}); err != nil || busy != nil || v < version {
		t.Fatalf("no staff: %d, %v, %v", v, busy, err)
	}
	// BusyRanges itself, for one staff member: the 8:00 booking, the 9:00 one, the 11:00 one.
	busy := must[map[int64][]availability.Range](t)(st.BusyRanges(ctx, []int64{a}, day, day.Add(24*time.Hour), 0))
	if len(busy[a]) != 3 || !busy[a][0].Start.Equal(at(8, 0)) || !busy[a][2].Start.Equal(at(11, 0)) {
		t.Fatalf("BusyRanges(a), by start: %v", busy)
	}
}
