package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
)

// Login throttling (ASVS 6.3.1). Two counters per attempt, in table login_throttle:
//
//   - per account, keyed by the SHA-256 of the normalised e-mail, for unknown addresses exactly
//     as for known ones: after AccountMaxFailures consecutive failures the key is locked for
//     AccountLockBase, doubling with every further failure up to AccountLockMax. A successful
//     sign-in resets it; so does a password reset. Failures are forgotten after
//     AccountFailureMemory without one.
//   - per client address: IPMaxFailures failures within IPWindow lock the address for IPLock,
//     whatever accounts they were for (password spraying).
//
// While a key is locked, attempts are refused with a LockedError before the password is
// checked, and they are neither counted nor audited: counting would let a lock be extended
// forever, and auditing would let anyone fill the append-only log at wire speed (the HTTP rate
// limiter bounds those requests). The failure that imposes a lock is audited as login.failed
// and login.locked.
const (
	AccountMaxFailures   = 5
	AccountLockBase      = time.Minute
	AccountLockMax       = time.Hour
	AccountFailureMemory = 24 * time.Hour
	IPMaxFailures        = 50
	IPWindow             = 15 * time.Minute
	IPLock               = 15 * time.Minute
)

// accountKey is the throttle key of an e-mail address (normalised). The address itself is not
// stored: the table would otherwise collect every address anyone ever typed.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(email))
	return "account:" + hex.EncodeToString(sum[:])
}

// ipKey is the throttle key of a client address, "" when there is none.
func ipKey(clientIP string) string {
	if clientIP == "" {
		return ""
	}
	if len(clientIP) > 100 {
		clientIP = clientIP[:100]
	}
	return "ip:" + clientIP
}

// accountLock is how long the n-th consecutive failure locks an account key (0: not yet).
func accountLock(failures int) time.Duration {
	if failures < AccountMaxFailures {
		return 0
	}
	d := AccountLockBase
	for i := AccountMaxFailures; i < failures && d < AccountLockMax; i++ {
		d *= 2
	}
	return min(d, AccountLockMax)
}

// checkLocked returns a LockedError if one of keys ("" ignored) is locked now.
func (s *Service) checkLocked(ctx context.Context, keys ...string) error {
	var until *time.Time
	now := s.now()
	err := s.pool.QueryRow(ctx, `
		SELECT max(locked_until) FROM login_throttle WHERE key = ANY($1) AND locked_until > $2`,
		nonEmpty(keys), now).Scan(&until)
	if err != nil {
		return err
	}
	if until != nil {
		return lockedFor(until.Sub(now))
	}
	return nil
}

// lockedFor is a LockedError for d, rounded up to whole seconds (a Retry-After header value).
func lockedFor(d time.Duration) *LockedError {
	if r := d % time.Second; r != 0 {
		d += time.Second - r
	}
	return &LockedError{RetryAfter: max(d, time.Second)}
}

func nonEmpty(keys []string) []string {
	out := keys[:0:0]
	for _, k := range keys {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}

// failure is one failed attempt to record: a wrong password, code or re-authentication.
type failure struct {
	accountKey string
	ipKey      string // "" for none
	userID     int64  // 0 when the account is unknown
	reason     string // for the audit diff: password, unknown_account, disabled, no_password, code, reauth
	wrong      error  // what to answer when no lock results: ErrBadCredentials or ErrBadCode
}

// fail records f in one transaction (counters, then the audit rows) and returns f.wrong, or a
// LockedError when this failure locked the account or the address.
func (s *Service) fail(ctx context.Context, f failure) error {
	now := s.now()
	var locked time.Duration
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Counters first (account key, then address key: always this order, so concurrent
		// failures never deadlock), the audit entries last.
		var n int
		err := tx.QueryRow(ctx, `
			INSERT INTO login_throttle AS t (key, failures, last_failure_at, window_started_at)
			VALUES ($1, 1, $2, $2)
			ON CONFLICT (key) DO UPDATE SET
				failures = CASE WHEN t.last_failure_at IS NULL OR t.last_failure_at <= $3 THEN 1
				                ELSE t.failures + 1 END,
				last_failure_at = $2
			RETURNING failures`, f.accountKey, now, now.Add(-AccountFailureMemory)).Scan(&n)
		if err != nil {
			return err
		}
		acctLock := accountLock(n)
		if acctLock > 0 {
			if _, err := tx.Exec(ctx, `UPDATE login_throttle SET locked_until = $2 WHERE key = $1`,
				f.accountKey, now.Add(acctLock)); err != nil {
				return err
			}
		}
		var ipLocked bool
		if f.ipKey != "" {
			var m int
			err := tx.QueryRow(ctx, `
				INSERT INTO login_throttle AS t (key, failures, last_failure_at, window_started_at)
				VALUES ($1, 1, $2, $2)
				ON CONFLICT (key) DO UPDATE SET
					failures = CASE WHEN t.window_started_at IS NULL OR t.window_started_at <= $3 THEN 1
					                ELSE t.failures + 1 END,
					window_started_at = CASE WHEN t.window_started_at IS NULL OR t.window_started_at <= $3 THEN $2
					                         ELSE t.window_started_at END,
					last_failure_at = $2
				RETURNING failures`, f.ipKey, now, now.Add(-IPWindow)).Scan(&m)
			if err != nil {
				return err
			}
			if ipLocked = m >= IPMaxFailures; ipLocked {
				// The lock ends the window: after it, the address starts counting afresh.
				if _, err := tx.Exec(ctx, `
					UPDATE login_throttle SET locked_until = $2, failures = 0, window_started_at = NULL
					WHERE key = $1`, f.ipKey, now.Add(IPLock)); err != nil {
					return err
				}
			}
		}

		actor := actorAnonymous
		if f.reason == "reauth" {
			actor = userActor(f.userID) // a signed-in user mistyping their current password
		}
		if err := s.record(ctx, tx, actor, "login.failed", f.userID, audit.Diff{"reason": f.reason}); err != nil {
			return err
		}
		if acctLock > 0 {
			locked = acctLock
			if err := s.record(ctx, tx, actor, "login.locked", f.userID, audit.Diff{
				"scope": "account", "failures": n, "locked_until": now.Add(acctLock)}); err != nil {
				return err
			}
		}
		if ipLocked {
			locked = max(locked, IPLock)
			// The address is personal data: not in the log.
			if err := s.record(ctx, tx, actor, "login.locked", 0, audit.Diff{
				"scope": "ip", "locked_until": now.Add(IPLock)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if locked > 0 {
		return lockedFor(locked)
	}
	return f.wrong
}

// resetAccountThrottle forgets an account key's failures after a successful sign-in.
func resetAccountThrottle(ctx context.Context, tx pgx.Tx, email string) error {
	_, err := tx.Exec(ctx, `DELETE FROM login_throttle WHERE key = $1`, accountKey(email))
	return err
}
