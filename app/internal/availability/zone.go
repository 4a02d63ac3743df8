package availability

import (
	"math"
	"time"

	"github.com/slotbook/slotbook/app/internal/schedule"
)

const (
	nsPerHour = int64(time.Hour)
	nsPerDay  = 24 * nsPerHour
)

// period is a stretch of instants [start, end) with one UTC offset, all in nanoseconds.
type period struct{ start, end, offset int64 }

// zone converts local wall-clock times to instants within a window, explicitly handling gaps and
// repeated times. Local wall-clock times are expressed in nanoseconds as if they were UTC.
type zone struct{ periods []period }

// newZone collects loc's periods covering the instants [lo, hi].
func newZone(loc *time.Location, lo, hi int64) zone {
	var z zone
	t := time.Unix(0, lo).In(loc)
	for {
		_, offset := t.Zone()
		from, to := t.ZoneBounds()
		p := period{start: math.MinInt64, end: math.MaxInt64, offset: int64(offset) * int64(time.Second)}
		if !from.IsZero() {
			p.start = nanos(from)
		}
		if !to.IsZero() {
			p.end = nanos(to)
		}
		z.periods = append(z.periods, p)
		if to.IsZero() || p.end > hi {
			return z
		}
		t = to
	}
}

// resolve returns the earliest instant whose local wall-clock time is local, and true; or, if
// local does not exist (it lies in a gap), the instant the gap ends, and false.
func (z zone) resolve(local int64) (int64, bool) {
	// Periods are in order, so the first match is the earliest instant (a repeated local time
	// matches the period before the change and the one after it).
	for _, p := range z.periods {
		if t := local - p.offset; p.start <= t && t < p.end {
			return t, true
		}
	}
	// In a gap between periods p and q at instant T, local is at or after p's local end T+p.offset
	// and before q's local start T+q.offset; q is the first period local is "before".
	for _, p := range z.periods {
		if local-p.offset < p.start {
			return p.start, false
		}
	}
	p := z.periods[len(z.periods)-1] // unreachable for local times inside the window
	return local - p.offset, false
}

// offsetAt returns the UTC offset at instant t, which must lie within the window.
func (z zone) offsetAt(t int64) int64 {
	for _, p := range z.periods {
		if p.start <= t && t < p.end {
			return p.offset
		}
	}
	return z.periods[len(z.periods)-1].offset // unreachable for instants inside the window
}

// nanos is t in Unix nanoseconds, clamped to the int64 range (years 1678–2262; clamping
// starts a second early).
func nanos(t time.Time) int64 {
	switch sec := t.Unix(); {
	case sec <= math.MinInt64/int64(time.Second):
		return math.MinInt64
	case sec >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// addSat is a+b for b >= 0, saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// subSat is a-b for b >= 0, saturating at math.MinInt64.
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// dayNumber is the number of days from 1970-01-01 to d.
func dayNumber(d schedule.Date) int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// weekday of the day number.
func weekday(day int64) time.Weekday {
	return time.Weekday(((day % 7) + 7 + int64(time.Thursday)) % 7) // 1970-01-01 was a Thursday
}
