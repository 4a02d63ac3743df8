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
	"github.com/slotbook/slotbook/app/internal/business"
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

	locs sync.Map // time zone name -> *time.Location

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

// env is what most operations need: the settings, their time zone and the current time.
type env struct {
	set business.Settings
	loc *time.Location
	now time.Time
}

func (s *Service) env(ctx context.Context) (env, error) {
	set, err := s.st.Settings(ctx)
	if err != nil {
		return env{}, fmt.Errorf("load settings: %w", err)
	}
	loc, err := s.location(set.TimeZone)
	if err != nil {
		return env{}, err
	}
	return env{set: set, loc: loc, now: s.now()}, nil
}

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
	var errs validation.Errors
	checkWindow(&errs, from, to)
	e, err := s.env(ctx)
	if err != nil {
		return nil, err
	}
	svc, staff, err := s.serviceAndStaff(ctx, serviceID, staffID, &errs)
	if err != nil {
		return nil, err
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	// Nothing can be booked before today or after the advance limit: don't load for it.
	if today := schedule.DateOf(e.now.In(e.loc)); from.Before(today) {
		from = today
	}
	if last := schedule.DateOf(e.now.Add(e.set.MaxAdvance).In(e.loc)); last.Before(to) {
		to = last
	}
	if to.Before(from) {
		return nil, nil
	}
	q, err := s.query(ctx, e, svc, staff, from, to, 0)
	if err != nil {
		return nil, err
	}
	return s.compute(q, e.loc), nil
}

func checkWindow(errs *validation.Errors, from, to schedule.Date) {
	valid := func(d schedule.Date) bool {
		return d.Year >= availability.MinYear && d.Year <= availability.MaxYear &&
			schedule.DateOf(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)) == d
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

// serviceAndStaff loads an active service and the active staff offering it, in their stable
// order; with staffID only that person. Problems are added to errs (serviceId, staffId).
func (s *Service) serviceAndStaff(ctx context.Context, serviceID int64, staffID *int64, errs *validation.Errors) (catalog.Service, []schedule.Staff, error) {
	if serviceID <= 0 {
		errs.Add("serviceId", "required", "Choose a service.", nil)
		return catalog.Service{}, nil, nil
	}
	svc, err := s.st.GetService(ctx, serviceID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !svc.Active) {
		errs.Add("serviceId", "unknown", "This service does not exist or is not offered.", nil)
		return catalog.Service{}, nil, nil
	}
	if err != nil {
		return catalog.Service{}, nil, err
	}
	staff, err := s.st.StaffForService(ctx, serviceID, true)
	if err != nil {
		return catalog.Service{}, nil, err
	}
	if staffID == nil {
		return svc, staff, nil
	}
	for _, st := range staff {
		if st.ID == *staffID {
			return svc, []schedule.Staff{st}, nil
		}
	}
	st, err := s.st.GetStaff(ctx, *staffID)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && !st.Active):
		errs.Add("staffId", "unknown", "This staff member does not exist.", nil)
	case err != nil:
		return catalog.Service{}, nil, err
	default:
		errs.Add("staffId", "not_offered", "This staff member does not offer this service.", nil)
	}
	return svc, nil, nil
}

// query loads everything the engine needs for the staff from one local date to another. The
// booking exceptBookingID (0: none) does not count as busy.
func (s *Service) query(ctx context.Context, e env, svc catalog.Service, staff []schedule.Staff, from, to schedule.Date, exceptBookingID int64) (availability.Query, error) {
	ids := make([]int64, len(staff))
	for i, st := range staff {
		ids[i] = st.ID
	}
	hours, err := s.st.WorkingHoursFor(ctx, ids)
	if err != nil {
		return availability.Query{}, err
	}
	offs, err := s.st.ListTimeOff(ctx, ids, from, to)
	if err != nil {
		return availability.Query{}, err
	}
	// Busy ranges: a day's margin on both sides covers buffers and DST.
	busyFrom := time.Date(from.Year, from.Month, from.Day-1, 0, 0, 0, 0, e.loc)
	busyTo := time.Date(to.Year, to.Month, to.Day+2, 0, 0, 0, 0, e.loc)
	busy, err := s.st.BusyRanges(ctx, ids, busyFrom, busyTo, exceptBookingID)
	if err != nil {
		return availability.Query{}, err
	}
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
	}
	for _, id := range ids {
		cal := availability.StaffCalendar{StaffID: id, Hours: hours[id], Busy: busy[id]}
		for _, o := range offs {
			if o.StaffID == id {
				cal.TimeOff = append(cal.TimeOff, o.Range)
			}
		}
		q.Staff = append(q.Staff, cal)
	}
	return q, nil
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

// alternatives are free slots near a taken one: on its day the ones closest to it, then the
// following days', at most MaxAlternatives, by start.
func (s *Service) alternatives(ctx context.Context, e env, svc catalog.Service, staff []schedule.Staff, near time.Time, exceptBookingID int64, admin bool) ([]availability.Slot, error) {
	day := schedule.DateOf(near.In(e.loc))
	if today := schedule.DateOf(e.now.In(e.loc)); day.Before(today) && !admin {
		day = today
	}
	to := day.AddDays(30)
	q, err := s.query(ctx, e, svc, staff, day, to, exceptBookingID)
	if err != nil {
		return nil, err
	}
	if admin {
		q = adminQuery(q)
	}
	slots := s.compute(q, e.loc)
	var sameDay, later []availability.Slot
	for _, sl := range slots {
		if schedule.DateOf(sl.Start) == day {
			sameDay = append(sameDay, sl)
		} else {
			later = append(later, sl)
		}
	}
	if len(sameDay) > MaxAlternatives {
		dist := func(sl availability.Slot) time.Duration {
			d := sl.Start.Sub(near)
			if d < 0 {
				return -d
			}
			return d
		}
		slices.SortStableFunc(sameDay, func(a, b availability.Slot) int { return int(dist(a) - dist(b)) })
		sameDay = sameDay[:MaxAlternatives]
		slices.SortFunc(sameDay, func(a, b availability.Slot) int { return a.Start.Compare(b.Start) })
	}
	out := append(sameDay, later...)
	if len(out) > MaxAlternatives {
		out = out[:MaxAlternatives]
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
