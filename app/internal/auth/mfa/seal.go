package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// MinKeyBytes is the minimum length of the key passed to Seal and Open, the same minimum as
// for SLOTBOOK_SESSION_KEY.
const MinKeyBytes = 32

const (
	sealVersion = "v1:"
	// sealInfo binds the derived key to this one purpose: the same session key yields
	// unrelated keys for anything else derived from it.
	sealInfo = "slotbook mfa totp-secret aes-256-gcm v1"
)

// ErrOpen is returned by Open for anything that is not a value sealed with the same key: wrong
// key, tampered or truncated data, unknown format. It deliberately does not say which.
var ErrOpen = errors.New("mfa: sealed secret cannot be opened (wrong key or tampered data)")

// Seal encrypts a TOTP secret for storage with AES-256-GCM under a key derived from key (the
// app's session key) with HKDF-SHA256. Each call uses a fresh random nonce, so sealing the same
// secret twice gives different results. The result is ASCII: "v1:" and base64.
func Seal(key []byte, secret string) (string, error) {
	aead, err := sealAEAD(key)
	if err != nil {
		return "", err
	}
	ct := aead.Seal(nil, nil, []byte(secret), []byte(sealVersion))
	return sealVersion + base64.RawStdEncoding.EncodeToString(ct), nil
}

// Open decrypts a value made by Seal with the same key. It fails with ErrOpen if the value was
// changed in any way or sealed under another key.
func Open(key []byte, sealed string) (string, error) {
	aead, err := sealAEAD(key)
	if err != nil {
		return "", err
	}
	b64, found := strings.CutPrefix(sealed, sealVersion)
	if !found {
		return "", ErrOpen
	}
	ct, err := base64.RawStdEncoding.Strict().DecodeString(b64)
	if err != nil || len(ct) < aead.Overhead() {
		return "", ErrOpen
	}
	pt, err := aead.Open(nil, nil, ct, []byte(sealVersion))
	if err != nil {
		return "", ErrOpen
	}
	return string(pt), nil
}

func sealAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("mfa: key has %d bytes, need at least %d", len(key), MinKeyBytes)
	}
	k, err := hkdf.Key(sha256.New, key, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("mfa: derive key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	// Random 96-bit nonce prepended to the ciphertext; safe for up to 2^32 seals per key,
	// far more than the app will ever make.
	return cipher.NewGCMWithRandomNonce(block)
}
