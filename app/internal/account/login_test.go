package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/auth/password"
)

// A known and an unknown address go through the same lockout: same answers, same lock times,
// one login.failed per failure and one login.locked per lock.
func TestLoginLockoutKnownAndUnknownAlike(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	for _, tc := range []struct {
		name   string
		email  string
		object string
	}{
		{"known", "Owner@Example.test ", "user:" + fmt.Sprint(owner.UserID)},
		{"unknown", "nobody@example.test", ":"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			for i := 1; i < AccountMaxFailures; i++ {
				rows := f.expectAudit(func() {
					_, err := f.svc.Login(f.ctx, tc.email, "wrong password "+fmt.Sprint(i), "")
					if !errors.Is(err, ErrBadCredentials) {
						t.Fatalf("failure %d: %v", i, err)
					}
				}, "login.failed")
				if !strings.Contains(rows[0], "anonymous login.failed") || !strings.Contains(rows[0], tc.object) {
					t.Errorf("audit row %q", rows[0])
				}
			}
			// The fifth failure locks for a minute.
			f.expectAudit(func() {
				_, err := f.svc.Login(f.ctx, tc.email, "wrong again", "")
				if d, ok := isLocked(err); !ok || d != time.Minute {
					t.Fatalf("fifth failure: %v", err)
				}
			}, "login.failed", "login.locked")
			// While locked even the right password is refused, without a check and unaudited.
			f.clock.add(59 * time.Second)
			f.expectAudit(func() {
				_, err := f.svc.Login(f.ctx, tc.email, goodPassword, "")
				if d, ok := isLocked(err); !ok || d != time.Second {
					t.Fatalf("while locked: %v", err)
				}
			})
			// After the lock, the next failure doubles it, then 4m, ... capped at 1h.
			want := 2 * time.Minute
			for range 8 {
				f.clock.add(time.Hour)
				_, err := f.svc.Login(f.ctx, tc.email, "still wrong", "")
				if d, ok := isLocked(err); !ok || d != want {
					t.Fatalf("lock = %v, want %v", err, want)
				}
				want = min(2*want, AccountLockMax)
			}
			f.clock.add(time.Hour)
			_, err := f.svc.Login(f.ctx, tc.email, goodPassword, "")
			if tc.name == "known" {
				if err != nil {
					t.Fatalf("after the lock: %v", err)
				}
				// Success reset the counter: one failure is just a failure again.
				if _, err := f.svc.Login(f.ctx, tc.email, "wrong", ""); !errors.Is(err, ErrBadCredentials) {
					t.Errorf("after success: %v", err)
				}
			} else if d, ok := isLocked(err); !ok || d != AccountLockMax {
				// Any password is wrong for an unknown address: the next failure, locked again.
				t.Fatalf("unknown after the lock: %v", err)
			}
		})
	}
}

func TestLoginFailuresAreForgottenAfterADay(t *testing.T) {
	f := newFixture(t)
	for range AccountMaxFailures - 1 {
		f.svc.Login(f.ctx, "a@example.test", "x", "")
	}
	f.clock.add(AccountFailureMemory + time.Second)
	if _, err := f.svc.Login(f.ctx, "a@example.test", "x", ""); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("fifth failure a day later: %v", err)
	}
}

func TestLoginIPLockout(t *testing.T) {
	f := newFixture(t)
	f.owner("owner@example.test")
	const ip = "198.51.100.7"
	for i := 1; i < IPMaxFailures; i++ {
		if _, err := f.svc.Login(f.ctx, fmt.Sprintf("u%d@example.test", i), "x", ip); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	rows := f.expectAudit(func() {
		if _, err := f.svc.Login(f.ctx, "last@example.test", "x", ip); err == nil {
			t.Fatal("50th failure accepted")
		} else if d, ok := isLocked(err); !ok || d != IPLock {
			t.Fatalf("50th failure: %v", err)
		}
	}, "login.failed", "login.locked")
	if !strings.Contains(rows[1], `"scope": "ip"`) || strings.Contains(rows[1], ip) {
		t.Errorf("lock row %q", rows[1])
	}
	// The address is locked for everyone, known accounts included; other addresses are not.
	if _, err := f.svc.Login(f.ctx, "owner@example.test", goodPassword, ip); err == nil {
		t.Error("locked address signed in")
	}
	if _, err := f.svc.Login(f.ctx, "owner@example.test", goodPassword, "198.51.100.8"); err != nil {
		t.Errorf("other address: %v", err)
	}
	f.clock.add(IPLock)
	if _, err := f.svc.Login(f.ctx, "owner@example.test", goodPassword, ip); err != nil {
		t.Errorf("after the lock: %v", err)
	}
}

// A hash made with other parameters is replaced at the next successful login.
func TestLoginRehashes(t *testing.T) {
	f := newFixture(t)
	p := f.owner("owner@example.test")
	old, err := password.NewHasher(password.Params{MemoryKiB: 7168, Iterations: 5, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1)
	if err != nil {
		t.Fatal(err)
	}
	oldHash, err := old.Hash(f.ctx, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.pool.Exec(f.ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, p.UserID, oldHash)
	if _, err := f.svc.Login(f.ctx, "owner@example.test", goodPassword, ""); err != nil {
		t.Fatal(err)
	}
	var stored string
	f.pool.QueryRow(f.ctx, `SELECT password_hash FROM users WHERE id = $1`, p.UserID).Scan(&stored)
	if stored == oldHash || !strings.Contains(stored, "$m=19456,t=2,p=1$") {
		t.Errorf("hash after login: %s", stored)
	}
	if _, err := f.svc.Login(f.ctx, "owner@example.test", goodPassword, ""); err != nil {
		t.Errorf("login with the new hash: %v", err)
	}
}

func TestLoginRefusesDisabledAndPasswordless(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	other := f.user(owner, "other@example.test", access.Admin)
	if err := f.svc.SetDisabled(f.ctx, owner, other.UserID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Invite(f.ctx, owner, "pending@example.test", "Pending", access.Viewer, nil); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"other@example.test", "pending@example.test"} {
		rows := f.expectAudit(func() {
			if _, err := f.svc.Login(f.ctx, email, goodPassword, ""); !errors.Is(err, ErrBadCredentials) {
				t.Errorf("login %s: %v", email, err)
			}
		}, "login.failed")
		t.Log(rows)
	}
}

func TestLoginMFAModes(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	f.user(owner, "plain@example.test", access.Viewer)
	enrolled := f.user(owner, "mfa@example.test", access.Viewer)
	f.enrol(enrolled.UserID)
	for _, tc := range []struct {
		mode          MFAMode
		plain, withMF LoginStep
	}{
		{MFARequired, LoginMustEnrol, LoginNeedsCode},
		{MFAOptional, LoginDone, LoginNeedsCode},
		{MFADisabled, LoginDone, LoginDone},
	} {
		svc := f.withService(func(o *Options) { o.MFA = tc.mode })
		for email, want := range map[string]LoginStep{"plain@example.test": tc.plain, "mfa@example.test": tc.withMF} {
			res, err := svc.Login(f.ctx, email, goodPassword, "")
			if err != nil || res.Next != want {
				t.Errorf("%s %s: %v, %v; want %v", tc.mode, email, res.Next, err, want)
			}
		}
		// Required: no session before the enrolment.
		if tc.mode == MFARequired {
			var id int64
			f.pool.QueryRow(f.ctx, `SELECT id FROM users WHERE email = 'plain@example.test'`).Scan(&id)
			if _, err := svc.StartSession(f.ctx, id, "", ""); !errors.Is(err, ErrForbidden) {
				t.Errorf("session without enrolment under Required: %v", err)
			}
		}
	}
}

func TestVerifyCode(t *testing.T) {
	f := newFixture(t)
	p := f.owner("owner@example.test")
	secret, recovery := f.enrol(p.UserID)
	if len(recovery) != 10 {
		t.Fatalf("%d recovery codes", len(recovery))
	}
	res, err := f.svc.Login(f.ctx, "owner@example.test", goodPassword, "")
	if err != nil || res.Next != LoginNeedsCode {
		t.Fatalf("login: %+v, %v", res, err)
	}
	// The code that confirmed the enrolment is spent: same step.
	f.expectAudit(func() {
		if err := f.svc.VerifyCode(f.ctx, p.UserID, f.code(secret), ""); !errors.Is(err, ErrBadCode) {
			t.Errorf("enrolment code reused: %v", err)
		}
	}, "login.failed")
	f.clock.add(30 * time.Second)
	code := f.code(secret)
	f.expectAudit(func() {
		if err := f.svc.VerifyCode(f.ctx, p.UserID, code, ""); err != nil {
			t.Errorf("fresh code: %v", err)
		}
	}, "login.ok")
	if err := f.svc.VerifyCode(f.ctx, p.UserID, code, ""); !errors.Is(err, ErrBadCode) {
		t.Errorf("replayed code: %v", err)
	}
	// Recovery codes: any case, single use.
	rows := f.expectAudit(func() {
		if err := f.svc.VerifyCode(f.ctx, p.UserID, strings.ToUpper(recovery[3]), ""); err != nil {
			t.Errorf("recovery code: %v", err)
		}
	}, "login.ok")
	if !strings.Contains(rows[0], `"recovery_codes_left": 9`) {
		t.Errorf("audit %q", rows[0])
	}
	if err := f.svc.VerifyCode(f.ctx, p.UserID, recovery[3], ""); !errors.Is(err, ErrBadCode) {
		t.Errorf("recovery code reused: %v", err)
	}
	if err := f.svc.VerifyCode(f.ctx, p.UserID, recovery[4], ""); err != nil {
		t.Errorf("another recovery code: %v", err)
	}
}

// Wrong codes count toward the account's lockout, which then also stops password logins.
func TestVerifyCodeThrottled(t *testing.T) {
	f := newFixture(t)
	p := f.owner("owner@example.test")
	f.enrol(p.UserID)
	f.clock.add(time.Minute)
	// Two password failures and three code failures make five.
	for range 2 {
		f.svc.Login(f.ctx, "owner@example.test", "wrong", "")
	}
	for i := range 3 {
		err := f.svc.VerifyCode(f.ctx, p.UserID, "000000", "")
		if _, locked := isLocked(err); locked != (i == 2) {
			t.Fatalf("code failure %d: %v", i, err)
		}
	}
	if _, err := f.svc.Login(f.ctx, "owner@example.test", goodPassword, ""); err == nil {
		t.Error("login while locked")
	}
	// A correct password alone does not reset the counter when a code is still due.
	f.clock.add(time.Minute)
	if res, err := f.svc.Login(f.ctx, "owner@example.test", goodPassword, ""); err != nil || res.Next != LoginNeedsCode {
		t.Fatalf("login after the lock: %+v %v", res, err)
	}
	if _, locked := isLocked(f.svc.VerifyCode(f.ctx, p.UserID, "000000", "")); !locked {
		t.Error("the sixth failure (after a correct password) did not lock again")
	}
}

// Each event's audit row is written in the transaction of the change: when appending fails,
// the change is rolled back too.
func TestAuditInSameTransaction(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	admin := f.user(owner, "admin@example.test", access.Admin)
	exec := func(sql string) {
		if _, err := f.pool.Exec(context.Background(), sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'audit refused'; END $$`)
	exec(`CREATE TRIGGER fail_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION fail_audit()`)

	if err := f.svc.SetRole(f.ctx, owner, admin.UserID, access.Viewer, nil); err == nil {
		t.Error("SetRole succeeded without its audit row")
	}
	if err := f.svc.SetDisabled(f.ctx, owner, admin.UserID, true); err == nil {
		t.Error("SetDisabled succeeded without its audit row")
	}
	if _, err := f.svc.Login(f.ctx, "admin@example.test", "wrong", ""); errors.Is(err, ErrBadCredentials) {
		t.Error("failed login answered normally without its audit row")
	}
	if _, err := f.svc.Invite(f.ctx, owner, "new@example.test", "New", access.Viewer, nil); err == nil {
		t.Error("Invite succeeded without its audit row")
	}
	exec(`DROP TRIGGER fail_audit ON audit_log`)

	u, err := f.svc.User(f.ctx, owner, admin.UserID)
	if err != nil || u.Role != access.Admin || u.Disabled {
		t.Errorf("after rolled-back changes: %+v, %v", u, err)
	}
	if _, err := f.svc.Principal(f.ctx, admin.SessionID); err != nil {
		t.Errorf("session ended by a rolled-back disable: %v", err)
	}
	var n int
	f.pool.QueryRow(f.ctx, `SELECT (SELECT count(*) FROM login_throttle) + (SELECT count(*) FROM users WHERE email = 'new@example.test')
		+ (SELECT count(*) FROM mail_outbox WHERE recipient = 'new@example.test')`).Scan(&n)
	if n != 0 {
		t.Errorf("%d rows of rolled-back changes remain", n)
	}
}
