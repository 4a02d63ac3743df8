package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are argon2id's cost parameters plus the salt and hash lengths.
type Params struct {
	MemoryKiB   uint32 // m: memory in KiB
	Iterations  uint32 // t: passes over the memory
	Parallelism uint8  // p: lanes (threads) per hash
	SaltLen     uint32 // salt length in bytes
	KeyLen      uint32 // hash (tag) length in bytes
}

// DefaultParams is OWASP's argon2id configuration m=19456 KiB (19 MiB), t=2,
// p=1 (Password Storage Cheat Sheet; the configurations it lists are equally
// strong and trade memory for passes). Of those it needs the least memory
// short of passes that make a login slow: about 50 ms per hash on one core of
// the 2-core reference machine (BenchmarkHash), while m=47104, t=1 takes about
// 90 ms and 46 MiB. Salt 16 bytes, hash 32 bytes.
var DefaultParams = Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// Limits on parameters. A Hasher's own parameters must reach the OWASP floor;
// a stored hash may be weaker (it is verified and flagged for rehashing) but
// no stronger than the caps, so that a tampered or corrupt hash in the
// database cannot make one login allocate gigabytes or spin for minutes.
const (
	// OWASP floor: at least 7 MiB, and memory × passes at least that of the
	// weakest OWASP configuration (m=7168 KiB, t=5).
	minMemoryKiB     = 7168
	minMemoryPasses  = 7168 * 5
	minSaltLen       = 16
	minKeyLen        = 16
	minStoredSaltLen = 8 // PHC string format's minimum salt
	maxMemoryKiB     = 256 * 1024
	maxIterations    = 16
	maxParallelism   = 16
	maxSaltLen       = 64
	maxKeyLen        = 64
)

// MaxPasswordBytes is the longest password, in bytes of UTF-8, that a Hasher
// accepts. It lies far above any length [Policy] lets a user choose (1024 code
// points at the very most) and only bounds the work absurd input can cause.
const MaxPasswordBytes = 8192

var (
	// ErrMalformedHash is wrapped by the error for a stored hash that is not a
	// well-formed argon2id PHC string.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrUnsupportedHash is wrapped by the error for a well-formed hash this
	// package does not verify: another algorithm, another argon2 version, or
	// parameters beyond the caps.
	ErrUnsupportedHash = errors.New("password: unsupported hash")
	// ErrInvalidParams is wrapped by NewHasher's error for parameters below
	// the OWASP floor or beyond the caps.
	ErrInvalidParams = errors.New("password: invalid argon2id parameters")
	// ErrPasswordTooLong is returned by Hash for a password longer than
	// MaxPasswordBytes.
	ErrPasswordTooLong = errors.New("password: password too long")
)

// Validate reports whether p may be used to create new hashes: at or above
// the OWASP floor and within the caps.
func (p Params) Validate() error {
	switch {
	case p.MemoryKiB < minMemoryKiB || uint64(p.MemoryKiB)*uint64(p.Iterations) < minMemoryPasses:
		return fmt.Errorf("%w: m=%d KiB, t=%d is below OWASP's minimum (e.g. m=19456, t=2)", ErrInvalidParams, p.MemoryKiB, p.Iterations)
	case p.SaltLen < minSaltLen:
		return fmt.Errorf("%w: salt length %d is below %d bytes", ErrInvalidParams, p.SaltLen, minSaltLen)
	case p.KeyLen < minKeyLen:
		return fmt.Errorf("%w: hash length %d is below %d bytes", ErrInvalidParams, p.KeyLen, minKeyLen)
	}
	if err := p.checkCaps(); err != nil {
		return fmt.Errorf("%w: %s", ErrInvalidParams, err)
	}
	return nil
}

// checkCaps checks what both a Hasher's and a stored hash's parameters must
// satisfy: argon2's own minimums and this package's caps.
func (p Params) checkCaps() error {
	switch {
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("t=%d outside 1..%d", p.Iterations, maxIterations)
	case p.Parallelism < 1 || p.Parallelism > maxParallelism:
		return fmt.Errorf("p=%d outside 1..%d", p.Parallelism, maxParallelism)
	case p.MemoryKiB < 8*uint32(p.Parallelism) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("m=%d outside %d..%d", p.MemoryKiB, 8*uint32(p.Parallelism), maxMemoryKiB)
	case p.SaltLen < minStoredSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d outside %d..%d", p.SaltLen, minStoredSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("hash length %d outside %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hasher hashes and verifies passwords with fixed parameters and a bound on
// concurrent hashes. It is safe for concurrent use; create one per process.
type Hasher struct {
	params Params
	sem    chan struct{}
	// derive computes the argon2id key; tests replace it to observe
	// concurrency without paying for real hashes.
	derive func(password, salt []byte, p Params) []byte
}

// NewHasher returns a Hasher that creates hashes with params and runs at most
// maxConcurrent hashes at once (GOMAXPROCS if maxConcurrent <= 0). Peak memory
// for hashing is about params.MemoryKiB × maxConcurrent.
func NewHasher(params Params, maxConcurrent int) (*Hasher, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	if maxConcurrent <= 0 {
		maxConcurrent = runtime.GOMAXPROCS(0)
	}
	return &Hasher{params: params, sem: make(chan struct{}, maxConcurrent), derive: argon2id}, nil
}

func argon2id(password, salt []byte, p Params) []byte {
	return argon2.IDKey(password, salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// MaxConcurrent returns how many hashes h runs at once.
func (h *Hasher) MaxConcurrent() int { return cap(h.sem) }

// Hash returns the PHC string of password with h's parameters and a new
// random salt. It waits for a free slot until ctx ends and then returns ctx's
// error. The password is hashed in full (after NFC normalisation); one longer
// than MaxPasswordBytes gives ErrPasswordTooLong.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if len(password) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	key := h.derive([]byte(norm.NFC.String(password)), salt, h.params)
	release()
	return encode(h.params, salt, key), nil
}

// Verify reports whether password matches encoded, a PHC string made by Hash
// (with these or earlier parameters). needsRehash is true only when the
// password matches and encoded was made with parameters other than h's: the
// caller should then replace the stored hash with Hash(password). A wrong
// password gives (false, false, nil); a malformed or unsupported encoding an
// error wrapping ErrMalformedHash or ErrUnsupportedHash; running out of time
// waiting for a slot ctx's error. The comparison takes constant time.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	d, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	if len(password) > MaxPasswordBytes {
		// Hash never accepted such a password, so it cannot match.
		return false, false, nil
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	key := h.derive([]byte(norm.NFC.String(password)), d.salt, d.params)
	release()
	if subtle.ConstantTimeCompare(key, d.key) != 1 {
		return false, false, nil
	}
	return true, d.params != h.params, nil
}

// DummyVerify does the work of a Verify with h's parameters and discards the
// result. Call it when a login names an account that does not exist, so that
// the response takes as long as for an existing account and its timing does
// not tell which accounts exist. It returns ctx's error if no slot became free.
func (h *Hasher) DummyVerify(ctx context.Context, password string) error {
	if len(password) > MaxPasswordBytes {
		return nil
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	salt := make([]byte, h.params.SaltLen)
	h.derive([]byte(norm.NFC.String(password)), salt, h.params)
	return nil
}

// acquire takes one of h's hashing slots, waiting until ctx ends.
func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("password: waiting for a hashing slot: %w", err)
	}
	select {
	case h.sem <- struct{}{}:
		return func() { <-h.sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	}
}

const (
	phcID      = "argon2id"
	phcVersion = "v=19" // argon2.Version (0x13); a test keeps them in step
)

var b64 = base64.RawStdEncoding.Strict()

func encode(p Params, salt, key []byte) string {
	return fmt.Sprintf("$%s$%s$m=%d,t=%d,p=%d$%s$%s", phcID, phcVersion,
		p.MemoryKiB, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key))
}

type decoded struct {
	params    Params
	salt, key []byte
}

// decode parses a PHC string strictly: the exact field order Hash writes,
// decimal numbers without sign or leading zeros, unpadded canonical base64.
// Every string it accepts is therefore re-encoded byte for byte by encode.
// Error messages never quote the input.
func decode(s string) (decoded, error) {
	var d decoded
	if !strings.HasPrefix(s, "$") {
		return d, fmt.Errorf("%w: does not start with '$'", ErrMalformedHash)
	}
	fields := strings.Split(s[1:], "$")
	switch id := fields[0]; id {
	case phcID:
	case "argon2i", "argon2d":
		return d, fmt.Errorf("%w: algorithm %s (only argon2id is supported)", ErrUnsupportedHash, id)
	case "":
		return d, fmt.Errorf("%w: empty algorithm identifier", ErrMalformedHash)
	default:
		return d, fmt.Errorf("%w: algorithm is not argon2id", ErrUnsupportedHash)
	}
	if len(fields) == 4 && strings.HasPrefix(fields[1], "m=") {
		return d, fmt.Errorf("%w: no version field (argon2 v1.0 is not supported)", ErrUnsupportedHash)
	}
	if len(fields) != 5 {
		return d, fmt.Errorf("%w: want 5 '$'-separated fields, got %d", ErrMalformedHash, len(fields))
	}
	if v := fields[1]; v != phcVersion {
		if _, ok := strings.CutPrefix(v, "v="); ok {
			return d, fmt.Errorf("%w: argon2 version other than 19", ErrUnsupportedHash)
		}
		return d, fmt.Errorf("%w: bad version field", ErrMalformedHash)
	}

	ps := strings.Split(fields[2], ",")
	if len(ps) != 3 {
		return d, fmt.Errorf("%w: want parameters m,t,p", ErrMalformedHash)
	}
	var nums [3]uint32
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(ps[i], name+"=")
		if !ok {
			return d, fmt.Errorf("%w: parameter %d is not %s=", ErrMalformedHash, i+1, name)
		}
		n, err := parseDecimal(v)
		if err != nil {
			return d, fmt.Errorf("%w: parameter %s: %v", ErrMalformedHash, name, err)
		}
		nums[i] = n
	}
	if nums[2] > maxParallelism {
		return d, fmt.Errorf("%w: p=%d outside 1..%d", ErrUnsupportedHash, nums[2], maxParallelism)
	}
	if b64.DecodedLen(len(fields[3])) > maxSaltLen || b64.DecodedLen(len(fields[4])) > maxKeyLen {
		return d, fmt.Errorf("%w: salt or hash longer than %d bytes", ErrUnsupportedHash, maxKeyLen)
	}

	var err error
	if d.salt, err = decodeB64(fields[3]); err != nil {
		return d, fmt.Errorf("%w: salt is not unpadded base64", ErrMalformedHash)
	}
	if d.key, err = decodeB64(fields[4]); err != nil {
		return d, fmt.Errorf("%w: hash is not unpadded base64", ErrMalformedHash)
	}
	d.params = Params{
		MemoryKiB:   nums[0],
		Iterations:  nums[1],
		Parallelism: uint8(nums[2]),
		SaltLen:     uint32(len(d.salt)),
		KeyLen:      uint32(len(d.key)),
	}
	if err := d.params.checkCaps(); err != nil {
		return d, fmt.Errorf("%w: %s", ErrUnsupportedHash, err)
	}
	return d, nil
}

// decodeB64 decodes canonical unpadded standard base64. Unlike the
// encoding package alone it also refuses the line breaks that package skips.
func decodeB64(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, errors.New("not base64")
		}
	}
	return b64.DecodeString(s)
}

// parseDecimal parses a canonical unsigned decimal uint32: digits only, no
// sign, no leading zeros.
func parseDecimal(s string) (uint32, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("leading zero")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errors.New("out of range")
	}
	return uint32(n), nil
}
