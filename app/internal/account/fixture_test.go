package account

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pquerna/otp/totp"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/auth/password"
	"github.com/slotbook/slotbook/app/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// A password the default policy accepts (no business name "My business" in it).
const goodPassword = "violet tractor 48 umbrella"

// testKey is a session key for sealing TOTP secrets.
var testKey = []byte("0123456789abcdef0123456789abcdef")

// hasher is shared by all tests, like one per process in production.
var hasher = func() *password.Hasher {
	h, err := password.NewHasher(password.DefaultParams, 4)
	if err != nil {
		panic(err)
	}
	return h
}()

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	svc   *Service
	clock *clock
	opts  Options
}

// newFixture returns a service on a fresh database with a fake clock. Every test's audit chain
// is verified when it ends.
func newFixture(t *testing.T, mutate ...func(*Options)) *fixture {
	t.Helper()
	ctx := t.Context()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	f := &fixture{t: t, ctx: ctx, pool: pool, clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}}
	f.opts = Options{BaseURL: "https://book.example.test", SessionKey: testKey, MFA: MFAOptional,
		Now: f.clock.now, Hasher: hasher}
	for _, m := range mutate {
		m(&f.opts)
	}
	if f.svc, err = NewService(pool, f.opts); err != nil {
		t.Fatal(err)
	}
	f.svc.resetFloor = 0
	t.Cleanup(func() {
		res, err := audit.Verify(context.Background(), pool)
		if err != nil || !res.OK() {
			t.Errorf("audit.Verify = %+v, %v", res.FirstBad, err)
		}
	})
	return f
}

// withService returns a second service on the same database with other options.
func (f *fixture) withService(mutate func(*Options)) *Service {
	f.t.Helper()
	o := f.opts
	mutate(&o)
	s, err := NewService(f.pool, o)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// token is the last path segment of a link.
func token(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path[strings.LastIndexByte(u.Path, '/')+1:]
}

// owner creates an owner with goodPassword and returns them as a principal with a session.
func (f *fixture) owner(email string) access.Principal {
	f.t.Helper()
	link, err := f.svc.CreateOwner(f.ctx, email)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.UseLink(f.ctx, token(f.t, link), goodPassword); err != nil {
		f.t.Fatal(err)
	}
	return f.signIn(email)
}

// user invites an account with role (staff get a new staff member) and sets its password.
func (f *fixture) user(by access.Principal, email string, role access.Role) access.Principal {
	f.t.Helper()
	var staffID *int64
	if role == access.Staff {
		id := f.staff(email)
		staffID = &id
	}
	link, err := f.svc.Invite(f.ctx, by, email, "Test "+string(role), role, staffID)
	if err != nil {
		f.t.Fatalf("invite %s as %s: %v", email, role, err)
	}
	if _, err := f.svc.UseLink(f.ctx, token(f.t, link), goodPassword); err != nil {
		f.t.Fatal(err)
	}
	return f.signIn(email)
}

// signIn logs in with goodPassword (no MFA) and starts a session.
func (f *fixture) signIn(email string) access.Principal {
	f.t.Helper()
	res, err := f.svc.Login(f.ctx, email, goodPassword, "192.0.2.1")
	if err != nil || res.Next != LoginDone {
		f.t.Fatalf("login %s = %+v, %v", email, res, err)
	}
	sid, err := f.svc.StartSession(f.ctx, res.User.ID, "test", "192.0.2.1")
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.svc.Principal(f.ctx, sid)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// staff inserts a staff member.
func (f *fixture) staff(name string) int64 {
	f.t.Helper()
	var id int64
	if err := f.pool.QueryRow(f.ctx, `INSERT INTO staff (name) VALUES ($1) RETURNING id`, name).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// auditHead is the last audit id.
func (f *fixture) auditHead() int64 {
	f.t.Helper()
	var id int64
	if err := f.pool.QueryRow(f.ctx, `SELECT coalesce(max(id), 0) FROM audit_log`).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// auditRow is an audit entry as the tests compare it: "actor action object diff".
func (f *fixture) auditSince(after int64) []string {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `
		SELECT actor || ' ' || action || ' ' || object_type || ':' || object_id || ' ' || coalesce(diff::text, '')
		FROM audit_log WHERE id > $1 ORDER BY id`, after)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out
}

// expectAudit runs fn and checks that exactly the audit rows with these actions (in order) were
// written, returning them.
func (f *fixture) expectAudit(fn func(), actions ...string) []string {
	f.t.Helper()
	head := f.auditHead()
	fn()
	got := f.auditSince(head)
	var gotActions []string
	for _, r := range got {
		gotActions = append(gotActions, strings.Fields(r)[1])
	}
	if !slices.Equal(gotActions, actions) {
		f.t.Errorf("audit rows %q, want actions %q", got, actions)
	}
	return got
}

// code is the TOTP code of a secret at the fixture's time.
func (f *fixture) code(secret string) string {
	f.t.Helper()
	c, err := totp.GenerateCode(secret, f.clock.now())
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// enrol enrols p in TOTP and returns the secret and recovery codes.
func (f *fixture) enrol(userID int64) (string, []string) {
	f.t.Helper()
	e, err := f.svc.BeginEnrolment(f.ctx, userID)
	if err != nil {
		f.t.Fatal(err)
	}
	codes, err := f.svc.ConfirmEnrolment(f.ctx, userID, f.code(e.Secret))
	if err != nil {
		f.t.Fatal(err)
	}
	return e.Secret, codes
}

func isLocked(err error) (time.Duration, bool) {
	var le *LockedError
	if errors.As(err, &le) {
		return le.RetryAfter, true
	}
	return 0, false
}

func uid(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

func ptr[T any](v T) *T { return &v }
