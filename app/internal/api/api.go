// Package api is Slotbook's public JSON API (see docs/api.md): services, staff, availability,
// booking, and managing a booking with its manage token. It is a thin layer over
// booking.Service: every rule is enforced there, this package only translates HTTP and JSON.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// Prefix is the path every API route starts with.
const Prefix = "/api/v1/"

// MaxBodyBytes is the largest request body accepted (413 beyond).
const MaxBodyBytes = 16 << 10

type api struct {
	svc *booking.Service
	st  *store.Store
	log *slog.Logger
}

// New returns a handler serving the API under /api/v1/ (other paths: 404).
func New(svc *booking.Service, st *store.Store) http.Handler {
	mux := http.NewServeMux()
	Register(mux, svc, st)
	return mux
}

// Register adds the API's routes (all under /api/v1/) to mux, e.g. the app's main mux, so that
// route patterns show in request metrics. Internal errors are logged with slog.Default().
func Register(mux *http.ServeMux, svc *booking.Service, st *store.Store) {
	a := &api{svc: svc, st: st, log: slog.Default()}
	routes := []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{http.MethodGet, "/api/v1/services", a.services},
		{http.MethodGet, "/api/v1/staff", a.staff},
		{http.MethodGet, "/api/v1/availability", a.availability},
		{http.MethodGet, "/api/v1/privacy", a.privacy},
		{http.MethodPost, "/api/v1/bookings", a.book},
		{http.MethodGet, "/api/v1/manage/{token}", a.manage},
		{http.MethodPost, "/api/v1/manage/{token}/cancel", a.cancel},
		{http.MethodPost, "/api/v1/manage/{token}/reschedule", a.reschedule},
	}
	for _, r := range routes {
		mux.Handle(r.method+" "+r.path, headers(r.h))
		// Any other method on a known path: 405 in JSON (GET patterns also answer HEAD).
		allow := r.method
		if r.method == http.MethodGet {
			allow += ", HEAD"
		}
		mux.Handle(r.path, headers(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "This method is not allowed here.")
		}))
	}
	mux.Handle(Prefix, headers(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "There is no such API endpoint.")
	}))
}

// headers sets what every API response carries: answers may contain personal data and manage
// tokens, so nothing is cached.
func headers(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h(w, r)
	})
}

// ---- JSON shapes ----

type slotJSON struct {
	Start    string  `json:"start"`
	End      string  `json:"end"`
	StaffIDs []int64 `json:"staffIds"`
}

type staffJSON struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type serviceJSON struct {
	ID              int64       `json:"id"`
	Name            string      `json:"name"`
	Description     string      `json:"description"`
	DurationMinutes int         `json:"durationMinutes"`
	Staff           []staffJSON `json:"staff"`
}

type errorJSON struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	Code         string                  `json:"code"`
	Message      string                  `json:"message"`
	Fields       []validation.FieldError `json:"fields,omitempty"`
	Alternatives []slotJSON              `json:"alternatives,omitempty"`
}

// timeJSON formats t in loc; with loc nil, in t's own location (the booking service returns
// times in the business's time zone).
func timeJSON(t time.Time, loc *time.Location) string {
	if loc != nil {
		t = t.In(loc)
	}
	return t.Format(time.RFC3339)
}

func slotsJSON(slots []availability.Slot, loc *time.Location) []slotJSON {
	out := make([]slotJSON, len(slots))
	for i, s := range slots {
		ids := s.StaffIDs
		if ids == nil {
			ids = []int64{}
		}
		out[i] = slotJSON{Start: timeJSON(s.Start, loc), End: timeJSON(s.End, loc), StaffIDs: ids}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorJSON{Error: errorBody{Code: code, Message: message}})
}

func writeInvalid(w http.ResponseWriter, errs validation.Errors) {
	writeJSON(w, http.StatusUnprocessableEntity, errorJSON{Error: errorBody{
		Code:    "invalid",
		Message: "Some of the input is invalid: " + fieldList(errs) + ".",
		Fields:  errs,
	}})
}

func fieldList(errs validation.Errors) string {
	var parts []string
	for _, e := range errs {
		parts = append(parts, e.Field+": "+e.Message)
	}
	return strings.Join(parts, "; ")
}

// fail answers an error from the booking service. Conflicts show their alternatives in loc, or
// (nil) in the business's time zone, which the booking service returns them in.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error, loc *time.Location) {
	var verrs validation.Errors
	var conflict *booking.ConflictError
	switch {
	case errors.As(err, &verrs):
		writeInvalid(w, verrs)
	case errors.As(err, &conflict):
		writeJSON(w, http.StatusConflict, errorJSON{Error: errorBody{
			Code:         "conflict",
			Message:      "Sorry, this time is no longer available: someone else has just booked it. Please choose another time; alternatives lists free times nearby.",
			Alternatives: slotsJSON(conflict.Alternatives, loc),
		}})
	case errors.Is(err, booking.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "There is no booking for this link. Please check that you copied it completely.")
	case errors.Is(err, booking.ErrDeadlinePassed):
		writeError(w, http.StatusConflict, "deadline_passed", "This booking can no longer be changed online because its change deadline has passed. Please contact the business.")
	case errors.Is(err, booking.ErrCancelled):
		writeError(w, http.StatusConflict, "cancelled", "This booking has been cancelled, so it cannot be changed.")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		w.WriteHeader(499)
	case store.Unavailable(err):
		// E.g. a database failover (about 30 s): trying again in a few seconds works.
		a.log.WarnContext(r.Context(), "api: database unavailable", "method", r.Method, "route", r.Pattern, "err", err)
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "The booking system is briefly unavailable. Please try again in a few seconds.")
	default:
		a.log.ErrorContext(r.Context(), "api: internal error", "method", r.Method, "route", r.Pattern, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "Something went wrong on our side. Please try again in a moment.")
	}
}

// renameFields maps the service's field names to query parameter names.
func renameFields(err error, names map[string]string) error {
	var verrs validation.Errors
	if !errors.As(err, &verrs) {
		return err
	}
	out := make(validation.Errors, len(verrs))
	for i, e := range verrs {
		if n, ok := names[e.Field]; ok {
			e.Field = n
		}
		out[i] = e
	}
	return out
}

// ---- catalogue ----

func (a *api) services(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	svcs, err := a.st.ListServices(ctx, true)
	if err != nil {
		a.fail(w, r, err, nil)
		return
	}
	staff, err := a.st.ListStaff(ctx, true)
	if err != nil {
		a.fail(w, r, err, nil)
		return
	}
	names := map[int64]string{}
	for _, s := range staff {
		names[s.ID] = s.Name
	}
	out := make([]serviceJSON, 0, len(svcs))
	for _, s := range svcs {
		sj := serviceJSON{ID: s.ID, Name: s.Name, Description: s.Description, DurationMinutes: int(s.Duration / time.Minute), Staff: []staffJSON{}}
		for _, id := range s.StaffIDs { // in the stable order
			if name, ok := names[id]; ok {
				sj.Staff = append(sj.Staff, staffJSON{ID: id, Name: name})
			}
		}
		out = append(out, sj)
	}
	writeJSON(w, http.StatusOK, map[string]any{"services": out})
}

func (a *api) staff(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var errs validation.Errors
	q := r.URL.Query()
	serviceID := queryID(&errs, q.Get("service"), "service", false)
	if len(errs) > 0 {
		writeInvalid(w, errs)
		return
	}
	var list []schedule.Staff
	var err error
	if serviceID == nil {
		list, err = a.st.ListStaff(ctx, true)
	} else {
		svc, gerr := a.st.GetService(ctx, *serviceID)
		if errors.Is(gerr, store.ErrNotFound) || (gerr == nil && !svc.Active) {
			errs.Add("service", "unknown", "This service does not exist or is not offered.", nil)
			writeInvalid(w, errs)
			return
		}
		if gerr != nil {
			a.fail(w, r, gerr, nil)
			return
		}
		list, err = a.st.StaffForService(ctx, *serviceID, true)
	}
	if err != nil {
		a.fail(w, r, err, nil)
		return
	}
	out := make([]staffJSON, len(list))
	for i, s := range list {
		out[i] = staffJSON{ID: s.ID, Name: s.Name}
	}
	writeJSON(w, http.StatusOK, map[string]any{"staff": out})
}

// queryID parses an id query parameter.
func queryID(errs *validation.Errors, v, field string, required bool) *int64 {
	if v == "" {
		if required {
			errs.Add(field, "required", "This parameter is required.", nil)
		}
		return nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		errs.Add(field, "invalid", "Must be a positive integer id.", nil)
		return nil
	}
	return &id
}

func queryDate(errs *validation.Errors, v, field string) schedule.Date {
	if v == "" {
		errs.Add(field, "required", "This parameter is required (YYYY-MM-DD).", nil)
		return schedule.Date{}
	}
	d, err := schedule.ParseDate(v)
	if err != nil {
		errs.Add(field, "invalid", "Must be a date (YYYY-MM-DD).", nil)
	}
	return d
}

// ---- availability ----

func (a *api) availability(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var errs validation.Errors
	q := r.URL.Query()
	serviceID := queryID(&errs, q.Get("service"), "service", true)
	staffID := queryID(&errs, q.Get("staff"), "staff", false)
	from := queryDate(&errs, q.Get("from"), "from")
	to := queryDate(&errs, q.Get("to"), "to")
	if len(errs) > 0 {
		writeInvalid(w, errs)
		return
	}
	slots, loc, err := a.svc.AvailabilityIn(ctx, *serviceID, staffID, from, to)
	if err != nil {
		a.fail(w, r, renameFields(err, map[string]string{"serviceId": "service", "staffId": "staff"}), loc)
		return
	}
	writeAvailability(w, slots, loc)
}

// ---- booking ----

type customerJSON struct {
	Name   string `json:"name"`
	Email  string `json:"email"`
	Phone  string `json:"phone,omitempty"`
	Locale string `json:"locale,omitempty"`
}

type bookRequest struct {
	ServiceID int64        `json:"serviceId"`
	StaffID   *int64       `json:"staffId"`
	Start     string       `json:"start"`
	Customer  customerJSON `json:"customer"`
	// PrivacyNoticeVersion: the version of the privacy notice (GET /api/v1/privacy) the customer
	// accepted; required when the business configured one.
	PrivacyNoticeVersion string `json:"privacyNoticeVersion,omitempty"`
}

type bookResponse struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	Start       string `json:"start"`
	End         string `json:"end"`
	ServiceID   int64  `json:"serviceId"`
	StaffID     int64  `json:"staffId"`
	ManageURL   string `json:"manageUrl"`
	ManageToken string `json:"manageToken"`
}

// decode reads a JSON body strictly: at most MaxBodyBytes, no unknown fields, one object. It
// answers and returns false on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the request body as application/json.")
			return false
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("extra data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("The request body is larger than %d bytes.", MaxBodyBytes))
	case errors.As(err, &typeErr) && typeErr.Field != "":
		var errs validation.Errors
		errs.Add(typeErr.Field, "invalid_type", fmt.Sprintf("Must be a JSON %s.", jsonType(typeErr.Type.String())), nil)
		writeInvalid(w, errs)
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "bad_request", "The request body is empty; send a JSON object.")
	default:
		writeError(w, http.StatusBadRequest, "bad_request", "The request body is not valid: "+strings.TrimPrefix(err.Error(), "json: ")+".")
	}
	return false
}

func jsonType(goType string) string {
	switch {
	case strings.Contains(goType, "int"):
		return "integer"
	case goType == "string":
		return "string"
	default:
		return "object"
	}
}

// parseStart parses an RFC 3339 time with an offset.
func parseStart(errs *validation.Errors, field, v string) time.Time {
	if v == "" {
		return time.Time{} // the service reports "required"
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		errs.Add(field, "invalid", "Must be a time in RFC 3339 format with an offset, e.g. 2030-05-07T10:00:00+02:00.", nil)
	}
	return t
}

func (a *api) book(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req bookRequest
	if !decode(w, r, &req) {
		return
	}
	var errs validation.Errors
	start := parseStart(&errs, "start", req.Start)
	if len(errs) > 0 {
		writeInvalid(w, errs)
		return
	}
	// The service returns times (the booking's, a conflict's alternatives) in the business's
	// time zone, so there is no need to read the settings for it here.
	conf, err := a.svc.Book(ctx, booking.Request{
		ServiceID: req.ServiceID,
		StaffID:   req.StaffID,
		Start:     start,
		Customer: booking.Customer{
			Name:   req.Customer.Name,
			Email:  req.Customer.Email,
			Phone:  req.Customer.Phone,
			Locale: req.Customer.Locale,
		},
		PrivacyNoticeVersion: req.PrivacyNoticeVersion,
	})
	if err != nil {
		a.fail(w, r, err, nil)
		return
	}
	b := conf.Booking
	loc := b.Start.Location()
	writeJSON(w, http.StatusCreated, bookResponse{
		ID: b.ID, Status: string(b.Status), Start: timeJSON(b.Start, loc), End: timeJSON(b.End, loc),
		ServiceID: b.ServiceID, StaffID: b.StaffID, ManageURL: conf.ManageURL, ManageToken: conf.ManageToken,
	})
}

// ---- managing a booking ----

type managedJSON struct {
	ID             int64        `json:"id"`
	Status         string       `json:"status"`
	Start          string       `json:"start"`
	End            string       `json:"end"`
	Service        serviceRef   `json:"service"`
	Staff          staffJSON    `json:"staff"`
	Customer       customerJSON `json:"customer"`
	CanChange      bool         `json:"canChange"`
	ChangeDeadline string       `json:"changeDeadline"`
	CancelledAt    *string      `json:"cancelledAt"`
}

type serviceRef struct {
	ID              int64  `json:"id"`
	Name            string `json:"name"`
	DurationMinutes int    `json:"durationMinutes"`
}

func (a *api) writeManaged(w http.ResponseWriter, r *http.Request, token string) {
	m, err := a.svc.Manage(r.Context(), token)
	if err != nil {
		a.fail(w, r, err, nil)
		return
	}
	loc := m.Booking.Start.Location()
	b := m.Booking
	out := managedJSON{
		ID: b.ID, Status: string(b.Status), Start: timeJSON(b.Start, loc), End: timeJSON(b.End, loc),
		Service:   serviceRef{ID: m.Service.ID, Name: m.Service.Name, DurationMinutes: int(m.Service.Duration / time.Minute)},
		Staff:     staffJSON{ID: m.Staff.ID, Name: m.Staff.Name},
		Customer:  customerJSON{Name: b.Customer.Name, Email: b.Customer.Email, Phone: b.Customer.Phone, Locale: b.Customer.Locale},
		CanChange: m.CanChange, ChangeDeadline: timeJSON(m.Deadline, loc),
	}
	if b.CancelledAt != nil {
		s := timeJSON(*b.CancelledAt, loc)
		out.CancelledAt = &s
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) manage(w http.ResponseWriter, r *http.Request) {
	a.writeManaged(w, r, r.PathValue("token"))
}

func (a *api) cancel(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if err := a.svc.Cancel(r.Context(), token); err != nil {
		a.fail(w, r, err, nil)
		return
	}
	a.writeManaged(w, r, token)
}

type rescheduleRequest struct {
	Start   string `json:"start"`
	StaffID *int64 `json:"staffId"`
}

func (a *api) reschedule(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PathValue("token")
	var req rescheduleRequest
	if !decode(w, r, &req) {
		return
	}
	var errs validation.Errors
	start := parseStart(&errs, "start", req.Start)
	if len(errs) > 0 {
		writeInvalid(w, errs)
		return
	}
	if _, err := a.svc.Reschedule(ctx, token, start, req.StaffID); err != nil {
		a.fail(w, r, err, nil) // alternatives come in the business's time zone
		return
	}
	a.writeManaged(w, r, token)
}

// ---- privacy notice ----

type privacyJSON struct {
	// Required: bookings must carry privacyNoticeVersion = Version.
	Required bool   `json:"required"`
	URL      string `json:"url"`
	Version  string `json:"version"`
}

// privacy answers the privacy notice a booking must accept (if any).
func (a *api) privacy(w http.ResponseWriter, r *http.Request) {
	p, err := a.st.Privacy(r.Context())
	if err != nil {
		a.fail(w, r, err, nil)
		return
	}
	writeJSON(w, http.StatusOK, privacyJSON{Required: p.NoticeRequired(), URL: p.NoticeURL, Version: p.NoticeVersion})
}
