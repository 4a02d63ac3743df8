// Package access is Slotbook's permission matrix: which role may do what, and on which objects.
// It is pure (no database, no HTTP) so that the matrix in docs/security.md, the route table in the
// web package and the tests all read the same table.
//
// Every decision has two parts: a Permission (what kind of thing) and a Scope (all objects, or
// only the objects of the staff member the account is linked to). Handlers ask Can(p, perm) for
// the route and then CanOnStaff(p, perm, staffID) for the object they load; an object outside the
// principal's scope is answered like a missing one (404), so IDs changed in a URL reveal nothing.
package access

import (
	"context"
	"fmt"
)

// Role is an account's role. Every account has exactly one.
type Role string

const (
	Owner  Role = "owner"  // runs the business: everything, including other owners and MFA resets
	Admin  Role = "admin"  // runs the day-to-day: everything except owners' accounts and MFA resets
	Staff  Role = "staff"  // a staff member: their own calendar, bookings and time off
	Viewer Role = "viewer" // reception or accounting: reads calendars and bookings, changes nothing
)

// Roles lists every role, most powerful first.
var Roles = []Role{Owner, Admin, Staff, Viewer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

// Permission names one kind of action. The names are stable: they appear in docs/security.md and
// in tests.
type Permission string

const (
	CalendarView   Permission = "calendar.view"   // the day/week calendar
	BookingView    Permission = "booking.view"    // booking list, search and details (customer data)
	BookingManage  Permission = "booking.manage"  // create, cancel, move bookings
	CatalogView    Permission = "catalog.view"    // services and staff lists (no changes)
	CatalogManage  Permission = "catalog.manage"  // create, change, delete services and staff
	HoursManage    Permission = "hours.manage"    // working hours of a staff member
	TimeOffView    Permission = "timeoff.view"    // time off of a staff member
	TimeOffManage  Permission = "timeoff.manage"  // add and remove time off
	SettingsManage Permission = "settings.manage" // business settings
	UsersView      Permission = "users.view"      // the accounts list
	UsersManage    Permission = "users.manage"    // invite, change role, disable, end sessions
	UsersResetMFA  Permission = "users.reset_mfa" // reset another account's MFA
	AuditView      Permission = "audit.view"      // the audit log, its chain status and export
	AccountSelf    Permission = "account.self"    // own password, e-mail, MFA and sessions

	// CustomersManage: find a customer's data by e-mail address, export it (GDPR Art. 15/20) and
	// erase it (Art. 17).
	CustomersManage Permission = "customers.manage"

	// FeedManage: create and revoke a staff member's calendar feed URL (/calendar/{token}.ics).
	FeedManage Permission = "feed.manage"
)

// Permissions lists every permission in the order of docs/security.md.
var Permissions = []Permission{
	CalendarView, BookingView, BookingManage, CatalogView, CatalogManage, HoursManage,
	TimeOffView, TimeOffManage, FeedManage, SettingsManage, UsersView, UsersManage, UsersResetMFA,
	AuditView, CustomersManage, AccountSelf,
}

// Valid reports whether p is one of Permissions.
func (p Permission) Valid() bool {
	for _, v := range Permissions {
		if p == v {
			return true
		}
	}
	return false
}

// Scope is how far a granted permission reaches.
type Scope int

const (
	None Scope = iota // not allowed
	Own               // only objects of the staff member linked to the account
	All               // every object
)

func (s Scope) String() string {
	switch s {
	case Own:
		return "own"
	case All:
		return "all"
	default:
		return "none"
	}
}

// matrix is the permission matrix. A missing entry is None.
var matrix = map[Role]map[Permission]Scope{
	Owner: {
		CalendarView: All, BookingView: All, BookingManage: All, CatalogView: All,
		CatalogManage: All, HoursManage: All, TimeOffView: All, TimeOffManage: All, FeedManage: All,
		SettingsManage: All, UsersView: All, UsersManage: All, UsersResetMFA: All, AuditView: All,
		CustomersManage: All, AccountSelf: All,
	},
	Admin: {
		CalendarView: All, BookingView: All, BookingManage: All, CatalogView: All,
		CatalogManage: All, HoursManage: All, TimeOffView: All, TimeOffManage: All, FeedManage: All,
		SettingsManage: All, UsersView: All, UsersManage: All, AuditView: All, CustomersManage: All,
		AccountSelf: All,
	},
	Staff: {
		CalendarView: Own, BookingView: Own, BookingManage: Own, CatalogView: All,
		TimeOffView: Own, TimeOffManage: Own, FeedManage: Own, AccountSelf: All,
	},
	Viewer: {
		CalendarView: All, BookingView: All, CatalogView: All, TimeOffView: All, AccountSelf: All,
	},
}

// ScopeOf is the reach of perm for role.
func ScopeOf(role Role, perm Permission) Scope { return matrix[role][perm] }

// Principal is the signed-in person a request acts for.
type Principal struct {
	UserID    int64
	Email     string
	Role      Role
	StaffID   *int64 // the staff member this account is (required for role Staff)
	SessionID string // the server-side session row, for "end my other sessions"
}

// Actor is the principal as it is written into the audit log.
func (p Principal) Actor() string { return fmt.Sprintf("user:%d", p.UserID) }

// Can reports whether p may use perm at all (on some object).
func Can(p Principal, perm Permission) bool { return ScopeOf(p.Role, perm) != None }

// CanOnStaff reports whether p may use perm on an object that belongs to staff member staffID
// (a booking, a calendar, time off).
func CanOnStaff(p Principal, perm Permission, staffID int64) bool {
	switch ScopeOf(p.Role, perm) {
	case All:
		return true
	case Own:
		return p.StaffID != nil && *p.StaffID == staffID
	default:
		return false
	}
}

// OnlyStaff is the staff member p's view of perm is limited to, or nil when p sees all of them.
// List queries use it as their filter.
func OnlyStaff(p Principal, perm Permission) (staffID *int64, allowed bool) {
	switch ScopeOf(p.Role, perm) {
	case All:
		return nil, true
	case Own:
		if p.StaffID == nil {
			return nil, false
		}
		id := *p.StaffID
		return &id, true
	default:
		return nil, false
	}
}

// CanManageRole reports whether an account with role actor may invite, change, disable or end
// the sessions of an account with role target. Owners manage everyone; admins manage staff and
// viewers (and other admins), never owners; nobody else manages accounts.
func CanManageRole(actor, target Role) bool {
	switch actor {
	case Owner:
		return target.Valid()
	case Admin:
		return target == Admin || target == Staff || target == Viewer
	default:
		return false
	}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal in ctx, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
