package web

import (
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

//go:embed locales/*.toml
var localeFS embed.FS

// Languages are the UI languages, the first being the fallback when nothing else matches.
var Languages = []string{"de", "en"}

// langCookie remembers the language chosen with ?lang=.
const langCookie = "lang"

// translator holds one localizer per supported language.
type translator struct {
	bundle     *i18n.Bundle
	localizers map[string]*i18n.Localizer
	matcher    language.Matcher
	tags       []language.Tag
	fallback   string
	log        *slog.Logger
}

func newTranslator(fallback string, log *slog.Logger) (*translator, error) {
	if log == nil {
		log = slog.Default()
	}
	bundle, err := loadBundle()
	if err != nil {
		return nil, err
	}
	tr := &translator{bundle: bundle, localizers: map[string]*i18n.Localizer{}, fallback: fallback, log: log}
	// The fallback language comes first: the matcher answers it when nothing matches.
	ordered := []string{fallback}
	for _, l := range Languages {
		if l != fallback {
			ordered = append(ordered, l)
		}
	}
	for _, l := range ordered {
		tr.tags = append(tr.tags, language.MustParse(l))
		tr.localizers[l] = i18n.NewLocalizer(bundle, l)
	}
	tr.matcher = language.NewMatcher(tr.tags)
	return tr, nil
}

func loadBundle() (*i18n.Bundle, error) {
	bundle := i18n.NewBundle(language.German)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, l := range Languages {
		if _, err := bundle.LoadMessageFileFS(localeFS, "locales/active."+l+".toml"); err != nil {
			return nil, fmt.Errorf("web: loading messages for %s: %w", l, err)
		}
	}
	return bundle, nil
}

// messages returns the messages in the message file of one language (for tests).
func messages(lang string) ([]*i18n.Message, error) {
	buf, err := fs.ReadFile(localeFS, "locales/active."+lang+".toml")
	if err != nil {
		return nil, err
	}
	mf, err := i18n.ParseMessageFileBytes(buf, "active."+lang+".toml", map[string]i18n.UnmarshalFunc{"toml": toml.Unmarshal})
	if err != nil {
		return nil, err
	}
	return mf.Messages, nil
}

// messageIDs returns the IDs in the message file of one language (for tests).
func messageIDs(lang string) ([]string, error) {
	msgs, err := messages(lang)
	ids := make([]string, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return ids, err
}

// supported reports whether lang is a UI language.
func supported(lang string) bool {
	for _, l := range Languages {
		if l == lang {
			return true
		}
	}
	return false
}

// negotiate picks the language of a request: an explicit ?lang= (remembered in a cookie by the
// caller), then the cookie, then Accept-Language, then the fallback.
func (tr *translator) negotiate(r *http.Request) (lang string, explicit bool) {
	if q := r.URL.Query().Get("lang"); supported(q) {
		return q, true
	}
	if c, err := r.Cookie(langCookie); err == nil && supported(c.Value) {
		return c.Value, false
	}
	if al := r.Header.Get("Accept-Language"); al != "" {
		tags, _, err := language.ParseAcceptLanguage(al)
		if err == nil && len(tags) > 0 {
			_, i, conf := tr.matcher.Match(tags...)
			if conf != language.No {
				base, _ := tr.tags[i].Base()
				if supported(base.String()) {
					return base.String(), false
				}
			}
		}
	}
	return tr.fallback, false
}

// loc is the translation and formatting context of one request: a language and the business's
// time zone.
type loc struct {
	tr   *translator
	Lang string
	TZ   *time.Location
}

// T translates a message. kv are pairs of template data: "Name", value, ...
func (l loc) T(id string, kv ...any) string {
	return l.translate(id, nil, kv)
}

// TN translates a message with plural forms chosen by n; n is available as {{.Count}}.
func (l loc) TN(id string, n int, kv ...any) string {
	return l.translate(id, n, append([]any{"Count", n}, kv...))
}

func (l loc) translate(id string, count any, kv []any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		data[k] = kv[i+1]
	}
	msg, err := l.tr.localizers[l.Lang].Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
	if err != nil {
		l.tr.log.Error("missing translation", "lang", l.Lang, "id", id, "err", err)
		if msg == "" {
			return id
		}
	}
	return msg
}

// has reports whether a message exists in the language.
func (l loc) has(id string) bool {
	_, err := l.tr.localizers[l.Lang].Localize(&i18n.LocalizeConfig{MessageID: id})
	return err == nil
}

var weekdayIDs = [7]string{"weekday.sunday", "weekday.monday", "weekday.tuesday", "weekday.wednesday", "weekday.thursday", "weekday.friday", "weekday.saturday"}

var monthIDs = [13]string{"", "month.january", "month.february", "month.march", "month.april", "month.may", "month.june", "month.july", "month.august", "month.september", "month.october", "month.november", "month.december"}

// Weekday names a weekday.
func (l loc) Weekday(d time.Weekday) string { return l.T(weekdayIDs[d]) }

// WeekdayShort abbreviates a weekday.
func (l loc) WeekdayShort(d time.Weekday) string { return l.T(weekdayIDs[d] + ".short") }

func (l loc) dateData(d schedule.Date) []any {
	return []any{
		"Weekday", l.Weekday(d.Weekday()),
		"WeekdayShort", l.WeekdayShort(d.Weekday()),
		"Day", d.Day,
		"Day2", fmt.Sprintf("%02d", d.Day),
		"Month", l.T(monthIDs[d.Month]),
		"MonthShort", l.T(monthIDs[d.Month] + ".short"),
		"MonthNum", int(d.Month),
		"Month2", fmt.Sprintf("%02d", int(d.Month)),
		"Year", d.Year,
	}
}

// DateLong formats a date like "Dienstag, 3. März 2026" / "Tuesday, March 3, 2026".
func (l loc) DateLong(d schedule.Date) string { return l.T("format.date_long", l.dateData(d)...) }

// DateShort formats a date like "Di., 3.3." / "Tue, Mar 3".
func (l loc) DateShort(d schedule.Date) string { return l.T("format.date_short", l.dateData(d)...) }

// DateNumeric formats a date like "03.03.2026" / "03/03/2026".
func (l loc) DateNumeric(d schedule.Date) string {
	return l.T("format.date_numeric", l.dateData(d)...)
}

// DayMonth formats a date like "3. März" / "March 3".
func (l loc) DayMonth(d schedule.Date) string { return l.T("format.day_month", l.dateData(d)...) }

// local converts an instant to the business's time zone.
func (l loc) local(t time.Time) time.Time { return t.In(l.TZ) }

// DateOf is the local date of an instant in the business's time zone.
func (l loc) DateOf(t time.Time) schedule.Date { return schedule.DateOf(l.local(t)) }

// Time formats the local time of day of an instant, like "14:30" / "2:30 PM".
func (l loc) Time(t time.Time) string {
	t = l.local(t)
	return l.clock(t.Hour(), t.Minute())
}

// Clock formats a wall-clock time.
func (l loc) Clock(c schedule.Clock) string { return l.clock(int(c)/60, int(c)%60) }

func (l loc) clock(h, m int) string {
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	ampm := l.T("time.am")
	if h >= 12 && h < 24 {
		ampm = l.T("time.pm")
	}
	return l.T("format.time", "H24", fmt.Sprintf("%02d", h), "H12", h12, "MM", fmt.Sprintf("%02d", m), "AMPM", ampm)
}

// DateTime formats an instant's local date and time.
func (l loc) DateTime(t time.Time) string {
	return l.T("format.datetime", "Date", l.DateLong(l.DateOf(t)), "Time", l.Time(t))
}

// DateTimeShort formats an instant's local date and time compactly.
func (l loc) DateTimeShort(t time.Time) string {
	return l.T("format.datetime_short", "Date", l.DateNumeric(l.DateOf(t)), "Time", l.Time(t))
}

// TimeRange formats "14:30–15:00".
func (l loc) TimeRange(a, b time.Time) string {
	return l.T("format.time_range", "From", l.Time(a), "To", l.Time(b))
}

// Minutes formats a duration in minutes ("30 Min." / "30 min").
func (l loc) Minutes(d time.Duration) string {
	return l.TN("format.minutes", int(d/time.Minute))
}

// FieldMessage translates a validation error by its code, with its params. An unknown code falls
// back to a generic message (and is logged), never to untranslated text.
func (l loc) FieldMessage(fe *validation.FieldError) string {
	if fe == nil {
		return ""
	}
	id := "validation." + fe.Field + "." + fe.Code // a field's own wording, if it has one
	if !l.has(id) {
		id = "validation." + fe.Code
	}
	if !l.has(id) {
		l.tr.log.Warn("untranslated validation code", "code", fe.Code, "field", fe.Field)
		id = "validation.invalid"
	}
	var kv []any
	for k, v := range fe.Params {
		if len(k) > 0 {
			k = strings.ToUpper(k[:1]) + k[1:]
		}
		kv = append(kv, k, v)
	}
	return l.T(id, kv...)
}
