package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"strings"

	"github.com/pquerna/otp"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// accountRoutes registers the pages anyone may open: login, one-time links, password reset.
func (s *server) accountRoutes() {
	s.mux.HandleFunc("GET /account/login", s.loginForm)
	s.mux.HandleFunc("POST /account/login", s.login)
	s.mux.HandleFunc("GET /account/login/code", s.loginCodeForm)
	s.mux.HandleFunc("POST /account/login/code", s.loginCode)
	s.mux.HandleFunc("GET /account/login/enrol", s.loginEnrolIntro)
	s.mux.HandleFunc("POST /account/login/enrol/begin", s.loginEnrolBegin)
	s.mux.HandleFunc("POST /account/login/enrol", s.loginEnrolConfirm)
	s.mux.HandleFunc("GET /account/setup/{token}", s.linkForm)
	s.mux.HandleFunc("POST /account/setup/{token}", s.linkUse)
	s.mux.HandleFunc("GET /account/reset/{token}", s.linkForm)
	s.mux.HandleFunc("POST /account/reset/{token}", s.linkUse)
	s.mux.HandleFunc("GET /account/forgot", s.forgotForm)
	s.mux.HandleFunc("POST /account/forgot", s.forgot)
}

// accountRouteTable is the signed-in user's own account: every role has access.AccountSelf.
func (s *server) accountRouteTable() []route {
	return []route{
		{"GET", "/account", access.AccountSelf, s.accountPage},
		{"POST", "/account/logout", access.AccountSelf, s.logout},
		{"POST", "/account/keepalive", access.AccountSelf, s.keepalive},
		{"POST", "/account/password", access.AccountSelf, s.accountPassword},
		{"POST", "/account/email", access.AccountSelf, s.accountEmail},
		{"POST", "/account/mfa/begin", access.AccountSelf, s.accountMFABegin},
		{"POST", "/account/mfa/confirm", access.AccountSelf, s.accountMFAConfirm},
		{"POST", "/account/mfa/disable", access.AccountSelf, s.accountMFADisable},
		{"POST", "/account/sessions/{sid}/end", access.AccountSelf, s.accountEndSession},
		{"POST", "/account/sessions/end-others", access.AccountSelf, s.accountEndOthers},
	}
}

// authView is the view of the login and one-time-link pages.
func (s *server) authView(w http.ResponseWriter, r *http.Request, titleID string) (*view, error) {
	w.Header().Set("Cache-Control", "no-store")
	v, err := s.newView(w, r)
	v.Title = v.T(titleID)
	return v, err
}

// ---- Login ----

type loginPage struct {
	Email string
	Next  string
}

func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.currentPrincipal(r); ok {
		http.Redirect(w, r, cmpOr(safeNext(r.URL.Query().Get("next")), landing(p)), http.StatusSeeOther)
		return
	}
	v, err := s.authView(w, r, "login.title")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	switch {
	case q.Get("expired") != "":
		v.Notice = v.T("login.expired")
	case q.Get("done") == "logged_out":
		v.Notice = v.T("login.logged_out")
	case q.Get("done") == "password_set":
		v.Notice = v.T("login.password_set")
	}
	s.renderLogin(w, r, v, http.StatusOK, &loginPage{Next: safeNext(q.Get("next"))})
}

func (s *server) renderLogin(w http.ResponseWriter, r *http.Request, v *view, status int, p *loginPage) {
	v.LangBase = "/account/login"
	v.Data = p
	s.render(w, r, status, "login", v)
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	v, err := s.authView(w, r, "login.title")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	email, password := f.str("email"), f.values.Get("password")
	page := &loginPage{Email: email, Next: safeNext(f.str("next"))}
	if email == "" || password == "" {
		v.Alert = v.T("login.missing")
		s.renderLogin(w, r, v, http.StatusUnprocessableEntity, page)
		return
	}
	res, err := s.acc.Login(r.Context(), email, password, s.clientIP(r))
	if m, ok := lockedMinutes(err); ok {
		v.Alert = v.TN("login.locked", m)
		s.renderLogin(w, r, v, http.StatusTooManyRequests, page)
		return
	}
	if errors.Is(err, account.ErrBadCredentials) {
		v.Alert = v.T("login.bad_credentials")
		s.renderLogin(w, r, v, http.StatusUnauthorized, page)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	// A new token as soon as the password was right, and again when the session starts.
	if err := s.sm.RenewToken(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	s.sm.Remove(ctx, keyNext)
	if page.Next != "" {
		s.sm.Put(ctx, keyNext, page.Next)
	}
	switch res.Next {
	case account.LoginNeedsCode:
		s.setPending(ctx, res.User.ID, account.LoginNeedsCode)
		redirect(w, r, "/account/login/code")
	case account.LoginMustEnrol:
		s.setPending(ctx, res.User.ID, account.LoginMustEnrol)
		redirect(w, r, "/account/login/enrol")
	default:
		if err := s.startSession(ctx, r, res.User.ID); err != nil {
			s.fail(w, r, err)
			return
		}
		redirect(w, r, s.afterLogin(ctx, access.Principal{UserID: res.User.ID, Role: res.User.Role, StaffID: res.User.StaffID}))
	}
}

func (s *server) loginCodeForm(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.pending(r.Context(), account.LoginNeedsCode); !ok {
		redirect(w, r, "/account/login?expired=1")
		return
	}
	v, err := s.authView(w, r, "login.code_title")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.LangBase = "/account/login/code"
	s.render(w, r, http.StatusOK, "login_code", v)
}

func (s *server) loginCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pl, ok := s.pending(ctx, account.LoginNeedsCode)
	if !ok {
		redirect(w, r, "/account/login?expired=1")
		return
	}
	v, err := s.authView(w, r, "login.code_title")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.LangBase = "/account/login/code"
	code := strings.TrimSpace(r.PostFormValue("code"))
	err = s.acc.VerifyCode(ctx, pl.UserID, code, s.clientIP(r))
	if m, ok := lockedMinutes(err); ok {
		v.Alert = v.TN("login.locked", m)
		s.render(w, r, http.StatusTooManyRequests, "login_code", v)
		return
	}
	if errors.Is(err, account.ErrBadCode) || (err == nil && code == "") {
		v.Errors.Add("code", "bad_code", "wrong code", nil)
		s.render(w, r, http.StatusUnauthorized, "login_code", v)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.finishLogin(w, r, pl.UserID)
}

// finishLogin starts the session after the second factor and continues where the user wanted.
func (s *server) finishLogin(w http.ResponseWriter, r *http.Request, userID int64) {
	ctx := r.Context()
	if err := s.startSession(ctx, r, userID); err != nil {
		s.fail(w, r, err)
		return
	}
	p, ok := s.currentPrincipal(r)
	if !ok {
		redirect(w, r, "/account/login?expired=1")
		return
	}
	redirect(w, r, s.afterLogin(ctx, p))
}

// ---- MFA enrolment (forced at login, or chosen on the account page) ----

type enrolPage struct {
	Action     string
	Secret     string
	URI        string
	QR         template.URL
	EndOthers  bool // offer "end my other sessions"
	Recovery   []string
	ContinueTo string
}

func (s *server) loginEnrolIntro(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.pending(r.Context(), account.LoginMustEnrol); !ok {
		redirect(w, r, "/account/login?expired=1")
		return
	}
	v, err := s.authView(w, r, "mfa.enrol_title")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.LangBase = "/account/login/enrol"
	v.Data = &enrolPage{Action: "/account/login/enrol/begin"}
	s.render(w, r, http.StatusOK, "mfa_intro", v)
}

func (s *server) loginEnrolBegin(w http.ResponseWriter, r *http.Request) {
	pl, ok := s.pending(r.Context(), account.LoginMustEnrol)
	if !ok {
		redirect(w, r, "/account/login?expired=1")
		return
	}
	s.beginEnrolment(w, r, pl.UserID, "/account/login/enrol", false)
}

func (s *server) beginEnrolment(w http.ResponseWriter, r *http.Request, userID int64, action string, endOthers bool) {
	v, err := s.authView(w, r, "mfa.enrol_title")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	en, err := s.acc.BeginEnrolment(r.Context(), userID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.LangBase = "/account"
	v.Data = &enrolPage{Action: action, Secret: en.Secret, URI: en.URI, QR: pngDataURL(en.QRPNG), EndOthers: endOthers}
	s.render(w, r, http.StatusOK, "mfa_enrol", v)
}

// confirmEnrolment checks the code of a started enrolment. On a wrong code it shows the same
// secret again (from the form: the page showed it already), so the user need not scan anew.
func (s *server) confirmEnrolment(w http.ResponseWriter, r *http.Request, userID int64, action string, endOthers bool) ([]string, *view, bool) {
	v, err := s.authView(w, r, "mfa.enrol_title")
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	v.LangBase = "/account"
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	code := f.str("code")
	var codes []string
	if code != "" {
		codes, err = s.acc.ConfirmEnrolment(r.Context(), userID, code)
	}
	m, locked := lockedMinutes(err)
	if code == "" || errors.Is(err, account.ErrBadCode) || locked {
		page := &enrolPage{Action: action, Secret: f.str("secret"), URI: f.str("uri"), EndOthers: endOthers}
		page.QR = qrFromURI(page.URI)
		status := http.StatusUnprocessableEntity
		if locked {
			v.Alert = v.TN("login.locked", m)
			status = http.StatusTooManyRequests
		} else {
			v.Errors.Add("code", "bad_code", "wrong code", nil)
		}
		v.Data = page
		s.render(w, r, status, "mfa_enrol", v)
		return nil, nil, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, nil, false
	}
	return codes, v, true
}

func (s *server) loginEnrolConfirm(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	pl, ok := s.pending(ctx, account.LoginMustEnrol)
	if !ok {
		redirect(w, r, "/account/login?expired=1")
		return
	}
	codes, v, ok := s.confirmEnrolment(w, r, pl.UserID, "/account/login/enrol", false)
	if !ok {
		return
	}
	if err := s.startSession(ctx, r, pl.UserID); err != nil {
		s.fail(w, r, err)
		return
	}
	p, ok := s.currentPrincipal(r)
	if !ok {
		redirect(w, r, "/account/login?expired=1")
		return
	}
	v.P = &p
	v.Title = v.T("mfa.recovery_title")
	v.Data = &enrolPage{Recovery: codes, ContinueTo: s.afterLogin(ctx, p)}
	s.render(w, r, http.StatusOK, "mfa_recovery", v)
}

func pngDataURL(b []byte) template.URL {
	if len(b) == 0 {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
}

// qrFromURI draws the QR code of an otpauth:// URI again ("" if it is not one).
func qrFromURI(uri string) template.URL {
	if !strings.HasPrefix(uri, "otpauth://totp/") {
		return ""
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return ""
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return pngDataURL(buf.Bytes())
}

// ---- Logout and keepalive ----

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := s.acc.Logout(ctx, principal(r).SessionID); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.sm.Destroy(ctx); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/account/login?done=logged_out")
}

// keepalive is the idle warning's "stay signed in": require has already marked the session used
// and the cookie session is saved with a new idle deadline.
func (s *server) keepalive(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusNoContent)
}

// ---- One-time links: set a password ----

type linkPage struct {
	Info   account.LinkInfo
	Action string
}

// linkFor is the view of a one-time link page and the link of the path: an unknown, used or
// expired one answers 404 (error.link_invalid). false: it has answered.
func (s *server) linkFor(w http.ResponseWriter, r *http.Request) (*view, account.LinkInfo, bool) {
	v, err := s.authView(w, r, "link.title")
	if err != nil {
		s.fail(w, r, err)
		return nil, account.LinkInfo{}, false
	}
	info, err := s.acc.LinkInfo(r.Context(), r.PathValue("token"))
	if errors.Is(err, account.ErrLinkInvalid) {
		s.renderError(w, r, http.StatusNotFound, "error.link_invalid")
		return nil, account.LinkInfo{}, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, account.LinkInfo{}, false
	}
	return v, info, true
}

func (s *server) linkForm(w http.ResponseWriter, r *http.Request) {
	v, info, ok := s.linkFor(w, r)
	if !ok {
		return
	}
	s.renderLink(w, r, v, http.StatusOK, info)
}

func (s *server) renderLink(w http.ResponseWriter, r *http.Request, v *view, status int, info account.LinkInfo) {
	if info.Purpose == account.PurposeReset {
		v.Title = v.T("link.reset_title")
	}
	v.LangBase = r.URL.Path
	v.Data = &linkPage{Info: info, Action: r.URL.Path}
	s.render(w, r, status, "set_password", v)
}

func (s *server) linkUse(w http.ResponseWriter, r *http.Request) {
	v, info, ok := s.linkFor(w, r)
	if !ok {
		return
	}
	// The one-time link must be the kind its path says.
	if (info.Purpose == account.PurposeReset) != strings.HasPrefix(r.URL.Path, "/account/reset/") {
		s.renderError(w, r, http.StatusNotFound, "error.link_invalid")
		return
	}
	_, err := s.acc.UseLink(r.Context(), r.PathValue("token"), r.PostFormValue("password"))
	var verrs validation.Errors
	switch {
	case errors.As(err, &verrs):
		v.Errors = verrs
		s.renderLink(w, r, v, http.StatusUnprocessableEntity, info)
	case errors.Is(err, account.ErrLinkInvalid):
		s.renderError(w, r, http.StatusNotFound, "error.link_invalid")
	case err != nil:
		s.fail(w, r, err)
	default:
		redirect(w, r, "/account/login?done=password_set")
	}
}

// ---- Forgotten password ----

func (s *server) forgotForm(w http.ResponseWriter, r *http.Request) {
	v, err := s.authView(w, r, "forgot.title")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.LangBase = "/account/forgot"
	s.render(w, r, http.StatusOK, "forgot", v)
}

func (s *server) forgot(w http.ResponseWriter, r *http.Request) {
	v, err := s.authView(w, r, "forgot.title")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.LangBase = "/account/forgot"
	email := strings.TrimSpace(r.PostFormValue("email"))
	if email == "" {
		v.Errors.Add("email", "required", "is required", nil)
		s.render(w, r, http.StatusUnprocessableEntity, "forgot", v)
		return
	}
	// The same answer whether or not the address belongs to an account.
	if err := s.acc.RequestPasswordReset(r.Context(), email); err != nil {
		var verrs validation.Errors
		if !errors.As(err, &verrs) {
			s.fail(w, r, err)
			return
		}
	}
	v.Data = map[string]any{"Sent": true}
	s.render(w, r, http.StatusOK, "forgot", v)
}

// ---- Own account ----

type accountPageData struct {
	User     account.User
	Sessions []account.Session
	MFA      account.MFAMode
}

func (s *server) accountPage(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "account")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderAccount(w, r, v, http.StatusOK)
}

func (s *server) renderAccount(w http.ResponseWriter, r *http.Request, v *view, status int) {
	p := principal(r)
	u, err := s.acc.Me(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sessions, err := s.acc.Sessions(r.Context(), p, p.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for i := range sessions {
		sessions[i].Current = sessions[i].Current || sessions[i].ID == p.SessionID
	}
	v.Title = v.T("account.title")
	v.LangBase = "/account"
	v.Data = &accountPageData{User: u, Sessions: sessions, MFA: s.opts.MFA}
	s.render(w, r, status, "account", v)
}

// accountFormError shows the account page with the errors of one of its forms.
func (s *server) accountFormError(w http.ResponseWriter, r *http.Request, err error, field string) {
	v, verr := s.adminView(w, r, "account")
	if verr != nil {
		s.fail(w, r, verr)
		return
	}
	var verrs validation.Errors
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &verrs):
		v.Errors = verrs
	case errors.Is(err, account.ErrBadCredentials):
		v.Errors.Add(field, "wrong_password", "wrong password", nil)
	case errors.Is(err, account.ErrEmailTaken):
		v.Errors.Add("email", "taken", "already used", nil)
		status = http.StatusConflict
	case errors.Is(err, account.ErrForbidden):
		v.Alert = v.T("account.not_allowed")
		status = http.StatusForbidden
	default:
		if m, ok := lockedMinutes(err); ok {
			v.Alert = v.TN("login.locked", m)
			status = http.StatusTooManyRequests
			break
		}
		s.fail(w, r, err)
		return
	}
	s.renderAccount(w, r, v, status)
}

// renewed gives the session a new cookie token after a change of privileges or credentials.
func (s *server) renewed(w http.ResponseWriter, r *http.Request) bool {
	if err := s.sm.RenewToken(r.Context()); err != nil {
		s.fail(w, r, err)
		return false
	}
	return true
}

func (s *server) accountPassword(w http.ResponseWriter, r *http.Request) {
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	current, next := f.password("current_password"), f.password("password")
	if len(f.errs) > 0 {
		s.accountFormError(w, r, f.errs, "")
		return
	}
	if err := s.acc.ChangePassword(r.Context(), principal(r), current, next, f.checkbox("end_others")); err != nil {
		s.accountFormError(w, r, err, "current_password")
		return
	}
	if s.renewed(w, r) {
		redirect(w, r, "/account?done=password_changed")
	}
}

func (s *server) accountEmail(w http.ResponseWriter, r *http.Request) {
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	email := f.str("email")
	if email == "" {
		f.errs.Add("email", "required", "is required", nil)
	}
	current := f.password("email_password")
	if len(f.errs) > 0 {
		s.accountFormError(w, r, f.errs, "")
		return
	}
	if err := s.acc.ChangeEmail(r.Context(), principal(r), current, email); err != nil {
		s.accountFormError(w, r, err, "email_password")
		return
	}
	if s.renewed(w, r) {
		redirect(w, r, "/account?done=email_changed")
	}
}

// mfaForm reads the form of an MFA change on the account page: turning MFA on or off needs the
// current password (mfa_password). false: it has answered (422 without it).
func (s *server) mfaForm(w http.ResponseWriter, r *http.Request) (*form, string, bool) {
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, "", false
	}
	current := f.password("mfa_password")
	if len(f.errs) > 0 {
		s.accountFormError(w, r, f.errs, "")
		return nil, "", false
	}
	return f, current, true
}

func (s *server) accountMFABegin(w http.ResponseWriter, r *http.Request) {
	if s.opts.MFA == account.MFADisabled {
		s.fail(w, r, errPageNotFound)
		return
	}
	// Re-authentication first (ASVS 7.5.1): a session left open on a shared computer must not
	// be enough to bind someone else's authenticator to the account.
	_, current, ok := s.mfaForm(w, r)
	if !ok {
		return
	}
	p := principal(r)
	if err := s.acc.Reauthenticate(r.Context(), p, current); err != nil {
		s.accountFormError(w, r, err, "mfa_password")
		return
	}
	s.beginEnrolment(w, r, p.UserID, "/account/mfa/confirm", true)
}

func (s *server) accountMFAConfirm(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	codes, v, ok := s.confirmEnrolment(w, r, p.UserID, "/account/mfa/confirm", true)
	if !ok {
		return
	}
	if r.PostFormValue("end_others") != "" {
		if err := s.acc.EndOtherSessions(r.Context(), p); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if !s.renewed(w, r) {
		return
	}
	v.Title = v.T("mfa.recovery_title")
	v.Data = &enrolPage{Recovery: codes, ContinueTo: "/account?done=mfa_enabled"}
	s.render(w, r, http.StatusOK, "mfa_recovery", v)
}

func (s *server) accountMFADisable(w http.ResponseWriter, r *http.Request) {
	f, current, ok := s.mfaForm(w, r)
	if !ok {
		return
	}
	p := principal(r)
	if err := s.acc.DisableMFA(r.Context(), p, current); err != nil {
		s.accountFormError(w, r, err, "mfa_password")
		return
	}
	if f.checkbox("end_others") {
		if err := s.acc.EndOtherSessions(r.Context(), p); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if s.renewed(w, r) {
		redirect(w, r, "/account?done=mfa_disabled")
	}
}

func (s *server) accountEndSession(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	sid := r.PathValue("sid")
	err := s.acc.EndSession(r.Context(), p, p.UserID, sid)
	s.sessionEnded(w, r, err, sid, "/account?done=session_ended")
}

// sessionEnded answers the ending of session sid (own or, on the users page, another user's):
// 404 for one not found or not the principal's to end, the login page after ending one's
// current session, else back.
func (s *server) sessionEnded(w http.ResponseWriter, r *http.Request, err error, sid, back string) {
	switch {
	case errors.Is(err, account.ErrNotFound), errors.Is(err, account.ErrForbidden):
		s.fail(w, r, errPageNotFound)
	case err != nil:
		s.fail(w, r, err)
	case sid == principal(r).SessionID:
		_ = s.sm.Destroy(r.Context())
		redirect(w, r, "/account/login?done=logged_out")
	default:
		redirect(w, r, back)
	}
}

func (s *server) accountEndOthers(w http.ResponseWriter, r *http.Request) {
	if err := s.acc.EndOtherSessions(r.Context(), principal(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/account?done=sessions_ended")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
