package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/ics"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// The window of a staff member's calendar feed around now.
const (
	feedPast   = 30 * 24 * time.Hour
	feedFuture = 180 * 24 * time.Hour
)

// feedState is the calendar feed section of a staff member's admin page (nil: the user may not
// manage the feed).
type feedState struct {
	// Created is when the live token was made (nil: none).
	Created *time.Time
	// URL is a token just made: shown once, never again.
	URL string
}

func (s *server) feedState(r *http.Request, staffID int64) (*feedState, error) {
	p, ok := access.PrincipalFrom(r.Context())
	if s.mail == nil || !ok || staffID == 0 || !access.CanOnStaff(p, access.FeedManage, staffID) {
		return nil, nil
	}
	created, err := s.mail.StaffFeed(r.Context(), staffID)
	return &feedState{Created: created}, err
}

// feedURL is the public address of a feed token.
func (s *server) feedURL(r *http.Request, token string) string {
	return s.absoluteURL(r, "/calendar/"+url.PathEscape(token)+".ics")
}

// feedStaff loads the staff member of a feed route; one outside the principal's scope is
// answered like a missing one (404).
func (s *server) feedStaff(w http.ResponseWriter, r *http.Request) (schedule.Staff, bool) {
	id, err := pathID(r, "id")
	p, _ := access.PrincipalFrom(r.Context())
	if err == nil && (s.mail == nil || !access.CanOnStaff(p, access.FeedManage, id)) {
		err = errPageNotFound
	}
	var st schedule.Staff
	if err == nil {
		st, err = s.b.GetStaff(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return st, false
	}
	return st, true
}

// adminFeedCreate makes a new feed token for the staff member (replacing a live one) and shows
// its URL once.
func (s *server) adminFeedCreate(w http.ResponseWriter, r *http.Request) {
	v, err := s.adminView(w, r, "staff")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, ok := s.feedStaff(w, r)
	if !ok {
		return
	}
	token, err := s.mail.CreateStaffFeed(r.Context(), st.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Notice = v.T("admin.feed.created")
	s.renderStaffPage(w, r, v, http.StatusOK, st.ID, staffValues(st), s.feedURL(r, token))
}

// adminFeedRevoke deletes the staff member's feed token: its URL answers 404 from then on.
func (s *server) adminFeedRevoke(w http.ResponseWriter, r *http.Request) {
	st, ok := s.feedStaff(w, r)
	if !ok {
		return
	}
	if _, err := s.mail.RevokeStaffFeed(r.Context(), st.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	redirect(w, r, "/admin/staff/"+itoa(st.ID)+"?done=feed_revoked")
}

// calendarFeed is GET /calendar/{token}.ics: the confirmed appointments of the token's staff
// member from 30 days ago to 180 days ahead, as an iCalendar subscription. Each event carries
// the service and the customer's first name only (see docs/api.md). Unknown or revoked tokens:
// 404.
func (s *server) calendarFeed(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".ics")
	if !ok || s.mail == nil {
		s.notFound(w, r)
		return
	}
	ctx := r.Context()
	staffID, err := s.mail.StaffFeedByToken(ctx, token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.b.GetStaff(ctx, staffID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	biz, err := s.b.Settings(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.now()
	list, err := s.mail.StaffFeedEvents(ctx, staffID, now.Add(-feedPast), now.Add(feedFuture))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	host := ics.HostOf(s.opts.BaseURL)
	events := make([]ics.Event, 0, len(list))
	for _, e := range list {
		events = append(events, ics.Event{BookingID: e.BookingID, Host: host, Sequence: e.Sequence,
			Start: e.Start, End: e.End, Stamp: now, Summary: feedSummary(e)})
	}
	body := ics.Feed(biz.Name+" – "+st.Name, events)
	h := w.Header()
	h.Set("Content-Type", "text/calendar; charset=utf-8")
	h.Set("Content-Disposition", `inline; filename="calendar.ics"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex")
	_, _ = w.Write(body)
}

// feedSummary is an event's title: the service and the customer's first name, nothing else.
func feedSummary(e store.FeedEvent) string {
	first := ""
	if f := strings.Fields(e.Customer); len(f) > 0 {
		first = f[0]
	}
	switch {
	case first == "":
		return e.Service
	case e.Service == "":
		return first
	}
	return e.Service + " · " + first
}

// Active reports whether the staff member has a live feed token.
func (f *feedState) Active() bool { return f.Created != nil || f.URL != "" }

// Since is when the live token was made.
func (f *feedState) Since() time.Time {
	if f.Created == nil {
		return time.Time{}
	}
	return *f.Created
}
