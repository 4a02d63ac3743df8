// Package password stores and checks the passwords of Slotbook accounts,
// following OWASP ASVS 5.0 level 2 (V6.2 password security, V11.4.2 password
// storage) and the technical and organisational measures of GDPR TOM §3.4
// (access control) and §6 (pseudonymisation and encryption).
//
// # Storage
//
// A [Hasher] hashes passwords with argon2id (RFC 9106) and a fresh 16-byte
// salt from crypto/rand, and encodes the result in the PHC string format
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt, base64>$<hash, base64>
//
// so that every stored hash carries its own parameters. [DefaultParams] is one
// of the configurations OWASP's Password Storage Cheat Sheet lists as its
// minimum (m=19 MiB, t=2, p=1). [Hasher.Verify] compares in constant time and
// reports needsRehash when a correct password's stored hash was made with
// other parameters than the Hasher's current ones: the caller then stores
// [Hasher.Hash] of the password it has just verified, so parameters can be
// raised later without a migration or a forced reset.
//
// Each hash costs MemoryKiB of memory for tens of milliseconds. A Hasher
// therefore runs at most maxConcurrent hashes at once (default GOMAXPROCS);
// further calls wait for a slot until their context ends, so a flood of login
// attempts queues up instead of exhausting the pod's memory
// (19 MiB × maxConcurrent at most). Rate limiting and lock-out are the login
// handler's job, not this package's.
//
// Passwords are hashed exactly as received, without truncation, trimming or
// case changes (ASVS V6.2.8). The one transformation is Unicode NFC
// normalisation, which only unifies the different encodings of the same
// characters (for example "é" typed as one code point on one device and as
// "e" plus a combining accent on another; RFC 8265's OpaqueString profile does
// the same). Compatibility mappings (NFKC) are not applied because they would
// merge characters that differ. Passwords longer than [MaxPasswordBytes] are
// refused: far above any length the [Policy] accepts, the limit only keeps
// absurd input from costing time.
//
// # Policy
//
// [Policy.Check] decides whether a new password (at registration, at a change
// or a reset) may be set, and returns machine-readable [Problem]s whose codes
// and parameters the web layer translates:
//
//   - Length is counted in Unicode code points after NFC normalisation; white
//     space counts and is never stripped. At least 12 (configurable, never
//     below 8, ASVS V6.2.1) and at most 128 (configurable, never below 64,
//     ASVS V6.2.9).
//   - Every printable Unicode character is allowed, including spaces, umlauts
//     and emoji. Only control characters and invalid UTF-8 are refused.
//   - There are no composition rules: no required upper case letters, digits or
//     symbols (ASVS V6.2.5, NIST SP 800-63B).
//   - Common passwords are refused (ASVS V6.2.4, V6.2.12), also when
//     disguised by case, appended or prepended digits, years and symbols,
//     repetition or leet spelling ("P@ssw0rd2024!"), as are trivial patterns
//     such as "aaaaaaaaaaaa" or "123456789012". The list (about 60,000
//     entries, built at the first Check) merges the 30,000 most frequent
//     passwords of Mark Burnett's public-domain corpus of 10 million breached
//     passwords, with the most frequent English names and words, as ranked by
//     the MIT-licensed module github.com/trustelem/zxcvbn (package
//     frequency), and the team's own list of German and Slotbook-specific
//     entries (data/supplement.txt). README.md gives the figures: all of the
//     corpus's top 3,000 passwords of 8 or more characters are refused.
//   - Passwords containing the business's name or words of the user's own
//     details passed as context (ASVS V6.1.2, V6.2.11) are refused.
//
// What the policy deliberately does not do:
//
//   - No forced periodic rotation: a password stays valid until the user
//     changes it or it is known to be compromised (ASVS V6.2.10, NIST SP
//     800-63B §3.1.1.2). Expiry makes people choose predictable successors
//     ("Sommer2024!" → "Herbst2024!").
//   - Paste, browser password helpers and password managers must keep working
//     (ASVS V6.2.7): never block paste or autocomplete on password fields.
//   - No composition rules, no password hints, no security questions.
package password
