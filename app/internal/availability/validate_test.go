package availability_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(q *availability.Query)
		want   string // substring of the error; "" for valid
	}{
		{"valid", func(q *availability.Query) {}, ""},
		{"valid without staff", func(q *availability.Query) { q.Staff = nil }, ""},
		{"valid: grid from the duration", func(q *availability.Query) { q.Interval = 0 }, ""},
		{"valid: longest window", func(q *availability.Query) { q.To = q.From.AddDays(availability.MaxDays - 1) }, ""},
		{"valid: one-minute grid", func(q *availability.Query) { q.Interval = time.Minute }, ""},
		{"no location", func(q *availability.Query) { q.Location = nil }, "no time zone"},
		{"no now", func(q *availability.Query) { q.Now = time.Time{} }, "no current time"},
		{"zero duration", func(q *availability.Query) { q.Service.Duration = 0 }, "duration"},
		{"negative duration", func(q *availability.Query) { q.Service.Duration = -time.Minute }, "duration"},
		{"negative buffer before", func(q *availability.Query) { q.Service.BufferBefore = -time.Minute }, "buffer"},
		{"negative buffer after", func(q *availability.Query) { q.Service.BufferAfter = -time.Minute }, "buffer"},
		{"negative notice", func(q *availability.Query) { q.MinNotice = -time.Minute }, "notice"},
		{"negative advance", func(q *availability.Query) { q.MaxAdvance = -time.Minute }, "advance"},
		{"grid too fine", func(q *availability.Query) { q.Interval = 30 * time.Second }, "finer"},
		{"duration as grid too fine", func(q *availability.Query) {
			q.Interval = 0
			q.Service.Duration = 30 * time.Second
		}, "finer"},
		{"to before from", func(q *availability.Query) { q.To = q.From.AddDays(-1) }, "before"},
		{"window too long", func(q *availability.Query) { q.To = q.From.AddDays(availability.MaxDays) }, "longer"},
		{"not a date", func(q *availability.Query) { q.From = schedule.Date{Year: 2026, Month: 2, Day: 30} }, "not a calendar date"},
		{"zero date", func(q *availability.Query) { q.From = schedule.Date{} }, "outside the years"},
		{"far future", func(q *availability.Query) { q.To = schedule.Date{Year: 2300, Month: 1, Day: 1} }, "outside the years"},
		{"duplicate staff", func(q *availability.Query) {
			q.Staff = append(q.Staff, availability.StaffCalendar{StaffID: 2}, availability.StaffCalendar{StaffID: 1})
		}, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := oneDay(iv("09:00", "17:00"))
			tt.change(&q)
			err := q.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want == "":
				return
			case err == nil:
				t.Fatalf("no error, want %q", tt.want)
			case !errors.Is(err, availability.ErrInvalidQuery) || !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q, want ErrInvalidQuery with %q", err, tt.want)
			}
			if got := availability.Compute(q); got != nil {
				t.Errorf("Compute returned %d slots for an invalid query", len(got))
			}
		})
	}
}

func TestGrid(t *testing.T) {
	q := availability.Query{Interval: 15 * time.Minute, Service: availability.Service{Duration: time.Hour}}
	if g := q.Grid(); g != 15*time.Minute {
		t.Errorf("Grid() = %v, want the interval", g)
	}
	q.Interval = 0
	if g := q.Grid(); g != time.Hour {
		t.Errorf("Grid() = %v, want the service's duration", g)
	}
}
