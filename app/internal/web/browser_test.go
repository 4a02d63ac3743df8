package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// chromiumPath is Debian's chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

// TestBrowserBooking drives headless Chromium through the public booking page in German and in
// English against the real app (demo database), then checks the admin calendar shows both
// bookings. Screenshots go to $SLOTBOOK_SCREENSHOTS (or a temporary directory).
func TestBrowserBooking(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: CI must install Debian's chromium package (apt-get install -y chromium)", chromiumPath)
		}
		t.Skipf("SKIPPED: no browser at %s (apt-get install -y chromium); with CI set this test fails instead", chromiumPath)
	}
	a := newTestApp(t)
	srv := httptest.NewServer(a.h) // listens on 127.0.0.1
	defer srv.Close()

	shots := os.Getenv("SLOTBOOK_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	root, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root,
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	defer cancelCtx()

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	textOf := browserText(t, ctx)
	attr := func(sel, name string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
		if err != nil {
			t.Fatalf("%s@%s: %v", sel, name, err)
		}
		return v.Value
	}
	desktop := chromedp.EmulateViewport(1280, 900)
	mobile := chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch)

	cut := a.service(t, "Haarschnitt")
	const theDay = "2026-03-04" // a Wednesday, the week after testNow's Monday
	customers := map[string]string{"de": "Browser Kundin", "en": "Browser Customer"}
	for _, lang := range Languages {
		do(lang+": home", desktop,
			chromedp.Navigate(srv.URL+"/?lang="+lang),
			chromedp.WaitVisible(chromedp.CSS("a.card-link")),
		)
		if got := attr("html", "lang"); got != lang {
			t.Fatalf("<html lang=%q>, want %q", got, lang)
		}
		if lang == "de" {
			shot("1-home-de")
		}
		do(lang+": choose service and any staff",
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`a.card-link[href="/book/%d"]`, cut.ID))),
			chromedp.WaitVisible(chromedp.CSS(`a.choice[href$="staff=any"]`)),
			chromedp.Click(chromedp.CSS(`a.choice[href$="staff=any"]`)),
			chromedp.WaitVisible(chromedp.CSS("ul.days")),
		)
		do(lang+": choose the day",
			chromedp.Click(chromedp.CSS(`a.day[href*="day=`+theDay+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`a.day.selected[href*="day=`+theDay+`"]`)),
			chromedp.WaitVisible(chromedp.CSS("a.slot")),
		)
		shot("2-times-" + lang)
		if lang == "de" {
			do("mobile", mobile, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("a.slot")))
			shot("2-times-de-mobile")
			do("desktop", desktop)
		}
		slotTime := textOf("a.slot")
		do(lang+": choose the slot",
			chromedp.Click(chromedp.CSS("a.slot")),
			chromedp.WaitVisible(chromedp.CSS("#f-customer-name")),
		)
		if lang == "en" {
			// Submitting the empty form shows the errors (server-side, 422) with the summary focused.
			do("empty form",
				chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
				chromedp.WaitVisible(chromedp.CSS(".error-summary")),
			)
			focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className`))
			if err != nil || focused != "error-summary" {
				t.Errorf("focused element %q (%v), want the error summary", focused, err)
			}
			if s := textOf(".error-summary"); !strings.Contains(s, "Please fill in this field.") {
				t.Errorf("error summary %q", s)
			}
			shot("3-details-errors-en")
		}
		do(lang+": fill in the form",
			chromedp.SendKeys(chromedp.CSS("#f-customer-name"), customers[lang]),
			chromedp.SendKeys(chromedp.CSS("#f-customer-email"), "browser-"+lang+"@example.com"),
		)
		if lang == "en" {
			shot("3-details-en")
		}
		do(lang+": confirm",
			chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".confirmation")),
		)
		want := map[string]string{"de": "Ihr Termin ist gebucht", "en": "Your appointment is booked"}[lang]
		if h1 := textOf(".confirmation h1"); h1 != want {
			t.Errorf("%s: confirmation heading %q, want %q", lang, h1, want)
		}
		summary := textOf("section.summary")
		wantDate := map[string]string{"de": "Mittwoch, 4. März 2026", "en": "Wednesday, March 4, 2026"}[lang]
		if !strings.Contains(summary, wantDate) || !strings.Contains(summary, slotTime) || !strings.Contains(summary, "Europe/Berlin") {
			t.Errorf("%s: summary %q lacks %q / %q / time zone", lang, summary, wantDate, slotTime)
		}
		manage := attr("a.manage-url", "href")
		if !strings.HasPrefix(manage, "https://book.example.test/manage/") {
			t.Errorf("%s: manage link %q", lang, manage)
		}
		shot("4-booked-" + lang)
		if lang == "de" {
			bookedURL, err := chromedp.Run(ctx, chromedp.Location())
			if err != nil {
				t.Fatal(err)
			}
			do("manage page",
				chromedp.Navigate(srv.URL+strings.TrimPrefix(manage, "https://book.example.test")),
				chromedp.WaitVisible(chromedp.CSS("section.actions")),
			)
			if !strings.Contains(textOf("section.actions"), "Termin absagen") {
				t.Error("manage page offers no cancellation")
			}
			shot("7-manage-de")
			do("back", chromedp.Navigate(bookedURL), chromedp.WaitVisible(chromedp.CSS(".confirmation")))
			do("mobile", mobile, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".confirmation")))
			shot("4-booked-de-mobile")
			do("desktop", desktop)
		}
	}

	do("admin calendar: sign in first", desktop,
		chromedp.Navigate(srv.URL+"/admin/calendar?date="+theDay+"&lang=de"),
		chromedp.WaitVisible(chromedp.CSS("#f-email")),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.calendar")),
	)
	cal := textOf("table.calendar")
	for _, name := range customers {
		if !strings.Contains(cal, name) {
			t.Errorf("admin calendar lacks %q:\n%s", name, cal)
		}
	}
	shot("5-admin-calendar-de")
	do("admin calendar mobile", mobile, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("table.calendar")))
	shot("5-admin-calendar-de-mobile")
	do("admin week", desktop,
		chromedp.Navigate(srv.URL+"/admin/calendar?view=week&date="+theDay+"&lang=en"),
		chromedp.WaitVisible(chromedp.CSS("table.calendar")),
	)
	shot("6-admin-week-en")
	t.Logf("screenshots in %s", shots)
}

// browserStep runs a named step of a browser test; a failed step fails the test and leaves a
// screenshot.
func browserStep(t *testing.T, ctx context.Context) func(step string, actions ...chromedp.Action[chromedp.Void]) {
	return func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			shot, _ := chromedp.Run(ctx, chromedp.FullScreenshot(80))
			_ = os.WriteFile(filepath.Join(t.TempDir(), "fail.png"), shot, 0o644)
			t.Fatalf("%s: %v", step, err)
		}
	}
}

// browserText reads the text of the element a selector selects; none there fails the test.
func browserText(t *testing.T, ctx context.Context) func(sel string) string {
	return func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
}

// newBrowser starts headless Chromium (skipping without it, failing in CI).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: CI must install Debian's chromium package (apt-get install -y chromium)", chromiumPath)
		}
		t.Skipf("SKIPPED: no browser at %s (apt-get install -y chromium); with CI set this test fails instead", chromiumPath)
	}
	root, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root,
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelCtx)
	return ctx
}

// TestBrowserSecurity: the owner invites a user, who sets a password, enrols TOTP, signs out and
// in with a code, is signed out by the idle timeout with a warning first; a cross-origin form
// post is refused; the owner sees the audit entries.
func TestBrowserSecurity(t *testing.T) {
	ctx := newBrowser(t)
	a := newTestAppWith(t, appOptions{idle: 8 * time.Second, accountIdle: 15 * time.Minute})
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	anna := a.staffNamed(t, "Anna Schmidt")
	do, textOf := browserStep(t, ctx), browserText(t, ctx)
	login := func(email string) {
		t.Helper()
		do("sign in as "+email,
			chromedp.Navigate(srv.URL+"/account/login?lang=en"),
			chromedp.WaitVisible(chromedp.CSS("#f-email")),
			chromedp.SendKeys(chromedp.CSS("#f-email"), email),
			chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
			chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
		)
	}
	logout := func() {
		t.Helper()
		do("sign out", chromedp.Click(chromedp.CSS("form.logout-form button")), chromedp.WaitVisible(chromedp.CSS(`form[action="/account/login"]`)))
	}

	login("owner@example.com")
	do("invite", chromedp.WaitVisible(chromedp.CSS("table.calendar")),
		chromedp.Navigate(srv.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.CSS("#f-email")),
		chromedp.SendKeys(chromedp.CSS("#f-email"), "lea@example.com"),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "Lea Neu"),
		chromedp.SetValue(chromedp.CSS("#f-role"), "staff"),
		chromedp.SetValue(chromedp.CSS("#f-staffId"), itoa(anna.ID)),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("a.invite-url")),
	)
	link := textOf("a.invite-url")
	if !strings.HasPrefix(link, "https://book.example.test/account/setup/") {
		t.Fatalf("invitation link %q", link)
	}
	logout()

	do("set the password", chromedp.Navigate(srv.URL+strings.TrimPrefix(link, "https://book.example.test")),
		chromedp.WaitVisible(chromedp.CSS("#f-password")),
		chromedp.SendKeys(chromedp.CSS("#f-password"), testPassword),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	login("lea@example.com")
	do("enrol TOTP", chromedp.WaitVisible(chromedp.CSS("table.calendar")),
		chromedp.Navigate(srv.URL+"/account"),
		chromedp.SendKeys(chromedp.CSS("#f-mfa_password"), testPassword),
		chromedp.Click(chromedp.CSS("#mfa-begin")),
		chromedp.WaitVisible(chromedp.CSS("#mfa-secret")),
	)
	secret := textOf("#mfa-secret")
	code, err := totp.GenerateCode(secret, a.now())
	if err != nil {
		t.Fatal(err)
	}
	do("confirm TOTP", chromedp.SendKeys(chromedp.CSS("#f-code"), code),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("ul.recovery-codes")),
	)
	if n := strings.Count(textOf("ul.recovery-codes"), "\n") + 1; n != 10 {
		t.Errorf("%d recovery codes", n)
	}
	do("continue", chromedp.Click(chromedp.CSS("a.button.primary")), chromedp.WaitVisible(chromedp.CSS("#account-mfa")))
	logout()

	a.setNow(a.now().Add(30 * time.Second)) // the next TOTP step: the enrolment's code is used up
	login("lea@example.com")
	code, _ = totp.GenerateCode(secret, a.now())
	do("sign in with a code", chromedp.WaitVisible(chromedp.CSS("#f-code")),
		chromedp.SendKeys(chromedp.CSS("#f-code"), code),
		chromedp.Click(chromedp.CSS(`form.form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.calendar")),
	)

	// Idle: the warning counts down, then the page goes to the login page.
	do("idle warning", chromedp.WaitVisible(chromedp.CSS("#idle-warning")))
	if c := textOf("#idle-countdown"); !strings.HasPrefix(c, "0:0") {
		t.Errorf("countdown %q", c)
	}
	do("idle logout", chromedp.WaitVisible(chromedp.CSS(`form[action="/account/login"]`)))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if !strings.Contains(loc, "/account/login?expired=1") || !strings.Contains(textOf("p.notice"), "signed out") {
		t.Errorf("after idling: %s", loc)
	}
	do("still signed out", chromedp.Navigate(srv.URL+"/admin/calendar"), chromedp.WaitVisible(chromedp.CSS(`form[action="/account/login"]`)))

	// A form on another site posting to the app is refused.
	login("owner@example.com")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/admin/settings"><input name="name" value="Evil"><button id="go">go</button></form>`, srv.URL)
	}))
	defer evil.Close()
	do("cross-origin post", chromedp.WaitVisible(chromedp.CSS("table.calendar")),
		chromedp.Navigate(strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)),
		chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitVisible(chromedp.CSS("main h1")),
	)
	if h := textOf("main h1"); h != text(t, "en", "error.forbidden.title") && h != text(t, "de", "error.forbidden.title") {
		t.Errorf("cross-origin post answered %q", h)
	}
	if st, _ := a.st.Settings(context.Background()); st.Name == "Evil" {
		t.Error("settings changed by a cross-origin form")
	}

	do("audit log", chromedp.Navigate(srv.URL+"/admin/audit?lang=en"), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	log := textOf("table.audit")
	for _, action := range []string{"user.invite", "password.set", "mfa.enrol", "login.ok", "logout"} {
		if !strings.Contains(log, action) {
			t.Errorf("audit page lacks %s", action)
		}
	}
	if s := textOf("#chain-status"); !strings.Contains(s, "Intact") {
		t.Errorf("chain status %q", s)
	}
}
