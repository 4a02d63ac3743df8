// Package account manages the people who sign in to a Slotbook business: accounts and their
// roles, the one-time links that set a password (owner setup, invitations, password reset),
// login with throttling, TOTP MFA and recovery codes, and server-side sessions. Every security
// event is written to the audit log in the same transaction as the change it records.
//
// THIS FILE IS THE CONTRACT between the account service and its callers (the web package and
// the CLI). Signatures change only together with their callers.
package account

import (
	"errors"
	"time"

	"github.com/slotbook/slotbook/app/internal/auth/access"
)

// MFAMode is SLOTBOOK_MFA.
type MFAMode string

const (
	MFADisabled MFAMode = "Disabled" // no MFA offered
	MFAOptional MFAMode = "Optional" // users may enrol
	MFARequired MFAMode = "Required" // every user must enrol at their next login
)

// User is an account as the admin pages show it. It never carries secrets.
type User struct {
	ID          int64
	Email       string
	Name        string
	Role        access.Role
	StaffID     *int64
	Disabled    bool
	MFAEnabled  bool
	PasswordSet bool // false until the setup/invite link was used
	CreatedAt   time.Time
	LastLoginAt *time.Time
}

// LinkPurpose says what a one-time link is for.
type LinkPurpose string

const (
	PurposeOwnerSetup LinkPurpose = "owner_setup" // created by `slotbook admin create-owner`
	PurposeInvite     LinkPurpose = "invite"      // created by an owner or admin
	PurposeReset      LinkPurpose = "reset"       // password reset requested on the login page
)

// Link lifetimes.
const (
	OwnerSetupLinkTTL = 24 * time.Hour
	InviteLinkTTL     = 72 * time.Hour
	ResetLinkTTL      = 30 * time.Minute
)

// LinkInfo is what the set-password page shows about a valid link.
type LinkInfo struct {
	Purpose LinkPurpose
	Email   string
	Name    string
	Expires time.Time
}

// LoginStep is what the login flow must do next after a correct password.
type LoginStep int

const (
	LoginDone      LoginStep = iota // signed in
	LoginNeedsCode                  // ask for a TOTP or recovery code (VerifyCode)
	LoginMustEnrol                  // SLOTBOOK_MFA=Required and no MFA yet: enrol before anything else
)

// LoginResult is the outcome of a correct password.
type LoginResult struct {
	User User
	Next LoginStep
}

// Enrolment is a started, not yet confirmed TOTP enrolment.
type Enrolment struct {
	Secret string // base32, for manual entry
	URI    string // otpauth:// URI
	QRPNG  []byte // the URI as a QR code (PNG)
}

// Session is one signed-in browser of a user.
type Session struct {
	ID        string // opaque; not the cookie value
	CreatedAt time.Time
	LastSeen  time.Time
	UserAgent string
	IP        string
	Current   bool // the session of the request that lists them
}

// Errors callers map to messages. None of the messages says whether an account exists.
var (
	// ErrBadCredentials: wrong e-mail or password, or an unknown or disabled account.
	ErrBadCredentials = errors.New("account: e-mail or password is wrong")
	// ErrBadCode: a wrong, reused or expired TOTP or recovery code.
	ErrBadCode = errors.New("account: the code is wrong or was already used")
	// ErrLinkInvalid: an unknown, used or expired one-time link.
	ErrLinkInvalid = errors.New("account: the link is invalid, used or expired")
	// ErrSessionInvalid: the session was ended, expired, or its user was disabled.
	ErrSessionInvalid = errors.New("account: the session is no longer valid")
	// ErrForbidden: the principal may not do this to that account (e.g. an admin disabling an
	// owner, or the last owner demoting themselves).
	ErrForbidden = errors.New("account: not allowed")
	// ErrNotFound: no such account (or not visible to the principal).
	ErrNotFound = errors.New("account: not found")
	// ErrEmailTaken: another account has this e-mail.
	ErrEmailTaken = errors.New("account: the e-mail address is already used by another account")
)

// LockedError: too many failed attempts for this account or client address. RetryAfter is when
// the next attempt is allowed. Returned for unknown accounts too, so lockout reveals nothing.
type LockedError struct{ RetryAfter time.Duration }

func (e *LockedError) Error() string {
	return "account: too many failed attempts; try again in " + e.RetryAfter.Round(time.Second).String()
}
