package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// form reads a posted form, collecting validation errors under the same field names and codes
// the backend uses, so that both render the same way.
type form struct {
	values url.Values
	errs   validation.Errors
}

func parseForm(r *http.Request) (*form, error) {
	if err := r.ParseForm(); err != nil {
		return nil, errPageBadRequest
	}
	return &form{values: r.PostForm}, nil
}

// adminForm opens an admin POST handler that needs nothing before its form: the page's view,
// then the parsed form. false: it has answered.
func (s *server) adminForm(w http.ResponseWriter, r *http.Request, nav string) (*view, *form, bool) {
	v, err := s.adminView(w, r, nav)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	return v, f, true
}

// saveIfValid calls save only when the form has no errors. The backend's validation errors
// become the form's, so that the page shows both alike; any other error is returned.
func (f *form) saveIfValid(save func() error) error {
	if len(f.errs) > 0 {
		return nil
	}
	err := save()
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		f.errs = verrs
		return nil
	}
	return err
}

func (f *form) str(name string) string { return strings.TrimSpace(f.values.Get(name)) }

func (f *form) has(name string) bool { return f.values.Get(name) != "" }

// password reads a required password as typed (not trimmed: spaces are part of a password).
func (f *form) password(name string) string {
	s := f.values.Get(name)
	if s == "" {
		f.errs.Add(name, "required", "is required", nil)
	}
	return s
}

// text reads a string of at most max characters, required or not.
func (f *form) text(name string, required bool, max int) string {
	s := f.str(name)
	switch {
	case s == "" && required:
		f.errs.Add(name, "required", "is required", nil)
	case utf8.RuneCountInString(s) > max:
		f.errs.Add(name, "too_long", "is too long", map[string]any{"max": max})
	}
	return s
}

// integer reads a whole number in [lo, hi].
func (f *form) integer(name string, lo, hi int) int {
	s := f.str(name)
	if s == "" {
		f.errs.Add(name, "required", "is required", nil)
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f.errs.Add(name, "number", "is not a whole number", nil)
		return 0
	}
	if n < lo || n > hi {
		f.errs.Add(name, "range", "is out of range", map[string]any{"min": lo, "max": hi})
	}
	return n
}

// optionalInt reads a whole number, 0 if empty.
func (f *form) optionalInt(name string, lo, hi int) int {
	if f.str(name) == "" {
		return 0
	}
	return f.integer(name, lo, hi)
}

func (f *form) minutes(name string, lo, hi int) time.Duration {
	return time.Duration(f.integer(name, lo, hi)) * time.Minute
}

func (f *form) date(name string) schedule.Date {
	s := f.str(name)
	if s == "" {
		f.errs.Add(name, "required", "is required", nil)
		return schedule.Date{}
	}
	d, err := schedule.ParseDate(s)
	if err != nil {
		f.errs.Add(name, "invalid_date", "is not a date", nil)
	}
	return d
}

func (f *form) clock(name string) schedule.Clock {
	s := f.str(name)
	if s == "" {
		f.errs.Add(name, "required", "is required", nil)
		return 0
	}
	c, err := parseClock(s)
	if err != nil {
		f.errs.Add(name, "invalid_time", "is not a time of day", nil)
	}
	return c
}

// parseClock accepts "HH:MM" and "HH:MM:SS" (what some browsers send for type=time).
func parseClock(s string) (schedule.Clock, error) {
	if len(s) == 8 && strings.HasSuffix(s, ":00") {
		s = s[:5]
	}
	return schedule.ParseClock(s)
}

func (f *form) checkbox(name string) bool { return f.values.Get(name) != "" }

// ids reads a multi-valued field of ids.
func (f *form) ids(name string) []int64 {
	var out []int64
	for _, s := range f.values[name] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			f.errs.Add(name, "invalid", "is invalid", nil)
			return nil
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// staffParam reads "any"/"" (nil) or a staff id.
func (f *form) staffParam(name string) *int64 {
	s := f.str(name)
	if s == "" || s == "any" {
		return nil
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f.errs.Add(name, "invalid", "is invalid", nil)
		return nil
	}
	return &id
}

// localTime combines a local date and wall-clock time in a time zone.
func localTime(d schedule.Date, c schedule.Clock, tz *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, int(c)/60, int(c)%60, 0, 0, tz)
}

// formValues are the values a form shows: the stored ones or what was posted.
type formValues url.Values

// Get returns the first value.
func (v formValues) Get(name string) string { return url.Values(v).Get(name) }

// Has reports whether the field has value among its values (checkboxes, multiple selects).
func (v formValues) Has(name, value string) bool { return slices.Contains(v[name], value) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
