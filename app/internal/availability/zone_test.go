package availability

import (
	"math"
	"slices"
	"testing"
	"time"
	_ "time/tzdata"
)

// TestZoneResolve pins the conversion of local wall-clock times to instants, including gaps
// (resolved to the instant the gap ends, ok == false) and repeated times (the first occurrence).
func TestZoneResolve(t *testing.T) {
	tests := []struct {
		zone, local string
		want        string
		exists      bool
	}{
		{"Europe/Berlin", "2026-03-29 01:59", "2026-03-29T00:59:00Z", true},
		{"Europe/Berlin", "2026-03-29 02:00", "2026-03-29T01:00:00Z", false},
		{"Europe/Berlin", "2026-03-29 02:30", "2026-03-29T01:00:00Z", false},
		{"Europe/Berlin", "2026-03-29 03:00", "2026-03-29T01:00:00Z", true},
		{"Europe/Berlin", "2026-10-25 01:59", "2026-10-24T23:59:00Z", true},
		{"Europe/Berlin", "2026-10-25 02:00", "2026-10-25T00:00:00Z", true},
		{"Europe/Berlin", "2026-10-25 02:30", "2026-10-25T00:30:00Z", true},
		{"Europe/Berlin", "2026-10-25 02:59", "2026-10-25T00:59:00Z", true},
		{"Europe/Berlin", "2026-10-25 03:00", "2026-10-25T02:00:00Z", true},
		{"Europe/Berlin", "2026-10-26 00:00", "2026-10-25T23:00:00Z", true},
		{"America/New_York", "2026-03-08 02:30", "2026-03-08T07:00:00Z", false},
		{"America/New_York", "2026-11-01 01:30", "2026-11-01T05:30:00Z", true},
		{"America/New_York", "2026-11-01 02:00", "2026-11-01T07:00:00Z", true},
		{"Australia/Lord_Howe", "2026-10-04 02:15", "2026-10-03T15:30:00Z", false},
		{"Australia/Lord_Howe", "2026-04-05 01:45", "2026-04-04T14:45:00Z", true},
		{"America/Sao_Paulo", "2018-11-04 00:00", "2018-11-04T03:00:00Z", false},
		{"America/Sao_Paulo", "2018-02-17 23:30", "2018-02-18T01:30:00Z", true},
		{"Pacific/Apia", "2011-12-30 12:00", "2011-12-30T10:00:00Z", false},
		{"Asia/Kolkata", "2026-03-29 02:30", "2026-03-28T21:00:00Z", true},
		{"UTC", "2026-03-29 02:30", "2026-03-29T02:30:00Z", true},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.local, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			local, err := time.Parse("2006-01-02 15:04", tt.local) // wall clock as UTC
			if err != nil {
				t.Fatal(err)
			}
			l := local.UnixNano()
			z := newZone(loc, l-2*nsPerDay, l+2*nsPerDay)
			got, ok := z.resolve(l)
			if g := time.Unix(0, got).UTC().Format(time.RFC3339); g != tt.want || ok != tt.exists {
				t.Errorf("resolve = %s, %v; want %s, %v", g, ok, tt.want, tt.exists)
			}
		})
	}
}

func TestMergeOverlapping(t *testing.T) {
	tests := []struct {
		name     string
		in, want []span
	}{
		{"empty", nil, nil},
		{"one", []span{{1, 2}}, []span{{1, 2}}},
		{"disjoint unsorted", []span{{5, 6}, {1, 2}}, []span{{1, 2}, {5, 6}}},
		{"nested", []span{{1, 10}, {2, 3}, {4, 5}}, []span{{1, 10}}},
		{"overlapping", []span{{3, 6}, {1, 4}, {5, 8}}, []span{{1, 8}}},
		{"adjacent stay apart", []span{{2, 3}, {1, 2}}, []span{{1, 2}, {2, 3}}},
		{"same start", []span{{1, 5}, {1, 2}, {7, 9}}, []span{{1, 5}, {7, 9}}},
		{"duplicates", []span{{1, 3}, {1, 3}}, []span{{1, 3}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeOverlapping(slices.Clone(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("mergeOverlapping = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTimelineAfter compares the guessed-and-corrected index search with a linear scan, minute by
// minute around the window, on transition days of several zones and grids.
func TestTimelineAfter(t *testing.T) {
	for _, tt := range []struct {
		zone, from, to string
		grid           time.Duration
	}{
		{"Europe/Berlin", "2026-03-28", "2026-03-30", 15 * time.Minute},
		{"Europe/Berlin", "2026-10-24", "2026-10-26", 25 * time.Minute},
		{"America/New_York", "2026-11-01", "2026-11-01", 7 * time.Minute},
		{"Australia/Lord_Howe", "2026-04-04", "2026-04-05", 20 * time.Minute},
		{"America/Sao_Paulo", "2018-02-17", "2018-02-18", 30 * time.Minute},
		{"America/Sao_Paulo", "2018-11-03", "2018-11-04", 30 * time.Minute},
		{"Pacific/Apia", "2011-12-29", "2011-12-31", time.Hour},
		{"Asia/Kolkata", "2026-03-29", "2026-03-29", 48 * time.Hour},
	} {
		t.Run(tt.zone+" "+tt.from, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			from, _ := time.Parse(time.DateOnly, tt.from)
			to, _ := time.Parse(time.DateOnly, tt.to)
			fromDay, toDay := from.Unix()/86400, to.Unix()/86400
			tl := newTimeline(loc, fromDay, toDay, int64(tt.grid), math.MinInt64, math.MaxInt64)
			if !slices.IsSorted(tl.at) {
				t.Fatalf("grid instants not sorted: %v", tl.at)
			}
			for x := fromDay*nsPerDay - 2*nsPerDay; x < (toDay+2)*nsPerDay; x += int64(time.Minute) {
				for _, x := range []int64{x - 1, x, x + 1} {
					want, _ := slices.BinarySearchFunc(tl.at, x, func(a, x int64) int {
						if a <= x {
							return -1
						}
						return 1
					})
					if got := tl.after(x); got != want {
						t.Fatalf("after(%v) = %d, want %d", time.Unix(0, x).In(loc), got, want)
					}
				}
			}
			for _, x := range []int64{math.MinInt64, math.MaxInt64} {
				if got, want := tl.after(x), map[bool]int{true: 0, false: len(tl.at)}[x < 0]; got != want {
					t.Errorf("after(%d) = %d, want %d", x, got, want)
				}
			}
		})
	}
}

func TestWeekday(t *testing.T) {
	for day := int64(-800); day < 800; day++ {
		want := time.Unix(day*86400, 0).UTC().Weekday()
		if got := weekday(day); got != want {
			t.Fatalf("weekday(%d) = %v, want %v", day, got, want)
		}
	}
}
