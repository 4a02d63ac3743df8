package mfa

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"unicode"
)

// Recovery code parameters.
const (
	// RecoveryCodeCount is the number of codes NewRecoveryCodes creates.
	RecoveryCodeCount = 10
	// RecoveryCodeChars is the number of random characters per code, each carrying 5 bits.
	RecoveryCodeChars = 25
	// RecoveryCodeBits is the entropy of one code: 125 bits, above the 112 bits from which
	// ASVS 6.5.2 allows a plain hash function.
	RecoveryCodeBits = RecoveryCodeChars * 5
	// recoveryGroup is the number of characters between dashes in the displayed form.
	recoveryGroup = 5
)

// recoveryAlphabet is Crockford's base32 alphabet in lower case: digits and letters without
// i, l, o (confusable with 1 and 0) and u. 32 symbols, so one random byte masked to 5 bits
// picks a symbol without bias.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// recoveryHashPrefix separates recovery-code hashes from any other SHA-256 in the app.
const recoveryHashPrefix = "slotbook mfa recovery code v1\x00"

// NewRecoveryCodes creates RecoveryCodeCount recovery codes from crypto/rand. plain is shown to
// the user once, formatted as xxxxx-xxxxx-xxxxx-xxxxx-xxxxx, and never stored; hashed[i] is the
// hex SHA-256 of plain[i] to store. The codes are distinct.
func NewRecoveryCodes() (plain []string, hashed []string, err error) {
	plain = make([]string, 0, RecoveryCodeCount)
	hashed = make([]string, 0, RecoveryCodeCount)
	seen := make(map[string]bool, RecoveryCodeCount)
	raw := make([]byte, RecoveryCodeChars)
	for len(plain) < RecoveryCodeCount {
		if _, err := rand.Read(raw); err != nil {
			return nil, nil, err
		}
		code := make([]byte, RecoveryCodeChars)
		for i, b := range raw {
			code[i] = recoveryAlphabet[b&31]
		}
		c := string(code)
		if seen[c] { // 2^-125: never, but a duplicate would be a silently lost code
			continue
		}
		seen[c] = true
		plain = append(plain, formatRecoveryCode(c))
		hashed = append(hashed, hashRecoveryCode(c))
	}
	return plain, hashed, nil
}

// MatchRecoveryCode looks for a code the user typed among the stored hashes. Case, dashes and
// white space do not matter, and o, i and l are read as 0, 1 and 1. It returns the index of the
// matching hash, which the caller must remove (or blank) so the code cannot be used again. All
// hashes are compared in constant time, without stopping at a match.
func MatchRecoveryCode(code string, hashed []string) (index int, ok bool) {
	c, valid := normaliseRecoveryCode(code)
	if !valid {
		return -1, false
	}
	h := []byte(hashRecoveryCode(c))
	index = -1
	for i, stored := range hashed {
		// Stored hashes are lower-case hex written by NewRecoveryCodes; the comparison is
		// exact, and an empty (used) slot never matches.
		if subtle.ConstantTimeCompare(h, []byte(stored)) == 1 && index < 0 {
			index = i
		}
	}
	return index, index >= 0
}

// formatRecoveryCode inserts a dash after every recoveryGroup characters.
func formatRecoveryCode(c string) string {
	var b strings.Builder
	for i := 0; i < len(c); i += recoveryGroup {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(c[i:min(i+recoveryGroup, len(c))])
	}
	return b.String()
}

// normaliseRecoveryCode maps typed input to the canonical form that is hashed: lower case, no
// dashes or white space, Crockford's substitutions for look-alike letters. Any other character
// or a wrong length makes it invalid.
func normaliseRecoveryCode(code string) (string, bool) {
	out := make([]byte, 0, RecoveryCodeChars)
	for _, r := range code {
		switch {
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r): // white space, any kind of dash
			continue
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		}
		switch r {
		case 'o':
			r = '0'
		case 'i', 'l':
			r = '1'
		}
		if r > 127 || strings.IndexByte(recoveryAlphabet, byte(r)) < 0 {
			return "", false
		}
		if len(out) == RecoveryCodeChars {
			return "", false
		}
		out = append(out, byte(r))
	}
	if len(out) != RecoveryCodeChars {
		return "", false
	}
	return string(out), true
}

// hashRecoveryCode is the stored form of a canonical code. SHA-256 without salt or work
// factor is enough for 125-bit random codes; see the package documentation.
func hashRecoveryCode(canonical string) string {
	sum := sha256.Sum256([]byte(recoveryHashPrefix + canonical))
	return hex.EncodeToString(sum[:])
}
