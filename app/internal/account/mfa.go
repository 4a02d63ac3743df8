package account

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/auth/mfa"
)

// TOTP MFA (package mfa does the cryptography). Secrets are sealed with the session key; the
// last accepted time step makes codes single-use; recovery codes are stored as hashes and
// removed when used.

// issuer is the name authenticator apps show: Options.Issuer, else the business name, without
// the colon that separates issuer and account in a key URI.
func (s *Service) issuer(ctx context.Context) (string, error) {
	name := s.opts.Issuer
	if name == "" {
		var err error
		if name, err = businessName(ctx, s.pool); err != nil {
			return "", err
		}
	}
	name = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r == ':' || unicode.IsControl(r) {
			return ' '
		}
		return r
	}, name)), " ")
	if name == "" {
		name = "Slotbook"
	}
	return name, nil
}

// BeginEnrolment starts a TOTP enrolment for userID (kept server-side until confirmed or
// replaced). Used both by a signed-in user and by the forced enrolment after login.
//
// ErrForbidden when SLOTBOOK_MFA=Disabled, for a disabled account, and when MFA is already on:
// replacing an authenticator means DisableMFA (with the password) or an owner's ResetMFA first,
// so a taken-over session alone cannot move MFA to the attacker's phone.
func (s *Service) BeginEnrolment(ctx context.Context, userID int64) (Enrolment, error) {
	if s.opts.MFA == MFADisabled {
		return Enrolment{}, ErrForbidden
	}
	u, err := userByID(ctx, s.pool, userID, false)
	if err != nil {
		return Enrolment{}, err
	}
	if u.Disabled || u.MFAEnabled {
		return Enrolment{}, ErrForbidden
	}
	issuer, err := s.issuer(ctx)
	if err != nil {
		return Enrolment{}, err
	}
	e, err := mfa.NewEnrolment(issuer, u.Email)
	if err != nil {
		return Enrolment{}, fmt.Errorf("account: begin enrolment: %w", err)
	}
	sealed, err := mfa.Seal(s.opts.SessionKey, e.Secret)
	if err != nil {
		return Enrolment{}, fmt.Errorf("account: begin enrolment: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE users SET mfa_pending_secret_sealed = $2 WHERE id = $1 AND mfa_secret_sealed IS NULL`, userID, sealed)
	if err != nil {
		return Enrolment{}, err
	}
	if tag.RowsAffected() == 0 {
		return Enrolment{}, ErrForbidden
	}
	return Enrolment{Secret: e.Secret, URI: e.URL, QRPNG: e.QRPNG}, nil
}

// ConfirmEnrolment checks a code from the new authenticator, enables MFA and returns the 10
// recovery codes (shown once). Audited (mfa.enrol).
//
// ErrBadCode for a wrong code or when no enrolment was started; the confirming code cannot be
// used again to sign in.
func (s *Service) ConfirmEnrolment(ctx context.Context, userID int64, code string) (recoveryCodes []string, err error) {
	u, err := userByID(ctx, s.pool, userID, false)
	if err != nil {
		return nil, err
	}
	if u.Disabled || u.MFAEnabled || u.mfaPending == nil || s.opts.MFA == MFADisabled {
		return nil, ErrBadCode
	}
	secret, err := mfa.Open(s.opts.SessionKey, *u.mfaPending)
	if err != nil {
		return nil, fmt.Errorf("account: confirm enrolment: %w", err)
	}
	step, ok := mfa.Verify(secret, code, s.now(), 0)
	if !ok {
		return nil, ErrBadCode
	}
	plain, hashed, err := mfa.NewRecoveryCodes()
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// Only the enrolment that was checked: not one replaced meanwhile by another
		// BeginEnrolment.
		tag, err := tx.Exec(ctx, `
			UPDATE users SET mfa_secret_sealed = mfa_pending_secret_sealed, mfa_pending_secret_sealed = NULL,
			                 mfa_last_step = greatest(mfa_last_step, $3), recovery_codes = $4
			WHERE id = $1 AND mfa_pending_secret_sealed = $2 AND mfa_secret_sealed IS NULL`,
			userID, *u.mfaPending, step, hashed)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrBadCode
		}
		return s.record(ctx, tx, userActor(userID), "mfa.enrol", userID, nil)
	})
	if err != nil {
		return nil, err
	}
	return plain, nil
}

// DisableMFA turns MFA off for by after checking the current password; ErrForbidden when
// SLOTBOOK_MFA=Required.
//
// A wrong password is ErrBadCredentials (or LockedError) and counts toward the lockout.
// Audited (mfa.disable) when MFA was on.
func (s *Service) DisableMFA(ctx context.Context, by access.Principal, currentPassword string) error {
	if s.opts.MFA == MFARequired {
		return ErrForbidden
	}
	if _, err := s.reauth(ctx, by.UserID, currentPassword); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		on, err := clearMFA(ctx, tx, by.UserID)
		if err != nil || !on {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "mfa.disable", by.UserID, nil)
	})
}

// ResetMFA removes userID's MFA (access.UsersResetMFA; audited mfa.reset); with
// SLOTBOOK_MFA=Required the user enrols again at the next login.
//
// Owners only (and access.CanManageRole); nobody resets their own (DisableMFA, with the
// password, is for that): ErrForbidden, or ErrNotFound when by may not see accounts at all.
// The user's sessions end, in case the lost authenticator went with a signed-in device.
func (s *Service) ResetMFA(ctx context.Context, by access.Principal, userID int64) error {
	if !access.Can(by, access.UsersResetMFA) || by.UserID == userID {
		if !access.Can(by, access.UsersView) && by.UserID != userID {
			return ErrNotFound
		}
		return ErrForbidden
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.target(ctx, tx, by, userID, false); err != nil {
			return err
		}
		on, err := clearMFA(ctx, tx, userID)
		if err != nil || !on {
			return err
		}
		n, err := endSessions(ctx, tx, userID, "")
		if err != nil {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "mfa.reset", userID, audit.Diff{"sessions_ended": n})
	})
}

// clearMFA removes a user's MFA (secret, pending enrolment, recovery codes) and reports whether
// there was any. The last used step stays: it only ever grows.
func clearMFA(ctx context.Context, tx pgx.Tx, userID int64) (bool, error) {
	tag, err := tx.Exec(ctx, `
		UPDATE users SET mfa_secret_sealed = NULL, mfa_pending_secret_sealed = NULL, recovery_codes = '{}'
		WHERE id = $1 AND (mfa_secret_sealed IS NOT NULL OR mfa_pending_secret_sealed IS NOT NULL)`, userID)
	return tag.RowsAffected() > 0, err
}
