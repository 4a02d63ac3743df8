package password

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

//go:generate go run ./internal/commongen -john /usr/share/john/password.lst -supplement data/supplement.txt -out data/common-passwords.txt

// commonPasswordsFile is the generated list; see README.md for its sources.
//
//go:embed data/common-passwords.txt
var commonPasswordsFile string

var commonList = sync.OnceValue(func() *blocklist {
	return newBlocklist(commonPasswordsFile)
})

// blocklist is a set of entries in listForm.
type blocklist struct {
	set      map[string]struct{}
	maxRunes int // longest entry, in runes: longer candidates cannot match
}

func newBlocklist(text string) *blocklist {
	b := &blocklist{set: map[string]struct{}{}}
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		e := listForm(line)
		if e == "" {
			continue
		}
		b.set[e] = struct{}{}
		b.maxRunes = max(b.maxRunes, utf8.RuneCountInString(e))
	}
	return b
}

// Len returns the number of entries.
func (b *blocklist) Len() int { return len(b.set) }

// listForm is the form in which passwords are compared with the list:
// NFKC-normalised (so that look-alike compatibility characters such as
// full-width letters match too), lowercased, white space removed.
func listForm(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, strings.ToLower(norm.NFKC.String(s)))
}

// minAffixLen is the shortest prefix or suffix of a password made only of
// digits and symbols that is looked up ("123456" in "123456789012").
const minAffixLen = 6

// isCommon reports whether password is on the list, a simple variant of an
// entry, or a trivial pattern. Variants are: any case; white space anywhere;
// digits and symbols before or after the letters ("Password2024!",
// "2024sommer"); leet spellings ("p@55w0rd"); and repetitions
// ("passwordpassword").
func (b *blocklist) isCommon(password string) bool {
	w := []rune(listForm(password))
	if len(w) == 0 || isTrivial(w) {
		return true
	}
	if b.matches(w) {
		return true
	}
	// Repetitions of a word, of the whole password or of its letter core
	// ("Passwort!Passwort!", "2024 abcabc abcabc").
	core := trimNonLetters(w)
	for _, s := range [][]rune{w, core} {
		if u := repeatedUnit(s); u != nil {
			if len(u) <= 3 || isTrivial(u) || b.matches(u) {
				return true
			}
		}
	}
	return len(core) >= 4 && isTrivial(core)
}

// matches looks up w and the ways it can be cut down to a listed entry.
func (b *blocklist) matches(w []rune) bool {
	n := len(w)
	if !hasLetter(w) {
		// Digits and symbols only: the whole and its prefixes and suffixes
		// of at least minAffixLen ("1234567890" in "123456789012").
		if b.lookup(w) {
			return true
		}
		for l := minAffixLen; l < n && l <= b.maxRunes; l++ {
			if b.lookup(w[:l]) || b.lookup(w[n-l:]) {
				return true
			}
		}
		return false
	}
	// Cut off any part of the non-letters before and after the letters: the
	// candidates w[i:j] always keep the letters in the middle, so a short
	// entry can only match a password that is little more than that entry.
	// Only candidates no longer than the longest entry are tried, which
	// bounds the work by maxRunes² whatever the password's length.
	first, end := letterSpan(w)
	for i := max(0, end-b.maxRunes); i <= first; i++ {
		for j := end; j <= min(n, i+b.maxRunes); j++ {
			if c := w[i:j]; b.lookup(c) || b.lookupLeet(c) {
				return true
			}
		}
	}
	return false
}

func (b *blocklist) lookup(c []rune) bool {
	_, ok := b.set[string(c)]
	return ok
}

// leet maps the usual look-alike substitutions back to letters. '1' is
// tried both as 'i' and as 'l'.
var leet = map[rune]rune{
	'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g',
	'@': 'a', '$': 's', '!': 'i', '+': 't', '|': 'l', '€': 'e',
}

// lookupLeet looks up c with leet substitutions undone.
func (b *blocklist) lookupLeet(c []rune) bool {
	var hasLeet, hasOne bool
	for _, r := range c {
		if _, ok := leet[r]; ok {
			hasLeet = true
			hasOne = hasOne || r == '1'
		}
	}
	if !hasLeet {
		return false
	}
	decoded := make([]rune, len(c))
	for k, r := range c {
		if l, ok := leet[r]; ok {
			r = l
		}
		decoded[k] = r
	}
	if b.lookup(decoded) {
		return true
	}
	if hasOne {
		for k, r := range c {
			if r == '1' {
				decoded[k] = 'l'
			}
		}
		return b.lookup(decoded)
	}
	return false
}

func hasLetter(w []rune) bool {
	for _, r := range w {
		if unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// letterSpan returns the bounds of w without its leading and trailing
// non-letters: w[first:end].
func letterSpan(w []rune) (first, end int) {
	first, end = 0, len(w)
	for first < end && !unicode.IsLetter(w[first]) {
		first++
	}
	for end > first && !unicode.IsLetter(w[end-1]) {
		end--
	}
	return first, end
}

// trimNonLetters returns w without its leading and trailing non-letters.
func trimNonLetters(w []rune) []rune {
	first, end := letterSpan(w)
	return w[first:end]
}

// repeatedUnit returns the shortest u such that w is u repeated at least
// twice, or nil.
func repeatedUnit(w []rune) []rune {
	n := len(w)
outer:
	for d := 1; d <= n/2; d++ {
		if n%d != 0 {
			continue
		}
		for k := d; k < n; k++ {
			if w[k] != w[k-d] {
				continue outer
			}
		}
		return w[:d]
	}
	return nil
}

// isTrivial reports whether w is one character repeated or a run of
// consecutive characters up or down ("abcdefghijkl", "987654321098"; digits
// wrap around from 9 to 0).
func isTrivial(w []rune) bool {
	if len(w) < 2 {
		return len(w) == 1
	}
	same, up, down := true, true, true
	for k := 1; k < len(w); k++ {
		a, b := w[k-1], w[k]
		same = same && a == b
		up = up && (b == a+1 || a == '9' && b == '0')
		down = down && (b == a-1 || a == '0' && b == '9')
	}
	return same || up || down
}
