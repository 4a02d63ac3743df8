package mfa

import (
	"encoding/hex"
	"math"
	"regexp"
	"strings"
	"testing"
)

var recoveryFormat = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}(-[0-9a-hjkmnp-tv-z]{5}){4}$`)

func TestNewRecoveryCodes(t *testing.T) {
	plain, hashed, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != 10 || len(hashed) != 10 {
		t.Fatalf("%d codes, %d hashes", len(plain), len(hashed))
	}
	if RecoveryCodeBits < 112 || len(recoveryAlphabet) != 32 {
		t.Fatalf("%d bits from a %d-symbol alphabet: below ASVS 6.5.2's 112 bits for a plain hash", RecoveryCodeBits, len(recoveryAlphabet))
	}
	seenPlain, seenHash := map[string]bool{}, map[string]bool{}
	for i, p := range plain {
		if !recoveryFormat.MatchString(p) {
			t.Errorf("code %q does not look like xxxxx-xxxxx-xxxxx-xxxxx-xxxxx", p)
		}
		if strings.ContainsAny(p, "ilou") {
			t.Errorf("code %q has an ambiguous letter", p)
		}
		h := hashed[i]
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 || strings.ToLower(h) != h {
			t.Errorf("hash %q is not lower-case hex SHA-256", h)
		}
		if strings.Contains(h, strings.ReplaceAll(p, "-", "")) {
			t.Errorf("hash %q contains the code", h)
		}
		if seenPlain[p] || seenHash[h] {
			t.Errorf("duplicate code or hash at %d", i)
		}
		seenPlain[p], seenHash[h] = true, true
		if idx, ok := MatchRecoveryCode(p, hashed); !ok || idx != i {
			t.Errorf("code %d matches at %d, %v", i, idx, ok)
		}
	}
}

// TestRecoveryCodeDistribution checks that the generator uses the whole alphabet evenly at every
// position (a chi-squared test over many codes), which an off-by-one or a biased mapping from
// random bytes would fail. Threshold: chi² with 31 degrees of freedom at p ≈ 1e-6.
func TestRecoveryCodeDistribution(t *testing.T) {
	const sets = 400 // 4000 codes, 100000 characters
	var counts [RecoveryCodeChars][32]int
	total := [32]int{}
	seen := map[string]bool{}
	for range sets {
		plain, _, err := NewRecoveryCodes()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plain {
			if seen[p] {
				t.Fatalf("duplicate code %q across sets", p)
			}
			seen[p] = true
			c := strings.ReplaceAll(p, "-", "")
			for pos := 0; pos < len(c); pos++ {
				sym := strings.IndexByte(recoveryAlphabet, c[pos])
				counts[pos][sym]++
				total[sym]++
			}
		}
	}
	chi2 := func(obs []int, n int) float64 {
		exp := float64(n) / 32
		var s float64
		for _, o := range obs {
			s += (float64(o) - exp) * (float64(o) - exp) / exp
		}
		return s
	}
	if x := chi2(total[:], sets*RecoveryCodeCount*RecoveryCodeChars); x > 80 {
		t.Errorf("symbol frequencies are not uniform: chi² = %.1f, counts %v", x, total)
	}
	// Per position there are only 4000 samples; a missing symbol or a fixed character would
	// still give a huge chi².
	for pos := range counts {
		if x := chi2(counts[pos][:], sets*RecoveryCodeCount); x > 80 {
			t.Errorf("position %d not uniform: chi² = %.1f", pos, x)
		}
	}
	// Shannon entropy estimate per character: close to 5 bits.
	var h float64
	n := float64(sets * RecoveryCodeCount * RecoveryCodeChars)
	for _, c := range total {
		p := float64(c) / n
		h -= p * math.Log2(p)
	}
	if h < 4.99 {
		t.Errorf("estimated entropy %.4f bits per character", h)
	}
}

func TestMatchRecoveryCode(t *testing.T) {
	// Fixed codes in canonical form, hashed the way NewRecoveryCodes does.
	codes := []string{
		"0123456789abcdefghjkmnpqr",
		"stvwxyz0123456789abcdefgh",
		"1111100000zzzzz1111100000",
	}
	hashed := make([]string, len(codes))
	for i, c := range codes {
		hashed[i] = hashRecoveryCode(c)
	}
	if got := formatRecoveryCode(codes[0]); got != "01234-56789-abcde-fghjk-mnpqr" {
		t.Fatalf("format = %q", got)
	}
	tests := []struct {
		name  string
		input string
		index int
	}{
		{"canonical with dashes", "01234-56789-abcde-fghjk-mnpqr", 0},
		{"no dashes", "0123456789abcdefghjkmnpqr", 0},
		{"upper case", "01234-56789-ABCDE-FGHJK-MNPQR", 0},
		{"mixed case and spaces", " 01234 56789 AbCdE fGhJk MnPqR ", 0},
		{"other grouping", "0123-4567-89ab-cdef-ghjk-mnpq-r", 0},
		{"tab, newline, no-break space", "01234\t56789\nabcde\u00a0fghjk mnpqr", 0},
		{"typographic dashes", "01234\u201056789\u2013abcde\u2014fghjk-mnpqr", 0},
		{"second code", "STVWX-YZ012-34567-89ABC-DEFGH", 1},
		{"o for 0, i and l for 1", "iIlLL-oOoOo-zzzzz-11111-00000", 2},
		{"wrong code", "01234-56789-abcde-fghjk-mnpqs", -1},
		{"one character short", "01234-56789-abcde-fghjk-mnpq", -1},
		{"one character long", "01234-56789-abcde-fghjk-mnpqrs", -1},
		{"u is not in the alphabet", "01234-56789-abcde-fghjk-mnpqu", -1},
		{"punctuation", "01234_56789_abcde_fghjk_mnpqr", -1},
		{"non-ASCII letter", "01234-56789-abcdé-fghjk-mnpqr", -1},
		{"full-width digit", "０1234-56789-abcde-fghjk-mnpqr", -1},
		{"empty", "", -1},
		{"only dashes", "-----", -1},
		{"hash instead of code", hashed[0], -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			idx, ok := MatchRecoveryCode(tc.input, hashed)
			if idx != tc.index || ok != (tc.index >= 0) {
				t.Fatalf("MatchRecoveryCode(%q) = %d, %v; want %d", tc.input, idx, ok, tc.index)
			}
		})
	}
}

// TestRecoveryCodeSingleUse shows the caller's part: after a match the hash is removed, and the
// same code no longer matches while the others still do.
func TestRecoveryCodeSingleUse(t *testing.T) {
	plain, hashed, err := NewRecoveryCodes()
	if err != nil {
		t.Fatal(err)
	}
	idx, ok := MatchRecoveryCode(plain[3], hashed)
	if !ok || idx != 3 {
		t.Fatalf("match = %d, %v", idx, ok)
	}
	removed := append(append([]string{}, hashed[:idx]...), hashed[idx+1:]...)
	if _, ok := MatchRecoveryCode(plain[3], removed); ok {
		t.Fatal("used code matched after removal")
	}
	blanked := append([]string{}, hashed...)
	blanked[idx] = ""
	if _, ok := MatchRecoveryCode(plain[3], blanked); ok {
		t.Fatal("used code matched a blanked slot")
	}
	if idx, ok := MatchRecoveryCode(plain[4], removed); !ok || idx != 3 {
		t.Fatalf("next code after removal = %d, %v", idx, ok)
	}
	if _, ok := MatchRecoveryCode(plain[0], nil); ok {
		t.Fatal("match in an empty list")
	}
}

func FuzzMatchRecoveryCode(f *testing.F) {
	canonical := "0123456789abcdefghjkmnpqr"
	hashed := []string{hashRecoveryCode(canonical)}
	f.Add("01234-56789-abcde-fghjk-mnpqr")
	f.Add("O1234 56789 ABCDE FGHJK MNPQR")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, input string) {
		idx, ok := MatchRecoveryCode(input, hashed)
		c, valid := normaliseRecoveryCode(input)
		if ok != (valid && c == canonical) || ok && idx != 0 || !ok && idx != -1 {
			t.Fatalf("MatchRecoveryCode(%q) = %d, %v (normalised %q, %v)", input, idx, ok, c, valid)
		}
		if valid && (len(c) != RecoveryCodeChars || strings.Trim(c, recoveryAlphabet) != "") {
			t.Fatalf("normalised %q to %q", input, c)
		}
	})
}
