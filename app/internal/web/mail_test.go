package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/mail"
	"github.com/slotbook/slotbook/app/internal/mail/mailtest"
	"github.com/slotbook/slotbook/app/internal/outbox"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// testManageKey seals manage tokens in the tests that send mail.
var testManageKey = []byte(strings.Repeat("m", 32))

// mailWorker is an outbox worker sending through the in-process SMTP server srv, on the wall
// clock (the rows' times are the database's now()).
func (a *testApp) mailWorker(t *testing.T, srv *mailtest.Server, poll time.Duration) *outbox.Worker {
	t.Helper()
	w, err := outbox.New(a.st.Pool(), outbox.Options{
		Sender:   mail.NewSender(srv.Config(), mail.SenderOptions{RootCAs: srv.RootCAs, Host: "book.example.test", Timeout: 5 * time.Second}),
		BaseURL:  "https://book.example.test",
		TokenKey: testManageKey,
		Poll:     poll,
		Backoff:  50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (a *testApp) failAllMail(t *testing.T) []int64 {
	t.Helper()
	rows, err := a.st.Pool().Query(context.Background(), `
		UPDATE mail_outbox SET failed_at = now(), attempts = 10, last_error = '421 try again later'
		WHERE sent_at IS NULL RETURNING id`)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if rows.Err() != nil || len(ids) == 0 {
		t.Fatalf("no mail to fail: %v", rows.Err())
	}
	return ids
}

func auditActions(t *testing.T, a *testApp, action string) []audit.Record {
	t.Helper()
	recs, err := audit.Query(context.Background(), a.st.Pool(), audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestAdminMail: the queue with queued and failed mails (no data beyond the recipient), the
// notice without SMTP, retrying a failed mail (it is then delivered), and the settings form.
func TestAdminMail(t *testing.T) {
	a := newTestAppWith(t, appOptions{manageKey: testManageKey}).signIn(t)
	ctx := context.Background()
	cut, anna := a.service(t, "Haarschnitt"), a.staffNamed(t, "Anna Schmidt")
	wed := schedule.Date{Year: 2026, Month: time.March, Day: 4}
	a.book(t, cut, a.slots(t, cut, &anna.ID, wed)[0].Start, &anna.ID, "Kim Kundin")

	for _, lang := range Languages {
		res := a.get(t, "/admin/mail", lang)
		if res.status != http.StatusOK || res.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: GET /admin/mail: %d %q", lang, res.status, res.header.Get("Cache-Control"))
		}
		for _, want := range []string{text(t, lang, "admin.mail.not_configured"), "kunde@example.com", "anna@salon-morgenrot.example",
			"booking_created", "staff_booking_created", `name="reminder1" value="24"`, `name="reminder2" value="0"`, `href="/admin/mail" aria-current="page"`} {
			if !strings.Contains(res.body, want) {
				t.Errorf("%s: /admin/mail lacks %q", lang, want)
			}
		}
		if strings.Contains(res.body, "Kim Kundin") || strings.Contains(res.body, "/retry") {
			t.Errorf("%s: the page shows the customer's name or a retry button for queued mails", lang)
		}
	}

	// Failed mails get a retry button; retrying queues them again with fresh attempts, and the
	// worker then delivers them.
	ids := a.failAllMail(t)
	res := a.get(t, "/admin/mail", "en")
	if !strings.Contains(res.body, `action="/admin/mail/`+itoa(ids[0])+`/retry"`) || !strings.Contains(res.body, "421 try again later") ||
		!strings.Contains(res.body, "failed: "+itoa(int64(len(ids)))) {
		t.Errorf("failed mails not shown with retry:\n%s", res.body)
	}
	res = a.post(t, "/admin/mail/"+itoa(ids[0])+"/retry", "en", nil)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/admin/mail?done=mail_retried" {
		t.Fatalf("retry: %d %q", res.status, res.header.Get("Location"))
	}
	var attempts int
	var failed *time.Time
	if err := a.st.Pool().QueryRow(ctx, `SELECT attempts, failed_at FROM mail_outbox WHERE id = $1`, ids[0]).Scan(&attempts, &failed); err != nil {
		t.Fatal(err)
	}
	if attempts != 0 || failed != nil {
		t.Errorf("after retry: attempts %d, failed_at %v", attempts, failed)
	}
	smtp := mailtest.New(t, false)
	if n, err := a.mailWorker(t, smtp, time.Second).SendDue(ctx); err != nil || n != 1 {
		t.Fatalf("worker sent %d (%v), want the retried mail only", n, err)
	}
	if m := smtp.Mails(); len(m) != 1 || len(m[0].To) != 1 {
		t.Fatalf("received %v", m)
	}
	if res := a.get(t, "/admin/mail?done=mail_retried", "en"); !strings.Contains(res.body, text(t, "en", "admin.done.mail_retried")) ||
		strings.Contains(res.body, `action="/admin/mail/`+itoa(ids[0])+`/retry"`) {
		t.Error("after sending: notice missing or the sent mail still listed")
	}
	// A sent or unknown mail: 404.
	for _, id := range []int64{ids[0], 999999} {
		if res := a.post(t, "/admin/mail/"+itoa(id)+"/retry", "en", nil); res.status != http.StatusNotFound {
			t.Errorf("retry of %d: %d, want 404", id, res.status)
		}
	}

	// Settings: invalid values are refused, valid ones saved (and audited).
	res = a.post(t, "/admin/mail/settings", "de", url.Values{"reminder1": {"721"}, "reminder2": {"x"}, "contactEmail": {"kein"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, "error-summary") {
		t.Fatalf("invalid settings: %d", res.status)
	}
	for _, want := range []string{text(t, "de", "field.reminder1"), text(t, "de", "field.reminder2"), text(t, "de", "field.contactEmail")} {
		if !strings.Contains(res.body, want) {
			t.Errorf("error summary lacks %q", want)
		}
	}
	res = a.post(t, "/admin/mail/settings", "de", url.Values{"reminder1": {"48"}, "reminder2": {"2"},
		"contactEmail": {"info@salon.example"}, "contactPhone": {"+49 30 1234567"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("save settings: %d\n%.2000s", res.status, res.body)
	}
	got, err := a.st.MailSettings(ctx)
	if err != nil || got != (store.MailSettings{Reminder1: 48 * time.Hour, Reminder2: 2 * time.Hour, ContactEmail: "info@salon.example", ContactPhone: "+49 30 1234567"}) {
		t.Errorf("stored %+v %v", got, err)
	}
	recs := auditActions(t, a, "mail_settings.update")
	if len(recs) != 1 || recs[0].Actor != "user:"+itoa(a.owner.ID) || strings.Contains(string(recs[0].Diff), "salon.example") {
		t.Errorf("audit: %+v", recs)
	}
	if res := a.get(t, "/admin/mail", "en"); !strings.Contains(res.body, `value="info@salon.example"`) || !strings.Contains(res.body, `name="reminder1" value="48"`) {
		t.Error("saved settings not shown")
	}
}

// TestAdminMailConfigured: with a mail server there is no notice.
func TestAdminMailConfigured(t *testing.T) {
	a := newTestAppWith(t, appOptions{smtp: true}).signIn(t)
	res := a.get(t, "/admin/mail", "en")
	if res.status != http.StatusOK || strings.Contains(res.body, "mail-not-configured") || !strings.Contains(res.body, text(t, "en", "admin.mail.none")) {
		t.Errorf("%d, notice shown or queue not empty", res.status)
	}
}

var feedURLRe = regexp.MustCompile(`https://book\.example\.test(/calendar/[A-Za-z0-9_-]{43}\.ics)`)

// createFeed creates a feed through the staff page as client c and returns its path.
func createFeed(t *testing.T, c *client, staffID int64) string {
	t.Helper()
	res := c.post(t, "/admin/staff/"+itoa(staffID)+"/feed", "en", nil)
	m := feedURLRe.FindStringSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		t.Fatalf("create feed: %d, no URL\n%.3000s", res.status, res.body)
	}
	return m[1]
}

// TestCalendarFeed: a staff member's feed lists their confirmed appointments only (service and
// first name), is not cached, and answers 404 once revoked or replaced; staff manage their own.
func TestCalendarFeed(t *testing.T) {
	a := newTestApp(t).signIn(t)
	ctx := context.Background()
	cut := a.service(t, "Haarschnitt")
	anna, mehmet := a.staffNamed(t, "Anna Schmidt"), a.staffNamed(t, "Mehmet Yılmaz")
	wed := schedule.Date{Year: 2026, Month: time.March, Day: 4}
	annaSlots := a.slots(t, cut, &anna.ID, wed)
	mine := a.book(t, cut, annaSlots[0].Start, &anna.ID, "Kim Kundenname")
	cancelled := a.book(t, cut, annaSlots[4].Start, &anna.ID, "Abgesagt Person")
	if err := a.bs.AdminCancel(ctx, cancelled.Booking.ID); err != nil {
		t.Fatal(err)
	}
	theirs := a.book(t, cut, a.slots(t, cut, &mehmet.ID, wed)[0].Start, &mehmet.ID, "Fremde Kundin")
	far := a.book(t, cut, a.slots(t, cut, &anna.ID, wed.AddDays(2))[0].Start, &anna.ID, "Später Kunde")

	// The staff page offers the feed; creating shows the URL once.
	res := a.get(t, "/admin/staff/"+itoa(anna.ID), "en")
	if !strings.Contains(res.body, text(t, "en", "admin.feed.none")) || !strings.Contains(res.body, `action="/admin/staff/`+itoa(anna.ID)+`/feed"`) {
		t.Fatal("staff page offers no feed")
	}
	feed := createFeed(t, a.c, anna.ID)
	res = a.get(t, "/admin/staff/"+itoa(anna.ID), "en")
	if feedURLRe.MatchString(res.body) || !strings.Contains(res.body, `id="feed-revoke"`) {
		t.Error("the feed URL is shown again, or no revoke button")
	}

	anon := &client{a: a}
	res = anon.get(t, feed, "")
	if res.status != http.StatusOK || res.header.Get("Content-Type") != "text/calendar; charset=utf-8" || res.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("feed: %d %q %q", res.status, res.header.Get("Content-Type"), res.header.Get("Cache-Control"))
	}
	if !strings.Contains(res.body, "END:VEVENT\r\n") {
		t.Errorf("lines do not end in CRLF: %q", res.body)
	}
	body := strings.ReplaceAll(res.body, "\r\n ", "") // unfold
	for _, want := range []string{"BEGIN:VCALENDAR", "METHOD:PUBLISH", "UID:booking-" + itoa(mine.Booking.ID) + "@book.example.test",
		"SUMMARY:Haarschnitt · Kim\r\n", "UID:booking-" + itoa(far.Booking.ID) + "@", "Anna Schmidt",
		"DTSTART:" + mine.Booking.Start.UTC().Format("20060102T150405Z")} {
		if !strings.Contains(body, want) {
			t.Errorf("feed lacks %q:\n%s", want, body)
		}
	}
	for _, bad := range []string{"Kundenname", "kunde@example.com", "booking-" + itoa(theirs.Booking.ID) + "@", "Fremde",
		"booking-" + itoa(cancelled.Booking.ID) + "@", "Abgesagt", "/manage/"} {
		if strings.Contains(body, bad) {
			t.Errorf("feed contains %q", bad)
		}
	}
	if n := strings.Count(body, "BEGIN:VEVENT"); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	// Outside the window (more than 180 days ahead): absent.
	a.setNow(testNow.Add(-200 * 24 * time.Hour))
	if res := anon.get(t, feed, ""); strings.Contains(res.body, "BEGIN:VEVENT") {
		t.Error("events beyond 180 days are listed")
	}
	a.setNow(testNow)

	// Unknown tokens and other names: 404.
	for _, p := range []string{"/calendar/" + strings.Repeat("A", 43) + ".ics", strings.TrimSuffix(feed, ".ics"), feed + "x", "/calendar/.ics"} {
		if res := anon.get(t, p, ""); res.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, res.status)
		}
	}

	// A new token replaces the old one.
	feed2 := createFeed(t, a.c, anna.ID)
	if res := anon.get(t, feed, ""); res.status != http.StatusNotFound {
		t.Errorf("replaced token: %d, want 404", res.status)
	}
	if res := anon.get(t, feed2, ""); res.status != http.StatusOK {
		t.Errorf("new token: %d", res.status)
	}
	// Revoking: 404 from then on.
	res = a.post(t, "/admin/staff/"+itoa(anna.ID)+"/feed/revoke", "en", nil)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/admin/staff/"+itoa(anna.ID)+"?done=feed_revoked" {
		t.Fatalf("revoke: %d %q", res.status, res.header.Get("Location"))
	}
	if res := anon.get(t, feed2, ""); res.status != http.StatusNotFound {
		t.Errorf("revoked token: %d, want 404", res.status)
	}
	if res := a.get(t, "/admin/staff/"+itoa(anna.ID)+"?done=feed_revoked", "de"); !strings.Contains(res.body, text(t, "de", "admin.done.feed_revoked")) {
		t.Error("no notice after revoking")
	}

	// Staff: their own feed only; the other staff member's page shows no feed section.
	staff := a.as(t, "anna@example.com", access.Staff, &anna.ID)
	own := createFeed(t, staff, anna.ID)
	if res := anon.get(t, own, ""); res.status != http.StatusOK || !strings.Contains(res.body, "booking-"+itoa(mine.Booking.ID)+"@") {
		t.Errorf("staff's own feed: %d", res.status)
	}
	if res := staff.post(t, "/admin/staff/"+itoa(mehmet.ID)+"/feed", "en", nil); res.status != http.StatusNotFound {
		t.Errorf("staff creating another's feed: %d, want 404", res.status)
	}
	if res := staff.get(t, "/admin/staff/"+itoa(mehmet.ID), "en"); res.status != http.StatusOK || strings.Contains(res.body, "/feed") {
		t.Errorf("another staff member's page: %d, offers the feed", res.status)
	}
	if created, _ := a.st.StaffFeed(ctx, mehmet.ID); created != nil {
		t.Error("a feed was created for the other staff member")
	}
	viewer := a.as(t, "viewer@example.com", access.Viewer, nil)
	if res := viewer.get(t, "/admin/staff/"+itoa(anna.ID), "en"); strings.Contains(res.body, "/feed") {
		t.Error("the viewer is offered the feed")
	}

	// Audited, with the acting user and without the token.
	creates, revokes := auditActions(t, a, "feed.create"), auditActions(t, a, "feed.revoke")
	if len(creates) != 3 || len(revokes) != 1 {
		t.Fatalf("%d feed.create, %d feed.revoke entries", len(creates), len(revokes))
	}
	staffUser := a.staffUser(t, "anna@example.com")
	if creates[0].Actor != "user:"+itoa(a.owner.ID) || creates[0].ObjectID != itoa(anna.ID) || string(creates[1].Diff) != `{"replaced": true}` ||
		creates[2].Actor != "user:"+itoa(staffUser) || revokes[0].Actor != "user:"+itoa(a.owner.ID) || revokes[0].ObjectID != itoa(anna.ID) {
		t.Errorf("audit entries: %+v %+v", creates, revokes)
	}
	for _, r := range append(creates, revokes...) {
		if strings.Contains(string(r.Diff), strings.TrimSuffix(strings.TrimPrefix(own, "/calendar/"), ".ics")) {
			t.Error("the token is in the audit log")
		}
	}
}

// staffUser is the id of the account with this e-mail address.
func (a *testApp) staffUser(t *testing.T, email string) int64 {
	t.Helper()
	var id int64
	if err := a.st.Pool().QueryRow(context.Background(), `SELECT id FROM users WHERE email = $1`, email).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestManageContactAfterDeadline: once the change deadline has passed, the manage page names the
// business contact from the mail settings (German and English); without one, the staff member.
func TestManageContactAfterDeadline(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	cut, anna := a.service(t, "Haarschnitt"), a.staffNamed(t, "Anna Schmidt")
	wed := schedule.Date{Year: 2026, Month: time.March, Day: 4}
	c := a.book(t, cut, a.slots(t, cut, &anna.ID, wed)[0].Start, &anna.ID, "Kim Kundin")
	page := "/manage/" + c.ManageToken

	// Before the deadline: no contact section.
	if res := a.get(t, page, "en"); strings.Contains(res.body, "manage-contact-details") || !strings.Contains(res.body, "/cancel") {
		t.Error("before the deadline: contact shown or no cancel")
	}
	a.setNow(c.Booking.Start.Add(-2 * time.Hour)) // the deadline is 24 h before
	res := a.get(t, page, "de")
	if !strings.Contains(res.body, text(t, "de", "manage.contact", "Business", "Salon Morgenrot", "Staff", "Anna Schmidt")) {
		t.Error("without a business contact: the staff member is not named")
	}
	if err := a.st.UpdateMailSettings(ctx, store.MailSettings{Reminder1: 24 * time.Hour, ContactEmail: "info@salon.example", ContactPhone: "+49 (30) 123-4567"}); err != nil {
		t.Fatal(err)
	}
	for _, lang := range Languages {
		res := a.get(t, page, lang)
		if res.status != http.StatusOK {
			t.Fatalf("%s: %d", lang, res.status)
		}
		for _, want := range []string{text(t, lang, "manage.too_late", "When", loc{tr: a.h.(*server).tr, Lang: lang, TZ: berlin}.DateTime(c.Booking.Start.Add(-24*time.Hour))),
			text(t, lang, "manage.contact_business", "Business", "Salon Morgenrot"), `href="mailto:info@salon.example"`, `href="tel:&#43;49301234567"`, "&#43;49 (30) 123-4567"} {
			if !strings.Contains(res.body, want) {
				t.Errorf("%s: manage page after the deadline lacks %q", lang, want)
			}
		}
		if strings.Contains(res.body, `action="`+page+`/cancel"`) {
			t.Errorf("%s: cancel offered after the deadline", lang)
		}
	}
}
