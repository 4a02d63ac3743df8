package booking

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// The manage token is stored as its SHA-256 (the manage page looks it up by that) and, for the
// links in later mails (reminders, changes the business makes, which happen when nobody holds
// the token in plain), sealed with AES-256-GCM under a key derived (HKDF-SHA256) from the session
// key, SLOTBOOK_SESSION_KEY, with its own purpose string. A copy of the database alone does not
// reveal a token; the running app, which has the key, can put the link into a mail. Rotating the
// session key makes the sealed tokens unreadable: later mails then go without a link (the
// customer still has the one from the confirmation).

const (
	sealedPrefix = "m1:"
	sealedInfo   = "slotbook booking manage-token aes-256-gcm v1"
)

// ErrSealed: a sealed manage token that cannot be opened (other key, tampered).
var ErrSealed = errors.New("booking: sealed manage token cannot be opened")

func manageAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) < 32 {
		return nil, errors.New("booking: the manage-token key needs at least 32 bytes")
	}
	k, err := hkdf.Key(sha256.New, key, nil, sealedInfo, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// SealManageToken seals a manage token for storage (see above).
func SealManageToken(key []byte, token string) (string, error) {
	aead, err := manageAEAD(key)
	if err != nil {
		return "", err
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(aead.Seal(nil, nil, []byte(token), []byte(sealedPrefix))), nil
}

// OpenManageToken returns the token SealManageToken sealed with the same key, or ErrSealed.
func OpenManageToken(key []byte, sealed string) (string, error) {
	aead, err := manageAEAD(key)
	if err != nil {
		return "", err
	}
	b64, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", ErrSealed
	}
	ct, err := base64.RawStdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return "", ErrSealed
	}
	pt, err := aead.Open(nil, nil, ct, []byte(sealedPrefix))
	if err != nil || !validToken(string(pt)) {
		return "", ErrSealed
	}
	return string(pt), nil
}

// WithManageTokenKey seals each new booking's manage token with key (the session key) so that
// later mails can carry the manage link. Without it nothing is sealed.
func WithManageTokenKey(key []byte) Option {
	return func(s *Service) { s.tokenKey = key }
}

// newSealedToken is newToken plus the sealed form ("" without a key).
func (s *Service) newSealedToken() (token string, hash []byte, sealed string, err error) {
	token, hash = newToken()
	if s.tokenKey != nil {
		sealed, err = SealManageToken(s.tokenKey, token)
	}
	return token, hash, sealed, err
}
