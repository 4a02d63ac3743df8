package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// managePage is the customer's view of their booking.
type managePage struct {
	M         *booking.ManagedBooking
	Token     string
	Cancelled bool
	Past      bool
	// CanChange: before the deadline and not cancelled.
	CanChange     bool
	RescheduleURL string
	// Contact is the business contact shown once changes online are over (mail settings).
	Contact mailContact
	// New slot for the reschedule confirmation.
	NewStart time.Time
	NewEnd   time.Time
	NewRaw   string
	Staff    staffChoice
	// SelfErasure: the page offers "delete my data" (the business allows it).
	SelfErasure bool
}

func manageBase(token string) string { return "/manage/" + url.PathEscape(token) }

func (s *server) managed(w http.ResponseWriter, r *http.Request) (*view, *booking.ManagedBooking, string, error) {
	v, err := s.newView(w, r)
	if err != nil {
		return v, nil, "", err
	}
	token := r.PathValue("token")
	m, err := s.b.Manage(r.Context(), token)
	return v, m, token, err
}

func (s *server) newManagePage(m *booking.ManagedBooking, token string) *managePage {
	p := &managePage{M: m, Token: token}
	p.Cancelled = m.Booking.Status == booking.StatusCancelled
	p.Past = !m.Booking.Start.After(s.now())
	p.CanChange = m.CanChange && !p.Cancelled && !p.Past
	p.RescheduleURL = manageBase(token) + "/reschedule"
	return p
}

// manage shows a booking with cancel and reschedule until the deadline.
func (s *server) manage(w http.ResponseWriter, r *http.Request) {
	v, m, token, err := s.managed(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch r.URL.Query().Get("done") {
	case "cancelled":
		v.Notice = v.T("manage.notice_cancelled")
	case "rescheduled":
		v.Notice = v.T("manage.notice_rescheduled")
	}
	s.renderManage(w, r, v, http.StatusOK, m, token)
}

func (s *server) renderManage(w http.ResponseWriter, r *http.Request, v *view, status int, m *booking.ManagedBooking, token string) {
	v.Title = v.T("manage.title")
	v.LangBase = manageBase(token)
	p := s.newManagePage(m, token)
	if s.customers != nil {
		on, err := s.customers.SelfErasureAllowed(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p.SelfErasure = on
	}
	if !p.CanChange && !p.Cancelled && !p.Past {
		c, err := s.contact(r.Context())
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p.Contact = c
	}
	v.Data = p
	s.render(w, r, status, "manage", v)
}

// manageCancel cancels the booking (POST).
func (s *server) manageCancel(w http.ResponseWriter, r *http.Request) {
	v, m, token, err := s.managed(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = s.b.Cancel(r.Context(), token)
	switch {
	case err == nil:
		redirect(w, r, manageBase(token)+"?done=cancelled")
	case isDeadlinePassed(err):
		v.Alert = v.T("manage.deadline_passed")
		m.CanChange = false
		s.renderManage(w, r, v, http.StatusConflict, m, token)
	default:
		s.fail(w, r, err)
	}
}

func rescheduleTimesURL(token string) func(staff string, week, day schedule.Date, withDay bool) string {
	return func(staff string, week, day schedule.Date, withDay bool) string {
		q := url.Values{"staff": {staff}, "week": {week.String()}}
		if withDay {
			q.Set("day", day.String())
		}
		return manageBase(token) + "/reschedule?" + q.Encode()
	}
}

func rescheduleSlotURL(token string) func(staff string, sl availability.Slot) string {
	return func(staff string, sl availability.Slot) string {
		q := url.Values{"staff": {staff}, "start": {formatStart(sl.Start)}}
		return manageBase(token) + "/reschedule/confirm?" + q.Encode()
	}
}

// rescheduleStep loads the booking for a reschedule step; it must still be changeable.
func (s *server) rescheduleStep(w http.ResponseWriter, r *http.Request) (*view, *booking.ManagedBooking, string, bookable, bool) {
	v, m, token, err := s.managed(w, r)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, "", bookable{}, false
	}
	if p := s.newManagePage(m, token); !p.CanChange {
		v.Alert = v.T("manage.cannot_change")
		s.renderManage(w, r, v, http.StatusConflict, m, token)
		return nil, nil, "", bookable{}, false
	}
	bk, err := s.publicService(r.Context(), m.Service.ID)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, "", bookable{}, false
	}
	return v, m, token, bk, true
}

// rescheduleStaff is the staff choice for a new time: the same person unless asked otherwise.
func rescheduleStaff(v *view, bk bookable, m *booking.ManagedBooking, p string) (staffChoice, error) {
	if p == "" {
		p = strconv.FormatInt(m.Booking.StaffID, 10)
		if c, err := bk.parseStaff(v, p); err == nil {
			return c, nil
		}
		p = "any"
	}
	return bk.parseStaff(v, p)
}

// rescheduleTimes shows the week view for a new time.
func (s *server) rescheduleTimes(w http.ResponseWriter, r *http.Request) {
	v, m, token, bk, ok := s.rescheduleStep(w, r)
	if !ok {
		return
	}
	staff, err := rescheduleStaff(v, bk, m, r.URL.Query().Get("staff"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.buildTimes(r.Context(), v, r, timesQuery{bk: bk, staff: staff, url: rescheduleTimesURL(token), slotURL: rescheduleSlotURL(token)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Managed, p.Token, p.BackURL = m, token, manageBase(token)
	v.Title = v.T("reschedule.title")
	v.Data = p
	s.render(w, r, http.StatusOK, "times", v)
}

// rescheduleConfirm shows the old and the new time and asks for confirmation.
func (s *server) rescheduleConfirm(w http.ResponseWriter, r *http.Request) {
	v, m, token, bk, ok := s.rescheduleStep(w, r)
	if !ok {
		return
	}
	p, err := s.rescheduleChoice(v, bk, m, token, r.URL.Query().Get("staff"), r.URL.Query().Get("start"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("reschedule.confirm_title")
	v.Data = p
	s.render(w, r, http.StatusOK, "reschedule", v)
}

func (s *server) rescheduleChoice(v *view, bk bookable, m *booking.ManagedBooking, token, staffParam, startParam string) (*managePage, error) {
	staff, err := rescheduleStaff(v, bk, m, staffParam)
	if err != nil {
		return nil, err
	}
	start, ok := parseStart(startParam)
	if !ok {
		return nil, errPageBadRequest
	}
	p := s.newManagePage(m, token)
	p.NewStart, p.NewEnd, p.NewRaw, p.Staff = start, start.Add(m.Service.Duration), formatStart(start), staff
	return p, nil
}

// reschedule moves the booking (POST).
func (s *server) reschedule(w http.ResponseWriter, r *http.Request) {
	v, m, token, bk, ok := s.rescheduleStep(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, errPageBadRequest)
		return
	}
	p, err := s.rescheduleChoice(v, bk, m, token, r.PostFormValue("staff"), r.PostFormValue("start"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	_, err = s.b.Reschedule(r.Context(), token, p.NewStart, p.Staff.ID)
	var verrs validation.Errors
	switch {
	case err == nil:
		redirect(w, r, manageBase(token)+"?done=rescheduled")
		return
	case isDeadlinePassed(err), isCancelled(err):
		v.Alert = v.T("manage.cannot_change")
		if isDeadlinePassed(err) {
			v.Alert = v.T("manage.deadline_passed")
		}
		m.CanChange = false
		s.renderManage(w, r, v, http.StatusConflict, m, token)
		return
	case errors.As(err, &verrs):
		// The chosen time is not bookable (e.g. outside the booking horizon).
		v.Alert = v.T("reschedule.invalid")
		for _, fe := range verrs {
			if fe.Field == "start" || fe.Field == "staffId" {
				v.Alert = v.FieldMessage(&fe)
				break
			}
		}
		v.Title = v.T("reschedule.confirm_title")
		v.LangBase = manageBase(token)
		v.Data = p
		s.render(w, r, http.StatusUnprocessableEntity, "reschedule", v)
		return
	}
	c, ok := asConflict(err)
	if !ok {
		s.fail(w, r, err)
		return
	}
	d := v.DateOf(p.NewStart)
	r2 := r.Clone(r.Context())
	r2.URL.RawQuery = url.Values{"week": {d.String()}, "day": {d.String()}}.Encode()
	tp, err := s.buildTimes(r.Context(), v, r2, timesQuery{bk: bk, staff: p.Staff, url: rescheduleTimesURL(token), slotURL: rescheduleSlotURL(token)})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tp.Managed, tp.Token, tp.BackURL = m, token, manageBase(token)
	tp.Conflict = true
	tp.Alternatives = alternatives(bk, p.Staff, c.Alternatives)
	v.Title = v.T("reschedule.title")
	v.LangBase = rescheduleTimesURL(token)(p.Staff.Param(), monday(d), d, true)
	v.Data = tp
	s.render(w, r, http.StatusConflict, "times", v)
}
