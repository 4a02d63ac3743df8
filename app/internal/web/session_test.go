package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/auth/access"
)

// sessionCookie is the Set-Cookie of the session cookie in a response.
func sessionCookie(res response) *http.Cookie {
	for _, ck := range (&http.Response{Header: res.header}).Cookies() {
		if ck.Name == SessionCookieName {
			return ck
		}
	}
	return nil
}

func TestLoginCookieAndFixation(t *testing.T) {
	a := newTestApp(t)
	c := &client{a: a}
	// A token the attacker chose (or got from an earlier session) is never the signed-in one.
	c.cookie = "attacker-chosen-token"
	res := c.post(t, "/account/login", "en", url.Values{"email": {"owner@example.com"}, "password": {testPassword}, "next": {"/admin/settings"}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/admin/settings" {
		t.Fatalf("login: %d %q", res.status, res.header.Get("Location"))
	}
	ck := sessionCookie(res)
	if ck == nil {
		t.Fatal("no session cookie")
	}
	if ck.Value == "attacker-chosen-token" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" || ck.MaxAge != 0 || !ck.Expires.IsZero() {
		t.Errorf("cookie %+v: want a new __Host- session cookie, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain, no expiry", ck)
	}
	if !strings.Contains(res.header.Values("Set-Cookie")[0], "__Host-slotbook_session=") {
		t.Errorf("Set-Cookie %q", res.header.Values("Set-Cookie"))
	}
	first := c.cookie
	// Signing in again (as someone else) with that session's cookie gives a new token and ends
	// the old one.
	a.user(t, "viewer@example.com", access.Viewer, nil)
	c.login(t, "viewer@example.com", testPassword)
	if c.cookie == first {
		t.Error("the token was not renewed at login")
	}
	old := &client{a: a, cookie: first}
	if res := old.get(t, "/admin/calendar", "en"); classify(res) != toLogin {
		t.Errorf("the token before the second login still works: %d", res.status)
	}
	// Wrong passwords: the same answer for unknown accounts and wrong passwords.
	for _, email := range []string{"owner@example.com", "nobody@example.com"} {
		res := (&client{a: a}).post(t, "/account/login", "en", url.Values{"email": {email}, "password": {"wrong password 123"}})
		if res.status != http.StatusUnauthorized || !strings.Contains(res.body, text(t, "en", "login.bad_credentials")) {
			t.Errorf("%s: %d", email, res.status)
		}
		if sessionCookie(res) != nil {
			t.Errorf("%s: a failed login set a session cookie", email)
		}
	}
}

func TestLockoutMessage(t *testing.T) {
	a := newTestApp(t)
	c := &client{a: a}
	var res response
	for i := 0; i < 30; i++ {
		res = c.post(t, "/account/login", "de", url.Values{"email": {"owner@example.com"}, "password": {"falsch falsch falsch"}})
		if res.status == http.StatusTooManyRequests {
			break
		}
	}
	if res.status != http.StatusTooManyRequests || !regexp.MustCompile(`Zu viele Versuche\. Bitte versuchen Sie es in \d+ Minuten? erneut\.`).MatchString(res.body) {
		t.Fatalf("no lockout message after 30 failures: %d", res.status)
	}
}

func TestLogoutAndDisable(t *testing.T) {
	a := newTestApp(t).signIn(t)
	ctx := context.Background()
	// Logout ends the session: the old cookie no longer works.
	before := a.c.cookie
	res := a.post(t, "/account/logout", "en", nil)
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/account/login?done=logged_out" {
		t.Fatalf("logout: %d %q", res.status, res.header.Get("Location"))
	}
	if ck := sessionCookie(res); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("logout does not delete the cookie: %+v", ck)
	}
	replay := &client{a: a, cookie: before}
	if res := replay.get(t, "/admin/calendar", "en"); classify(res) != toLogin {
		t.Errorf("after logout: %d", res.status)
	}

	// Disabling a user ends their session at once.
	a.signIn(t)
	anna := a.staffNamed(t, "Anna Schmidt")
	staff := a.as(t, "anna@example.com", access.Staff, &anna.ID)
	if res := staff.get(t, "/admin/calendar", "en"); res.status != http.StatusOK {
		t.Fatalf("staff: %d", res.status)
	}
	users, _ := a.acc.Users(ctx, access.Principal{UserID: a.owner.ID, Role: access.Owner})
	var id int64
	for _, u := range users {
		if u.Email == "anna@example.com" {
			id = u.ID
		}
	}
	if res := a.post(t, "/admin/users/"+itoa(id)+"/disable", "en", nil); res.status != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", res.status, res.body)
	}
	res = staff.get(t, "/admin/calendar", "en")
	if classify(res) != toLogin || !strings.Contains(res.header.Get("Location"), "expired=1") {
		t.Errorf("disabled user's session: %d %q", res.status, res.header.Get("Location"))
	}
	if res := (&client{a: a}).post(t, "/account/login", "en", url.Values{"email": {"anna@example.com"}, "password": {testPassword}}); res.status != http.StatusUnauthorized {
		t.Errorf("disabled user can sign in: %d", res.status)
	}

	// Ending one of one's sessions from the account page.
	other := &client{a: a}
	other.login(t, "owner@example.com", testPassword)
	sessions, err := a.acc.Sessions(ctx, access.Principal{UserID: a.owner.ID, Role: access.Owner}, a.owner.ID)
	if err != nil || len(sessions) < 2 {
		t.Fatalf("sessions %v %v", sessions, err)
	}
	page := a.get(t, "/account", "en")
	for _, s := range sessions {
		if !strings.Contains(page.body, "/account/sessions/"+s.ID+"/end") {
			t.Errorf("account page does not list session %s", s.ID)
		}
	}
	if res := a.post(t, "/account/sessions/end-others", "en", nil); res.status != http.StatusSeeOther {
		t.Fatalf("end others: %d", res.status)
	}
	if res := other.get(t, "/account", "en"); classify(res) != toLogin {
		t.Errorf("other session survived: %d", res.status)
	}
	if res := a.get(t, "/account", "en"); res.status != http.StatusOK {
		t.Errorf("own session ended too: %d", res.status)
	}
}

func TestIdleTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for real timeouts")
	}
	// The account service's own idle timeout (with the wall clock).
	a := newTestAppWith(t, appOptions{idle: 2 * time.Second, realClock: true})
	a.signIn(t)
	page := a.get(t, "/admin/calendar", "en")
	if !strings.Contains(page.body, `data-idle-timeout="2"`) || !strings.Contains(page.body, `src="/static/session.js"`) || !strings.Contains(page.body, `id="idle-warning"`) {
		t.Error("the page has no idle warning")
	}
	time.Sleep(2500 * time.Millisecond)
	res := a.get(t, "/admin/calendar", "en")
	if classify(res) != toLogin || !strings.Contains(res.header.Get("Location"), "expired=1") {
		t.Errorf("after the idle timeout: %d %q", res.status, res.header.Get("Location"))
	}
	if res := a.get(t, "/account/login?expired=1", "en"); !strings.Contains(res.body, text(t, "en", "login.expired")) {
		t.Error("the login page does not say why")
	}

	// The cookie session's idle timeout, and the warning's keepalive that extends it.
	b := newTestAppWith(t, appOptions{idle: 2 * time.Second, accountIdle: time.Hour})
	b.signIn(t)
	time.Sleep(1200 * time.Millisecond)
	if res := b.post(t, "/account/keepalive", "en", nil); res.status != http.StatusNoContent {
		t.Fatalf("keepalive: %d", res.status)
	}
	time.Sleep(1200 * time.Millisecond) // 2.4 s after login, 1.2 s after the keepalive
	if res := b.get(t, "/admin/calendar", "en"); res.status != http.StatusOK {
		t.Errorf("after keepalive: %d", res.status)
	}
	time.Sleep(2500 * time.Millisecond)
	if res := b.get(t, "/admin/calendar", "en"); classify(res) != toLogin {
		t.Errorf("after the cookie session's idle timeout: %d", res.status)
	}
	if res := b.post(t, "/account/keepalive", "en", nil); res.status != http.StatusUnauthorized {
		t.Errorf("keepalive without a session: %d, want 401", res.status)
	}
}

var secretRe = regexp.MustCompile(`<code class="secret" id="mfa-secret">([A-Z2-7]+)</code>`)

// enrol turns on TOTP for the signed-in client through the account page; it returns the secret.
func enrol(t *testing.T, a *testApp, c *client) string {
	t.Helper()
	if res := c.post(t, "/account/mfa/begin", "en", nil); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("enrolment without the current password: %d, want 422", res.status)
	}
	if res := c.post(t, "/account/mfa/begin", "en", url.Values{"mfa_password": {"wrong-" + testPassword}}); res.status != http.StatusUnprocessableEntity {
		t.Fatalf("enrolment with a wrong password: %d, want 422", res.status)
	}
	res := c.post(t, "/account/mfa/begin", "en", url.Values{"mfa_password": {testPassword}})
	m := secretRe.FindStringSubmatch(res.body)
	if res.status != http.StatusOK || m == nil || !strings.Contains(res.body, `src="data:image/png;base64,`) {
		t.Fatalf("enrolment page: %d\n%.2000s", res.status, res.body)
	}
	secret := m[1]
	uri := regexp.MustCompile(`name="uri" value="([^"]+)"`).FindStringSubmatch(res.body)[1]
	// A wrong code shows the same secret and QR code again.
	res = c.post(t, "/account/mfa/confirm", "en", url.Values{"code": {"000000"}, "secret": {secret}, "uri": {strings.ReplaceAll(uri, "&amp;", "&")}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, secret) || !strings.Contains(res.body, `src="data:image/png;base64,`) {
		t.Fatalf("wrong code: %d", res.status)
	}
	code, err := totp.GenerateCode(secret, a.now())
	if err != nil {
		t.Fatal(err)
	}
	before := c.cookie
	res = c.post(t, "/account/mfa/confirm", "en", url.Values{"code": {code}})
	if res.status != http.StatusOK || strings.Count(res.body, "<li><code>") != 10 {
		t.Fatalf("confirm: %d\n%.2000s", res.status, res.body)
	}
	if c.cookie == before {
		t.Error("no new session token after enabling MFA")
	}
	return secret
}

func TestMFALogin(t *testing.T) {
	a := newTestApp(t).signIn(t)
	secret := enrol(t, a, a.c)
	recovery := regexp.MustCompile(`<li><code>([^<]+)</code>`).FindAllStringSubmatch(a.get(t, "/account", "en").body, -1)
	if len(recovery) != 0 {
		t.Error("recovery codes shown again")
	}
	a.post(t, "/account/logout", "en", nil)

	// Password, then the code (of the next time step: the enrolment used this one).
	a.setNow(a.now().Add(30 * time.Second))
	res := a.post(t, "/account/login", "en", url.Values{"email": {"owner@example.com"}, "password": {testPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/account/login/code" {
		t.Fatalf("password step: %d %q", res.status, res.header.Get("Location"))
	}
	pending := a.c.cookie
	if res := a.get(t, "/admin/calendar", "en"); classify(res) != toLogin {
		t.Errorf("signed in before the code: %d", res.status)
	}
	if res := a.post(t, "/account/login/code", "en", url.Values{"code": {"123456"}}); res.status != http.StatusUnauthorized ||
		!strings.Contains(res.body, text(t, "en", "validation.bad_code")) {
		t.Errorf("wrong code: %d", res.status)
	}
	code, _ := totp.GenerateCode(secret, a.now())
	res = a.post(t, "/account/login/code", "en", url.Values{"code": {code}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/admin/calendar" {
		t.Fatalf("code step: %d %q\n%.1000s", res.status, res.header.Get("Location"), res.body)
	}
	if a.c.cookie == pending {
		t.Error("no new token when the session starts")
	}
	if res := a.get(t, "/admin/calendar", "en"); res.status != http.StatusOK {
		t.Errorf("after the code: %d", res.status)
	}
	// The same code again (another browser) is refused: single use.
	other := &client{a: a}
	other.post(t, "/account/login", "en", url.Values{"email": {"owner@example.com"}, "password": {testPassword}})
	if res := other.post(t, "/account/login/code", "en", url.Values{"code": {code}}); res.status != http.StatusUnauthorized {
		t.Errorf("code reused: %d", res.status)
	}
	// The code page without a correct password first: back to the login.
	if res := (&client{a: a}).get(t, "/account/login/code", "en"); classify(res) != toLogin {
		t.Errorf("code page without password: %d", res.status)
	}
	// The owner resets a user's MFA; the user signs in with the password only again.
	anna := a.staffNamed(t, "Anna Schmidt")
	staff := a.as(t, "anna@example.com", access.Staff, &anna.ID)
	enrol(t, a, staff)
	users, _ := a.acc.Users(context.Background(), access.Principal{UserID: a.owner.ID, Role: access.Owner})
	for _, u := range users {
		if u.Email == "anna@example.com" {
			if res := a.post(t, "/admin/users/"+itoa(u.ID)+"/mfa/reset", "en", nil); res.status != http.StatusSeeOther {
				t.Errorf("reset MFA: %d", res.status)
			}
		}
	}
	(&client{a: a}).login(t, "anna@example.com", testPassword)
}

func TestMFARequired(t *testing.T) {
	a := newTestAppWith(t, appOptions{mfa: account.MFARequired})
	res := a.post(t, "/account/login", "en", url.Values{"email": {"owner@example.com"}, "password": {testPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/account/login/enrol" {
		t.Fatalf("password step: %d %q", res.status, res.header.Get("Location"))
	}
	if res := a.get(t, "/account", "en"); classify(res) != toLogin {
		t.Errorf("signed in before enrolling: %d", res.status)
	}
	if res := a.get(t, "/account/login/enrol", "en"); res.status != http.StatusOK || !strings.Contains(res.body, text(t, "en", "mfa.required_intro")) {
		t.Fatalf("enrol intro: %d", res.status)
	}
	res = a.post(t, "/account/login/enrol/begin", "en", nil)
	m := secretRe.FindStringSubmatch(res.body)
	if m == nil {
		t.Fatalf("no secret: %d", res.status)
	}
	code, _ := totp.GenerateCode(m[1], a.now())
	res = a.post(t, "/account/login/enrol", "en", url.Values{"code": {code}})
	if res.status != http.StatusOK || strings.Count(res.body, "<li><code>") != 10 || !strings.Contains(res.body, `href="/admin/calendar"`) {
		t.Fatalf("recovery codes: %d\n%.1500s", res.status, res.body)
	}
	if res := a.get(t, "/account", "en"); res.status != http.StatusOK || strings.Contains(res.body, "/account/mfa/disable") {
		t.Errorf("account page: %d (MFA may not be turned off when required)", res.status)
	}
}

func TestLinksAndForgot(t *testing.T) {
	a := newTestApp(t).signIn(t)
	// Invite through the users page: the link is shown once.
	anna := a.staffNamed(t, "Anna Schmidt")
	res := a.post(t, "/admin/users", "de", url.Values{"email": {""}, "name": {""}, "role": {"staff"}, "staffId": {"none"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, text(t, "de", "validation.required_for_staff")) {
		t.Errorf("invalid invitation: %d", res.status)
	}
	res = a.post(t, "/admin/users", "de", url.Values{"email": {"neu@example.com"}, "name": {"Neu"}, "role": {"staff"}, "staffId": {itoa(anna.ID)}})
	m := regexp.MustCompile(`class="invite-url" href="https://book\.example\.test(/account/setup/[^"]+)"`).FindStringSubmatch(res.body)
	if res.status != http.StatusOK || m == nil {
		t.Fatalf("invite: %d\n%.2000s", res.status, res.body)
	}
	c := &client{a: a}
	res = c.get(t, m[1], "de")
	if res.status != http.StatusOK || !strings.Contains(res.body, "neu@example.com") || !strings.Contains(res.body, `autocomplete="new-password"`) {
		t.Fatalf("setup page: %d", res.status)
	}
	// The policy's problems, inline.
	res = c.post(t, m[1], "de", url.Values{"password": {"kurz"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, `id="f-password-error"`) || !strings.Contains(res.body, "Bitte verwenden Sie mindestens") {
		t.Errorf("short password: %d\n%.3000s", res.status, res.body)
	}
	res = c.post(t, m[1], "en", url.Values{"password": {"Salon Morgenrot 2026!"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, text(t, "en", "validation.contains_context")) {
		t.Errorf("password with the business name: %d", res.status)
	}
	res = c.post(t, m[1], "de", url.Values{"password": {testPassword}})
	if res.status != http.StatusSeeOther || res.header.Get("Location") != "/account/login?done=password_set" {
		t.Fatalf("set password: %d %q", res.status, res.header.Get("Location"))
	}
	// Single use.
	if res := c.get(t, m[1], "de"); res.status != http.StatusNotFound || !strings.Contains(res.body, text(t, "de", "error.link_invalid.title")) {
		t.Errorf("used link: %d", res.status)
	}
	c.login(t, "neu@example.com", testPassword)
	// A setup token on the reset path is refused.
	if res := c.get(t, "/account/reset/not-a-token", "de"); res.status != http.StatusNotFound {
		t.Errorf("bad reset link: %d", res.status)
	}
	// Forgot: the same answer whether the account exists or not.
	var bodies []string
	for _, email := range []string{"neu@example.com", "niemand@example.com"} {
		res := (&client{a: a}).post(t, "/account/forgot", "de", url.Values{"email": {email}})
		if res.status != http.StatusOK || !strings.Contains(res.body, text(t, "de", "forgot.sent")) {
			t.Errorf("forgot %s: %d", email, res.status)
		}
		bodies = append(bodies, res.body)
	}
	if bodies[0] != bodies[1] {
		t.Error("the answer reveals whether an account exists")
	}
	// Changing the password needs the current one.
	res = c.post(t, "/account/password", "en", url.Values{"current_password": {"wrong password 1"}, "password": {"Ein-ganz-neues-Passwort-77"}})
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, text(t, "en", "validation.wrong_password")) {
		t.Errorf("wrong current password: %d", res.status)
	}
	before := c.cookie
	res = c.post(t, "/account/password", "en", url.Values{"current_password": {testPassword}, "password": {"Ein-ganz-neues-Passwort-77"}, "end_others": {"on"}})
	if res.status != http.StatusSeeOther || c.cookie == before {
		t.Errorf("change password: %d, token renewed: %v", res.status, c.cookie != before)
	}
	if _, err := a.acc.Login(context.Background(), "neu@example.com", "Ein-ganz-neues-Passwort-77", "192.0.2.7"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, err := a.acc.Login(context.Background(), "neu@example.com", testPassword, "192.0.2.7"); !errors.Is(err, account.ErrBadCredentials) {
		t.Errorf("old password: %v", err)
	}
}
