package web

import (
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

func ids(t *testing.T, lang string) map[string]bool {
	t.Helper()
	list, err := messageIDs(lang)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, id := range list {
		m[id] = true
	}
	return m
}

// TestMessagesComplete: both languages have exactly the same message IDs.
func TestMessagesComplete(t *testing.T) {
	de, en := ids(t, "de"), ids(t, "en")
	if len(de) < 100 {
		t.Fatalf("only %d German messages", len(de))
	}
	for id := range de {
		if !en[id] {
			t.Errorf("%s: German only", id)
		}
	}
	for id := range en {
		if !de[id] {
			t.Errorf("%s: English only", id)
		}
	}
}

// usedIDs collects the message IDs the templates and the Go code name literally.
func usedIDs(t *testing.T) []string {
	t.Helper()
	set := map[string]bool{}
	tplRe := regexp.MustCompile(`\.(?:T|TN) "([a-z0-9_.]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, p)
		for _, m := range tplRe.FindAllStringSubmatch(string(b), -1) {
			set[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	goRe := regexp.MustCompile(`\.(?:T|TN)\("([a-z][a-z0-9_]*\.[a-z0-9_.]+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goRe.FindAllStringSubmatch(string(b), -1) {
			set[m[1]] = true
		}
	}
	// Error pages: "<id>.title" and "<id>.text".
	for _, e := range []string{"error.not_found", "error.bad_request", "error.forbidden", "error.internal", "error.no_permission", "error.link_invalid"} {
		delete(set, e)
		set[e+".title"], set[e+".text"] = true, true
	}
	// IDs built at run time.
	for _, id := range weekdayIDs {
		set[id], set[id+".short"] = true, true
	}
	for _, id := range monthIDs[1:] {
		set[id], set[id+".short"] = true, true
	}
	for _, l := range Languages {
		set["lang.name."+l] = true
	}
	for _, s := range []string{"confirmed", "cancelled"} {
		set["status."+s] = true
	}
	for _, d := range []string{"created", "cancelled", "moved", "saved", "deleted", "password_changed", "email_changed",
		"mfa_enabled", "mfa_disabled", "session_ended", "sessions_ended", "disabled", "enabled", "mfa_reset"} {
		set["admin.done."+d] = true
	}
	for _, r := range []string{"owner", "admin", "staff", "viewer"} {
		set["role."+r] = true
	}
	for _, d := range []string{} {
		set["admin.done."+d] = true
	}
	for _, id := range stepIDs {
		set[id] = true
	}
	delete(set, "lang.name.")
	delete(set, "admin.done.")
	delete(set, "role.")
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// TestUsedMessagesExist: every ID the pages use exists in both languages.
func TestUsedMessagesExist(t *testing.T) {
	used := usedIDs(t)
	if len(used) < 150 {
		t.Fatalf("found only %d used IDs: the extraction is broken", len(used))
	}
	for _, lang := range Languages {
		have := ids(t, lang)
		for _, id := range used {
			if !have[id] {
				t.Errorf("%s: %s missing", lang, id)
			}
		}
	}
}

// TestValidationCodesTranslated: every (field, code) pair the web, booking and store layers
// report has a message (field-specific or generic) and a field label, in both languages.
func TestValidationCodesTranslated(t *testing.T) {
	re := regexp.MustCompile(`\.Add\(("[a-zA-Z.]+"|[a-zA-Z]+Field\([^)]*\)|HoursField\([^)]*\)|name|field), "([a-z_]+)"`)
	type pair struct{ field, code string }
	var pairs []pair
	for _, glob := range []string{"*.go", "../booking/*.go", "../store/*.go"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				pairs = append(pairs, pair{strings.Trim(m[1], `"`), m[2]})
			}
		}
	}
	if len(pairs) < 30 {
		t.Fatalf("found only %d validation codes: the extraction is broken", len(pairs))
	}
	for _, lang := range Languages {
		have := ids(t, lang)
		for _, p := range pairs {
			if !have["validation."+p.field+"."+p.code] && !have["validation."+p.code] {
				t.Errorf("%s: no message for code %q (field %s)", lang, p.code, p.field)
			}
			if strings.HasPrefix(p.field, `"`) || !strings.ContainsAny(p.field[:1], "abcdefghijklmnopqrstuvwxyz") {
				continue
			}
			if strings.Contains(p.field, "(") || p.field == "name" || p.field == "field" {
				continue // dynamic field names: checked below
			}
			if !have["field."+p.field] {
				t.Errorf("%s: no label field.%s", lang, p.field)
			}
		}
		for _, d := range weekOrder {
			if !have["field."+hoursField(d)] {
				t.Errorf("%s: no label field.%s", lang, hoursField(d))
			}
		}
	}
}

// TestMessagesRender executes every message of both languages with sample data: no template
// errors, no "<no value>".
func TestMessagesRender(t *testing.T) {
	tr, err := newTranslator("de", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{}
	for _, k := range []string{"Weekday", "WeekdayShort", "Day", "Day2", "Month", "MonthShort", "MonthNum", "Month2", "Year",
		"H24", "H12", "MM", "AMPM", "Date", "Time", "From", "To", "TZ", "N", "Total", "Business", "Service", "Duration",
		"Staff", "When", "Name", "Query", "ID", "Max", "Min", "Start", "End", "MaxAdvanceDays", "MinNoticeMinutes", "Count", "Email", "Reason"} {
		data[k] = "X"
	}
	for _, lang := range Languages {
		msgs, err := messages(lang)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			id := m.ID
			counts := []any{nil}
			if m.One != "" {
				counts = []any{1, 3}
			}
			for _, n := range counts {
				msg, err := tr.localizers[lang].Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: n})
				if err != nil {
					t.Errorf("%s %s: %v", lang, id, err)
				}
				if strings.Contains(msg, "<no value>") || msg == "" {
					t.Errorf("%s %s: %q", lang, id, msg)
				}
			}
		}
	}
}

func TestFormats(t *testing.T) {
	tr, err := newTranslator("de", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 10, 25, 13, 5, 0, 0, time.UTC) // 14:05 in Berlin (CET after the change)
	for _, c := range []struct {
		lang string
		got  func(l loc) string
		want string
	}{
		{"de", func(l loc) string { return l.DateTime(at) }, "Sonntag, 25. Oktober 2026 um 14:05 Uhr"},
		{"en", func(l loc) string { return l.DateTime(at) }, "Sunday, October 25, 2026 at 2:05 PM"},
		{"de", func(l loc) string { return l.DateShort(l.DateOf(at)) }, "So., 25.10."},
		{"en", func(l loc) string { return l.DateShort(l.DateOf(at)) }, "Sun, Oct 25"},
		{"de", func(l loc) string { return l.DateNumeric(l.DateOf(at)) }, "25.10.2026"},
		{"en", func(l loc) string { return l.DateNumeric(l.DateOf(at)) }, "10/25/2026"},
		{"en", func(l loc) string { return l.Clock(0) }, "12:00 AM"},
		{"en", func(l loc) string { return l.Clock(12 * 60) }, "12:00 PM"},
		{"de", func(l loc) string { return l.Minutes(90 * time.Minute) }, "90 Min."},
	} {
		if got := c.got(loc{tr: tr, Lang: c.lang, TZ: berlin}); got != c.want {
			t.Errorf("%s: %q, want %q", c.lang, got, c.want)
		}
	}
	if !slices.Equal(Languages, []string{"de", "en"}) {
		t.Errorf("languages %v", Languages)
	}
}
