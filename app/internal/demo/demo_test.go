package demo_test

import (
	"sync"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/demo"
	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestSeed(t *testing.T) {
	ctx := t.Context()
	st, err := store.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2030, 5, 6, 8, 0, 0, 0, time.UTC)
	// Twice at once and once more: the data is there once.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := demo.SeedAt(ctx, st, now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := demo.Seed(ctx, st); err != nil {
		t.Fatal(err)
	}

	set, err := st.Settings(ctx)
	if err != nil || set != demo.Settings {
		t.Fatalf("settings %+v, %v", set, err)
	}
	svcs, err := st.ListServices(ctx, true)
	if err != nil || len(svcs) != 4 {
		t.Fatalf("%d services, %v", len(svcs), err)
	}
	buffers := 0
	for _, s := range svcs {
		if len(s.StaffIDs) == 0 {
			t.Errorf("%s has no staff", s.Name)
		}
		if s.BufferBefore > 0 || s.BufferAfter > 0 {
			buffers++
		}
	}
	if buffers < 2 {
		t.Errorf("only %d services with buffers", buffers)
	}
	staff, err := st.ListStaff(ctx, true)
	if err != nil || len(staff) != 3 {
		t.Fatalf("%d staff, %v", len(staff), err)
	}
	for _, s := range staff {
		h, err := st.WorkingHours(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h[time.Saturday]) == 0 || len(h[time.Wednesday]) != 2 {
			t.Errorf("%s: hours %v (want Saturdays and a lunch break)", s.Name, h)
		}
	}
	off, err := st.ListTimeOff(ctx, nil, schedule.Date{}, schedule.Date{})
	if err != nil || len(off) != 1 {
		t.Fatalf("time off %v, %v", off, err)
	}

	// Every service can be booked in the demo's first week.
	svc := booking.NewService(st, booking.WithNow(func() time.Time { return now }))
	from := schedule.DateOf(now)
	for _, s := range svcs {
		slots, err := svc.Availability(ctx, s.ID, nil, from, from.AddDays(6))
		if err != nil || len(slots) == 0 {
			t.Errorf("%s: %d slots, %v", s.Name, len(slots), err)
		}
	}
}
