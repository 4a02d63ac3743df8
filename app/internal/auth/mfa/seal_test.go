package mfa

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

var testKey = []byte(strings.Repeat("k", 40)) // like SLOTBOOK_SESSION_KEY in the config tests

func TestSealOpenRoundTrip(t *testing.T) {
	for _, secret := range []string{rfcSecret, "JBSWY3DPEHPK3PXP", "", strings.Repeat("A", 1000)} {
		sealed, err := Seal(testKey, secret)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1:") || (secret != "" && strings.Contains(sealed, secret)) {
			t.Errorf("sealed form %q", sealed)
		}
		got, err := Open(testKey, sealed)
		if err != nil || got != secret {
			t.Errorf("Open = %q, %v; want %q", got, err, secret)
		}
	}
}

func TestSealRandomNonce(t *testing.T) {
	a, _ := Seal(testKey, rfcSecret)
	b, _ := Seal(testKey, rfcSecret)
	if a == b {
		t.Fatal("sealing twice gave the same result")
	}
}

func TestOpenRejects(t *testing.T) {
	sealed, err := Seal(testKey, rfcSecret)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, "v1:"))
	if err != nil {
		t.Fatal(err)
	}
	enc := func(b []byte) string { return "v1:" + base64.RawStdEncoding.EncodeToString(b) }

	// Every single flipped bit, in nonce, ciphertext or tag, is detected.
	for i := range raw {
		for bit := range 8 {
			tampered := append([]byte{}, raw...)
			tampered[i] ^= 1 << bit
			if _, err := Open(testKey, enc(tampered)); !errors.Is(err, ErrOpen) {
				t.Fatalf("byte %d bit %d flipped: err = %v", i, bit, err)
			}
		}
	}

	otherKey := []byte(strings.Repeat("k", 39) + "K")
	tests := []struct {
		name   string
		key    []byte
		sealed string
	}{
		{"other key", otherKey, sealed},
		{"longer key with the same prefix", append(append([]byte{}, testKey...), 'k'), sealed},
		{"truncated by one byte", testKey, enc(raw[:len(raw)-1])},
		{"only nonce and tag", testKey, enc(raw[:28])},
		{"shorter than nonce and tag", testKey, enc(raw[:10])},
		{"empty payload", testKey, "v1:"},
		{"extra byte", testKey, enc(append(append([]byte{}, raw...), 0))},
		{"no version", testKey, strings.TrimPrefix(sealed, "v1:")},
		{"unknown version", testKey, "v2:" + strings.TrimPrefix(sealed, "v1:")},
		{"plain secret", testKey, rfcSecret},
		{"not base64", testKey, "v1:!!!!"},
		{"padded base64", testKey, sealed + "=="},
		{"empty", testKey, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := Open(tc.key, tc.sealed); !errors.Is(err, ErrOpen) || got != "" {
				t.Fatalf("Open = %q, %v; want ErrOpen", got, err)
			}
		})
	}
}

func TestSealKeyLength(t *testing.T) {
	short := []byte(strings.Repeat("k", MinKeyBytes-1))
	if _, err := Seal(short, rfcSecret); err == nil {
		t.Error("Seal with a short key")
	}
	if _, err := Open(short, "v1:AAAA"); err == nil || errors.Is(err, ErrOpen) {
		t.Errorf("Open with a short key: %v", err)
	}
	if _, err := Seal(nil, rfcSecret); err == nil {
		t.Error("Seal with no key")
	}
}

// TestSealedSecretVerifies runs the whole path: enrol, seal for the database, open, verify.
func TestSealedSecretVerifies(t *testing.T) {
	sealed, err := Seal(testKey, rfcSecret)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := Open(testKey, sealed)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := Verify(secret, "287082", time.Unix(59, 0), 0); !ok {
		t.Fatal("opened secret does not verify the RFC code")
	}
}
