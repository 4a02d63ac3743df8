// Package availability computes bookable slots. It is pure: no database, no clock; everything it
// needs is in the Query, which makes it easy to test exhaustively (DST, buffers, breaks, ...).
package availability

import (
	"time"

	"github.com/slotbook/slotbook/app/internal/schedule"
)

// Range is a time range [Start, End).
type Range struct {
	Start time.Time
	End   time.Time
}

// Overlaps reports whether r and o share any instant ([) bounds, like the database's tstzrange).
func (r Range) Overlaps(o Range) bool { return r.Start.Before(o.End) && o.Start.Before(r.End) }

// Service is what the engine needs of a service.
type Service struct {
	Duration     time.Duration
	BufferBefore time.Duration
	BufferAfter  time.Duration
}

// Blocked is the range a booking of svc starting at start keeps its staff member busy.
func (svc Service) Blocked(start time.Time) Range {
	return Range{Start: start.Add(-svc.BufferBefore), End: start.Add(svc.Duration + svc.BufferAfter)}
}

// StaffCalendar is one staff member's working time and existing commitments.
type StaffCalendar struct {
	StaffID int64
	Hours   schedule.WeeklyHours
	TimeOff []schedule.DateRange
	// Busy are the blocked ranges (buffers included) of the staff member's confirmed bookings.
	Busy []Range
}

// Query asks for the slots of one service.
type Query struct {
	Location *time.Location // the business's time zone: hours are local wall-clock times
	From, To schedule.Date  // inclusive local dates
	Now      time.Time
	// MinNotice, MaxAdvance and Interval come from the business settings.
	MinNotice  time.Duration
	MaxAdvance time.Duration
	Interval   time.Duration
	Service    Service
	// Staff who offer the service, in the stable order "any staff" prefers them.
	Staff []StaffCalendar
}

// Slot is a bookable start time and the staff members free then, in preference order.
type Slot struct {
	Start    time.Time
	End      time.Time
	StaffIDs []int64
}
