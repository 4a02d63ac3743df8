// Package mail composes Slotbook's e-mails (plain text with an HTML alternative and, for
// bookings, an .ics attachment) in German ("Sie") or English, and sends them over SMTP with
// mandatory TLS (github.com/wneessen/go-mail). Which mails exist and when they are sent is
// package outbox's business; this package only turns one queued mail into a message.
package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/slotbook/slotbook/app/internal/ics"
)

//go:embed locales/*.toml
var localeFS embed.FS

// Languages of the mails; DefaultLanguage is used for ” (the business's language) and anything
// unknown.
var Languages = []string{"de", "en"}

// DefaultLanguage is the business's language (the staff's mails, account mails): German, as the
// web pages' fallback.
const DefaultLanguage = "de"

// Message is a composed mail.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// ICS is the calendar attachment (nil: none), ICSMethod its METHOD (REQUEST or CANCEL).
	ICS       []byte
	ICSMethod string
}

// Renderer composes messages. It is safe for concurrent use.
type Renderer struct {
	bundle *i18n.Bundle
	text   *texttemplate.Template
	html   *htmltemplate.Template
}

// NewRenderer loads the messages and templates.
func NewRenderer() (*Renderer, error) {
	bundle := i18n.NewBundle(language.German)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, l := range Languages {
		if _, err := bundle.LoadMessageFileFS(localeFS, "locales/mail."+l+".toml"); err != nil {
			return nil, fmt.Errorf("mail: loading messages for %s: %w", l, err)
		}
	}
	text, err := texttemplate.New("text").Parse(textLayout)
	if err != nil {
		return nil, err
	}
	html, err := htmltemplate.New("html").Parse(htmlLayout)
	if err != nil {
		return nil, err
	}
	return &Renderer{bundle: bundle, text: text, html: html}, nil
}

// content is what the layouts render: the same for the text and the HTML part.
type content struct {
	Lang       string
	Subject    string
	Greeting   string
	Paragraphs []string
	Details    []detail
	LinkIntro  string
	Link       string
	LinkText   string
	After      []string
	Footer     string
}

type detail struct{ Label, Value string }

const textLayout = `{{.Greeting}}

{{range .Paragraphs}}{{.}}

{{end}}{{range .Details}}{{.Label}}: {{.Value}}
{{end}}{{if .Details}}
{{end}}{{if .Link}}{{.LinkIntro}}
{{.Link}}

{{end}}{{range .After}}{{.}}

{{end}}-- 
{{.Footer}}
`

const htmlLayout = `<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: sans-serif; line-height: 1.5; color: #222;">
<p>{{.Greeting}}</p>
{{range .Paragraphs}}<p>{{.}}</p>
{{end}}{{if .Details}}<table role="presentation" style="border-collapse: collapse;">
{{range .Details}}<tr><th scope="row" style="text-align: left; padding: 2px 12px 2px 0;">{{.Label}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{end}}{{if .Link}}<p>{{.LinkIntro}}<br><a href="{{.Link}}">{{.Link}}</a></p>
{{end}}{{range .After}}<p>{{.}}</p>
{{end}}<hr><p style="font-size: small; color: #555;">{{.Footer}}</p>
</body></html>
`

type localizer struct {
	l    *i18n.Localizer
	lang string
}

func (r *Renderer) localizer(lang string) localizer {
	if lang != "de" && lang != "en" {
		lang = DefaultLanguage
	}
	return localizer{i18n.NewLocalizer(r.bundle, lang), lang}
}

// t translates id with key-value template data; a missing message is a bug the tests catch.
func (l localizer) t(id string, kv ...any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		data[kv[i].(string)] = kv[i+1]
	}
	s, err := l.l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

func clock(t time.Time) string { return fmt.Sprintf("%02d:%02d", t.Hour(), t.Minute()) }

// when is an appointment's date and time range in its zone.
func (l localizer) when(start, end time.Time, loc *time.Location) string {
	start, end = start.In(loc), end.In(loc)
	return l.t("format.when", "Weekday", strings.Split(l.t("weekdays"), ",")[start.Weekday()],
		"Day", start.Day(), "Month", strings.Split(l.t("months"), ",")[start.Month()-1], "Year", start.Year(),
		"From", clock(start), "To", clock(end), "Zone", loc.String())
}

// date is a short date with time, for subjects and deadlines.
func (l localizer) date(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return l.t("format.date", "Day", t.Day(), "Month", strings.Split(l.t("months"), ",")[t.Month()-1],
		"Month2", fmt.Sprintf("%02d", int(t.Month())), "Year", t.Year(), "Time", clock(t))
}

func (r *Renderer) compose(to string, c content, icsFile []byte, method string) (*Message, error) {
	var text, html bytes.Buffer
	if err := r.text.Execute(&text, c); err != nil {
		return nil, err
	}
	if err := r.html.Execute(&html, c); err != nil {
		return nil, err
	}
	return &Message{To: to, Subject: c.Subject, Text: text.String(), HTML: html.String(), ICS: icsFile, ICSMethod: method}, nil
}

// BookingMail is one mail about a booking: to the customer (templates booking_created,
// booking_rescheduled, booking_cancelled, booking_reminder) or the staff member (staff_booking_*).
type BookingMail struct {
	Template string
	To       string
	Lang     string
	// The booking as of the event.
	BookingID int64
	Sequence  int
	Start     time.Time
	End       time.Time
	Location  *time.Location
	Business  string
	Service   string
	Staff     string
	Customer  string
	// ManageURL is the customer's link ("" if unknown); Deadline the end of online changes.
	ManageURL string
	Deadline  time.Time
	// BookURL is the public booking page (for the cancellation mail).
	BookURL string
	// Contact is the business's contact (e-mail, phone) or "".
	Contact string
	// From is the sender (the ORGANIZER of the invitation); Host the host of the UID.
	From     string
	FromName string
	Host     string
	Now      time.Time
}

// IsBookingTemplate reports whether template is one of BookingMail's.
func IsBookingTemplate(template string) bool {
	switch strings.TrimPrefix(template, "staff_") {
	case "booking_created", "booking_rescheduled", "booking_cancelled":
		return true
	}
	return template == "booking_reminder"
}

// Booking composes a booking mail.
func (r *Renderer) Booking(m BookingMail) (*Message, error) {
	if !IsBookingTemplate(m.Template) {
		return nil, fmt.Errorf("mail: unknown booking template %q", m.Template)
	}
	l := r.localizer(m.Lang)
	staffMail := strings.HasPrefix(m.Template, "staff_")
	cancelled := strings.HasSuffix(m.Template, "_cancelled")
	date := l.date(m.Start, m.Location)
	c := content{Lang: l.lang,
		Subject: l.t(m.Template+".subject", "Service", m.Service, "Date", date, "Business", m.Business),
		Footer:  l.t("footer", "Business", m.Business)}
	name := m.Customer
	if staffMail {
		name = m.Staff
	}
	c.Greeting = l.t("greeting.anonymous")
	if name != "" {
		c.Greeting = l.t("greeting", "Name", name)
	}
	c.Paragraphs = []string{l.t(m.Template+".intro", "Business", m.Business)}
	c.Details = []detail{{l.t("label.when"), l.when(m.Start, m.End, m.Location)}, {l.t("label.service"), m.Service}}
	if staffMail {
		if m.Customer != "" {
			c.Details = append(c.Details, detail{l.t("label.customer"), m.Customer})
		}
	} else {
		c.Details = append(c.Details, detail{l.t("label.staff"), m.Staff})
		if m.ManageURL != "" && !cancelled {
			c.LinkIntro, c.Link = l.t("manage.link"), m.ManageURL
			if !m.Deadline.IsZero() && m.Deadline.After(m.Now) {
				c.After = append(c.After, l.t("manage.deadline", "When", l.date(m.Deadline, m.Location)))
			}
		}
		if cancelled && m.BookURL != "" {
			c.After = append(c.After, l.t("booking_cancelled.outro", "URL", m.BookURL))
		}
		if m.Contact != "" {
			c.After = append(c.After, l.t("contact", "Business", m.Business, "Contact", m.Contact))
		}
	}
	if cancelled {
		c.After = append(c.After, l.t("ics.note_cancel"))
	} else {
		c.After = append(c.After, l.t("ics.note"))
	}
	summary := m.Service + " – " + m.Business
	if staffMail && m.Customer != "" {
		summary = m.Service + " – " + m.Customer
	}
	ev := ics.Event{BookingID: m.BookingID, Host: m.Host, Sequence: m.Sequence, Start: m.Start, End: m.End,
		Stamp: m.Now, Summary: summary, Cancelled: cancelled, Organizer: m.From, OrganizerName: m.Business, Attendee: m.To}
	if !staffMail {
		ev.AttendeeName = m.Customer
		if m.ManageURL != "" {
			ev.URL = m.ManageURL
			ev.Description = l.t("manage.link") + " " + m.ManageURL
		}
	}
	file, method := ics.Invite(ev)
	return r.compose(m.To, c, file, method)
}

// AccountTemplates are the mails of the account service and the data protection requests, with
// their data: invite {link, name, inviter, role, expires_at, business}, password_reset {link,
// name, expires_at, business}, password_changed and email_changed {name, business},
// erasure_confirm {link, business, expires_at}.
var AccountTemplates = []string{"invite", "password_reset", "password_changed", "email_changed", "erasure_confirm"}

// Account composes a mail whose data was queued with it (see AccountTemplates).
func (r *Renderer) Account(template, to, lang string, data map[string]any, loc *time.Location) (*Message, error) {
	known := false
	for _, t := range AccountTemplates {
		known = known || t == template
	}
	if !known {
		return nil, fmt.Errorf("mail: unknown template %q", template)
	}
	str := func(k string) string { s, _ := data[k].(string); return s }
	l := r.localizer(lang)
	business := str("business")
	c := content{Lang: l.lang, Subject: l.t(template+".subject", "Business", business), Footer: l.t("footer", "Business", business)}
	c.Greeting = l.t("greeting.anonymous")
	if n := str("name"); n != "" {
		c.Greeting = l.t("greeting", "Name", n)
	}
	c.Paragraphs = []string{l.t(template+".intro", "Business", business, "Inviter", str("inviter"), "Role", str("role"))}
	if link := str("link"); link != "" {
		c.LinkIntro, c.Link = l.t("link.open")+":", link
	}
	if exp := str("expires_at"); exp != "" {
		if t, err := time.Parse(time.RFC3339Nano, exp); err == nil {
			c.After = append(c.After, l.t(template+".expires", "When", l.date(t, loc)))
		}
	}
	return r.compose(to, c, nil, "")
}

// itoa for ids in headers.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
