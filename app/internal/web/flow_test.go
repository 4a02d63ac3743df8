package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

// find returns the first submatch of re in body, failing the test if there is none.
func find(t *testing.T, body, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no match for %s in\n%s", re, body)
	}
	return html.UnescapeString(m[1])
}

func hidden(t *testing.T, body, name string) string {
	t.Helper()
	return find(t, body, `<input type="hidden" name="`+regexp.QuoteMeta(name)+`" value="([^"]*)"`)
}

// TestBookingFlow books through the pages as a browser without JavaScript would: links for
// every step, one POST to confirm.
func TestBookingFlow(t *testing.T) {
	a := newTestApp(t)
	for i, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			res := a.get(t, "/", lang)
			svcURL := find(t, res.body, `<a class="card-link" href="(/book/\d+)">Haarschnitt</a>`)
			res = a.get(t, svcURL, lang)
			timesURL := find(t, res.body, `<a class="choice" href="([^"]*staff=any)"`)
			res = a.get(t, timesURL, lang)
			if res.status != http.StatusOK {
				t.Fatalf("times: %d", res.status)
			}
			// Pick the second day with free slots, then its first slot.
			days := regexp.MustCompile(`<a class="day[^"]*" href="([^"]+)"`).FindAllStringSubmatch(res.body, -1)
			if len(days) < 2 {
				t.Fatalf("only %d days with slots", len(days))
			}
			res = a.get(t, html.UnescapeString(days[1][1]), lang)
			detailsURL := find(t, res.body, `<a class="slot" href="([^"]+)"`)
			res = a.get(t, detailsURL, lang)
			if res.status != http.StatusOK {
				t.Fatalf("details: %d", res.status)
			}
			action := find(t, res.body, `<form method="post" action="([^"]+)"`)
			form := url.Values{
				"start":          {hidden(t, res.body, "start")},
				"staff":          {hidden(t, res.body, "staff")},
				"customer.name":  {fmt.Sprintf("Flow Kunde %d", i)},
				"customer.email": {"flow@example.com"},
				"customer.phone": {"+49 30 123456"},
			}
			res = a.post(t, action, lang, form)
			if res.status != http.StatusSeeOther {
				t.Fatalf("book: %d\n%s", res.status, res.body)
			}
			loc := res.header.Get("Location")
			if !strings.HasPrefix(loc, "/booked/") {
				t.Fatalf("redirect to %q", loc)
			}
			res = a.get(t, loc, lang)
			if !strings.Contains(res.body, text(t, lang, "booked.heading")) {
				t.Fatal("no confirmation")
			}
			manage := find(t, res.body, `<a class="manage-url" href="([^"]+)"`)
			token := strings.TrimPrefix(manage, "https://book.example.test/manage/")
			m, err := a.bs.Manage(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			if m.Booking.Customer.Locale != lang || m.Booking.Customer.Phone != "+49 30 123456" {
				t.Errorf("customer %+v", m.Booking.Customer)
			}
			if !strings.Contains(res.body, a.dateLong(t, lang, m.Booking.Start)) {
				t.Error("confirmation lacks the date")
			}

			// Manage: cancel.
			res = a.get(t, "/manage/"+token, lang)
			if !strings.Contains(res.body, `action="/manage/`+token+`/cancel"`) {
				t.Fatal("no cancel form")
			}
			res = a.post(t, "/manage/"+token+"/cancel", lang, nil)
			if res.status != http.StatusSeeOther {
				t.Fatalf("cancel: %d", res.status)
			}
			res = a.get(t, res.header.Get("Location"), lang)
			for _, id := range []string{"manage.notice_cancelled", "manage.is_cancelled"} {
				if !strings.Contains(res.body, text(t, lang, id)) {
					t.Errorf("no %s", id)
				}
			}
			if strings.Contains(res.body, "/cancel\"") {
				t.Error("cancel form still offered")
			}
		})
	}
}

func (a *testApp) dateLong(t *testing.T, lang string, at time.Time) string {
	return text(t, lang, "format.date_long", loc{}.dateDataFor(t, lang, schedule.DateOf(at.In(berlin)))...)
}

// dateDataFor is dateData with a translator of the language.
func (loc) dateDataFor(t *testing.T, lang string, d schedule.Date) []any {
	tr, err := newTranslator("de", nil)
	if err != nil {
		t.Fatal(err)
	}
	return loc{tr: tr, Lang: lang, TZ: berlin}.dateData(d)
}

func TestBookValidationErrors(t *testing.T) {
	a := newTestApp(t)
	cut := a.service(t, "Haarschnitt")
	wed := schedule.Date{Year: 2026, Month: time.March, Day: 4}
	start := a.slots(t, cut, nil, wed)[0].Start
	for _, lang := range Languages {
		t.Run(lang, func(t *testing.T) {
			res := a.post(t, fmt.Sprintf("/book/%d", cut.ID), lang, url.Values{
				"start": {formatStart(start)}, "staff": {"any"},
				"customer.name": {"  "}, "customer.email": {"not-an-email"}, "customer.phone": {"call me"},
			})
			if res.status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d", res.status)
			}
			for _, want := range []string{
				`class="error-summary"`,
				`<a href="#f-customer-name">`, `<a href="#f-customer-email">`, `<a href="#f-customer-phone">`,
				`id="f-customer-name-error"`, `aria-describedby="f-customer-email-hint f-customer-email-error"`,
				`aria-invalid="true"`,
				text(t, lang, "validation.required"), text(t, lang, "validation.invalid_email"), text(t, lang, "validation.invalid_phone"),
				`value="not-an-email"`, // the input is kept
			} {
				if !strings.Contains(res.body, want) {
					t.Errorf("422 page lacks %q", want)
				}
			}
			if htmlLang(res.body) != lang {
				t.Errorf("lang %q", htmlLang(res.body))
			}
		})
	}
	// Errors only the booking service finds (here: the time is already past) show at the choice.
	a.setNow(start.Add(-time.Hour))
	res := a.post(t, fmt.Sprintf("/book/%d", cut.ID), "en", url.Values{
		"start": {formatStart(start)}, "staff": {"any"},
		"customer.name": {"Late Customer"}, "customer.email": {"late@example.com"},
	})
	if res.status != http.StatusUnprocessableEntity {
		t.Fatalf("too soon: %d", res.status)
	}
	for _, want := range []string{`<a href="#f-start">`, `id="f-start"`, text(t, "en", "validation.too_soon")} {
		if !strings.Contains(res.body, want) {
			t.Errorf("too-soon page lacks %q", want)
		}
	}
}

func TestBookConflict(t *testing.T) {
	a := newTestApp(t)
	cut := a.service(t, "Haarschnitt")
	anna := a.staffNamed(t, "Anna Schmidt")
	wed := schedule.Date{Year: 2026, Month: time.March, Day: 4}
	start := a.slots(t, cut, &anna.ID, wed)[2].Start
	a.book(t, cut, start, &anna.ID, "Schneller Kunde")
	for _, lang := range Languages {
		res := a.post(t, fmt.Sprintf("/book/%d", cut.ID), lang, url.Values{
			"start": {formatStart(start)}, "staff": {fmt.Sprint(anna.ID)},
			"customer.name": {"Langsamer Kunde"}, "customer.email": {"slow@example.com"},
		})
		if res.status != http.StatusConflict {
			t.Fatalf("%s: status %d", lang, res.status)
		}
		for _, want := range []string{
			text(t, lang, "conflict.title"), text(t, lang, "conflict.alternatives"),
			`<input type="hidden" name="customer.name" value="Langsamer Kunde">`,
			`class="slot-list"`, // the slot choice of the day again
		} {
			if !strings.Contains(res.body, want) {
				t.Errorf("%s: conflict page lacks %q", lang, want)
			}
		}
		// An alternative books with one click.
		if lang == "en" {
			altStart := find(t, res.body, `<ul class="alternatives">\s*<li>\s*<form[^>]*>\s*<input type="hidden" name="start" value="([^"]+)"`)
			res = a.post(t, fmt.Sprintf("/book/%d", cut.ID), lang, url.Values{
				"start": {altStart}, "staff": {fmt.Sprint(anna.ID)},
				"customer.name": {"Langsamer Kunde"}, "customer.email": {"slow@example.com"},
			})
			if res.status != http.StatusSeeOther {
				t.Errorf("alternative: %d", res.status)
			}
		}
	}
}

func TestManageAfterDeadline(t *testing.T) {
	a := newTestApp(t)
	cut := a.service(t, "Haarschnitt")
	// Today (Monday) from 09:00: within the 24-hour change deadline.
	start := a.slots(t, cut, nil, day(testNow))[0].Start
	conf := a.book(t, cut, start, nil, "Kurzfristig")
	for _, lang := range Languages {
		res := a.get(t, "/manage/"+conf.ManageToken, lang)
		if res.status != http.StatusOK {
			t.Fatalf("%d", res.status)
		}
		if strings.Contains(res.body, "/cancel\"") || strings.Contains(res.body, "/reschedule\"") {
			t.Errorf("%s: change offered after the deadline", lang)
		}
		if !strings.Contains(res.body, "Salon Morgenrot") || !strings.Contains(res.body, text(t, lang, "manage.too_late", "When", loc{}.dateTimeFor(t, lang, conf.Booking.Start.Add(-24*time.Hour)))) {
			t.Errorf("%s: no explanation whom to contact", lang)
		}
		res = a.post(t, "/manage/"+conf.ManageToken+"/cancel", lang, nil)
		if res.status != http.StatusConflict || !strings.Contains(res.body, text(t, lang, "manage.deadline_passed")) {
			t.Errorf("%s: late cancel: %d", lang, res.status)
		}
		res = a.get(t, "/manage/"+conf.ManageToken+"/reschedule", lang)
		if res.status != http.StatusConflict || !strings.Contains(res.body, text(t, lang, "manage.cannot_change")) {
			t.Errorf("%s: late reschedule: %d", lang, res.status)
		}
	}
	m, _ := a.bs.Manage(context.Background(), conf.ManageToken)
	if m.Booking.Status != booking.StatusConfirmed {
		t.Error("booking changed")
	}
}

func (loc) dateTimeFor(t *testing.T, lang string, at time.Time) string {
	tr, err := newTranslator("de", nil)
	if err != nil {
		t.Fatal(err)
	}
	return loc{tr: tr, Lang: lang, TZ: berlin}.DateTime(at)
}

func TestReschedule(t *testing.T) {
	a := newTestApp(t)
	cut := a.service(t, "Haarschnitt")
	anna := a.staffNamed(t, "Anna Schmidt")
	wed := schedule.Date{Year: 2026, Month: time.March, Day: 4}
	conf := a.book(t, cut, a.slots(t, cut, &anna.ID, wed)[0].Start, &anna.ID, "Umbucher")
	base := "/manage/" + conf.ManageToken

	// The week view keeps the same person and offers Thursday.
	res := a.get(t, base+"/reschedule?week=2026-03-02&day=2026-03-05", "de")
	if res.status != http.StatusOK {
		t.Fatalf("reschedule times: %d", res.status)
	}
	if !strings.Contains(res.body, `aria-current="true">Anna Schmidt</a>`) {
		t.Error("current staff member not preselected")
	}
	confirmURL := find(t, res.body, `<a class="slot" href="([^"]+)"`)
	res = a.get(t, confirmURL, "de")
	if res.status != http.StatusOK || !strings.Contains(res.body, text(t, "de", "reschedule.confirm_heading")) {
		t.Fatalf("confirm page: %d", res.status)
	}
	newStart := hidden(t, res.body, "start")
	// Someone else takes that time first: 409 with the day's slots and alternatives.
	ns, _ := time.Parse(time.RFC3339, newStart)
	other := a.book(t, cut, ns, &anna.ID, "Dazwischen")
	res = a.post(t, base+"/reschedule", "de", url.Values{"start": {newStart}, "staff": {fmt.Sprint(anna.ID)}})
	if res.status != http.StatusConflict || !strings.Contains(res.body, text(t, "de", "conflict.title")) {
		t.Fatalf("conflict: %d", res.status)
	}
	if err := a.bs.AdminCancel(context.Background(), other.Booking.ID); err != nil {
		t.Fatal(err)
	}
	res = a.post(t, base+"/reschedule", "de", url.Values{"start": {newStart}, "staff": {fmt.Sprint(anna.ID)}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("reschedule: %d\n%s", res.status, res.body)
	}
	res = a.get(t, res.header.Get("Location"), "de")
	if !strings.Contains(res.body, text(t, "de", "manage.notice_rescheduled")) {
		t.Error("no notice")
	}
	m, err := a.bs.Manage(context.Background(), conf.ManageToken)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Booking.Start.Equal(ns) {
		t.Errorf("moved to %v, want %v", m.Booking.Start, ns)
	}
}

// TestTimesJumpsToFreeWeek: late on Saturday nothing is free this week any more, so the week
// view opens on the next week with free slots.
func TestTimesJumpsToFreeWeek(t *testing.T) {
	a := newTestApp(t)
	a.setNow(time.Date(2026, 3, 7, 20, 0, 0, 0, berlin))
	cut := a.service(t, "Haarschnitt")
	res := a.get(t, fmt.Sprintf("/book/%d/times?staff=any", cut.ID), "en")
	if res.status != http.StatusOK {
		t.Fatalf("%d", res.status)
	}
	for _, want := range []string{"Mar 9 – Mar 15", `aria-current="date"`, "Free times on Monday, March 9, 2026", `rel="prev"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("lacks %q", want)
		}
	}
	// An explicit week stays, even if empty.
	res = a.get(t, fmt.Sprintf("/book/%d/times?staff=any&week=2026-03-02", cut.ID), "en")
	if !strings.Contains(res.body, text(t, "en", "times.no_slots_week")) {
		t.Error("empty week not explained")
	}
}
