package password

import (
	_ "embed"
	"iter"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/text/unicode/norm"
)

// supplementFile is the team's own list (German favourites, Slotbook's domain
// words, keyboard walks); see README.md.
//
//go:embed data/supplement.txt
var supplementFile string

// commonSource is one of zxcvbn's frequency lists (package
// github.com/trustelem/zxcvbn/frequency): its first top entries, in rank
// order, of at least minRunes code points.
type commonSource struct {
	list     string
	top      int
	minRunes int
}

// topWords is how many entries of zxcvbn's word and name lists are used.
// zxcvbn keeps every token in one list only, the one where it ranks best, so
// frequent passwords that are names or words ("michael", rank 20 of the
// password corpus, "jennifer", "basketball") are missing from its password
// list: 7,982 of the corpus's 30,000 most frequent passwords. A token moved
// to another list ranks better there than among the passwords, and the
// 3,000th password of 8 or more characters of the corpus (the module's
// data/passwords.txt) has rank 10,858: the first 11,000 entries of each list
// bring back all of them. Words and names shorter than 4 are left out:
// zxcvbn dropped such short tokens from its password list as too rare, and
// "joe" or "the" with random digits is not a common password.
const topWords = 11000

var commonSources = []commonSource{
	{"passwords", 30000, 1}, // all of it: the 30,000 most frequent passwords
	{"male_names", topWords, 4},
	{"female_names", topWords, 4},
	{"surnames", topWords, 4},
	{"us_tv_and_film", topWords, 4},
	{"english_wikipedia", topWords, 4},
}

// commonEntries yields the entries of commonSources and the supplement.
func commonEntries(yield func(string) bool) {
	for _, src := range commonSources {
		l := frequency.FrequencyLists[src.list]
		for _, e := range l[:min(len(l), src.top)] {
			if utf8.RuneCountInString(e) >= src.minRunes && !yield(e) {
				return
			}
		}
	}
	for line := range strings.Lines(supplementFile) {
		if !strings.HasPrefix(line, "#") && !yield(line) {
			return
		}
	}
}

// commonList is built on first use: see BenchmarkCommonList for its cost.
var commonList = sync.OnceValue(buildCommonList)

func buildCommonList() *blocklist {
	n := strings.Count(supplementFile, "\n")
	for _, src := range commonSources {
		n += min(len(frequency.FrequencyLists[src.list]), src.top)
	}
	return newBlocklist(commonEntries, n, true)
}

// blocklist is a set of entries in listForm, kept as a sorted slice: 16
// bytes an entry, whose text stays in the binary's read-only data, where a
// map would take about 60.
type blocklist struct {
	entries  []string // sorted, without duplicates
	maxRunes int      // longest entry, in runes: longer candidates cannot match
}

// newBlocklist returns the entries in listForm (empty ones ignored), without
// the variants the matcher finds anyway if dropVariants is set. sizeHint is
// the number of entries expected.
func newBlocklist(entries iter.Seq[string], sizeHint int, dropVariants bool) *blocklist {
	all := make([]string, 0, sizeHint)
	for s := range entries {
		if e := listForm(s); e != "" {
			all = append(all, e)
		}
	}
	slices.Sort(all)
	b := &blocklist{entries: slices.Compact(all)}
	if dropVariants {
		b.dropVariants()
	}
	b.entries = slices.Clone(b.entries) // without the spare capacity
	for _, e := range b.entries {
		b.maxRunes = max(b.maxRunes, utf8.RuneCountInString(e))
	}
	return b
}

// dropVariants removes the entries that the matcher refuses through another
// entry anyway, without changing any verdict (TestDropVariantsKeepsVerdicts).
// The candidates that matches tries for a password with letters always
// contain all of its letters, with any part of the digits and symbols around
// them. Removed are, in this order:
//
//   - entries with digits or symbols before or after their letters whose
//     letter core is listed ("password1", "1qwerty"): a candidate equal to
//     the entry, or decoding to it, contains a shorter candidate that is, or
//     decodes to, the core; cores are never removed by this rule;
//   - then entries with leet characters among letters whose decoded form is
//     listed ("p@ssword"): such an entry only matches a candidate equal to
//     it, and lookupLeet decodes that very candidate. Decoded forms contain
//     no leet characters, so they are never removed by this rule, and a core
//     the first rule relied on and this one removed still matches through
//     its decoded form.
func (b *blocklist) dropVariants() {
	kept := make([]string, 0, len(b.entries))
	for _, e := range b.entries {
		if core := strings.TrimFunc(e, isNotLetter); core != "" && len(core) < len(e) && b.has(core) {
			continue
		}
		kept = append(kept, e)
	}
	b.entries = kept
	leetVariants := map[string]bool{} // found before any is removed
	for _, e := range b.entries {
		if strings.ContainsAny(e, leetChars) && strings.ContainsFunc(e, unicode.IsLetter) && b.lookupLeet([]rune(e)) {
			leetVariants[e] = true
		}
	}
	b.entries = slices.DeleteFunc(b.entries, func(e string) bool { return leetVariants[e] })
}

func isNotLetter(r rune) bool { return !unicode.IsLetter(r) }

// leetChars are the keys of leet.
const leetChars = "01345789@$!+|€"

// Len returns the number of entries.
func (b *blocklist) Len() int { return len(b.entries) }

// has reports whether e is listed.
func (b *blocklist) has(e string) bool {
	_, ok := slices.BinarySearch(b.entries, e)
	return ok
}

// listForm is the form in which passwords are compared with the list:
// NFKC-normalised (so that look-alike compatibility characters such as
// full-width letters match too), lowercased, white space removed.
func listForm(s string) string {
	if isListFormASCII(s) {
		return s // most list entries: no allocation, no normalisation tables
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, strings.ToLower(norm.NFKC.String(s)))
}

// isListFormASCII reports whether s is printable ASCII without upper case
// letters and spaces, which listForm leaves unchanged.
func isListFormASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	return true
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
	return b.has(string(c))
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
