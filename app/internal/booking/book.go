package booking

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// Locales customers' messages can be in; the first is the default.
var Locales = []string{"en", "de"}

// ValidateCustomer checks and normalises (trims) a customer's details. Field names and codes:
// customer.name (required, too_long, invalid), customer.email (required, invalid_email),
// customer.phone (optional; invalid_phone: 5–40 characters of digits, spaces and +-/().,
// with at least 5 digits), customer.locale ("" becomes "en"; invalid).
func ValidateCustomer(c Customer) (Customer, validation.Errors) {
	var errs validation.Errors
	c.Name = strings.TrimSpace(c.Name)
	c.Email = strings.TrimSpace(c.Email)
	c.Phone = strings.TrimSpace(c.Phone)
	c.Locale = strings.ToLower(strings.TrimSpace(c.Locale))
	switch {
	case c.Name == "":
		errs.Add("customer.name", "required", "Enter your name.", nil)
	case utf8.RuneCountInString(c.Name) > 200:
		errs.Add("customer.name", "too_long", "The name is too long (at most 200 characters).", map[string]any{"max": 200})
	case !utf8.ValidString(c.Name) || strings.IndexFunc(c.Name, unicode.IsControl) >= 0:
		errs.Add("customer.name", "invalid", "The name contains characters that are not allowed.", nil)
	}
	switch {
	case c.Email == "":
		errs.Add("customer.email", "required", "Enter your e-mail address.", nil)
	case !store.ValidEmail(c.Email):
		errs.Add("customer.email", "invalid_email", "Enter a valid e-mail address, e.g. name@example.com.", nil)
	}
	if c.Phone != "" && !validPhone(c.Phone) {
		errs.Add("customer.phone", "invalid_phone",
			"Enter a phone number of digits, spaces and + - / ( ) . (at least 5 digits, at most 40 characters).", nil)
	}
	switch {
	case c.Locale == "":
		c.Locale = Locales[0]
	case !slicesContains(Locales, c.Locale):
		errs.Add("customer.locale", "invalid", "Choose English (en) or German (de).", nil)
	}
	return c, errs
}

func validPhone(s string) bool {
	if len(s) > 40 {
		return false
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +-/().", r):
		default:
			return false
		}
	}
	return digits >= 5
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Book books a slot for a customer. It validates everything (validation.Errors with the fields
// serviceId, staffId, start, customer.*), checks that the start is a slot currently offered
// (working hours, grid, minimum notice, maximum advance) and inserts the booking. With
// StaffID nil it tries the free staff members in their stable order (sort_order, id). If the time
// is taken (or taken meanwhile by a concurrent booking) it returns a *ConflictError with
// alternatives.
func (s *Service) Book(ctx context.Context, req Request) (*Confirmation, error) {
	return s.create(ctx, req, false)
}

// AdminCreate books like Book, but for the business: the minimum notice and maximum advance do
// not apply (the start must still fit working hours and the grid, and be free).
func (s *Service) AdminCreate(ctx context.Context, req Request) (*Confirmation, error) {
	return s.create(ctx, req, true)
}

func (s *Service) create(ctx context.Context, req Request, admin bool) (*Confirmation, error) {
	if !admin { // a member of the public, unless the web layer knows better
		ctx = audit.WithActor(ctx, audit.ActorOr(ctx, audit.ActorCustomer))
	}
	if req.StaffID != nil {
		if c := s.cache.current.Load(); c != nil {
			if conf, done, err := s.createWithStaff(ctx, c, req, admin); done {
				return conf, err
			}
		}
	}
	cust, custErrs := ValidateCustomer(req.Customer)
	var (
		errs  validation.Errors
		svc   catalog.Service
		staff []schedule.Staff
		day   schedule.Date
	)
	// One round trip: the catalogue version and the busy ranges of the start's day.
	c, busy, err := s.snapshot(ctx, func(c *catalogue) store.BusyQuery {
		errs = slices.Clone(custErrs)
		checkConsent(&errs, c.privacy, req.PrivacyNoticeVersion, admin)
		svc, staff = c.serviceAndStaff(req.ServiceID, req.StaffID, &errs)
		if svc.ID == 0 || req.Start.IsZero() {
			return store.BusyQuery{}
		}
		day = schedule.DateOf(req.Start.In(c.loc))
		if !validYear(day) {
			return store.BusyQuery{}
		}
		return busyQuery(c.loc, svc, staff, day, day, 0)
	})
	if err != nil {
		return nil, fmt.Errorf("load settings: %w", err)
	}
	if req.Start.IsZero() {
		errs.Add("start", "required", "Choose a time.", nil)
	}
	if svc.ID == 0 || req.Start.IsZero() {
		return nil, errs.Err()
	}
	e := s.envOf(c)
	slot, q, _ := s.checkStart(e, svc, staff, req.Start, day, busy, admin, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	token, hash, sealed, err := s.newSealedToken()
	if err != nil {
		return nil, err
	}
	known := &dayBusy{day: day, busy: busy}
	for _, staffID := range slot.StaffIDs { // none if taken
		if s.beforeWrite != nil {
			s.beforeWrite(staffID)
		}
		b, err := s.st.InsertBooking(ctx, newRow(svc, q, slot, staffID, cust, hash, sealed, consentVersion(c.privacy, admin)))
		if errors.Is(err, store.ErrOverlap) {
			known = nil // the busy ranges read are out of date
			continue    // lost a race for this person: try the next
		}
		if err != nil {
			return nil, err
		}
		return s.created(b, e, token), nil
	}
	alts, err := s.alternatives(ctx, e, svc, staff, req.Start, 0, admin, known)
	if err != nil {
		return nil, err
	}
	return nil, s.conflict(alts)
}

// createWithStaff is the fast path of a booking with a chosen staff member: one round trip.
// It checks the request against the cached catalogue c without reading the staff member's
// bookings, and inserts with the catalogue version as a condition (store.InsertBookingIfCurrent):
// the exclusion constraint decides whether the time is free, as it does on every path. done is
// false when the request must take the usual path instead: it is invalid against c (the usual
// path checks the catalogue version first, so that a change made elsewhere is never reported as
// the customer's mistake) or the catalogue changed meanwhile. A taken time gives a
// *ConflictError with alternatives, as on the usual path.
func (s *Service) createWithStaff(ctx context.Context, c *catalogue, req Request, admin bool) (conf *Confirmation, done bool, err error) {
	cust, errs := ValidateCustomer(req.Customer)
	checkConsent(&errs, c.privacy, req.PrivacyNoticeVersion, admin)
	svc, staff := c.serviceAndStaff(req.ServiceID, req.StaffID, &errs)
	if len(errs) > 0 || req.Start.IsZero() {
		return nil, false, nil
	}
	day := schedule.DateOf(req.Start.In(c.loc))
	e := s.envOf(c)
	slot, q, _ := s.checkStart(e, svc, staff, req.Start, day, nil, admin, &errs)
	if len(errs) > 0 || len(slot.StaffIDs) != 1 {
		return nil, false, nil
	}
	staffID := slot.StaffIDs[0]
	if s.beforeWrite != nil {
		s.beforeWrite(staffID)
	}
	token, hash, sealed, err := s.newSealedToken()
	if err != nil {
		return nil, true, err
	}
	b, err := s.st.InsertBookingIfCurrent(ctx,
		newRow(svc, q, slot, staffID, cust, hash, sealed, consentVersion(c.privacy, admin)), c.version)
	switch {
	case errors.Is(err, store.ErrStaleCatalog):
		return nil, false, nil
	case errors.Is(err, store.ErrOverlap):
		alts, err := s.alternatives(ctx, e, svc, staff, req.Start, 0, admin, nil)
		if err != nil {
			return nil, true, err
		}
		return nil, true, s.conflict(alts)
	case err != nil:
		return nil, true, err
	}
	return s.created(b, e, token), true, nil
}

// newRow is the row a new booking of svc at slot with staffID inserts. privacyVersion is recorded
// only when required (checkConsent): the business's own bookings accept nothing.
func newRow(svc catalog.Service, q availability.Query, slot availability.Slot, staffID int64, cust Customer, hash []byte, sealed, privacyVersion string) store.Booking {
	blocked := q.Service.Blocked(slot.Start)
	return store.Booking{
		ServiceID:            svc.ID,
		StaffID:              staffID,
		Start:                slot.Start,
		End:                  slot.Start.Add(svc.Duration),
		BlockedStart:         blocked.Start,
		BlockedEnd:           blocked.End,
		CustomerName:         cust.Name,
		CustomerEmail:        cust.Email,
		CustomerPhone:        cust.Phone,
		Locale:               cust.Locale,
		ManageTokenHash:      hash,
		ManageTokenSealed:    sealed,
		PrivacyNoticeVersion: privacyVersion,
	}
}

// created counts a new booking and returns what the customer gets back: the booking and its
// manage link (the token exists in plain only now).
func (s *Service) created(b store.Booking, e env, token string) *Confirmation {
	if s.metrics != nil {
		s.metrics.BookingCreated()
	}
	return &Confirmation{Booking: fromStore(b, e.loc), ManageToken: token, ManageURL: s.ManageURL(token)}
}

// checkStart checks that start, on the local date day, is a slot the engine offers for svc and
// staff, given the busy ranges read for that day. If the hours, grid, notice or advance rule it
// out, it adds a "start" error to errs. If it is offered but nobody is free then, taken is true.
// Otherwise it returns the slot (its StaffIDs: who is free, in the order of staff) and the
// query.
func (s *Service) checkStart(e env, svc catalog.Service, staff []schedule.Staff, start time.Time, day schedule.Date, busy map[int64][]availability.Range, admin bool, errs *validation.Errors) (slot availability.Slot, q availability.Query, taken bool) {
	if !validYear(day) {
		errs.Add("start", "not_offered", "This time cannot be booked.", nil)
		return slot, q, false
	}
	q = query(e, svc, staff, day, day, busy)
	if admin {
		q = adminQuery(q)
	}
	// Usually the start is free: one computation. Otherwise a second one without the bookings
	// tells whether it is taken or never offered.
	if slot, ok := findSlot(s.compute(q, e.loc), start); ok {
		return slot, q, false
	}
	if _, ok := findSlot(s.compute(withoutBusy(q), e.loc), start); ok {
		return slot, q, true
	}
	switch {
	case !admin && start.Before(e.now.Add(e.set.MinNotice)):
		errs.Add("start", "too_soon", "This time is too soon or in the past; choose a later one.",
			map[string]any{"minNoticeMinutes": int(e.set.MinNotice / time.Minute)})
	case !admin && start.After(e.now.Add(e.set.MaxAdvance)):
		errs.Add("start", "too_far", "This time is too far ahead.",
			map[string]any{"maxAdvanceDays": int(e.set.MaxAdvance / (24 * time.Hour))})
	default:
		errs.Add("start", "not_offered", "This time is not offered (outside working hours or not a slot start).", nil)
	}
	return slot, q, false
}

// ---- the customer's booking, by manage token ----

func (s *Service) byToken(ctx context.Context, token string) (store.Booking, error) {
	if !validToken(token) {
		return store.Booking{}, ErrNotFound
	}
	b, err := s.st.GetBookingByTokenHash(ctx, hashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Booking{}, ErrNotFound
	}
	return b, err
}

// Manage returns the booking of a manage token with its service and staff member, and whether the
// customer may still change it. ErrNotFound for an unknown token.
func (s *Service) Manage(ctx context.Context, token string) (*ManagedBooking, error) {
	b, err := s.byToken(ctx, token)
	if err != nil {
		return nil, err
	}
	e, err := s.env(ctx)
	if err != nil {
		return nil, err
	}
	// Both exist (bookings restrict their deletion), so they are in a current catalogue.
	svc, ok := e.cat.services[b.ServiceID]
	if !ok {
		return nil, fmt.Errorf("service %d of booking %d: %w", b.ServiceID, b.ID, store.ErrNotFound)
	}
	svc.StaffIDs = slices.Clone(svc.StaffIDs) // the catalogue's is shared
	st, ok := e.cat.staff[b.StaffID]
	if !ok {
		return nil, fmt.Errorf("staff member %d of booking %d: %w", b.StaffID, b.ID, store.ErrNotFound)
	}
	deadline := b.Start.Add(-e.set.ChangeDeadline).In(e.loc)
	return &ManagedBooking{
		Booking:   fromStore(b, e.loc),
		Service:   svc,
		Staff:     st,
		CanChange: b.Status == store.StatusConfirmed && e.now.Before(deadline),
		Deadline:  deadline,
	}, nil
}

// Cancel cancels the booking of a manage token. Cancelling a cancelled booking is a no-op.
// ErrNotFound for an unknown token, ErrDeadlinePassed after the change deadline.
func (s *Service) Cancel(ctx context.Context, token string) error {
	b, err := s.byToken(ctx, token)
	if err != nil {
		return err
	}
	if b.Status != store.StatusConfirmed {
		return nil
	}
	e, err := s.env(ctx)
	if err != nil {
		return err
	}
	if !e.now.Before(b.Start.Add(-e.set.ChangeDeadline)) {
		return ErrDeadlinePassed
	}
	ctx = audit.WithActor(ctx, audit.ActorOr(ctx, audit.CustomerOfBooking(b.ID)))
	_, err = s.st.CancelBooking(ctx, b.ID)
	if errors.Is(err, store.ErrNotConfirmed) {
		return nil // cancelled concurrently
	}
	return err
}

// Reschedule moves the booking of a manage token to newStart, with the staff member staffID, or
// (nil) preferably the same one, otherwise anyone free who offers the service. The move is atomic:
// on any error the booking is unchanged. ErrNotFound, ErrCancelled, ErrDeadlinePassed (the
// deadline of the current booking), validation.Errors (start, staffId) or *ConflictError.
func (s *Service) Reschedule(ctx context.Context, token string, newStart time.Time, staffID *int64) (*Booking, error) {
	b, err := s.byToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if b.Status != store.StatusConfirmed {
		return nil, ErrCancelled
	}
	e, err := s.env(ctx)
	if err != nil {
		return nil, err
	}
	if !e.now.Before(b.Start.Add(-e.set.ChangeDeadline)) {
		return nil, ErrDeadlinePassed
	}
	ctx = audit.WithActor(ctx, audit.ActorOr(ctx, audit.CustomerOfBooking(b.ID)))
	return s.move(ctx, b, newStart, staffID, false)
}

func (s *Service) move(ctx context.Context, b store.Booking, newStart time.Time, staffID *int64, admin bool) (*Booking, error) {
	var errs validation.Errors
	if newStart.IsZero() {
		errs.Add("start", "required", "Choose a time.", nil)
		return nil, errs
	}
	var (
		svc   catalog.Service
		known bool // whether the booking's service is in the catalogue
		staff []schedule.Staff
		day   schedule.Date
	)
	// One round trip: the catalogue version and the busy ranges of the new start's day.
	c, busy, err := s.snapshot(ctx, func(c *catalogue) store.BusyQuery {
		errs, staff = nil, nil
		svc, known = c.services[b.ServiceID]
		all := c.offering[b.ServiceID]
		if staffID != nil {
			for _, st := range all {
				if st.ID == *staffID {
					staff = []schedule.Staff{st}
				}
			}
			if staff == nil {
				errs.Add("staffId", "not_offered", "This staff member does not offer this service.", nil)
				return store.BusyQuery{}
			}
		} else {
			// The current staff member first, then the others in their stable order.
			for _, st := range all {
				if st.ID == b.StaffID {
					staff = append(staff, st)
				}
			}
			for _, st := range all {
				if st.ID != b.StaffID {
					staff = append(staff, st)
				}
			}
		}
		day = schedule.DateOf(newStart.In(c.loc))
		if !known || !validYear(day) {
			return store.BusyQuery{}
		}
		return busyQuery(c.loc, svc, staff, day, day, b.ID)
	})
	if err != nil {
		return nil, fmt.Errorf("load settings: %w", err)
	}
	if !known { // bookings restrict the deletion of their service
		return nil, fmt.Errorf("service %d of booking %d: %w", b.ServiceID, b.ID, store.ErrNotFound)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	e := s.envOf(c)
	slot, q, _ := s.checkStart(e, svc, staff, newStart, day, busy, admin, &errs)
	if len(errs) > 0 {
		return nil, errs
	}
	seen := &dayBusy{day: day, busy: busy}
	// The slot lists free staff in the engine's order, which is q.Staff's, i.e. ours.
	for _, id := range slot.StaffIDs {
		if s.beforeWrite != nil {
			s.beforeWrite(id)
		}
		blocked := q.Service.Blocked(slot.Start)
		moved, err := s.st.MoveBooking(ctx, b.ID, store.Move{
			StaffID:      id,
			Start:        slot.Start,
			End:          slot.Start.Add(svc.Duration),
			BlockedStart: blocked.Start,
			BlockedEnd:   blocked.End,
		})
		switch {
		case errors.Is(err, store.ErrOverlap):
			seen = nil // the busy ranges read are out of date
			continue
		case errors.Is(err, store.ErrNotConfirmed):
			return nil, ErrCancelled
		case errors.Is(err, store.ErrNotFound):
			return nil, ErrNotFound
		case err != nil:
			return nil, err
		}
		out := fromStore(moved, e.loc)
		return &out, nil
	}
	alts, err := s.alternatives(ctx, e, svc, staff, newStart, b.ID, admin, seen)
	if err != nil {
		return nil, err
	}
	return nil, s.conflict(alts)
}

// ---- the business's view ----

// AdminCancel cancels a booking by id, whatever the deadline. Cancelling a cancelled booking is a
// no-op; ErrNotFound if there is none.
func (s *Service) AdminCancel(ctx context.Context, id int64) error {
	_, err := s.st.CancelBooking(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, store.ErrNotConfirmed):
		return nil
	}
	return err
}

// AdminMove moves a booking by id like Reschedule, but without the change deadline, minimum
// notice or maximum advance.
func (s *Service) AdminMove(ctx context.Context, id int64, newStart time.Time, staffID *int64) (*Booking, error) {
	b, err := s.st.GetBooking(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if b.Status != store.StatusConfirmed {
		return nil, ErrCancelled
	}
	return s.move(ctx, b, newStart, staffID, true)
}

// GetBooking returns a booking by id, or ErrNotFound.
func (s *Service) GetBooking(ctx context.Context, id int64) (Booking, error) {
	b, err := s.st.GetBooking(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Booking{}, ErrNotFound
	}
	if err != nil {
		return Booking{}, err
	}
	loc, err := s.Location(ctx)
	if err != nil {
		return Booking{}, err
	}
	return fromStore(b, loc), nil
}

// ListBookings returns the bookings starting in [from, to), of one staff member if staffID is
// not nil, cancelled ones included, by start.
func (s *Service) ListBookings(ctx context.Context, from, to time.Time, staffID *int64) ([]Booking, error) {
	bs, err := s.st.ListBookings(ctx, from, to, staffID)
	if err != nil {
		return nil, err
	}
	return s.convert(ctx, bs)
}

// SearchBookings finds up to limit bookings whose customer name, e-mail address or phone number
// contains query, newest first.
func (s *Service) SearchBookings(ctx context.Context, query string, limit int) ([]Booking, error) {
	bs, err := s.st.SearchBookings(ctx, query, limit)
	if err != nil {
		return nil, err
	}
	return s.convert(ctx, bs)
}

func (s *Service) convert(ctx context.Context, bs []store.Booking) ([]Booking, error) {
	loc, err := s.Location(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Booking, len(bs))
	for i, b := range bs {
		out[i] = fromStore(b, loc)
	}
	return out, nil
}

// checkConsent requires a booking from the public to accept the business's current privacy
// notice, if one is configured: version must be the configured version (field
// privacyNoticeVersion: "required" when empty, "outdated" when another version). Bookings the
// business enters (admin) accept nothing.
func checkConsent(errs *validation.Errors, p business.Privacy, version string, admin bool) {
	switch {
	case admin || !p.NoticeRequired():
	case version == "":
		errs.Add("privacyNoticeVersion", "required", "Please confirm that you have read the privacy notice.",
			map[string]any{"version": p.NoticeVersion})
	case version != p.NoticeVersion:
		errs.Add("privacyNoticeVersion", "outdated", "The privacy notice has changed; please read the current version.",
			map[string]any{"version": p.NoticeVersion})
	}
}

// consentVersion is the notice version a booking records: the configured one, which
// checkConsent made sure was accepted, for bookings from the public.
func consentVersion(p business.Privacy, admin bool) string {
	if admin || !p.NoticeRequired() {
		return ""
	}
	return p.NoticeVersion
}
