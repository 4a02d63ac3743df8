package account

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/validation"
)

func TestCreateOwner(t *testing.T) {
	f := newFixture(t)
	var first string
	rows := f.expectAudit(func() {
		var err error
		if first, err = f.svc.CreateOwner(f.ctx, " Boss@Example.TEST"); err != nil {
			t.Fatal(err)
		}
	}, "user.create_owner")
	if !regexp.MustCompile(`^https://book\.example\.test/account/setup/[A-Za-z0-9_-]{43}$`).MatchString(first) {
		t.Errorf("link %q", first)
	}
	if !strings.HasPrefix(rows[0], "system user.create_owner user:") || strings.Contains(rows[0], "boss") {
		t.Errorf("audit %q", rows[0])
	}
	info, err := f.svc.LinkInfo(f.ctx, token(t, first))
	if err != nil || info.Purpose != PurposeOwnerSetup || info.Email != "boss@example.test" ||
		!info.Expires.Equal(f.clock.now().Add(OwnerSetupLinkTTL)) {
		t.Errorf("LinkInfo = %+v, %v", info, err)
	}
	// Again before the password is set: a new link, the old one is dead.
	second, err := f.svc.CreateOwner(f.ctx, "boss@example.test")
	if err != nil || second == first {
		t.Fatalf("second CreateOwner = %q, %v", second, err)
	}
	if _, err := f.svc.LinkInfo(f.ctx, token(t, first)); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("replaced link: %v", err)
	}
	// A weak password is refused with field errors, and the link stays usable.
	var verrs validation.Errors
	if _, err := f.svc.UseLink(f.ctx, token(t, second), "short"); !errors.As(err, &verrs) || verrs.For("password") == nil {
		t.Errorf("weak password: %v", err)
	}
	if _, err := f.svc.UseLink(f.ctx, token(t, second), "boss example 12345"); !errors.As(err, &verrs) ||
		verrs.For("password").Code != "contains_context" {
		t.Errorf("password with the e-mail: %v", err)
	}
	f.expectAudit(func() {
		u, err := f.svc.UseLink(f.ctx, token(t, second), goodPassword)
		if err != nil || u.Role != access.Owner || !u.PasswordSet {
			t.Errorf("UseLink = %+v, %v", u, err)
		}
	}, "password.set")
	if _, err := f.svc.UseLink(f.ctx, token(t, second), goodPassword); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("link used twice: %v", err)
	}
	// With a password: nothing to do, nothing audited.
	f.expectAudit(func() {
		if link, err := f.svc.CreateOwner(f.ctx, "boss@example.test"); link != "" || err != nil {
			t.Errorf("CreateOwner with a password = %q, %v", link, err)
		}
	})
	if _, err := f.svc.CreateOwner(f.ctx, "not an address"); err == nil {
		t.Error("bad address accepted")
	}
}

func TestLinkExpiry(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	link, err := f.svc.Invite(f.ctx, owner, "new@example.test", "New Person", access.Viewer, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, "https://book.example.test"+SetupPath) {
		t.Errorf("invite link %q", link)
	}
	f.clock.add(InviteLinkTTL - time.Second)
	if _, err := f.svc.LinkInfo(f.ctx, token(t, link)); err != nil {
		t.Errorf("just before expiry: %v", err)
	}
	f.clock.add(time.Second)
	if _, err := f.svc.LinkInfo(f.ctx, token(t, link)); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("expired: %v", err)
	}
	if _, err := f.svc.UseLink(f.ctx, token(t, link), goodPassword); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("expired link used: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), token(t, link) + "A"} {
		if _, err := f.svc.LinkInfo(f.ctx, bad); !errors.Is(err, ErrLinkInvalid) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
}

func TestInvite(t *testing.T) {
	f := newFixture(t)
	owner := f.owner("owner@example.test")
	admin := f.user(owner, "admin@example.test", access.Admin)
	viewer := f.user(owner, "viewer@example.test", access.Viewer)
	amy := f.staff("Amy")

	var link string
	rows := f.expectAudit(func() {
		var err error
		link, err = f.svc.Invite(f.ctx, admin, "Amy@Example.test", "Amy Staff", access.Staff, &amy)
		if err != nil {
			t.Fatal(err)
		}
	}, "user.invite")
	if want := uid(admin.UserID) + " user.invite"; !strings.HasPrefix(rows[0], want) || strings.Contains(rows[0], "Amy") {
		t.Errorf("audit %q", rows[0])
	}
	var tmpl, recipient string
	var data map[string]any
	if err := f.pool.QueryRow(f.ctx, `SELECT template, recipient, data FROM mail_outbox ORDER BY id DESC LIMIT 1`).
		Scan(&tmpl, &recipient, &data); err != nil {
		t.Fatal(err)
	}
	if tmpl != "invite" || recipient != "amy@example.test" || data["link"] != link || data["name"] != "Amy Staff" ||
		data["business"] != "My business" || data["inviter"] != "Test admin" {
		b, _ := json.Marshal(data)
		t.Errorf("outbox: %s %s %s", tmpl, recipient, b)
	}

	for _, tc := range []struct {
		name    string
		by      access.Principal
		email   string
		role    access.Role
		staff   *int64
		wantErr error
		field   string
	}{
		{"admin invites owner", admin, "o2@example.test", access.Owner, nil, ErrForbidden, ""},
		{"viewer invites", viewer, "v2@example.test", access.Viewer, nil, ErrForbidden, ""},
		{"staff without staff member", owner, "s2@example.test", access.Staff, nil, nil, "staff"},
		{"unknown staff member", owner, "s3@example.test", access.Staff, ptr(int64(9999)), nil, "staff"},
		{"staff member taken", owner, "s4@example.test", access.Staff, &amy, nil, "staff"},
		{"bad address", owner, "nope", access.Viewer, nil, nil, "email"},
		{"bad role", owner, "r@example.test", "boss", nil, nil, "role"},
		{"address taken", owner, "viewer@example.test", access.Viewer, nil, ErrEmailTaken, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Invite(f.ctx, tc.by, tc.email, "Some Name", tc.role, tc.staff)
			var verrs validation.Errors
			switch {
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			case tc.field != "" && (!errors.As(err, &verrs) || verrs.For(tc.field) == nil):
				t.Errorf("err = %v, want a field error on %s", err, tc.field)
			}
		})
	}
	// Inviting a pending account again replaces its link.
	again, err := f.svc.Invite(f.ctx, owner, "amy@example.test", "Amy S.", access.Staff, &amy)
	if err != nil || again == link {
		t.Fatalf("re-invite: %q, %v", again, err)
	}
	if _, err := f.svc.LinkInfo(f.ctx, token(t, link)); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("old invite link: %v", err)
	}
}

func TestPasswordReset(t *testing.T) {
	f := newFixture(t)
	p := f.owner("owner@example.test")
	secret, _ := f.enrol(p.UserID)

	outbox := func() int {
		var n int
		f.pool.QueryRow(f.ctx, `SELECT count(*) FROM mail_outbox WHERE template = 'password_reset'`).Scan(&n)
		return n
	}
	// Unknown, or known: the same answer.
	f.expectAudit(func() {
		if err := f.svc.RequestPasswordReset(f.ctx, "nobody@example.test"); err != nil {
			t.Error(err)
		}
	})
	f.expectAudit(func() {
		if err := f.svc.RequestPasswordReset(f.ctx, "OWNER@example.test"); err != nil {
			t.Error(err)
		}
	}, "password.reset_request")
	// A second request soon after sends nothing more.
	f.svc.RequestPasswordReset(f.ctx, "owner@example.test")
	if n := outbox(); n != 1 {
		t.Fatalf("%d reset mails", n)
	}
	var data map[string]any
	f.pool.QueryRow(f.ctx, `SELECT data FROM mail_outbox WHERE template = 'password_reset'`).Scan(&data)
	link, _ := data["link"].(string)
	if !strings.HasPrefix(link, "https://book.example.test"+ResetPath) {
		t.Fatalf("reset link %q", link)
	}
	info, err := f.svc.LinkInfo(f.ctx, token(t, link))
	if err != nil || info.Purpose != PurposeReset || !info.Expires.Equal(f.clock.now().Add(ResetLinkTTL)) {
		t.Errorf("LinkInfo = %+v, %v", info, err)
	}
	// Using it ends all sessions, and MFA is still asked for afterwards.
	rows := f.expectAudit(func() {
		if _, err := f.svc.UseLink(f.ctx, token(t, link), "a brand new password 77"); err != nil {
			t.Fatal(err)
		}
	}, "password.reset")
	if !strings.Contains(rows[0], `"sessions_ended": 1`) {
		t.Errorf("audit %q", rows[0])
	}
	if _, err := f.svc.Principal(f.ctx, p.SessionID); !errors.Is(err, ErrSessionInvalid) {
		t.Errorf("session after reset: %v", err)
	}
	res, err := f.svc.Login(f.ctx, "owner@example.test", "a brand new password 77", "")
	if err != nil || res.Next != LoginNeedsCode {
		t.Errorf("login after reset: %+v, %v", res, err)
	}
	f.clock.add(30 * time.Second)
	if err := f.svc.VerifyCode(f.ctx, p.UserID, f.code(secret), ""); err != nil {
		t.Errorf("code after reset: %v", err)
	}
	if _, err := f.svc.UseLink(f.ctx, token(t, link), goodPassword); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("reset link reused: %v", err)
	}
	// The reset link expires after ResetLinkTTL.
	f.clock.add(ResetRequestInterval)
	f.svc.RequestPasswordReset(f.ctx, "owner@example.test")
	f.pool.QueryRow(f.ctx, `SELECT data FROM mail_outbox WHERE template = 'password_reset' ORDER BY id DESC LIMIT 1`).Scan(&data)
	f.clock.add(ResetLinkTTL)
	if _, err := f.svc.UseLink(f.ctx, token(t, data["link"].(string)), goodPassword); !errors.Is(err, ErrLinkInvalid) {
		t.Errorf("expired reset link: %v", err)
	}
}
