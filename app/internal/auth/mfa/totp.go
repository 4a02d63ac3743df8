package mfa

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"strings"
	"time"
	"unicode"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: the defaults of RFC 6238 and of every authenticator app. Apps ignore or
// mishandle anything else, so they are not configurable.
const (
	Period = 30 // seconds per time step
	Digits = 6

	// SecretBytes is the size of a new TOTP secret: 160 bits, the HMAC-SHA-1 output size that
	// RFC 4226 recommends.
	SecretBytes = 20

	// QRSize is the width and height of the QR code image in pixels.
	QRSize = 256
)

// Enrolment is a new, not yet confirmed TOTP secret with what the user needs to add it to an
// authenticator app.
type Enrolment struct {
	// Secret is the base32 secret (without padding), for users who type it in by hand and for
	// storing it with Seal once the enrolment is confirmed. Never log it.
	Secret string
	// URL is the otpauth://totp/... key URI that the QR code encodes.
	URL string
	// QRPNG is the QR code of URL as a PNG image of QRSize × QRSize pixels.
	QRPNG []byte
	// QRDataURL is QRPNG as a data:image/png;base64 URL for <img src>. It is a template.URL
	// because html/template would otherwise replace a data: URL with "#ZgotmplZ"; the content
	// is built here, not taken from the user.
	QRDataURL template.URL
}

// NewEnrolment creates a new random TOTP secret for an account. issuer is the name the
// authenticator app shows (for example the business name), accountName identifies the user
// (for example the e-mail address). Neither may be empty or contain a colon, which separates
// the two in the key URI.
func NewEnrolment(issuer, accountName string) (*Enrolment, error) {
	for _, f := range []struct{ name, v string }{{"issuer", issuer}, {"account name", accountName}} {
		if strings.TrimSpace(f.v) == "" {
			return nil, fmt.Errorf("mfa: %s is empty", f.name)
		}
		if strings.Contains(f.v, ":") {
			return nil, fmt.Errorf("mfa: %s contains a colon", f.name)
		}
		if strings.IndexFunc(f.v, unicode.IsControl) >= 0 {
			return nil, fmt.Errorf("mfa: %s contains a control character", f.name)
		}
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: accountName,
		Period:      Period,
		SecretSize:  SecretBytes,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		// Rand nil: crypto/rand.
	})
	if err != nil {
		return nil, fmt.Errorf("mfa: generate secret: %w", err)
	}
	img, err := key.Image(QRSize, QRSize)
	if err != nil {
		return nil, fmt.Errorf("mfa: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("mfa: QR code PNG: %w", err)
	}
	return &Enrolment{
		Secret:    key.Secret(),
		URL:       key.URL(),
		QRPNG:     buf.Bytes(),
		QRDataURL: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())),
	}, nil
}

// Confirm checks a code the user typed from the authenticator app after scanning the QR code.
// Only if ok should the caller store the sealed secret, with step as the account's last used
// step (so the confirming code cannot be used again to log in).
func (e *Enrolment) Confirm(code string, now time.Time) (step int64, ok bool) {
	return Verify(e.Secret, code, now, 0)
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Verify checks a TOTP code against a base32 secret at time now (the server's clock).
// lastUsedStep is the time step of the last code accepted for this account (0 if none); a code
// for that step or an earlier one is rejected as a replay. Only the current 30 s step is
// accepted, without tolerance for clock drift (see the package documentation). Spaces in code
// are ignored; anything but exactly 6 ASCII digits is rejected. On success Verify returns the
// accepted step, which the caller must store as the new last used step; on failure it returns
// 0 and false, whatever the reason (wrong code, replay, malformed code or secret).
//
// A secret shorter than 160 bits is rejected, so an empty or truncated secret from the
// database can never make codes computable without the secret.
func Verify(secret string, code string, now time.Time, lastUsedStep int64) (step int64, ok bool) {
	code, ok = normaliseCode(code)
	if !ok {
		return 0, false
	}
	if !validSecret(secret) {
		return 0, false
	}
	unix := now.Unix()
	if unix < 0 {
		return 0, false
	}
	step = unix / Period
	if step <= lastUsedStep {
		return 0, false
	}
	want, err := codeAt(secret, step)
	if err != nil {
		return 0, false
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(code)) != 1 {
		return 0, false
	}
	return step, true
}

// normaliseCode removes white space and requires exactly Digits ASCII digits.
func normaliseCode(code string) (string, bool) {
	code = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
	if len(code) != Digits {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	return code, true
}

// validSecret reports whether secret is base32 (any case, padding optional, as written by
// NewEnrolment) of at least SecretBytes bytes.
func validSecret(secret string) bool {
	s := strings.TrimRight(strings.ToUpper(secret), "=")
	raw, err := b32.DecodeString(s)
	return err == nil && len(raw) >= SecretBytes
}

// codeAt computes the TOTP code of a time step (RFC 6238: HOTP with the step as counter).
func codeAt(secret string, step int64) (string, error) {
	if step < 0 {
		return "", errors.New("mfa: negative time step")
	}
	return hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{
		Digits:    otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1,
	})
}
