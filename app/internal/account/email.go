package account

import (
	"net/mail"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/slotbook/slotbook/app/internal/validation"
)

// NormaliseEmail is the form e-mail addresses are stored and compared in: trimmed, NFC, lower
// case. Lower-casing the local part is technically wrong (RFC 5321 leaves it to the receiving
// server) but no real mail system distinguishes case, and "one account per person" needs
// Anna@ and anna@ to be the same account.
func NormaliseEmail(email string) string {
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(email)))
}

// checkEmail adds a field error for an address (already normalised) that is not a plain
// local@domain.tld address: no display name, no spaces or control characters, no colon (it
// separates issuer and account in TOTP key URIs), at most 254 bytes.
func checkEmail(errs *validation.Errors, field, email string) {
	switch {
	case email == "":
		errs.Add(field, "required", "is required", nil)
		return
	case len(email) > 254:
		errs.Add(field, "too_long", "is too long", map[string]any{"max": 254})
		return
	}
	at := strings.LastIndexByte(email, '@')
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || at < 1 ||
		!strings.Contains(email[at+1:], ".") || strings.HasSuffix(email, ".") ||
		strings.ContainsAny(email, ":<>\"") ||
		strings.IndexFunc(email, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		errs.Add(field, "invalid_email", "is not a valid e-mail address", nil)
	}
}
