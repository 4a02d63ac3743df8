package password

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Length limits of a Policy, in Unicode code points after NFC normalisation.
const (
	DefaultMinLength = 12   // ASVS V6.2.1 requires at least 8 and recommends 15
	MinMinLength     = 8    // a lower MinLength is raised to this
	DefaultMaxLength = 128  // ASVS V6.2.9: at least 64 must be allowed
	MinMaxLength     = 64   // a lower (non-zero) MaxLength is raised to this
	MaxMaxLength     = 1024 // a higher MaxLength is lowered to this
)

// Problem codes, stable identifiers the web layer translates (message IDs).
const (
	// CodeTooShort: fewer code points than the minimum; Params["min"].
	CodeTooShort = "too_short"
	// CodeTooLong: more code points than the maximum; Params["max"].
	CodeTooLong = "too_long"
	// CodeCommon: on the common-password list, a simple variant of an entry
	// or a trivial pattern.
	CodeCommon = "common"
	// CodeContainsContext: contains the business name or a word of the
	// user's details; Params["source"] is SourceBusinessName or SourceUser.
	CodeContainsContext = "contains_context"
	// CodeInvalidCharacter: contains a control character or invalid UTF-8.
	CodeInvalidCharacter = "invalid_character"
)

// Values of Params["source"] for CodeContainsContext.
const (
	SourceBusinessName = "business_name"
	SourceUser         = "user"
)

// Problem is one reason a password may not be set. Its fields match
// validation.FieldError, so a handler can add it to validation.Errors under
// the password field.
type Problem struct {
	Code    string         `json:"code"`
	Message string         `json:"message"` // English fallback
	Params  map[string]any `json:"params,omitempty"`
}

// Policy decides which new passwords are acceptable. The zero value is the
// default policy (12 to 128 code points, no business name).
type Policy struct {
	// MinLength is the minimum number of code points: 0 means
	// DefaultMinLength, a value below MinMinLength is raised to it.
	MinLength int
	// MaxLength is the maximum number of code points: 0 means
	// DefaultMaxLength; it is kept within MinMaxLength..MaxMaxLength.
	MaxLength int
	// BusinessName is the tenant's business name. A password containing it,
	// or any word of it, is refused (case, spaces, punctuation and leet
	// spellings are ignored; the name and its words count only from 4 letters
	// or digits on).
	BusinessName string
}

// Limits returns the effective minimum and maximum length after defaults and
// clamping. MinLength never exceeds MaxLength.
func (p Policy) Limits() (minLen, maxLen int) {
	minLen, maxLen = p.MinLength, p.MaxLength
	if minLen == 0 {
		minLen = DefaultMinLength
	}
	minLen = max(minLen, MinMinLength)
	if maxLen == 0 {
		maxLen = DefaultMaxLength
	}
	maxLen = min(max(maxLen, MinMaxLength), MaxMaxLength)
	return min(minLen, maxLen), maxLen
}

// Check returns the problems that forbid password as a new password, or nil
// if it may be set. context holds words of the user's own details that must
// not appear in the password, such as their name or the local part of their
// e-mail address (a full address is reduced to its local part); empty strings
// are ignored. Check does not hash and is cheap; run it before Hasher.Hash at
// registration, password change and reset, never at login.
func (p Policy) Check(password string, context ...string) []Problem {
	minLen, maxLen := p.Limits()
	var problems []Problem
	if !utf8.ValidString(password) || strings.IndexFunc(password, unicode.IsControl) >= 0 {
		problems = append(problems, Problem{Code: CodeInvalidCharacter, Message: "contains a character that is not allowed"})
	}
	if len(password) > MaxPasswordBytes {
		// Far too long to be worth normalising.
		return append(problems, tooLong(maxLen))
	}
	n := utf8.RuneCountInString(norm.NFC.String(password))
	switch {
	case n < minLen:
		problems = append(problems, Problem{Code: CodeTooShort, Message: "is too short", Params: map[string]any{"min": minLen}})
	case n > maxLen:
		problems = append(problems, tooLong(maxLen))
	}
	if commonList().isCommon(password) {
		problems = append(problems, Problem{Code: CodeCommon, Message: "is too common, easy to guess"})
	}
	if containsAny(password, contextTerms(p.BusinessName, false)) {
		problems = append(problems, containsContext(SourceBusinessName))
	}
	var user []string
	for _, c := range context {
		user = append(user, contextTerms(c, true)...)
	}
	if containsAny(password, user) {
		problems = append(problems, containsContext(SourceUser))
	}
	return problems
}

func tooLong(maxLen int) Problem {
	return Problem{Code: CodeTooLong, Message: "is too long", Params: map[string]any{"max": maxLen}}
}

func containsContext(source string) Problem {
	return Problem{Code: CodeContainsContext, Message: "must not contain the business name or your own details",
		Params: map[string]any{"source": source}}
}

// minContextLen is the minimum length, in code points of contextFold, of a
// context term. Shorter terms would refuse too many passwords ("ace" is in
// "spaces").
const minContextLen = 4

// contextTerms returns the folded terms of one context value that a password
// must not contain: the whole value and each of its words. For an e-mail
// address only the local part counts.
func contextTerms(value string, email bool) []string {
	if email {
		if at := strings.LastIndexByte(value, '@'); at >= 0 {
			value = value[:at]
		}
	}
	var terms []string
	if whole := contextFold(value, false, 'i'); utf8.RuneCountInString(whole) >= minContextLen {
		terms = append(terms, whole)
	}
	for _, word := range strings.FieldsFunc(value, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if w := contextFold(word, false, 'i'); utf8.RuneCountInString(w) >= minContextLen {
			terms = append(terms, w)
		}
	}
	return terms
}

// containsAny reports whether the folded password, plain or with leet
// spellings undone, contains one of terms.
func containsAny(password string, terms []string) bool {
	if len(terms) == 0 {
		return false
	}
	forms := []string{
		contextFold(password, false, 'i'),
		contextFold(password, true, 'i'),
		contextFold(password, true, 'l'),
	}
	for _, t := range terms {
		for _, f := range forms {
			if strings.Contains(f, t) {
				return true
			}
		}
	}
	return false
}

// contextFold lowercases the NFKC form of s and keeps only letters and
// digits, so that case, spaces and punctuation do not matter ("Salon
// Morgen-Rot" → "salonmorgenrot"). With leet set, look-alike digits and
// symbols are first mapped to letters, '1' to one.
func contextFold(s string, leetSpelling bool, one rune) string {
	var b strings.Builder
	for _, r := range strings.ToLower(norm.NFKC.String(s)) {
		if leetSpelling {
			if r == '1' {
				r = one
			} else if l, ok := leet[r]; ok {
				r = l
			}
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}
