package account

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/validation"
)

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.IdleTimeout = 15 * time.Minute })
	p := f.owner("owner@example.test")
	lastSeen := func() time.Time {
		var ts time.Time
		f.pool.QueryRow(f.ctx, `SELECT last_seen_at FROM user_sessions WHERE id = $1`, p.SessionID).Scan(&ts)
		return ts
	}
	start := lastSeen()
	// No write within a minute of the last one.
	f.clock.add(59 * time.Second)
	if _, err := f.svc.Principal(f.ctx, p.SessionID); err != nil || !lastSeen().Equal(start) {
		t.Errorf("after 59s: %v, last seen %v", err, lastSeen())
	}
	f.clock.add(time.Second)
	if _, err := f.svc.Principal(f.ctx, p.SessionID); err != nil || !lastSeen().Equal(f.clock.now()) {
		t.Errorf("after 60s: %v, last seen %v", err, lastSeen())
	}
	// Idle timeout.
	f.clock.add(15 * time.Minute)
	if _, err := f.svc.Principal(f.ctx, p.SessionID); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("idle: %v", err)
	}
	if _, err := f.svc.Principal(f.ctx, p.SessionID); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("idle, again: %v", err)
	}
	// Absolute lifetime: used every 10 minutes, it still ends after 12h.
	q := f.signIn("owner@example.test")
	for i := 1; i < 12*6; i++ {
		f.clock.add(10 * time.Minute)
		if _, err := f.svc.Principal(f.ctx, q.SessionID); err != nil {
			t.Fatalf("after %d minutes: %v", i*10, err)
		}
	}
	f.clock.add(10 * time.Minute)
	if _, err := f.svc.Principal(f.ctx, q.SessionID); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("after 12h: %v", err)
	}
	if _, err := f.svc.Principal(f.ctx, ""); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("empty id: %v", err)
	}
}

// A short idle timeout refreshes last_seen_at every tenth of it, so a session used every 20
// seconds under a 30-second timeout never idles out (with the 1-minute granularity alone it
// would end after 40 seconds).
func TestSessionShortIdleTimeout(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.IdleTimeout = 30 * time.Second })
	p := f.owner("owner@example.test")
	for i := 0; i < 10; i++ {
		f.clock.add(20 * time.Second)
		if _, err := f.svc.Principal(f.ctx, p.SessionID); err != nil {
			t.Fatalf("used every 20s, after %v: %v", time.Duration(i+1)*20*time.Second, err)
		}
	}
	f.clock.add(30 * time.Second)
	if _, err := f.svc.Principal(f.ctx, p.SessionID); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("idle for 2 minutes: %v", err)
	}
}

func TestSessionsListAndEnd(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	admin := f.user(owner, "admin@example.test", access.Admin)
	viewer := f.user(owner, "viewer@example.test", access.Viewer)
	f.clock.add(time.Second)
	viewer2 := f.signIn("viewer@example.test")

	list, err := f.svc.Sessions(f.ctx, viewer, viewer.UserID)
	if err != nil || len(list) != 2 || !list[1].Current || list[0].Current || list[0].UserAgent != "test" {
		t.Errorf("own sessions = %+v, %v", list, err)
	}
	if _, err := f.svc.Sessions(f.ctx, viewer, admin.UserID); !errors.Is(err, ErrNotFound) {
		t.Errorf("viewer lists an admin's sessions: %v", err)
	}
	if _, err := f.svc.Sessions(f.ctx, admin, owner.UserID); !errors.Is(err, ErrForbidden) {
		t.Errorf("admin lists an owner's sessions: %v", err)
	}
	f.expectAudit(func() {
		if err := f.svc.EndSession(f.ctx, admin, viewer.UserID, viewer2.SessionID); err != nil {
			t.Error(err)
		}
	}, "session.end")
	if err := f.svc.EndSession(f.ctx, admin, owner.UserID, owner.SessionID); !errors.Is(err, ErrForbidden) {
		t.Errorf("admin ends an owner's session: %v", err)
	}
	if err := f.svc.EndSession(f.ctx, viewer, viewer.UserID, owner.SessionID); !errors.Is(err, ErrNotFound) {
		t.Errorf("ending someone else's session under one's own id: %v", err)
	}
	if _, err := f.svc.Principal(f.ctx, owner.SessionID); err != nil {
		t.Errorf("owner's session: %v", err)
	}

	// End other sessions, keep this one.
	o2, o3 := f.signIn("owner@example.test"), f.signIn("owner@example.test")
	f.expectAudit(func() {
		if err := f.svc.EndOtherSessions(f.ctx, o2); err != nil {
			t.Error(err)
		}
	}, "session.end_others")
	for id, valid := range map[string]bool{owner.SessionID: false, o2.SessionID: true, o3.SessionID: false} {
		if _, err := f.svc.Principal(f.ctx, id); (err == nil) != valid {
			t.Errorf("session valid = %v, want %v", err == nil, valid)
		}
	}
	f.expectAudit(func() {
		if err := f.svc.Logout(f.ctx, o2.SessionID); err != nil {
			t.Error(err)
		}
	}, "logout")
	f.expectAudit(func() {
		if err := f.svc.Logout(f.ctx, o2.SessionID); err != nil {
			t.Error(err)
		}
	})
	if _, err := f.svc.Principal(f.ctx, o2.SessionID); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("after logout: %v", err)
	}
}

func TestDisableEndsSessions(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	staff := f.user(owner, "staff@example.test", access.Staff)
	f.signIn("staff@example.test")
	rows := f.expectAudit(func() {
		if err := f.svc.SetDisabled(f.ctx, owner, staff.UserID, true); err != nil {
			t.Fatal(err)
		}
	}, "user.disable")
	if !strings.Contains(rows[0], `"sessions_ended": 2`) || !strings.HasPrefix(rows[0], uid(owner.UserID)) {
		t.Errorf("audit %q", rows[0])
	}
	if _, err := f.svc.Principal(f.ctx, staff.SessionID); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("session of a disabled user: %v", err)
	}
	// Disabling twice changes nothing; enabling lets them sign in again.
	f.expectAudit(func() { f.svc.SetDisabled(f.ctx, owner, staff.UserID, true) })
	f.expectAudit(func() {
		if err := f.svc.SetDisabled(f.ctx, owner, staff.UserID, false); err != nil {
			t.Error(err)
		}
	}, "user.enable")
	f.signIn("staff@example.test")
}

func TestLastOwner(t *testing.T) {
	f := newFixture(t)
	o1 := f.owner("one@example.test")
	for _, err := range []error{
		f.svc.SetRole(f.ctx, o1, o1.UserID, access.Admin, nil),
		f.svc.SetDisabled(f.ctx, o1, o1.UserID, true),
	} {
		if !errors.Is(err, ErrForbidden) {
			t.Errorf("last owner: %v", err)
		}
	}
	o2 := f.user(o1, "two@example.test", access.Owner)
	if err := f.svc.SetDisabled(f.ctx, o2, o2.UserID, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("disabling oneself: %v", err)
	}
	rows := f.expectAudit(func() {
		if err := f.svc.SetRole(f.ctx, o1, o1.UserID, access.Admin, nil); err != nil {
			t.Errorf("one of two owners steps down: %v", err)
		}
	}, "user.role_change")
	if !strings.Contains(rows[0], `"role": {"to": "admin", "from": "owner"}`) {
		t.Errorf("audit %q", rows[0])
	}
	// o1 is an admin now (read fresh from the session): it cannot touch the owner.
	o1, _ = f.svc.Principal(f.ctx, o1.SessionID)
	if o1.Role != access.Admin {
		t.Fatalf("role after change: %s", o1.Role)
	}
	if err := f.svc.SetDisabled(f.ctx, o1, o2.UserID, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("admin disables the owner: %v", err)
	}
	if err := f.svc.SetRole(f.ctx, o2, o2.UserID, access.Viewer, nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("the remaining owner demotes themselves: %v", err)
	}
	// A disabled owner does not count.
	f.svc.SetRole(f.ctx, o2, o1.UserID, access.Owner, nil)
	f.svc.SetDisabled(f.ctx, o2, o1.UserID, true)
	if err := f.svc.SetRole(f.ctx, o2, o2.UserID, access.Admin, nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("demoting the only enabled owner: %v", err)
	}
}

// Every role against every target role: who may change whose role, and what is hidden.
func TestRoleManagementMatrix(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	actors := map[access.Role]access.Principal{
		access.Owner:  f.user(owner, "o@example.test", access.Owner),
		access.Admin:  f.user(owner, "a@example.test", access.Admin),
		access.Staff:  f.user(owner, "s@example.test", access.Staff),
		access.Viewer: f.user(owner, "v@example.test", access.Viewer),
	}
	for _, actorRole := range access.Roles {
		for _, targetRole := range access.Roles {
			for _, newRole := range []access.Role{access.Viewer, access.Owner} {
				email := "t-" + string(actorRole) + "-" + string(targetRole) + "-" + string(newRole) + "@example.test"
				target := f.user(owner, email, targetRole)
				by := actors[actorRole]
				var want error
				switch {
				case actorRole == access.Staff || actorRole == access.Viewer:
					want = ErrNotFound
				case !access.CanManageRole(actorRole, targetRole) || !access.CanManageRole(actorRole, newRole):
					want = ErrForbidden
				}
				err := f.svc.SetRole(f.ctx, by, target.UserID, newRole, nil)
				if !errors.Is(err, want) {
					t.Errorf("%s sets %s to %s: %v, want %v", actorRole, targetRole, newRole, err, want)
				}
				u, _ := f.svc.User(f.ctx, owner, target.UserID)
				if (want == nil) != (u.Role == newRole) && targetRole != newRole {
					t.Errorf("%s sets %s to %s: role is %s", actorRole, targetRole, newRole, u.Role)
				}
				if _, err := f.svc.User(f.ctx, by, target.UserID); (err == nil) != access.Can(by, access.UsersView) {
					t.Errorf("%s sees a %s: %v", actorRole, targetRole, err)
				}
			}
		}
	}
	// Lists: viewers and staff see no account list, but their own account.
	for role, p := range actors {
		list, err := f.svc.Users(f.ctx, p)
		if access.Can(p, access.UsersView) != (err == nil) || (err == nil && len(list) < 5) {
			t.Errorf("%s lists accounts: %d, %v", role, len(list), err)
		}
		if err != nil && !errors.Is(err, ErrForbidden) {
			t.Errorf("%s lists accounts: %v", role, err)
		}
		if me, err := f.svc.User(f.ctx, p, p.UserID); err != nil || me.ID != p.UserID {
			t.Errorf("%s reads own account: %v", role, err)
		}
	}
	// Role validation: staff needs a staff member.
	var verrs validation.Errors
	v := actors[access.Viewer]
	if err := f.svc.SetRole(f.ctx, owner, v.UserID, access.Staff, nil); !errors.As(err, &verrs) || verrs.For("staff") == nil {
		t.Errorf("staff without staff member: %v", err)
	}
	sid := f.staff("Someone")
	if err := f.svc.SetRole(f.ctx, owner, v.UserID, access.Staff, &sid); err != nil {
		t.Errorf("staff with staff member: %v", err)
	}
	if p, _ := f.svc.Principal(f.ctx, v.SessionID); p.Role != access.Staff || p.StaffID == nil || *p.StaffID != sid {
		t.Errorf("principal after role change: %+v", p)
	}
	// The staff member can no longer be deleted while the account points at it.
	if _, err := f.pool.Exec(f.ctx, `DELETE FROM staff WHERE id = $1`, sid); err == nil {
		t.Error("staff member with an account deleted")
	}
}

func TestMFAResetAndDisable(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	admin := f.user(owner, "admin@example.test", access.Admin)
	viewer := f.user(owner, "viewer@example.test", access.Viewer)
	f.enrol(viewer.UserID)
	f.enrol(admin.UserID)

	for _, tc := range []struct {
		by   access.Principal
		user int64
		want error
	}{
		{admin, viewer.UserID, ErrForbidden},
		{viewer, admin.UserID, ErrNotFound},
		{owner, owner.UserID, ErrForbidden},
	} {
		if err := f.svc.ResetMFA(f.ctx, tc.by, tc.user); !errors.Is(err, tc.want) {
			t.Errorf("ResetMFA by %s of %d: %v, want %v", tc.by.Role, tc.user, err, tc.want)
		}
	}
	rows := f.expectAudit(func() {
		if err := f.svc.ResetMFA(f.ctx, owner, viewer.UserID); err != nil {
			t.Fatal(err)
		}
	}, "mfa.reset")
	if !strings.HasPrefix(rows[0], uid(owner.UserID)+" mfa.reset user:") {
		t.Errorf("audit %q", rows[0])
	}
	if u, _ := f.svc.User(f.ctx, owner, viewer.UserID); u.MFAEnabled {
		t.Error("MFA still on after reset")
	}
	if _, err := f.svc.Principal(f.ctx, viewer.SessionID); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("session after MFA reset: %v", err)
	}
	// Under Required the user must enrol again at the next login.
	req := f.withService(func(o *Options) { o.MFA = MFARequired })
	if res, err := req.Login(f.ctx, "viewer@example.test", goodPassword, ""); err != nil || res.Next != LoginMustEnrol {
		t.Errorf("login after reset under Required: %+v, %v", res, err)
	}
	if err := req.DisableMFA(f.ctx, admin, goodPassword); !errors.Is(err, ErrForbidden) {
		t.Errorf("DisableMFA under Required: %v", err)
	}
	// Disabling one's own MFA needs the password.
	if err := f.svc.DisableMFA(f.ctx, admin, "wrong"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("DisableMFA with a wrong password: %v", err)
	}
	if _, err := f.svc.BeginEnrolment(f.ctx, admin.UserID); !errors.Is(err, ErrForbidden) {
		t.Errorf("second enrolment while enrolled: %v", err)
	}
	f.expectAudit(func() {
		if err := f.svc.DisableMFA(f.ctx, admin, goodPassword); err != nil {
			t.Error(err)
		}
	}, "mfa.disable")
	// Enrolment: wrong code refused, pending secret replaced by a new start.
	e1, _ := f.svc.BeginEnrolment(f.ctx, admin.UserID)
	e2, err := f.svc.BeginEnrolment(f.ctx, admin.UserID)
	if err != nil || len(e2.QRPNG) == 0 || !strings.HasPrefix(e2.URI, "otpauth://totp/") || e1.Secret == e2.Secret {
		t.Fatalf("enrolment: %+v, %v", e2, err)
	}
	if _, err := f.svc.ConfirmEnrolment(f.ctx, admin.UserID, f.code(e1.Secret)); !errors.Is(err, ErrBadCode) {
		t.Errorf("code of the replaced enrolment: %v", err)
	}
	f.expectAudit(func() {
		if codes, err := f.svc.ConfirmEnrolment(f.ctx, admin.UserID, f.code(e2.Secret)); err != nil || len(codes) != 10 {
			t.Errorf("confirm: %d codes, %v", len(codes), err)
		}
	}, "mfa.enrol")
	dis := f.withService(func(o *Options) { o.MFA = MFADisabled })
	if _, err := dis.BeginEnrolment(f.ctx, owner.UserID); !errors.Is(err, ErrForbidden) {
		t.Errorf("enrolment with MFA disabled: %v", err)
	}
}

func TestSelfService(t *testing.T) {
	f := newFixture(t)
	p := f.owner("owner@example.test")
	other := f.signIn("owner@example.test")

	if err := f.svc.ChangePassword(f.ctx, p, "wrong", "a totally new secret 9", true); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong current password: %v", err)
	}
	var verrs validation.Errors
	if err := f.svc.ChangePassword(f.ctx, p, goodPassword, "password1234", true); !errors.As(err, &verrs) || verrs.For("password") == nil {
		t.Errorf("common new password: %v", err)
	}
	rows := f.expectAudit(func() {
		if err := f.svc.ChangePassword(f.ctx, p, goodPassword, "a totally new secret 9", true); err != nil {
			t.Fatal(err)
		}
	}, "password.change")
	if !strings.Contains(rows[0], `"sessions_ended": 1`) {
		t.Errorf("audit %q", rows[0])
	}
	if _, err := f.svc.Principal(f.ctx, p.SessionID); err != nil {
		t.Errorf("current session after change: %v", err)
	}
	if _, err := f.svc.Principal(f.ctx, other.SessionID); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("other session after change: %v", err)
	}

	f.user(p, "taken@example.test", access.Viewer)
	if err := f.svc.ChangeEmail(f.ctx, p, "a totally new secret 9", "taken@example.test"); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("taken address: %v", err)
	}
	rows = f.expectAudit(func() {
		if err := f.svc.ChangeEmail(f.ctx, p, "a totally new secret 9", "New@Example.test"); err != nil {
			t.Fatal(err)
		}
	}, "user.email_change")
	if strings.Contains(rows[0], "example") {
		t.Errorf("address in the audit log: %q", rows[0])
	}
	me, err := f.svc.Me(f.ctx, p)
	if err != nil || me.Email != "new@example.test" {
		t.Errorf("Me = %+v, %v", me, err)
	}
	var n int
	f.pool.QueryRow(f.ctx, `SELECT count(*) FROM mail_outbox WHERE template = 'email_changed' AND recipient = 'owner@example.test'`).Scan(&n)
	if n != 1 {
		t.Errorf("%d notices to the old address", n)
	}
	if _, err := f.svc.Login(f.ctx, "new@example.test", "a totally new secret 9", ""); err != nil {
		t.Errorf("login with the new address: %v", err)
	}
}

func TestCleanup(t *testing.T) {
	f := newFixture(t)
	f.owner("owner@example.test")
	f.svc.Login(f.ctx, "x@example.test", "x", "203.0.113.5")
	f.clock.add(AccountFailureMemory + time.Hour)
	if err := f.svc.Cleanup(f.ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	f.pool.QueryRow(f.ctx, `SELECT (SELECT count(*) FROM user_sessions) + (SELECT count(*) FROM login_throttle)
		+ (SELECT count(*) FROM one_time_links)`).Scan(&n)
	if n != 0 {
		t.Errorf("%d rows left", n)
	}
}
