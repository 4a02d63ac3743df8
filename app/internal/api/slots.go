package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
)

// A month of availability is thousands of slots (457 KiB of JSON in the benchmark). Encoding
// them with encoding/json — reflection per slot plus a string per time — took about half of the
// app's CPU for such an answer, so it is appended by hand into a reused buffer instead. The
// output is byte for byte what writeJSON makes of
// map[string]any{"timeZone": loc.String(), "slots": slotsJSON(slots, loc)}: keys in sorted
// order, no HTML escaping, a newline at the end (TestAppendAvailability compares the two).

// availabilityBuffers are reused buffers for answers; one that grew beyond maxPooledBuffer (a
// huge answer) is left to the garbage collector rather than kept.
var availabilityBuffers = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuffer = 4 << 20

// writeAvailability answers 200 with the slots (times in loc) and the time zone's name.
func writeAvailability(w http.ResponseWriter, slots []availability.Slot, loc *time.Location) {
	bp := availabilityBuffers.Get().(*[]byte)
	buf := appendAvailability((*bp)[:0], slots, loc)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(buf)
	if cap(buf) <= maxPooledBuffer {
		*bp = buf
		availabilityBuffers.Put(bp)
	}
}

// appendAvailability appends the availability answer to b.
func appendAvailability(b []byte, slots []availability.Slot, loc *time.Location) []byte {
	// Room for the usual answer (about 90 bytes a slot plus its staff ids) at once.
	ids := 0
	for _, s := range slots {
		ids += len(s.StaffIDs)
	}
	b = slices.Grow(b, 64+90*len(slots)+3*ids)
	times := newRFC3339(loc)
	b = append(b, `{"slots":[`...)
	for i, s := range slots {
		if i > 0 {
			b = append(b, ',')
		}
		// RFC 3339 times need no escaping in JSON.
		b = append(b, `{"start":"`...)
		b = times.append(b, s.Start)
		b = append(b, `","end":"`...)
		b = times.append(b, s.End)
		b = append(b, `","staffIds":[`...)
		for j, id := range s.StaffIDs {
			if j > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, id, 10)
		}
		b = append(b, "]}"...)
	}
	b = append(b, `],"timeZone":`...)
	b = appendJSONString(b, loc.String())
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string escaped exactly as writeJSON escapes it. It is for
// the one short string of the answer, so encoding/json's own escaping is cheap enough.
func appendJSONString(b []byte, s string) []byte {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(out.Bytes(), []byte("\n"))...)
}

// rfc3339 appends times in loc formatted as time.RFC3339 formats them. The times of an answer
// are sorted, and thousands of them share a few dates and one or two UTC offsets, so it
// remembers the zone period (its offset, formatted) and the date of the last time instead of
// looking them up for each time as AppendFormat does; that was most of the cost of the answer.
type rfc3339 struct {
	loc *time.Location
	// The zone period of the last time: [from, until) in Unix seconds, with its offset in
	// seconds east of UTC and that offset as RFC 3339 writes it ("Z", "+02:00").
	from, until int64
	offset      int64
	zone        []byte
	// day is the local date of the last time in days since 1970-01-01, date that date with the
	// T ("2030-05-06T").
	day  int64
	date []byte
}

func newRFC3339(loc *time.Location) *rfc3339 {
	// An empty zone period and no day: the first time looks both up.
	return &rfc3339{loc: loc, from: math.MaxInt64, until: math.MinInt64, day: math.MinInt64}
}

func (f *rfc3339) append(b []byte, t time.Time) []byte {
	u := t.Unix()
	if u < f.from || u >= f.until {
		f.setZone(t)
	}
	local := u + f.offset
	day := local / 86400
	if local%86400 < 0 {
		day-- // floor, for times before 1970
	}
	if day != f.day {
		y, m, d := time.Unix(local, 0).UTC().Date()
		if y < 0 || y > 9999 {
			return t.In(f.loc).AppendFormat(b, time.RFC3339) // not 4 digits: not worth a fast path
		}
		f.day = day
		f.date = appendDigits(f.date[:0], y, 4)
		f.date = append(f.date, '-')
		f.date = appendDigits(f.date, int(m), 2)
		f.date = append(f.date, '-')
		f.date = appendDigits(f.date, d, 2)
		f.date = append(f.date, 'T')
	}
	sec := int(local - day*86400)
	b = append(b, f.date...)
	b = appendDigits(b, sec/3600, 2)
	b = append(b, ':')
	b = appendDigits(b, sec/60%60, 2)
	b = append(b, ':')
	b = appendDigits(b, sec%60, 2)
	return append(b, f.zone...)
}

// setZone looks up the zone period of t in loc, and formats its offset like time.RFC3339: "Z"
// for UTC, otherwise ±hh:mm with the seconds of an odd historical offset cut off.
func (f *rfc3339) setZone(t time.Time) {
	t = t.In(f.loc)
	_, offset := t.Zone()
	f.offset = int64(offset)
	f.from, f.until = math.MinInt64, math.MaxInt64 // zero bounds: the period has no end
	start, end := t.ZoneBounds()
	if !start.IsZero() {
		f.from = start.Unix()
	}
	if !end.IsZero() {
		f.until = end.Unix()
	}
	f.zone = f.zone[:0]
	if offset == 0 {
		f.zone = append(f.zone, 'Z')
		return
	}
	minutes := offset / 60
	if minutes < 0 {
		f.zone = append(f.zone, '-')
		minutes = -minutes
	} else {
		f.zone = append(f.zone, '+')
	}
	f.zone = appendDigits(f.zone, minutes/60, 2)
	f.zone = append(f.zone, ':')
	f.zone = appendDigits(f.zone, minutes%60, 2)
}

// appendDigits appends n ≥ 0 with at least width digits, zero-padded.
func appendDigits(b []byte, n, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for n >= 10 || width > 1 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	buf[i] = byte('0' + n)
	return append(b, buf[i:]...)
}
