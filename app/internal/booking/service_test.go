package booking

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/validation"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

// Monday 6 May 2030, 08:00 in Berlin.
var monday = time.Date(2030, 5, 6, 0, 0, 0, 0, berlin)

// on is a local time d days after Monday.
func on(d, h, m int) time.Time { return time.Date(2030, 5, 6+d, h, m, 0, 0, berlin) }

type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) now() time.Time          { return *c.t.Load() }
func (c *clock) set(t time.Time)         { c.t.Store(&t) }
func newClock(t time.Time) *clock        { c := &clock{}; c.set(t); return c }
func ptr[T any](v T) *T                  { return &v }
func (c *clock) advance(d time.Duration) { c.set(c.now().Add(d)) }

type countingMetrics struct{ created, conflicted atomic.Int64 }

func (m *countingMetrics) BookingCreated()    { m.created.Add(1) }
func (m *countingMetrics) BookingConflicted() { m.conflicted.Add(1) }

type fixture struct {
	url     string // of the database, for other replicas
	st      *store.Store
	svc     *Service
	clock   *clock
	metrics *countingMetrics
	// Staff: A and B offer cut and color (A first); D is active but offers nothing; C is inactive.
	a, b, c, d int64
	// Services: cut 30 min; color 60 min + 15 min buffer after (A only); inactive one.
	cut, color, inactive int64
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	url := pgtest.NewDatabase(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	f := &fixture{url: url, st: st, clock: newClock(on(0, 8, 0)), metrics: &countingMetrics{}}
	f.svc = NewService(st, WithNow(f.clock.now), WithBaseURL("https://book.example.com/"), WithMetrics(f.metrics))
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(st.UpdateSettings(ctx, business.Settings{
		Name: "Test salon", TimeZone: "Europe/Berlin", MinNotice: 2 * time.Hour,
		MaxAdvance: 60 * 24 * time.Hour, SlotInterval: 15 * time.Minute, ChangeDeadline: 24 * time.Hour,
	}))
	staff := func(name string, order int, active bool) int64 {
		id, err := st.CreateStaff(ctx, schedule.Staff{Name: name, Active: active, SortOrder: order})
		check(err)
		week := schedule.WeeklyHours{}
		for d := time.Monday; d <= time.Friday; d++ {
			week[d] = []schedule.Interval{{Start: 9 * 60, End: 12 * 60}, {Start: 13 * 60, End: 17 * 60}}
		}
		check(st.SetWorkingHours(ctx, id, week))
		return id
	}
	// B is created first, so only sort_order puts A first.
	f.b = staff("B", 2, true)
	f.a = staff("A", 1, true)
	f.c = staff("C", 0, false)
	f.d = staff("D", 3, true)
	service := func(name string, dur, after time.Duration, active bool, staff ...int64) int64 {
		id, err := st.CreateService(ctx, catalog.Service{Name: name, Duration: dur, BufferAfter: after, Active: active, StaffIDs: staff})
		check(err)
		return id
	}
	f.cut = service("Cut", 30*time.Minute, 0, true, f.a, f.b, f.c)
	f.color = service("Color", time.Hour, 15*time.Minute, true, f.a)
	f.inactive = service("Old", time.Hour, 0, false, f.a)
	return f
}

var kim = Customer{Name: "Kim Example", Email: "kim@example.com", Phone: "+49 (30) 123-456", Locale: "de"}

func (f *fixture) book(t *testing.T, serviceID int64, staffID *int64, start time.Time) *Confirmation {
	t.Helper()
	c, err := f.svc.Book(t.Context(), Request{ServiceID: serviceID, StaffID: staffID, Start: start, Customer: kim})
	if err != nil {
		t.Fatalf("Book %v: %v", start, err)
	}
	return c
}

func wantField(t *testing.T, err error, field, code string) {
	t.Helper()
	var verrs validation.Errors
	if !errors.As(err, &verrs) {
		t.Fatalf("want validation error %s/%s, got %v", field, code, err)
	}
	fe := verrs.For(field)
	if fe == nil || fe.Code != code {
		t.Fatalf("want %s/%s, got %v", field, code, verrs)
	}
}

func wantConflict(t *testing.T, err error) *ConflictError {
	t.Helper()
	var c *ConflictError
	if !errors.As(err, &c) {
		t.Fatalf("want a conflict, got %v", err)
	}
	return c
}

func TestBookValidation(t *testing.T) {
	f := setup(t)
	valid := Request{ServiceID: f.cut, Start: on(1, 10, 0), Customer: kim}
	for _, tc := range []struct {
		name        string
		change      func(*Request)
		field, code string
	}{
		{"no service", func(r *Request) { r.ServiceID = 0 }, "serviceId", "required"},
		{"unknown service", func(r *Request) { r.ServiceID = 9999 }, "serviceId", "unknown"},
		{"inactive service", func(r *Request) { r.ServiceID = f.inactive }, "serviceId", "unknown"},
		{"unknown staff", func(r *Request) { r.StaffID = ptr[int64](9999) }, "staffId", "unknown"},
		{"inactive staff", func(r *Request) { r.StaffID = &f.c }, "staffId", "unknown"},
		{"staff not offering", func(r *Request) { r.StaffID = &f.d }, "staffId", "not_offered"},
		{"no start", func(r *Request) { r.Start = time.Time{} }, "start", "required"},
		{"in the past", func(r *Request) { r.Start = on(-7, 10, 0) }, "start", "too_soon"},
		{"within notice", func(r *Request) { r.Start = on(0, 9, 45) }, "start", "too_soon"},
		{"too far ahead", func(r *Request) { r.Start = on(63, 10, 0) }, "start", "too_far"},
		{"off the grid", func(r *Request) { r.Start = on(1, 10, 5) }, "start", "not_offered"},
		{"after hours", func(r *Request) { r.Start = on(1, 17, 0) }, "start", "not_offered"},
		{"into the lunch break", func(r *Request) { r.Start = on(1, 11, 45) }, "start", "not_offered"},
		{"weekend", func(r *Request) { r.Start = on(5, 10, 0) }, "start", "not_offered"},
		{"no name", func(r *Request) { r.Customer.Name = "  " }, "customer.name", "required"},
		{"long name", func(r *Request) { r.Customer.Name = strings.Repeat("x", 201) }, "customer.name", "too_long"},
		{"control characters", func(r *Request) { r.Customer.Name = "Kim\x00" }, "customer.name", "invalid"},
		{"no email", func(r *Request) { r.Customer.Email = "" }, "customer.email", "required"},
		{"bad email", func(r *Request) { r.Customer.Email = "kim@" }, "customer.email", "invalid_email"},
		{"email with name", func(r *Request) { r.Customer.Email = "Kim <kim@example.com>" }, "customer.email", "invalid_email"},
		{"email without domain dot", func(r *Request) { r.Customer.Email = "kim@localhost" }, "customer.email", "invalid_email"},
		{"long email", func(r *Request) { r.Customer.Email = strings.Repeat("k", 250) + "@example.com" }, "customer.email", "invalid_email"},
		{"phone with letters", func(r *Request) { r.Customer.Phone = "call me" }, "customer.phone", "invalid_phone"},
		{"short phone", func(r *Request) { r.Customer.Phone = "1234" }, "customer.phone", "invalid_phone"},
		{"long phone", func(r *Request) { r.Customer.Phone = strings.Repeat("1", 41) }, "customer.phone", "invalid_phone"},
		{"unknown locale", func(r *Request) { r.Customer.Locale = "fr" }, "customer.locale", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := valid
			tc.change(&req)
			_, err := f.svc.Book(t.Context(), req)
			wantField(t, err, tc.field, tc.code)
		})
	}
	// Several problems are reported together.
	req := valid
	req.Customer = Customer{}
	req.Start = on(1, 10, 5)
	_, err := f.svc.Book(t.Context(), req)
	var verrs validation.Errors
	if !errors.As(err, &verrs) || verrs.For("customer.name") == nil || verrs.For("customer.email") == nil || verrs.For("start") == nil {
		t.Fatalf("want errors on name, email and start: %v", err)
	}
	if n := f.metrics.created.Load() + f.metrics.conflicted.Load(); n != 0 {
		t.Fatalf("metrics counted %d for invalid requests", n)
	}
	// Nothing was written.
	if bs, _ := f.svc.ListBookings(t.Context(), on(-30, 0, 0), on(90, 0, 0), nil); len(bs) != 0 {
		t.Fatalf("invalid requests stored bookings: %v", bs)
	}
	// The optional phone may be empty; the locale defaults to en; input is trimmed.
	req = valid
	req.Customer = Customer{Name: " Kim ", Email: " kim@example.com "}
	conf, err := f.svc.Book(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if c := conf.Booking.Customer; c != (Customer{Name: "Kim", Email: "kim@example.com", Locale: "en"}) {
		t.Fatalf("customer %+v", c)
	}
}

func TestBook(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	conf, err := f.svc.Book(ctx, Request{ServiceID: f.color, Start: on(1, 10, 0).UTC(), Customer: kim})
	if err != nil {
		t.Fatal(err)
	}
	b := conf.Booking
	if b.StaffID != f.a || b.ServiceID != f.color || b.Status != StatusConfirmed || b.Customer != kim {
		t.Fatalf("booking %+v", b)
	}
	if !b.Start.Equal(on(1, 10, 0)) || !b.End.Equal(on(1, 11, 0)) || !b.BlockedStart.Equal(on(1, 10, 0)) || !b.BlockedEnd.Equal(on(1, 11, 15)) {
		t.Fatalf("times (in the business's zone) %v–%v blocked %v–%v", b.Start, b.End, b.BlockedStart, b.BlockedEnd)
	}
	if len(conf.ManageToken) != 43 || conf.ManageURL != "https://book.example.com/manage/"+conf.ManageToken {
		t.Fatalf("token %q, url %q", conf.ManageToken, conf.ManageURL)
	}
	stored, err := f.st.GetBooking(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256([]byte(conf.ManageToken)); string(stored.ManageTokenHash) != string(h[:]) {
		t.Fatal("the stored hash is not the token's SHA-256")
	}
	if strings.Contains(fmt.Sprintf("%+v", stored), conf.ManageToken) {
		t.Fatal("the token is stored")
	}
	if f.metrics.created.Load() != 1 {
		t.Fatalf("created = %d", f.metrics.created.Load())
	}
	// The buffer after the colouring keeps A busy until 11:15.
	slots, err := f.svc.Availability(ctx, f.cut, &f.a, schedule.DateOf(on(1, 0, 0)), schedule.DateOf(on(1, 0, 0)))
	if err != nil {
		t.Fatal(err)
	}
	var starts []string
	for _, s := range slots {
		if s.Start.Hour() < 12 {
			starts = append(starts, s.Start.Format("15:04"))
		}
	}
	if want := []string{"09:00", "09:15", "09:30", "11:15", "11:30"}; !slices.Equal(starts, want) {
		t.Fatalf("A's morning after the booking: %v, want %v", starts, want)
	}
}

func TestAnyStaffOrder(t *testing.T) {
	f := setup(t)
	start := on(1, 10, 0)
	// Stable order: A (sort_order 1), then B; C is inactive.
	if got := f.book(t, f.cut, nil, start).Booking.StaffID; got != f.a {
		t.Fatalf("first booking went to %d, want A (%d)", got, f.a)
	}
	if got := f.book(t, f.cut, nil, start).Booking.StaffID; got != f.b {
		t.Fatalf("second booking went to %d, want B (%d)", got, f.b)
	}
	_, err := f.svc.Book(t.Context(), Request{ServiceID: f.cut, Start: start, Customer: kim})
	c := wantConflict(t, err)
	if len(c.Alternatives) == 0 || len(c.Alternatives) > MaxAlternatives {
		t.Fatalf("%d alternatives", len(c.Alternatives))
	}
	for i, s := range c.Alternatives {
		if s.Start.Equal(start) {
			t.Fatal("the taken time is offered as an alternative")
		}
		if schedule.DateOf(s.Start) != schedule.DateOf(start) {
			t.Fatalf("alternative %v is not on the same day although that day has room", s.Start)
		}
		if i > 0 && !c.Alternatives[i-1].Start.Before(s.Start) {
			t.Fatal("alternatives not sorted")
		}
		if s.Start.Location().String() != "Europe/Berlin" {
			t.Fatalf("alternative in %v", s.Start.Location())
		}
	}
	// The closest ones: 09:30 is 30 minutes away, 09:00 is an hour.
	if first := c.Alternatives[0].Start; first.Sub(start).Abs() > 90*time.Minute {
		t.Fatalf("first alternative %v is not near %v", first, start)
	}
	if f.metrics.conflicted.Load() != 1 || f.metrics.created.Load() != 2 {
		t.Fatalf("metrics: created %d conflicted %d", f.metrics.created.Load(), f.metrics.conflicted.Load())
	}
}

// lose makes the next write attempt for staffID lose a race: just before it, another booking for
// the same staff member and time is inserted directly.
func (f *fixture) lose(t *testing.T, staffID int64, start time.Time, dur time.Duration) *atomic.Int32 {
	var calls atomic.Int32
	f.svc.beforeWrite = func(id int64) {
		calls.Add(1)
		if id != staffID {
			return
		}
		f.svc.beforeWrite = nil
		h := sha256.Sum256([]byte(t.Name() + start.String()))
		_, err := f.st.InsertBooking(context.Background(), store.Booking{
			ServiceID: f.cut, StaffID: staffID, Start: start, End: start.Add(dur),
			BlockedStart: start, BlockedEnd: start.Add(dur), CustomerName: "Racer",
			CustomerEmail: "racer@example.com", ManageTokenHash: h[:],
		})
		if err != nil {
			t.Errorf("racing insert: %v", err)
		}
	}
	return &calls
}

func TestAnyStaffFallbackOnLostRace(t *testing.T) {
	f := setup(t)
	start := on(1, 10, 0)
	calls := f.lose(t, f.a, start, 30*time.Minute)
	conf := f.book(t, f.cut, nil, start)
	if conf.Booking.StaffID != f.b || calls.Load() != 1 {
		t.Fatalf("went to %d (race hook ran %d times), want B (%d)", conf.Booking.StaffID, calls.Load(), f.b)
	}
	if bs, _ := f.svc.SearchBookings(t.Context(), "racer", 5); len(bs) != 1 || bs[0].StaffID != f.a {
		t.Fatalf("the racing booking for A: %+v", bs)
	}
	// With a specific staff member there is no fallback: a conflict.
	start = on(1, 11, 0)
	f.lose(t, f.a, start, 30*time.Minute)
	_, err := f.svc.Book(t.Context(), Request{ServiceID: f.cut, StaffID: &f.a, Start: start, Customer: kim})
	c := wantConflict(t, err)
	for _, s := range c.Alternatives {
		if !slices.Equal(s.StaffIDs, []int64{f.a}) {
			t.Fatalf("alternative for other staff: %+v", s)
		}
	}
}

func TestManageCancelDeadline(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	conf := f.book(t, f.cut, &f.b, on(1, 10, 0)) // Tuesday 10:00; deadline Monday 10:00
	m, err := f.svc.Manage(ctx, conf.ManageToken)
	if err != nil {
		t.Fatal(err)
	}
	if !m.CanChange || !m.Deadline.Equal(on(0, 10, 0)) || m.Service.Name != "Cut" || m.Staff.Name != "B" || m.Booking.ID != conf.Booking.ID {
		t.Fatalf("manage: %+v", m)
	}
	for _, token := range []string{"", "nope", strings.Repeat("A", 43), conf.ManageToken[:42] + "!"} {
		if _, err := f.svc.Manage(ctx, token); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Manage(%q): %v", token, err)
		}
		if err := f.svc.Cancel(ctx, token); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Cancel(%q): %v", token, err)
		}
	}

	// At the deadline it is too late.
	f.clock.set(on(0, 10, 0))
	if m, _ := f.svc.Manage(ctx, conf.ManageToken); m.CanChange {
		t.Fatal("CanChange at the deadline")
	}
	if err := f.svc.Cancel(ctx, conf.ManageToken); !errors.Is(err, ErrDeadlinePassed) {
		t.Fatalf("Cancel after the deadline: %v", err)
	}
	if _, err := f.svc.Reschedule(ctx, conf.ManageToken, on(2, 10, 0), nil); !errors.Is(err, ErrDeadlinePassed) {
		t.Fatalf("Reschedule after the deadline: %v", err)
	}
	// A minute before, it works.
	f.clock.set(on(0, 9, 59))
	if err := f.svc.Cancel(ctx, conf.ManageToken); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Cancel(ctx, conf.ManageToken); err != nil {
		t.Fatalf("second cancel: %v", err)
	}
	m, err = f.svc.Manage(ctx, conf.ManageToken)
	if err != nil || m.Booking.Status != StatusCancelled || m.CanChange || m.Booking.CancelledAt == nil {
		t.Fatalf("after cancelling: %+v, %v", m, err)
	}
	if _, err := f.svc.Reschedule(ctx, conf.ManageToken, on(2, 10, 0), nil); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Reschedule cancelled: %v", err)
	}
	// Its time is free again.
	f.book(t, f.cut, &f.b, on(1, 10, 0))
}

func TestReschedule(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	mine := f.book(t, f.cut, &f.a, on(2, 10, 0))
	f.book(t, f.cut, &f.b, on(2, 11, 0))
	f.book(t, f.cut, &f.a, on(2, 13, 0))

	get := func() Booking {
		t.Helper()
		b, err := f.svc.GetBooking(ctx, mine.Booking.ID)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// Overlapping its own current time is fine.
	moved, err := f.svc.Reschedule(ctx, mine.ManageToken, on(2, 10, 15), nil)
	if err != nil || !moved.Start.Equal(on(2, 10, 15)) || moved.StaffID != f.a {
		t.Fatalf("move by 15 minutes: %+v, %v", moved, err)
	}
	// Onto B's booking with B: a conflict, and the booking is unchanged.
	_, err = f.svc.Reschedule(ctx, mine.ManageToken, on(2, 11, 0), &f.b)
	wantConflict(t, err)
	if b := get(); !b.Start.Equal(on(2, 10, 15)) || b.StaffID != f.a || b.Status != StatusConfirmed {
		t.Fatalf("a failed reschedule changed the booking: %+v", b)
	}
	// To 13:00 without a preference: A is busy then, so B.
	moved, err = f.svc.Reschedule(ctx, mine.ManageToken, on(2, 13, 0), nil)
	if err != nil || moved.StaffID != f.b {
		t.Fatalf("move to 13:00: %+v, %v", moved, err)
	}
	// Without a preference the current staff member is kept when free (B at 14:00).
	moved, err = f.svc.Reschedule(ctx, mine.ManageToken, on(2, 14, 0), nil)
	if err != nil || moved.StaffID != f.b {
		t.Fatalf("move to 14:00: %+v, %v", moved, err)
	}
	// The old time is free again: A and B can both be booked at 13:00 and 10:15.
	f.book(t, f.cut, &f.b, on(2, 13, 0))
	f.book(t, f.cut, &f.a, on(2, 10, 15))

	// Invalid new times and staff.
	_, err = f.svc.Reschedule(ctx, mine.ManageToken, on(2, 14, 5), nil)
	wantField(t, err, "start", "not_offered")
	_, err = f.svc.Reschedule(ctx, mine.ManageToken, on(0, 9, 0), nil)
	wantField(t, err, "start", "too_soon")
	_, err = f.svc.Reschedule(ctx, mine.ManageToken, on(2, 15, 0), &f.d)
	wantField(t, err, "staffId", "not_offered")

	// A lost race while moving to a specific person: conflict, unchanged.
	f.lose(t, f.a, on(2, 16, 0), 30*time.Minute)
	_, err = f.svc.Reschedule(ctx, mine.ManageToken, on(2, 16, 0), &f.a)
	wantConflict(t, err)
	if b := get(); !b.Start.Equal(on(2, 14, 0)) || b.StaffID != f.b {
		t.Fatalf("a lost race changed the booking: %+v", b)
	}
	// Without a preference a lost race falls back to the next person.
	f.lose(t, f.b, on(2, 15, 0), 30*time.Minute)
	moved, err = f.svc.Reschedule(ctx, mine.ManageToken, on(2, 15, 0), nil)
	if err != nil || moved.StaffID != f.a || !moved.Start.Equal(on(2, 15, 0)) {
		t.Fatalf("fallback move: %+v, %v", moved, err)
	}
}

func TestAdmin(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	// Within the notice period: only the admin may book it.
	soon := Request{ServiceID: f.cut, Start: on(0, 9, 0), Customer: kim}
	_, err := f.svc.Book(ctx, soon)
	wantField(t, err, "start", "too_soon")
	conf, err := f.svc.AdminCreate(ctx, soon)
	if err != nil || conf.Booking.StaffID != f.a || conf.ManageToken == "" {
		t.Fatalf("AdminCreate: %+v, %v", conf, err)
	}
	// Hours still apply, and so does the overlap rule.
	_, err = f.svc.AdminCreate(ctx, Request{ServiceID: f.cut, Start: on(0, 18, 0), Customer: kim})
	wantField(t, err, "start", "not_offered")
	_, err = f.svc.AdminCreate(ctx, Request{ServiceID: f.cut, StaffID: &f.a, Start: on(0, 9, 0), Customer: kim})
	wantConflict(t, err)

	// Admin moves ignore the deadline: it is 08:00, the booking starts at 09:00.
	moved, err := f.svc.AdminMove(ctx, conf.Booking.ID, on(0, 9, 30), nil)
	if err != nil || !moved.Start.Equal(on(0, 9, 30)) {
		t.Fatalf("AdminMove: %+v, %v", moved, err)
	}
	if _, err := f.svc.AdminMove(ctx, 9999, on(0, 9, 30), nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("AdminMove unknown: %v", err)
	}
	if err := f.svc.AdminCancel(ctx, conf.Booking.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AdminCancel(ctx, conf.Booking.ID); err != nil {
		t.Fatalf("second AdminCancel: %v", err)
	}
	if err := f.svc.AdminCancel(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("AdminCancel unknown: %v", err)
	}
	if _, err := f.svc.AdminMove(ctx, conf.Booking.ID, on(0, 10, 0), nil); !errors.Is(err, ErrCancelled) {
		t.Fatalf("AdminMove cancelled: %v", err)
	}

	// Listing and searching.
	f.book(t, f.cut, nil, on(1, 10, 0))
	all, err := f.svc.ListBookings(ctx, on(0, 0, 0), on(2, 0, 0), nil)
	if err != nil || len(all) != 2 || all[0].Status != StatusCancelled || !all[1].Start.Equal(on(1, 10, 0)) {
		t.Fatalf("ListBookings: %+v, %v", all, err)
	}
	found, err := f.svc.SearchBookings(ctx, "KIM@", 5)
	if err != nil || len(found) != 2 || found[0].Start.Location().String() != "Europe/Berlin" {
		t.Fatalf("SearchBookings: %+v, %v", found, err)
	}
}

func TestAvailability(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	tue := schedule.DateOf(on(1, 0, 0))
	slots, err := f.svc.Availability(ctx, f.cut, nil, tue, tue)
	if err != nil {
		t.Fatal(err)
	}
	// 09:00–11:30 and 13:00–16:30 every 15 minutes: 11 + 15.
	if len(slots) != 26 || !slots[0].Start.Equal(on(1, 9, 0)) || !slices.Equal(slots[0].StaffIDs, []int64{f.a, f.b}) {
		t.Fatalf("%d slots, first %+v", len(slots), slots[0])
	}
	// Today: the notice (2 hours from 08:00) hides the first hour.
	today := schedule.DateOf(on(0, 0, 0))
	slots, err = f.svc.Availability(ctx, f.cut, &f.b, today, today)
	if err != nil || !slots[0].Start.Equal(on(0, 10, 0)) || !slices.Equal(slots[0].StaffIDs, []int64{f.b}) {
		t.Fatalf("today: %+v, %v", slots, err)
	}
	// The past and beyond the advance limit are empty, not errors.
	if slots, err := f.svc.Availability(ctx, f.cut, nil, today.AddDays(-10), today.AddDays(-1)); err != nil || len(slots) != 0 {
		t.Fatalf("past: %v, %v", slots, err)
	}
	if slots, err := f.svc.Availability(ctx, f.cut, nil, today.AddDays(61), today.AddDays(70)); err != nil || len(slots) != 0 {
		t.Fatalf("beyond the advance limit: %v, %v", slots, err)
	}
	for _, tc := range []struct {
		name        string
		service     int64
		staff       *int64
		from, to    schedule.Date
		field, code string
	}{
		{"window too long", f.cut, nil, today, today.AddDays(MaxAvailabilityDays), "to", "too_long"},
		{"to before from", f.cut, nil, today, today.AddDays(-1), "to", "before_from"},
		{"bad date", f.cut, nil, schedule.Date{Year: 2030, Month: 2, Day: 30}, today, "from", "invalid"},
		{"unknown service", 4242, nil, today, today, "serviceId", "unknown"},
		{"staff not offering", f.color, &f.b, today, today, "staffId", "not_offered"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Availability(ctx, tc.service, tc.staff, tc.from, tc.to)
			wantField(t, err, tc.field, tc.code)
		})
	}
	if _, err := f.svc.Availability(ctx, f.cut, nil, today, today.AddDays(MaxAvailabilityDays-1)); err != nil {
		t.Fatalf("the longest window: %v", err)
	}
}
