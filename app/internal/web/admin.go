package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// adminRouteTable is every admin page with the permission it requires. Handlers that load an
// object check the object against the principal's scope as well (access.CanOnStaff,
// access.CanManageRole) and answer 404 for one outside it, exactly as for a missing one.
func (s *server) adminRouteTable() []route {
	toCalendar := func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/admin/calendar", http.StatusFound) }
	return append([]route{
		{"GET", "/admin", access.CalendarView, toCalendar},
		{"GET", "/admin/{$}", access.CalendarView, toCalendar},
		{"GET", "/admin/calendar", access.CalendarView, s.adminCalendar},

		{"GET", "/admin/bookings", access.BookingView, s.adminBookings},
		{"GET", "/admin/bookings/new", access.BookingManage, s.adminBookingNew},
		{"POST", "/admin/bookings", access.BookingManage, s.adminBookingCreate},
		{"GET", "/admin/bookings/{id}", access.BookingView, s.adminBooking},
		{"POST", "/admin/bookings/{id}/cancel", access.BookingManage, s.adminBookingCancel},
		{"POST", "/admin/bookings/{id}/move", access.BookingManage, s.adminBookingMove},

		{"GET", "/admin/services", access.CatalogView, s.adminServices},
		{"GET", "/admin/services/new", access.CatalogManage, s.adminServiceForm},
		{"POST", "/admin/services", access.CatalogManage, s.adminServiceSave},
		{"GET", "/admin/services/{id}", access.CatalogView, s.adminServiceForm},
		{"POST", "/admin/services/{id}", access.CatalogManage, s.adminServiceSave},
		{"POST", "/admin/services/{id}/delete", access.CatalogManage, s.adminServiceDelete},

		{"GET", "/admin/staff", access.CatalogView, s.adminStaffList},
		{"GET", "/admin/staff/new", access.CatalogManage, s.adminStaffForm},
		{"POST", "/admin/staff", access.CatalogManage, s.adminStaffSave},
		{"GET", "/admin/staff/{id}", access.CatalogView, s.adminStaffForm},
		{"POST", "/admin/staff/{id}", access.CatalogManage, s.adminStaffSave},
		{"POST", "/admin/staff/{id}/delete", access.CatalogManage, s.adminStaffDelete},
		{"GET", "/admin/staff/{id}/hours", access.CalendarView, s.adminHours},
		{"POST", "/admin/staff/{id}/hours", access.HoursManage, s.adminHoursSave},
		{"GET", "/admin/staff/{id}/timeoff", access.TimeOffView, s.adminTimeOff},
		{"POST", "/admin/staff/{id}/timeoff", access.TimeOffManage, s.adminTimeOffAdd},
		{"POST", "/admin/staff/{id}/timeoff/{tid}/delete", access.TimeOffManage, s.adminTimeOffDelete},
		{"POST", "/admin/staff/{id}/feed", access.FeedManage, s.adminFeedCreate},
		{"POST", "/admin/staff/{id}/feed/revoke", access.FeedManage, s.adminFeedRevoke},

		{"GET", "/admin/settings", access.SettingsManage, s.adminSettings},
		{"POST", "/admin/settings", access.SettingsManage, s.adminSettingsSave},

		{"GET", "/admin/mail", access.SettingsManage, s.adminMail},
		{"POST", "/admin/mail/settings", access.SettingsManage, s.adminMailSettingsSave},
		{"POST", "/admin/mail/{id}/retry", access.SettingsManage, s.adminMailRetry},

		{"GET", "/admin/users", access.UsersView, s.adminUsers},
		{"POST", "/admin/users", access.UsersManage, s.adminUserInvite},
		{"GET", "/admin/users/{id}", access.UsersView, s.adminUser},
		{"POST", "/admin/users/{id}/role", access.UsersManage, s.adminUserRole},
		{"POST", "/admin/users/{id}/disable", access.UsersManage, s.adminUserDisable},
		{"POST", "/admin/users/{id}/enable", access.UsersManage, s.adminUserEnable},
		{"POST", "/admin/users/{id}/mfa/reset", access.UsersResetMFA, s.adminUserResetMFA},
		{"POST", "/admin/users/{id}/sessions/{sid}/end", access.UsersManage, s.adminUserEndSession},

		{"GET", "/admin/audit", access.AuditView, s.adminAudit},
		{"GET", "/admin/audit/export", access.AuditView, s.adminAuditExport},

		{"POST", "/admin/settings/privacy", access.SettingsManage, s.adminPrivacySave},
	}, s.customersRoutes()...)
}

// adminView is newView for admin pages, with the notice of a ?done= redirect.
func (s *server) adminView(w http.ResponseWriter, r *http.Request, nav string) (*view, error) {
	v, err := s.newView(w, r)
	v.Admin, v.Nav = true, nav
	if done := r.URL.Query().Get("done"); done != "" {
		id := "admin.done." + done
		if v.has(id) {
			v.Notice = v.T(id)
		}
	}
	return v, err
}

// names of services and staff by id, for lists and the calendar.
type directory struct {
	Services []catalog.Service
	Staff    []schedule.Staff
}

func (s *server) directory(ctx context.Context) (directory, error) {
	svcs, err := s.b.ListServices(ctx, false)
	if err != nil {
		return directory{}, err
	}
	staff, err := s.b.ListStaff(ctx, false)
	return directory{Services: svcs, Staff: staff}, err
}

func (d directory) ServiceName(id int64) string {
	for _, s := range d.Services {
		if s.ID == id {
			return s.Name
		}
	}
	return "#" + itoa(id)
}

func (d directory) StaffName(id int64) string {
	for _, s := range d.Staff {
		if s.ID == id {
			return s.Name
		}
	}
	return "#" + itoa(id)
}

func (d directory) activeStaff() []schedule.Staff {
	var out []schedule.Staff
	for _, s := range d.Staff {
		if s.Active {
			out = append(out, s)
		}
	}
	return out
}

// dayBounds are the instants of local midnight starting d and the next day.
func dayBounds(d schedule.Date, tz *time.Location) (time.Time, time.Time) {
	n := d.AddDays(1)
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, tz), time.Date(n.Year, n.Month, n.Day, 0, 0, 0, 0, tz)
}

// ---- Calendar ----

const calStep = 15 // minutes per calendar row

type calendarPage struct {
	Week      bool
	Date      schedule.Date
	Staff     []schedule.Staff
	StaffID   int64 // 0: all (day view only)
	Columns   []calColumn
	Rows      []calRow
	PrevURL   string
	NextURL   string
	TodayURL  string
	DayURL    string
	WeekURL   string
	Days      []schedule.Date
	Cancelled []calBooking
	NewURL    string
}

type calColumn struct {
	Title   string
	URL     string
	TimeOff bool
	Count   int
}

type calRow struct {
	Label string
	Hour  bool
	Cells []calCell
}

type calCell struct {
	Skip     bool
	Span     int
	Class    string
	Bookings []calBooking
}

type calBooking struct {
	ID       int64
	Start    time.Time
	End      time.Time
	Service  string
	Staff    string
	Customer string
	URL      string
}

// calInput is one column's bookings and working time.
type calInput struct {
	col      calColumn
	bookings []booking.Booking
	hours    []schedule.Interval
	date     schedule.Date
}

func (s *server) adminCalendar(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "calendar")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	p := &calendarPage{Week: q.Get("view") == "week", Date: v.Today}
	if ds := q.Get("date"); ds != "" {
		if p.Date, err = schedule.ParseDate(ds); err != nil {
			s.fail(w, r, errPageBadRequest)
			return
		}
	}
	dir, err := s.directory(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Staff = dir.activeStaff()
	if st := q.Get("staff"); st != "" && st != "all" {
		if p.StaffID, err = strconv.ParseInt(st, 10, 64); err != nil {
			s.fail(w, r, errPageBadRequest)
			return
		}
	}
	// A staff member sees only their own calendar; another's is answered like a missing one.
	only, err := staffScope(r, access.CalendarView)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if only != nil {
		if p.StaffID != 0 && p.StaffID != *only {
			s.fail(w, r, errPageNotFound)
			return
		}
		p.StaffID = *only
		p.Staff = slices.DeleteFunc(p.Staff, func(st schedule.Staff) bool { return st.ID != *only })
	}
	if p.Week && p.StaffID == 0 && len(p.Staff) > 0 {
		p.StaffID = p.Staff[0].ID
	}
	calURL := func(week bool, d schedule.Date, staff int64) string {
		vals := url.Values{"date": {d.String()}}
		if week {
			vals.Set("view", "week")
		}
		if staff != 0 {
			vals.Set("staff", itoa(staff))
		}
		return "/admin/calendar?" + vals.Encode()
	}
	var inputs []calInput
	if p.Week {
		start := monday(p.Date)
		from, _ := dayBounds(start, v.TZ)
		_, to := dayBounds(start.AddDays(6), v.TZ)
		bks, err := s.b.ListBookings(ctx, from, to, &p.StaffID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		hours, off, err := s.staffTime(ctx, []int64{p.StaffID}, start, start.AddDays(6))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for i := range 7 {
			d := start.AddDays(i)
			p.Days = append(p.Days, d)
			in := calInput{col: calColumn{Title: v.DateShort(d), URL: calURL(false, d, p.StaffID)}, date: d}
			in.col.TimeOff = off[p.StaffID].has(d)
			if !in.col.TimeOff {
				in.hours = hours[p.StaffID][d.Weekday()]
			}
			for _, b := range bks {
				if v.DateOf(b.Start) == d {
					in.bookings = append(in.bookings, b)
				}
			}
			inputs = append(inputs, in)
		}
		p.PrevURL = calURL(true, start.AddDays(-7), p.StaffID)
		p.NextURL = calURL(true, start.AddDays(7), p.StaffID)
		p.TodayURL = calURL(true, v.Today, p.StaffID)
	} else {
		from, to := dayBounds(p.Date, v.TZ)
		var staffFilter *int64
		if p.StaffID != 0 {
			staffFilter = &p.StaffID
		}
		bks, err := s.b.ListBookings(ctx, from, to, staffFilter)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		cols := p.Staff
		if p.StaffID != 0 {
			cols = nil
			for _, st := range dir.Staff {
				if st.ID == p.StaffID {
					cols = append(cols, st)
				}
			}
		}
		// Inactive staff with bookings that day get a column too.
		for _, b := range bks {
			if !slices.ContainsFunc(cols, func(st schedule.Staff) bool { return st.ID == b.StaffID }) {
				cols = append(cols, schedule.Staff{ID: b.StaffID, Name: dir.StaffName(b.StaffID)})
			}
		}
		ids := make([]int64, len(cols))
		for i, st := range cols {
			ids[i] = st.ID
		}
		hours, off, err := s.staffTime(ctx, ids, p.Date, p.Date)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, st := range cols {
			in := calInput{col: calColumn{Title: st.Name, URL: calURL(true, p.Date, st.ID)}, date: p.Date}
			in.col.TimeOff = off[st.ID].has(p.Date)
			if !in.col.TimeOff {
				in.hours = hours[st.ID][p.Date.Weekday()]
			}
			for _, b := range bks {
				if b.StaffID == st.ID {
					in.bookings = append(in.bookings, b)
				}
			}
			inputs = append(inputs, in)
		}
		p.PrevURL = calURL(false, p.Date.AddDays(-1), p.StaffID)
		p.NextURL = calURL(false, p.Date.AddDays(1), p.StaffID)
		p.TodayURL = calURL(false, v.Today, p.StaffID)
	}
	p.DayURL = calURL(false, p.Date, 0)
	weekStaff := p.StaffID
	if weekStaff == 0 && len(p.Staff) > 0 {
		weekStaff = p.Staff[0].ID
	}
	p.WeekURL = calURL(true, p.Date, weekStaff)
	p.NewURL = "/admin/bookings/new?" + url.Values{"date": {p.Date.String()}}.Encode()
	p.Columns, p.Rows, p.Cancelled = buildGrid(v, dir, inputs)
	if p.Week {
		v.Title = v.T("admin.calendar.week_title", "Staff", dir.StaffName(p.StaffID))
	} else {
		v.Title = v.T("admin.calendar.day_title")
	}
	v.Data = p
	s.render(w, r, http.StatusOK, "admin_calendar", v)
}

// timeOffDays tells whether a day is off.
type timeOffDays []schedule.DateRange

func (t timeOffDays) has(d schedule.Date) bool {
	return slices.ContainsFunc(t, func(r schedule.DateRange) bool { return r.Contains(d) })
}

// staffTime loads the weekly hours and the time off in [from, to] of staff members.
func (s *server) staffTime(ctx context.Context, ids []int64, from, to schedule.Date) (map[int64]schedule.WeeklyHours, map[int64]timeOffDays, error) {
	hours := map[int64]schedule.WeeklyHours{}
	off := map[int64]timeOffDays{}
	if len(ids) == 0 {
		return hours, off, nil
	}
	for _, id := range ids {
		h, err := s.b.WorkingHours(ctx, id)
		if err != nil {
			return nil, nil, err
		}
		hours[id] = h
	}
	tos, err := s.b.ListTimeOff(ctx, ids, from, to)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range tos {
		off[t.StaffID] = append(off[t.StaffID], t.Range)
	}
	return hours, off, nil
}

// buildGrid lays out the columns' bookings on rows of calStep minutes covering the working
// hours and bookings (at least 08:00–18:00). Overlapping bookings of a column share a cell.
func buildGrid(v *view, dir directory, inputs []calInput) ([]calColumn, []calRow, []calBooking) {
	lo, hi := 8*60, 18*60
	type span struct {
		s, e int
		b    booking.Booking
	}
	spans := make([][]span, len(inputs))
	var cancelled []calBooking
	toCal := func(b booking.Booking) calBooking {
		return calBooking{ID: b.ID, Start: b.Start, End: b.End, Service: dir.ServiceName(b.ServiceID), Staff: dir.StaffName(b.StaffID), Customer: b.Customer.Name, URL: "/admin/bookings/" + itoa(b.ID)}
	}
	minuteOf := func(t time.Time, d schedule.Date) int {
		start, end := dayBounds(d, v.TZ)
		switch {
		case !t.After(start):
			return 0
		case !t.Before(end):
			return 24 * 60
		}
		lt := t.In(v.TZ)
		return lt.Hour()*60 + lt.Minute()
	}
	for i, in := range inputs {
		for _, iv := range in.hours {
			lo, hi = min(lo, int(iv.Start)), max(hi, int(iv.End))
		}
		for _, b := range in.bookings {
			if b.Status == booking.StatusCancelled {
				cancelled = append(cancelled, toCal(b))
				continue
			}
			sp := span{s: minuteOf(b.Start, in.date), e: minuteOf(b.End, in.date), b: b}
			if sp.e <= sp.s {
				sp.e = min(sp.s+calStep, 24*60)
			}
			spans[i] = append(spans[i], sp)
			lo, hi = min(lo, sp.s), max(hi, sp.e)
		}
	}
	lo = lo / 60 * 60
	hi = min((hi+59)/60*60, 24*60)
	n := (hi - lo) / calStep
	rows := make([]calRow, n)
	for j := range rows {
		m := lo + j*calStep
		rows[j].Hour = m%60 == 0
		if rows[j].Hour {
			rows[j].Label = v.Clock(schedule.Clock(m))
		}
		rows[j].Cells = make([]calCell, len(inputs))
	}
	cols := make([]calColumn, len(inputs))
	for i, in := range inputs {
		cols[i] = in.col
		for j := range rows {
			m := lo + j*calStep
			cls := "off"
			for _, iv := range in.hours {
				if m >= int(iv.Start) && m < int(iv.End) {
					cls = "work"
				}
			}
			rows[j].Cells[i] = calCell{Span: 1, Class: cls}
		}
		sps := spans[i]
		slices.SortFunc(sps, func(a, b span) int { return cmp.Compare(a.s, b.s) })
		for k := 0; k < len(sps); {
			first := (sps[k].s - lo) / calStep
			last := (sps[k].e - lo + calStep - 1) / calStep // exclusive
			group := []calBooking{toCal(sps[k].b)}
			k++
			for k < len(sps) && (sps[k].s-lo)/calStep < last {
				last = max(last, (sps[k].e-lo+calStep-1)/calStep)
				group = append(group, toCal(sps[k].b))
				k++
			}
			last = min(max(last, first+1), n)
			rows[first].Cells[i] = calCell{Span: last - first, Class: "booked", Bookings: group}
			for j := first + 1; j < last; j++ {
				rows[j].Cells[i].Skip = true
			}
			cols[i].Count += len(group)
		}
	}
	return cols, rows, cancelled
}

// ---- Bookings ----

type bookingRow struct {
	B       booking.Booking
	Service string
	Staff   string
}

type bookingsPage struct {
	Form  formValues
	Staff []schedule.Staff
	Rows  []bookingRow
	Query string
}

func (s *server) adminBookings(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "bookings")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	dir, err := s.directory(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	fv := formValues{"q": {q.Get("q")}, "from": {q.Get("from")}, "to": {q.Get("to")}, "staff": {q.Get("staff")}, "cancelled": {q.Get("cancelled")}}
	from, to := v.Today, v.Today.AddDays(13)
	var errs validation.Errors
	if s := q.Get("from"); s != "" {
		d, err := schedule.ParseDate(s)
		if err != nil {
			errs.Add("from", "invalid_date", "is not a date", nil)
		} else {
			from = d
		}
	}
	if s := q.Get("to"); s != "" {
		d, err := schedule.ParseDate(s)
		if err != nil {
			errs.Add("to", "invalid_date", "is not a date", nil)
		} else {
			to = d
		}
	}
	if to.Before(from) {
		errs.Add("to", "before_first", "before from", nil)
	}
	fv["from"], fv["to"] = []string{from.String()}, []string{to.String()}
	var staffID *int64
	if st := q.Get("staff"); st != "" && st != "all" {
		id, err := strconv.ParseInt(st, 10, 64)
		if err != nil {
			errs.Add("staff", "invalid", "is invalid", nil)
		} else {
			staffID = &id
		}
	}
	// A staff member's list holds only their own bookings.
	only, err := staffScope(r, access.BookingView)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	staffOptions := dir.Staff
	if only != nil {
		if staffID != nil && *staffID != *only {
			s.fail(w, r, errPageNotFound)
			return
		}
		staffID = only
		staffOptions = slices.DeleteFunc(slices.Clone(dir.Staff), func(st schedule.Staff) bool { return st.ID != *only })
	}
	status := http.StatusOK
	var list []booking.Booking
	query := q.Get("q")
	switch {
	case len(errs) > 0:
		status = http.StatusUnprocessableEntity
	case query != "":
		list, err = s.b.SearchBookings(ctx, query, 200)
		if err == nil {
			list = slices.DeleteFunc(list, func(b booking.Booking) bool { return staffID != nil && b.StaffID != *staffID })
		}
	default:
		fromT, _ := dayBounds(from, v.TZ)
		_, toT := dayBounds(to, v.TZ)
		list, err = s.b.ListBookings(ctx, fromT, toT, staffID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := &bookingsPage{Form: fv, Staff: staffOptions, Query: query}
	for _, b := range list {
		if b.Status == booking.StatusCancelled && q.Get("cancelled") == "" {
			continue
		}
		p.Rows = append(p.Rows, bookingRow{B: b, Service: dir.ServiceName(b.ServiceID), Staff: dir.StaffName(b.StaffID)})
	}
	v.Title = v.T("admin.bookings.title")
	v.Errors = errs
	v.Data = p
	s.render(w, r, status, "admin_bookings", v)
}

type bookingFormPage struct {
	Form         formValues
	Services     []catalog.Service
	Staff        []schedule.Staff
	Booking      *bookingRow
	Alternatives []calBooking
	Action       string
	// AnyStaff offers "any staff member" (not to a staff member, who books for themselves).
	AnyStaff bool
}

func (s *server) adminBookingNew(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "new")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	fv := formValues{"date": {cmp.Or(q.Get("date"), v.Today.String())}, "time": {q.Get("time")}, "serviceId": {q.Get("service")}, "staffId": {cmp.Or(q.Get("staff"), "any")}, "locale": {v.Lang}}
	s.renderBookingForm(w, r, v, http.StatusOK, fv, nil)
}

func (s *server) renderBookingForm(w http.ResponseWriter, r *http.Request, v *view, status int, fv formValues, alts []calBooking) {
	dir, err := s.directory(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("admin.booking_new.title")
	v.LangBase = "/admin/bookings/new"
	staff, anyStaff := manageableStaff(r, dir.activeStaff())
	v.Data = &bookingFormPage{Form: fv, Services: dir.Services, Staff: staff, Alternatives: alts, Action: "/admin/bookings", AnyStaff: anyStaff}
	s.render(w, r, status, "admin_booking_new", v)
}

// startFromForm reads the fields date and time as a local start; errors go to "start".
func startFromForm(f *form, tz *time.Location) time.Time {
	var errs validation.Errors
	ds, ts := f.str("date"), f.str("time")
	d, err := schedule.ParseDate(ds)
	if ds == "" {
		errs.Add("start", "required", "is required", nil)
	} else if err != nil {
		errs.Add("start", "invalid_date", "is not a date", nil)
	}
	c, err := parseClock(ts)
	if len(errs) == 0 {
		if ts == "" {
			errs.Add("start", "required", "is required", nil)
		} else if err != nil {
			errs.Add("start", "invalid_time", "is not a time", nil)
		}
	}
	f.errs = append(f.errs, errs...)
	if len(errs) > 0 {
		return time.Time{}
	}
	return localTime(d, c, tz)
}

func (s *server) adminBookingCreate(w http.ResponseWriter, r *http.Request) {
	v, f, ok := s.adminForm(w, r, "new")
	if !ok {
		return
	}
	req := booking.Request{Customer: booking.Customer{
		Name: f.str(fieldName), Email: f.str(fieldEmail), Phone: f.str(fieldPhone), Locale: f.str("locale"),
	}}
	if !supported(req.Customer.Locale) {
		req.Customer.Locale = v.Lang
	}
	if id, err := strconv.ParseInt(f.str("serviceId"), 10, 64); err == nil {
		req.ServiceID = id
	} else {
		f.errs.Add("serviceId", "required", "is required", nil)
	}
	staffID, err := bookingStaff(r, f.staffParam("staffId"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req.StaffID = staffID
	req.Start = startFromForm(f, v.TZ)
	f.errs = append(f.errs, validateCustomer(req.Customer, false)...)
	fv := formValues(f.values)
	if len(f.errs) > 0 {
		v.Errors = f.errs
		s.renderBookingForm(w, r, v, http.StatusUnprocessableEntity, fv, nil)
		return
	}
	b, err := s.b.AdminCreate(r.Context(), req)
	var verrs validation.Errors
	switch {
	case err == nil:
		redirect(w, r, "/admin/bookings/"+itoa(b.Booking.ID)+"?done=created")
	case errors.As(err, &verrs):
		v.Errors = verrs
		s.renderBookingForm(w, r, v, http.StatusUnprocessableEntity, fv, nil)
	default:
		if c, ok := asConflict(err); ok {
			v.Alert = v.T("admin.conflict")
			s.renderBookingForm(w, r, v, http.StatusConflict, fv, s.adminAlternatives(r, c))
			return
		}
		s.fail(w, r, err)
	}
}

func (s *server) adminAlternatives(r *http.Request, c *booking.ConflictError) []calBooking {
	dir, _ := s.directory(r.Context())
	p := principal(r)
	var out []calBooking
	for _, sl := range c.Alternatives {
		cb := calBooking{Start: sl.Start, End: sl.End}
		if len(sl.StaffIDs) > 0 {
			if !access.CanOnStaff(p, access.BookingManage, sl.StaffIDs[0]) {
				continue
			}
			cb.Staff = dir.StaffName(sl.StaffIDs[0])
			cb.ID = sl.StaffIDs[0]
		}
		out = append(out, cb)
	}
	return out
}

// loadBookingRow loads a booking the principal may use perm on; any other is not found.
func (s *server) loadBookingRow(r *http.Request, id int64, perm access.Permission) (*bookingRow, directory, error) {
	ctx := r.Context()
	b, err := s.b.GetBooking(ctx, id)
	if err != nil {
		return nil, directory{}, err
	}
	if !access.CanOnStaff(principal(r), perm, b.StaffID) {
		return nil, directory{}, errPageNotFound
	}
	dir, err := s.directory(ctx)
	if err != nil {
		return nil, directory{}, err
	}
	return &bookingRow{B: b, Service: dir.ServiceName(b.ServiceID), Staff: dir.StaffName(b.StaffID)}, dir, nil
}

func (s *server) adminBooking(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "bookings")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	row, _, err := s.loadBookingRow(r, id, access.BookingView)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := v.DateOf(row.B.Start)
	lt := row.B.Start.In(v.TZ)
	fv := formValues{"date": {d.String()}, "time": {schedule.Clock(lt.Hour()*60 + lt.Minute()).String()}, "staffId": {itoa(row.B.StaffID)}}
	s.renderBooking(w, r, v, http.StatusOK, row, fv, nil)
}

func (s *server) renderBooking(w http.ResponseWriter, r *http.Request, v *view, status int, row *bookingRow, fv formValues, alts []calBooking) {
	dir, err := s.directory(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("admin.booking.title", "ID", row.B.ID)
	v.LangBase = "/admin/bookings/" + itoa(row.B.ID)
	staff, _ := manageableStaff(r, dir.activeStaff())
	v.Data = &bookingFormPage{Form: fv, Staff: staff, Booking: row, Alternatives: alts, Action: "/admin/bookings/" + itoa(row.B.ID) + "/move"}
	s.render(w, r, status, "admin_booking", v)
}

func (s *server) adminBookingCancel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, _, err := s.loadBookingRow(r, id, access.BookingManage); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.b.AdminCancel(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/admin/bookings/"+itoa(id)+"?done=cancelled")
}

func (s *server) adminBookingMove(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "bookings")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	row, _, err := s.loadBookingRow(r, id, access.BookingManage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	staffID, err := bookingStaff(r, f.staffParam("staffId"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	start := startFromForm(f, v.TZ)
	fv := formValues(f.values)
	if len(f.errs) > 0 {
		v.Errors = f.errs
		s.renderBooking(w, r, v, http.StatusUnprocessableEntity, row, fv, nil)
		return
	}
	_, err = s.b.AdminMove(r.Context(), id, start, staffID)
	var verrs validation.Errors
	switch {
	case err == nil:
		redirect(w, r, "/admin/bookings/"+itoa(id)+"?done=moved")
	case errors.As(err, &verrs):
		v.Errors = verrs
		s.renderBooking(w, r, v, http.StatusUnprocessableEntity, row, fv, nil)
	default:
		if c, ok := asConflict(err); ok {
			v.Alert = v.T("admin.conflict")
			s.renderBooking(w, r, v, http.StatusConflict, row, fv, s.adminAlternatives(r, c))
			return
		}
		if isCancelled(err) {
			v.Alert = v.T("admin.booking.not_confirmed")
			s.renderBooking(w, r, v, http.StatusConflict, row, fv, nil)
			return
		}
		s.fail(w, r, err)
	}
}

// ---- Services ----

type servicesPage struct {
	Services []catalog.Service
	Dir      directory
}

func (s *server) adminServices(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "services")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dir, err := s.directory(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("admin.services.title")
	v.Data = &servicesPage{Services: dir.Services, Dir: dir}
	s.render(w, r, http.StatusOK, "admin_services", v)
}

type serviceFormPage struct {
	ID    int64
	Form  formValues
	Staff []schedule.Staff
}

func serviceValues(svc catalog.Service) formValues {
	fv := formValues{
		"name": {svc.Name}, "description": {svc.Description},
		"duration":     {strconv.Itoa(int(svc.Duration / time.Minute))},
		"bufferBefore": {strconv.Itoa(int(svc.BufferBefore / time.Minute))},
		"bufferAfter":  {strconv.Itoa(int(svc.BufferAfter / time.Minute))},
		"sortOrder":    {strconv.Itoa(svc.SortOrder)},
	}
	if svc.Active {
		fv["active"] = []string{"on"}
	}
	for _, id := range svc.StaffIDs {
		fv["staffIds"] = append(fv["staffIds"], itoa(id))
	}
	return fv
}

func (s *server) adminServiceForm(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "services")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	svc := catalog.Service{Duration: 30 * time.Minute, Active: true}
	if r.PathValue("id") != "" {
		id, err := pathID(r, "id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if svc, err = s.b.GetService(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.renderServiceForm(w, r, v, http.StatusOK, svc.ID, serviceValues(svc))
}

func (s *server) renderServiceForm(w http.ResponseWriter, r *http.Request, v *view, status int, id int64, fv formValues) {
	staff, err := s.b.ListStaff(r.Context(), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if id == 0 {
		v.Title = v.T("admin.service.new_title")
		v.LangBase = "/admin/services/new"
	} else {
		v.Title = v.T("admin.service.edit_title", "Name", fv.Get("name"))
		v.LangBase = "/admin/services/" + itoa(id)
	}
	v.Data = &serviceFormPage{ID: id, Form: fv, Staff: staff}
	s.render(w, r, status, "admin_service", v)
}

func (s *server) adminServiceSave(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "services")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var id int64
	if r.PathValue("id") != "" {
		if id, err = pathID(r, "id"); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	svc := catalog.Service{
		ID:           id,
		Name:         f.text("name", true, 200),
		Description:  f.text("description", false, 2000),
		Duration:     f.minutes("duration", 1, 1440),
		BufferBefore: f.minutes("bufferBefore", 0, 1440),
		BufferAfter:  f.minutes("bufferAfter", 0, 1440),
		Active:       f.checkbox("active"),
		SortOrder:    f.optionalInt("sortOrder", -1000000, 1000000),
		StaffIDs:     f.ids("staffIds"),
	}
	err = f.saveIfValid(func() error {
		if id == 0 {
			_, err := s.b.CreateService(r.Context(), svc)
			return err
		}
		return s.b.UpdateService(r.Context(), svc)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.errs) > 0 {
		v.Errors = f.errs
		s.renderServiceForm(w, r, v, http.StatusUnprocessableEntity, svc.ID, formValues(f.values))
		return
	}
	redirect(w, r, "/admin/services?done=saved")
}

func (s *server) adminServiceDelete(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "services")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = s.b.DeleteService(r.Context(), id)
	switch {
	case err == nil:
		redirect(w, r, "/admin/services?done=deleted")
	case isInUse(err):
		svc, err := s.b.GetService(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Alert = v.T("admin.service.in_use")
		s.renderServiceForm(w, r, v, http.StatusConflict, id, serviceValues(svc))
	default:
		s.fail(w, r, err)
	}
}

// ---- Staff ----

func (s *server) adminStaffList(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "staff")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	staff, err := s.b.ListStaff(r.Context(), false)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("admin.staff.title")
	v.Data = map[string]any{"Staff": staff}
	s.render(w, r, http.StatusOK, "admin_staff_list", v)
}

type staffFormPage struct {
	ID   int64
	Form formValues
	// Feed is the calendar feed section (feed.go; nil: not shown).
	Feed *feedState
}

func staffValues(st schedule.Staff) formValues {
	fv := formValues{"name": {st.Name}, "email": {st.Email}, "sortOrder": {strconv.Itoa(st.SortOrder)}}
	if st.Active {
		fv["active"] = []string{"on"}
	}
	return fv
}

func (s *server) adminStaffForm(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "staff")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := schedule.Staff{Active: true}
	if r.PathValue("id") != "" {
		id, err := pathID(r, "id")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if st, err = s.b.GetStaff(r.Context(), id); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	s.renderStaffForm(w, r, v, http.StatusOK, st.ID, staffValues(st))
}

func (s *server) renderStaffForm(w http.ResponseWriter, r *http.Request, v *view, status int, id int64, fv formValues) {
	s.renderStaffPage(w, r, v, status, id, fv, "")
}

// renderStaffPage is renderStaffForm with the URL of a calendar feed token just made.
func (s *server) renderStaffPage(w http.ResponseWriter, r *http.Request, v *view, status int, id int64, fv formValues, feedURL string) {
	feed, err := s.feedState(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if feed != nil {
		feed.URL = feedURL
	}
	if id == 0 {
		v.Title = v.T("admin.staff_member.new_title")
		v.LangBase = "/admin/staff/new"
	} else {
		v.Title = v.T("admin.staff_member.edit_title", "Name", fv.Get("name"))
		v.LangBase = "/admin/staff/" + itoa(id)
	}
	v.Data = &staffFormPage{ID: id, Form: fv, Feed: feed}
	s.render(w, r, status, "admin_staff", v)
}

func (s *server) adminStaffSave(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "staff")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var id int64
	if r.PathValue("id") != "" {
		if id, err = pathID(r, "id"); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := schedule.Staff{
		ID:        id,
		Name:      f.text("name", true, 200),
		Email:     f.text("email", false, 254),
		Active:    f.checkbox("active"),
		SortOrder: f.optionalInt("sortOrder", -1000000, 1000000),
	}
	if st.Email != "" && f.errs.For("email") == nil && !validEmail(st.Email) {
		f.errs.Add("email", "invalid_email", "is not an email address", nil)
	}
	err = f.saveIfValid(func() error {
		if id == 0 {
			_, err := s.b.CreateStaff(r.Context(), st)
			return err
		}
		return s.b.UpdateStaff(r.Context(), st)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.errs) > 0 {
		v.Errors = f.errs
		s.renderStaffForm(w, r, v, http.StatusUnprocessableEntity, st.ID, formValues(f.values))
		return
	}
	redirect(w, r, "/admin/staff?done=saved")
}

func (s *server) adminStaffDelete(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "staff")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = s.b.DeleteStaff(r.Context(), id)
	switch {
	case err == nil:
		redirect(w, r, "/admin/staff?done=deleted")
	case isInUse(err):
		st, err := s.b.GetStaff(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Alert = v.T("admin.staff_member.in_use")
		s.renderStaffForm(w, r, v, http.StatusConflict, id, staffValues(st))
	default:
		s.fail(w, r, err)
	}
}

// ---- Working hours ----

// weekOrder is Monday first.
var weekOrder = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday}

func weekdayKey(d time.Weekday) string { return weekdayIDs[d][len("weekday."):] }

// hoursField is the validation field of a weekday (as the store names it).
func hoursField(d time.Weekday) string { return "hours." + weekdayKey(d) }

type hoursDay struct {
	Weekday time.Weekday
	Key     string
	Field   string
	Rows    []hoursRow
}

type hoursRow struct {
	Start, End string
	Index      int
}

type hoursPage struct {
	Staff schedule.Staff
	Days  []hoursDay
}

func hoursDays(get func(d time.Weekday) []hoursRow) []hoursDay {
	var days []hoursDay
	for _, d := range weekOrder {
		rows := get(d)
		for len(rows) < 3 || rows[len(rows)-1].Start != "" || rows[len(rows)-1].End != "" {
			rows = append(rows, hoursRow{})
		}
		for i := range rows {
			rows[i].Index = i
		}
		days = append(days, hoursDay{Weekday: d, Key: weekdayKey(d), Field: hoursField(d), Rows: rows})
	}
	return days
}

// staffFor loads the staff member of the path for perm: one outside the principal's scope is
// not found.
func (s *server) staffFor(w http.ResponseWriter, r *http.Request, perm access.Permission) (*view, schedule.Staff, bool) {
	v, err := s.adminView(w, r, "staff")
	if err != nil {
		s.fail(w, r, err)
		return nil, schedule.Staff{}, false
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return nil, schedule.Staff{}, false
	}
	if !access.CanOnStaff(principal(r), perm, id) {
		s.fail(w, r, errPageNotFound)
		return nil, schedule.Staff{}, false
	}
	st, err := s.b.GetStaff(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return nil, schedule.Staff{}, false
	}
	return v, st, true
}

func (s *server) adminHours(w http.ResponseWriter, r *http.Request) {
	v, st, ok := s.staffFor(w, r, access.CalendarView)
	if !ok {
		return
	}
	h, err := s.b.WorkingHours(r.Context(), st.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	days := hoursDays(func(d time.Weekday) []hoursRow {
		var rows []hoursRow
		for _, iv := range h[d] {
			rows = append(rows, hoursRow{Start: iv.Start.String(), End: iv.End.String()})
		}
		return rows
	})
	s.renderHours(w, r, v, http.StatusOK, st, days)
}

func (s *server) renderHours(w http.ResponseWriter, r *http.Request, v *view, status int, st schedule.Staff, days []hoursDay) {
	v.Title = v.T("admin.hours.title", "Name", st.Name)
	v.LangBase = "/admin/staff/" + itoa(st.ID) + "/hours"
	v.Data = &hoursPage{Staff: st, Days: days}
	s.render(w, r, status, "admin_hours", v)
}

func (s *server) adminHoursSave(w http.ResponseWriter, r *http.Request) {
	v, st, ok := s.staffFor(w, r, access.HoursManage)
	if !ok {
		return
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := schedule.WeeklyHours{}
	posted := map[time.Weekday][]hoursRow{}
	for _, d := range weekOrder {
		key := weekdayKey(d)
		for i := 0; i < 24; i++ {
			start := f.str("h." + key + "." + strconv.Itoa(i) + ".start")
			end := f.str("h." + key + "." + strconv.Itoa(i) + ".end")
			if i >= 3 && !f.values.Has("h."+key+"."+strconv.Itoa(i)+".start") {
				break
			}
			if start == "" && end == "" {
				continue
			}
			posted[d] = append(posted[d], hoursRow{Start: start, End: end})
			if f.errs.For(hoursField(d)) != nil {
				continue
			}
			if start == "" || end == "" {
				f.errs.Add(hoursField(d), "incomplete_interval", "needs a start and an end", nil)
				continue
			}
			a, err1 := parseClock(start)
			b, err2 := parseClock(end)
			if err1 != nil || err2 != nil {
				f.errs.Add(hoursField(d), "invalid_time", "is not a time of day", nil)
				continue
			}
			if a >= b && b == 0 {
				b = 24 * 60 // "until midnight"
			}
			h[d] = append(h[d], schedule.Interval{Start: a, End: b})
		}
	}
	for _, fe := range validateHours(h) {
		if f.errs.For(fe.Field) == nil {
			f.errs = append(f.errs, fe)
		}
	}
	// The summary lists the days in the form's order.
	dayIndex := func(field string) int {
		for i, d := range weekOrder {
			if hoursField(d) == field {
				return i
			}
		}
		return len(weekOrder)
	}
	slices.SortStableFunc(f.errs, func(a, b validation.FieldError) int { return cmp.Compare(dayIndex(a.Field), dayIndex(b.Field)) })
	if err := f.saveIfValid(func() error { return s.b.SetWorkingHours(r.Context(), st.ID, h) }); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.errs) > 0 {
		v.Errors = f.errs
		days := hoursDays(func(d time.Weekday) []hoursRow { return posted[d] })
		s.renderHours(w, r, v, http.StatusUnprocessableEntity, st, days)
		return
	}
	redirect(w, r, "/admin/staff/"+itoa(st.ID)+"/hours?done=saved")
}

// validateHours checks intervals as the store does: start before end, no overlaps per day.
func validateHours(h schedule.WeeklyHours) validation.Errors {
	var errs validation.Errors
	for _, d := range weekOrder {
		ivs := slices.Clone(h[d])
		slices.SortFunc(ivs, func(a, b schedule.Interval) int { return cmp.Compare(a.Start, b.Start) })
		for i, iv := range ivs {
			if iv.Start >= iv.End {
				errs.Add(hoursField(d), "invalid_interval", "must start before it ends", map[string]any{"start": iv.Start.String(), "end": iv.End.String()})
				break
			}
			if i > 0 && ivs[i-1].End > iv.Start {
				errs.Add(hoursField(d), "overlap", "intervals overlap", nil)
				break
			}
		}
		h[d] = ivs
	}
	return errs
}

// ---- Time off ----

type timeOffPage struct {
	Staff   schedule.Staff
	TimeOff []schedule.TimeOff
	Form    formValues
}

func (s *server) adminTimeOff(w http.ResponseWriter, r *http.Request) {
	v, st, ok := s.staffFor(w, r, access.TimeOffView)
	if !ok {
		return
	}
	s.renderTimeOff(w, r, v, http.StatusOK, st, formValues{})
}

func (s *server) renderTimeOff(w http.ResponseWriter, r *http.Request, v *view, status int, st schedule.Staff, fv formValues) {
	list, err := s.b.ListTimeOff(r.Context(), []int64{st.ID}, v.Today.AddDays(-366), schedule.Date{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("admin.timeoff.title", "Name", st.Name)
	v.LangBase = "/admin/staff/" + itoa(st.ID) + "/timeoff"
	v.Data = &timeOffPage{Staff: st, TimeOff: list, Form: fv}
	s.render(w, r, status, "admin_timeoff", v)
}

func (s *server) adminTimeOffAdd(w http.ResponseWriter, r *http.Request) {
	v, st, ok := s.staffFor(w, r, access.TimeOffManage)
	if !ok {
		return
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	t := schedule.TimeOff{StaffID: st.ID, Reason: f.text("reason", false, 500)}
	t.Range.First = f.date("firstDay")
	if f.str("lastDay") == "" {
		t.Range.Last = t.Range.First
	} else {
		t.Range.Last = f.date("lastDay")
	}
	if len(f.errs) == 0 && t.Range.Last.Before(t.Range.First) {
		f.errs.Add("lastDay", "before_first", "before the first day", nil)
	}
	err = f.saveIfValid(func() error {
		_, err := s.b.AddTimeOff(r.Context(), t)
		return err
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.errs) > 0 {
		v.Errors = f.errs
		s.renderTimeOff(w, r, v, http.StatusUnprocessableEntity, st, formValues(f.values))
		return
	}
	redirect(w, r, "/admin/staff/"+itoa(st.ID)+"/timeoff?done=saved")
}

func (s *server) adminTimeOffDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tid, err := pathID(r, "tid")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !access.CanOnStaff(principal(r), access.TimeOffManage, id) {
		s.fail(w, r, errPageNotFound)
		return
	}
	// Only this staff member's entries.
	list, err := s.b.ListTimeOff(r.Context(), []int64{id}, schedule.Date{}, schedule.Date{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !slices.ContainsFunc(list, func(t schedule.TimeOff) bool { return t.ID == tid }) {
		s.fail(w, r, errPageNotFound)
		return
	}
	if err := s.b.DeleteTimeOff(r.Context(), tid); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/admin/staff/"+itoa(id)+"/timeoff?done=deleted")
}

// ---- Settings ----

// commonTimeZones are offered in the settings form (any IANA name is accepted).
var commonTimeZones = []string{"Europe/Berlin", "Europe/Vienna", "Europe/Zurich", "Europe/London", "Europe/Paris", "Europe/Amsterdam", "Europe/Madrid", "Europe/Rome", "America/New_York", "America/Chicago", "America/Los_Angeles", "UTC"}

type settingsPage struct {
	Form      formValues
	TimeZones []string
	// Privacy is the data-protection form (customers.go).
	Privacy formValues
}

func settingsValues(st business.Settings) formValues {
	return formValues{
		"name":           {st.Name},
		"timeZone":       {st.TimeZone},
		"minNotice":      {strconv.Itoa(int(st.MinNotice / time.Minute))},
		"maxAdvance":     {strconv.Itoa(int(st.MaxAdvance / (24 * time.Hour)))},
		"slotInterval":   {strconv.Itoa(int(st.SlotInterval / time.Minute))},
		"changeDeadline": {strconv.Itoa(int(st.ChangeDeadline / time.Hour))},
	}
}

func (s *server) adminSettings(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "settings")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderSettings(w, r, v, http.StatusOK, settingsValues(v.Business))
}

func (s *server) renderSettings(w http.ResponseWriter, r *http.Request, v *view, status int, fv formValues) {
	v.Title = v.T("admin.settings.title")
	v.LangBase = "/admin/settings"
	pf, err := s.privacyForm(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Data = &settingsPage{Form: fv, TimeZones: commonTimeZones, Privacy: pf}
	s.render(w, r, status, "admin_settings", v)
}

func (s *server) adminSettingsSave(w http.ResponseWriter, r *http.Request) {
	v, f, ok := s.adminForm(w, r, "settings")
	if !ok {
		return
	}
	st := business.Settings{
		Name:           f.text("name", true, 200),
		TimeZone:       f.text("timeZone", true, 100),
		MinNotice:      f.minutes("minNotice", 0, 365*24*60),
		MaxAdvance:     time.Duration(f.integer("maxAdvance", 1, 1096)) * 24 * time.Hour,
		SlotInterval:   f.minutes("slotInterval", 5, 240),
		ChangeDeadline: time.Duration(f.integer("changeDeadline", 0, 365*24)) * time.Hour,
	}
	if st.TimeZone != "" && f.errs.For("timeZone") == nil {
		if _, err := time.LoadLocation(st.TimeZone); err != nil || st.TimeZone == "Local" {
			f.errs.Add("timeZone", "invalid_timezone", "unknown time zone", nil)
		}
	}
	if err := f.saveIfValid(func() error { return s.b.UpdateSettings(r.Context(), st) }); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.errs) > 0 {
		v.Errors = f.errs
		s.renderSettings(w, r, v, http.StatusUnprocessableEntity, formValues(f.values))
		return
	}
	redirect(w, r, "/admin/settings?done=saved")
}

// staffScope is the staff filter of a list under perm: nil for all staff, or the principal's own
// staff member.
func staffScope(r *http.Request, perm access.Permission) (*int64, error) {
	only, ok := access.OnlyStaff(principal(r), perm)
	if !ok {
		return nil, errPageForbidden
	}
	return only, nil
}

// manageableStaff are the staff a booking form offers: those the principal may manage bookings
// of, and whether "any staff member" is offered (only to those who manage everyone's).
func manageableStaff(r *http.Request, staff []schedule.Staff) ([]schedule.Staff, bool) {
	p := principal(r)
	out := slices.DeleteFunc(slices.Clone(staff), func(st schedule.Staff) bool { return !access.CanOnStaff(p, access.BookingManage, st.ID) })
	return out, access.ScopeOf(p.Role, access.BookingManage) == access.All
}

// bookingStaff checks the staff member chosen for a booking: a staff member books only for
// themselves ("any" means them), anyone else is not found.
func bookingStaff(r *http.Request, staffID *int64) (*int64, error) {
	only, err := staffScope(r, access.BookingManage)
	switch {
	case err != nil:
		return nil, err
	case only == nil:
		return staffID, nil
	case staffID == nil:
		return only, nil
	case *staffID != *only:
		return nil, errPageNotFound
	}
	return staffID, nil
}
