package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

const auditPageSize = 100

type auditPage struct {
	Form    formValues
	Records []audit.Record
	Chain   chainStatus
	// Actors names the accounts of "user:N" actors by e-mail.
	Actors    map[string]string
	OlderURL  string
	ExportURL string
}

// auditFilter reads the page's filter: actor, action, object type and id, and a date range in
// the business's time zone.
func auditFilter(q url.Values, tz *time.Location) (audit.Filter, formValues, validation.Errors) {
	var errs validation.Errors
	f := audit.Filter{
		Actor:      strings.TrimSpace(q.Get("actor")),
		Action:     strings.TrimSpace(q.Get("action")),
		ObjectType: strings.TrimSpace(q.Get("objectType")),
		ObjectID:   strings.TrimSpace(q.Get("objectId")),
		Descending: true,
	}
	fv := formValues{"actor": {f.Actor}, "action": {f.Action}, "objectType": {f.ObjectType}, "objectId": {f.ObjectID},
		"from": {q.Get("from")}, "to": {q.Get("to")}}
	if s := q.Get("from"); s != "" {
		if d, err := schedule.ParseDate(s); err != nil {
			errs.Add("from", "invalid_date", "is not a date", nil)
		} else {
			f.From, _ = dayBounds(d, tz)
		}
	}
	if s := q.Get("to"); s != "" {
		if d, err := schedule.ParseDate(s); err != nil {
			errs.Add("to", "invalid_date", "is not a date", nil)
		} else {
			_, f.To = dayBounds(d, tz)
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		errs.Add("to", "before_from", "before from", nil)
	}
	if err := (audit.Entry{Actor: cmpOr(f.Actor, "x"), Action: cmpOr(f.Action, "x"), ObjectType: f.ObjectType, ObjectID: f.ObjectID}).Validate(); err != nil {
		// A filter value no entry can have: no need to ask the database.
		errs.Add("actor", "invalid", "is invalid", nil)
	}
	if before := q.Get("before"); before != "" {
		id, err := strconv.ParseInt(before, 10, 64)
		if err == nil && id > 0 {
			f.AfterID = id
		}
	}
	return f, fv, errs
}

func (s *server) adminAudit(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "audit")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.opts.AuditDB == nil {
		s.fail(w, r, errors.New("web: no audit database"))
		return
	}
	ctx := r.Context()
	f, fv, errs := auditFilter(r.URL.Query(), v.TZ)
	p := &auditPage{Form: fv, Actors: map[string]string{}}
	status := http.StatusOK
	chain, err := s.chain.verify(ctx, s.opts.AuditDB, s.now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p.Chain = chain
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		f.Limit = auditPageSize
		if p.Records, err = audit.Query(ctx, s.opts.AuditDB, f); err != nil {
			s.fail(w, r, err)
			return
		}
		q := r.URL.Query()
		q.Del("before")
		q.Del("lang")
		p.ExportURL = "/admin/audit/export?" + q.Encode()
		if len(p.Records) == auditPageSize {
			q.Set("before", itoa(p.Records[len(p.Records)-1].ID))
			p.OlderURL = "/admin/audit?" + q.Encode()
		}
	}
	if pr := principal(r); access.Can(pr, access.UsersView) {
		if users, err := s.acc.Users(ctx, pr); err == nil {
			for _, u := range users {
				p.Actors["user:"+itoa(u.ID)] = u.Email
			}
		}
	}
	v.Title = v.T("admin.audit.title")
	v.LangBase = "/admin/audit"
	v.Errors = errs
	v.Data = p
	s.render(w, r, status, "admin_audit", v)
}

// adminAuditExport streams the filtered entries as JSON lines (all of them, oldest first).
func (s *server) adminAuditExport(w http.ResponseWriter, r *http.Request) {
	if s.opts.AuditDB == nil {
		s.fail(w, r, errors.New("web: no audit database"))
		return
	}
	v, err := s.newView(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, _, errs := auditFilter(r.URL.Query(), v.TZ)
	if len(errs) > 0 {
		s.fail(w, r, errPageBadRequest)
		return
	}
	f.Descending, f.AfterID, f.Limit = false, 0, 0
	h := w.Header()
	h.Set("Content-Type", "application/x-ndjson; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="slotbook-audit-`+s.now().UTC().Format("20060102T150405Z")+`.jsonl"`)
	h.Set("Cache-Control", "no-store")
	if err := audit.ExportJSONLines(r.Context(), s.opts.AuditDB, w, f); err != nil {
		// The status line is gone; the log says why the file is short.
		s.log.Error("audit export", "err", err)
	}
}

// DiffText is an entry's diff for the page ("" for none).
func (v *view) DiffText(d []byte) string {
	if len(d) == 0 || string(d) == "null" {
		return ""
	}
	return string(d)
}

// UTCTime formats an audit time in the business's time zone with seconds.
func (v *view) AuditTime(t time.Time) string {
	lt := t.In(v.TZ)
	return v.DateNumeric(v.DateOf(t)) + " " + lt.Format("15:04:05")
}
