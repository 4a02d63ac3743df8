package web

import (
	"context"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/httpsec"
)

// Accounts is what the pages need of the account service (*account.Service).
type Accounts interface {
	Invite(ctx context.Context, by access.Principal, email, name string, role access.Role, staffID *int64) (string, error)
	LinkInfo(ctx context.Context, token string) (account.LinkInfo, error)
	UseLink(ctx context.Context, token, password string) (account.User, error)
	RequestPasswordReset(ctx context.Context, email string) error
	Login(ctx context.Context, email, password, clientIP string) (account.LoginResult, error)
	VerifyCode(ctx context.Context, userID int64, code, clientIP string) error
	StartSession(ctx context.Context, userID int64, userAgent, clientIP string) (string, error)
	Principal(ctx context.Context, sessionID string) (access.Principal, error)
	Sessions(ctx context.Context, by access.Principal, userID int64) ([]account.Session, error)
	EndSession(ctx context.Context, by access.Principal, userID int64, sessionID string) error
	EndOtherSessions(ctx context.Context, by access.Principal) error
	Logout(ctx context.Context, sessionID string) error
	Me(ctx context.Context, by access.Principal) (account.User, error)
	ChangePassword(ctx context.Context, by access.Principal, current, next string, endOthers bool) error
	ChangeEmail(ctx context.Context, by access.Principal, currentPassword, email string) error
	Reauthenticate(ctx context.Context, by access.Principal, password string) error
	BeginEnrolment(ctx context.Context, userID int64) (account.Enrolment, error)
	ConfirmEnrolment(ctx context.Context, userID int64, code string) ([]string, error)
	DisableMFA(ctx context.Context, by access.Principal, currentPassword string) error
	Users(ctx context.Context, by access.Principal) ([]account.User, error)
	User(ctx context.Context, by access.Principal, userID int64) (account.User, error)
	SetRole(ctx context.Context, by access.Principal, userID int64, role access.Role, staffID *int64) error
	SetDisabled(ctx context.Context, by access.Principal, userID int64, disabled bool) error
	ResetMFA(ctx context.Context, by access.Principal, userID int64) error
}

var _ Accounts = (*account.Service)(nil)

// SessionCookieName is the session cookie. The __Host- prefix makes browsers insist on Secure,
// Path=/ and no Domain, so no other host can set or overwrite it.
const SessionCookieName = "__Host-slotbook_session"

// Session defaults.
const (
	DefaultIdleTimeout     = 15 * time.Minute
	DefaultSessionLifetime = 12 * time.Hour
	// pendingLoginTTL is how long a correct password waits for its code or MFA enrolment.
	pendingLoginTTL = 10 * time.Minute
)

// Keys of the cookie session. It holds nothing but the account session ID and the state of a
// login in progress; who the user is and what they may do is read from the account service on
// every request.
const (
	keySession      = "sid"
	keyPendingUser  = "login.user"
	keyPendingStep  = "login.step"
	keyPendingUntil = "login.until"
	keyNext         = "login.next"
)

func newSessionManager(opts Options, onError func(http.ResponseWriter, *http.Request, error)) *scs.SessionManager {
	sm := scs.New()
	if opts.SessionStore != nil {
		sm.Store = opts.SessionStore
	}
	sm.IdleTimeout = opts.IdleTimeout
	sm.Lifetime = opts.SessionLifetime
	// The store keys rows by a hash of the token: a read of the sessions table reveals no
	// usable cookie.
	sm.HashTokenInStore = true
	sm.Cookie = scs.SessionCookie{
		Name:     SessionCookieName,
		Path:     "/",
		HttpOnly: true,
		Secure:   true,
		SameSite: http.SameSiteLaxMode,
		Persist:  false, // a browser session cookie: gone when the browser closes
	}
	sm.ErrorFunc = onError
	return sm
}

// usesSession tells whether a path reads the session cookie. Public booking pages do not: they
// never touch the session store.
func usesSession(path string) bool {
	return path == "/admin" || strings.HasPrefix(path, "/admin/") ||
		path == "/account" || strings.HasPrefix(path, "/account/")
}

// route is one page that requires a signed-in user. Every /admin and every signed-in /account
// route is registered through protectedRoutes, so none exists without a permission.
type route struct {
	Method  string
	Path    string // http.ServeMux pattern path
	Perm    access.Permission
	handler http.HandlerFunc
}

// Pattern is the ServeMux pattern.
func (r route) Pattern() string { return r.Method + " " + r.Path }

// protectedRoutes is the route table of signed-in pages: admin pages and the own account.
func (s *server) protectedRoutes() []route {
	return append(s.adminRouteTable(), s.accountRouteTable()...)
}

func (s *server) registerProtected() {
	for _, rt := range s.protectedRoutes() {
		if rt.Perm == "" || rt.handler == nil {
			panic("web: route " + rt.Pattern() + " without permission or handler")
		}
		s.mux.Handle(rt.Pattern(), s.require(rt.Perm, rt.handler))
	}
}

// require lets a request through only with a valid session whose principal has perm: without
// a session it redirects to the login page, without the permission it answers 403.
func (s *server) require(perm access.Permission, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		p, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		ctx := access.WithPrincipal(r.Context(), p)
		ctx = audit.WithActor(ctx, p.Actor())
		r = r.WithContext(ctx)
		if !access.Can(p, perm) {
			s.renderError(w, r, http.StatusForbidden, "error.no_permission")
			return
		}
		h(w, r)
	})
}

// authenticate returns the principal of the request's session or answers the request (a
// redirect to the login page).
func (s *server) authenticate(w http.ResponseWriter, r *http.Request) (access.Principal, bool) {
	ctx := r.Context()
	sid := s.sm.GetString(ctx, keySession)
	if sid == "" {
		// A browser that still sends the cookie had a session that has ended (idle timeout).
		_, err := r.Cookie(SessionCookieName)
		s.toLogin(w, r, err == nil)
		return access.Principal{}, false
	}
	p, err := s.acc.Principal(ctx, sid)
	switch {
	case errors.Is(err, account.ErrSessionInvalid):
		if err := s.sm.Destroy(ctx); err != nil {
			s.serverError(w, r, err)
			return access.Principal{}, false
		}
		s.toLogin(w, r, true)
		return access.Principal{}, false
	case err != nil:
		s.serverError(w, r, err)
		return access.Principal{}, false
	}
	p.SessionID = sid
	return p, true
}

// currentPrincipal is the principal of a valid session, if any, without answering the request.
func (s *server) currentPrincipal(r *http.Request) (access.Principal, bool) {
	sid := s.sm.GetString(r.Context(), keySession)
	if sid == "" {
		return access.Principal{}, false
	}
	p, err := s.acc.Principal(r.Context(), sid)
	if err != nil {
		return access.Principal{}, false
	}
	p.SessionID = sid
	return p, true
}

// toLogin redirects to the login page; a GET remembers where it wanted to go.
func (s *server) toLogin(w http.ResponseWriter, r *http.Request, expired bool) {
	if r.URL.Path == "/account/keepalive" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	q := url.Values{}
	if expired {
		q.Set("expired", "1")
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if next := r.URL.RequestURI(); safeNext(next) != "" {
			q.Set("next", next)
		}
	}
	to := "/account/login"
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// safeNext returns next if it is a local address of a signed-in page, else "".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || !usesSession(u.Path) || strings.HasPrefix(u.Path, "/account/login") {
		return ""
	}
	return u.RequestURI()
}

// landing is where a signed-in user goes by default.
func landing(p access.Principal) string {
	if access.Can(p, access.CalendarView) {
		return "/admin/calendar"
	}
	return "/account"
}

// principal is the request's principal; only call it behind require.
func principal(r *http.Request) access.Principal {
	p, ok := access.PrincipalFrom(r.Context())
	if !ok {
		panic("web: no principal in a protected handler")
	}
	return p
}

// clientIP is the client's address for throttling and the session list.
func (s *server) clientIP(r *http.Request) string {
	if s.opts.ClientIP != nil {
		return s.opts.ClientIP(r)
	}
	if a, ok := httpsec.ClientIPFrom(r.Context()); ok && a.IsValid() {
		return a.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// startSession signs the user in: a new account session, kept in a cookie session with a new
// token (no session fixation).
func (s *server) startSession(ctx context.Context, r *http.Request, userID int64) error {
	sid, err := s.acc.StartSession(ctx, userID, truncate(r.UserAgent(), 300), s.clientIP(r))
	if err != nil {
		return err
	}
	if err := s.sm.RenewToken(ctx); err != nil {
		return err
	}
	s.clearPending(ctx)
	s.sm.Put(ctx, keySession, sid)
	return nil
}

// pendingLogin is a login whose password was right and that waits for a code or enrolment.
type pendingLogin struct {
	UserID int64
	Step   account.LoginStep
}

func (s *server) setPending(ctx context.Context, userID int64, step account.LoginStep) {
	s.sm.Remove(ctx, keySession)
	s.sm.Put(ctx, keyPendingUser, userID)
	s.sm.Put(ctx, keyPendingStep, int(step))
	s.sm.Put(ctx, keyPendingUntil, s.now().Add(pendingLoginTTL).Unix())
}

func (s *server) pending(ctx context.Context, step account.LoginStep) (pendingLogin, bool) {
	uid := s.sm.GetInt64(ctx, keyPendingUser)
	if uid == 0 || s.sm.GetInt(ctx, keyPendingStep) != int(step) || s.now().Unix() > s.sm.GetInt64(ctx, keyPendingUntil) {
		return pendingLogin{}, false
	}
	return pendingLogin{UserID: uid, Step: step}, true
}

func (s *server) clearPending(ctx context.Context) {
	for _, k := range []string{keyPendingUser, keyPendingStep, keyPendingUntil} {
		s.sm.Remove(ctx, k)
	}
}

// afterLogin is where a completed login continues.
func (s *server) afterLogin(ctx context.Context, p access.Principal) string {
	if next := safeNext(s.sm.PopString(ctx, keyNext)); next != "" {
		return next
	}
	return landing(p)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// lockedMinutes is a LockedError's wait in whole minutes (at least 1).
func lockedMinutes(err error) (int, bool) {
	var le *account.LockedError
	if !errors.As(err, &le) {
		return 0, false
	}
	m := int((le.RetryAfter + time.Minute - 1) / time.Minute)
	return max(m, 1), true
}

func sessionError(log func(msg string, args ...any)) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		log("session store", "path", r.URL.Path, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
}

// Can tells templates whether the signed-in user has a permission at all (e.g. to show a
// navigation entry or a button); the server checks again on every request.
func (v *view) Can(perm string) bool {
	return v.P != nil && access.Can(*v.P, access.Permission(perm))
}

// CanStaff tells whether the user may use perm on objects of staff member staffID.
func (v *view) CanStaff(perm string, staffID int64) bool {
	return v.P != nil && access.CanOnStaff(*v.P, access.Permission(perm), staffID)
}

// IdleWarning is the text of the idle warning with an element session.js counts down in.
func (v *view) IdleWarning() template.HTML {
	const mark = "@@COUNTDOWN@@"
	msg := template.HTMLEscapeString(v.T("session.warning", "Time", mark))
	return template.HTML(strings.Replace(msg, mark, `<span id="idle-countdown" class="idle-countdown"></span>`, 1))
}

// CanManageRole tells whether the user may manage accounts with role.
func (v *view) CanManageRole(role access.Role) bool {
	return v.P != nil && access.CanManageRole(v.P.Role, role) && access.Can(*v.P, access.UsersManage)
}
