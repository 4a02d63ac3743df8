package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/demo"
	"github.com/slotbook/slotbook/app/internal/mail"
	"github.com/slotbook/slotbook/app/internal/mail/mailtest"
	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var key = []byte(strings.Repeat("k", 40))

// clock runs with the real one (rows get the database's now()), moved by an offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) set(t time.Time)         { c.offset.Store(int64(time.Until(t))) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

type fixture struct {
	st    *store.Store
	svc   *booking.Service
	smtp  *mailtest.Server
	clock *clock
	next  int // slots handed out
	slots []time.Time
	svcID int64
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := demo.Seed(ctx, st); err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, smtp: mailtest.New(t, false), clock: &clock{}}
	f.svc = booking.NewService(st, booking.WithBaseURL("https://book.test"), booking.WithManageTokenKey(key))
	svcs, err := st.ListServices(ctx, true)
	if err != nil || len(svcs) == 0 {
		t.Fatal(svcs, err)
	}
	f.svcID = svcs[0].ID
	today := schedule.DateOf(time.Now())
	slots, err := f.svc.Availability(ctx, f.svcID, nil, today.AddDays(2), today.AddDays(9))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		f.slots = append(f.slots, s.Start)
	}
	return f
}

func (f *fixture) worker(t *testing.T, o Options) *Worker {
	t.Helper()
	if o.Sender == nil {
		o.Sender = mail.NewSender(f.smtp.Config(), mail.SenderOptions{RootCAs: f.smtp.RootCAs, Host: "book.test", Timeout: 5 * time.Second})
	}
	o.BaseURL, o.TokenKey, o.Now = "https://book.test", key, f.clock.now
	w, err := New(f.st.Pool(), o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (f *fixture) book(t *testing.T, lang string) *booking.Confirmation {
	t.Helper()
	for ; f.next < len(f.slots); f.next++ {
		c, err := f.svc.Book(t.Context(), booking.Request{ServiceID: f.svcID, Start: f.slots[f.next],
			Customer: booking.Customer{Name: "Kim Kunde", Email: "kim@example.com", Locale: lang}})
		var conflict *booking.ConflictError
		if errors.As(err, &conflict) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		f.next++
		return c
	}
	t.Fatal("no free slot left")
	return nil
}

func sendAll(t *testing.T, w *Worker) int {
	t.Helper()
	n, err := w.SendDue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func parse(t *testing.T, m mailtest.Mail) *mailtest.Parsed {
	t.Helper()
	p, err := mailtest.Parse(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// byRecipient returns the parsed mails to one address, in order.
func byRecipient(t *testing.T, mails []mailtest.Mail, to string) []*mailtest.Parsed {
	var out []*mailtest.Parsed
	for _, m := range mails {
		if len(m.To) == 1 && m.To[0] == to {
			out = append(out, parse(t, m))
		}
	}
	return out
}

func contains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s does not contain %q:\n%s", what, sub, s)
		}
	}
}

func TestBookingMailsCreateRescheduleCancel(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	w := f.worker(t, Options{})
	c := f.book(t, "de")
	if n := sendAll(t, w); n != 2 {
		t.Fatalf("sent %d mails, want 2 (customer and staff)", n)
	}
	mails := f.smtp.Mails()
	for _, m := range mails {
		if m.From != "termine@salon.test" {
			t.Errorf("MAIL FROM %q", m.From)
		}
	}
	cust := byRecipient(t, mails, "kim@example.com")
	if len(cust) != 1 {
		t.Fatalf("customer mails: %d", len(cust))
	}
	p := cust[0]
	uid := fmt.Sprintf("UID:booking-%d@book.test", c.Booking.ID)
	contains(t, "subject", p.Subject, "Terminbestätigung")
	contains(t, "From", p.Header.Get("From"), "termine@salon.test", "Salon Test")
	contains(t, "text", p.Text, "Guten Tag Kim Kunde,", c.ManageURL)
	contains(t, "html", p.HTML, `<a href="`+c.ManageURL+`">`, `lang="de"`)
	contains(t, "ics", p.ICS, "METHOD:REQUEST", uid, "SEQUENCE:0", "DTSTART:"+c.Booking.Start.UTC().Format("20060102T150405Z"))
	contains(t, "ics type", p.ICSType, "text/calendar", "method=REQUEST")
	if p.Header.Get("Message-Id") == "" {
		t.Error("no Message-ID")
	}
	// The manage link works.
	if m, err := f.svc.Manage(ctx, strings.TrimPrefix(c.ManageURL, "https://book.test/manage/")); err != nil || m.Booking.ID != c.Booking.ID {
		t.Fatalf("manage link: %v", err)
	}
	staff := 0
	for _, m := range mails {
		if m.To[0] != "kim@example.com" {
			staff++
			sp := parse(t, m)
			contains(t, "staff subject", sp.Subject, "Neuer Termin")
			contains(t, "staff ics", sp.ICS, uid, "METHOD:REQUEST")
			if strings.Contains(sp.Text, "/manage/") {
				t.Error("the staff mail carries the customer's manage link")
			}
		}
	}
	if staff != 1 {
		t.Errorf("staff mails: %d", staff)
	}

	// Reschedule: the new time, SEQUENCE 1, the manage link still there (sealed token).
	token := strings.TrimPrefix(c.ManageURL, "https://book.test/manage/")
	var moved *booking.Booking
	var err error
	for ; f.next < len(f.slots); f.next++ {
		if moved, err = f.svc.Reschedule(ctx, token, f.slots[f.next], nil); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	sendAll(t, w)
	cust = byRecipient(t, f.smtp.Mails(), "kim@example.com")
	if len(cust) != 2 {
		t.Fatalf("customer mails after reschedule: %d", len(cust))
	}
	contains(t, "reschedule subject", cust[1].Subject, "verschoben")
	contains(t, "reschedule text", cust[1].Text, c.ManageURL)
	contains(t, "reschedule ics", cust[1].ICS, "METHOD:REQUEST", uid, "SEQUENCE:1", "DTSTART:"+moved.Start.UTC().Format("20060102T150405Z"))

	// Cancel: METHOD:CANCEL, SEQUENCE 2.
	if err := f.svc.Cancel(ctx, token); err != nil {
		t.Fatal(err)
	}
	sendAll(t, w)
	cust = byRecipient(t, f.smtp.Mails(), "kim@example.com")
	if len(cust) != 3 {
		t.Fatalf("customer mails after cancel: %d", len(cust))
	}
	contains(t, "cancel subject", cust[2].Subject, "abgesagt")
	contains(t, "cancel ics", cust[2].ICS, "METHOD:CANCEL", uid, "SEQUENCE:2", "STATUS:CANCELLED")

	// Sent rows keep no data.
	var withData int
	if err := f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM mail_outbox WHERE sent_at IS NULL OR data <> '{}'`).Scan(&withData); err != nil || withData != 0 {
		t.Errorf("unsent or with data: %d %v", withData, err)
	}
}

func TestEnglishMail(t *testing.T) {
	f := setup(t)
	w := f.worker(t, Options{})
	f.book(t, "en")
	sendAll(t, w)
	p := byRecipient(t, f.smtp.Mails(), "kim@example.com")[0]
	contains(t, "subject", p.Subject, "Appointment confirmed")
	contains(t, "text", p.Text, "Hello Kim Kunde,", "View, reschedule or cancel")
	// The staff member gets the business's language.
	for _, m := range f.smtp.Mails() {
		if m.To[0] != "kim@example.com" {
			contains(t, "staff subject", parse(t, m).Subject, "Neuer Termin")
		}
	}
}

func TestSMTPDownDelaysMail(t *testing.T) {
	f := setup(t)
	w := f.worker(t, Options{})
	f.smtp.Stop()
	f.book(t, "de") // the booking does not depend on mail
	if n := sendAll(t, w); n != 0 {
		t.Fatalf("sent %d with the server down", n)
	}
	var attempts int
	var lastErr string
	if err := f.st.Pool().QueryRow(t.Context(), `SELECT max(attempts), max(coalesce(last_error, '')) FROM mail_outbox`).Scan(&attempts, &lastErr); err != nil {
		t.Fatal(err)
	}
	if attempts != 1 || lastErr == "" {
		t.Errorf("attempts %d, last error %q", attempts, lastErr)
	}
	f.smtp.Start()
	// Before the backoff has passed nothing is retried.
	if n := sendAll(t, w); n != 1 { // the row that was never tried is due
		t.Fatalf("sent %d, want the untried one", n)
	}
	f.clock.advance(DefaultBackoff + time.Second)
	if n := sendAll(t, w); n != 1 {
		t.Fatalf("after the backoff: sent %d", n)
	}
	if got := len(f.smtp.Mails()); got != 2 {
		t.Errorf("mails %d", got)
	}
}

func TestKilledBetweenClaimAndSendSendsOnce(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	f.book(t, "de")
	// Worker A claims the first row and "dies" before sending.
	var claimed int64
	a := f.worker(t, Options{BeforeSend: func(id int64) error { claimed = id; return errors.New("killed") }})
	if _, err := a.SendDue(ctx); !errors.Is(err, ErrStopped) {
		t.Fatalf("A: %v", err)
	}
	// Worker B (the restarted app) sends everything else but leaves the leased row alone...
	b := f.worker(t, Options{})
	if n := sendAll(t, b); n != 1 {
		t.Fatalf("B sent %d, want 1 (the other row)", n)
	}
	// ...until the lease has run out; then exactly once.
	f.clock.advance(DefaultLease + time.Second)
	if n := sendAll(t, b); n != 1 {
		t.Fatalf("after the lease B sent %d", n)
	}
	if n := sendAll(t, b); n != 0 {
		t.Fatalf("sent again: %d", n)
	}
	var sent bool
	if err := f.st.Pool().QueryRow(ctx, `SELECT sent_at IS NOT NULL FROM mail_outbox WHERE id = $1`, claimed).Scan(&sent); err != nil || !sent {
		t.Errorf("claimed row sent: %v %v", sent, err)
	}
	if got := len(f.smtp.Mails()); got != 2 {
		t.Errorf("mails %d, want 2", got)
	}
}

func TestTwoWorkersNeverSendTheSameRow(t *testing.T) {
	f := setup(t)
	for range 8 {
		f.book(t, "en")
	}
	ws := []*Worker{f.worker(t, Options{}), f.worker(t, Options{})}
	var wg sync.WaitGroup
	var total atomic.Int64
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := w.SendDue(context.Background())
			if err != nil {
				t.Error(err)
			}
			total.Add(int64(n))
		}()
	}
	wg.Wait()
	mails := f.smtp.Mails()
	ids := map[string]bool{}
	for _, m := range mails {
		id := parse(t, m).Header.Get("Message-Id")
		if ids[id] {
			t.Errorf("sent twice: %s", id)
		}
		ids[id] = true
	}
	if total.Load() != 16 || len(mails) != 16 {
		t.Errorf("sent %d, received %d, want 16", total.Load(), len(mails))
	}
}

func TestRemindersOnceWithTwoSchedulers(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	c := f.book(t, "de")
	cancelled := f.book(t, "de")
	if err := f.svc.AdminCancel(ctx, cancelled.Booking.ID); err != nil {
		t.Fatal(err)
	}
	a, b := f.worker(t, Options{}), f.worker(t, Options{})
	sendAll(t, a)
	before := len(f.smtp.Mails())
	// Not yet: more than 24 hours before.
	f.clock.set(c.Booking.Start.Add(-25 * time.Hour))
	if n, err := a.ScheduleReminders(ctx); err != nil || n != 0 {
		t.Fatalf("early reminders: %d %v", n, err)
	}
	f.clock.set(c.Booking.Start.Add(-23 * time.Hour))
	var wg sync.WaitGroup
	var queued atomic.Int64
	for _, w := range []*Worker{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := w.ScheduleReminders(context.Background())
			if err != nil {
				t.Error(err)
			}
			queued.Add(n)
		}()
	}
	wg.Wait()
	if queued.Load() != 1 {
		t.Fatalf("queued %d reminders, want 1", queued.Load())
	}
	sendAll(t, b)
	mails := f.smtp.Mails()[before:]
	if len(mails) != 1 {
		t.Fatalf("reminder mails: %d", len(mails))
	}
	p := parse(t, mails[0])
	contains(t, "reminder", p.Subject, "Erinnerung")
	contains(t, "reminder", p.Text, c.ManageURL)
	contains(t, "reminder ics", p.ICS, "SEQUENCE:0")

	// Off (0): nothing for a later booking either.
	if _, err := f.st.Pool().Exec(ctx, `UPDATE mail_settings SET reminder_1_minutes = 0`); err != nil {
		t.Fatal(err)
	}
	later := f.book(t, "de")
	f.clock.set(later.Booking.Start.Add(-time.Hour))
	if n, _ := a.ScheduleReminders(ctx); n != 0 {
		t.Errorf("reminders while off: %d", n)
	}
}

func TestReminderNotForBookingsMadeAfterTheReminderTime(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	// Two reminders: 24 h and one week before. The booking is less than a week ahead.
	if _, err := f.st.Pool().Exec(ctx, `UPDATE mail_settings SET reminder_2_minutes = 10080`); err != nil {
		t.Fatal(err)
	}
	c := f.book(t, "en")
	w := f.worker(t, Options{})
	f.clock.set(c.Booking.Start.Add(-time.Hour))
	if n, err := w.ScheduleReminders(ctx); err != nil || n != 1 {
		t.Fatalf("queued %d (%v), want only the 24-hour one", n, err)
	}
}

func TestPermanentRefusalFailsAndRetry(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	f.smtp.Reject = func(rcpt string) error {
		if rcpt == "kim@example.com" {
			return errNoSuchUser
		}
		return nil
	}
	w := f.worker(t, Options{})
	f.book(t, "de")
	sendAll(t, w)
	list, counts, err := Pending(ctx, f.st.Pool(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if counts.Failed != 1 || len(list) != 1 || list[0].FailedAt == nil || list[0].Recipient != "kim@example.com" || list[0].LastError == "" {
		t.Fatalf("counts %+v list %+v", counts, list)
	}
	f.smtp.Reject = nil
	if ok, err := Retry(ctx, f.st.Pool(), list[0].ID); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if n := sendAll(t, w); n != 1 {
		t.Fatalf("after retry sent %d", n)
	}
}

func TestAccountMailsAndNoServer(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	exp := time.Now().Add(48 * time.Hour)
	if _, err := f.st.Pool().Exec(ctx, `INSERT INTO mail_outbox (template, recipient, data) VALUES
		('invite', 'new@example.com', jsonb_build_object('link', 'https://book.test/account/setup/abc', 'name', 'Neu',
		 'inviter', 'Olga', 'role', 'staff', 'expires_at', $1::timestamptz, 'business', 'Salon')),
		('erasure_confirm', 'kim@example.com', jsonb_build_object('link', 'https://book.test/erase/xyz', 'business', 'Salon',
		 'expires_at', $1::timestamptz))`, exp); err != nil {
		t.Fatal(err)
	}
	// Without a mail server nothing is sent and nothing is lost.
	none, err := New(f.st.Pool(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := none.SendDue(ctx); n != 0 || err != nil || none.Configured() {
		t.Fatal(n, err)
	}
	sendAll(t, f.worker(t, Options{}))
	inv := byRecipient(t, f.smtp.Mails(), "new@example.com")
	if len(inv) != 1 {
		t.Fatalf("invite mails %d", len(inv))
	}
	contains(t, "invite", inv[0].Subject, "Einladung zu Salon")
	contains(t, "invite", inv[0].Text, "Olga", "https://book.test/account/setup/abc", "Guten Tag Neu,")
	if inv[0].ICS != "" {
		t.Error("an account mail with a calendar file")
	}
	er := byRecipient(t, f.smtp.Mails(), "kim@example.com")
	if len(er) != 1 {
		t.Fatalf("erasure mails %d", len(er))
	}
	contains(t, "erasure", er[0].Text, "https://book.test/erase/xyz")
}

var errNoSuchUser = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
