// Package web serves Slotbook's HTML pages: the public booking flow, the customer's manage page
// and the admin pages. Pages are rendered on the server and work without JavaScript; all text goes
// through go-i18n (German, formal "Sie", and English).
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/validation"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the pages.
type Options struct {
	// BaseURL is the public address of the app (e.g. https://book.example.com), used for manage
	// links shown to customers. Empty: links relative to the host of the request.
	BaseURL string
	// Accounts is the account service behind login and the admin pages. Without it, /admin and
	// /account answer 404 (only the public booking pages are served).
	Accounts Accounts
	// SessionStore keeps the cookie sessions (pgxstore in production; nil: in memory).
	SessionStore scs.Store
	// AuditDB reads the audit log for /admin/audit (the database pool).
	AuditDB audit.Querier
	// Mail is the mail queue, the mail settings and the staff calendar feeds (default: NewMail
	// on the real backend's database); MailConfigured tells /admin/mail whether SMTP is set up.
	Mail           Mail
	MailConfigured bool
	// IdleTimeout ends a session unused this long (default DefaultIdleTimeout); SessionLifetime
	// ends any session this old (default DefaultSessionLifetime).
	IdleTimeout     time.Duration
	SessionLifetime time.Duration
	// MFA is SLOTBOOK_MFA: whether users may enrol (Optional) or must (Required).
	MFA account.MFAMode
	// PasswordMinLength is SLOTBOOK_PASSWORD_MIN_LENGTH, for the hint on password forms.
	PasswordMinLength int
	// ClientIP is the client's address; default: the one httpsec.ClientIPContext put into the
	// request's context, else the peer address.
	ClientIP func(*http.Request) string
	// DefaultLanguage is the language when neither ?lang=, the lang cookie nor Accept-Language
	// picks one: "de" (default) or "en".
	DefaultLanguage string
	Logger          *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Customers exports and erases customers' data (default: package gdpr on the real
	// backend's database).
	Customers Customers
}

type server struct {
	b     Backend
	acc   Accounts
	sm    *scs.SessionManager
	opts  Options
	log   *slog.Logger
	now   func() time.Time
	tr    *translator
	pages map[string]*template.Template
	mux   *http.ServeMux
	// mail: /admin/mail, the calendar feeds, the manage page's contact (nil: those answer 404).
	mail Mail
	// sessionMux is mux with the cookie session loaded and saved (for /admin and /account).
	sessionMux http.Handler

	// customers: data-subject rights (nil: those pages answer 404).
	customers Customers

	// chain verifies the audit chain for /admin/audit.
	chain chainCheck
}

// New returns the handler of all pages. It panics if the embedded templates or message files are
// broken, which the package's tests rule out.
func New(b Backend, opts Options) http.Handler {
	s, err := newServer(b, opts)
	if err != nil {
		panic(err)
	}
	return s
}

func newServer(b Backend, opts Options) (*server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if !supported(opts.DefaultLanguage) {
		opts.DefaultLanguage = Languages[0]
	}
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.SessionLifetime <= 0 {
		opts.SessionLifetime = DefaultSessionLifetime
	}
	if opts.PasswordMinLength <= 0 {
		opts.PasswordMinLength = 12
	}
	if opts.MFA == "" {
		opts.MFA = account.MFAOptional
	}
	tr, err := newTranslator(opts.DefaultLanguage, opts.Logger)
	if err != nil {
		return nil, err
	}
	s := &server{b: b, acc: opts.Accounts, opts: opts, log: opts.Logger, now: opts.Now, tr: tr, mux: http.NewServeMux()}
	s.sm = newSessionManager(opts, sessionError(s.log.Error))
	if s.customers = opts.Customers; s.customers == nil {
		s.customers = defaultCustomers(b, opts)
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	if s.mail = opts.Mail; s.mail == nil {
		s.mail = defaultMail(b, opts)
	}
	s.routes()
	return s, nil
}

func (s *server) routes() {
	static, _ := fs.Sub(staticFS, "static")
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	s.mux.Handle("GET /static/", cacheStatic(fileServer))

	s.mux.HandleFunc("GET /{$}", s.home)
	s.mux.HandleFunc("GET /book/{service}", s.chooseStaff)
	s.mux.HandleFunc("GET /book/{service}/times", s.chooseTime)
	s.mux.HandleFunc("GET /book/{service}/details", s.details)
	s.mux.HandleFunc("POST /book/{service}", s.book)
	s.mux.HandleFunc("GET /booked/{token}", s.booked)
	s.mux.HandleFunc("GET /calendar/{file}", s.calendarFeed)
	s.mux.HandleFunc("GET /manage/{token}", s.manage)
	s.mux.HandleFunc("POST /manage/{token}/cancel", s.manageCancel)
	s.mux.HandleFunc("GET /manage/{token}/reschedule", s.rescheduleTimes)
	s.mux.HandleFunc("GET /manage/{token}/reschedule/confirm", s.rescheduleConfirm)
	s.mux.HandleFunc("POST /manage/{token}/reschedule", s.reschedule)
	s.mux.HandleFunc("POST /manage/{token}/erase", s.manageErase)
	s.mux.HandleFunc("GET /erase/{token}", s.eraseConfirm)
	s.mux.HandleFunc("POST /erase/{token}", s.eraseDo)

	if s.acc != nil {
		s.accountRoutes()
		s.registerProtected()
	}
	s.mux.HandleFunc("/", s.notFound)
	s.sessionMux = s.sm.LoadAndSave(s.mux)
}

// ServeHTTP adds security headers, guards POSTs against cross-origin requests and recovers
// from panics with an error page.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving page", "path", r.URL.Path, "panic", v)
			s.serverError(w, r, fmt.Errorf("panic: %v", v))
		}
	}()
	if err := crossOrigin.Check(r); err != nil {
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
		return
	}
	if usesSession(r.URL.Path) {
		w.Header().Set("Cache-Control", "no-store")
		s.sessionMux.ServeHTTP(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// crossOrigin rejects cross-site form posts (browsers send Sec-Fetch-Site / Origin).
var crossOrigin = http.NewCrossOriginProtection()

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// view is the data every template gets: translation and formatting (embedded loc), the
// business, the page's own data and its errors.
type view struct {
	loc
	r        *http.Request
	Business business.Settings
	Title    string
	// Admin pages get the admin navigation.
	Admin bool
	// Nav names the active admin navigation entry.
	Nav string
	// Errors are the validation errors of the page's form.
	Errors validation.Errors
	// Notice is a translated status message (e.g. after a redirect).
	Notice string
	// Alert is a translated error message not tied to a field.
	Alert string
	// LangBase is the GET address the language switch links to (default: this page).
	LangBase string
	Data     any
	Today    schedule.Date
	// P is the signed-in principal (nil on public pages).
	P *access.Principal
	// IdleSeconds is the idle timeout the session warning counts down from.
	IdleSeconds int
	// PasswordMin is the minimum password length (for hints).
	PasswordMin int
}

// newView negotiates the language (remembering an explicit choice in a cookie) and loads the
// business settings.
func (s *server) newView(w http.ResponseWriter, r *http.Request) (*view, error) {
	lang, explicit := s.tr.negotiate(r)
	if explicit {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	w.Header().Add("Vary", "Accept-Language, Cookie")
	v := &view{loc: loc{tr: s.tr, Lang: lang, TZ: time.UTC}, r: r, IdleSeconds: int(s.opts.IdleTimeout / time.Second), PasswordMin: s.opts.PasswordMinLength}
	if p, ok := access.PrincipalFrom(r.Context()); ok {
		v.P = &p
		v.Admin = true
	}
	st, err := s.b.Settings(r.Context())
	if err != nil {
		return v, fmt.Errorf("loading settings: %w", err)
	}
	v.Business = st
	if tz, err := st.Location(); err == nil {
		v.TZ = tz
	} else {
		s.log.Error("bad business time zone", "tz", st.TimeZone, "err", err)
	}
	v.Today = schedule.DateOf(s.now().In(v.TZ))
	return v, nil
}

// LangURL is the address of this page in another language.
func (v *view) LangURL(lang string) string {
	base := v.LangBase
	if base == "" {
		if v.r.Method == http.MethodGet || v.r.Method == http.MethodHead {
			base = v.r.URL.RequestURI()
		} else {
			base = "/"
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		return "/?lang=" + lang
	}
	q := u.Query()
	q.Set("lang", lang)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

// OtherLangs are the languages the switch offers.
func (v *view) OtherLangs() []string {
	var out []string
	for _, l := range Languages {
		if l != v.Lang {
			out = append(out, l)
		}
	}
	return out
}

// Err is the translated error of a field, or "".
func (v *view) Err(field string) string { return v.FieldMessage(v.Errors.For(field)) }

// Msg translates a validation error.
func (v *view) Msg(fe validation.FieldError) string { return v.FieldMessage(&fe) }

// Label names a form field in the error summary.
func (v *view) Label(field string) string {
	if id := "field." + field; v.has(id) {
		return v.T(id)
	}
	return v.T("field.unknown")
}

// step is one entry of the booking progress; the first element only carries the list's label.
type step struct {
	Label   string
	Name    string
	Prefix  string
	Current bool
	Done    bool
}

var stepIDs = []string{"steps.service", "steps.staff", "steps.time", "steps.details", "steps.done"}

// Steps is the booking progress with step current (1-based) highlighted.
func (v *view) Steps(current int) []step {
	out := []step{{Label: v.T("steps.label")}}
	for i, id := range stepIDs {
		out = append(out, step{Name: v.T(id), Prefix: v.T("steps.step", "N", i+1, "Total", len(stepIDs)), Current: i+1 == current, Done: i+1 < current})
	}
	return out
}

// LangName is a language's name in that language.
func (v *view) LangName(lang string) string { return v.T("lang.name." + lang) }

// FieldID is the HTML id of a field's input.
func (v *view) FieldID(field string) string { return fieldID(field) }

func fieldID(field string) string {
	return "f-" + strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(field)
}

// Path is the path of the current request.
func (v *view) Path() string { return v.r.URL.Path }

func (s *server) parseTemplates() error {
	funcs := template.FuncMap{
		"fieldID":     fieldID,
		"formatStart": formatStart,
		"itoa":        itoa,
		"add1":        func(i int) int { return i + 1 },
		"int64ToInt":  func(n int64) int { return int(n) },
		"deref":       func(p *int64) int64 { return *p },
		"dict": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				k, _ := kv[i].(string)
				m[k] = kv[i+1]
			}
			return m
		},
	}
	base, err := template.New("base").Funcs(funcs).ParseFS(templateFS, "templates/_*.html")
	if err != nil {
		return fmt.Errorf("web: parsing layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	s.pages = map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return fmt.Errorf("web: parsing %s: %w", f, err)
		}
		s.pages[name] = t
	}
	return nil
}

// render writes a page with a status.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, page string, v *view) {
	t, ok := s.pages[page]
	if !ok {
		s.serverError(w, r, fmt.Errorf("no template %q", page))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("rendering page", "page", page, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// renderError shows a translated error page; it needs no backend.
func (s *server) renderError(w http.ResponseWriter, r *http.Request, status int, msgID string) {
	v, err := s.newView(w, r)
	if err != nil {
		s.log.Error("error page without settings", "err", err)
	}
	v.Title = v.T(msgID + ".title")
	v.Data = map[string]any{"Message": v.T(msgID + ".text")}
	s.render(w, r, status, "error", v)
}

func (s *server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	if store.Unavailable(err) { // e.g. a database failover: a retry in a few seconds works
		s.log.Warn("serving page: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		s.renderError(w, r, http.StatusServiceUnavailable, "error.internal")
		return
	}
	s.log.Error("serving page", "method", r.Method, "path", r.URL.Path, "err", err)
	s.renderError(w, r, http.StatusInternalServerError, "error.internal")
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, "error.not_found")
}

// redirect after a POST (303 See Other), keeping the language.
func redirect(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// manageURL is the customer's link to their booking.
func (s *server) manageURL(r *http.Request, token string) string {
	return s.absoluteURL(r, "/manage/"+url.PathEscape(token))
}

// absoluteURL is the full address of a path for links that leave the site (mails, calendar
// apps): under the configured base URL, else under the request's host.
func (s *server) absoluteURL(r *http.Request, path string) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL + path
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}
