package web

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// errPage is an error a handler answers with a status page rather than a 500.
type errPage struct {
	status int
	msgID  string
}

func (e errPage) Error() string { return e.msgID }

var (
	errPageNotFound   = errPage{http.StatusNotFound, "error.not_found"}
	errPageBadRequest = errPage{http.StatusBadRequest, "error.bad_request"}
	errPageForbidden  = errPage{http.StatusForbidden, "error.no_permission"}
)

// fail answers an error: a status page for errPage and not-found errors, else a 500.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ep errPage
	switch {
	case errors.As(err, &ep):
		s.renderError(w, r, ep.status, ep.msgID)
	case isNotFound(err):
		s.renderError(w, r, http.StatusNotFound, "error.not_found")
	default:
		s.serverError(w, r, err)
	}
}

// pathID parses a numeric path value.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errPageNotFound
	}
	return id, nil
}

// staffChoice is "any" (nil) or one staff member.
type staffChoice struct {
	ID   *int64
	Name string
}

// Param is the query value: "any" or the id.
func (c staffChoice) Param() string {
	if c.ID == nil {
		return "any"
	}
	return strconv.FormatInt(*c.ID, 10)
}

// bookable is a service customers can book with the staff who offer it.
type bookable struct {
	Service catalog.Service
	Staff   []schedule.Staff
}

// publicService loads an active service and its active staff.
func (s *server) publicService(ctx context.Context, id int64) (bookable, error) {
	svc, err := s.b.GetService(ctx, id)
	if err != nil {
		return bookable{}, err
	}
	if !svc.Active {
		return bookable{}, errPageNotFound
	}
	all, err := s.b.ListStaff(ctx, true)
	if err != nil {
		return bookable{}, err
	}
	bk := bookable{Service: svc}
	for _, st := range all {
		if st.Active && slices.Contains(svc.StaffIDs, st.ID) {
			bk.Staff = append(bk.Staff, st)
		}
	}
	return bk, nil
}

// parseStaff reads "any" or the id of a staff member who offers the service.
func (bk bookable) parseStaff(v *view, p string) (staffChoice, error) {
	if p == "" || p == "any" {
		return staffChoice{Name: v.T("staff.any")}, nil
	}
	id, err := strconv.ParseInt(p, 10, 64)
	if err != nil {
		return staffChoice{}, errPageBadRequest
	}
	for _, st := range bk.Staff {
		if st.ID == id {
			return staffChoice{ID: &id, Name: st.Name}, nil
		}
	}
	return staffChoice{}, errPageNotFound
}

func (bk bookable) staffName(id int64) string {
	for _, st := range bk.Staff {
		if st.ID == id {
			return st.Name
		}
	}
	return ""
}

// home lists the active services.
func (s *server) home(w http.ResponseWriter, r *http.Request) {
	v, err := s.newView(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	all, err := s.b.ListServices(r.Context(), true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var services []catalog.Service
	for _, svc := range all {
		if svc.Active && len(svc.StaffIDs) > 0 {
			services = append(services, svc)
		}
	}
	v.Title = v.T("home.title")
	v.Data = map[string]any{"Services": services}
	s.render(w, r, http.StatusOK, "home", v)
}

// chooseStaff offers "any staff" and each staff member offering the service.
func (s *server) chooseStaff(w http.ResponseWriter, r *http.Request) {
	v, bk, err := s.bookingStep(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("staff.title")
	v.Data = map[string]any{"Service": bk.Service, "Staff": bk.Staff}
	s.render(w, r, http.StatusOK, "staff", v)
}

func (s *server) bookingStep(w http.ResponseWriter, r *http.Request) (*view, bookable, error) {
	v, err := s.newView(w, r)
	if err != nil {
		return v, bookable{}, err
	}
	id, err := pathID(r, "service")
	if err != nil {
		return v, bookable{}, err
	}
	bk, err := s.publicService(r.Context(), id)
	return v, bk, err
}

// timesPage is the data of the week view with the slots of one day.
type timesPage struct {
	Service   catalog.Service
	Staff     staffChoice
	StaffList []staffLink
	Week      schedule.Date // Monday
	Days      []dayLink
	Day       schedule.Date
	HasDay    bool
	Slots     []slotLink
	PrevURL   string
	NextURL   string
	Empty     bool // no slot at all this week
	// Conflict: the chosen time was taken. Alternatives are one-click final confirmations.
	Conflict     bool
	Alternatives []alternative
	// Customer data carried along with alternatives.
	Customer booking.Customer
	// Reschedule flow: the booking being moved.
	Managed *booking.ManagedBooking
	Token   string
	// BackURL leads to the previous step.
	BackURL string
}

type staffLink struct {
	Name    string
	URL     string
	Current bool
}

type dayLink struct {
	Date     schedule.Date
	Count    int
	URL      string
	Selected bool
	Disabled bool
}

type slotLink struct {
	Start time.Time
	End   time.Time
	URL   string
}

type alternative struct {
	Start     time.Time
	End       time.Time
	StaffID   string // "any" or an id
	StaffName string
}

// timesQuery is what the week view needs from the flow it is part of.
type timesQuery struct {
	bk    bookable
	staff staffChoice
	// url builds the address of the week view for a staff param, week and day.
	url func(staff string, week, day schedule.Date, withDay bool) string
	// slotURL builds the address a slot leads to.
	slotURL func(staff string, slot availability.Slot) string
}

func monday(d schedule.Date) schedule.Date { return d.AddDays(-((int(d.Weekday()) + 6) % 7)) }

// buildTimes computes the week view: the week from ?week= (or the first with free slots), the
// day from ?day= (or the week's first with free slots) and that day's slots.
func (s *server) buildTimes(ctx context.Context, v *view, r *http.Request, q timesQuery) (*timesPage, error) {
	today := v.Today
	last := schedule.DateOf(s.now().Add(v.Business.MaxAdvance).In(v.TZ))
	if last.Before(today) {
		last = today
	}
	p := &timesPage{Service: q.bk.Service, Staff: q.staff}
	staffParam := q.staff.Param()

	week := monday(today)
	explicitWeek := false
	if ws := r.URL.Query().Get("week"); ws != "" {
		d, err := schedule.ParseDate(ws)
		if err != nil {
			return nil, errPageBadRequest
		}
		week, explicitWeek = monday(d), true
		if week.Before(monday(today)) {
			week = monday(today)
		}
		if monday(last).Before(week) {
			week = monday(last)
		}
	}
	load := func(week schedule.Date) ([]availability.Slot, error) {
		from, to := week, week.AddDays(6)
		if from.Before(today) {
			from = today
		}
		if last.Before(to) {
			to = last
		}
		if to.Before(from) {
			return nil, nil
		}
		return s.b.Availability(ctx, q.bk.Service.ID, q.staff.ID, from, to)
	}
	slots, err := load(week)
	if err != nil {
		return nil, err
	}
	if len(slots) == 0 && !explicitWeek {
		// Jump to the first week with free slots (within the booking horizon).
		to := last
		if horizon := today.AddDays(availability.MaxDays - 1); horizon.Before(to) {
			to = horizon
		}
		ahead, err := s.b.Availability(ctx, q.bk.Service.ID, q.staff.ID, today, to)
		if err != nil {
			return nil, err
		}
		if len(ahead) > 0 {
			week = monday(v.DateOf(ahead[0].Start))
			if slots, err = load(week); err != nil {
				return nil, err
			}
		}
	}
	p.Week = week

	byDay := map[schedule.Date][]availability.Slot{}
	for _, sl := range slots {
		d := v.DateOf(sl.Start)
		byDay[d] = append(byDay[d], sl)
	}
	day, hasDay := schedule.Date{}, false
	if ds := r.URL.Query().Get("day"); ds != "" {
		d, err := schedule.ParseDate(ds)
		if err != nil {
			return nil, errPageBadRequest
		}
		if monday(d) == week {
			day, hasDay = d, true
		}
	}
	if !hasDay {
		for i := range 7 {
			if d := week.AddDays(i); len(byDay[d]) > 0 {
				day, hasDay = d, true
				break
			}
		}
	}
	p.Day, p.HasDay = day, hasDay
	p.Empty = len(slots) == 0
	for i := range 7 {
		d := week.AddDays(i)
		p.Days = append(p.Days, dayLink{
			Date:     d,
			Count:    len(byDay[d]),
			URL:      q.url(staffParam, week, d, true),
			Selected: hasDay && d == day,
			Disabled: d.Before(today) || last.Before(d),
		})
	}
	if hasDay {
		for _, sl := range byDay[day] {
			p.Slots = append(p.Slots, slotLink{Start: sl.Start, End: sl.End, URL: q.slotURL(staffParam, sl)})
		}
	}
	if monday(today).Before(week) {
		p.PrevURL = q.url(staffParam, week.AddDays(-7), schedule.Date{}, false)
	}
	if next := week.AddDays(7); !last.Before(next) {
		p.NextURL = q.url(staffParam, next, schedule.Date{}, false)
	}
	if len(q.bk.Staff) > 1 {
		p.StaffList = append(p.StaffList, staffLink{Name: v.T("staff.any"), URL: q.url("any", week, day, hasDay), Current: q.staff.ID == nil})
		for _, st := range q.bk.Staff {
			p.StaffList = append(p.StaffList, staffLink{Name: st.Name, URL: q.url(strconv.FormatInt(st.ID, 10), week, day, hasDay), Current: q.staff.ID != nil && *q.staff.ID == st.ID})
		}
	}
	return p, nil
}

func bookTimesURL(serviceID int64) func(staff string, week, day schedule.Date, withDay bool) string {
	return func(staff string, week, day schedule.Date, withDay bool) string {
		q := url.Values{"staff": {staff}, "week": {week.String()}}
		if withDay {
			q.Set("day", day.String())
		}
		return "/book/" + strconv.FormatInt(serviceID, 10) + "/times?" + q.Encode()
	}
}

func bookSlotURL(serviceID int64) func(staff string, sl availability.Slot) string {
	return func(staff string, sl availability.Slot) string {
		q := url.Values{"staff": {staff}, "start": {formatStart(sl.Start)}}
		return "/book/" + strconv.FormatInt(serviceID, 10) + "/details?" + q.Encode()
	}
}

// formatStart encodes a slot start for URLs and forms (UTC, so no "+" to escape).
func formatStart(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func parseStart(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, s)
	return t, err == nil
}

// chooseTime shows a week with the number of free slots per day and the slots of one day.
func (s *server) chooseTime(w http.ResponseWriter, r *http.Request) {
	v, bk, err := s.bookingStep(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	staff, err := bk.parseStaff(v, r.URL.Query().Get("staff"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.buildTimes(r.Context(), v, r, timesQuery{bk: bk, staff: staff, url: bookTimesURL(bk.Service.ID), slotURL: bookSlotURL(bk.Service.ID)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.BackURL = "/book/" + strconv.FormatInt(bk.Service.ID, 10)
	v.Title = v.T("times.title")
	v.Data = p
	s.render(w, r, http.StatusOK, "times", v)
}

// detailsPage is the data of the customer details form.
type detailsPage struct {
	Service  catalog.Service
	Staff    staffChoice
	Start    time.Time
	End      time.Time
	StartRaw string
	Customer booking.Customer
	Action   string
	BackURL  string
	// Privacy: the booking form shows the privacy notice to accept, if one is configured.
	Privacy business.Privacy
}

// details shows the chosen slot and the customer form.
func (s *server) details(w http.ResponseWriter, r *http.Request) {
	v, bk, err := s.bookingStep(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.detailsFor(v, bk, r.URL.Query().Get("staff"), r.URL.Query().Get("start"))
	if err == nil {
		p.Privacy, err = s.b.Privacy(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("details.title")
	v.Data = p
	s.render(w, r, http.StatusOK, "details", v)
}

func (s *server) detailsFor(v *view, bk bookable, staffParam, startParam string) (*detailsPage, error) {
	staff, err := bk.parseStaff(v, staffParam)
	if err != nil {
		return nil, err
	}
	start, ok := parseStart(startParam)
	if !ok {
		return nil, errPageBadRequest
	}
	d := v.DateOf(start)
	return &detailsPage{
		Service:  bk.Service,
		Staff:    staff,
		Start:    start,
		End:      start.Add(bk.Service.Duration),
		StartRaw: formatStart(start),
		Action:   "/book/" + strconv.FormatInt(bk.Service.ID, 10),
		BackURL:  bookTimesURL(bk.Service.ID)(staff.Param(), monday(d), d, true),
	}, nil
}

// Field names of the customer form; they are the booking service's validation field names.
const (
	fieldName  = "customer.name"
	fieldEmail = "customer.email"
	fieldPhone = "customer.phone"
)

func customerFromForm(r *http.Request, lang string) booking.Customer {
	return booking.Customer{
		Name:   strings.TrimSpace(r.PostFormValue(fieldName)),
		Email:  strings.TrimSpace(r.PostFormValue(fieldEmail)),
		Phone:  strings.TrimSpace(r.PostFormValue(fieldPhone)),
		Locale: lang,
	}
}

// validateCustomer checks the customer's details as the booking service does, so that the
// form answers without a round trip and with the same field names and codes.
func validateCustomer(c booking.Customer, phoneRequired bool) validation.Errors {
	var errs validation.Errors
	switch {
	case c.Name == "":
		errs.Add(fieldName, "required", "is required", nil)
	case utf8.RuneCountInString(c.Name) > 200:
		errs.Add(fieldName, "too_long", "is too long", map[string]any{"max": 200})
	}
	switch {
	case c.Email == "":
		errs.Add(fieldEmail, "required", "is required", nil)
	case !validEmail(c.Email):
		errs.Add(fieldEmail, "invalid_email", "is not an email address", nil)
	}
	switch {
	case c.Phone == "" && phoneRequired:
		errs.Add(fieldPhone, "required", "is required", nil)
	case c.Phone != "" && !validPhone(c.Phone):
		errs.Add(fieldPhone, "invalid_phone", "is not a phone number", nil)
	}
	return errs
}

func validEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndex(s, "@"):], ".")
}

func validPhone(s string) bool {
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case strings.ContainsRune(" +-/().", c):
		default:
			return false
		}
	}
	return digits >= 5 && len(s) <= 40
}

// book is the final confirmation: it books, or shows errors (422) or the conflict (409).
func (s *server) book(w http.ResponseWriter, r *http.Request) {
	v, bk, err := s.bookingStep(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, errPageBadRequest)
		return
	}
	p, err := s.detailsFor(v, bk, r.PostFormValue("staff"), r.PostFormValue("start"))
	if err == nil {
		p.Privacy, err = s.b.Privacy(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Customer = customerFromForm(r, v.Lang)
	v.LangBase = p.BackURL
	showForm := func(errs validation.Errors) {
		v.Title = v.T("details.title")
		v.Errors = errs
		v.Data = p
		s.render(w, r, http.StatusUnprocessableEntity, "details", v)
	}
	if errs := validateCustomer(p.Customer, false); len(errs) > 0 {
		showForm(errs)
		return
	}
	conf, err := s.b.Book(r.Context(), booking.Request{ServiceID: bk.Service.ID, StaffID: p.Staff.ID, Start: p.Start, Customer: p.Customer,
		PrivacyNoticeVersion: r.PostFormValue("privacyNoticeVersion")})
	var verrs validation.Errors
	switch {
	case err == nil:
		redirect(w, r, "/booked/"+url.PathEscape(conf.ManageToken))
	case errors.As(err, &verrs):
		// The form has no inputs for the service, staff member and time: their errors are shown
		// at the summary of the choice (id f-start).
		for i := range verrs {
			if verrs[i].Field == "serviceId" || verrs[i].Field == "staffId" {
				verrs[i].Field = "start"
			}
		}
		showForm(verrs)
	default:
		if c, ok := asConflict(err); ok {
			s.showConflict(w, r, v, bk, p, c)
			return
		}
		s.fail(w, r, err)
	}
}

// showConflict re-shows the slot choice of the day with a message and the alternatives (409).
func (s *server) showConflict(w http.ResponseWriter, r *http.Request, v *view, bk bookable, p *detailsPage, c *booking.ConflictError) {
	d := v.DateOf(p.Start)
	q := r.URL.Query()
	q.Set("week", d.String())
	q.Set("day", d.String())
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = q.Encode()
	tp, err := s.buildTimes(r.Context(), v, r2, timesQuery{bk: bk, staff: p.Staff, url: bookTimesURL(bk.Service.ID), slotURL: bookSlotURL(bk.Service.ID)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tp.Conflict = true
	tp.Customer = p.Customer
	tp.Alternatives = alternatives(bk, p.Staff, c.Alternatives)
	tp.BackURL = "/book/" + strconv.FormatInt(bk.Service.ID, 10)
	v.Title = v.T("times.title")
	v.Data = tp
	s.render(w, r, http.StatusConflict, "times", v)
}

func alternatives(bk bookable, chosen staffChoice, slots []availability.Slot) []alternative {
	var out []alternative
	for _, sl := range slots {
		a := alternative{Start: sl.Start, End: sl.End, StaffID: "any"}
		switch {
		case chosen.ID != nil && slices.Contains(sl.StaffIDs, *chosen.ID):
			a.StaffID, a.StaffName = chosen.Param(), chosen.Name
		case chosen.ID != nil && len(sl.StaffIDs) > 0:
			a.StaffID, a.StaffName = strconv.FormatInt(sl.StaffIDs[0], 10), bk.staffName(sl.StaffIDs[0])
		}
		out = append(out, a)
	}
	return out
}

// confirmationPage is what the customer sees of their booking.
type confirmationPage struct {
	M         *booking.ManagedBooking
	ManageURL string
	Token     string
}

// booked confirms a new booking, with the manage link.
func (s *server) booked(w http.ResponseWriter, r *http.Request) {
	v, err := s.newView(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	token := r.PathValue("token")
	m, err := s.b.Manage(r.Context(), token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("booked.title")
	v.Data = confirmationPage{M: m, ManageURL: s.manageURL(r, token), Token: token}
	s.render(w, r, http.StatusOK, "booked", v)
}
