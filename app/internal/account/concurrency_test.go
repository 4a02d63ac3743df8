package account

import (
	"sync"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/auth/access"
)

// runTwice runs fn twice at the same time and returns how many calls succeeded.
func runTwice(fn func() error) int {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		wg.Go(func() { errs[i] = fn() })
	}
	wg.Wait()
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}

// One TOTP code, one recovery code, one link: each is used once even by concurrent requests.
func TestSingleUseUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	p := f.owner("owner@example.test")
	secret, recovery := f.enrol(p.UserID)
	f.clock.add(30 * time.Second)
	code := f.code(secret)
	if n := runTwice(func() error { return f.svc.VerifyCode(f.ctx, p.UserID, code, "") }); n != 1 {
		t.Errorf("TOTP code accepted %d times", n)
	}
	if n := runTwice(func() error { return f.svc.VerifyCode(f.ctx, p.UserID, recovery[0], "") }); n != 1 {
		t.Errorf("recovery code accepted %d times", n)
	}
	link, err := f.svc.Invite(f.ctx, p, "new@example.test", "New", access.Viewer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := runTwice(func() error { _, err := f.svc.UseLink(f.ctx, token(t, link), goodPassword); return err }); n != 1 {
		t.Errorf("link used %d times", n)
	}
}

// Two owners disabling each other at once: one wins, the business keeps an enabled owner.
func TestLastOwnerUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	a := f.owner("a@example.test")
	b := f.user(a, "b@example.test", access.Owner)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() { errs[0] = f.svc.SetDisabled(f.ctx, a, b.UserID, true) })
	wg.Go(func() { errs[1] = f.svc.SetDisabled(f.ctx, b, a.UserID, true) })
	wg.Wait()
	var enabled int
	f.pool.QueryRow(f.ctx, `SELECT count(*) FROM users WHERE role = 'owner' AND disabled_at IS NULL`).Scan(&enabled)
	if enabled != 1 || (errs[0] == nil) == (errs[1] == nil) {
		t.Errorf("enabled owners %d, errors %v", enabled, errs)
	}
}
