package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

// invalid posts a form that must come back with 422 and inline errors for fields.
func (a *testApp) invalid(t *testing.T, path, lang string, form url.Values, fields map[string]string) {
	t.Helper()
	res := a.post(t, path, lang, form)
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("POST %s: %d, want 422\n%s", path, res.status, res.body)
	}
	if !strings.Contains(res.body, `class="error-summary"`) {
		t.Errorf("POST %s: no error summary", path)
	}
	for field, code := range fields {
		id := fieldID(field)
		if !strings.Contains(res.body, `<a href="#`+id+`">`) {
			t.Errorf("POST %s: summary does not link to %s", path, id)
		}
		if !strings.Contains(res.body, `id="`+id+`-error"`) {
			t.Errorf("POST %s: no inline error for %s", path, field)
		}
		msg := text(t, lang, "validation."+code)
		msg, _, _ = strings.Cut(msg, "&lt;no value&gt;") // a message with parameters: its fixed start
		if !strings.Contains(res.body, msg) {
			t.Errorf("POST %s: no %q for %s", path, msg, field)
		}
	}
}

func (a *testApp) ok(t *testing.T, path string, form url.Values) string {
	t.Helper()
	res := a.post(t, path, "de", form)
	if res.status != http.StatusSeeOther {
		t.Fatalf("POST %s: %d, want 303\n%s", path, res.status, res.body)
	}
	return res.header.Get("Location")
}

func TestAdminSettings(t *testing.T) {
	a := newTestApp(t).signIn(t)
	for _, lang := range Languages {
		a.invalid(t, "/admin/settings", lang, url.Values{
			"name": {""}, "timeZone": {"Mars/Olympus"}, "minNotice": {"abc"}, "maxAdvance": {"5000"},
			"slotInterval": {"15"}, "changeDeadline": {"24"},
		}, map[string]string{"name": "required", "timeZone": "invalid_timezone", "minNotice": "number", "maxAdvance": "range"})
	}
	loc := a.ok(t, "/admin/settings", url.Values{
		"name": {"Salon Abendrot"}, "timeZone": {"Europe/Vienna"}, "minNotice": {"60"}, "maxAdvance": {"30"},
		"slotInterval": {"10"}, "changeDeadline": {"12"},
	})
	if loc != "/admin/settings?done=saved" {
		t.Errorf("redirect %q", loc)
	}
	st, err := a.st.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "Salon Abendrot" || st.TimeZone != "Europe/Vienna" || st.MinNotice != time.Hour ||
		st.MaxAdvance != 30*24*time.Hour || st.SlotInterval != 10*time.Minute || st.ChangeDeadline != 12*time.Hour {
		t.Errorf("saved %+v", st)
	}
	res := a.get(t, loc, "en")
	if !strings.Contains(res.body, text(t, "en", "admin.done.saved")) || !strings.Contains(res.body, `value="Salon Abendrot"`) {
		t.Error("saved settings not shown")
	}
}

func TestAdminServices(t *testing.T) {
	a := newTestApp(t).signIn(t)
	anna := a.staffNamed(t, "Anna Schmidt")
	a.invalid(t, "/admin/services", "en", url.Values{"name": {""}, "duration": {"0"}, "bufferBefore": {"x"}, "bufferAfter": {"0"}},
		map[string]string{"name": "required", "duration": "range", "bufferBefore": "number"})
	a.ok(t, "/admin/services", url.Values{
		"name": {"Kopfmassage"}, "description": {"Entspannung"}, "duration": {"25"}, "bufferBefore": {"5"},
		"bufferAfter": {"10"}, "active": {"on"}, "staffIds": {fmt.Sprint(anna.ID)}, "sortOrder": {"50"},
	})
	svc := a.service(t, "Kopfmassage")
	if svc.Duration != 25*time.Minute || svc.BufferBefore != 5*time.Minute || svc.BufferAfter != 10*time.Minute ||
		!svc.Active || len(svc.StaffIDs) != 1 || svc.StaffIDs[0] != anna.ID {
		t.Errorf("created %+v", svc)
	}
	res := a.get(t, "/admin/services", "de")
	if !strings.Contains(res.body, "Kopfmassage") || !strings.Contains(res.body, "Anna Schmidt") {
		t.Error("not listed")
	}
	// Edit: deactivate (unchecked box), keep staff.
	path := fmt.Sprintf("/admin/services/%d", svc.ID)
	a.ok(t, path, url.Values{"name": {"Kopfmassage"}, "duration": {"30"}, "bufferBefore": {"0"}, "bufferAfter": {"0"}, "staffIds": {fmt.Sprint(anna.ID)}})
	if svc = a.service(t, "Kopfmassage"); svc.Active || svc.Duration != 30*time.Minute {
		t.Errorf("edited %+v", svc)
	}
	a.invalid(t, path, "de", url.Values{"name": {strings.Repeat("x", 201)}, "duration": {"30"}, "bufferBefore": {"0"}, "bufferAfter": {"0"}},
		map[string]string{"name": "too_long"})
	// A service with bookings cannot be deleted.
	cut := a.service(t, "Haarschnitt")
	wed := schedule.Date{Year: 2026, Month: time.March, Day: 4}
	a.book(t, cut, a.slots(t, cut, nil, wed)[0].Start, nil, "Kunde")
	res = a.post(t, fmt.Sprintf("/admin/services/%d/delete", cut.ID), "de", nil)
	if res.status != http.StatusConflict || !strings.Contains(res.body, text(t, "de", "admin.service.in_use")) {
		t.Errorf("delete in use: %d", res.status)
	}
	a.ok(t, path+"/delete", nil)
	if res := a.get(t, path, "de"); res.status != http.StatusNotFound {
		t.Errorf("deleted service: %d", res.status)
	}
}

func TestAdminStaffHoursTimeOff(t *testing.T) {
	a := newTestApp(t).signIn(t)
	a.invalid(t, "/admin/staff", "de", url.Values{"name": {"Lea"}, "email": {"lea@"}}, map[string]string{"email": "invalid_email"})
	a.invalid(t, "/admin/staff", "en", url.Values{"name": {""}}, map[string]string{"name": "required"})
	a.ok(t, "/admin/staff", url.Values{"name": {"Lea Wagner"}, "email": {"lea@example.com"}, "active": {"on"}, "sortOrder": {"40"}})
	lea := a.staffNamed(t, "Lea Wagner")
	if !lea.Active || lea.Email != "lea@example.com" || lea.SortOrder != 40 {
		t.Errorf("created %+v", lea)
	}
	base := fmt.Sprintf("/admin/staff/%d", lea.ID)

	// Working hours with a lunch break; errors per day.
	a.invalid(t, base+"/hours", "de", url.Values{
		"h.monday.0.start": {"09:00"}, "h.monday.0.end": {"13:00"},
		"h.monday.1.start": {"12:00"}, "h.monday.1.end": {"17:00"},
		"h.tuesday.0.start": {"10:00"},
	}, map[string]string{"hours.monday": "overlap", "hours.tuesday": "incomplete_interval"})
	a.invalid(t, base+"/hours", "en", url.Values{"h.friday.0.start": {"18:00"}, "h.friday.0.end": {"08:00"}},
		map[string]string{"hours.friday": "invalid_interval"})
	a.ok(t, base+"/hours", url.Values{
		"h.monday.0.start": {"09:00"}, "h.monday.0.end": {"13:00"},
		"h.monday.1.start": {"14:00"}, "h.monday.1.end": {"18:00"},
		"h.saturday.0.start": {"10:00:00"}, "h.saturday.0.end": {"14:00"},
	})
	h, err := a.st.WorkingHours(context.Background(), lea.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h[time.Monday]) != 2 || h[time.Monday][1] != (schedule.Interval{Start: 14 * 60, End: 18 * 60}) || len(h[time.Saturday]) != 1 || len(h[time.Tuesday]) != 0 {
		t.Errorf("hours %v", h)
	}
	res := a.get(t, base+"/hours", "de")
	if !strings.Contains(res.body, `name="h.monday.1.start" value="14:00"`) || !strings.Contains(res.body, `name="h.monday.2.start" value=""`) {
		t.Error("hours form does not show the intervals with a free row")
	}

	// Time off.
	a.invalid(t, base+"/timeoff", "de", url.Values{"firstDay": {"2026-04-10"}, "lastDay": {"2026-04-01"}}, map[string]string{"lastDay": "before_first"})
	a.invalid(t, base+"/timeoff", "en", url.Values{"firstDay": {""}}, map[string]string{"firstDay": "required"})
	a.ok(t, base+"/timeoff", url.Values{"firstDay": {"2026-04-01"}, "lastDay": {"2026-04-10"}, "reason": {"Urlaub"}})
	a.ok(t, base+"/timeoff", url.Values{"firstDay": {"2026-05-01"}, "reason": {"Feiertag"}})
	tos, err := a.st.ListTimeOff(context.Background(), []int64{lea.ID}, schedule.Date{}, schedule.Date{})
	if err != nil || len(tos) != 2 || tos[1].Range.First != tos[1].Range.Last {
		t.Fatalf("time off %v %v", tos, err)
	}
	res = a.get(t, base+"/timeoff", "de")
	if !strings.Contains(res.body, "Mittwoch, 1. April 2026") || !strings.Contains(res.body, "Urlaub") {
		t.Error("time off not listed")
	}
	a.ok(t, fmt.Sprintf("%s/timeoff/%d/delete", base, tos[0].ID), nil)
	// Another staff member's entry cannot be deleted through this one.
	anna := a.staffNamed(t, "Anna Schmidt")
	if res := a.post(t, fmt.Sprintf("/admin/staff/%d/timeoff/%d/delete", anna.ID, tos[1].ID), "de", nil); res.status != http.StatusNotFound {
		t.Errorf("foreign time off: %d", res.status)
	}

	// Edit, then delete (no bookings).
	a.ok(t, base, url.Values{"name": {"Lea Wagner-Schulz"}, "email": {""}, "sortOrder": {"5"}})
	if lea = a.staffNamed(t, "Lea Wagner-Schulz"); lea.Active || lea.SortOrder != 5 {
		t.Errorf("edited %+v", lea)
	}
	a.ok(t, base+"/delete", nil)
	if res := a.get(t, base, "de"); res.status != http.StatusNotFound {
		t.Errorf("deleted: %d", res.status)
	}
}

func TestAdminBookings(t *testing.T) {
	a := newTestApp(t).signIn(t)
	cut := a.service(t, "Haarschnitt")
	anna := a.staffNamed(t, "Anna Schmidt")
	a.invalid(t, "/admin/bookings", "de", url.Values{"serviceId": {""}, "date": {""}, "time": {""}, "customer.name": {""}, "customer.email": {"x"}},
		map[string]string{"serviceId": "required", "start": "required", "customer.name": "required", "customer.email": "invalid_email"})
	// Outside working hours: the booking service says so.
	a.invalid(t, "/admin/bookings", "en", url.Values{"serviceId": {fmt.Sprint(cut.ID)}, "staffId": {fmt.Sprint(anna.ID)},
		"date": {"2026-03-04"}, "time": {"03:00"}, "customer.name": {"Nacht"}, "customer.email": {"n@example.com"}},
		map[string]string{"start": "not_offered"})

	form := url.Values{"serviceId": {fmt.Sprint(cut.ID)}, "staffId": {fmt.Sprint(anna.ID)}, "date": {"2026-03-04"}, "time": {"10:00"},
		"customer.name": {"Telefon Kundin"}, "customer.email": {"tel@example.com"}, "customer.phone": {"030 1234567"}, "locale": {"en"}}
	loc := a.ok(t, "/admin/bookings", form)
	if !strings.HasSuffix(loc, "?done=created") {
		t.Fatalf("redirect %q", loc)
	}
	res := a.get(t, loc, "de")
	if !strings.Contains(res.body, "Telefon Kundin") || !strings.Contains(res.body, "10:00–10:30 Uhr") || !strings.Contains(res.body, text(t, "de", "admin.done.created")) {
		t.Error("booking page incomplete")
	}
	path := strings.TrimSuffix(loc, "?done=created")
	var id int64
	fmt.Sscanf(path, "/admin/bookings/%d", &id)
	b, err := a.bs.GetBooking(context.Background(), id)
	if err != nil || b.Customer.Locale != "en" || !b.Start.Equal(time.Date(2026, 3, 4, 10, 0, 0, 0, berlin)) {
		t.Fatalf("booking %+v %v", b, err)
	}

	// The same time again: 409 with free times nearby.
	res = a.post(t, "/admin/bookings", "de", form)
	if res.status != http.StatusConflict || !strings.Contains(res.body, text(t, "de", "admin.conflict")) || !strings.Contains(res.body, text(t, "de", "admin.alternatives")) {
		t.Errorf("conflict: %d", res.status)
	}

	// Calendar and list show it.
	for _, p := range []string{"/admin/calendar?date=2026-03-04", fmt.Sprintf("/admin/calendar?view=week&date=2026-03-04&staff=%d", anna.ID), "/admin/bookings?from=2026-03-01&to=2026-03-08", "/admin/bookings?q=tel%40example"} {
		if res := a.get(t, p, "en"); !strings.Contains(res.body, "Telefon Kundin") || !strings.Contains(res.body, `href="`+path+`"`) {
			t.Errorf("%s does not show the booking", p)
		}
	}
	a.invalid(t, "/admin/bookings", "en", url.Values{}, map[string]string{"serviceId": "required"})
	if res := a.get(t, "/admin/bookings?from=2026-03-10&to=2026-03-01", "en"); res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, text(t, "en", "validation.before_first")) {
		t.Errorf("bad filter: %d", res.status)
	}

	// Move: bad input, then to 11:00.
	a.invalid(t, path+"/move", "de", url.Values{"date": {"4.3.2026"}, "time": {"11:00"}, "staffId": {fmt.Sprint(anna.ID)}}, map[string]string{"start": "invalid_date"})
	a.ok(t, path+"/move", url.Values{"date": {"2026-03-04"}, "time": {"11:00"}, "staffId": {fmt.Sprint(anna.ID)}})
	if b, _ = a.bs.GetBooking(context.Background(), id); !b.Start.Equal(time.Date(2026, 3, 4, 11, 0, 0, 0, berlin)) {
		t.Errorf("moved to %v", b.Start)
	}
	// Cancel.
	if l := a.ok(t, path+"/cancel", nil); !strings.HasSuffix(l, "?done=cancelled") {
		t.Errorf("cancel redirect %q", l)
	}
	if b, _ = a.bs.GetBooking(context.Background(), id); b.Status != booking.StatusCancelled {
		t.Errorf("status %s", b.Status)
	}
	res = a.get(t, path, "de")
	if strings.Contains(res.body, path+"/move") || !strings.Contains(res.body, text(t, "de", "status.cancelled")) {
		t.Error("cancelled booking still movable")
	}
	// Cancelled bookings leave the calendar grid but are listed below it.
	res = a.get(t, "/admin/calendar?date=2026-03-04", "de")
	if strings.Contains(res.body, `<a class="block" href="`+path+`"`) || !strings.Contains(res.body, text(t, "de", "admin.calendar.cancelled")) {
		t.Error("cancelled booking in the grid")
	}
}

// TestCalendarGrid checks the layout: rows of 15 minutes, a booking spanning its rows.
func TestCalendarGrid(t *testing.T) {
	a := newTestApp(t).signIn(t)
	cut := a.service(t, "Färben") // 90 minutes
	anna := a.staffNamed(t, "Anna Schmidt")
	a.book(t, cut, time.Date(2026, 3, 4, 9, 0, 0, 0, berlin), &anna.ID, "Farbe Kundin")
	res := a.get(t, fmt.Sprintf("/admin/calendar?date=2026-03-04&staff=%d", anna.ID), "de")
	if !strings.Contains(res.body, `<td class="booked" rowspan="6">`) {
		t.Errorf("90-minute booking does not span 6 rows:\n%s", res.body)
	}
	if !strings.Contains(res.body, "09:00–10:30 Uhr") || !strings.Contains(res.body, "Färben") {
		t.Error("block lacks time or service")
	}
	if !strings.Contains(res.body, `<td class="off">`) || !strings.Contains(res.body, `<td class="work">`) {
		t.Error("no working-hours shading")
	}
}
