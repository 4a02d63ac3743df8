package booking

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// Errors of the Service besides validation.Errors (invalid input, 422 in the API) and
// *ConflictError (the time is taken, 409).
var (
	// ErrNotFound: no booking with that id or manage token.
	ErrNotFound = errors.New("booking not found")
	// ErrDeadlinePassed: the change deadline (business settings) has passed, so the customer can
	// no longer cancel or reschedule.
	ErrDeadlinePassed = errors.New("the deadline for changing this booking has passed")
	// ErrCancelled: the booking is cancelled and cannot be moved.
	ErrCancelled = errors.New("the booking is cancelled")
)

// ConflictError says the requested time is not free (any more): someone else booked it, or, when
// rescheduling, it overlaps another booking. Alternatives are free slots of the same service
// (and staff member, if one was asked for) on that day or the next days with free slots, at most
// MaxAlternatives, by start.
type ConflictError struct {
	Alternatives []availability.Slot
}

func (e *ConflictError) Error() string {
	return "this time is no longer available; please choose another one"
}

// MaxAlternatives is how many alternatives a ConflictError offers at most.
const MaxAlternatives = 10

// MaxAvailabilityDays is the longest window Availability answers (From to To inclusive).
const MaxAvailabilityDays = availability.MaxDays

// Metrics counts bookings; *metrics.Metrics implements it.
type Metrics interface {
	BookingCreated()
	BookingConflicted()
}

// Service makes, cancels and moves bookings. It is safe for concurrent use.
type Service struct {
	st      *store.Store
	now     func() time.Time
	baseURL string
	metrics Metrics
	// tokenKey seals manage tokens for later mails (WithManageTokenKey; nil: not sealed).
	tokenKey []byte

	locs  sync.Map // time zone name -> *time.Location
	cache catalogueCache

	// beforeWrite, if set, runs before each attempt to insert or move a booking (tests use it to
	// lose races on purpose).
	beforeWrite func(staffID int64)
}

// Option configures a Service.
type Option func(*Service)

// WithNow sets the clock (default time.Now).
func WithNow(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithBaseURL sets the public address of the app, e.g. https://book.example.com; manage links are
// BaseURL + "/manage/" + token. Default: "" (links relative to the host).
func WithBaseURL(u string) Option {
	return func(s *Service) { s.baseURL = strings.TrimRight(u, "/") }
}

// WithMetrics counts created and conflicted bookings (nil: not counted).
func WithMetrics(m Metrics) Option { return func(s *Service) { s.metrics = m } }

// NewService returns a booking service on the store.
func NewService(st *store.Store, opts ...Option) *Service {
	s := &Service{st: st, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Request asks for a booking. A nil StaffID means any staff member who offers the service.
type Request struct {
	ServiceID int64
	StaffID   *int64
	Start     time.Time
	Customer  Customer
	// PrivacyNoticeVersion is the privacy-notice version the customer accepted; a booking from
	// the public must carry the business's current one when a notice is configured
	// (business.Privacy), and the booking records it.
	PrivacyNoticeVersion string
}

// Confirmation of a new booking. ManageToken is the customer's secret for managing it (only its
// hash is stored, so this is the only chance to get it); ManageURL is the link to send them.
type Confirmation struct {
	Booking     Booking
	ManageToken string
	ManageURL   string
}

// ManagedBooking is what a customer sees of their booking. CanChange says whether they may still
// cancel or reschedule it (it is confirmed and the Deadline has not passed).
type ManagedBooking struct {
	Booking   Booking
	Service   catalog.Service
	Staff     schedule.Staff
	CanChange bool
	Deadline  time.Time
}

// ---- settings and time zone ----

func (s *Service) location(name string) (*time.Location, error) {
	if l, ok := s.locs.Load(name); ok {
		return l.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("business time zone %q: %w", name, err)
	}
	s.locs.Store(name, loc)
	return loc, nil
}

// Location is the business's time zone, for showing times.
func (s *Service) Location(ctx context.Context) (*time.Location, error) {
	e, err := s.env(ctx)
	return e.loc, err
}

// ---- availability ----

// Availability returns the bookable slots of a service from one local date to another
// (inclusive, at most MaxAvailabilityDays days), of one staff member if staffID is not nil,
// otherwise of everyone who offers it (each slot lists the free staff in their stable order).
// Bad input gives validation.Errors with the fields serviceId, staffId, from and to.
func (s *Service) Availability(ctx context.Context, serviceID int64, staffID *int64, from, to schedule.Date) ([]availability.Slot, error) {
	slots, _, err := s.AvailabilityIn(ctx, serviceID, staffID, from, to)
	return slots, err
}

// AvailabilityIn is Availability that also returns the business's time zone, which the slots
// are in (nil only with an error other than validation.Errors), from the same read of the
// settings.
func (s *Service) AvailabilityIn(ctx context.Context, serviceID int64, staffID *int64, from, to schedule.Date) ([]availability.Slot, *time.Location, error) {
	var (
		errs     validation.Errors
		svc      catalog.Service
		staff    []schedule.Staff
		now      = s.now()
		first    schedule.Date // from..to clipped to what can be booked
		last     schedule.Date
		anything bool // whether first..last is not empty
	)
	c, busy, err := s.snapshot(ctx, func(c *catalogue) store.BusyQuery {
		errs = nil
		checkWindow(&errs, from, to)
		svc, staff = c.serviceAndStaff(serviceID, staffID, &errs)
		if len(errs) > 0 {
			return store.BusyQuery{}
		}
		// Nothing can be booked before today or after the advance limit: don't load for it.
		first, last = from, to
		if today := schedule.DateOf(now.In(c.loc)); first.Before(today) {
			first = today
		}
		if limit := schedule.DateOf(now.Add(c.set.MaxAdvance).In(c.loc)); limit.Before(last) {
			last = limit
		}
		anything = !last.Before(first)
		if !anything {
			return store.BusyQuery{}
		}
		return busyQuery(c.loc, svc, staff, first, last, 0)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("load settings: %w", err)
	}
	if err := errs.Err(); err != nil {
		return nil, c.loc, err
	}
	if !anything {
		return nil, c.loc, nil
	}
	e := env{cat: c, set: c.set, loc: c.loc, now: now}
	return s.compute(query(e, svc, staff, first, last, busy), c.loc), c.loc, nil
}

func checkWindow(errs *validation.Errors, from, to schedule.Date) {
	valid := func(d schedule.Date) bool {
		return validYear(d) && schedule.DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)) == d
	}
	switch {
	case !valid(from):
		errs.Add("from", "invalid", "Enter a valid date (YYYY-MM-DD).", nil)
	case !valid(to):
		errs.Add("to", "invalid", "Enter a valid date (YYYY-MM-DD).", nil)
	case to.Before(from):
		errs.Add("to", "before_from", "The end date cannot be before the start date.", nil)
	case from.AddDays(MaxAvailabilityDays - 1).Before(to):
		errs.Add("to", "too_long", fmt.Sprintf("Ask for at most %d days at once.", MaxAvailabilityDays),
			map[string]any{"max": MaxAvailabilityDays})
	}
}

// validYear reports whether the engine accepts dates of d's year.
func validYear(d schedule.Date) bool {
	return d.Year >= availability.MinYear && d.Year <= availability.MaxYear
}

// busyQuery asks for the busy ranges of staff that can block a start of svc on the local dates
// from..to. A start t is blocked by a busy range overlapping [t-BufferBefore,
// t+Duration+BufferAfter), and the engine only offers starts whose appointment lies within that
// day's working hours, i.e. within [from 00:00, to+1 00:00). So the ranges overlapping
// [from 00:00 - BufferBefore, to+1 00:00 + BufferAfter) are all it needs, widened by any change
// of the zone's UTC offset near either end (time.Date and the engine may then pick different
// instants for a local midnight). No staff: an empty query (only the catalogue version is read).
func busyQuery(loc *time.Location, svc catalog.Service, staff []schedule.Staff, from, to schedule.Date, exceptBookingID int64) store.BusyQuery {
	if len(staff) == 0 {
		return store.BusyQuery{}
	}
	ids := make([]int64, len(staff))
	for i, st := range staff {
		ids[i] = st.ID
	}
	lo := time.Date(from.Year, from.Month, from.Day, 0, 0, 0, 0, loc)
	hi := time.Date(to.Year, to.Month, to.Day+1, 0, 0, 0, 0, loc)
	return store.BusyQuery{
		StaffIDs:        ids,
		From:            lo.Add(-svc.BufferBefore - offsetChange(lo)),
		To:              hi.Add(svc.BufferAfter + offsetChange(hi)),
		ExceptBookingID: exceptBookingID,
	}
}

// offsetChange is how much the UTC offset of t's zone changes within a day of t: zero on most
// days, an hour around a DST change.
func offsetChange(t time.Time) time.Duration {
	_, before := t.Add(-24 * time.Hour).Zone()
	_, at := t.Zone()
	_, after := t.Add(24 * time.Hour).Zone()
	return time.Duration(max(before, at, after)-min(before, at, after)) * time.Second
}

// query is the engine's query for the staff from one local date to another, with the busy
// ranges read for it (see busyQuery).
func query(e env, svc catalog.Service, staff []schedule.Staff, from, to schedule.Date, busy map[int64][]availability.Range) availability.Query {
	q := availability.Query{
		Location:   e.loc,
		From:       from,
		To:         to,
		Now:        e.now,
		MinNotice:  e.set.MinNotice,
		MaxAdvance: e.set.MaxAdvance,
		Interval:   e.set.SlotInterval,
		Service: availability.Service{
			Duration:     svc.Duration,
			BufferBefore: svc.BufferBefore,
			BufferAfter:  svc.BufferAfter,
		},
		Staff: make([]availability.StaffCalendar, len(staff)),
	}
	for i, st := range staff {
		q.Staff[i] = availability.StaffCalendar{
			StaffID: st.ID,
			Hours:   e.cat.hours[st.ID],
			TimeOff: e.cat.timeOffIn(st.ID, from, to),
			Busy:    busy[st.ID],
		}
	}
	return q
}

// compute runs the engine, with times in the business's time zone.
func (s *Service) compute(q availability.Query, loc *time.Location) []availability.Slot {
	slots := availability.Compute(q)
	for i := range slots {
		slots[i].Start = slots[i].Start.In(loc)
		slots[i].End = slots[i].End.In(loc)
	}
	return slots
}

// withoutBusy is q with no bookings: which starts the hours, grid, notice and advance allow.
func withoutBusy(q availability.Query) availability.Query {
	q.Staff = slices.Clone(q.Staff)
	for i := range q.Staff {
		q.Staff[i].Busy = nil
	}
	return q
}

func findSlot(slots []availability.Slot, start time.Time) (availability.Slot, bool) {
	for _, sl := range slots {
		if sl.Start.Equal(start) {
			return sl, true
		}
	}
	return availability.Slot{}, false
}

// dayBusy are busy ranges a request has read for one local date (see busyQuery).
type dayBusy struct {
	day  schedule.Date
	busy map[int64][]availability.Range
}

// alternativeDays is how many days after a taken slot's day alternatives are looked for.
const alternativeDays = 30

// alternatives are free slots near a taken one: on its day the ones closest to it, then the
// following days', at most MaxAlternatives, by start. A conflict is usually answered from the
// day alone, so that is searched first (with known's busy ranges if they are that day's; the
// caller passes nil after losing a race, when they are out of date). Only if it has fewer than
// MaxAlternatives free slots are the next days read, 1, 2, 4, ... at a time, up to
// alternativeDays days after it and never beyond the advance limit: a few round trips at most,
// instead of computing a month for every conflict.
func (s *Service) alternatives(ctx context.Context, e env, svc catalog.Service, staff []schedule.Staff, near time.Time, exceptBookingID int64, admin bool, known *dayBusy) ([]availability.Slot, error) {
	day := schedule.DateOf(near.In(e.loc))
	if today := schedule.DateOf(e.now.In(e.loc)); day.Before(today) && !admin {
		day = today
	}
	slots := func(from, to schedule.Date, busy map[int64][]availability.Range) []availability.Slot {
		q := query(e, svc, staff, from, to, busy)
		if admin {
			q = adminQuery(q)
		}
		return s.compute(q, e.loc)
	}
	read := func(from, to schedule.Date) (map[int64][]availability.Range, error) {
		q := busyQuery(e.loc, svc, staff, from, to, exceptBookingID)
		if len(q.StaffIDs) == 0 {
			return nil, nil
		}
		return s.st.BusyRanges(ctx, q.StaffIDs, q.From, q.To, q.ExceptBookingID)
	}

	var busy map[int64][]availability.Range
	if known != nil && known.day == day {
		busy = known.busy
	} else {
		var err error
		if busy, err = read(day, day); err != nil {
			return nil, err
		}
	}
	out := slots(day, day, busy)
	if len(out) >= MaxAlternatives {
		// The closest ones, by start.
		dist := func(sl availability.Slot) time.Duration { return sl.Start.Sub(near).Abs() }
		slices.SortStableFunc(out, func(a, b availability.Slot) int { return int(dist(a) - dist(b)) })
		out = out[:MaxAlternatives]
		slices.SortFunc(out, func(a, b availability.Slot) int { return a.Start.Compare(b.Start) })
		return out, nil
	}

	last := day.AddDays(alternativeDays)
	if limit := schedule.DateOf(e.now.Add(e.set.MaxAdvance).In(e.loc)); !admin && limit.Before(last) {
		last = limit // nothing later can be booked
	}
	for from, n := day.AddDays(1), 1; !last.Before(from) && len(out) < MaxAlternatives; from, n = from.AddDays(n), 2*n {
		to := from.AddDays(n - 1)
		if last.Before(to) {
			to = last
		}
		busy, err := read(from, to)
		if err != nil {
			return nil, err
		}
		more := slots(from, to, busy)
		out = append(out, more[:min(len(more), MaxAlternatives-len(out))]...)
	}
	return out, nil
}

// adminQuery lifts the notice and advance limits for the admin: any start the hours and the
// grid allow, even in the past.
func adminQuery(q availability.Query) availability.Query {
	// "Now" before the window: every start in it counts as in the future.
	q.Now = time.Date(q.From.Year, q.From.Month, q.From.Day-1, 0, 0, 0, 0, q.Location)
	q.MinNotice = 0
	q.MaxAdvance = 0
	return q
}

// ---- tokens ----

// newToken returns a manage token (32 random bytes, base64url) and its SHA-256.
func newToken() (string, []byte) {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	token := base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// validToken reports whether token has the form newToken makes.
func validToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(b) == 32
}

// ManageURL is the customer's link for a manage token.
func (s *Service) ManageURL(token string) string { return s.baseURL + "/manage/" + token }

// ---- conversions ----

func fromStore(b store.Booking, loc *time.Location) Booking {
	out := Booking{
		ID:           b.ID,
		ServiceID:    b.ServiceID,
		StaffID:      b.StaffID,
		Start:        b.Start.In(loc),
		End:          b.End.In(loc),
		BlockedStart: b.BlockedStart.In(loc),
		BlockedEnd:   b.BlockedEnd.In(loc),
		Customer: Customer{
			Name:   b.CustomerName,
			Email:  b.CustomerEmail,
			Phone:  b.CustomerPhone,
			Locale: b.Locale,
		},
		Status:    Status(b.Status),
		CreatedAt: b.CreatedAt.In(loc),
	}
	if b.CancelledAt != nil {
		t := b.CancelledAt.In(loc)
		out.CancelledAt = &t
	}
	return out
}

func (s *Service) conflict(alts []availability.Slot) error {
	if s.metrics != nil {
		s.metrics.BookingConflicted()
	}
	if alts == nil {
		alts = []availability.Slot{}
	}
	return &ConflictError{Alternatives: alts}
}
