// Package schedule holds staff members and when they work: weekly hours with breaks (the gaps
// between a day's intervals) and time off as ranges of whole local days.
package schedule

import (
	"fmt"
	"time"
)

// Staff is one person customers can book.
type Staff struct {
	ID        int64
	Name      string
	Email     string
	Active    bool
	SortOrder int // the stable order "any staff" tries people in
}

// Clock is a local wall-clock time of day in minutes since midnight (0–1440).
type Clock int

// ParseClock parses "HH:MM".
func ParseClock(s string) (Clock, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		if s == "24:00" {
			return 24 * 60, nil
		}
		return 0, fmt.Errorf("%q is not a time of day (HH:MM)", s)
	}
	return Clock(t.Hour()*60 + t.Minute()), nil
}

func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// Interval is a stretch of working time within one local day, [Start, End).
type Interval struct {
	Start Clock
	End   Clock
}

// WeeklyHours are a staff member's working intervals per weekday, sorted and not overlapping.
// A lunch break is the gap between two intervals of a day.
type WeeklyHours map[time.Weekday][]Interval

// Date is a calendar date without a time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// DateOf is the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// AddDays returns the date n days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Weekday of the date.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}

// Before reports whether d is before o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// Compare returns -1, 0 or 1.
func (d Date) Compare(o Date) int {
	a := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	b := time.Date(o.Year, o.Month, o.Day, 0, 0, 0, 0, time.UTC)
	return a.Compare(b)
}

// DateRange is an inclusive range of whole days, e.g. a holiday.
type DateRange struct {
	First Date
	Last  Date
}

// Contains reports whether d is within the range.
func (r DateRange) Contains(d Date) bool {
	return r.First.Compare(d) <= 0 && d.Compare(r.Last) <= 0
}

// TimeOff is a staff member's absence over whole local days.
type TimeOff struct {
	ID      int64
	StaffID int64
	Range   DateRange
	Reason  string
}
