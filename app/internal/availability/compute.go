package availability

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Compute returns the bookable slots of q.Service, sorted by start, one per distinct start
// instant, each listing the staff members free then in q.Staff order. Start and End are in
// q.Location; End is Start + Duration. Compute is pure and deterministic and does not modify q;
// each slot's StaffIDs is its own (len == cap). It returns nil if q.Validate fails or no slot is
// free.
//
// For each local date d from q.From to q.To and each staff member not on time off on d (TimeOff
// ranges are inclusive), each working interval of Hours[d.Weekday()] yields candidate starts:
//
//   - Grid: starts are local wall-clock times on a grid of q.Grid() anchored at local midnight of
//     each day (00:00, 00:15, 00:30, ... for 15 minutes; a grid that does not divide a day restarts
//     at midnight), from the first grid time at or after the interval's start. The grid is
//     independent of the service's duration.
//   - Fit: the appointment [start, start+Duration), measured in elapsed time, must end no later
//     than the interval's end. Buffers may lie outside working hours.
//   - Busy: the candidate's Service.Blocked range (buffers included) must not overlap any of the
//     staff member's Busy ranges ([) bounds: a booking ending at 10:00 leaves 10:00 free). Busy
//     ranges with End <= Start are empty and ignored.
//   - Notice and advance: start >= q.Now+q.MinNotice and, if q.MaxAdvance > 0,
//     start <= q.Now+q.MaxAdvance.
//
// Local wall-clock times are turned into instants of q.Location explicitly, never relying on which
// instant time.Date picks:
//
//   - A start that does not exist (it falls into a gap, e.g. 02:30 when clocks spring forward from
//     02:00 to 03:00) is skipped.
//   - A start that exists twice (clocks fall back, e.g. 02:30 when they go from 03:00 back to
//     02:00) yields only its first, earlier occurrence, so no slot appears twice.
//   - An interval boundary (start or end of working hours) in a gap is the instant the gap ends
//     (e.g. 03:00 in the example); an ambiguous boundary is its first occurrence.
//
// So a given Monday before and after a DST change shows the same local start times, and on the
// night of the change the real, elapsed length of the working interval counts.
//
// Working intervals are clipped to 00:00–24:00, empty ones dropped and overlapping ones merged;
// adjacent ones stay separate (an appointment never spans two intervals, e.g. across a break).
//
// Cost: O(days·(24h/grid)·staff + busy ranges), without sorting; no allocation per candidate.
func Compute(q Query) []Slot {
	if len(q.Staff) == 0 || q.Validate() != nil {
		return nil
	}
	var (
		dur    = int64(q.Service.Duration)
		before = int64(q.Service.BufferBefore)
		after  = int64(q.Service.BufferAfter)
		now    = nanos(q.Now)
		first  = addSat(now, int64(q.MinNotice))
		last   = int64(math.MaxInt64)
	)
	if q.MaxAdvance > 0 {
		last = addSat(now, int64(q.MaxAdvance))
	}
	tl := newTimeline(q.Location, dayNumber(q.From), dayNumber(q.To), int64(q.Grid()), first, last)
	staff := prepareStaff(q.Staff, tl, before, dur, after)
	perDay := tl.perDay

	// Find which staff members are free at which grid times, and how many slots and staff IDs
	// that makes, so the result can be allocated exactly.
	free := make(bits, len(staff)*tl.words)
	count := make([]int32, len(tl.at)) // staff members free at grid time i
	slots, ids := 0, 0
	for d := range tl.days {
		if !tl.bookableDay[d] {
			continue
		}
		day := tl.firstDay + int64(d)
		midnight := day * nsPerDay
		wd := weekday(day)
		for si := range staff {
			s := &staff[si]
			if s.offOn(day) {
				continue
			}
			for _, iv := range s.hours[wd] {
				startAt, _ := tl.zone.resolve(midnight + iv.start)
				endAt, _ := tl.zone.resolve(midnight + iv.end)
				for k := (iv.start + tl.grid - 1) / tl.grid; k < int64(perDay) && k*tl.grid < iv.end; k++ {
					i := d*perDay + int(k)
					if tl.state[i] == gridMissing {
						continue
					}
					t := tl.at[i]
					if t < startAt {
						continue
					}
					if t+dur > endAt {
						break // start instants grow with k
					}
					if tl.state[i] != gridBookable || s.blocked.has(i) {
						continue
					}
					free.set(si*tl.words*64 + i)
					if count[i] == 0 {
						slots++
					}
					count[i]++
					ids++
				}
			}
		}
	}
	if slots == 0 {
		return nil
	}
	out := make([]Slot, 0, slots)
	idBuf := make([]int64, 0, ids) // each slot gets a full slice (len == cap) of it
	for i, c := range count {
		if c == 0 {
			continue
		}
		n := len(idBuf)
		for si := range staff {
			if free.has(si*tl.words*64 + i) {
				idBuf = append(idBuf, staff[si].id)
			}
		}
		start := time.Unix(0, tl.at[i]).In(q.Location)
		out = append(out, Slot{Start: start, End: start.Add(q.Service.Duration), StaffIDs: idBuf[n:len(idBuf):len(idBuf)]})
	}
	return out
}

const (
	gridMissing  = 0 // the local time does not exist that day
	gridExists   = 1 // exists, but violates notice or advance
	gridBookable = 2
)

// timeline holds the start instants of every grid time of every day in the window.
type timeline struct {
	zone        zone
	firstDay    int64 // day number of q.From
	days        int
	grid        int64 // nanoseconds
	perDay      int   // grid times per day: k·grid < 24h
	words       int   // uint64 words of a bit set over all grid times
	at          []int64
	state       []uint8 // gridMissing, gridExists or gridBookable
	bookableDay []bool
}

// newTimeline resolves the grid times of the days fromDay..toDay (inclusive) in loc: at[d*perDay+k]
// is the instant local time k·grid of day d starts at or, if it does not exist, the instant the
// gap ends. at is sorted (start instants grow with local time, as each is the first occurrence),
// which busy marking relies on.
func newTimeline(loc *time.Location, fromDay, toDay, grid, first, last int64) *timeline {
	tl := &timeline{
		// Local times looked up lie within [From 00:00, To+1 00:00]; UTC offsets are within ±16h.
		zone:     newZone(loc, fromDay*nsPerDay-16*nsPerHour, (toDay+1)*nsPerDay+16*nsPerHour),
		firstDay: fromDay,
		days:     int(toDay - fromDay + 1),
		grid:     grid,
		perDay:   int((nsPerDay + grid - 1) / grid),
	}
	n := tl.days * tl.perDay
	tl.words = (n + 63) / 64
	tl.at, tl.state, tl.bookableDay = make([]int64, n), make([]uint8, n), make([]bool, tl.days)
	for d := range tl.days {
		midnight := (fromDay + int64(d)) * nsPerDay
		for k := range tl.perDay {
			i := d*tl.perDay + k
			t, ok := tl.zone.resolve(midnight + int64(k)*grid)
			tl.at[i] = t
			switch {
			case !ok:
				tl.state[i] = gridMissing
			case t < first || t > last:
				tl.state[i] = gridExists
			default:
				tl.state[i] = gridBookable
				tl.bookableDay[d] = true
			}
		}
	}
	return tl
}

// after returns the index of the first grid time whose instant is after x (len(at) if none).
func (tl *timeline) after(x int64) int {
	at := tl.at
	// Guess from x's local time, then correct: the guess is off by at most the grid times an
	// offset change skips or repeats.
	var i int
	switch {
	case x < at[0]:
		return 0
	case x >= at[len(at)-1]:
		return len(at)
	default:
		rel := x + tl.zone.offsetAt(x) - tl.firstDay*nsPerDay
		i = min(max(int(rel/nsPerDay)*tl.perDay+int(rel%nsPerDay/tl.grid), 0), len(at))
	}
	for i > 0 && at[i-1] > x {
		i--
	}
	for i < len(at) && at[i] <= x {
		i++
	}
	return i
}

// bits is a set of grid time indices.
type bits []uint64

func (b bits) has(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }
func (b bits) set(i int)      { b[i>>6] |= 1 << (i & 63) }

// span is [start, end) in nanoseconds.
type span struct{ start, end int64 }

// staffPrep is a staff calendar prepared for the window.
type staffPrep struct {
	id      int64
	hours   [7][]span // time of day, sorted, not overlapping
	timeOff []span    // day numbers, inclusive
	blocked bits      // grid times at which an appointment would overlap a busy range
}

// prepareStaff prepares the calendars. A busy range [bs, be) blocks the starts t with
// t-before < be and bs < t+dur+after: the grid indices [after(bs-dur-after), after(be+before-1)).
// They are marked with a difference array, so long busy ranges cost no more than short ones and
// busy ranges need no sorting.
func prepareStaff(cals []StaffCalendar, tl *timeline, before, dur, after int64) []staffPrep {
	nHours, nOff := 0, 0
	for i := range cals {
		for _, ivs := range cals[i].Hours {
			nHours += len(ivs)
		}
		nOff += len(cals[i].TimeOff)
	}
	n, words := len(tl.at), tl.words
	// Shared backing arrays instead of a few small allocations per staff member.
	hoursBuf := make([]span, 0, nHours)
	offBuf := make([]span, 0, nOff)
	blockedBuf := make(bits, words*len(cals))
	diff := make([]int32, n+1)
	staff := make([]staffPrep, len(cals))
	for i := range cals {
		c, s := &cals[i], &staff[i]
		s.id = c.StaffID
		for wd := range s.hours {
			start := len(hoursBuf)
			for _, iv := range c.Hours[time.Weekday(wd)] {
				from := min(max(int64(iv.Start), 0), 1440) * int64(time.Minute)
				to := min(max(int64(iv.End), 0), 1440) * int64(time.Minute)
				if from < to {
					hoursBuf = append(hoursBuf, span{from, to})
				}
			}
			s.hours[wd] = mergeOverlapping(hoursBuf[start:len(hoursBuf):len(hoursBuf)])
		}
		start := len(offBuf)
		for _, r := range c.TimeOff {
			offBuf = append(offBuf, span{dayNumber(r.First), dayNumber(r.Last)})
		}
		s.timeOff = offBuf[start:len(offBuf):len(offBuf)]

		s.blocked = blockedBuf[i*words : (i+1)*words : (i+1)*words]
		marked := false
		for _, r := range c.Busy {
			bs, be := nanos(r.Start), nanos(r.End)
			if bs >= be {
				continue
			}
			lo, hi := tl.after(subSat(bs, dur+after)), tl.after(addSat(be, before)-1)
			if lo < hi {
				diff[lo]++
				diff[hi]--
				marked = true
			}
		}
		if !marked {
			continue
		}
		depth := int32(0)
		for j := range n {
			depth += diff[j]
			diff[j] = 0
			if depth > 0 {
				s.blocked.set(j)
			}
		}
		diff[n] = 0
	}
	return staff
}

// mergeOverlapping sorts spans in place by start and merges overlapping ones (adjacent ones stay
// apart). It returns the merged prefix of spans.
func mergeOverlapping(spans []span) []span {
	if len(spans) < 2 {
		return spans
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	out := spans[:1]
	for _, sp := range spans[1:] {
		if cur := &out[len(out)-1]; sp.start < cur.end {
			cur.end = max(cur.end, sp.end)
		} else {
			out = append(out, sp)
		}
	}
	return out[:len(out):len(out)]
}

func (s *staffPrep) offOn(day int64) bool {
	for _, r := range s.timeOff {
		if r.start <= day && day <= r.end {
			return true
		}
	}
	return false
}
