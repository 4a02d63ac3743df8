package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// The paths of one-time links under SLOTBOOK_BASE_URL; the token is the last path segment.
// Owner setup and invitations share the set-password page.
const (
	SetupPath = "/account/setup/"
	ResetPath = "/account/reset/"
)

// ResetRequestInterval: while a reset link younger than this is outstanding, another request
// for the same account sends nothing (no mail flooding through the public form).
const ResetRequestInterval = 5 * time.Minute

// newLink replaces userID's outstanding link for purpose with a new one and returns its URL. The
// token is 256 bits from crypto/rand; only its SHA-256 is stored, so a database reader cannot
// use the links.
func (s *Service) newLink(ctx context.Context, tx pgx.Tx, userID int64, purpose LinkPurpose, ttl time.Duration) (link string, expires time.Time, err error) {
	if _, err := tx.Exec(ctx, `DELETE FROM one_time_links WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL`,
		userID, string(purpose)); err != nil {
		return "", time.Time{}, err
	}
	raw := make([]byte, 32)
	rand.Read(raw) // never fails (crypto/rand panics instead)
	hash := sha256.Sum256(raw)
	now := s.now()
	expires = now.Add(ttl)
	if _, err := tx.Exec(ctx, `
		INSERT INTO one_time_links (token_hash, user_id, purpose, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, hash[:], userID, string(purpose), now, expires); err != nil {
		return "", time.Time{}, err
	}
	path := SetupPath
	if purpose == PurposeReset {
		path = ResetPath
	}
	return s.baseURL + path + base64.RawURLEncoding.EncodeToString(raw), expires, nil
}

// tokenHash is the stored form of a link token, or false for something that cannot be one.
func tokenHash(token string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != 32 {
		return nil, false
	}
	h := sha256.Sum256(raw)
	return h[:], true
}

// useUpLinks marks all of userID's outstanding links used (their password was just set, or
// the address they were sent to changed).
func useUpLinks(ctx context.Context, tx pgx.Tx, userID int64, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE one_time_links SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`, userID, now)
	return err
}

// queueMail adds a mail to the outbox, in the caller's transaction.
func (s *Service) queueMail(ctx context.Context, tx pgx.Tx, template, recipient string, data map[string]any) error {
	name, err := businessName(ctx, tx)
	if err != nil {
		return err
	}
	data["business"] = name
	_, err = tx.Exec(ctx, `INSERT INTO mail_outbox (template, recipient, data, created_at) VALUES ($1, $2, $3, $4)`,
		template, recipient, data, s.now())
	return err
}

// --- bootstrap and invitations ------------------------------------------------------------

// CreateOwner creates the owner account for email without a password and returns a one-time
// setup link (OwnerSetupLinkTTL). Run again for the same e-mail while the password is not set,
// it replaces the link (the old one stops working); if an account with a password exists for
// email it returns ("", nil) and changes nothing. Audited as actor "system".
//
// An existing account without a password (e.g. a pending invitation) becomes an enabled owner.
// validation.Errors on field "email" for a bad address. Audited as user.create_owner.
func (s *Service) CreateOwner(ctx context.Context, email string) (link string, err error) {
	email = NormaliseEmail(email)
	var errs validation.Errors
	checkEmail(&errs, "email", email)
	if err := errs.Err(); err != nil {
		return "", err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := userByEmail(ctx, tx, email, true)
		diff := audit.Diff{"role": string(access.Owner)}
		switch {
		case err == nil && u.PasswordSet:
			return nil
		case err == nil:
			diff["link"] = "replaced"
			diff.Change("previous_role", string(u.Role), string(access.Owner))
			if _, err := tx.Exec(ctx, `UPDATE users SET role = 'owner', disabled_at = NULL WHERE id = $1`, u.ID); err != nil {
				return err
			}
		case errors.Is(err, ErrNotFound):
			diff["link"] = "new"
			if err := tx.QueryRow(ctx, `
				INSERT INTO users (email, role, created_at) VALUES ($1, 'owner', $2) RETURNING id`,
				email, s.now()).Scan(&u.ID); err != nil {
				return err
			}
		default:
			return err
		}
		if link, _, err = s.newLink(ctx, tx, u.ID, PurposeOwnerSetup, OwnerSetupLinkTTL); err != nil {
			return err
		}
		return s.record(ctx, tx, actorSystem, "user.create_owner", u.ID, diff)
	})
	if err != nil {
		return "", err
	}
	return link, nil
}

// Invite creates an account for email with role (and staffID, required for access.Staff) and
// returns its one-time link (InviteLinkTTL); the invitation e-mail is queued in the mail outbox
// in the same transaction. ErrForbidden unless access.CanManageRole(by.Role, role).
// validation.Errors for bad input (field names "email", "name", "role", "staff").
//
// Inviting the address of an account that has not set its password yet (and that by may
// manage) invites it again: name, role and staff link are updated and the old link stops
// working. Any other existing account is ErrEmailTaken. Audited (user.invite). The outbox mail
// has template "invite" and data {link, name, inviter, role, expires_at, business}.
func (s *Service) Invite(ctx context.Context, by access.Principal, email, name string, role access.Role, staffID *int64) (link string, err error) {
	if role.Valid() && (!access.Can(by, access.UsersManage) || !access.CanManageRole(by.Role, role)) {
		return "", ErrForbidden
	}
	email = NormaliseEmail(email)
	var errs validation.Errors
	checkEmail(&errs, "email", email)
	name, nameErr := cleanName(name)
	if nameErr != nil {
		errs = append(errs, nameErr.(validation.Errors)...)
	}
	if err := checkRoleStaff(role, staffID); err != nil {
		errs = append(errs, err.(validation.Errors)...)
	}
	if err := errs.Err(); err != nil {
		return "", err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := userByEmail(ctx, tx, email, true)
		diff := audit.Diff{"role": string(role), "staff_id": idValue(staffID)}
		switch {
		case err == nil:
			if u.PasswordSet || u.Disabled || !access.CanManageRole(by.Role, u.Role) {
				return ErrEmailTaken
			}
			diff["reinvite"] = true
			_, err = tx.Exec(ctx, `UPDATE users SET name = $2, role = $3, staff_id = $4 WHERE id = $1`,
				u.ID, name, string(role), staffID)
		case errors.Is(err, ErrNotFound):
			err = tx.QueryRow(ctx, `
				INSERT INTO users (email, name, role, staff_id, created_at) VALUES ($1, $2, $3, $4, $5)
				RETURNING id`, email, name, string(role), staffID, s.now()).Scan(&u.ID)
		}
		if err := staffError(err); err != nil {
			return err
		}
		var expires time.Time
		if link, expires, err = s.newLink(ctx, tx, u.ID, PurposeInvite, InviteLinkTTL); err != nil {
			return err
		}
		var inviter string
		if err := tx.QueryRow(ctx, `SELECT coalesce(nullif(name, ''), email) FROM users WHERE id = $1`,
			by.UserID).Scan(&inviter); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := s.queueMail(ctx, tx, "invite", email, map[string]any{
			"link": link, "name": name, "inviter": inviter, "role": string(role), "expires_at": expires,
		}); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "user.invite", u.ID, diff)
	})
	if err != nil {
		return "", err
	}
	return link, nil
}

// LinkInfo describes a valid one-time link token (the last path segment of the link), or
// ErrLinkInvalid.
func (s *Service) LinkInfo(ctx context.Context, token string) (LinkInfo, error) {
	info, _, err := s.link(ctx, token)
	return info, err
}

// link looks up a valid token: unused, not expired, its account not disabled.
func (s *Service) link(ctx context.Context, token string) (LinkInfo, int64, error) {
	hash, ok := tokenHash(token)
	if !ok {
		return LinkInfo{}, 0, ErrLinkInvalid
	}
	var info LinkInfo
	var purpose string
	var userID int64
	err := s.pool.QueryRow(ctx, `
		SELECT l.purpose, l.expires_at, u.email, u.name, u.id
		FROM one_time_links l JOIN users u ON u.id = l.user_id
		WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND u.disabled_at IS NULL`,
		hash, s.now()).Scan(&purpose, &info.Expires, &info.Email, &info.Name, &userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return LinkInfo{}, 0, ErrLinkInvalid
	}
	info.Purpose = LinkPurpose(purpose)
	return info, userID, err
}

// UseLink sets the password through a one-time link (setup, invite or reset) and uses the link
// up. The password is checked against the policy (validation.Errors on field "password"). A reset
// ends all of the user's sessions and does NOT sign in or bypass MFA: the user signs in next.
//
// Every other outstanding link of the user stops working too. A reset also clears the
// account's login lockout (the link proves control of the address) and queues a
// "password_changed" mail. Audited: password.set ({"purpose": "owner_setup"|"invite"}) or
// password.reset ({"sessions_ended": n}).
func (s *Service) UseLink(ctx context.Context, token, password string) (User, error) {
	info, userID, err := s.link(ctx, token)
	if err != nil {
		return User{}, err
	}
	u, err := userByID(ctx, s.pool, userID, false)
	if err != nil {
		return User{}, err
	}
	hash, err := s.newPasswordHash(ctx, password, u)
	if err != nil {
		return User{}, err
	}
	tokHash, _ := tokenHash(token)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		// The link is used up here, atomically: of two concurrent uses one finds nothing.
		tag, err := tx.Exec(ctx, `
			UPDATE one_time_links SET used_at = $2
			WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2`, tokHash, now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrLinkInvalid
		}
		if u, err = userByID(ctx, tx, userID, true); err != nil {
			return err
		}
		if u.Disabled {
			return ErrLinkInvalid
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash); err != nil {
			return err
		}
		if err := useUpLinks(ctx, tx, userID, now); err != nil {
			return err
		}
		if info.Purpose != PurposeReset {
			return s.record(ctx, tx, userActor(userID), "password.set", userID, audit.Diff{"purpose": string(info.Purpose)})
		}
		n, err := endSessions(ctx, tx, userID, "")
		if err != nil {
			return err
		}
		if err := resetAccountThrottle(ctx, tx, u.Email); err != nil {
			return err
		}
		if err := s.queueMail(ctx, tx, "password_changed", u.Email, map[string]any{"name": u.Name}); err != nil {
			return err
		}
		return s.record(ctx, tx, userActor(userID), "password.reset", userID, audit.Diff{"sessions_ended": n})
	})
	if err != nil {
		return User{}, err
	}
	u.PasswordSet = true
	return u.User, nil
}

// RequestPasswordReset queues a reset e-mail when email belongs to an enabled account with a
// password, and does nothing otherwise; it answers the same either way (and takes about the
// same time).
//
// validation.Errors on field "email" for something that is not an address (that says nothing
// about accounts). At most one mail per ResetRequestInterval and account. The outbox mail has
// template "password_reset" and data {link, name, expires_at, business}. Audited
// (password.reset_request, actor "anonymous").
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	email = NormaliseEmail(email)
	var errs validation.Errors
	checkEmail(&errs, "email", email)
	if err := errs.Err(); err != nil {
		return err
	}
	// Both answers take at least resetFloor, which covers the extra writes of the known case.
	floor := time.NewTimer(s.resetFloor)
	defer floor.Stop()
	err := s.requestReset(ctx, email)
	select {
	case <-floor.C:
	case <-ctx.Done():
	}
	return err
}

func (s *Service) requestReset(ctx context.Context, email string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		u, err := userByEmail(ctx, tx, email, true)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil || u.Disabled || !u.PasswordSet {
			return err
		}
		var recent bool
		if err := tx.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM one_time_links
			               WHERE user_id = $1 AND purpose = 'reset' AND used_at IS NULL AND created_at > $2)`,
			u.ID, s.now().Add(-ResetRequestInterval)).Scan(&recent); err != nil || recent {
			return err
		}
		link, expires, err := s.newLink(ctx, tx, u.ID, PurposeReset, ResetLinkTTL)
		if err != nil {
			return err
		}
		if err := s.queueMail(ctx, tx, "password_reset", u.Email, map[string]any{
			"link": link, "name": u.Name, "expires_at": expires,
		}); err != nil {
			return err
		}
		return s.record(ctx, tx, actorAnonymous, "password.reset_request", u.ID, nil)
	})
}
