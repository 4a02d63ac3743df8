package web

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/schedule"
)

// text is a message as it appears in a page (HTML-escaped).
func text(t *testing.T, lang, id string, kv ...any) string {
	t.Helper()
	tr, err := newTranslator("de", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := template.Must(template.New("").Parse("{{.}}")).Execute(&b, loc{tr: tr, Lang: lang, TZ: berlin}.T(id, kv...)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPagesRender renders every page in German and English against the real backend.
func TestPagesRender(t *testing.T) {
	a := newTestApp(t).signIn(t)
	cut := a.service(t, "Haarschnitt")
	anna := a.staffNamed(t, "Anna Schmidt")
	wed := schedule.Date{Year: 2026, Month: time.March, Day: 4}
	slots := a.slots(t, cut, nil, wed)
	conf := a.book(t, cut, slots[0].Start, nil, "Erika Mustermann")
	later := slots[len(slots)-1].Start
	token := conf.ManageToken
	sid := fmt.Sprint(cut.ID)
	start := formatStart(slots[1].Start)

	type page struct {
		path   string
		status int
		id     string // a message the page shows
		kv     []any
	}
	pages := []page{
		{"/", 200, "home.heading", nil},
		{"/book/" + sid, 200, "staff.heading", nil},
		{"/book/" + sid + "/times?staff=any", 200, "times.heading", nil},
		{"/book/" + sid + "/times?staff=" + fmt.Sprint(anna.ID) + "&week=2026-03-09&day=2026-03-10", 200, "times.heading", nil},
		{"/book/" + sid + "/details?staff=any&start=" + url.QueryEscape(start), 200, "details.heading", nil},
		{"/booked/" + token, 200, "booked.heading", nil},
		{"/manage/" + token, 200, "manage.heading", nil},
		{"/manage/" + token + "/reschedule", 200, "reschedule.heading", nil},
		{"/manage/" + token + "/reschedule/confirm?staff=any&start=" + url.QueryEscape(formatStart(later)), 200, "reschedule.confirm_heading", nil},
		{"/no/such/page", 404, "error.not_found.title", nil},
		{"/book/999999", 404, "error.not_found.title", nil},
		{"/manage/not-a-token", 404, "error.not_found.title", nil},
		{"/admin/calendar", 200, "admin.calendar.day_title", nil},
		{"/admin/calendar?date=2026-03-04", 200, "admin.calendar.day_title", nil},
		{"/admin/calendar?view=week&date=2026-03-04&staff=" + fmt.Sprint(anna.ID), 200, "admin.calendar.week_title", []any{"Staff", anna.Name}},
		{"/admin/bookings", 200, "admin.bookings.title", nil},
		{"/admin/bookings?q=Mustermann", 200, "admin.bookings.results_for", []any{"Query", "Mustermann"}},
		{"/admin/bookings/new", 200, "admin.booking_new.title", nil},
		{"/admin/bookings/" + fmt.Sprint(conf.Booking.ID), 200, "admin.booking.title", []any{"ID", conf.Booking.ID}},
		{"/admin/services", 200, "admin.services.title", nil},
		{"/admin/services/new", 200, "admin.service.new_title", nil},
		{"/admin/services/" + sid, 200, "admin.service.edit_title", []any{"Name", cut.Name}},
		{"/admin/staff", 200, "admin.staff.title", nil},
		{"/admin/staff/new", 200, "admin.staff_member.new_title", nil},
		{"/admin/staff/" + fmt.Sprint(anna.ID), 200, "admin.staff_member.edit_title", []any{"Name", anna.Name}},
		{"/admin/staff/" + fmt.Sprint(anna.ID) + "/hours", 200, "admin.hours.title", []any{"Name", anna.Name}},
		{"/admin/staff/" + fmt.Sprint(anna.ID) + "/timeoff", 200, "admin.timeoff.title", []any{"Name", anna.Name}},
		{"/admin/settings", 200, "admin.settings.title", nil},
		{"/admin/bookings/999999", 404, "error.not_found.title", nil},
		{"/admin/users", 200, "admin.users.title", nil},
		{"/admin/users/" + fmt.Sprint(a.owner.ID), 200, "admin.user.title", []any{"Email", a.owner.Email}},
		{"/admin/users/999999", 404, "error.not_found.title", nil},
		{"/admin/audit", 200, "admin.audit.title", nil},
		{"/admin/audit?actor=system&from=2026-01-01&to=2030-01-01", 200, "admin.audit.title", nil},
		{"/account", 200, "account.title", nil},
	}
	for _, lang := range Languages {
		for _, p := range pages {
			t.Run(lang+" "+p.path, func(t *testing.T) {
				before := len(a.logs.String())
				res := a.get(t, p.path, lang)
				if res.status != p.status {
					t.Fatalf("status %d, want %d\n%s", res.status, p.status, res.body)
				}
				if got := htmlLang(res.body); got != lang {
					t.Errorf("<html lang=%q>, want %q", got, lang)
				}
				if want := text(t, lang, p.id, p.kv...); !strings.Contains(res.body, want) {
					t.Errorf("page lacks %q (%s)", want, p.id)
				}
				if ct := res.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if csp := res.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
					t.Errorf("CSP %q", csp)
				}
				if inlineScript(res.body) || strings.Contains(res.body, " style=") {
					t.Error("page has inline script or style")
				}
				if strings.HasPrefix(p.path, "/admin") && res.header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q on an authenticated page", res.header.Get("Cache-Control"))
				}
				if logs := a.logs.String()[before:]; strings.Contains(logs, "missing translation") || strings.Contains(logs, "untranslated") {
					t.Errorf("translation problems:\n%s", logs)
				}
			})
		}
	}
}

// TestDatesLocalized checks dates and times in the business's time zone, per language.
func TestDatesLocalized(t *testing.T) {
	a := newTestApp(t)
	cut := a.service(t, "Haarschnitt")
	// 10:00 Berlin on Wednesday, 4 March 2026 (09:00 UTC).
	start := time.Date(2026, 3, 4, 10, 0, 0, 0, berlin)
	conf := a.book(t, cut, start, nil, "Zeit Test")
	for lang, want := range map[string][]string{
		"de": {"Mittwoch, 4. März 2026", "10:00–10:30 Uhr", "Europe/Berlin"},
		"en": {"Wednesday, March 4, 2026", "10:00 AM–10:30 AM", "Europe/Berlin"},
	} {
		res := a.get(t, "/booked/"+conf.ManageToken, lang)
		if res.status != http.StatusOK {
			t.Fatalf("%s: status %d", lang, res.status)
		}
		for _, w := range want {
			if !strings.Contains(res.body, w) {
				t.Errorf("%s: confirmation lacks %q", lang, w)
			}
		}
		if !strings.Contains(res.body, "https://book.example.test/manage/"+conf.ManageToken) {
			t.Errorf("%s: no manage link", lang)
		}
	}
	// The week view names weekdays per language.
	res := a.get(t, fmt.Sprintf("/book/%d/times?staff=any&week=2026-03-02", cut.ID), "de")
	for _, w := range []string{"Mo.", "Di.", "So.", "2. März"} {
		if !strings.Contains(res.body, w) {
			t.Errorf("de week lacks %q", w)
		}
	}
	res = a.get(t, fmt.Sprintf("/book/%d/times?staff=any&week=2026-03-02", cut.ID), "en")
	for _, w := range []string{"Mon", "Tue", "Sun", "Mar 2"} {
		if !strings.Contains(res.body, w) {
			t.Errorf("en week lacks %q", w)
		}
	}
}

func TestLanguageNegotiation(t *testing.T) {
	a := newTestApp(t)
	cases := []struct {
		name       string
		path       string
		accept     string
		cookie     string
		want       string
		wantCookie string
	}{
		{"default without header", "/", "", "", "de", ""},
		{"English browser", "/", "en-US,en;q=0.9", "", "en", ""},
		{"Austrian German", "/", "de-AT", "", "de", ""},
		{"English preferred over German", "/", "fr-FR, en;q=0.8, de;q=0.5", "", "en", ""},
		{"unsupported only", "/", "fr-FR", "", "de", ""},
		{"garbage header", "/", ";;;", "", "de", ""},
		{"cookie beats header", "/", "de-DE", "en", "en", ""},
		{"bad cookie ignored", "/", "en", "xx", "en", ""},
		{"switch sets cookie", "/?lang=en", "de-DE", "", "en", "en"},
		{"switch beats cookie", "/?lang=de", "en", "en", "de", "de"},
		{"unknown switch ignored", "/?lang=fr", "en", "", "en", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, c.path, nil)
			if c.accept != "" {
				req.Header.Set("Accept-Language", c.accept)
			}
			if c.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "lang", Value: c.cookie})
			}
			res := a.do(t, req)
			if got := htmlLang(res.body); got != c.want {
				t.Errorf("lang %q, want %q", got, c.want)
			}
			var got string
			for _, ck := range (&http.Response{Header: res.header}).Cookies() {
				if ck.Name == "lang" {
					got = ck.Value
					if ck.Path != "/" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
						t.Errorf("cookie attributes %+v", ck)
					}
				}
			}
			if got != c.wantCookie {
				t.Errorf("cookie %q, want %q", got, c.wantCookie)
			}
		})
	}
	// The switch links to the same page in the other language.
	res := a.get(t, "/?lang=de", "")
	if !strings.Contains(res.body, `href="/?lang=en"`) || !strings.Contains(res.body, `lang="en">English</a>`) {
		t.Error("no link to the English page")
	}
}

func TestAdminRequiresLogin(t *testing.T) {
	a := newTestApp(t)
	for _, p := range []string{"/admin", "/admin/", "/admin/calendar", "/admin/settings", "/admin/bookings/1", "/admin/users", "/admin/audit", "/account"} {
		res := a.get(t, p, "de")
		if res.status != http.StatusSeeOther || !strings.HasPrefix(res.header.Get("Location"), "/account/login?next=") {
			t.Errorf("GET %s without login: %d %q, want a redirect to the login page", p, res.status, res.header.Get("Location"))
		}
	}
	for _, p := range []string{"/admin/settings", "/admin/bookings/1/cancel", "/admin/services", "/admin/users"} {
		if res := a.post(t, p, "de", url.Values{"name": {"x"}}); res.status != http.StatusSeeOther || res.header.Get("Location") != "/account/login" {
			t.Errorf("POST %s without login: %d %q", p, res.status, res.header.Get("Location"))
		}
	}
	st, _ := a.st.Settings(context.Background())
	if st.Name == "x" {
		t.Error("settings changed without login")
	}
	a.signIn(t)
	if res := a.get(t, "/admin/calendar", "de"); res.status != http.StatusOK {
		t.Errorf("signed in: %d", res.status)
	}
	// State changes are POST only.
	if res := a.get(t, "/admin/bookings/1/cancel", "de"); res.status == http.StatusOK || res.status == http.StatusSeeOther {
		t.Errorf("GET cancel answered %d", res.status)
	}
	// Without an account service there is no admin at all.
	h := New(NewBackend(a.st, a.bs), Options{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/admin/calendar", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("without accounts: %d, want 404", rec.Code)
	}
}

func TestCrossOriginPostRejected(t *testing.T) {
	a := newTestApp(t).signIn(t)
	for name, hdr := range map[string][2]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site", "cross-site"},
		"foreign Origin":            {"Origin", "https://evil.example"},
	} {
		for _, path := range []string{"/admin/settings", "/account/logout", "/account/login", "/book/1"} {
			req, _ := http.NewRequest(http.MethodPost, path, strings.NewReader("name=Evil"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set(hdr[0], hdr[1])
			if res := a.do(t, req); res.status != http.StatusForbidden {
				t.Errorf("%s: POST %s: %d, want 403", name, path, res.status)
			}
		}
	}
	st, _ := a.st.Settings(context.Background())
	if st.Name == "Evil" {
		t.Error("settings changed by a cross-origin post")
	}
	// The session survived the refused logout.
	if res := a.get(t, "/admin/settings", "de"); res.status != http.StatusOK {
		t.Errorf("after refused cross-origin logout: %d", res.status)
	}
}

// inlineScript reports a <script> element without src (the CSP would block it anyway).
func inlineScript(body string) bool {
	for rest := body; ; {
		i := strings.Index(rest, "<script")
		if i < 0 {
			return false
		}
		rest = rest[i:]
		end := strings.Index(rest, ">")
		if end < 0 || !strings.Contains(rest[:end], ` src="/static/`) {
			return true
		}
		rest = rest[end:]
	}
}
