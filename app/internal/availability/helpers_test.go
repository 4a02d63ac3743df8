package availability_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"
	_ "time/tzdata" // hermetic time zones: the tests must not depend on the host's zoneinfo

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

var (
	berlin  = mustLoad("Europe/Berlin")
	newYork = mustLoad("America/New_York")
	kolkata = mustLoad("Asia/Kolkata")
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func date(s string) schedule.Date {
	d, err := schedule.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func clock(s string) schedule.Clock {
	c, err := schedule.ParseClock(s)
	if err != nil {
		panic(err)
	}
	return c
}

func iv(from, to string) schedule.Interval {
	return schedule.Interval{Start: clock(from), End: clock(to)}
}

// on returns hours with the same intervals on each of days.
func on(days []time.Weekday, ivs ...schedule.Interval) schedule.WeeklyHours {
	h := schedule.WeeklyHours{}
	for _, d := range days {
		h[d] = slices.Clone(ivs)
	}
	return h
}

var (
	monOnly  = []time.Weekday{time.Monday}
	weekdays = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}
	allWeek  = []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
)

// at parses "2006-01-02 15:04" in loc (only for times that exist exactly once).
func at(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

// instant parses RFC 3339.
func instant(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func busy(loc *time.Location, day, from, to string) availability.Range {
	return availability.Range{Start: at(loc, day+" "+from), End: at(loc, day+" "+to)}
}

func off(first, last string) schedule.DateRange {
	return schedule.DateRange{First: date(first), Last: date(last)}
}

// query asks for loc's days from..to with a 30-minute service on a 15-minute grid, long after Now.
func query(loc *time.Location, from, to string, staff ...availability.StaffCalendar) availability.Query {
	return availability.Query{
		Location: loc,
		From:     date(from),
		To:       date(to),
		Now:      instant("2026-01-01T00:00:00Z"),
		Interval: 15 * time.Minute,
		Service:  availability.Service{Duration: 30 * time.Minute},
		Staff:    staff,
	}
}

// render formats slot starts in loc with layout.
func render(slots []availability.Slot, loc *time.Location, layout string) []string {
	out := []string{}
	for _, s := range slots {
		out = append(out, s.Start.In(loc).Format(layout))
	}
	return out
}

// renderSpans formats slots as "start–end" with UTC offsets.
func renderSpans(slots []availability.Slot, loc *time.Location) []string {
	out := []string{}
	for _, s := range slots {
		out = append(out, s.Start.In(loc).Format("15:04-07:00")+"–"+s.End.In(loc).Format("15:04-07:00"))
	}
	return out
}

// clocks lists "15:04" times from first to last (inclusive) every step minutes.
func clocks(first, last string, step int) []string {
	out := []string{}
	for c := clock(first); c <= clock(last); c += schedule.Clock(step) {
		out = append(out, c.String())
	}
	return out
}

func cat(lists ...[]string) []string { return slices.Concat(lists...) }

// ---- invariants ----

// checkSlots verifies everything that must hold for any result of Compute, independently of how
// it was computed.
func checkSlots(t *testing.T, q availability.Query, slots []availability.Slot) {
	t.Helper()
	if len(slots) == 0 {
		return
	}
	ref := newRefZone(q.Location, q.From, q.To)
	grid := q.Grid()
	order := map[int64]int{}
	for i, s := range q.Staff {
		order[s.StaffID] = i
	}
	for i, s := range slots {
		if i > 0 && !slots[i-1].Start.Before(s.Start) {
			t.Fatalf("slot %d at %v not after slot %d at %v", i, s.Start, i-1, slots[i-1].Start)
		}
		if s.Start.Location() != q.Location || s.End.Location() != q.Location {
			t.Errorf("slot %v not in the query's location", s.Start)
		}
		if s.End.Sub(s.Start) != q.Service.Duration {
			t.Errorf("slot %v: end %v is not start + duration", s.Start, s.End)
		}
		if len(s.StaffIDs) == 0 || cap(s.StaffIDs) != len(s.StaffIDs) {
			t.Errorf("slot %v: staff IDs %v (cap %d)", s.Start, s.StaffIDs, cap(s.StaffIDs))
		}
		if s.Start.Before(q.Now.Add(q.MinNotice)) {
			t.Errorf("slot %v violates the minimum notice", s.Start)
		}
		if q.MaxAdvance > 0 && s.Start.After(q.Now.Add(q.MaxAdvance)) {
			t.Errorf("slot %v violates the maximum advance", s.Start)
		}
		local := s.Start.In(q.Location)
		d := schedule.DateOf(local)
		if d.Before(q.From) || q.To.Before(d) {
			t.Errorf("slot %v outside the window", s.Start)
		}
		h, m, sec := local.Clock()
		tod := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second
		if tod%grid != 0 {
			t.Errorf("slot %v: local time %v not on the %v grid", s.Start, tod, grid)
		}
		// The earliest instant with this local time is the slot's start (no second occurrences).
		if first, ok := ref.resolve(wall(s.Start, q.Location)); !ok || !first.Equal(s.Start) {
			t.Errorf("slot %v is not the first occurrence of its local time", s.Start)
		}
		prev := -1
		for _, id := range s.StaffIDs {
			i, ok := order[id]
			if !ok || i <= prev {
				t.Errorf("slot %v: staff IDs %v not a subsequence of the query's staff", s.Start, s.StaffIDs)
				break
			}
			prev = i
			cal := q.Staff[i]
			for _, r := range cal.TimeOff {
				if r.Contains(d) {
					t.Errorf("slot %v: staff %d is off", s.Start, id)
				}
			}
			blocked := q.Service.Blocked(s.Start)
			for _, b := range cal.Busy {
				if b.Start.Before(b.End) && blocked.Overlaps(b) {
					t.Errorf("slot %v: staff %d busy %v–%v", s.Start, id, b.Start, b.End)
				}
			}
			midnight := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
			within := false
			for _, w := range cal.Hours[d.Weekday()] {
				startAt, _ := ref.resolve(midnight.Add(time.Duration(w.Start) * time.Minute))
				endAt, _ := ref.resolve(midnight.Add(time.Duration(w.End) * time.Minute))
				if !s.Start.Before(startAt) && !s.End.After(endAt) &&
					tod >= time.Duration(w.Start)*time.Minute && tod < time.Duration(w.End)*time.Minute {
					within = true
				}
			}
			if !within {
				t.Errorf("slot %v: staff %d not working then", s.Start, id)
			}
		}
	}
}

// ---- reference implementation: brute force, independent of the engine ----

// refZone resolves local wall-clock times (given as UTC times) by trying every UTC offset in use
// around the window and checking the result's wall clock.
type refZone struct {
	loc     *time.Location
	offsets []time.Duration
}

func newRefZone(loc *time.Location, from, to schedule.Date) refZone {
	z := refZone{loc: loc}
	start := time.Date(from.Year, from.Month, from.Day-2, 0, 0, 0, 0, time.UTC)
	end := time.Date(to.Year, to.Month, to.Day+3, 0, 0, 0, 0, time.UTC)
	for t := start; t.Before(end); t = t.Add(15 * time.Minute) {
		_, o := t.In(loc).Zone()
		if off := time.Duration(o) * time.Second; !slices.Contains(z.offsets, off) {
			z.offsets = append(z.offsets, off)
		}
	}
	return z
}

// wall is t's local wall-clock time in loc, expressed as a UTC time.
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	y, m, d := l.Date()
	h, mi, s := l.Clock()
	return time.Date(y, m, d, h, mi, s, l.Nanosecond(), time.UTC)
}

// resolve returns the earliest instant whose wall clock is local; or, for a local time in a gap,
// the first instant (to the minute) whose wall clock is later, and false.
func (z refZone) resolve(local time.Time) (time.Time, bool) {
	var best time.Time
	found := false
	for _, o := range z.offsets {
		if t := local.Add(-o); wall(t, z.loc).Equal(local) && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	if found {
		return best.In(z.loc), true
	}
	for t := local.Add(-16 * time.Hour).Truncate(time.Minute); ; t = t.Add(time.Minute) {
		if !wall(t, z.loc).Before(local) {
			return t.In(z.loc), false
		}
	}
}

// reference computes slots by brute force: every grid time of every day for every staff member,
// every busy range checked with Range.Overlaps. Only for well-formed hours (sorted, not
// overlapping, within 00:00–24:00).
func reference(q availability.Query) []availability.Slot {
	if len(q.Staff) == 0 || q.Validate() != nil {
		return nil
	}
	z := newRefZone(q.Location, q.From, q.To)
	grid := q.Grid()
	type entry struct {
		start time.Time
		ids   []int64
	}
	byStart := map[int64]*entry{}
	for d := q.From; !q.To.Before(d); d = d.AddDays(1) {
		midnight := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
		for _, cal := range q.Staff {
			isOff := false
			for _, r := range cal.TimeOff {
				isOff = isOff || r.Contains(d)
			}
			if isOff {
				continue
			}
			for _, w := range cal.Hours[d.Weekday()] {
				from, to := time.Duration(w.Start)*time.Minute, time.Duration(w.End)*time.Minute
				startAt, _ := z.resolve(midnight.Add(from))
				endAt, _ := z.resolve(midnight.Add(to))
			candidates:
				for g := time.Duration(0); g < 24*time.Hour; g += grid {
					if g < from || g >= to {
						continue
					}
					st, ok := z.resolve(midnight.Add(g))
					if !ok || st.Before(startAt) || st.Add(q.Service.Duration).After(endAt) {
						continue
					}
					if st.Before(q.Now.Add(q.MinNotice)) || (q.MaxAdvance > 0 && st.After(q.Now.Add(q.MaxAdvance))) {
						continue
					}
					blocked := q.Service.Blocked(st)
					for _, b := range cal.Busy {
						if b.Start.Before(b.End) && blocked.Overlaps(b) {
							continue candidates
						}
					}
					e := byStart[st.UnixNano()]
					if e == nil {
						e = &entry{start: st}
						byStart[st.UnixNano()] = e
					}
					if len(e.ids) == 0 || e.ids[len(e.ids)-1] != cal.StaffID {
						e.ids = append(e.ids, cal.StaffID)
					}
				}
			}
		}
	}
	var out []availability.Slot
	for _, e := range byStart {
		out = append(out, availability.Slot{Start: e.start, End: e.start.Add(q.Service.Duration), StaffIDs: e.ids})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out
}

// diffSlots describes the first difference between two slot lists, or returns "".
func diffSlots(got, want []availability.Slot, loc *time.Location) string {
	f := func(s availability.Slot) string {
		return fmt.Sprintf("%s–%s %v", s.Start.In(loc).Format(time.RFC3339), s.End.In(loc).Format("15:04-07:00"), s.StaffIDs)
	}
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			return fmt.Sprintf("missing slot %d: %s", i, f(want[i]))
		case i >= len(want):
			return fmt.Sprintf("extra slot %d: %s", i, f(got[i]))
		case !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) || !slices.Equal(got[i].StaffIDs, want[i].StaffIDs):
			return fmt.Sprintf("slot %d: got %s, want %s", i, f(got[i]), f(want[i]))
		}
	}
	return ""
}
