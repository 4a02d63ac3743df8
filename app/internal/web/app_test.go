package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/auth/password"
	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/demo"
	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// The tests run against the real backend: a throwaway PostgreSQL (pgtest), the store, the
// booking service and the demo business ("Salon Morgenrot", Europe/Berlin).
func TestMain(m *testing.M) { pgtest.Main(m) }

var berlin = mustLoc("Europe/Berlin")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// testNow is a Monday morning in Berlin; the demo's holiday is two weeks later.
var testNow = time.Date(2026, 3, 2, 7, 0, 0, 0, berlin)

// logBuffer collects the app's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type testApp struct {
	h    http.Handler
	st   *store.Store
	bs   *booking.Service
	acc  *account.Service
	logs *logBuffer
	// clock is the app's current time; tests may move it.
	mu    sync.Mutex
	clock time.Time
	// c is the default client (a browser with its own session cookie) of get, post and do.
	c *client
	// owner is the owner account every test app has (signed in with signIn).
	owner account.User
}

func (a *testApp) now() time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.clock
}

func (a *testApp) setNow(t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clock = t
}

// appOptions vary the test app.
type appOptions struct {
	idle        time.Duration // the web session's idle timeout (scs and the page's warning)
	accountIdle time.Duration // the account service's idle timeout (default: idle)
	mfa         account.MFAMode
	realClock   bool // the account service uses the wall clock (for timeouts)
	// manageKey seals manage tokens for later mails (booking.WithManageTokenKey); smtp tells
	// /admin/mail a mail server is configured.
	manageKey []byte
	smtp      bool
}

// testHasher hashes passwords with the production parameters, four at a time.
var testHasher = func() *password.Hasher {
	h, err := password.NewHasher(password.DefaultParams, 4)
	if err != nil {
		panic(err)
	}
	return h
}()

// newTestApp starts the real app on a fresh demo database with the real account service and an
// owner account (not signed in: see signIn).
func newTestApp(t *testing.T) *testApp { return newTestAppWith(t, appOptions{}) }

func newTestAppWith(t *testing.T, o appOptions) *testApp {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := demo.SeedAt(ctx, st, testNow); err != nil {
		t.Fatal(err)
	}
	a := &testApp{st: st, logs: &logBuffer{}, clock: testNow}
	a.c = &client{a: a}
	bopts := []booking.Option{booking.WithNow(a.now), booking.WithBaseURL("https://book.example.test")}
	if o.manageKey != nil {
		bopts = append(bopts, booking.WithManageTokenKey(o.manageKey))
	}
	a.bs = booking.NewService(st, bopts...)
	if o.idle == 0 {
		o.idle = 15 * time.Minute
	}
	if o.accountIdle == 0 {
		o.accountIdle = o.idle
	}
	accNow := a.now
	if o.realClock {
		accNow = time.Now
	}
	a.acc, err = account.NewService(st.Pool(), account.Options{
		BaseURL: "https://book.example.test", SessionKey: []byte(strings.Repeat("k", 32)), MFA: o.mfa,
		PasswordMinLength: 12, IdleTimeout: o.accountIdle, Now: accNow, Hasher: testHasher,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.h = New(NewBackend(st, a.bs), Options{
		BaseURL:      "https://book.example.test",
		Logger:       slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:          a.now,
		Accounts:     a.acc,
		SessionStore: pgxstore.NewWithCleanupInterval(st.Pool(), 0),
		AuditDB:      st.Pool(),
		IdleTimeout:  o.idle,
		MFA:          o.mfa,

		MailConfigured: o.smtp,
	})
	link, err := a.acc.CreateOwner(ctx, "owner@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if a.owner, err = a.acc.UseLink(ctx, linkToken(link), testPassword); err != nil {
		t.Fatal(err)
	}
	return a
}

// testPassword is every test account's password.
const testPassword = "Tulpen-Regenschirm-Fahrrad-2026"

// linkToken is the token of a one-time link.
func linkToken(link string) string { return link[strings.LastIndex(link, "/")+1:] }

type response struct {
	status int
	header http.Header
	body   string
}

// client is one browser: it keeps its session cookie.
type client struct {
	a      *testApp
	cookie string
}

func (c *client) do(t *testing.T, req *http.Request) response {
	t.Helper()
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: SessionCookieName, Value: c.cookie})
	}
	rec := httptest.NewRecorder()
	c.a.h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, ck := range res.Cookies() {
		if ck.Name == SessionCookieName {
			if ck.MaxAge < 0 || ck.Value == "" {
				c.cookie = ""
			} else {
				c.cookie = ck.Value
			}
		}
	}
	body, _ := io.ReadAll(res.Body)
	return response{status: rec.Code, header: rec.Header(), body: string(body)}
}

func (c *client) get(t *testing.T, path, lang string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	return c.do(t, req)
}

func (c *client) post(t *testing.T, path, lang string, form url.Values) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	return c.do(t, req)
}

func (a *testApp) do(t *testing.T, req *http.Request) response {
	t.Helper()
	return a.c.do(t, req)
}

func (a *testApp) get(t *testing.T, path, lang string) response {
	t.Helper()
	return a.c.get(t, path, lang)
}

func (a *testApp) post(t *testing.T, path, lang string, form url.Values) response {
	t.Helper()
	return a.c.post(t, path, lang, form)
}

// signIn signs the default client in as the owner.
func (a *testApp) signIn(t *testing.T) *testApp {
	t.Helper()
	a.c.login(t, "owner@example.com", testPassword)
	return a
}

// login signs a client in through the login page (an account without MFA).
func (c *client) login(t *testing.T, email, pw string) {
	t.Helper()
	res := c.post(t, "/account/login", "en", url.Values{"email": {email}, "password": {pw}})
	if res.status != http.StatusSeeOther || c.cookie == "" {
		t.Fatalf("login %s: %d %q\n%.500s", email, res.status, res.header.Get("Location"), res.body)
	}
}

// user creates an account with a password (invited by the owner).
func (a *testApp) user(t *testing.T, email string, role access.Role, staffID *int64) account.User {
	t.Helper()
	ctx := context.Background()
	by := access.Principal{UserID: a.owner.ID, Email: a.owner.Email, Role: access.Owner}
	link, err := a.acc.Invite(ctx, by, email, "Test "+email[:strings.Index(email, "@")], role, staffID)
	if err != nil {
		t.Fatalf("invite %s: %v", email, err)
	}
	u, err := a.acc.UseLink(ctx, linkToken(link), testPassword)
	if err != nil {
		t.Fatalf("set password of %s: %v", email, err)
	}
	return u
}

// as returns a new client signed in as a new account with role.
func (a *testApp) as(t *testing.T, email string, role access.Role, staffID *int64) *client {
	t.Helper()
	a.user(t, email, role, staffID)
	c := &client{a: a}
	c.login(t, email, testPassword)
	return c
}

// service returns a demo service by name.
func (a *testApp) service(t *testing.T, name string) catalog.Service {
	t.Helper()
	svcs, err := a.st.ListServices(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range svcs {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no service %q", name)
	return catalog.Service{}
}

func (a *testApp) staffNamed(t *testing.T, name string) schedule.Staff {
	t.Helper()
	all, err := a.st.ListStaff(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no staff %q", name)
	return schedule.Staff{}
}

// slots returns the free slots of a service on a day.
func (a *testApp) slots(t *testing.T, svc catalog.Service, staffID *int64, d schedule.Date) []availability.Slot {
	t.Helper()
	sl, err := a.bs.Availability(context.Background(), svc.ID, staffID, d, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(sl) == 0 {
		t.Fatalf("no slots for %s on %s", svc.Name, d)
	}
	return sl
}

// book makes a booking through the booking service (setup for the manage and admin pages).
func (a *testApp) book(t *testing.T, svc catalog.Service, start time.Time, staffID *int64, name string) *booking.Confirmation {
	t.Helper()
	c, err := a.bs.Book(context.Background(), booking.Request{ServiceID: svc.ID, StaffID: staffID, Start: start,
		Customer: booking.Customer{Name: name, Email: "kunde@example.com", Locale: "de"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var htmlLangRe = regexp.MustCompile(`<html lang="([a-z]+)">`)

func htmlLang(body string) string {
	m := htmlLangRe.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func day(d time.Time) schedule.Date { return schedule.DateOf(d.In(berlin)) }

func ptr[T any](v T) *T { return &v }
