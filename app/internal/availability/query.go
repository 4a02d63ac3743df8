package availability

import (
	"errors"
	"fmt"
	"time"

	"github.com/slotbook/slotbook/app/internal/schedule"
)

// Limits of what Compute accepts (see Query.Validate).
const (
	// MaxDays is the longest window, To − From + 1 local days, a query may ask for.
	MaxDays = 62
	// MinGrid is the finest slot grid (Query.Grid) a query may use.
	MinGrid = time.Minute
	// MaxDuration bounds a service's duration and each of its buffers.
	MaxDuration = 24 * time.Hour
	// MinYear and MaxYear bound the dates a query may ask for.
	MinYear, MaxYear = 1900, 2200
)

// ErrInvalidQuery is wrapped by every error Query.Validate returns, so callers can map it to a
// client error with errors.Is.
var ErrInvalidQuery = errors.New("invalid availability query")

// Grid is the interval slot starts lie on: q.Interval, or the service's duration when q.Interval
// is not positive (back-to-back appointments).
func (q Query) Grid() time.Duration {
	if q.Interval > 0 {
		return q.Interval
	}
	return q.Service.Duration
}

// Validate reports nonsense input, wrapping ErrInvalidQuery: no time zone; no Now; a service
// duration that is not positive; negative buffers, notice or advance; a duration or buffer longer
// than MaxDuration; a grid finer than MinGrid; a date that is not a calendar date or lies outside
// MinYear–MaxYear; To before From; a window longer than MaxDays; a staff member listed twice.
// Working hours, time off and busy ranges are not validated: Compute ignores what it cannot use
// (see Compute). Compute returns no slots for a query Validate rejects.
func (q Query) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidQuery, fmt.Sprintf(format, args...))
	}
	switch {
	case q.Location == nil:
		return bad("no time zone")
	case q.Now.IsZero():
		return bad("no current time")
	case q.Service.Duration <= 0:
		return bad("service duration %v is not positive", q.Service.Duration)
	case q.Service.Duration > MaxDuration:
		return bad("service duration %v is longer than %v", q.Service.Duration, MaxDuration)
	case q.Service.BufferBefore < 0 || q.Service.BufferAfter < 0:
		return bad("negative buffer")
	case q.Service.BufferBefore > MaxDuration || q.Service.BufferAfter > MaxDuration:
		return bad("buffer longer than %v", MaxDuration)
	case q.MinNotice < 0:
		return bad("negative minimum notice %v", q.MinNotice)
	case q.MaxAdvance < 0:
		return bad("negative maximum advance %v", q.MaxAdvance)
	case q.Grid() < MinGrid:
		return bad("slot interval %v is finer than %v", q.Grid(), MinGrid)
	}
	for _, d := range []schedule.Date{q.From, q.To} {
		if d.Year < MinYear || d.Year > MaxYear {
			return bad("date %v outside the years %d–%d", d, MinYear, MaxYear)
		}
		if schedule.DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)) != d {
			return bad("%v is not a calendar date", d)
		}
	}
	days := dayNumber(q.To) - dayNumber(q.From) + 1
	switch {
	case days < 1:
		return bad("window ends (%v) before it starts (%v)", q.To, q.From)
	case days > MaxDays:
		return bad("window of %d days is longer than %d days", days, MaxDays)
	}
	for i := range q.Staff {
		for j := range i {
			if q.Staff[i].StaffID == q.Staff[j].StaffID {
				return bad("staff member %d listed twice", q.Staff[i].StaffID)
			}
		}
	}
	return nil
}
