package mfa

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"image/png"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
)

// rfcSecret is the SHA-1 seed of RFC 6238 appendix B, "12345678901234567890", in base32.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

// rfcVectors are the SHA-1 test vectors of RFC 6238 appendix B. The RFC lists 8-digit codes;
// a 6-digit code is the same value modulo 10^6, i.e. its last six digits.
var rfcVectors = []struct {
	unix  int64
	step  int64
	code8 string
}{
	{59, 0x1, "94287082"},
	{1111111109, 0x23523EC, "07081804"},
	{1111111111, 0x23523ED, "14050471"},
	{1234567890, 0x273EF07, "89005924"},
	{2000000000, 0x3F940AA, "69279037"},
	{20000000000, 0x27BC86AA, "65353130"},
}

func TestVerifyRFC6238Vectors(t *testing.T) {
	if rfcSecret != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" {
		t.Fatalf("RFC seed in base32 = %s", rfcSecret)
	}
	for _, v := range rfcVectors {
		code := v.code8[2:]
		now := time.Unix(v.unix, 0).UTC()
		got, err := codeAt(rfcSecret, v.step)
		if err != nil || got != code {
			t.Errorf("codeAt(step %#x) = %q, %v; want %q", v.step, got, err, code)
		}
		step, ok := Verify(rfcSecret, code, now, 0)
		if !ok || step != v.step {
			t.Errorf("Verify(%s at %d) = %d, %v; want %d, true", code, v.unix, step, ok, v.step)
		}
	}
}

func TestVerifyInputForms(t *testing.T) {
	now := time.Unix(1234567890, 0) // RFC vector: 005924 (leading zeros matter)
	lower := strings.ToLower(rfcSecret)
	padded := base32.StdEncoding.EncodeToString([]byte("12345678901234567890123")) // needs "="
	paddedCode, _ := codeAt(padded, 1234567890/Period)
	tests := []struct {
		name, secret, code string
		ok                 bool
	}{
		{"plain", rfcSecret, "005924", true},
		{"space in the middle", rfcSecret, "005 924", true},
		{"surrounding white space", rfcSecret, " \t005924\n", true},
		{"spaces everywhere", rfcSecret, "0 0 5 9 2 4", true},
		{"lower-case secret", lower, "005924", true},
		{"padded secret", padded, paddedCode, true},
		{"wrong code", rfcSecret, "005925", false},
		{"leading zeros dropped", rfcSecret, "5924", false},
		{"empty", rfcSecret, "", false},
		{"only spaces", rfcSecret, "      ", false},
		{"five digits", rfcSecret, "00592", false},
		{"seven digits", rfcSecret, "0059240", false},
		{"eight-digit RFC code", rfcSecret, "89005924", false},
		{"letter", rfcSecret, "00592a", false},
		{"dash", rfcSecret, "005-924", false},
		{"sign", rfcSecret, "+05924", false},
		{"full-width digits", rfcSecret, "００５９２４", false},
		{"Arabic-Indic digits", rfcSecret, "٠٠٥٩٢٤", false},
		{"NUL byte", rfcSecret, "00592\x00", false},
		{"empty secret", "", "005924", false},
		{"secret not base32", "not-base32!!", "005924", false},
		{"secret of 80 bits", base32.StdEncoding.EncodeToString([]byte("1234567890")), "005924", false},
		{"secret with inner space", rfcSecret[:8] + " " + rfcSecret[8:], "005924", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := Verify(tc.secret, tc.code, now, 0)
			if ok != tc.ok {
				t.Fatalf("Verify(%q, %q) ok = %v, want %v", tc.secret, tc.code, ok, tc.ok)
			}
			if ok && step != 1234567890/Period || !ok && step != 0 {
				t.Fatalf("step = %d", step)
			}
		})
	}
}

// TestVerifyWindow pins the window: only the current 30 s step, no drift tolerance.
func TestVerifyWindow(t *testing.T) {
	const step = int64(41152263) // 1234567890 / 30; the step spans [1234567890, 1234567919]
	start := time.Unix(step*Period, 0)
	code, _ := codeAt(rfcSecret, step)
	prev, _ := codeAt(rfcSecret, step-1)
	next, _ := codeAt(rfcSecret, step+1)
	if code == prev || code == next {
		t.Fatal("test needs distinct codes for neighbouring steps")
	}
	tests := []struct {
		name string
		code string
		now  time.Time
		ok   bool
	}{
		{"first second of the step", code, start, true},
		{"last second of the step", code, start.Add(29 * time.Second), true},
		{"last nanosecond of the step", code, start.Add(30*time.Second - 1), true},
		{"one second after the step", code, start.Add(30 * time.Second), false},
		{"one second before the step", code, start.Add(-time.Second), false},
		{"previous step's code", prev, start, false},
		{"previous step's code just after its end", prev, start.Add(time.Second), false},
		{"next step's code", next, start.Add(29 * time.Second), false},
		{"two steps late", code, start.Add(60 * time.Second), false},
		{"time zone does not matter", code, start.In(time.FixedZone("X", 5*3600+1800)), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Verify(rfcSecret, tc.code, tc.now, 0)
			if ok != tc.ok || ok && got != step {
				t.Fatalf("Verify = %d, %v; want ok %v", got, ok, tc.ok)
			}
		})
	}
}

func TestVerifyReplay(t *testing.T) {
	now := time.Unix(1111111111, 0)
	const code = "050471"
	step, ok := Verify(rfcSecret, code, now, 0)
	if !ok {
		t.Fatal("first use rejected")
	}
	// The caller stores step; the same code again, even in the same second, is a replay.
	if _, ok := Verify(rfcSecret, code, now, step); ok {
		t.Fatal("same code accepted twice in the same step")
	}
	if _, ok := Verify(rfcSecret, code, now.Add(10*time.Second), step); ok {
		t.Fatal("same code accepted twice later in the step")
	}
	// A last used step in the future (clock moved back) rejects everything up to it.
	if _, ok := Verify(rfcSecret, code, now, step+1); ok {
		t.Fatal("code accepted for a step before the last used one")
	}
	// An older last used step does not block the current code.
	if got, ok := Verify(rfcSecret, code, now, step-1); !ok || got != step {
		t.Fatalf("Verify after older step = %d, %v", got, ok)
	}
	// The next step's code is accepted after this one was used.
	nextCode, _ := codeAt(rfcSecret, step+1)
	if got, ok := Verify(rfcSecret, nextCode, now.Add(Period*time.Second), step); !ok || got != step+1 {
		t.Fatalf("next step's code after use = %d, %v", got, ok)
	}
}

func TestVerifyBeforeEpoch(t *testing.T) {
	code, _ := codeAt(rfcSecret, 0)
	if _, ok := Verify(rfcSecret, code, time.Unix(-1, 0), -10); ok {
		t.Fatal("time before 1970 accepted")
	}
	// Step 0 is valid only for a caller that passes a negative last used step.
	if step, ok := Verify(rfcSecret, code, time.Unix(0, 0), -1); !ok || step != 0 {
		t.Fatalf("step 0 = %d, %v", step, ok)
	}
}

func TestNewEnrolment(t *testing.T) {
	e, err := NewEnrolment("Salon Example GmbH", "anna.beispiel+test@example.com")
	if err != nil {
		t.Fatal(err)
	}

	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(raw)*8 < 160 {
		t.Fatalf("secret %q: %d bits, %v", e.Secret, len(raw)*8, err)
	}
	if strings.ContainsAny(e.Secret, "= ") || strings.ToUpper(e.Secret) != e.Secret {
		t.Fatalf("secret %q is not unpadded upper-case base32", e.Secret)
	}

	u, err := url.Parse(e.URL)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("URL %q: %v", e.URL, err)
	}
	if u.Path != "/Salon Example GmbH:anna.beispiel+test@example.com" {
		t.Errorf("label %q", u.Path)
	}
	q := u.Query()
	want := map[string]string{
		"secret": e.Secret, "issuer": "Salon Example GmbH", "algorithm": "SHA1", "digits": "6", "period": "30",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("URL parameter %s = %q, want %q (URL %s)", k, q.Get(k), v, e.URL)
		}
	}
	key, err := otp.NewKeyFromURL(e.URL)
	if err != nil || key.Issuer() != "Salon Example GmbH" || key.AccountName() != "anna.beispiel+test@example.com" || key.Secret() != e.Secret {
		t.Errorf("key from URL: %v %q %q %q", err, key.Issuer(), key.AccountName(), key.Secret())
	}

	img, err := png.Decode(bytes.NewReader(e.QRPNG))
	if err != nil {
		t.Fatalf("QR PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != QRSize || b.Dy() != QRSize {
		t.Errorf("QR size %v", b)
	}
	// The image is a QR code: black and white pixels, both present.
	dark, light := 0, 0
	for y := 0; y < QRSize; y++ {
		for x := 0; x < QRSize; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			switch {
			case r == 0 && g == 0 && b == 0:
				dark++
			case r == 0xffff && g == 0xffff && b == 0xffff:
				light++
			default:
				t.Fatalf("pixel (%d,%d) is grey", x, y)
			}
		}
	}
	if dark == 0 || light == 0 {
		t.Errorf("QR image: %d dark, %d light pixels", dark, light)
	}

	data, found := strings.CutPrefix(string(e.QRDataURL), "data:image/png;base64,")
	if !found {
		t.Fatalf("data URL %.40q", e.QRDataURL)
	}
	if dec, err := base64.StdEncoding.DecodeString(data); err != nil || !bytes.Equal(dec, e.QRPNG) {
		t.Errorf("data URL does not hold the PNG: %v", err)
	}

	e2, err := NewEnrolment("Salon Example GmbH", "anna.beispiel+test@example.com")
	if err != nil || e2.Secret == e.Secret {
		t.Fatalf("second enrolment: same secret or %v", err)
	}
}

func TestEnrolmentConfirm(t *testing.T) {
	e, err := NewEnrolment("Slotbook", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 9, 0, 15, 0, time.UTC)
	step := now.Unix() / Period
	code, err := codeAt(e.Secret, step)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	if _, ok := e.Confirm(wrong, now); ok {
		t.Fatal("wrong code confirmed the enrolment")
	}
	if _, ok := e.Confirm("", now); ok {
		t.Fatal("empty code confirmed the enrolment")
	}
	got, ok := e.Confirm(code, now)
	if !ok || got != step {
		t.Fatalf("Confirm = %d, %v", got, ok)
	}
	// The confirming code, stored as last used step, cannot be used to log in right after.
	if _, ok := Verify(e.Secret, code, now, got); ok {
		t.Fatal("confirming code accepted again")
	}
}

func TestNewEnrolmentRejects(t *testing.T) {
	for _, tc := range []struct{ issuer, account string }{
		{"", "a@example.com"},
		{"  ", "a@example.com"},
		{"Slotbook", ""},
		{"Slot:book", "a@example.com"},
		{"Slotbook", "a:b@example.com"},
		{"Slotbook\n", "a@example.com"},
		{"Slotbook", "a\x00@example.com"},
	} {
		if e, err := NewEnrolment(tc.issuer, tc.account); err == nil {
			t.Errorf("NewEnrolment(%q, %q) = %v, want error", tc.issuer, tc.account, e.URL)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("005924", int64(1234567890), int64(0))
	f.Add(" 0 0 5 9 2 4", int64(1234567890), int64(41152262))
	f.Add("\xff\xfe", int64(-5), int64(-1))
	f.Fuzz(func(t *testing.T, code string, unix, last int64) {
		step, ok := Verify(rfcSecret, code, time.Unix(unix, 0), last)
		if !ok {
			if step != 0 {
				t.Fatalf("rejected with step %d", step)
			}
			return
		}
		want, _ := codeAt(rfcSecret, unix/Period)
		if step != unix/Period || step <= last || strings.Join(strings.Fields(code), "") != want {
			t.Fatalf("accepted %q at %d (last %d) as step %d", code, unix, last, step)
		}
	})
}
