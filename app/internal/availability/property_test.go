package availability_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

// propertyZones are time zones with the dates of interesting transitions in them.
var propertyZones = []struct {
	name  string
	dates []string
}{
	{"Europe/Berlin", []string{"2026-03-29", "2026-10-25", "2026-07-01"}},
	{"America/New_York", []string{"2026-03-08", "2026-11-01"}},
	{"Asia/Kolkata", []string{"2026-05-10"}},
	{"Australia/Lord_Howe", []string{"2026-04-05", "2026-10-04"}}, // 30-minute DST
	{"America/Sao_Paulo", []string{"2018-11-04", "2018-02-18"}},   // transitions at midnight
	{"Pacific/Apia", []string{"2011-12-30", "2011-09-24"}},        // a skipped day
	{"Pacific/Chatham", []string{"2026-04-05", "2026-09-27"}},     // +12:45/+13:45
	{"America/St_Johns", []string{"2026-03-08", "2026-11-01"}},    // -03:30/-02:30
	{"Europe/Dublin", []string{"2026-03-29", "2026-10-25"}},       // "negative" DST in winter
	{"UTC", []string{"2026-02-28"}},
}

// randomQuery builds a random but well-formed query around an interesting date.
func randomQuery(r *rand.Rand) availability.Query {
	z := propertyZones[r.IntN(len(propertyZones))]
	loc := mustLoad(z.name)
	anchor := date(z.dates[r.IntN(len(z.dates))])
	from := anchor.AddDays(-r.IntN(4))
	to := from.AddDays(r.IntN(8))
	pick := func(ds ...time.Duration) time.Duration { return ds[r.IntN(len(ds))] }
	m := time.Minute

	q := availability.Query{
		Location: loc,
		From:     from,
		To:       to,
		Interval: pick(0, 5*m, 10*m, 15*m, 15*m, 20*m, 25*m, 30*m, 30*m, 45*m, 60*m, 7*m, 90*m),
		Service: availability.Service{
			Duration:     pick(5*m, 15*m, 25*m, 30*m, 45*m, 60*m, 90*m, 120*m, 240*m),
			BufferBefore: pick(0, 0, 5*m, 10*m, 15*m, 30*m),
			BufferAfter:  pick(0, 0, 5*m, 10*m, 15*m, 30*m),
		},
		MinNotice:  pick(0, 0, 30*m, 2*time.Hour, 24*time.Hour),
		MaxAdvance: pick(0, 0, 24*time.Hour, 72*time.Hour),
	}
	if q.Grid() < 5*m {
		q.Interval = 5 * m
	}
	windowStart := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, loc)
	q.Now = windowStart.Add(time.Duration(r.Int64N(int64(6*24*time.Hour))) - 2*24*time.Hour)

	ids := r.Perm(9)
	for i := range r.IntN(6) {
		cal := availability.StaffCalendar{StaffID: int64(ids[i] + 1), Hours: schedule.WeeklyHours{}}
		for wd := range 7 {
			if r.IntN(5) == 0 {
				continue
			}
			// 1–3 sorted, non-overlapping intervals from cut points on a 5-minute raster,
			// with a bias towards the small hours where transitions happen.
			n := 1 + r.IntN(3)
			var cuts []int
			for len(cuts) < 2*n {
				c := 5 * r.IntN(289)
				if r.IntN(3) == 0 {
					c = 5 * r.IntN(61)
				}
				if !slices.Contains(cuts, c) {
					cuts = append(cuts, c)
				}
			}
			slices.Sort(cuts)
			for j := 0; j < len(cuts); j += 2 {
				cal.Hours[time.Weekday(wd)] = append(cal.Hours[time.Weekday(wd)], schedule.Interval{Start: schedule.Clock(cuts[j]), End: schedule.Clock(cuts[j+1])})
			}
		}
		for range r.IntN(3) {
			first := from.AddDays(r.IntN(10) - 2)
			cal.TimeOff = append(cal.TimeOff, schedule.DateRange{First: first, Last: first.AddDays(r.IntN(3))})
		}
		for range r.IntN(40) {
			start := windowStart.Add(time.Duration(r.Int64N(int64(10*24*time.Hour))) - 24*time.Hour).Truncate(5 * m)
			end := start.Add(pick(5*m, 15*m, 30*m, 60*m, 90*m, 180*m, 0, -30*m))
			cal.Busy = append(cal.Busy, availability.Range{Start: start, End: end})
		}
		q.Staff = append(q.Staff, cal)
	}
	return q
}

// TestComputeProperties checks random calendars (fixed seed) against the invariants and against
// the brute-force reference implementation.
func TestComputeProperties(t *testing.T) {
	trials := 600
	if testing.Short() {
		trials = 100
	}
	r := rand.New(rand.NewPCG(2026, 3))
	total := 0
	for i := range trials {
		q := randomQuery(r)
		name := fmt.Sprintf("%d %s %v–%v grid %v dur %v staff %d", i, q.Location, q.From, q.To, q.Grid(), q.Service.Duration, len(q.Staff))
		got := availability.Compute(q)
		total += len(got)
		ok := t.Run(name, func(t *testing.T) {
			checkSlots(t, q, got)
			if d := diffSlots(got, reference(q), q.Location); d != "" {
				t.Errorf("differs from the reference: %s", d)
			}
		})
		if !ok {
			break
		}
	}
	if total < trials {
		t.Errorf("only %d slots in %d trials: the generator is too strict to test much", total, trials)
	}
}

// FuzzCompute runs the same checks on fuzzer-chosen seeds: go test -fuzz FuzzCompute.
func FuzzCompute(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 2026} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		q := randomQuery(rand.New(rand.NewPCG(seed, seed>>7)))
		got := availability.Compute(q)
		checkSlots(t, q, got)
		if d := diffSlots(got, reference(q), q.Location); d != "" {
			t.Errorf("differs from the reference: %s", d)
		}
	})
}
