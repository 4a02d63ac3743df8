package account

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/unicode/norm"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// target loads the account userID for an action of by on it. With allowSelf, by may act on
// their own account without account-management rights (their sessions). Otherwise: an account
// by may not even list (no access.UsersView) is ErrNotFound, as if it did not exist; one by may
// see but not manage (access.UsersManage and access.CanManageRole) is ErrForbidden.
func (s *Service) target(ctx context.Context, q querier, by access.Principal, userID int64, allowSelf bool) (userRow, error) {
	if allowSelf && by.UserID == userID {
		return userByID(ctx, q, userID, false)
	}
	if !access.Can(by, access.UsersView) {
		return userRow{}, ErrNotFound
	}
	u, err := userByID(ctx, q, userID, false)
	if err != nil {
		return u, err
	}
	if !access.Can(by, access.UsersManage) || !access.CanManageRole(by.Role, u.Role) {
		return u, ErrForbidden
	}
	return u, nil
}

// ownersLockKey serialises role changes and disabling ("slotownr"), so that two owners removing
// each other at the same time cannot leave the business without an enabled owner. Taken first
// in those transactions, before any row lock and before audit.Append's lock.
const ownersLockKey int64 = 0x736c6f74_6f776e72

// keepLastOwner returns ErrForbidden if u is the only enabled owner. Call it under ownersLockKey.
func keepLastOwner(ctx context.Context, tx pgx.Tx, u userRow) error {
	if u.Role != access.Owner || u.Disabled {
		return nil
	}
	var others int
	if err := tx.QueryRow(ctx, `
		SELECT count(*) FROM users WHERE role = 'owner' AND disabled_at IS NULL AND id <> $1`, u.ID).Scan(&others); err != nil {
		return err
	}
	if others == 0 {
		return ErrForbidden
	}
	return nil
}

// Me returns the principal's own account.
func (s *Service) Me(ctx context.Context, by access.Principal) (User, error) {
	u, err := userByID(ctx, s.pool, by.UserID, false)
	return u.User, err
}

// Users lists the accounts by may see (access.UsersView), by id. ErrForbidden without it.
func (s *Service) Users(ctx context.Context, by access.Principal) ([]User, error) {
	if !access.Can(by, access.UsersView) {
		return nil, ErrForbidden
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (User, error) {
		u, err := scanUser(row)
		return u.User, err
	})
}

// User returns one account, ErrNotFound if by may not see it. Everyone sees their own.
func (s *Service) User(ctx context.Context, by access.Principal, userID int64) (User, error) {
	if by.UserID != userID && !access.Can(by, access.UsersView) {
		return User{}, ErrNotFound
	}
	u, err := userByID(ctx, s.pool, userID, false)
	return u.User, err
}

// SetRole changes userID's role (and staff link). The last enabled owner cannot lose the role.
//
// by needs access.UsersManage and access.CanManageRole for both the account's current and its
// new role (ErrForbidden). validation.Errors for an unknown role ("role") or a missing, unknown
// or already linked staff member ("staff"). Audited (user.role_change).
func (s *Service) SetRole(ctx context.Context, by access.Principal, userID int64, role access.Role, staffID *int64) error {
	if err := checkRoleStaff(role, staffID); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, ownersLockKey); err != nil {
			return err
		}
		u, err := s.target(ctx, tx, by, userID, false)
		if err != nil {
			return err
		}
		if !access.CanManageRole(by.Role, role) {
			return ErrForbidden
		}
		if u.Role == role && equalID(u.StaffID, staffID) {
			return nil
		}
		if role != access.Owner {
			if err := keepLastOwner(ctx, tx, u); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE users SET role = $2, staff_id = $3 WHERE id = $1`, userID, string(role), staffID)
		if err := staffError(err); err != nil {
			return err
		}
		diff := audit.Diff{}.Change("role", string(u.Role), string(role)).Change("staff_id", idValue(u.StaffID), idValue(staffID))
		return s.record(ctx, tx, by.Actor(), "user.role_change", userID, diff)
	})
}

// SetDisabled disables (ending all sessions) or re-enables userID. Nobody disables themselves or
// the last enabled owner.
//
// Same rights as SetRole. Audited (user.disable with the number of sessions ended,
// user.enable); setting the state the account already has changes nothing.
func (s *Service) SetDisabled(ctx context.Context, by access.Principal, userID int64, disabled bool) error {
	if disabled && by.UserID == userID {
		return ErrForbidden
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, ownersLockKey); err != nil {
			return err
		}
		u, err := s.target(ctx, tx, by, userID, false)
		if err != nil {
			return err
		}
		if u.Disabled == disabled {
			return nil
		}
		if !disabled {
			if _, err := tx.Exec(ctx, `UPDATE users SET disabled_at = NULL WHERE id = $1`, userID); err != nil {
				return err
			}
			return s.record(ctx, tx, by.Actor(), "user.enable", userID, nil)
		}
		if err := keepLastOwner(ctx, tx, u); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET disabled_at = $2 WHERE id = $1`, userID, s.now()); err != nil {
			return err
		}
		n, err := endSessions(ctx, tx, userID, "")
		if err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "user.disable", userID, audit.Diff{"sessions_ended": n})
	})
}

// ChangePassword changes by's password after checking current; endOthers ends by's other
// sessions.
//
// A wrong current password is ErrBadCredentials (or LockedError) and counts toward the
// account's lockout; a new password the policy refuses is validation.Errors on field
// "password". Outstanding reset links stop working, a "password_changed" mail is queued.
// Audited (password.change).
func (s *Service) ChangePassword(ctx context.Context, by access.Principal, current, next string, endOthers bool) error {
	u, err := s.reauth(ctx, by.UserID, current)
	if err != nil {
		return err
	}
	hash, err := s.newPasswordHash(ctx, next, u)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, u.ID, hash); err != nil {
			return err
		}
		if err := useUpLinks(ctx, tx, u.ID, s.now()); err != nil {
			return err
		}
		diff := audit.Diff{}
		if endOthers {
			n, err := endSessions(ctx, tx, u.ID, by.SessionID)
			if err != nil {
				return err
			}
			diff["sessions_ended"] = n
		}
		if err := s.queueMail(ctx, tx, "password_changed", u.Email, map[string]any{"name": u.Name}); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "password.change", u.ID, diff)
	})
}

// ChangeEmail changes by's e-mail after checking the current password.
//
// validation.Errors on field "email" for a bad address, ErrEmailTaken, ErrBadCredentials (or
// LockedError) for a wrong password. Outstanding reset links (sent to the old address) stop
// working and an "email_changed" mail goes to the old address. Audited (user.email_change,
// without the addresses).
func (s *Service) ChangeEmail(ctx context.Context, by access.Principal, currentPassword, email string) error {
	email = NormaliseEmail(email)
	var errs validation.Errors
	checkEmail(&errs, "email", email)
	if err := errs.Err(); err != nil {
		return err
	}
	u, err := s.reauth(ctx, by.UserID, currentPassword)
	if err != nil {
		return err
	}
	if u.Email == email {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET email = $2 WHERE id = $1`, u.ID, email)
		if code, _ := pgCode(err); code == codeUniqueViolation {
			return ErrEmailTaken
		}
		if err != nil {
			return err
		}
		if err := useUpLinks(ctx, tx, u.ID, s.now()); err != nil {
			return err
		}
		if err := s.queueMail(ctx, tx, "email_changed", u.Email, map[string]any{"name": u.Name}); err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "user.email_change", u.ID, audit.Diff{}.ChangePersonal("email", u.Email, email))
	})
}

// newPasswordHash checks a new password against the policy (business name, the user's e-mail
// and name as context) and hashes it. validation.Errors on field "password".
func (s *Service) newPasswordHash(ctx context.Context, pw string, u userRow) (string, error) {
	policy, err := s.policy(ctx)
	if err != nil {
		return "", err
	}
	if problems := policy.Check(pw, u.Email, u.Name); len(problems) > 0 {
		var errs validation.Errors
		for _, p := range problems {
			errs.Add("password", p.Code, p.Message, p.Params)
		}
		return "", errs
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("account: hash password: %w", err)
	}
	return hash, nil
}

// checkRoleStaff validates a role and its staff link.
func checkRoleStaff(role access.Role, staffID *int64) error {
	var errs validation.Errors
	if !role.Valid() {
		errs.Add("role", "invalid", "is not a role", nil)
	}
	if role == access.Staff && staffID == nil {
		errs.Add("staff", "required", "is required for the staff role", nil)
	}
	return errs.Err()
}

// staffError maps the constraint errors of users.staff_id to field errors.
func staffError(err error) error {
	switch code, constraint := pgCode(err); {
	case code == "23503": // foreign_key_violation
		return validation.Errors{{Field: "staff", Code: "not_found", Message: "no such staff member"}}
	case code == codeUniqueViolation && constraint == "users_staff_id_key":
		return validation.Errors{{Field: "staff", Code: "taken", Message: "already has an account"}}
	case code == codeUniqueViolation && constraint == "users_email_key":
		return ErrEmailTaken
	}
	return err
}

// cleanName is a person's name as stored: trimmed, NFC; validation.Errors on field "name".
func cleanName(name string) (string, error) {
	name = norm.NFC.String(strings.TrimSpace(name))
	var errs validation.Errors
	switch {
	case name == "":
		errs.Add("name", "required", "is required", nil)
	case len([]rune(name)) > 200:
		errs.Add("name", "too_long", "is too long", map[string]any{"max": 200})
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		errs.Add("name", "invalid_character", "contains a character that is not allowed", nil)
	}
	return name, errs.Err()
}

func equalID(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

// idValue is an optional id for a diff: the number or null.
func idValue(id *int64) any {
	if id == nil {
		return nil
	}
	return *id
}
