package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/slotbook/slotbook/app/internal/mail/mailtest"
)

var manageLinkRe = regexp.MustCompile(`https://book\.example\.test(/manage/[A-Za-z0-9_-]+)`)

// TestBrowserMail (issue #5): book through the public page, open the manage link from the
// confirmation mail the outbox worker delivered to the in-process SMTP server, reschedule (a
// second mail: SEQUENCE 1, METHOD:REQUEST) and cancel (a third: METHOD:CANCEL).
func TestBrowserMail(t *testing.T) {
	ctx := newBrowser(t)
	a := newTestAppWith(t, appOptions{manageKey: testManageKey, smtp: true})
	smtp := mailtest.New(t, false)
	worker := a.mailWorker(t, smtp, 100*time.Millisecond)
	wctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); worker.Run(wctx) }()
	t.Cleanup(func() { stop(); <-done })
	srv := httptest.NewServer(a.h)
	defer srv.Close()

	do, textOf := browserStep(t, ctx), browserText(t, ctx)
	const customer = "browser-mail@example.com"
	// mail waits for the n-th mail to the customer.
	mail := func(n int) *mailtest.Parsed {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			var theirs []mailtest.Mail
			for _, m := range smtp.Mails() {
				if slices.Contains(m.To, customer) {
					theirs = append(theirs, m)
				}
			}
			if len(theirs) >= n {
				p, err := mailtest.Parse(theirs[n-1].Data)
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d mails to the customer arrived, want %d", len(theirs), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	checkICS := func(p *mailtest.Parsed, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(p.ICS, w+"\r\n") {
				t.Errorf("mail %q: the .ics lacks %q:\n%s", p.Subject, w, p.ICS)
			}
		}
	}

	cut := a.service(t, "Haarschnitt")
	do("book", chromedp.Navigate(srv.URL+"/?lang=en"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a.card-link[href="/book/%d"]`, cut.ID))),
		chromedp.WaitVisible(chromedp.CSS(`a.choice[href$="staff=any"]`)),
		chromedp.Click(chromedp.CSS(`a.choice[href$="staff=any"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.day[href*="day=2026-03-04"]`)),
		chromedp.Click(chromedp.CSS(`a.day[href*="day=2026-03-04"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.day.selected[href*="day=2026-03-04"]`)),
		chromedp.Click(chromedp.CSS("a.slot")),
		chromedp.WaitVisible(chromedp.CSS("#f-customer-name")),
		chromedp.SendKeys(chromedp.CSS("#f-customer-name"), "Mail Kundin"),
		chromedp.SendKeys(chromedp.CSS("#f-customer-email"), customer),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(".confirmation")),
	)

	confirmation := mail(1)
	checkICS(confirmation, "METHOD:REQUEST", "SEQUENCE:0", "STATUS:CONFIRMED")
	m := manageLinkRe.FindStringSubmatch(confirmation.Text)
	if m == nil {
		t.Fatalf("no manage link in the confirmation:\n%s", confirmation.Text)
	}
	do("open the manage link from the mail", chromedp.Navigate(srv.URL+m[1]),
		chromedp.WaitVisible(chromedp.CSS(`a.button.primary[href$="/reschedule"]`)),
		chromedp.Click(chromedp.CSS(`a.button.primary[href$="/reschedule"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.day[href*="day=2026-03-05"]`)),
		chromedp.Click(chromedp.CSS(`a.day[href*="day=2026-03-05"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a.day.selected[href*="day=2026-03-05"]`)),
		chromedp.Click(chromedp.CSS("a.slot")),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/reschedule"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/reschedule"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if n := textOf("p.notice"); n != text(t, "en", "manage.notice_rescheduled") {
		t.Errorf("after rescheduling: %q", n)
	}
	moved := mail(2)
	checkICS(moved, "METHOD:REQUEST", "SEQUENCE:1")
	if !strings.Contains(moved.ICS, "DTSTART:20260305T") {
		t.Errorf("the change mail's .ics is not on the new day:\n%s", moved.ICS)
	}
	if !strings.Contains(moved.Text, m[0]) {
		t.Error("the change mail lacks the manage link")
	}

	do("cancel", chromedp.Click(chromedp.CSS(`form[action$="/cancel"] button`)),
		chromedp.WaitVisible(chromedp.CSS("p.status.cancelled")),
	)
	cancelled := mail(3)
	checkICS(cancelled, "METHOD:CANCEL", "SEQUENCE:2", "STATUS:CANCELLED")
	uid := regexp.MustCompile(`UID:(\S+)`)
	if u1, u3 := uid.FindString(confirmation.ICS), uid.FindString(cancelled.ICS); u1 == "" || u1 != u3 || u1 != uid.FindString(moved.ICS) {
		t.Errorf("UIDs differ: %q %q", u1, u3)
	}
}
