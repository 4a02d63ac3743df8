package account

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/auth/mfa"
	"github.com/slotbook/slotbook/app/internal/auth/password"
)

// Options configure the service from the environment contract.
type Options struct {
	BaseURL           string        // SLOTBOOK_BASE_URL, for one-time links
	SessionKey        []byte        // SLOTBOOK_SESSION_KEY, seals TOTP secrets at rest
	MFA               MFAMode       // SLOTBOOK_MFA
	PasswordMinLength int           // SLOTBOOK_PASSWORD_MIN_LENGTH
	IdleTimeout       time.Duration // SLOTBOOK_SESSION_IDLE_TIMEOUT: a session unused this long is invalid
	AbsoluteLifetime  time.Duration // a session older than this is invalid (default 12h)
	Issuer            string        // TOTP issuer shown in authenticator apps (the business name)
	Now               func() time.Time

	// Hasher hashes passwords; nil means password.NewHasher(password.DefaultParams, 0). Share
	// one per process: it bounds how many hashes run at once.
	Hasher *password.Hasher
}

// Defaults for zero Options fields.
const (
	DefaultIdleTimeout      = 15 * time.Minute
	DefaultAbsoluteLifetime = 12 * time.Hour
)

// Service is the account service. It is safe for concurrent use.
type Service struct {
	pool    *pgxpool.Pool
	opts    Options
	hasher  *password.Hasher
	baseURL string // without trailing slash
	// resetFloor is the least time RequestPasswordReset takes, so that its timing does not tell
	// whether the address has an account.
	resetFloor time.Duration
}

// NewService returns the service on pool. It checks the options and fills in defaults: MFA
// Optional, IdleTimeout 15m, AbsoluteLifetime 12h, the default password policy, time.Now.
func NewService(pool *pgxpool.Pool, opts Options) (*Service, error) {
	if pool == nil {
		return nil, errors.New("account: no database pool")
	}
	if len(opts.SessionKey) < mfa.MinKeyBytes {
		return nil, fmt.Errorf("account: the session key must have at least %d bytes", mfa.MinKeyBytes)
	}
	u, err := url.Parse(opts.BaseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("account: base URL %q is not an absolute http(s) URL", opts.BaseURL)
	}
	switch opts.MFA {
	case "":
		opts.MFA = MFAOptional
	case MFADisabled, MFAOptional, MFARequired:
	default:
		return nil, fmt.Errorf("account: unknown MFA mode %q", opts.MFA)
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.AbsoluteLifetime <= 0 {
		opts.AbsoluteLifetime = DefaultAbsoluteLifetime
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := opts.Hasher
	if h == nil {
		if h, err = password.NewHasher(password.DefaultParams, 0); err != nil {
			return nil, err
		}
	}
	return &Service{
		pool:       pool,
		opts:       opts,
		hasher:     h,
		baseURL:    strings.TrimRight(u.String(), "/"),
		resetFloor: 150 * time.Millisecond,
	}, nil
}

// now is the service's clock, truncated to what PostgreSQL stores so that values read back
// compare equal to the ones written.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in a READ COMMITTED transaction (audit.Append's requirement).
func (s *Service) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// record appends one audit entry for a security event. It must be the last statement of the
// transaction (audit.Append holds a global lock until the transaction ends). userID 0 means the
// event has no known account as its object.
func (s *Service) record(ctx context.Context, tx pgx.Tx, actor, action string, userID int64, diff audit.Diff) error {
	e := audit.Entry{Actor: actor, Action: action, Diff: diff, At: s.now()}
	if userID != 0 {
		e.ObjectType, e.ObjectID = "user", strconv.FormatInt(userID, 10)
	}
	return audit.Append(ctx, tx, e)
}

// Audit actors that are not a user.
const (
	actorSystem    = "system"
	actorAnonymous = "anonymous"
)

func userActor(id int64) string { return "user:" + strconv.FormatInt(id, 10) }

// userRow is a users row with its secrets; only User ever leaves the package.
type userRow struct {
	User
	passwordHash *string
	mfaSecret    *string
	mfaLastStep  int64
	mfaPending   *string
	recovery     []string
}

const userColumns = `id, email, name, role, staff_id, disabled_at, created_at, last_login_at,
	password_hash, mfa_secret_sealed, mfa_last_step, mfa_pending_secret_sealed, recovery_codes`

func scanUser(row pgx.Row) (userRow, error) {
	var u userRow
	var role string
	var disabledAt *time.Time
	err := row.Scan(&u.ID, &u.Email, &u.Name, &role, &u.StaffID, &disabledAt, &u.CreatedAt,
		&u.LastLoginAt, &u.passwordHash, &u.mfaSecret, &u.mfaLastStep, &u.mfaPending, &u.recovery)
	if err != nil {
		return u, err
	}
	u.Role = access.Role(role)
	u.Disabled = disabledAt != nil
	u.MFAEnabled = u.mfaSecret != nil
	u.PasswordSet = u.passwordHash != nil
	return u, nil
}

// userByID loads an account; ErrNotFound if there is none. forUpdate locks the row.
func userByID(ctx context.Context, q querier, id int64, forUpdate bool) (userRow, error) {
	sql := `SELECT ` + userColumns + ` FROM users WHERE id = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	u, err := scanUser(q.QueryRow(ctx, sql, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	return u, err
}

// userByEmail loads an account by normalised e-mail; ErrNotFound if there is none.
func userByEmail(ctx context.Context, q querier, email string, forUpdate bool) (userRow, error) {
	sql := `SELECT ` + userColumns + ` FROM users WHERE email = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	u, err := scanUser(q.QueryRow(ctx, sql, email))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	return u, err
}

// businessName is the business's name from the settings (password policy, TOTP issuer, mails).
func businessName(ctx context.Context, q querier) (string, error) {
	var name string
	err := q.QueryRow(ctx, `SELECT name FROM business_settings`).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return name, err
}

// policy is the password policy for a new password of the business.
func (s *Service) policy(ctx context.Context) (password.Policy, error) {
	name, err := businessName(ctx, s.pool)
	if err != nil {
		return password.Policy{}, err
	}
	return password.Policy{MinLength: s.opts.PasswordMinLength, BusinessName: name}, nil
}

// pgCode is the SQLSTATE and constraint of a PostgreSQL error.
func pgCode(err error) (code, constraint string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName
	}
	return "", ""
}

const codeUniqueViolation = "23505"
