package account

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/validation"
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
}

// Service is the account service. It is safe for concurrent use.
type Service struct {
	pool *pgxpool.Pool
	opts Options
}

var errNotImplemented = errors.New("account: not implemented yet")

// NewService returns the service on pool.
func NewService(pool *pgxpool.Pool, opts Options) (*Service, error) {
	return &Service{pool: pool, opts: opts}, errNotImplemented
}

// --- bootstrap and invitations ------------------------------------------------------------

// CreateOwner creates the owner account for email without a password and returns a one-time
// setup link (OwnerSetupLinkTTL). Run again for the same e-mail while the password is not set,
// it replaces the link (the old one stops working); if an account with a password exists for
// email it returns ("", nil) and changes nothing. Audited as actor "system".
func (s *Service) CreateOwner(ctx context.Context, email string) (link string, err error) {
	return "", errNotImplemented
}

// Invite creates an account for email with role (and staffID, required for access.Staff) and
// returns its one-time link (InviteLinkTTL); the invitation e-mail is queued in the mail outbox
// in the same transaction. ErrForbidden unless access.CanManageRole(by.Role, role).
// validation.Errors for bad input (field names "email", "name", "role", "staff").
func (s *Service) Invite(ctx context.Context, by access.Principal, email, name string, role access.Role, staffID *int64) (link string, err error) {
	return "", errNotImplemented
}

// LinkInfo describes a valid one-time link token (the last path segment of the link), or
// ErrLinkInvalid.
func (s *Service) LinkInfo(ctx context.Context, token string) (LinkInfo, error) {
	return LinkInfo{}, errNotImplemented
}

// UseLink sets the password through a one-time link (setup, invite or reset) and uses the link
// up. The password is checked against the policy (validation.Errors on field "password"). A reset
// ends all of the user's sessions and does NOT sign in or bypass MFA: the user signs in next.
func (s *Service) UseLink(ctx context.Context, token, password string) (User, error) {
	return User{}, errNotImplemented
}

// RequestPasswordReset queues a reset e-mail when email belongs to an enabled account with a
// password, and does nothing otherwise; it answers the same either way (and takes about the
// same time).
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	return errNotImplemented
}

// --- login and sessions -------------------------------------------------------------------

// Login checks email and password, throttled per account and per clientIP (LockedError). A
// correct password returns what comes next; failures are ErrBadCredentials. Audited
// (login.ok / login.failed / login.locked).
func (s *Service) Login(ctx context.Context, email, password, clientIP string) (LoginResult, error) {
	return LoginResult{}, errNotImplemented
}

// VerifyCode checks a TOTP code (single use: the step is remembered) or a recovery code (used
// up) for userID after a correct password. Throttled like Login.
func (s *Service) VerifyCode(ctx context.Context, userID int64, code, clientIP string) error {
	return errNotImplemented
}

// StartSession records a new signed-in session for userID and returns its ID (to keep in the
// cookie session). Call it only after Login (and VerifyCode or enrolment) succeeded.
func (s *Service) StartSession(ctx context.Context, userID int64, userAgent, clientIP string) (sessionID string, err error) {
	return "", errNotImplemented
}

// Principal returns who a session acts for, and marks it used. ErrSessionInvalid when the
// session was ended, idled out, outlived AbsoluteLifetime, or its user is disabled.
func (s *Service) Principal(ctx context.Context, sessionID string) (access.Principal, error) {
	return access.Principal{}, errNotImplemented
}

// Sessions lists userID's sessions, newest first. by must be the user or may manage them.
func (s *Service) Sessions(ctx context.Context, by access.Principal, userID int64) ([]Session, error) {
	return nil, errNotImplemented
}

// EndSession ends one of userID's sessions. by must be the user or may manage them.
func (s *Service) EndSession(ctx context.Context, by access.Principal, userID int64, sessionID string) error {
	return errNotImplemented
}

// EndOtherSessions ends all of by's sessions except the current one (by.SessionID).
func (s *Service) EndOtherSessions(ctx context.Context, by access.Principal) error {
	return errNotImplemented
}

// Logout ends the session sessionID.
func (s *Service) Logout(ctx context.Context, sessionID string) error { return errNotImplemented }

// --- self-service (re-authentication with the current password) ---------------------------

// Me returns the principal's own account.
func (s *Service) Me(ctx context.Context, by access.Principal) (User, error) {
	return User{}, errNotImplemented
}

// ChangePassword changes by's password after checking current; endOthers ends by's other
// sessions.
func (s *Service) ChangePassword(ctx context.Context, by access.Principal, current, next string, endOthers bool) error {
	return errNotImplemented
}

// ChangeEmail changes by's e-mail after checking the current password.
func (s *Service) ChangeEmail(ctx context.Context, by access.Principal, currentPassword, email string) error {
	return errNotImplemented
}

// BeginEnrolment starts a TOTP enrolment for userID (kept server-side until confirmed or
// replaced). Used both by a signed-in user and by the forced enrolment after login.
func (s *Service) BeginEnrolment(ctx context.Context, userID int64) (Enrolment, error) {
	return Enrolment{}, errNotImplemented
}

// ConfirmEnrolment checks a code from the new authenticator, enables MFA and returns the 10
// recovery codes (shown once). Audited (mfa.enrol).
func (s *Service) ConfirmEnrolment(ctx context.Context, userID int64, code string) (recoveryCodes []string, err error) {
	return nil, errNotImplemented
}

// DisableMFA turns MFA off for by after checking the current password; ErrForbidden when
// SLOTBOOK_MFA=Required.
func (s *Service) DisableMFA(ctx context.Context, by access.Principal, currentPassword string) error {
	return errNotImplemented
}

// --- account administration ---------------------------------------------------------------

// Users lists the accounts by may see (access.UsersView).
func (s *Service) Users(ctx context.Context, by access.Principal) ([]User, error) {
	return nil, errNotImplemented
}

// User returns one account, ErrNotFound if by may not see it.
func (s *Service) User(ctx context.Context, by access.Principal, userID int64) (User, error) {
	return User{}, errNotImplemented
}

// SetRole changes userID's role (and staff link). The last enabled owner cannot lose the role.
func (s *Service) SetRole(ctx context.Context, by access.Principal, userID int64, role access.Role, staffID *int64) error {
	return errNotImplemented
}

// SetDisabled disables (ending all sessions) or re-enables userID. Nobody disables themselves or
// the last enabled owner.
func (s *Service) SetDisabled(ctx context.Context, by access.Principal, userID int64, disabled bool) error {
	return errNotImplemented
}

// ResetMFA removes userID's MFA (access.UsersResetMFA; audited mfa.reset); with
// SLOTBOOK_MFA=Required the user enrols again at the next login.
func (s *Service) ResetMFA(ctx context.Context, by access.Principal, userID int64) error {
	return errNotImplemented
}

var _ = validation.Errors{}
