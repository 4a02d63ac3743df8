package availability_test

import (
	"slices"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

// monday is a Monday in Europe/Berlin far from DST changes (CET, +01:00).
const monday = "2026-03-23"

// oneDay is a query for staff member 1 on monday in Berlin with the given hours.
func oneDay(hours ...schedule.Interval) availability.Query {
	return query(berlin, monday, monday, availability.StaffCalendar{StaffID: 1, Hours: on(monOnly, hours...)})
}

func with(q availability.Query, change func(q *availability.Query)) availability.Query {
	change(&q)
	return q
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name      string
		q         availability.Query
		layout    string // of the wanted starts in q.Location; "15:04" if empty
		want      []string
		malformed bool // hours are not well-formed: skip the hours check of checkSlots
	}{
		// ---- hours and grid ----
		{
			name: "starts on the grid while the appointment fits",
			q:    oneDay(iv("09:00", "10:30")),
			want: clocks("09:00", "10:00", 15),
		},
		{
			name: "appointment exactly filling the interval",
			q:    oneDay(iv("09:00", "09:30")),
			want: []string{"09:00"},
		},
		{
			name: "service longer than the interval gives no slot",
			q:    with(oneDay(iv("09:00", "09:30")), func(q *availability.Query) { q.Service.Duration = 45 * time.Minute }),
			want: []string{},
		},
		{
			name: "service longer than the grid interval: 45 minutes on a 15-minute grid",
			q:    with(oneDay(iv("09:00", "10:30")), func(q *availability.Query) { q.Service.Duration = 45 * time.Minute }),
			want: clocks("09:00", "09:45", 15),
		},
		{
			name: "30-minute grid with hours starting at :10 starts at the next grid time",
			q:    with(oneDay(iv("09:10", "11:00")), func(q *availability.Query) { q.Interval = 30 * time.Minute }),
			want: []string{"09:30", "10:00", "10:30"},
		},
		{
			name: "hours starting on a grid time",
			q:    with(oneDay(iv("09:30", "11:00")), func(q *availability.Query) { q.Interval = 30 * time.Minute }),
			want: []string{"09:30", "10:00", "10:30"},
		},
		{
			name: "grid is anchored at midnight: 25 minutes",
			q:    with(oneDay(iv("09:00", "11:00")), func(q *availability.Query) { q.Interval = 25 * time.Minute }),
			want: []string{"09:10", "09:35", "10:00", "10:25"},
		},
		{
			name: "grid of 7 minutes",
			q:    with(oneDay(iv("09:00", "09:45")), func(q *availability.Query) { q.Interval = 7 * time.Minute }),
			want: []string{"09:06", "09:13"}, // 546 = 78·7 minutes; 09:20 would end at 09:50
		},
		{
			name: "no interval: the service's duration is the grid, anchored at midnight",
			q: with(oneDay(iv("09:00", "11:00")), func(q *availability.Query) {
				q.Interval = 0
				q.Service.Duration = 40 * time.Minute
			}),
			want: []string{"09:20", "10:00"}, // 560 = 14·40 minutes; 10:40 would end at 11:20
		},
		{
			name: "negative interval means the service's duration",
			q:    with(oneDay(iv("09:00", "11:00")), func(q *availability.Query) { q.Interval = -time.Minute }),
			want: []string{"09:00", "09:30", "10:00", "10:30"},
		},
		{
			name: "lunch break",
			q: with(oneDay(iv("09:00", "12:00"), iv("13:00", "15:00")), func(q *availability.Query) {
				q.Interval = 30 * time.Minute
				q.Service.Duration = time.Hour
			}),
			want: cat(clocks("09:00", "11:00", 30), clocks("13:00", "14:00", 30)),
		},
		{
			name: "an appointment never spans two adjacent intervals",
			q: with(oneDay(iv("09:00", "10:00"), iv("10:00", "11:00")), func(q *availability.Query) {
				q.Interval = 30 * time.Minute
				q.Service.Duration = time.Hour
			}),
			want: []string{"09:00", "10:00"},
		},
		{
			name: "hours until 24:00",
			q:    with(oneDay(iv("23:00", "24:00")), func(q *availability.Query) { q.Interval = 30 * time.Minute }),
			want: []string{"23:00", "23:30"},
		},
		{
			name: "hours from 00:00",
			q:    with(oneDay(iv("00:00", "01:00")), func(q *availability.Query) { q.Interval = 30 * time.Minute }),
			want: []string{"00:00", "00:30"},
		},
		{
			name: "overlapping intervals are merged, bad ones clipped or dropped",
			q: with(oneDay(iv("09:30", "10:30"), iv("09:00", "10:00"), iv("11:00", "10:00"),
				schedule.Interval{Start: 1400, End: 1500}, schedule.Interval{Start: -60, End: 30}),
				func(q *availability.Query) { q.Interval = 30 * time.Minute }),
			want:      []string{"00:00", "09:00", "09:30", "10:00", "23:30"},
			malformed: true,
		},
		{
			name: "no hours that weekday",
			q: query(berlin, monday, monday, availability.StaffCalendar{
				StaffID: 1, Hours: on([]time.Weekday{time.Tuesday}, iv("09:00", "17:00")),
			}),
			want: []string{},
		},
		{
			name: "empty interval list that weekday",
			q:    oneDay(),
			want: []string{},
		},
		{
			name: "nil hours",
			q:    query(berlin, monday, monday, availability.StaffCalendar{StaffID: 1}),
			want: []string{},
		},
		{
			name: "no staff",
			q:    query(berlin, monday, monday),
			want: []string{},
		},

		// ---- busy ranges and buffers ----
		{
			name: "booking ending at 10:00 leaves a 10:00 slot",
			q: with(oneDay(iv("09:00", "11:00")), func(q *availability.Query) {
				q.Interval = 30 * time.Minute
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "09:00", "10:00")}
			}),
			want: []string{"10:00", "10:30"},
		},
		{
			name: "booking starting at 10:00 leaves a slot ending at 10:00",
			q: with(oneDay(iv("09:00", "11:00")), func(q *availability.Query) {
				q.Interval = 30 * time.Minute
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "10:00", "10:30")}
			}),
			want: []string{"09:00", "09:30", "10:30"},
		},
		{
			name: "booking inside a candidate blocks it",
			q: with(oneDay(iv("09:00", "11:00")), func(q *availability.Query) {
				q.Service.Duration = time.Hour
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "09:50", "09:55")}
			}),
			want: []string{"10:00"},
		},
		{
			name: "buffer before blocks the slot right after a booking",
			q: with(oneDay(iv("09:00", "11:00")), func(q *availability.Query) {
				q.Service.BufferBefore = 15 * time.Minute
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "09:00", "10:00")}
			}),
			want: []string{"10:15", "10:30"},
		},
		{
			name: "buffer after blocks the slots right before a booking",
			q: with(oneDay(iv("09:00", "11:00")), func(q *availability.Query) {
				q.Service.BufferAfter = 15 * time.Minute
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "10:00", "11:00")}
			}),
			want: []string{"09:00", "09:15"},
		},
		{
			name: "buffers on both sides",
			q: with(oneDay(iv("09:00", "12:00")), func(q *availability.Query) {
				q.Interval = 30 * time.Minute
				q.Service.BufferBefore = 10 * time.Minute
				q.Service.BufferAfter = 10 * time.Minute
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "10:00", "10:30")}
			}),
			want: []string{"09:00", "11:00", "11:30"},
		},
		{
			name: "buffers may lie outside working hours",
			q: with(oneDay(iv("09:00", "10:00")), func(q *availability.Query) {
				q.Service.Duration = time.Hour
				q.Service.BufferBefore = 30 * time.Minute
				q.Service.BufferAfter = 30 * time.Minute
			}),
			want: []string{"09:00"},
		},
		{
			name: "buffers outside working hours still must not overlap busy ranges",
			q: with(oneDay(iv("09:00", "10:00")), func(q *availability.Query) {
				q.Service.Duration = time.Hour
				q.Service.BufferBefore = 30 * time.Minute
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "08:00", "08:45")}
			}),
			want: []string{},
		},
		{
			name: "busy range ending exactly where the buffer starts",
			q: with(oneDay(iv("09:00", "10:00")), func(q *availability.Query) {
				q.Service.Duration = time.Hour
				q.Service.BufferBefore = 30 * time.Minute
				q.Service.BufferAfter = 30 * time.Minute
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "08:00", "08:30"), busy(berlin, monday, "10:30", "11:00")}
			}),
			want: []string{"09:00"},
		},
		{
			name: "unsorted, overlapping and nested busy ranges",
			q: with(oneDay(iv("09:00", "12:00")), func(q *availability.Query) {
				q.Staff[0].Busy = []availability.Range{
					busy(berlin, monday, "11:00", "11:30"),
					busy(berlin, monday, "09:00", "09:45"),
					busy(berlin, monday, "09:15", "09:30"),
					busy(berlin, monday, "09:40", "10:00"),
				}
			}),
			want: []string{"10:00", "10:15", "10:30", "11:30"},
		},
		{
			name: "adjacent busy ranges act as one",
			q: with(oneDay(iv("09:00", "11:00")), func(q *availability.Query) {
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "09:00", "09:30"), busy(berlin, monday, "09:30", "10:15")}
			}),
			want: []string{"10:15", "10:30"},
		},
		{
			name: "empty and inverted busy ranges are ignored",
			q: with(oneDay(iv("09:00", "10:00")), func(q *availability.Query) {
				q.Interval = 30 * time.Minute
				q.Staff[0].Busy = []availability.Range{busy(berlin, monday, "09:40", "09:40"), busy(berlin, monday, "10:00", "09:00")}
			}),
			want: []string{"09:00", "09:30"},
		},
		{
			name: "busy on other days does not matter",
			q: with(oneDay(iv("09:00", "10:00")), func(q *availability.Query) {
				q.Interval = 30 * time.Minute
				q.Staff[0].Busy = []availability.Range{busy(berlin, "2026-03-22", "09:00", "10:00"), busy(berlin, "2026-03-24", "09:00", "10:00")}
			}),
			want: []string{"09:00", "09:30"},
		},
		{
			name: "busy for the whole window",
			q: with(oneDay(iv("09:00", "10:00")), func(q *availability.Query) {
				q.Staff[0].Busy = []availability.Range{{Start: instant("2026-01-01T00:00:00Z"), End: instant("2027-01-01T00:00:00Z")}}
			}),
			want: []string{},
		},
		{
			name: "busy ranges with zero times",
			q: with(oneDay(iv("09:00", "10:00")), func(q *availability.Query) {
				q.Interval = 30 * time.Minute
				q.Staff[0].Busy = []availability.Range{
					{End: instant("2026-03-23T08:15:00Z")},                                     // from year 1 to 09:15 local
					{Start: at(berlin, monday+" 10:00"), End: instant("2500-01-01T00:00:00Z")}, // beyond UnixNano's range
				}
			}),
			want: []string{"09:30"},
		},

		// ---- notice and advance ----
		{
			name: "minimum notice",
			q: with(oneDay(iv("09:00", "12:00")), func(q *availability.Query) {
				q.Now = at(berlin, monday+" 09:07")
				q.MinNotice = time.Hour
			}),
			want: clocks("10:15", "11:30", 15),
		},
		{
			name: "minimum notice boundary is inclusive",
			q: with(oneDay(iv("09:00", "12:00")), func(q *availability.Query) {
				q.Now = at(berlin, monday+" 09:00")
				q.MinNotice = time.Hour
			}),
			want: clocks("10:00", "11:30", 15),
		},
		{
			name: "no notice: now itself is bookable, the past is not",
			q: with(oneDay(iv("09:00", "12:00")), func(q *availability.Query) {
				q.Now = at(berlin, monday+" 11:00")
			}),
			want: []string{"11:00", "11:15", "11:30"},
		},
		{
			name: "maximum advance boundary is inclusive",
			q: with(oneDay(iv("09:00", "12:00")), func(q *availability.Query) {
				q.Now = at(berlin, monday+" 08:00")
				q.MaxAdvance = 2 * time.Hour
			}),
			want: clocks("09:00", "10:00", 15),
		},
		{
			name: "notice and advance together",
			q: with(oneDay(iv("09:00", "12:00")), func(q *availability.Query) {
				q.Now = at(berlin, monday+" 08:00")
				q.MinNotice = 90 * time.Minute
				q.MaxAdvance = 2 * time.Hour
			}),
			want: []string{"09:30", "09:45", "10:00"},
		},
		{
			name: "notice longer than the advance leaves nothing",
			q: with(oneDay(iv("09:00", "12:00")), func(q *availability.Query) {
				q.Now = at(berlin, monday+" 08:00")
				q.MinNotice = 3 * time.Hour
				q.MaxAdvance = 2 * time.Hour
			}),
			want: []string{},
		},
		{
			name: "window entirely in the past",
			q: with(oneDay(iv("09:00", "12:00")), func(q *availability.Query) {
				q.Now = at(berlin, "2026-03-24 00:00")
			}),
			want: []string{},
		},
		{
			name: "no maximum advance: far ahead is fine",
			q: with(query(berlin, "2026-03-23", "2026-03-25",
				availability.StaffCalendar{StaffID: 1, Hours: on(weekdays, iv("09:00", "10:00"))}),
				func(q *availability.Query) { q.Interval = 30 * time.Minute; q.Now = instant("2020-01-01T00:00:00Z") }),
			layout: "Mon 15:04",
			want:   []string{"Mon 09:00", "Mon 09:30", "Tue 09:00", "Tue 09:30", "Wed 09:00", "Wed 09:30"},
		},
		{
			name: "maximum advance cuts a multi-day window",
			q: with(query(berlin, "2026-03-23", "2026-03-25",
				availability.StaffCalendar{StaffID: 1, Hours: on(weekdays, iv("09:00", "10:00"))}),
				func(q *availability.Query) {
					q.Interval = 30 * time.Minute
					q.Now = at(berlin, "2026-03-23 09:15")
					q.MaxAdvance = 24 * time.Hour
				}),
			layout: "Mon 15:04",
			want:   []string{"Mon 09:30", "Tue 09:00"},
		},

		// ---- time off ----
		{
			name: "time off on a single day",
			q: query(berlin, "2026-03-23", "2026-03-25", availability.StaffCalendar{
				StaffID: 1, Hours: on(weekdays, iv("09:00", "09:30")), TimeOff: []schedule.DateRange{off("2026-03-24", "2026-03-24")},
			}),
			layout: "Mon 15:04",
			want:   []string{"Mon 09:00", "Wed 09:00"},
		},
		{
			name: "time off range boundaries are inclusive",
			q: query(berlin, "2026-03-23", "2026-03-27", availability.StaffCalendar{
				StaffID: 1, Hours: on(weekdays, iv("09:00", "09:30")), TimeOff: []schedule.DateRange{off("2026-03-24", "2026-03-26")},
			}),
			layout: "Mon 15:04",
			want:   []string{"Mon 09:00", "Fri 09:00"},
		},
		{
			name: "time off starting before and ending inside the window",
			q: query(berlin, "2026-03-23", "2026-03-25", availability.StaffCalendar{
				StaffID: 1, Hours: on(weekdays, iv("09:00", "09:30")), TimeOff: []schedule.DateRange{off("2026-03-01", "2026-03-23")},
			}),
			layout: "Mon 15:04",
			want:   []string{"Tue 09:00", "Wed 09:00"},
		},
		{
			name: "several time off ranges",
			q: query(berlin, "2026-03-23", "2026-03-27", availability.StaffCalendar{
				StaffID: 1, Hours: on(weekdays, iv("09:00", "09:30")),
				TimeOff: []schedule.DateRange{off("2026-03-27", "2026-04-10"), off("2026-03-24", "2026-03-24")},
			}),
			layout: "Mon 15:04",
			want:   []string{"Mon 09:00", "Wed 09:00", "Thu 09:00"},
		},
		{
			name: "time off outside the window",
			q: query(berlin, monday, monday, availability.StaffCalendar{
				StaffID: 1, Hours: on(weekdays, iv("09:00", "09:30")),
				TimeOff: []schedule.DateRange{off("2026-03-22", "2026-03-22"), off("2026-03-24", "2026-03-30")},
			}),
			want: []string{"09:00"},
		},
		{
			name: "inverted time off range is empty",
			q: query(berlin, monday, monday, availability.StaffCalendar{
				StaffID: 1, Hours: on(weekdays, iv("09:00", "09:30")), TimeOff: []schedule.DateRange{off("2026-03-24", "2026-03-22")},
			}),
			want: []string{"09:00"},
		},

		// ---- other time zones ----
		{
			name: "India: +05:30 all year",
			q: query(kolkata, "2026-03-23", "2026-03-23", availability.StaffCalendar{
				StaffID: 1, Hours: on(monOnly, iv("09:00", "10:00")),
			}),
			layout: time.RFC3339,
			want:   []string{"2026-03-23T09:00:00+05:30", "2026-03-23T09:15:00+05:30", "2026-03-23T09:30:00+05:30"},
		},
		{
			name: "Nepal: +05:45",
			q: with(query(mustLoad("Asia/Kathmandu"), "2026-03-23", "2026-03-23", availability.StaffCalendar{
				StaffID: 1, Hours: on(monOnly, iv("09:00", "10:00")),
			}), func(q *availability.Query) { q.Interval = 30 * time.Minute }),
			layout: time.RFC3339,
			want:   []string{"2026-03-23T09:00:00+05:45", "2026-03-23T09:30:00+05:45"},
		},
		{
			name: "São Paulo 2018: midnight did not exist, the grid is still local wall-clock time",
			q: with(query(mustLoad("America/Sao_Paulo"), "2018-11-04", "2018-11-04", availability.StaffCalendar{
				StaffID: 1, Hours: on(allWeek, iv("00:00", "02:00")),
			}), func(q *availability.Query) { q.Interval = 30 * time.Minute; q.Now = instant("2018-01-01T00:00:00Z") }),
			layout: time.RFC3339,
			want:   []string{"2018-11-04T01:00:00-02:00", "2018-11-04T01:30:00-02:00"},
		},
		{
			name: "Samoa skipped 2011-12-30 entirely",
			q: with(query(mustLoad("Pacific/Apia"), "2011-12-29", "2011-12-31", availability.StaffCalendar{
				StaffID: 1, Hours: on(allWeek, iv("09:00", "09:30")),
			}), func(q *availability.Query) { q.Now = instant("2011-01-01T00:00:00Z") }),
			layout: time.RFC3339,
			want:   []string{"2011-12-29T09:00:00-10:00", "2011-12-31T09:00:00+14:00"},
		},
		{
			name: "UTC",
			q: query(time.UTC, monday, monday, availability.StaffCalendar{
				StaffID: 1, Hours: on(monOnly, iv("09:00", "09:30")),
			}),
			layout: time.RFC3339,
			want:   []string{"2026-03-23T09:00:00Z"},
		},
		{
			name: "fixed zone",
			q: query(time.FixedZone("", -(3*3600+30*60)), monday, monday, availability.StaffCalendar{
				StaffID: 1, Hours: on(monOnly, iv("09:00", "09:30")),
			}),
			layout: time.RFC3339,
			want:   []string{"2026-03-23T09:00:00-03:30"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := availability.Compute(tt.q)
			layout := tt.layout
			if layout == "" {
				layout = "15:04"
			}
			if r := render(got, tt.q.Location, layout); !slices.Equal(r, tt.want) {
				t.Errorf("got  %q\nwant %q", r, tt.want)
			}
			for _, s := range got {
				if !slices.Equal(s.StaffIDs, []int64{tt.q.Staff[0].StaffID}) {
					t.Errorf("slot %v: staff %v", s.Start, s.StaffIDs)
				}
			}
			if !tt.malformed {
				checkSlots(t, tt.q, got)
				if d := diffSlots(got, reference(tt.q), tt.q.Location); d != "" {
					t.Errorf("differs from the reference: %s", d)
				}
			}
		})
	}
}

func TestComputeMergesStaff(t *testing.T) {
	q := query(berlin, monday, monday,
		availability.StaffCalendar{StaffID: 30, Hours: on(monOnly, iv("09:00", "10:00"))},
		availability.StaffCalendar{StaffID: 10, Hours: on(monOnly, iv("09:30", "11:00"))},
		availability.StaffCalendar{StaffID: 20, Hours: on(monOnly, iv("09:00", "11:00")),
			Busy: []availability.Range{busy(berlin, monday, "09:00", "09:30")}},
		availability.StaffCalendar{StaffID: 40, Hours: on(monOnly, iv("09:00", "11:00")),
			TimeOff: []schedule.DateRange{off(monday, monday)}},
	)
	q.Interval = 30 * time.Minute
	got := availability.Compute(q)
	want := []struct {
		start string
		ids   []int64
	}{
		{"09:00", []int64{30}},
		{"09:30", []int64{30, 10, 20}},
		{"10:00", []int64{10, 20}},
		{"10:30", []int64{10, 20}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d slots %q, want %d", len(got), render(got, berlin, "15:04"), len(want))
	}
	for i, w := range want {
		if s := got[i].Start.In(berlin).Format("15:04"); s != w.start || !slices.Equal(got[i].StaffIDs, w.ids) {
			t.Errorf("slot %d: %s %v, want %s %v", i, s, got[i].StaffIDs, w.start, w.ids)
		}
	}
	checkSlots(t, q, got)

	// Each slot owns its IDs: appending to one must not change the next.
	_ = append(got[1].StaffIDs, 99)
	if !slices.Equal(got[2].StaffIDs, []int64{10, 20}) {
		t.Errorf("appending to one slot's staff changed the next: %v", got[2].StaffIDs)
	}

	// Reversing the staff order reverses the IDs but not the slots.
	slices.Reverse(q.Staff)
	rev := availability.Compute(q)
	if len(rev) != len(got) {
		t.Fatalf("reversed staff: %d slots, want %d", len(rev), len(got))
	}
	if !slices.Equal(rev[1].StaffIDs, []int64{20, 10, 30}) {
		t.Errorf("reversed staff order: %v", rev[1].StaffIDs)
	}
}

func TestComputeSameHoursOneSlotEach(t *testing.T) {
	var staff []availability.StaffCalendar
	for id := int64(1); id <= 5; id++ {
		staff = append(staff, availability.StaffCalendar{StaffID: id, Hours: on(weekdays, iv("09:00", "12:00"), iv("13:00", "17:00"))})
	}
	q := query(berlin, "2026-03-23", "2026-03-27", staff...)
	got := availability.Compute(q)
	perDay := (180-30)/15 + 1 + (240-30)/15 + 1
	if len(got) != 5*perDay {
		t.Fatalf("got %d slots, want %d", len(got), 5*perDay)
	}
	for _, s := range got {
		if !slices.Equal(s.StaffIDs, []int64{1, 2, 3, 4, 5}) {
			t.Fatalf("slot %v: staff %v", s.Start, s.StaffIDs)
		}
	}
	checkSlots(t, q, got)
}

func TestComputeDoesNotModifyQuery(t *testing.T) {
	b := []availability.Range{
		busy(berlin, monday, "11:00", "11:30"),
		busy(berlin, monday, "09:00", "09:45"),
		busy(berlin, monday, "09:15", "10:30"),
	}
	hours := []schedule.Interval{iv("13:00", "15:00"), iv("09:00", "12:00"), iv("10:00", "11:00")}
	q := query(berlin, monday, monday, availability.StaffCalendar{
		StaffID: 1, Hours: schedule.WeeklyHours{time.Monday: hours}, Busy: b,
	})
	wantBusy, wantHours := slices.Clone(b), slices.Clone(hours)
	first := availability.Compute(q)
	second := availability.Compute(q)
	if !slices.Equal(b, wantBusy) || !slices.Equal(hours, wantHours) {
		t.Errorf("Compute modified its input: busy %v, hours %v", b, hours)
	}
	if d := diffSlots(second, first, berlin); d != "" {
		t.Errorf("not deterministic: %s", d)
	}
}

func TestComputeInvalidQueryHasNoSlots(t *testing.T) {
	q := oneDay(iv("09:00", "17:00"))
	q.To = date("2026-03-22")
	if got := availability.Compute(q); got != nil {
		t.Errorf("got %d slots for a window ending before it starts", len(got))
	}
}
