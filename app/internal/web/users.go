package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

type usersPage struct {
	Users []account.User
	Dir   directory
	Roles []access.Role // the roles the principal may give
	Form  formValues
	// Link is the one-time link of a user just invited, shown once to hand over.
	Link    string
	Invited string
}

type userPage struct {
	User     account.User
	Sessions []account.Session
	Dir      directory
	Roles    []access.Role
	Form     formValues
	// Manage: the principal may change this account (role, disable, sessions).
	Manage   bool
	ResetMFA bool
	Self     bool
}

// assignableRoles are the roles p may give.
func assignableRoles(p access.Principal) []access.Role {
	var out []access.Role
	for _, r := range access.Roles {
		if access.CanManageRole(p.Role, r) {
			out = append(out, r)
		}
	}
	return out
}

func (s *server) adminUsers(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "users")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderUsers(w, r, v, http.StatusOK, formValues{"role": {string(access.Staff)}}, "", "")
}

func (s *server) renderUsers(w http.ResponseWriter, r *http.Request, v *view, status int, fv formValues, link, invited string) {
	p := principal(r)
	users, err := s.acc.Users(r.Context(), p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dir, err := s.directory(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("admin.users.title")
	v.LangBase = "/admin/users"
	v.Data = &usersPage{Users: users, Dir: dir, Roles: assignableRoles(p), Form: fv, Link: link, Invited: invited}
	s.render(w, r, status, "admin_users", v)
}

// parseRole reads the role and staff link of a form.
func parseRole(f *form, p access.Principal) (access.Role, *int64) {
	role := access.Role(f.str("role"))
	if !role.Valid() || !access.CanManageRole(p.Role, role) {
		f.errs.Add("role", "invalid", "is invalid", nil)
	}
	var staffID *int64
	if st := f.str("staffId"); st != "" && st != "none" {
		id, err := strconv.ParseInt(st, 10, 64)
		if err != nil {
			f.errs.Add("staffId", "invalid", "is invalid", nil)
		} else {
			staffID = &id
		}
	}
	if role == access.Staff && staffID == nil && f.errs.For("staffId") == nil {
		f.errs.Add("staffId", "required_for_staff", "is required for staff", nil)
	}
	return role, staffID
}

func (s *server) adminUserInvite(w http.ResponseWriter, r *http.Request) {
	v, f, ok := s.adminForm(w, r, "users")
	if !ok {
		return
	}
	p := principal(r)
	email := f.text("email", true, 254)
	name := f.text("name", true, 200)
	role, staffID := parseRole(f, p)
	errs := f.errs
	var link string
	if len(errs) == 0 {
		var err error
		link, err = s.acc.Invite(r.Context(), p, email, name, role, staffID)
		switch {
		case errors.As(err, &errs):
		case errors.Is(err, account.ErrEmailTaken):
			errs.Add("email", "taken", "already used", nil)
		case errors.Is(err, account.ErrForbidden):
			errs.Add("role", "invalid", "is invalid", nil)
		case err != nil:
			s.fail(w, r, err)
			return
		}
	}
	if len(errs) > 0 {
		v.Errors = errs
		s.renderUsers(w, r, v, http.StatusUnprocessableEntity, formValues(f.values), "", "")
		return
	}
	// The link is shown once, on this response (it is also in the invitation e-mail), so that
	// the inviter can hand it over when no mail arrives.
	v.Notice = v.T("admin.users.invited", "Email", email)
	s.renderUsers(w, r, v, http.StatusOK, formValues{"role": {string(access.Staff)}}, link, email)
}

// loadUser loads the account of the path. For a change (manage), an account the principal may
// not manage is not found, like a missing one.
func (s *server) loadUser(r *http.Request, manage bool) (account.User, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return account.User{}, err
	}
	p := principal(r)
	u, err := s.acc.User(r.Context(), p, id)
	if errors.Is(err, account.ErrNotFound) {
		return account.User{}, errPageNotFound
	}
	if err != nil {
		return account.User{}, err
	}
	if manage && !access.CanManageRole(p.Role, u.Role) {
		return account.User{}, errPageNotFound
	}
	return u, nil
}

// userFor is the users page's view and the account of the path (see loadUser). false: it has
// answered.
func (s *server) userFor(w http.ResponseWriter, r *http.Request, manage bool) (*view, account.User, bool) {
	v, err := s.adminView(w, r, "users")
	if err != nil {
		s.fail(w, r, err)
		return nil, account.User{}, false
	}
	u, err := s.loadUser(r, manage)
	if err != nil {
		s.fail(w, r, err)
		return nil, account.User{}, false
	}
	return v, u, true
}

func (s *server) adminUser(w http.ResponseWriter, r *http.Request) {
	v, u, ok := s.userFor(w, r, false)
	if !ok {
		return
	}
	s.renderUser(w, r, v, http.StatusOK, u, userValues(u))
}

func userValues(u account.User) formValues {
	fv := formValues{"role": {string(u.Role)}}
	if u.StaffID != nil {
		fv["staffId"] = []string{itoa(*u.StaffID)}
	}
	return fv
}

func (s *server) renderUser(w http.ResponseWriter, r *http.Request, v *view, status int, u account.User, fv formValues) {
	p := principal(r)
	manage := access.Can(p, access.UsersManage) && access.CanManageRole(p.Role, u.Role)
	var sessions []account.Session
	if manage || u.ID == p.UserID {
		var err error
		if sessions, err = s.acc.Sessions(r.Context(), p, u.ID); err != nil && !errors.Is(err, account.ErrForbidden) {
			s.fail(w, r, err)
			return
		}
	}
	dir, err := s.directory(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("admin.user.title", "Email", u.Email)
	v.LangBase = "/admin/users/" + itoa(u.ID)
	v.Data = &userPage{User: u, Sessions: sessions, Dir: dir, Roles: assignableRoles(p), Form: fv, Manage: manage,
		ResetMFA: access.Can(p, access.UsersResetMFA) && u.MFAEnabled, Self: u.ID == p.UserID}
	s.render(w, r, status, "admin_user", v)
}

// userChangeError shows the user page after a refused change.
func (s *server) userChangeError(w http.ResponseWriter, r *http.Request, v *view, u account.User, fv formValues, err error) {
	var verrs validation.Errors
	switch {
	case errors.As(err, &verrs):
		v.Errors = verrs
		s.renderUser(w, r, v, http.StatusUnprocessableEntity, u, fv)
	case errors.Is(err, account.ErrForbidden):
		v.Alert = v.T("admin.user.not_allowed")
		s.renderUser(w, r, v, http.StatusForbidden, u, fv)
	case errors.Is(err, account.ErrNotFound):
		s.fail(w, r, errPageNotFound)
	default:
		s.fail(w, r, err)
	}
}

func (s *server) adminUserRole(w http.ResponseWriter, r *http.Request) {
	v, u, ok := s.userFor(w, r, true)
	if !ok {
		return
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	role, staffID := parseRole(f, principal(r))
	if len(f.errs) > 0 {
		v.Errors = f.errs
		s.renderUser(w, r, v, http.StatusUnprocessableEntity, u, formValues(f.values))
		return
	}
	if err := s.acc.SetRole(r.Context(), principal(r), u.ID, role, staffID); err != nil {
		s.userChangeError(w, r, v, u, formValues(f.values), err)
		return
	}
	// A change of one's own role changes one's privileges: a new session token.
	if u.ID == principal(r).UserID && !s.renewed(w, r) {
		return
	}
	redirect(w, r, "/admin/users/"+itoa(u.ID)+"?done=saved")
}

func (s *server) adminUserDisable(w http.ResponseWriter, r *http.Request) { s.setDisabled(w, r, true) }
func (s *server) adminUserEnable(w http.ResponseWriter, r *http.Request)  { s.setDisabled(w, r, false) }

func (s *server) setDisabled(w http.ResponseWriter, r *http.Request, disabled bool) {
	v, u, ok := s.userFor(w, r, true)
	if !ok {
		return
	}
	if err := s.acc.SetDisabled(r.Context(), principal(r), u.ID, disabled); err != nil {
		s.userChangeError(w, r, v, u, userValues(u), err)
		return
	}
	done := "enabled"
	if disabled {
		done = "disabled"
	}
	redirect(w, r, "/admin/users/"+itoa(u.ID)+"?done="+done)
}

func (s *server) adminUserResetMFA(w http.ResponseWriter, r *http.Request) {
	v, u, ok := s.userFor(w, r, false)
	if !ok {
		return
	}
	if err := s.acc.ResetMFA(r.Context(), principal(r), u.ID); err != nil {
		s.userChangeError(w, r, v, u, userValues(u), err)
		return
	}
	redirect(w, r, "/admin/users/"+itoa(u.ID)+"?done=mfa_reset")
}

func (s *server) adminUserEndSession(w http.ResponseWriter, r *http.Request) {
	u, err := s.loadUser(r, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sid := r.PathValue("sid")
	err = s.acc.EndSession(r.Context(), principal(r), u.ID, sid)
	s.sessionEnded(w, r, err, sid, "/admin/users/"+itoa(u.ID)+"?done=session_ended")
}

// RoleName is a role's translated name.
func (v *view) RoleName(r access.Role) string { return v.T("role." + string(r)) }

// StaffOptions are the active staff plus the one already linked (for the staff link select).
func (d directory) StaffOptions(linked *int64) []schedule.Staff {
	out := d.activeStaff()
	if linked != nil && !slices.ContainsFunc(out, func(st schedule.Staff) bool { return st.ID == *linked }) {
		out = append(out, schedule.Staff{ID: *linked, Name: d.StaffName(*linked)})
	}
	return out
}
