package store

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slotbook/slotbook/app/internal/validation"
)

func checkName(errs *validation.Errors, field, name string) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(name)); {
	case n == 0:
		errs.Add(field, "required", "Enter a name.", nil)
	case n > 200:
		errs.Add(field, "too_long", "Must be at most 200 characters.", map[string]any{"max": 200})
	}
}

func checkMinutes(errs *validation.Errors, field string, d time.Duration, lo, hi int) {
	if d%time.Minute != 0 || d < time.Duration(lo)*time.Minute || d > time.Duration(hi)*time.Minute {
		errs.Add(field, "range", "Must be a whole number of minutes in the allowed range.",
			map[string]any{"min": lo, "max": hi})
	}
}

// checkOptionalEmail accepts "" or a plain address (no display name).
func checkOptionalEmail(errs *validation.Errors, field, email string) {
	if email == "" {
		return
	}
	if !ValidEmail(email) {
		errs.Add(field, "invalid", "Enter a valid e-mail address.", nil)
	}
}

// ValidEmail reports whether s is a plain e-mail address (name@domain, no display name, at most
// 254 characters, a dot in the domain).
func ValidEmail(s string) bool {
	if len(s) > 254 || len(s) < 3 || strings.TrimSpace(s) != s {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || len(local) > 64 || !strings.Contains(domain, ".") ||
		strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.ContainsAny(domain, "[] ") {
		return false
	}
	return true
}
