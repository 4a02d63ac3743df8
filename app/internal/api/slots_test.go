package api

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
)

// TestAppendAvailability: the hand-written availability answer is byte for byte what writeJSON
// (encoding/json) makes of the same data.
func TestAppendAvailability(t *testing.T) {
	zone := func(name string) *time.Location {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	berlin := zone("Europe/Berlin")
	slot := func(start time.Time, d time.Duration, staff ...int64) availability.Slot {
		return availability.Slot{Start: start, End: start.Add(d), StaffIDs: staff}
	}
	// 31 March 2030: clocks in Berlin go from 02:00 to 03:00.
	dst := time.Date(2030, 3, 31, 1, 30, 0, 0, berlin)
	for _, tc := range []struct {
		name  string
		loc   *time.Location
		slots []availability.Slot
	}{
		{"no slots (nil)", berlin, nil},
		{"no slots (empty)", berlin, []availability.Slot{}},
		{"nil staff list", berlin, []availability.Slot{{Start: dst, End: dst.Add(time.Hour)}}},
		{"across a DST change", berlin, []availability.Slot{
			slot(dst, 30*time.Minute, 1), slot(dst.Add(30*time.Minute), 30*time.Minute, 1, 22, 333),
			slot(dst.Add(time.Hour), 90*time.Minute, 9007199254740993),
		}},
		{"UTC is Z", time.UTC, []availability.Slot{slot(time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC), time.Minute, 7)}},
		{"half-hour offset", zone("Asia/Kolkata"), []availability.Slot{slot(dst, 45*time.Minute, 1, 2)}},
		{"negative offset", zone("America/St_Johns"), []availability.Slot{slot(dst, 45*time.Minute, 3)}},
		// The slots' own zone differs from loc: they are shown in loc.
		{"converted to loc", zone("America/New_York"), []availability.Slot{slot(dst, time.Hour, 4)}},
		{"zone name with sign", zone("Etc/GMT+5"), []availability.Slot{slot(dst, time.Hour, 5)}},
		// A historical offset with seconds (+00:19:32), which RFC 3339 cuts to minutes.
		{"offset with seconds", zone("Europe/Amsterdam"), []availability.Slot{
			slot(time.Date(1930, 6, 1, 10, 0, 0, 0, zone("Europe/Amsterdam")), time.Hour, 6),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := httptest.NewRecorder()
			writeJSON(want, http.StatusOK, map[string]any{"timeZone": tc.loc.String(), "slots": slotsJSON(tc.slots, tc.loc)})
			got := httptest.NewRecorder()
			writeAvailability(got, tc.slots, tc.loc)
			if got.Body.String() != want.Body.String() {
				t.Fatalf("got  %s\nwant %s", got.Body, want.Body)
			}
			if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
				t.Fatalf("status %d, header %v; want %d, %v", got.Code, got.Header(), want.Code, want.Header())
			}
			// Again with a reused, dirty buffer.
			got = httptest.NewRecorder()
			writeAvailability(got, tc.slots, tc.loc)
			if got.Body.String() != want.Body.String() {
				t.Fatalf("second answer differs:\ngot  %s\nwant %s", got.Body, want.Body)
			}
		})
	}
}

func BenchmarkAppendAvailability(b *testing.B) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2030, 5, 6, 8, 0, 0, 0, berlin)
	var slots []availability.Slot
	for i := range 4270 {
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		slots = append(slots, availability.Slot{Start: at, End: at.Add(30 * time.Minute), StaffIDs: []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}})
	}
	w := discard{header: http.Header{}}
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			writeJSON(w, http.StatusOK, map[string]any{"timeZone": berlin.String(), "slots": slotsJSON(slots, berlin)})
		}
	})
	b.Run("append", func(b *testing.B) {
		for b.Loop() {
			writeAvailability(w, slots, berlin)
		}
	})
}

// discard is a ResponseWriter that drops the body.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}

// TestRFC3339: the remembering formatter gives exactly time.RFC3339's text, for times in any
// order, around DST changes, before 1970, in odd zones and at the ends of the supported years.
func TestRFC3339(t *testing.T) {
	var instants []time.Time
	for _, base := range []time.Time{
		time.Date(2030, 3, 31, 0, 0, 0, 0, time.UTC),  // spring forward in Europe
		time.Date(2030, 10, 27, 0, 0, 0, 0, time.UTC), // fall back in Europe
		time.Date(2030, 3, 10, 5, 0, 0, 0, time.UTC),  // spring forward in the USA
		time.Date(2011, 12, 29, 0, 0, 0, 0, time.UTC), // Samoa skips 30 December 2011
		time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2200, 12, 31, 12, 0, 0, 0, time.UTC),
		time.Date(1937, 7, 1, 0, 0, 0, 0, time.UTC), // Amsterdam: +00:20 (formerly +00:19:32)
	} {
		for m := -48 * 60; m <= 48*60; m += 17 {
			instants = append(instants, base.Add(time.Duration(m)*time.Minute+time.Duration(m%7)*time.Second+999))
		}
	}
	reversed := slices.Clone(instants)
	slices.Reverse(reversed)
	for _, name := range []string{"UTC", "Europe/Berlin", "America/New_York", "Pacific/Apia",
		"Asia/Kathmandu", "America/St_Johns", "Europe/Amsterdam", "Africa/Monrovia", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for order, times := range map[string][]time.Time{"forwards": instants, "backwards": reversed} {
			f := newRFC3339(loc)
			for _, at := range times {
				// Whatever location the time is in: it is shown in loc.
				if got, want := string(f.append(nil, at.In(time.Local))), at.In(loc).Format(time.RFC3339); got != want {
					t.Fatalf("%s, %s: %v formats as %s, want %s", name, order, at, got, want)
				}
			}
		}
	}
}
