package password

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// weakerParams is another OWASP configuration (m=7 MiB, t=5): valid for a
// Hasher, but different from DefaultParams.
var weakerParams = Params{MemoryKiB: 7168, Iterations: 5, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func newHasher(t testing.TB, p Params, maxConcurrent int) *Hasher {
	t.Helper()
	h, err := NewHasher(p, maxConcurrent)
	if err != nil {
		t.Fatalf("NewHasher(%+v): %v", p, err)
	}
	return h
}

func TestDefaultParamsAreOWASPMinimum(t *testing.T) {
	want := Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	if DefaultParams != want {
		t.Fatalf("DefaultParams = %+v, want OWASP's m=19456,t=2,p=1 with 16-byte salt, 32-byte hash", DefaultParams)
	}
	if err := DefaultParams.Validate(); err != nil {
		t.Fatal(err)
	}
	if argon2.Version != 19 || phcVersion != "v=19" {
		t.Fatalf("argon2.Version = %d, encoding writes %s", argon2.Version, phcVersion)
	}
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHasher(t, DefaultParams, 0)
	ctx := context.Background()
	tests := []struct {
		name, password string
		wrong          []string // near misses that must not verify
	}{
		{"ascii", "correct horse battery staple", []string{"correct horse battery stapl", "Correct horse battery staple", "correcthorsebatterystaple"}},
		{"spaces kept", "  leading and trailing  ", []string{"leading and trailing", "  leading and trailing ", " leading and trailing  "}},
		{"german", "Grüße aus Köln, Straße 5", []string{"Grusse aus Koln, Strasse 5", "grüße aus köln, straße 5"}},
		{"emoji", "🦊🐻🐼 unter dem 🌈", []string{"🦊🐻🐼 unter dem", "🦊🐻🐼 unter dem 🌧"}},
		{"cjk and rtl", "密码很长很安全 كلمة السر", []string{"密码很长很安全 كلمة السز"}},
		{"empty", "", []string{" "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := h.Hash(ctx, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if !phcPattern.MatchString(enc) {
				t.Fatalf("Hash = %q, not the PHC format", enc)
			}
			ok, rehash, err := h.Verify(ctx, tt.password, enc)
			if !ok || rehash || err != nil {
				t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			for _, w := range tt.wrong {
				ok, rehash, err := h.Verify(ctx, w, enc)
				if ok || rehash || err != nil {
					t.Errorf("Verify(%q) = %v, %v, %v; want false, false, nil", w, ok, rehash, err)
				}
			}
		})
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	t.Parallel()
	h := newHasher(t, weakerParams, 0)
	a, err := h.Hash(context.Background(), "same password twice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash(context.Background(), "same password twice")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of the same password are equal: salt not random")
	}
	da, _ := decode(a)
	db, _ := decode(b)
	if len(da.salt) != 16 || string(da.salt) == string(db.salt) {
		t.Fatalf("salts %x and %x: want two different 16-byte salts", da.salt, db.salt)
	}
}

// Hashes made by the reference implementation (Debian's argon2 command,
// libargon2 20171227) verify: stored hashes stay portable to other
// implementations (PHP, Python argon2-cffi, ...).
func TestVerifyReferenceVectors(t *testing.T) {
	t.Parallel()
	h := newHasher(t, DefaultParams, 0)
	tests := []struct{ password, encoded string }{
		// echo -n 'Korrekt Pferd Batterie Heftklammer' | argon2 slotbook-vector-salt -id -t 2 -m 10 -p 1 -l 32 -e
		{"Korrekt Pferd Batterie Heftklammer", "$argon2id$v=19$m=1024,t=2,p=1$c2xvdGJvb2stdmVjdG9yLXNhbHQ$s0p5YbDmcmGM4UOYgNnhYjuxr9f2+E6UyY1BlXi30CM"},
		// echo -n 'Grüße aus Köln 🦊' | argon2 saltsaltsaltsalt -id -t 3 -k 19456 -p 2 -l 32 -e
		{"Grüße aus Köln 🦊", "$argon2id$v=19$m=19456,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$7OfWxktUIIBfrXJ2aJh2Hn4JlTLZUiJOZG6aD/BhG40"},
	}
	for _, tt := range tests {
		ok, rehash, err := h.Verify(context.Background(), tt.password, tt.encoded)
		if !ok || !rehash || err != nil {
			t.Errorf("Verify(%q) = %v, %v, %v; want true, true (other params), nil", tt.password, ok, rehash, err)
		}
		if ok, _, _ := h.Verify(context.Background(), tt.password+".", tt.encoded); ok {
			t.Errorf("Verify(%q.) = true", tt.password)
		}
	}
}

func TestNFCNormalisation(t *testing.T) {
	t.Parallel()
	h := newHasher(t, weakerParams, 0)
	ctx := context.Background()
	composed := "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e"       // é as one code point
	decomposed := "Cafe\u0301 cre\u0300me bru\u0302le\u0301e" // e + combining accent
	enc, err := h.Hash(ctx, decomposed)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := h.Verify(ctx, composed, enc); !ok || err != nil {
		t.Fatalf("canonically equivalent password did not verify: %v, %v", ok, err)
	}
	// No compatibility mapping: the ligature ﬁ is a different character.
	enc, err = h.Hash(ctx, "\ufb01ve little ducks")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := h.Verify(ctx, "five little ducks", enc); ok {
		t.Fatal(`"ﬁve" verified as "five": NFKC applied`)
	}
}

func TestLongPasswordsAreNotTruncated(t *testing.T) {
	t.Parallel()
	h := newHasher(t, weakerParams, 0)
	ctx := context.Background()
	tests := []struct {
		name    string
		base    string // 127 code points
		last    string
		another string
	}{
		{"ascii 128", strings.Repeat("x", 127), "a", "b"},
		{"emoji 128 (512 bytes)", strings.Repeat("🦊", 127), "🐻", "🐼"},
		{"umlaut 128", strings.Repeat("ä", 127), "ö", "ü"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, err := h.Hash(ctx, tt.base+tt.last)
			if err != nil {
				t.Fatal(err)
			}
			if ok, _, _ := h.Verify(ctx, tt.base+tt.last, enc); !ok {
				t.Fatal("128-character password does not verify")
			}
			if ok, _, _ := h.Verify(ctx, tt.base+tt.another, enc); ok {
				t.Fatal("password differing in the 128th character verified: truncated")
			}
			if ok, _, _ := h.Verify(ctx, tt.base, enc); ok {
				t.Fatal("127-character prefix verified: truncated")
			}
		})
	}

	max := strings.Repeat("k", MaxPasswordBytes)
	enc, err := h.Hash(ctx, max)
	if err != nil {
		t.Fatalf("Hash(MaxPasswordBytes): %v", err)
	}
	if ok, _, _ := h.Verify(ctx, max[:MaxPasswordBytes-1]+"l", enc); ok {
		t.Fatal("password differing in the last of MaxPasswordBytes verified")
	}
	if _, err := h.Hash(ctx, max+"k"); !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("Hash(MaxPasswordBytes+1) error = %v, want ErrPasswordTooLong", err)
	}
	if ok, rehash, err := h.Verify(ctx, max+"k", enc); ok || rehash || err != nil {
		t.Fatalf("Verify(too long) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
}

func TestNeedsRehash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	current := newHasher(t, DefaultParams, 0)
	tests := []struct {
		name string
		old  Params
	}{
		{"other OWASP configuration", weakerParams},
		{"more memory", Params{MemoryKiB: 47104, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}},
		{"parallelism", Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 2, SaltLen: 16, KeyLen: 32}},
		{"salt length", Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 32, KeyLen: 32}},
		{"hash length", Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 16}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := newHasher(t, tt.old, 0)
			enc, err := old.Hash(ctx, "sieben fröhliche Zwerge")
			if err != nil {
				t.Fatal(err)
			}
			ok, rehash, err := current.Verify(ctx, "sieben fröhliche Zwerge", enc)
			if !ok || !rehash || err != nil {
				t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
			}
			// A wrong password never asks for a rehash.
			if ok, rehash, err := current.Verify(ctx, "sieben traurige Zwerge", enc); ok || rehash || err != nil {
				t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
			// The same hasher that made it is content.
			if ok, rehash, _ := old.Verify(ctx, "sieben fröhliche Zwerge", enc); !ok || rehash {
				t.Fatalf("old.Verify = %v, %v; want true, false", ok, rehash)
			}
			// After the rehash the stored hash is current.
			fresh, err := current.Hash(ctx, "sieben fröhliche Zwerge")
			if err != nil {
				t.Fatal(err)
			}
			if ok, rehash, _ := current.Verify(ctx, "sieben fröhliche Zwerge", fresh); !ok || rehash {
				t.Fatalf("Verify(rehashed) = %v, %v; want true, false", ok, rehash)
			}
		})
	}
}

// A hash weaker than any Hasher may create (as an older release or an import
// might have stored) still verifies, and asks to be replaced.
func TestVerifyLegacyWeakHash(t *testing.T) {
	t.Parallel()
	salt := []byte("legacy-salt-0123")
	key := argon2.IDKey([]byte("alte Zeiten"), salt, 1, 64, 1, 32)
	enc := encode(Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, salt, key)
	h := newHasher(t, DefaultParams, 0)
	ok, rehash, err := h.Verify(context.Background(), "alte Zeiten", enc)
	if !ok || !rehash || err != nil {
		t.Fatalf("Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func TestNewHasherValidation(t *testing.T) {
	with := func(f func(*Params)) Params { p := DefaultParams; f(&p); return p }
	bad := []struct {
		name string
		p    Params
	}{
		{"zero", Params{}},
		{"memory below floor", with(func(p *Params) { p.MemoryKiB = 4096; p.Iterations = 10 })},
		{"too few passes for the memory", with(func(p *Params) { p.Iterations = 1 })},
		{"no passes", with(func(p *Params) { p.Iterations = 0 })},
		{"no lanes", with(func(p *Params) { p.Parallelism = 0 })},
		{"short salt", with(func(p *Params) { p.SaltLen = 8 })},
		{"short hash", with(func(p *Params) { p.KeyLen = 8 })},
		{"memory above cap", with(func(p *Params) { p.MemoryKiB = maxMemoryKiB + 1 })},
		{"passes above cap", with(func(p *Params) { p.Iterations = maxIterations + 1 })},
		{"lanes above cap", with(func(p *Params) { p.Parallelism = maxParallelism + 1 })},
		{"salt above cap", with(func(p *Params) { p.SaltLen = maxSaltLen + 1 })},
		{"hash above cap", with(func(p *Params) { p.KeyLen = maxKeyLen + 1 })},
	}
	for _, tt := range bad {
		if _, err := NewHasher(tt.p, 1); !errors.Is(err, ErrInvalidParams) {
			t.Errorf("%s: NewHasher(%+v) error = %v, want ErrInvalidParams", tt.name, tt.p, err)
		}
	}
	for _, p := range []Params{
		DefaultParams,
		weakerParams,
		{MemoryKiB: 47104, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 12288, Iterations: 3, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 9216, Iterations: 4, Parallelism: 1, SaltLen: 16, KeyLen: 32},
		{MemoryKiB: 65536, Iterations: 3, Parallelism: 4, SaltLen: 32, KeyLen: 64},
	} {
		if _, err := NewHasher(p, 1); err != nil {
			t.Errorf("NewHasher(%+v): %v", p, err)
		}
	}
	h := newHasher(t, DefaultParams, 0)
	if h.MaxConcurrent() < 1 {
		t.Fatalf("MaxConcurrent() = %d with default", h.MaxConcurrent())
	}
	if h.Params() != DefaultParams {
		t.Fatalf("Params() = %+v", h.Params())
	}
}

func TestMalformedHashes(t *testing.T) {
	valid := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$7OfWxktUIIBfrXJ2aJh2Hn4JlTLZUiJOZG6aD/BhG40"
	if _, err := decode(valid); err != nil {
		t.Fatalf("decode(valid): %v", err)
	}
	malformed, unsupported := ErrMalformedHash, ErrUnsupportedHash
	tests := []struct {
		name, encoded string
		want          error
	}{
		{"empty", "", malformed},
		{"plain text", "hunter2", malformed},
		{"only dollar", "$", malformed},
		{"empty id", "$$v=19$m=1,t=1,p=1$a$b", malformed},
		{"id only", "$argon2id", malformed},
		{"truncated", valid[:40], malformed},
		{"extra field", valid + "$", malformed},
		{"bcrypt", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", unsupported},
		{"argon2i", strings.Replace(valid, "argon2id", "argon2i", 1), unsupported},
		{"argon2d", strings.Replace(valid, "argon2id", "argon2d", 1), unsupported},
		{"no version (v1.0)", strings.Replace(valid, "$v=19", "", 1), unsupported},
		{"version 16", strings.Replace(valid, "v=19", "v=16", 1), unsupported},
		{"version garbage", strings.Replace(valid, "v=19", "version", 1), malformed},
		{"params reordered", strings.Replace(valid, "m=19456,t=2,p=1", "t=2,m=19456,p=1", 1), malformed},
		{"params missing", strings.Replace(valid, "m=19456,t=2,p=1", "m=19456,t=2", 1), malformed},
		{"params extra keyid", strings.Replace(valid, "p=1", "p=1,keyid=abc", 1), malformed},
		{"leading zero", strings.Replace(valid, "m=19456", "m=019456", 1), malformed},
		{"plus sign", strings.Replace(valid, "t=2", "t=+2", 1), malformed},
		{"negative", strings.Replace(valid, "t=2", "t=-2", 1), malformed},
		{"empty number", strings.Replace(valid, "t=2", "t=", 1), malformed},
		{"space in number", strings.Replace(valid, "t=2", "t= 2", 1), malformed},
		{"hex", strings.Replace(valid, "m=19456", "m=0x4c00", 1), malformed},
		{"uint32 overflow", strings.Replace(valid, "m=19456", "m=4294967296", 1), malformed},
		{"huge number", strings.Replace(valid, "m=19456", "m="+strings.Repeat("9", 100), 1), malformed},
		{"memory above cap", strings.Replace(valid, "m=19456", "m=4194304", 1), unsupported},
		{"memory below 8p", strings.Replace(valid, "m=19456,t=2,p=1", "m=8,t=2,p=2", 1), unsupported},
		{"zero passes", strings.Replace(valid, "t=2", "t=0", 1), unsupported},
		{"passes above cap", strings.Replace(valid, "t=2", "t=1000000", 1), unsupported},
		{"zero lanes", strings.Replace(valid, "p=1", "p=0", 1), unsupported},
		{"lanes above uint8", strings.Replace(valid, "p=1", "p=256", 1), unsupported},
		{"padded salt", strings.Replace(valid, "c2FsdHNhbHRzYWx0c2FsdA", "c2FsdHNhbHRzYWx0c2FsdA==", 1), malformed},
		{"url-safe base64", strings.Replace(valid, "aD/BhG40", "aD_BhG40", 1), malformed},
		{"non-canonical base64", strings.Replace(valid, "c2FsdA$", "c2FsdB$", 1), malformed},
		{"salt not base64", strings.Replace(valid, "c2FsdHNh", "c2Fs*HNh", 1), malformed},
		{"salt too short", strings.Replace(valid, "c2FsdHNhbHRzYWx0c2FsdA", "c2FsdA", 1), unsupported},
		{"salt too long", strings.Replace(valid, "c2FsdHNhbHRzYWx0c2FsdA", strings.Repeat("A", 200), 1), unsupported},
		{"empty hash", valid[:strings.LastIndexByte(valid, '$')+1], unsupported},
		{"hash too short", valid[:strings.LastIndexByte(valid, '$')+1] + "AAAAAAAAAAA", unsupported},
		{"trailing newline", valid + "\n", malformed},
		{"leading space", " " + valid, malformed},
	}
	h := newHasher(t, DefaultParams, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(tt.encoded)
			if !errors.Is(err, tt.want) {
				t.Fatalf("decode(%q) error = %v, want %v", tt.encoded, err, tt.want)
			}
			if len(tt.encoded) > 8 && strings.Contains(err.Error(), tt.encoded) {
				t.Fatalf("error %q quotes the stored hash", err)
			}
			ok, rehash, err := h.Verify(context.Background(), "irrelevant", tt.encoded)
			if ok || rehash || !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, %v, %v; want false, false, %v", ok, rehash, err, tt.want)
			}
		})
	}
}

// blockingDerive replaces argon2 with a function that signals entry and
// waits for release, to observe the concurrency bound deterministically.
type blockingDerive struct {
	entered               chan struct{}
	release               chan struct{}
	inFlight, maxInFlight atomic.Int32
}

func newBlockingDerive() *blockingDerive {
	return &blockingDerive{entered: make(chan struct{}, 100), release: make(chan struct{})}
}

func (b *blockingDerive) derive(password, salt []byte, p Params) []byte {
	n := b.inFlight.Add(1)
	for {
		m := b.maxInFlight.Load()
		if n <= m || b.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	b.entered <- struct{}{}
	<-b.release
	b.inFlight.Add(-1)
	return make([]byte, p.KeyLen)
}

func TestConcurrencyBoundGivesUpWithContext(t *testing.T) {
	h := newHasher(t, DefaultParams, 1)
	bd := newBlockingDerive()
	h.derive = bd.derive

	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "first in line")
		done <- err
	}()
	<-bd.entered // the only slot is taken

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := h.Hash(ctx, "second"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash while slot busy: error = %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited < 25*time.Millisecond {
		t.Fatalf("gave up after %v, before the deadline", waited)
	}
	if ok, rehash, err := h.Verify(ctx, "second", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$7OfWxktUIIBfrXJ2aJh2Hn4JlTLZUiJOZG6aD/BhG40"); ok || rehash || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify while slot busy = %v, %v, %v; want context.DeadlineExceeded", ok, rehash, err)
	}
	cctx, ccancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); ccancel() }()
	if err := h.DummyVerify(cctx, "second"); !errors.Is(err, context.Canceled) {
		t.Fatalf("DummyVerify while slot busy: error = %v, want context.Canceled", err)
	}

	close(bd.release)
	if err := <-done; err != nil {
		t.Fatalf("first Hash: %v", err)
	}
	// The slot is free again.
	if _, err := h.Hash(context.Background(), "third"); err != nil {
		t.Fatalf("Hash after release: %v", err)
	}
}

func TestCanceledContextFailsFast(t *testing.T) {
	h := newHasher(t, DefaultParams, 4)
	var called atomic.Bool
	h.derive = func(password, salt []byte, p Params) []byte { called.Store(true); return make([]byte, p.KeyLen) }
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash(canceled) error = %v", err)
	}
	if called.Load() {
		t.Fatal("hashed despite a canceled context")
	}
}

func TestConcurrencyBoundIsRespected(t *testing.T) {
	const limit, callers = 2, 10
	h := newHasher(t, DefaultParams, limit)
	bd := newBlockingDerive()
	h.derive = bd.derive

	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = h.Hash(context.Background(), "pw")
			} else {
				err = h.DummyVerify(context.Background(), "pw")
			}
			errs <- err
		})
	}
	for range callers {
		<-bd.entered
		// Let any caller that wrongly slipped past the semaphore arrive.
		time.Sleep(2 * time.Millisecond)
		if n := bd.inFlight.Load(); n > limit {
			t.Errorf("%d hashes in flight, limit %d", n, limit)
		}
		bd.release <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := bd.maxInFlight.Load(); got != limit {
		t.Fatalf("max hashes in flight = %d, want exactly %d", got, limit)
	}
}

// Real hashing from many goroutines: no data races, every result verifies.
func TestConcurrentRealHashing(t *testing.T) {
	t.Parallel()
	h := newHasher(t, weakerParams, 2)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			pw := strings.Repeat("gleichzeitig ", i+1)
			enc, err := h.Hash(context.Background(), pw)
			if err != nil {
				t.Error(err)
				return
			}
			if ok, _, err := h.Verify(context.Background(), pw, enc); !ok || err != nil {
				t.Errorf("Verify = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
}

func TestDecodeEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	h := newHasher(t, weakerParams, 0)
	enc, err := h.Hash(context.Background(), "rund herum")
	if err != nil {
		t.Fatal(err)
	}
	d, err := decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	if d.params != weakerParams {
		t.Fatalf("decoded params %+v, want %+v", d.params, weakerParams)
	}
	if got := encode(d.params, d.salt, d.key); got != enc {
		t.Fatalf("re-encoded %q, want %q", got, enc)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$7OfWxktUIIBfrXJ2aJh2Hn4JlTLZUiJOZG6aD/BhG40")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$bGVnYWN5LXNhbHQtMDEyMw$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2i$v=19$m=1,t=1,p=1$$")
	f.Add("$argon2id$m=1,t=1,p=1$a$b")
	f.Add("$$$$$$")
	f.Add("$argon2id$v=19$m=0,t=0,p=0$=$=")
	f.Add("$argon2id$v=19$m=4294967295,t=4294967295,p=255$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	h, err := NewHasher(DefaultParams, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := decode(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrUnsupportedHash) {
				t.Fatalf("decode error %v wraps neither sentinel", err)
			}
			return
		}
		// Strict parsing: whatever is accepted is canonical.
		if got := encode(d.params, d.salt, d.key); got != s {
			t.Fatalf("decode accepted %q, which encodes back as %q", s, got)
		}
		if err := d.params.checkCaps(); err != nil {
			t.Fatalf("decode accepted params beyond the caps: %v", err)
		}
		// Verify must not panic on anything decode accepts; keep the cost
		// of a fuzz iteration small.
		if d.params.MemoryKiB <= 1024 && d.params.Iterations <= 2 {
			if ok, _, err := h.Verify(context.Background(), "fuzz", s); ok || err != nil {
				t.Fatalf("Verify(fuzz) = %v, %v", ok, err)
			}
		}
	})
}

// BenchmarkHash measures one Hash with DefaultParams: the cost of a login
// (Verify costs the same).
func BenchmarkHash(b *testing.B) {
	h, err := NewHasher(DefaultParams, 1)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkHashParallel hashes from many goroutines through a Hasher bound to
// GOMAXPROCS: throughput of logins per second on this machine.
func BenchmarkHashParallel(b *testing.B) {
	h, err := NewHasher(DefaultParams, 0)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "hashes/s")
}
