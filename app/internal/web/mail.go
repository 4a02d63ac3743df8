package web

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slotbook/slotbook/app/internal/outbox"
	"github.com/slotbook/slotbook/app/internal/store"
)

// Mail is what the pages need of mail delivery: the queue and the mail settings for /admin/mail,
// the business contact for the manage page, the staff calendar feeds. NewMail is the real one.
type Mail interface {
	// Configured reports whether a mail server is configured (SLOTBOOK_SMTP_HOST…).
	Configured() bool
	Pending(ctx context.Context, limit int) ([]outbox.Entry, outbox.Counts, error)
	Retry(ctx context.Context, id int64) (bool, error)

	MailSettings(ctx context.Context) (store.MailSettings, error)
	UpdateMailSettings(ctx context.Context, m store.MailSettings) error

	StaffFeed(ctx context.Context, staffID int64) (*time.Time, error)
	CreateStaffFeed(ctx context.Context, staffID int64) (string, error)
	RevokeStaffFeed(ctx context.Context, staffID int64) (bool, error)
	StaffFeedByToken(ctx context.Context, token string) (int64, error)
	StaffFeedEvents(ctx context.Context, staffID int64, from, to time.Time) ([]store.FeedEvent, error)
}

// NewMail is Mail on the store's database; configured tells whether SMTP is set up.
func NewMail(st *store.Store, configured bool) Mail { return mailBackend{st, configured} }

type mailBackend struct {
	*store.Store
	configured bool
}

func (m mailBackend) Configured() bool { return m.configured }

func (m mailBackend) Pending(ctx context.Context, limit int) ([]outbox.Entry, outbox.Counts, error) {
	return outbox.Pending(ctx, m.Pool(), limit)
}

func (m mailBackend) Retry(ctx context.Context, id int64) (bool, error) {
	return outbox.Retry(ctx, m.Pool(), id)
}

// defaultMail is Mail on the real backend's database (nil for other backends).
func defaultMail(b Backend, opts Options) Mail {
	if bk, ok := b.(backend); ok && bk.Store != nil {
		return NewMail(bk.Store, opts.MailConfigured)
	}
	return nil
}

// mailPageLimit is how many unsent mails /admin/mail lists.
const mailPageLimit = 200

type mailPage struct {
	Configured bool
	Counts     outbox.Counts
	Entries    []outbox.Entry
	Form       formValues
}

func mailValues(m store.MailSettings) formValues {
	h := func(d time.Duration) string { return strconv.Itoa(int(d / time.Hour)) }
	return formValues{
		"reminder1":    {h(m.Reminder1)},
		"reminder2":    {h(m.Reminder2)},
		"contactEmail": {m.ContactEmail},
		"contactPhone": {m.ContactPhone},
	}
}

// mailView is the view of /admin/mail, which is not found without mail delivery. false: it has
// answered.
func (s *server) mailView(w http.ResponseWriter, r *http.Request) (*view, bool) {
	v, err := s.adminView(w, r, "mail")
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if s.mail == nil {
		s.notFound(w, r)
		return nil, false
	}
	return v, true
}

// adminMail lists the queued and failed mails, with the reminder and contact settings.
func (s *server) adminMail(w http.ResponseWriter, r *http.Request) {
	v, ok := s.mailView(w, r)
	if !ok {
		return
	}
	set, err := s.mail.MailSettings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderMail(w, r, v, http.StatusOK, mailValues(set))
}

func (s *server) renderMail(w http.ResponseWriter, r *http.Request, v *view, status int, fv formValues) {
	list, counts, err := s.mail.Pending(r.Context(), mailPageLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("admin.mail.title")
	v.LangBase = "/admin/mail"
	v.Data = &mailPage{Configured: s.mail.Configured(), Counts: counts, Entries: list, Form: fv}
	s.render(w, r, status, "admin_mail", v)
}

// adminMailSettingsSave saves the reminders (hours before, 0 = off) and the business contact.
func (s *server) adminMailSettingsSave(w http.ResponseWriter, r *http.Request) {
	v, ok := s.mailView(w, r)
	if !ok {
		return
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	maxHours := int(store.MaxReminder / time.Hour)
	m := store.MailSettings{
		Reminder1:    time.Duration(f.integer("reminder1", 0, maxHours)) * time.Hour,
		Reminder2:    time.Duration(f.optionalInt("reminder2", 0, maxHours)) * time.Hour,
		ContactEmail: f.text("contactEmail", false, 254),
		ContactPhone: f.text("contactPhone", false, 40),
	}
	if m.ContactEmail != "" && f.errs.For("contactEmail") == nil && !validEmail(m.ContactEmail) {
		f.errs.Add("contactEmail", "invalid_email", "is not an email address", nil)
	}
	if err := f.saveIfValid(func() error { return s.mail.UpdateMailSettings(r.Context(), m) }); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.errs) > 0 {
		v.Errors = f.errs
		s.renderMail(w, r, v, http.StatusUnprocessableEntity, formValues(f.values))
		return
	}
	redirect(w, r, "/admin/mail?done=mail_saved")
}

// adminMailRetry queues an unsent mail again at once (POST); 404 for a sent or unknown one.
func (s *server) adminMailRetry(w http.ResponseWriter, r *http.Request) {
	if s.mail == nil {
		s.notFound(w, r)
		return
	}
	id, err := pathID(r, "id")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ok, err := s.mail.Retry(r.Context(), id)
	switch {
	case err != nil:
		s.fail(w, r, err)
	case !ok:
		s.notFound(w, r)
	default:
		redirect(w, r, "/admin/mail?done=mail_retried")
	}
}

// mailContact is the business contact the manage page shows after the change deadline.
type mailContact struct {
	Email, Phone string
}

// contact loads the business contact (empty without mail settings).
func (s *server) contact(ctx context.Context) (mailContact, error) {
	if s.mail == nil {
		return mailContact{}, nil
	}
	m, err := s.mail.MailSettings(ctx)
	if err != nil {
		return mailContact{}, err
	}
	return mailContact{Email: m.ContactEmail, Phone: m.ContactPhone}, nil
}

// PhoneURL is the tel: link of the phone number (digits and a leading + only).
func (c mailContact) PhoneURL() template.URL {
	var b strings.Builder
	for i, r := range c.Phone {
		if r >= '0' && r <= '9' || r == '+' && i == 0 {
			b.WriteRune(r)
		}
	}
	return template.URL("tel:" + b.String())
}
