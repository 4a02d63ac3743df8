package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/gdpr"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// Customers are the data-subject rights behind /admin/customers, the manage page's "delete my
// data" and the /erase/{token} pages: *gdpr.Service.
type Customers interface {
	Find(ctx context.Context, email string) (*gdpr.Export, error)
	Export(ctx context.Context, email, format string) (*gdpr.Export, error)
	Erase(ctx context.Context, email string) (gdpr.Erasure, error)
	SelfErasureAllowed(ctx context.Context) (bool, error)
	RequestErasure(ctx context.Context, manageToken string) error
	CheckErasureLink(ctx context.Context, token string) error
	ConfirmErasure(ctx context.Context, token string) (gdpr.Erasure, error)
}

// defaultCustomers is the gdpr service on the real backend's database (nil for other backends).
func defaultCustomers(b Backend, opts Options) Customers {
	if bk, ok := b.(backend); ok && bk.Store != nil {
		return gdpr.New(bk.Store.Pool(), gdpr.Options{BaseURL: opts.BaseURL, Now: opts.Now, Logger: opts.Logger})
	}
	return nil
}

// customersRoutes are the admin routes of the customers page (see adminRouteTable). Addresses
// travel in POST bodies only, never in URLs, so they end up in no access log or browser history.
func (s *server) customersRoutes() []route {
	return []route{
		{"GET", "/admin/customers", access.CustomersManage, s.adminCustomers},
		{"POST", "/admin/customers", access.CustomersManage, s.adminCustomersFind},
		{"POST", "/admin/customers/export", access.CustomersManage, s.adminCustomersExport},
		{"POST", "/admin/customers/erase", access.CustomersManage, s.adminCustomersErase},
	}
}

// customerBooking is a booking row of the customers page.
type customerBooking struct {
	ID     string
	Start  time.Time
	Status string
	Name   string
}

type tableCount struct {
	Name  string
	Count int
}

type customersPage struct {
	Email    string
	Searched bool
	Empty    bool
	Bookings []customerBooking
	Tables   []tableCount
	Erased   *gdpr.Erasure
}

func (s *server) renderCustomers(w http.ResponseWriter, r *http.Request, v *view, status int, p *customersPage) {
	v.Title = v.T("admin.customers.title")
	v.LangBase = "/admin/customers"
	v.Data = p
	s.render(w, r, status, "admin_customers", v)
}

func (s *server) adminCustomers(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "customers")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderCustomers(w, r, v, http.StatusOK, &customersPage{})
}

// customerForm is the customers page's view and the form's address; with an error it has
// answered (422 with the form).
func (s *server) customerForm(w http.ResponseWriter, r *http.Request) (*view, string, bool) {
	v, err := s.adminView(w, r, "customers")
	if err != nil {
		s.fail(w, r, err)
		return nil, "", false
	}
	if s.customers == nil {
		s.fail(w, r, errPageNotFound)
		return nil, "", false
	}
	f, err := parseForm(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, "", false
	}
	email := f.str("email")
	if !validEmail(email) {
		var errs validation.Errors
		if email == "" {
			errs.Add("email", "required", "required", nil)
		} else {
			errs.Add("email", "invalid_email", "invalid", nil)
		}
		v.Errors = errs
		s.renderCustomers(w, r, v, http.StatusUnprocessableEntity, &customersPage{Email: email})
		return nil, "", false
	}
	return v, email, true
}

func (s *server) adminCustomersFind(w http.ResponseWriter, r *http.Request) {
	v, email, ok := s.customerForm(w, r)
	if !ok {
		return
	}
	e, err := s.customers.Find(r.Context(), email)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderCustomers(w, r, v, http.StatusOK, customersPageOf(email, e))
}

func customersPageOf(email string, e *gdpr.Export) *customersPage {
	p := &customersPage{Email: email, Searched: true, Empty: e.Empty()}
	for _, t := range e.Tables {
		p.Tables = append(p.Tables, tableCount{t.Name, len(t.Rows)})
	}
	if t := e.Table("bookings"); t != nil {
		for _, row := range t.Rows {
			b := customerBooking{ID: jsonText(row["id"]), Status: jsonText(row["status"]), Name: jsonText(row["customer_name"])}
			b.Start, _ = time.Parse(time.RFC3339Nano, jsonText(row["start_at"]))
			p.Bookings = append(p.Bookings, b)
		}
	}
	return p
}

func jsonText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *server) adminCustomersExport(w http.ResponseWriter, r *http.Request) {
	_, email, ok := s.customerForm(w, r)
	if !ok {
		return
	}
	format := r.PostFormValue("format")
	if format != gdpr.FormatJSON && format != gdpr.FormatCSV {
		s.fail(w, r, errPageBadRequest)
		return
	}
	e, err := s.customers.Export(r.Context(), email, format)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	name := "customer-data-" + e.ExportedAt.Format("20060102-150405")
	w.Header().Set("Cache-Control", "no-store")
	if format == gdpr.FormatJSON {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
		err = e.WriteJSON(w)
	} else {
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`-csv.zip"`)
		err = e.WriteCSV(w)
	}
	if err != nil {
		s.log.Error("writing a customer export", "err", err)
	}
}

func (s *server) adminCustomersErase(w http.ResponseWriter, r *http.Request) {
	v, email, ok := s.customerForm(w, r)
	if !ok {
		return
	}
	if r.PostFormValue("confirm") != "yes" {
		e, err := s.customers.Find(r.Context(), email)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Errors.Add("confirm", "required", "required", nil)
		s.renderCustomers(w, r, v, http.StatusUnprocessableEntity, customersPageOf(email, e))
		return
	}
	res, err := s.customers.Erase(r.Context(), email)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Notice = v.T("admin.customers.erased", "Count", len(res.BookingIDs), "N", len(res.Cancelled))
	s.renderCustomers(w, r, v, http.StatusOK, &customersPage{Email: email, Erased: &res})
}

// ---- privacy settings ----

type privacyPage struct {
	Form formValues
}

func privacyValues(p business.Privacy) formValues {
	fv := formValues{"retentionMonths": {itoa(int64(p.RetentionMonths))}, "privacyNoticeUrl": {p.NoticeURL},
		"privacyNoticeVersion": {p.NoticeVersion}}
	if p.SelfErasure {
		fv["selfErasure"] = []string{"on"}
	}
	return fv
}

// PrivacyForm are the values of the privacy settings form on the settings page.
func (s *server) privacyForm(ctx context.Context) (formValues, error) {
	p, err := s.b.Privacy(ctx)
	return privacyValues(p), err
}

func (s *server) adminPrivacySave(w http.ResponseWriter, r *http.Request) {
	v, f, ok := s.adminForm(w, r, "settings")
	if !ok {
		return
	}
	p := business.Privacy{
		RetentionMonths: f.integer("retentionMonths", business.MinRetentionMonths, business.MaxRetentionMonths),
		NoticeURL:       f.text("privacyNoticeUrl", false, 2000),
		NoticeVersion:   f.text("privacyNoticeVersion", false, 100),
		SelfErasure:     f.has("selfErasure"),
	}
	if err := f.saveIfValid(func() error { return s.b.UpdatePrivacy(r.Context(), p) }); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(f.errs) > 0 {
		v.Errors = f.errs
		v.Title = v.T("admin.settings.title")
		v.LangBase = "/admin/settings"
		v.Data = &settingsPage{Form: settingsValues(v.Business), TimeZones: commonTimeZones, Privacy: formValues(f.values)}
		s.render(w, r, http.StatusUnprocessableEntity, "admin_settings", v)
		return
	}
	redirect(w, r, "/admin/settings?done=saved")
}

// ---- the customer's self-erasure ----

// manageErase asks for the erasure of the customer's data (POST from the manage page): a
// confirmation link goes to the booking's address.
func (s *server) manageErase(w http.ResponseWriter, r *http.Request) {
	v, _, token, err := s.managed(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.customers == nil {
		s.fail(w, r, errPageNotFound)
		return
	}
	switch err := s.customers.RequestErasure(r.Context(), token); {
	case errors.Is(err, gdpr.ErrSelfErasureOff):
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
	case errors.Is(err, gdpr.ErrNotFound):
		s.fail(w, r, errPageNotFound)
	case err != nil:
		s.fail(w, r, err)
	default:
		v.Title = v.T("erase.requested.title")
		v.LangBase = manageBase(token)
		v.Data = map[string]any{"ManageURL": manageBase(token)}
		s.render(w, r, http.StatusOK, "erase_requested", v)
	}
}

func (s *server) eraseFail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, gdpr.ErrSelfErasureOff):
		s.renderError(w, r, http.StatusForbidden, "error.forbidden")
	case errors.Is(err, gdpr.ErrLinkInvalid):
		s.renderError(w, r, http.StatusNotFound, "error.link_invalid")
	default:
		s.fail(w, r, err)
	}
}

// eraseConfirm shows the final question for a confirmation link (GET: mail scanners that open
// links erase nothing).
func (s *server) eraseConfirm(w http.ResponseWriter, r *http.Request) {
	if s.customers == nil {
		s.fail(w, r, errPageNotFound)
		return
	}
	token := r.PathValue("token")
	if err := s.customers.CheckErasureLink(r.Context(), token); err != nil {
		s.eraseFail(w, r, err)
		return
	}
	v, err := s.newView(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	v.Title = v.T("erase.confirm.title")
	v.Data = map[string]any{"Token": token}
	s.render(w, r, http.StatusOK, "erase_confirm", v)
}

// eraseDo erases (POST of the confirmation page).
func (s *server) eraseDo(w http.ResponseWriter, r *http.Request) {
	if s.customers == nil {
		s.fail(w, r, errPageNotFound)
		return
	}
	res, err := s.customers.ConfirmErasure(r.Context(), r.PathValue("token"))
	if err != nil {
		s.eraseFail(w, r, err)
		return
	}
	v, err := s.newView(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Title = v.T("erase.done.title")
	v.LangBase = "/"
	v.Data = map[string]any{"Bookings": len(res.BookingIDs), "Cancelled": len(res.Cancelled)}
	s.render(w, r, http.StatusOK, "erase_done", v)
}
