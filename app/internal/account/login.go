package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/auth/mfa"
)

// Login checks email and password, throttled per account and per clientIP (LockedError). A
// correct password returns what comes next; failures are ErrBadCredentials. Audited
// (login.ok / login.failed / login.locked).
//
// login.ok is written when the sign-in is complete as far as this call goes (LoginDone, or
// LoginMustEnrol); with LoginNeedsCode it is VerifyCode that writes it. For the same reason the
// account's failure counter is only reset then: a correct password alone must not give an
// attacker a fresh set of guesses at the second factor.
func (s *Service) Login(ctx context.Context, email, password, clientIP string) (LoginResult, error) {
	email = NormaliseEmail(email)
	f := failure{accountKey: accountKey(email), ipKey: ipKey(clientIP), wrong: ErrBadCredentials}
	if err := s.checkLocked(ctx, f.accountKey, f.ipKey); err != nil {
		return LoginResult{}, err
	}
	u, err := userByEmail(ctx, s.pool, email, false)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return LoginResult{}, err
	}
	// Every path costs one argon2id computation, so the time taken does not tell whether the
	// account exists, has a password or is disabled.
	var ok, rehash bool
	switch {
	case err != nil:
		f.reason = "unknown_account"
		err = s.hasher.DummyVerify(ctx, password)
	case u.passwordHash == nil:
		f.userID, f.reason = u.ID, "no_password"
		err = s.hasher.DummyVerify(ctx, password)
	default:
		f.userID = u.ID
		ok, rehash, err = s.hasher.Verify(ctx, password, *u.passwordHash)
		if err == nil && !ok {
			f.reason = "password"
		} else if err == nil && u.Disabled {
			ok, f.reason = false, "disabled"
		}
	}
	if err != nil {
		return LoginResult{}, fmt.Errorf("account: login: %w", err)
	}
	if !ok {
		return LoginResult{}, s.fail(ctx, f)
	}

	next := LoginDone
	switch {
	case s.opts.MFA == MFADisabled:
	case u.MFAEnabled:
		next = LoginNeedsCode
	case s.opts.MFA == MFARequired:
		next = LoginMustEnrol
	}
	// Parameters changed since the hash was made: store a new one, now that the password is
	// known (outside the transaction: hashing takes tens of milliseconds).
	var newHash string
	if rehash {
		if newHash, err = s.hasher.Hash(ctx, password); err != nil {
			return LoginResult{}, fmt.Errorf("account: login: rehash: %w", err)
		}
	}
	now := s.now()
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if newHash != "" {
			// Only if the password was not changed meanwhile.
			if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1 AND password_hash = $3`,
				u.ID, newHash, *u.passwordHash); err != nil {
				return err
			}
		}
		if next == LoginNeedsCode {
			return nil
		}
		if err := resetAccountThrottle(ctx, tx, email); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET last_login_at = $2 WHERE id = $1`, u.ID, now); err != nil {
			return err
		}
		mfaUsed := "none"
		if next == LoginMustEnrol {
			mfaUsed = "enrolment_required"
		}
		return s.record(ctx, tx, userActor(u.ID), "login.ok", u.ID, audit.Diff{"mfa": mfaUsed})
	})
	if err != nil {
		return LoginResult{}, err
	}
	if next != LoginNeedsCode {
		u.LastLoginAt = &now
	}
	return LoginResult{User: u.User, Next: next}, nil
}

// errCodeRace: the code was valid when checked but another request used it first.
var errCodeRace = errors.New("account: code used concurrently")

// VerifyCode checks a TOTP code (single use: the step is remembered) or a recovery code (used
// up) for userID after a correct password. Throttled like Login.
//
// userID must come from a LoginNeedsCode result kept server-side (in the pre-login session),
// never from the request. A success is audited as login.ok ({"mfa": "totp"} or
// {"mfa": "recovery_code", "recovery_codes_left": n}); a failure as login.failed
// ({"reason": "code"}) and counts toward the account's lockout.
func (s *Service) VerifyCode(ctx context.Context, userID int64, code, clientIP string) error {
	u, err := userByID(ctx, s.pool, userID, false)
	if errors.Is(err, ErrNotFound) {
		return ErrBadCode
	}
	if err != nil {
		return err
	}
	f := failure{accountKey: accountKey(u.Email), ipKey: ipKey(clientIP), userID: u.ID, reason: "code", wrong: ErrBadCode}
	if err := s.checkLocked(ctx, f.accountKey, f.ipKey); err != nil {
		return err
	}
	if u.Disabled || u.mfaSecret == nil {
		return s.fail(ctx, f)
	}
	secret, err := mfa.Open(s.opts.SessionKey, *u.mfaSecret)
	if err != nil {
		return fmt.Errorf("account: verify code: %w", err)
	}
	now := s.now()
	var diff audit.Diff
	var update func(tx pgx.Tx) (int64, error)
	if step, ok := mfa.Verify(secret, code, now, u.mfaLastStep); ok {
		diff = audit.Diff{"mfa": "totp"}
		// Single use even against a concurrent request with the same code: the step only moves
		// forward, and only one UPDATE can move it to this step.
		update = func(tx pgx.Tx) (int64, error) {
			tag, err := tx.Exec(ctx, `
				UPDATE users SET mfa_last_step = $2, last_login_at = $3
				WHERE id = $1 AND mfa_last_step < $2 AND mfa_secret_sealed = $4`, u.ID, step, now, *u.mfaSecret)
			return tag.RowsAffected(), err
		}
	} else if i, ok := mfa.MatchRecoveryCode(code, u.recovery); ok {
		hash := u.recovery[i]
		update = func(tx pgx.Tx) (int64, error) {
			var left int
			err := tx.QueryRow(ctx, `
				UPDATE users SET recovery_codes = array_remove(recovery_codes, $2), last_login_at = $3
				WHERE id = $1 AND $2 = ANY (recovery_codes)
				RETURNING cardinality(recovery_codes)`, u.ID, hash, now).Scan(&left)
			if errors.Is(err, pgx.ErrNoRows) {
				return 0, nil
			}
			diff = audit.Diff{"mfa": "recovery_code", "recovery_codes_left": left}
			return 1, err
		}
	} else {
		return s.fail(ctx, f)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		n, err := update(tx)
		if err != nil {
			return err
		}
		if n == 0 {
			return errCodeRace
		}
		if err := resetAccountThrottle(ctx, tx, u.Email); err != nil {
			return err
		}
		return s.record(ctx, tx, userActor(u.ID), "login.ok", u.ID, diff)
	})
	if errors.Is(err, errCodeRace) {
		return s.fail(ctx, f)
	}
	return err
}

// reauth checks the current password of a signed-in user before a change of password, e-mail
// or MFA (ASVS 6.3.x re-authentication). Failures count toward the account's lockout like
// login failures (reason "reauth"), so a taken-over session cannot be used to guess the password.
// Reauthenticate checks by's current password before a sensitive change that has no password
// of its own in the contract (starting an MFA enrolment). Failures count toward the account's
// lockout like a failed login: ErrBadCredentials or *LockedError.
func (s *Service) Reauthenticate(ctx context.Context, by access.Principal, password string) error {
	_, err := s.reauth(ctx, by.UserID, password)
	return err
}

func (s *Service) reauth(ctx context.Context, userID int64, password string) (userRow, error) {
	u, err := userByID(ctx, s.pool, userID, false)
	if err != nil {
		return u, err
	}
	f := failure{accountKey: accountKey(u.Email), userID: u.ID, reason: "reauth", wrong: ErrBadCredentials}
	if err := s.checkLocked(ctx, f.accountKey); err != nil {
		return u, err
	}
	ok := false
	if u.passwordHash == nil {
		err = s.hasher.DummyVerify(ctx, password)
	} else {
		ok, _, err = s.hasher.Verify(ctx, password, *u.passwordHash)
	}
	if err != nil {
		return u, fmt.Errorf("account: check password: %w", err)
	}
	if !ok || u.Disabled {
		return u, s.fail(ctx, f)
	}
	return u, nil
}
