package account

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
)

// Server-side sessions (ASVS V7). The web layer's scs session (cookie token, table sessions)
// carries only the id of a user_sessions row; that row decides whether the user is signed in,
// so ending a session anywhere (logout, "end my other sessions", disabling the user, a password
// reset) takes effect on the next request, whatever the cookie says.

// LastSeenGranularity is how stale last_seen_at may be: Principal writes it at most this often
// per session (or every tenth of the idle timeout, if that is shorter), not on every request. A
// session may therefore idle out up to this much before IdleTimeout is reached, never later.
const LastSeenGranularity = time.Minute

// lastSeenEvery is how often Principal refreshes last_seen_at: LastSeenGranularity, but at most
// a tenth of the idle timeout, so a short timeout is not cut by a whole minute.
func (s *Service) lastSeenEvery() time.Duration {
	return min(LastSeenGranularity, s.opts.IdleTimeout/10)
}

// newID returns 256 bits from crypto/rand, base64url without padding (43 characters).
func newID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clip shortens s to at most n bytes without splitting a character, for client-supplied text.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// StartSession records a new signed-in session for userID and returns its ID (to keep in the
// cookie session). Call it only after Login (and VerifyCode or enrolment) succeeded.
//
// ErrForbidden for a disabled account, one without a password, and (SLOTBOOK_MFA=Required) one
// without MFA: the forced enrolment must come first. The web layer must also renew the scs
// token at this point (RenewToken), so a session fixed before login is worthless.
func (s *Service) StartSession(ctx context.Context, userID int64, userAgent, clientIP string) (sessionID string, err error) {
	u, err := userByID(ctx, s.pool, userID, false)
	if err != nil {
		return "", err
	}
	if u.Disabled || !u.PasswordSet || (s.opts.MFA == MFARequired && !u.MFAEnabled) {
		return "", ErrForbidden
	}
	id, now := newID(), s.now()
	_, err = s.pool.Exec(ctx, `
		INSERT INTO user_sessions (id, user_id, created_at, last_seen_at, user_agent, ip)
		VALUES ($1, $2, $3, $3, $4, $5)`, id, userID, now, clip(userAgent, 500), clip(clientIP, 100))
	if err != nil {
		return "", err
	}
	return id, nil
}

// Principal returns who a session acts for, and marks it used. ErrSessionInvalid when the
// session was ended, idled out, outlived AbsoluteLifetime, or its user is disabled.
//
// The role and staff link are read fresh on every call, so a role change applies to the next
// request. last_seen_at is written at most once per LastSeenGranularity.
func (s *Service) Principal(ctx context.Context, sessionID string) (access.Principal, error) {
	if sessionID == "" {
		return access.Principal{}, ErrSessionInvalid
	}
	var p access.Principal
	var role string
	var created, seen time.Time
	var disabled bool
	err := s.pool.QueryRow(ctx, `
		SELECT s.created_at, s.last_seen_at, u.id, u.email, u.role, u.staff_id, u.disabled_at IS NOT NULL
		FROM user_sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id = $1`, sessionID).Scan(&created, &seen, &p.UserID, &p.Email, &role, &p.StaffID, &disabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return access.Principal{}, ErrSessionInvalid
	}
	if err != nil {
		return access.Principal{}, err
	}
	now := s.now()
	if disabled || now.Sub(seen) >= s.opts.IdleTimeout || now.Sub(created) >= s.opts.AbsoluteLifetime {
		if _, err := s.pool.Exec(ctx, `DELETE FROM user_sessions WHERE id = $1`, sessionID); err != nil {
			return access.Principal{}, err
		}
		return access.Principal{}, ErrSessionInvalid
	}
	if now.Sub(seen) >= s.lastSeenEvery() {
		if _, err := s.pool.Exec(ctx, `UPDATE user_sessions SET last_seen_at = $2 WHERE id = $1`, sessionID, now); err != nil {
			return access.Principal{}, err
		}
	}
	p.Role, p.SessionID = access.Role(role), sessionID
	return p, nil
}

// Sessions lists userID's sessions, newest first. by must be the user or may manage them.
// Sessions that have expired but were not yet cleaned up are left out.
func (s *Service) Sessions(ctx context.Context, by access.Principal, userID int64) ([]Session, error) {
	if _, err := s.target(ctx, s.pool, by, userID, true); err != nil {
		return nil, err
	}
	now := s.now()
	rows, err := s.pool.Query(ctx, `
		SELECT id, created_at, last_seen_at, user_agent, ip FROM user_sessions
		WHERE user_id = $1 AND last_seen_at > $2 AND created_at > $3
		ORDER BY created_at DESC, id`, userID, now.Add(-s.opts.IdleTimeout), now.Add(-s.opts.AbsoluteLifetime))
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Session, error) {
		var x Session
		err := row.Scan(&x.ID, &x.CreatedAt, &x.LastSeen, &x.UserAgent, &x.IP)
		x.Current = x.ID == by.SessionID
		return x, err
	})
	if list == nil {
		list = []Session{}
	}
	return list, err
}

// EndSession ends one of userID's sessions. by must be the user or may manage them.
// ErrNotFound if userID has no such session. Audited (session.end).
func (s *Service) EndSession(ctx context.Context, by access.Principal, userID int64, sessionID string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := s.target(ctx, tx, by, userID, true); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM user_sessions WHERE id = $1 AND user_id = $2`, sessionID, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return s.record(ctx, tx, by.Actor(), "session.end", userID, nil)
	})
}

// EndOtherSessions ends all of by's sessions except the current one (by.SessionID). Audited
// (session.end_others) when there were any.
func (s *Service) EndOtherSessions(ctx context.Context, by access.Principal) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		n, err := endSessions(ctx, tx, by.UserID, by.SessionID)
		if err != nil || n == 0 {
			return err
		}
		return s.record(ctx, tx, by.Actor(), "session.end_others", by.UserID, audit.Diff{"sessions_ended": n})
	})
}

// Logout ends the session sessionID. Ending an unknown or already ended session is not an
// error. Audited (logout).
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var userID int64
		err := tx.QueryRow(ctx, `DELETE FROM user_sessions WHERE id = $1 RETURNING user_id`, sessionID).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		return s.record(ctx, tx, userActor(userID), "logout", userID, nil)
	})
}

// endSessions deletes userID's sessions except keep ("" keeps none) and returns how many.
func endSessions(ctx context.Context, tx pgx.Tx, userID int64, keep string) (int64, error) {
	tag, err := tx.Exec(ctx, `DELETE FROM user_sessions WHERE user_id = $1 AND id <> $2`, userID, keep)
	return tag.RowsAffected(), err
}

// Cleanup deletes what has expired: sessions past their idle timeout or lifetime, one-time
// links that expired or were used more than a day ago, and throttle rows without a lock and
// without a failure for AccountFailureMemory. Call it now and then (e.g. hourly); correctness
// never depends on it, only the tables' size.
func (s *Service) Cleanup(ctx context.Context) error {
	now := s.now()
	_, err := s.pool.Exec(ctx, `
		DELETE FROM user_sessions WHERE last_seen_at <= $1 OR created_at <= $2`,
		now.Add(-s.opts.IdleTimeout), now.Add(-s.opts.AbsoluteLifetime))
	if err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `
		DELETE FROM one_time_links WHERE expires_at <= $1 OR used_at <= $2`, now, now.Add(-24*time.Hour)); err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `
		DELETE FROM login_throttle
		WHERE (locked_until IS NULL OR locked_until <= $1) AND (last_failure_at IS NULL OR last_failure_at <= $2)`,
		now, now.Add(-AccountFailureMemory))
	return err
}
