package availability_test

import (
	"slices"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

// Transition nights, 2026:
//
//	Europe/Berlin     2026-03-29 02:00 CET → 03:00 CEST (02:00–02:59 do not exist)
//	                  2026-10-25 03:00 CEST → 02:00 CET (02:00–02:59 happen twice)
//	America/New_York  2026-03-08 02:00 EST → 03:00 EDT
//	                  2026-11-01 02:00 EDT → 01:00 EST (01:00–01:59 happen twice)

// dstQuery is a 60-minute service on a 30-minute grid on one day.
func dstQuery(loc *time.Location, day string, hours ...schedule.Interval) availability.Query {
	q := query(loc, day, day, availability.StaffCalendar{StaffID: 1, Hours: on(allWeek, hours...)})
	q.Interval = 30 * time.Minute
	q.Service.Duration = time.Hour
	return q
}

func TestComputeDSTTransitionNight(t *testing.T) {
	tests := []struct {
		name string
		q    availability.Query
		want []string // start–end with UTC offsets
	}{
		{
			name: "Berlin spring forward: hours across the gap are two real hours",
			q:    dstQuery(berlin, "2026-03-29", iv("01:00", "04:00")),
			want: []string{"01:00+01:00–03:00+02:00", "01:30+01:00–03:30+02:00", "03:00+02:00–04:00+02:00"},
		},
		{
			name: "Berlin spring forward: 15-minute grid skips the missing hour",
			q: with(dstQuery(berlin, "2026-03-29", iv("01:00", "04:00")), func(q *availability.Query) {
				q.Interval = 15 * time.Minute
				q.Service.Duration = 30 * time.Minute
			}),
			want: []string{
				"01:00+01:00–01:30+01:00", "01:15+01:00–01:45+01:00", "01:30+01:00–03:00+02:00", "01:45+01:00–03:15+02:00",
				"03:00+02:00–03:30+02:00", "03:15+02:00–03:45+02:00", "03:30+02:00–04:00+02:00",
			},
		},
		{
			name: "Berlin spring forward: hours starting in the gap start when it ends",
			q:    dstQuery(berlin, "2026-03-29", iv("02:30", "05:00")),
			want: []string{"03:00+02:00–04:00+02:00", "03:30+02:00–04:30+02:00", "04:00+02:00–05:00+02:00"},
		},
		{
			name: "Berlin spring forward: hours ending in the gap end when it ends",
			q:    dstQuery(berlin, "2026-03-29", iv("00:00", "02:30")),
			want: []string{"00:00+01:00–01:00+01:00", "00:30+01:00–01:30+01:00", "01:00+01:00–03:00+02:00"},
		},
		{
			name: "Berlin spring forward: hours entirely in the gap",
			q:    dstQuery(berlin, "2026-03-29", iv("02:00", "03:00")),
			want: []string{},
		},
		{
			name: "Berlin fall back: the repeated hour is offered once, in summer time",
			q:    dstQuery(berlin, "2026-10-25", iv("01:00", "04:00")),
			want: []string{
				"01:00+02:00–02:00+02:00", "01:30+02:00–02:30+02:00", "02:00+02:00–02:00+01:00",
				"02:30+02:00–02:30+01:00", "03:00+01:00–04:00+01:00",
			},
		},
		{
			name: "Berlin fall back: hours ending in the repeated hour end at its first occurrence",
			q:    dstQuery(berlin, "2026-10-25", iv("00:00", "02:30")),
			want: []string{"00:00+02:00–01:00+02:00", "00:30+02:00–01:30+02:00", "01:00+02:00–02:00+02:00", "01:30+02:00–02:30+02:00"},
		},
		{
			name: "Berlin fall back: hours starting in the repeated hour start at its first occurrence",
			q:    dstQuery(berlin, "2026-10-25", iv("02:30", "04:00")),
			want: []string{"02:30+02:00–02:30+01:00", "03:00+01:00–04:00+01:00"},
		},
		{
			name: "Berlin fall back: a booking in the first 02:00–03:00 does not free the second",
			q: with(dstQuery(berlin, "2026-10-25", iv("01:00", "05:00")), func(q *availability.Query) {
				q.Service.Duration = 30 * time.Minute
				q.Staff[0].Busy = []availability.Range{{Start: instant("2026-10-25T00:00:00Z"), End: instant("2026-10-25T01:00:00Z")}}
			}),
			want: []string{
				"01:00+02:00–01:30+02:00", "01:30+02:00–02:00+02:00", "03:00+01:00–03:30+01:00",
				"03:30+01:00–04:00+01:00", "04:00+01:00–04:30+01:00", "04:30+01:00–05:00+01:00",
			},
		},
		{
			name: "Berlin fall back: a booking in the second 02:00–03:00 blocks what overlaps it",
			q: with(dstQuery(berlin, "2026-10-25", iv("01:00", "04:00")), func(q *availability.Query) {
				q.Staff[0].Busy = []availability.Range{{Start: instant("2026-10-25T01:00:00Z"), End: instant("2026-10-25T02:00:00Z")}}
			}),
			want: []string{"01:00+02:00–02:00+02:00", "01:30+02:00–02:30+02:00", "02:00+02:00–02:00+01:00", "03:00+01:00–04:00+01:00"},
		},
		{
			name: "New York spring forward",
			q:    dstQuery(newYork, "2026-03-08", iv("01:00", "04:00")),
			want: []string{"01:00-05:00–03:00-04:00", "01:30-05:00–03:30-04:00", "03:00-04:00–04:00-04:00"},
		},
		{
			name: "New York fall back: 01:00–01:59 offered once, in daylight time",
			q:    dstQuery(newYork, "2026-11-01", iv("00:00", "03:00")),
			want: []string{
				"00:00-04:00–01:00-04:00", "00:30-04:00–01:30-04:00", "01:00-04:00–01:00-05:00",
				"01:30-04:00–01:30-05:00", "02:00-05:00–03:00-05:00",
			},
		},
		{
			name: "New York on Berlin's transition night: nothing special",
			q:    dstQuery(newYork, "2026-03-29", iv("01:00", "04:00")),
			want: []string{"01:00-04:00–02:00-04:00", "01:30-04:00–02:30-04:00", "02:00-04:00–03:00-04:00", "02:30-04:00–03:30-04:00", "03:00-04:00–04:00-04:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := availability.Compute(tt.q)
			if r := renderSpans(got, tt.q.Location); !slices.Equal(r, tt.want) {
				t.Errorf("got  %q\nwant %q", r, tt.want)
			}
			checkSlots(t, tt.q, got)
			if d := diffSlots(got, reference(tt.q), tt.q.Location); d != "" {
				t.Errorf("differs from the reference: %s", d)
			}
		})
	}
}

// TestComputeTransitionDayAroundTheClock works all day on both Berlin transition days: every local
// hour that exists is offered exactly once, although the days are 23 and 25 hours long.
func TestComputeTransitionDayAroundTheClock(t *testing.T) {
	for _, tt := range []struct {
		day  string
		want int
	}{
		{"2026-03-29", 23}, // 02:00 does not exist
		{"2026-10-25", 24}, // 02:00 exists twice, offered once
		{"2026-06-14", 24},
	} {
		t.Run(tt.day, func(t *testing.T) {
			q := dstQuery(berlin, tt.day, iv("00:00", "24:00"))
			q.Interval = time.Hour
			got := availability.Compute(q)
			r := render(got, berlin, "15:04")
			if len(got) != tt.want {
				t.Fatalf("got %d slots %q, want %d", len(got), r, tt.want)
			}
			if r[0] != "00:00" || r[len(r)-1] != "23:00" {
				t.Errorf("got %q", r)
			}
			checkSlots(t, q, got)
		})
	}
}

// TestComputeSameLocalTimesAcrossDST: a Monday before and after a DST change shows the same local
// start times, at UTC offsets an hour apart.
func TestComputeSameLocalTimesAcrossDST(t *testing.T) {
	hours := on(weekdays, iv("09:00", "12:00"), iv("13:00", "17:30"))
	tests := []struct {
		name                    string
		loc                     *time.Location
		before, after           string
		offsetBefore, offAfter  string
		firstUTCBefore, firstAf string
	}{
		{"Berlin spring", berlin, "2026-03-23", "2026-03-30", "+01:00", "+02:00", "08:00", "07:00"},
		{"Berlin autumn", berlin, "2026-10-19", "2026-10-26", "+02:00", "+01:00", "07:00", "08:00"},
		{"New York spring", newYork, "2026-03-02", "2026-03-09", "-05:00", "-04:00", "14:00", "13:00"},
		{"New York autumn", newYork, "2026-10-26", "2026-11-02", "-04:00", "-05:00", "13:00", "14:00"},
		// New York has already changed when Berlin changes: same offset on Berlin's two Mondays.
		{"New York on Berlin's dates", newYork, "2026-03-23", "2026-03-30", "-04:00", "-04:00", "13:00", "13:00"},
		{"India has no DST", kolkata, "2026-03-23", "2026-03-30", "+05:30", "+05:30", "03:30", "03:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			compute := func(day string) []availability.Slot {
				q := query(tt.loc, day, day, availability.StaffCalendar{StaffID: 1, Hours: hours})
				slots := availability.Compute(q)
				checkSlots(t, q, slots)
				return slots
			}
			a, b := compute(tt.before), compute(tt.after)
			if len(a) == 0 {
				t.Fatal("no slots")
			}
			if ra, rb := render(a, tt.loc, "15:04"), render(b, tt.loc, "15:04"); !slices.Equal(ra, rb) {
				t.Errorf("local starts differ:\n%s %q\n%s %q", tt.before, ra, tt.after, rb)
			}
			for _, c := range []struct {
				slots  []availability.Slot
				offset string
				utc    string
			}{{a, tt.offsetBefore, tt.firstUTCBefore}, {b, tt.offAfter, tt.firstAf}} {
				for _, s := range c.slots {
					if o := s.Start.In(tt.loc).Format("-07:00"); o != c.offset {
						t.Errorf("%v: offset %s, want %s", s.Start, o, c.offset)
					}
				}
				if u := c.slots[0].Start.UTC().Format("15:04"); u != c.utc {
					t.Errorf("first slot %v is %s UTC, want %s", c.slots[0].Start, u, c.utc)
				}
			}
		})
	}
}

// TestComputeWeekAcrossDST asks for two weeks spanning the change at once: every day has the same
// local start times.
func TestComputeWeekAcrossDST(t *testing.T) {
	for _, tt := range []struct {
		loc      *time.Location
		from, to string
	}{
		{berlin, "2026-03-23", "2026-04-05"},
		{berlin, "2026-10-19", "2026-11-01"},
		{newYork, "2026-03-02", "2026-03-15"},
		{newYork, "2026-10-26", "2026-11-08"},
	} {
		t.Run(tt.loc.String()+" "+tt.from, func(t *testing.T) {
			q := query(tt.loc, tt.from, tt.to, availability.StaffCalendar{StaffID: 1, Hours: on(allWeek, iv("08:00", "12:00"), iv("13:00", "18:00"))})
			got := availability.Compute(q)
			checkSlots(t, q, got)
			byDay := map[string][]string{}
			for _, s := range got {
				l := s.Start.In(tt.loc)
				byDay[l.Format(time.DateOnly)] = append(byDay[l.Format(time.DateOnly)], l.Format("15:04"))
			}
			want := cat(clocks("08:00", "11:30", 15), clocks("13:00", "17:30", 15))
			if len(byDay) != 14 {
				t.Errorf("slots on %d days, want 14", len(byDay))
			}
			for day, starts := range byDay {
				if !slices.Equal(starts, want) {
					t.Errorf("%s: %q", day, starts)
				}
			}
		})
	}
}
