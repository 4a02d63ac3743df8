// Package mfa implements TOTP multi-factor authentication (RFC 6238) with recovery codes, built
// to OWASP ASVS 5.0 level 2, chapter V6 (Authentication). It keeps no state: the caller stores
// the sealed TOTP secret, the last accepted time step and the recovery-code hashes per account.
//
// # Enrolment
//
// [NewEnrolment] creates a 160-bit secret from crypto/rand (ASVS 6.5.3) with the parameters
// every authenticator app understands (SHA-1, 6 digits, 30 s period), the otpauth:// URL and a
// QR code as PNG and as a data: URL for an <img> (the app's CSP allows img-src data:). The
// enrolment is only complete when the user has typed a valid code from the app
// ([Enrolment.Confirm]); only then should the caller store the secret, sealed with [Seal], and
// the returned step as the account's last used step.
//
// # Verification window and replay
//
// [Verify] accepts a code only for the current 30-second time step: no extra steps for clock
// drift. A code therefore lives at most 30 s, as ASVS 6.5.5 requires. The cost is that a code
// typed in the last seconds of its step and submitted after the step ends is rejected and the
// user has to enter the next one; authenticator apps show the remaining time, and phone clocks
// are kept in sync by the network. Codes are single-use (ASVS 6.5.1): Verify returns the
// accepted time step, the caller stores it, and a code for a step at or before the stored one
// is rejected, so even the same code twice within its 30 s fails. The caller must store the new
// step atomically with the check (for example UPDATE ... SET mfa_last_step = $new WHERE
// mfa_last_step < $new) so that two concurrent requests cannot both use one code. Verify uses
// the server's clock, never a time supplied by the client (ASVS 6.5.8).
//
// A 6-digit code can be guessed with probability 1e-6 per attempt, so the caller must limit
// failed attempts per account (ASVS 6.3.1); this package does not count them.
//
// # Recovery codes
//
// [NewRecoveryCodes] creates 10 single-use recovery codes ("lookup secrets" in ASVS terms),
// each 25 characters from crypto/rand in Crockford's base32 alphabet (no i, l, o, u), shown as
// five groups of five, for example "7k2mq-x9d4t-0vh3c-pb8nz-fw5ra": 125 bits of entropy each.
// Only their SHA-256 hashes are stored. ASVS 6.5.2 allows a plain hash function for lookup
// secrets of 112 bits or more; below that it requires a salted password hash such as argon2id.
// A slow, salted hash exists to make guessing a low-entropy secret from its hash expensive; a
// secret of 125 random bits cannot be guessed however fast the hash is (2^125 SHA-256
// computations), and no two accounts share a code, so salt and work factor add nothing. That
// is why the codes are longer than the 10 characters often seen elsewhere: 10 characters
// (50 bits) hashed with SHA-256 could be brute-forced from a leaked database.
// [MatchRecoveryCode] accepts the code in any case, with or without dashes and spaces, and
// with o for 0 and i or l for 1; removing the used hash is the caller's job.
//
// # Secrets at rest
//
// TOTP secrets must be readable by the server, so they are encrypted, not hashed: [Seal] and
// [Open] use AES-256-GCM with a random nonce, the key derived with HKDF-SHA256 from the app's
// session key (SLOTBOOK_SESSION_KEY) for this purpose only. Changing the session key makes
// every sealed secret unreadable; the sealed form starts with a version ("v1:") so that a
// future key rotation can re-seal them.
package mfa
