package availability_test

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
)

// benchQuery is the app benchmark's availability request: 31 days (including Berlin's spring DST
// change), 20 staff working 08:00–18:00 with a lunch break Monday to Saturday, 5,000 existing
// bookings spread over them, a 30-minute service with buffers on a 15-minute grid.
func benchQuery(sortedBusy bool) availability.Query {
	r := rand.New(rand.NewPCG(31, 20))
	hours := on([]time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday},
		iv("08:00", "12:30"), iv("13:30", "18:00"))
	q := query(berlin, "2026-03-01", "2026-03-31")
	q.Now = at(berlin, "2026-02-28 12:00")
	q.MinNotice = 2 * time.Hour
	q.MaxAdvance = 60 * 24 * time.Hour
	q.Service = availability.Service{Duration: 30 * time.Minute, BufferBefore: 5 * time.Minute, BufferAfter: 10 * time.Minute}
	for id := int64(1); id <= 20; id++ {
		q.Staff = append(q.Staff, availability.StaffCalendar{StaffID: id, Hours: hours})
	}
	for range 5000 {
		s := &q.Staff[r.IntN(len(q.Staff))]
		day := 1 + r.IntN(31)
		start := time.Date(2026, 3, day, 8, 0, 0, 0, berlin).Add(time.Duration(r.IntN(40)) * 15 * time.Minute)
		s.Busy = append(s.Busy, availability.Range{
			Start: start.Add(-5 * time.Minute),
			End:   start.Add(time.Duration(2+r.IntN(6))*15*time.Minute + 10*time.Minute),
		})
	}
	if sortedBusy {
		for i := range q.Staff {
			slices.SortFunc(q.Staff[i].Busy, func(a, b availability.Range) int { return a.Start.Compare(b.Start) })
		}
	}
	return q
}

// BenchmarkCompute has busy ranges in random order; BenchmarkComputeSortedBusy as a database
// query with ORDER BY would return them.
func BenchmarkCompute(b *testing.B)           { benchmarkCompute(b, false) }
func BenchmarkComputeSortedBusy(b *testing.B) { benchmarkCompute(b, true) }

func benchmarkCompute(b *testing.B, sorted bool) {
	q := benchQuery(sorted)
	if n := len(availability.Compute(q)); n == 0 {
		b.Fatal("no slots")
	}
	b.ReportAllocs()
	for b.Loop() {
		availability.Compute(q)
	}
}

func TestBenchQueryIsRealistic(t *testing.T) {
	q := benchQuery(false)
	slots := availability.Compute(q)
	checkSlots(t, q, slots)
	if d := diffSlots(slots, reference(q), q.Location); d != "" {
		t.Errorf("differs from the reference: %s", d)
	}
	busyStarts, total := 0, 0
	for _, s := range slots {
		total += len(s.StaffIDs)
	}
	// 26 working days × 34 starts × 20 staff if nobody were booked.
	busyStarts = 26*34*20 - total
	if len(slots) < 26*30 || busyStarts < 26*34*20/4 {
		t.Errorf("%d slots, %d staff-starts blocked: the bookings should block a good part but not all", len(slots), busyStarts)
	}
	t.Logf("%d slots, %d staff-starts free, %d blocked", len(slots), total, busyStarts)
}
