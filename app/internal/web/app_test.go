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
	logs *logBuffer
	// clock is the app's current time; tests may move it.
	mu    sync.Mutex
	clock time.Time
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

// newTestApp starts the real app on a fresh demo database.
func newTestApp(t *testing.T, devAdmin bool) *testApp {
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
	a.bs = booking.NewService(st, booking.WithNow(a.now), booking.WithBaseURL("https://book.example.test"))
	a.h = New(NewBackend(st, a.bs), Options{
		BaseURL:  "https://book.example.test",
		DevAdmin: devAdmin,
		Logger:   slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:      a.now,
	})
	return a
}

type response struct {
	status int
	header http.Header
	body   string
}

func (a *testApp) do(t *testing.T, req *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return response{status: rec.Code, header: rec.Header(), body: string(body)}
}

func (a *testApp) get(t *testing.T, path, lang string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	return a.do(t, req)
}

func (a *testApp) post(t *testing.T, path, lang string, form url.Values) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if lang != "" {
		req.Header.Set("Accept-Language", lang)
	}
	return a.do(t, req)
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
