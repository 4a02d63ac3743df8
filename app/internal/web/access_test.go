package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

// matrixFixture creates fresh objects for each request of the matrix test, so that a request
// that changes or deletes something never affects the next one.
type matrixFixture struct {
	a      *testApp
	anna   schedule.Staff // the staff user's own staff member
	mehmet schedule.Staff // another staff member
	cut    catalog.Service
	day    schedule.Date
	slot   int
	seq    int
	users  map[access.Role]account.User
}

func (f *matrixFixture) booking(t *testing.T, st schedule.Staff) int64 {
	t.Helper()
	for {
		// 30-minute slots from 09:00 on weekdays after testNow; skip weekends and taken slots.
		d := f.day.AddDays(f.slot / 16)
		start := time.Date(d.Year, d.Month, d.Day, 9, 0, 0, 0, berlin).Add(time.Duration(f.slot%16) * 30 * time.Minute)
		f.slot++
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		c, err := f.a.bs.AdminCreate(context.Background(), booking.Request{ServiceID: f.cut.ID, StaffID: &st.ID, Start: start,
			Customer: booking.Customer{Name: "Matrix Kunde", Email: "matrix@example.com", Locale: "de"}})
		if err == nil {
			return c.Booking.ID
		}
		if _, ok := asConflict(err); !ok && !strings.Contains(err.Error(), "invalid input") {
			t.Fatalf("fixture booking: %v", err)
		}
	}
}

func (f *matrixFixture) timeOff(t *testing.T, st schedule.Staff) int64 {
	t.Helper()
	id, err := f.a.st.AddTimeOff(context.Background(), schedule.TimeOff{StaffID: st.ID,
		Range: schedule.DateRange{First: schedule.Date{Year: 2027, Month: 1, Day: 4}, Last: schedule.Date{Year: 2027, Month: 1, Day: 4}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// failedMail is a mail the outbox gave up on.
func (f *matrixFixture) failedMail(t *testing.T) int64 {
	t.Helper()
	var id int64
	if err := f.a.st.Pool().QueryRow(context.Background(), `
		INSERT INTO mail_outbox (template, recipient, attempts, last_error, failed_at)
		VALUES ('booking_created', 'matrix@example.com', 10, '550 mailbox unavailable', now()) RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *matrixFixture) user(t *testing.T) account.User {
	t.Helper()
	f.seq++
	return f.a.user(t, fmt.Sprintf("fixture%d@example.com", f.seq), access.Viewer, nil)
}

// path fills a route's path for a request on objects of staff member st; body is a form that
// is valid where a change should go through and harmless (or invalid) elsewhere.
func (f *matrixFixture) request(t *testing.T, rt route, st schedule.Staff, self account.User) (path string, body url.Values) {
	t.Helper()
	ctx := context.Background()
	p := rt.Path
	p = strings.TrimSuffix(p, "{$}")
	fill := func(name, v string) { p = strings.Replace(p, "{"+name+"}", v, 1) }
	switch {
	case strings.HasPrefix(rt.Path, "/admin/bookings/{id}"):
		fill("id", itoa(f.booking(t, st)))
		body = url.Values{"date": {"2026-03-20"}, "time": {"10:00"}, "staffId": {itoa(st.ID)}}
	case strings.HasPrefix(rt.Path, "/admin/services/{id}"):
		id := f.cut.ID
		if rt.Method == http.MethodPost {
			var err error
			f.seq++
			if id, err = f.a.st.CreateService(ctx, catalog.Service{Name: fmt.Sprintf("Fixture %d", f.seq), Duration: 30 * time.Minute}); err != nil {
				t.Fatal(err)
			}
		}
		fill("id", itoa(id))
	case strings.HasPrefix(rt.Path, "/admin/staff/{id}/timeoff/{tid}"):
		fill("id", itoa(st.ID))
		fill("tid", itoa(f.timeOff(t, st)))
	case strings.HasPrefix(rt.Path, "/admin/staff/{id}/"):
		fill("id", itoa(st.ID))
		// Invalid on purpose: an incomplete interval, a missing first day.
		body = url.Values{"h.monday.0.start": {"09:00"}, "firstDay": {""}}
	case strings.HasPrefix(rt.Path, "/admin/staff/{id}"):
		id := st.ID
		if rt.Method == http.MethodPost {
			f.seq++
			var err error
			if id, err = f.a.st.CreateStaff(ctx, schedule.Staff{Name: fmt.Sprintf("Fixture %d", f.seq)}); err != nil {
				t.Fatal(err)
			}
		}
		fill("id", itoa(id))
	case strings.HasPrefix(rt.Path, "/admin/users/{id}"):
		u := f.users[access.Viewer]
		if rt.Method == http.MethodPost {
			u = f.user(t)
		}
		fill("id", itoa(u.ID))
		if strings.Contains(rt.Path, "{sid}") {
			sid, err := f.a.acc.StartSession(ctx, u.ID, "matrix", "192.0.2.9")
			if err != nil {
				t.Fatal(err)
			}
			fill("sid", sid)
		}
		body = url.Values{"role": {"viewer"}, "staffId": {"none"}}
	case strings.HasPrefix(rt.Path, "/admin/mail/{id}"):
		fill("id", itoa(f.failedMail(t)))
	case strings.Contains(rt.Path, "{sid}"): // the own account's sessions
		sid := "none"
		if self.ID != 0 {
			var err error
			if sid, err = f.a.acc.StartSession(ctx, self.ID, "matrix", "192.0.2.9"); err != nil {
				t.Fatal(err)
			}
		}
		fill("sid", sid)
	case rt.Path == "/admin/calendar" || rt.Path == "/admin/bookings" && rt.Method == http.MethodGet:
		p += "?staff=" + itoa(st.ID)
	}
	if strings.Contains(p, "{") {
		t.Fatalf("route %s: no fixture for %s", rt.Pattern(), p)
	}
	return p, body
}

// staffObject tells whether a route's object (or list filter) belongs to a staff member, so
// that the staff role's Own scope applies to it.
func staffObject(rt route) bool {
	return strings.HasPrefix(rt.Path, "/admin/bookings/{id}") || strings.HasPrefix(rt.Path, "/admin/staff/{id}/") ||
		rt.Path == "/admin/calendar" || rt.Path == "/admin/bookings" && rt.Method == http.MethodGet
}

type outcome string

const (
	allowed   outcome = "allowed"   // 2xx, or a redirect that is not to the login page, or a form error
	forbidden outcome = "forbidden" // 403
	notFound  outcome = "not found" // 404
	toLogin   outcome = "login"     // 303 to the login page
)

func classify(res response) outcome {
	switch {
	case res.status == http.StatusForbidden:
		return forbidden
	case res.status == http.StatusNotFound:
		return notFound
	case res.status == http.StatusUnauthorized, // the idle warning's keepalive
		res.status == http.StatusSeeOther && strings.HasPrefix(res.header.Get("Location"), "/account/login") &&
			!strings.Contains(res.header.Get("Location"), "done=logged_out"):
		return toLogin
	case res.status < 300, res.status == http.StatusFound, res.status == http.StatusSeeOther,
		res.status == http.StatusUnprocessableEntity, res.status == http.StatusConflict:
		return allowed
	}
	return outcome(fmt.Sprintf("status %d", res.status))
}

// expected derives a request's outcome from the permission matrix.
func expected(role access.Role, rt route, foreign bool) outcome {
	if role == "" {
		return toLogin
	}
	switch access.ScopeOf(role, rt.Perm) {
	case access.None:
		return forbidden
	case access.Own:
		if foreign && staffObject(rt) {
			return notFound
		}
	}
	return allowed
}

// TestPermissionMatrix sends every route of the route table as every role (and anonymously),
// on objects of the staff user's own staff member and of another one, and compares the answer
// with the permission matrix (access.ScopeOf) and with a hand-written table for some cases.
func TestPermissionMatrix(t *testing.T) {
	a := newTestApp(t).signIn(t)
	f := &matrixFixture{a: a, anna: a.staffNamed(t, "Anna Schmidt"), mehmet: a.staffNamed(t, "Mehmet Yılmaz"),
		cut: a.service(t, "Haarschnitt"), day: schedule.Date{Year: 2026, Month: time.March, Day: 9}, users: map[access.Role]account.User{}}
	f.users[access.Owner] = a.owner
	f.users[access.Admin] = a.user(t, "admin@example.com", access.Admin, nil)
	f.users[access.Staff] = a.user(t, "staff@example.com", access.Staff, &f.anna.ID)
	f.users[access.Viewer] = a.user(t, "viewer@example.com", access.Viewer, nil)
	clients := map[access.Role]*client{access.Owner: a.c, "": {a: a}}
	for _, r := range []access.Role{access.Admin, access.Staff, access.Viewer} {
		clients[r] = &client{a: a}
		clients[r].login(t, f.users[r].Email, testPassword)
	}
	ensureSignedIn := func(role access.Role) {
		if role == "" {
			return
		}
		if res := clients[role].get(t, "/account", "en"); res.status != http.StatusOK {
			clients[role].login(t, f.users[role].Email, testPassword)
		}
	}

	type key struct {
		role    access.Role
		pattern string
		foreign bool
	}
	got := map[key]outcome{}
	routes := a.h.(*server).protectedRoutes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, rt := range routes {
		for _, role := range []access.Role{access.Owner, access.Admin, access.Staff, access.Viewer, ""} {
			for _, foreign := range []bool{false, true} {
				if foreign && !staffObject(rt) {
					continue
				}
				st := f.anna
				if foreign {
					st = f.mehmet
				}
				ensureSignedIn(role)
				path, body := f.request(t, rt, st, f.users[role])
				var res response
				if rt.Method == http.MethodGet {
					res = clients[role].get(t, path, "en")
				} else {
					res = clients[role].post(t, path, "en", body)
				}
				out := classify(res)
				got[key{role, rt.Pattern(), foreign}] = out
				if want := expected(role, rt, foreign); out != want {
					t.Errorf("%-8s %-45s foreign=%-5v: %s (status %d), want %s (%s: %s)", cmpOr(string(role), "anon"), rt.Pattern(), foreign,
						out, res.status, want, rt.Perm, access.ScopeOf(role, rt.Perm))
				}
				if out == allowed && rt.Method == http.MethodGet && res.header.Get("Cache-Control") != "no-store" &&
					!strings.HasPrefix(res.header.Get("Cache-Control"), "no-store") {
					t.Errorf("%s %s: Cache-Control %q", role, rt.Pattern(), res.header.Get("Cache-Control"))
				}
			}
		}
	}

	// A hand-written table of some cases, in case the matrix itself were wrong.
	for _, c := range []struct {
		role    access.Role
		pattern string
		foreign bool
		want    outcome
	}{
		{"", "GET /admin/users", false, toLogin},
		{"", "POST /admin/bookings/{id}/cancel", false, toLogin},
		{access.Viewer, "GET /admin/bookings/{id}", true, allowed},
		{access.Viewer, "POST /admin/bookings/{id}/cancel", false, forbidden},
		{access.Viewer, "POST /admin/settings", false, forbidden},
		{access.Viewer, "GET /admin/audit", false, forbidden},
		{access.Staff, "GET /admin/bookings/{id}", false, allowed},
		{access.Staff, "GET /admin/bookings/{id}", true, notFound},
		{access.Staff, "POST /admin/bookings/{id}/move", true, notFound},
		{access.Staff, "GET /admin/calendar", true, notFound},
		{access.Staff, "POST /admin/staff/{id}/timeoff/{tid}/delete", false, allowed},
		{access.Staff, "POST /admin/staff/{id}/timeoff/{tid}/delete", true, notFound},
		{access.Staff, "POST /admin/staff/{id}/hours", false, forbidden},
		{access.Staff, "GET /admin/settings", false, forbidden},
		{access.Staff, "GET /admin/users", false, forbidden},
		{access.Staff, "POST /admin/services", false, forbidden},
		{access.Admin, "POST /admin/users/{id}/mfa/reset", false, forbidden},
		{access.Admin, "POST /admin/users/{id}/disable", false, allowed},
		{access.Admin, "GET /admin/audit", false, allowed},
		{access.Owner, "POST /admin/users/{id}/mfa/reset", false, allowed},
		{access.Viewer, "POST /account/password", false, allowed},
		{access.Staff, "GET /admin/mail", false, forbidden},
		{access.Viewer, "POST /admin/mail/{id}/retry", false, forbidden},
		{access.Admin, "POST /admin/mail/{id}/retry", false, allowed},
		{access.Staff, "POST /admin/staff/{id}/feed", false, allowed},
		{access.Staff, "POST /admin/staff/{id}/feed", true, notFound},
		{access.Staff, "POST /admin/staff/{id}/feed/revoke", true, notFound},
		{access.Viewer, "POST /admin/staff/{id}/feed", false, forbidden},
		{access.Admin, "POST /admin/staff/{id}/feed", true, allowed},
	} {
		if out, ok := got[key{c.role, c.pattern, c.foreign}]; !ok || out != c.want {
			t.Errorf("hand-written: %s %s foreign=%v: %q, want %s", cmpOr(string(c.role), "anon"), c.pattern, c.foreign, out, c.want)
		}
	}
}

// TestRouteTableComplete: every /admin and signed-in /account pattern the mux knows comes from
// the route table (so no admin route exists without a permission).
func TestRouteTableComplete(t *testing.T) {
	a := newTestApp(t)
	s := a.h.(*server)
	seen := map[string]bool{}
	for _, rt := range s.protectedRoutes() {
		if seen[rt.Pattern()] {
			t.Errorf("%s twice", rt.Pattern())
		}
		seen[rt.Pattern()] = true
		if !rt.Perm.Valid() {
			t.Errorf("%s: unknown permission %q", rt.Pattern(), rt.Perm)
		}
		if !strings.HasPrefix(rt.Path, "/admin") && !strings.HasPrefix(rt.Path, "/account") {
			t.Errorf("%s: protected route outside /admin and /account", rt.Pattern())
		}
	}
	// Probe paths under /admin that are not in the table: they must not answer as a page.
	for _, p := range []string{"/admin/nothing", "/admin/users/1/whatever", "/admin/audit/1"} {
		res := a.get(t, p, "en")
		if res.status != http.StatusNotFound && classify(res) != toLogin {
			t.Errorf("GET %s: %d", p, res.status)
		}
	}
}

// TestIDOR: a staff member who changes the IDs in URLs gets 404 for other staff members'
// bookings, calendar, hours and time off, and another user's sessions; nothing changes.
func TestIDOR(t *testing.T) {
	a := newTestApp(t).signIn(t)
	ctx := context.Background()
	anna, mehmet := a.staffNamed(t, "Anna Schmidt"), a.staffNamed(t, "Mehmet Yılmaz")
	cut := a.service(t, "Haarschnitt")
	wed := schedule.Date{Year: 2026, Month: time.March, Day: 4}
	theirs := a.book(t, cut, a.slots(t, cut, &mehmet.ID, wed)[0].Start, &mehmet.ID, "Fremde Kundin")
	mine := a.book(t, cut, a.slots(t, cut, &anna.ID, wed)[0].Start, &anna.ID, "Eigene Kundin")
	theirOff, err := a.st.AddTimeOff(ctx, schedule.TimeOff{StaffID: mehmet.ID, Range: schedule.DateRange{First: wed.AddDays(30), Last: wed.AddDays(31)}})
	if err != nil {
		t.Fatal(err)
	}
	staff := a.as(t, "anna@example.com", access.Staff, &anna.ID)
	id := itoa(theirs.Booking.ID)
	move := url.Values{"date": {"2026-03-05"}, "time": {"11:00"}, "staffId": {itoa(anna.ID)}}
	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/admin/bookings/" + id, nil},
		{"POST", "/admin/bookings/" + id + "/cancel", nil},
		{"POST", "/admin/bookings/" + id + "/move", move},
		{"POST", "/admin/bookings/" + itoa(mine.Booking.ID) + "/move", url.Values{"date": {"2026-03-05"}, "time": {"11:00"}, "staffId": {itoa(mehmet.ID)}}},
		{"POST", "/admin/bookings", url.Values{"serviceId": {itoa(cut.ID)}, "staffId": {itoa(mehmet.ID)}, "date": {"2026-03-05"}, "time": {"12:00"}, "customer.name": {"X"}, "customer.email": {"x@example.com"}}},
		{"GET", "/admin/calendar?staff=" + itoa(mehmet.ID), nil},
		{"GET", "/admin/calendar?view=week&staff=" + itoa(mehmet.ID), nil},
		{"GET", "/admin/bookings?staff=" + itoa(mehmet.ID), nil},
		{"GET", "/admin/staff/" + itoa(mehmet.ID) + "/hours", nil},
		{"GET", "/admin/staff/" + itoa(mehmet.ID) + "/timeoff", nil},
		{"POST", "/admin/staff/" + itoa(mehmet.ID) + "/timeoff", url.Values{"firstDay": {"2026-06-01"}}},
		{"POST", "/admin/staff/" + itoa(mehmet.ID) + "/timeoff/" + itoa(theirOff) + "/delete", nil},
		{"POST", "/admin/staff/" + itoa(anna.ID) + "/timeoff/" + itoa(theirOff) + "/delete", nil},
	} {
		var res response
		if c.method == "GET" {
			res = staff.get(t, c.path, "de")
		} else {
			res = staff.post(t, c.path, "de", c.form)
		}
		if res.status != http.StatusNotFound || !strings.Contains(res.body, text(t, "de", "error.not_found.title")) {
			t.Errorf("%s %s as staff: %d, want the 404 page", c.method, c.path, res.status)
		}
		if strings.Contains(res.body, "Fremde Kundin") {
			t.Errorf("%s %s leaks the other staff member's customer", c.method, c.path)
		}
	}
	// Nothing changed.
	b, err := a.bs.GetBooking(ctx, theirs.Booking.ID)
	if err != nil || b.Status != booking.StatusConfirmed || !b.Start.Equal(theirs.Booking.Start) || b.StaffID != mehmet.ID {
		t.Errorf("the other booking changed: %+v %v", b, err)
	}
	if b, _ := a.bs.GetBooking(ctx, mine.Booking.ID); b.StaffID != anna.ID || !b.Start.Equal(mine.Booking.Start) {
		t.Errorf("own booking moved to another staff member: %+v", b)
	}
	tos, _ := a.st.ListTimeOff(ctx, []int64{mehmet.ID}, schedule.Date{}, schedule.Date{})
	if len(tos) != 1 || tos[0].ID != theirOff {
		t.Errorf("the other time off changed: %v", tos)
	}
	bks, _ := a.bs.ListBookings(ctx, time.Date(2026, 3, 5, 0, 0, 0, 0, berlin), time.Date(2026, 3, 6, 0, 0, 0, 0, berlin), nil)
	if len(bks) != 0 {
		t.Errorf("a booking was created for another staff member: %v", bks)
	}
	// Lists show only the own bookings, search included.
	for _, p := range []string{"/admin/bookings?from=2026-03-01&to=2026-03-08", "/admin/bookings?q=Kundin", "/admin/calendar?date=2026-03-04", "/admin/calendar?view=week&date=2026-03-04"} {
		res := staff.get(t, p, "de")
		if res.status != http.StatusOK || strings.Contains(res.body, "Fremde Kundin") || !strings.Contains(res.body, "Eigene Kundin") {
			t.Errorf("%s as staff: %d, shows the other's booking or not the own one", p, res.status)
		}
	}
	// The own ones work.
	if res := staff.get(t, "/admin/bookings/"+itoa(mine.Booking.ID), "de"); res.status != http.StatusOK || !strings.Contains(res.body, "/cancel") {
		t.Errorf("own booking: %d", res.status)
	}

	// Another user's session, through the own account's URL: not found, still valid.
	other := a.user(t, "other@example.com", access.Staff, &mehmet.ID)
	sid, err := a.acc.StartSession(ctx, other.ID, "x", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if res := staff.post(t, "/account/sessions/"+sid+"/end", "de", nil); res.status != http.StatusNotFound {
		t.Errorf("ending another user's session: %d, want 404", res.status)
	}
	if _, err := a.acc.Principal(ctx, sid); err != nil {
		t.Errorf("the other user's session was ended: %v", err)
	}
	// An admin cannot touch an owner: 404 like a missing user, and nothing changes.
	admin := a.as(t, "admin@example.com", access.Admin, nil)
	for _, p := range []string{"/disable", "/role", "/sessions/" + sid + "/end"} {
		if res := admin.post(t, "/admin/users/"+itoa(a.owner.ID)+p, "de", url.Values{"role": {"viewer"}}); res.status != http.StatusNotFound {
			t.Errorf("admin POST owner%s: %d, want 404", p, res.status)
		}
	}
	by := access.Principal{UserID: a.owner.ID, Role: access.Owner}
	if u, _ := a.acc.User(ctx, by, a.owner.ID); u.Disabled || u.Role != access.Owner {
		t.Errorf("owner changed by an admin: %+v", u)
	}
	// Viewer: no write buttons, and POSTs refused.
	viewer := a.as(t, "viewer@example.com", access.Viewer, nil)
	res := viewer.get(t, "/admin/bookings/"+id, "de")
	if res.status != http.StatusOK || strings.Contains(res.body, "/cancel") || strings.Contains(res.body, "/move") {
		t.Errorf("viewer's booking page: %d, offers changes", res.status)
	}
	for _, p := range []string{"/admin/calendar", "/admin/staff", "/admin/services", "/admin/services/" + itoa(cut.ID), "/admin/staff/" + itoa(anna.ID) + "/timeoff", "/admin/staff/" + itoa(anna.ID) + "/hours"} {
		res := viewer.get(t, p, "de")
		// The only form that posts is the sign-out button.
		if res.status != http.StatusOK || strings.Count(res.body, `method="post"`) != 1 || strings.Contains(res.body, "/admin/bookings/new") {
			t.Errorf("viewer's %s: %d, offers a change", p, res.status)
		}
	}
}
