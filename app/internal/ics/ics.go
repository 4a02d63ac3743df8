// Package ics writes the iCalendar files of Slotbook (RFC 5545, with github.com/arran4/golang-ical):
// the invitation attached to a booking mail (METHOD:REQUEST for a new or moved appointment,
// METHOD:CANCEL for a cancelled one) and the staff members' calendar feeds.
//
// Every booking is one event whose UID never changes (booking-<id>@<host>); its SEQUENCE is the
// booking's sequence column, which PostgreSQL raises on every change of time, staff member or
// status, so calendar programs replace the old version. Times are written in UTC. Lines end in
// CRLF, as RFC 5545 requires (the library's default is the operating system's line ending).
package ics

import (
	"fmt"
	"strings"
	"time"

	ical "github.com/arran4/golang-ical"
)

// ProductID is the PRODID of every file.
const ProductID = "-//Slotbook//Slotbook booking//EN"

// Event is one appointment.
type Event struct {
	BookingID int64
	// Host is the app's host name (from SLOTBOOK_BASE_URL), the right side of the UID.
	Host     string
	Sequence int
	Start    time.Time
	End      time.Time
	// Stamp is DTSTAMP: when this version was made.
	Stamp       time.Time
	Summary     string
	Description string
	// URL is the manage link ("" for none).
	URL       string
	Cancelled bool
	// Organizer and Attendee are e-mail addresses ("" for none).
	Organizer     string
	OrganizerName string
	Attendee      string
	AttendeeName  string
}

// UID is the stable identifier of a booking's event.
func UID(bookingID int64, host string) string {
	return fmt.Sprintf("booking-%d@%s", bookingID, host)
}

func (e Event) add(cal *ical.Calendar) {
	ev := cal.AddEvent(UID(e.BookingID, e.Host))
	ev.SetDtStampTime(e.Stamp.UTC())
	ev.SetSequence(e.Sequence)
	ev.SetStartAt(e.Start.UTC())
	ev.SetEndAt(e.End.UTC())
	ev.SetSummary(e.Summary)
	if e.Description != "" {
		ev.SetDescription(e.Description)
	}
	if e.URL != "" {
		ev.SetURL(e.URL)
	}
	if e.Cancelled {
		ev.SetStatus(ical.ObjectStatusCancelled)
	} else {
		ev.SetStatus(ical.ObjectStatusConfirmed)
	}
	if e.Organizer != "" {
		var params []ical.PropertyParameter
		if e.OrganizerName != "" {
			params = append(params, ical.WithCN(e.OrganizerName))
		}
		ev.SetOrganizer("mailto:"+e.Organizer, params...)
	}
	if e.Attendee != "" {
		params := []ical.PropertyParameter{ical.WithRSVP(false), ical.ParticipationStatusAccepted}
		if e.AttendeeName != "" {
			params = append(params, ical.WithCN(e.AttendeeName))
		}
		ev.AddAttendee("mailto:"+e.Attendee, params...)
	}
}

// Invite is the .ics attachment of a booking mail: METHOD:CANCEL for a cancelled booking,
// METHOD:REQUEST otherwise. It returns the file and its method.
func Invite(e Event) ([]byte, string) {
	cal := ical.NewCalendarFor("Slotbook")
	cal.SetProductId(ProductID)
	method := ical.MethodRequest
	if e.Cancelled {
		method = ical.MethodCancel
	}
	cal.SetMethod(method)
	e.add(cal)
	return []byte(cal.Serialize(ical.WithNewLineWindows)), string(method)
}

// Feed is a calendar subscription (METHOD:PUBLISH) with the events, named name.
func Feed(name string, events []Event) []byte {
	cal := ical.NewCalendarFor("Slotbook")
	cal.SetProductId(ProductID)
	cal.SetMethod(ical.MethodPublish)
	cal.SetName(name)
	cal.SetXWRCalName(name)
	cal.SetRefreshInterval("PT15M")
	for _, e := range events {
		e.Organizer, e.Attendee = "", ""
		e.add(cal)
	}
	return []byte(cal.Serialize(ical.WithNewLineWindows))
}

// HostOf is the host of a base URL without port, for UIDs ("slotbook.invalid" if none).
func HostOf(baseURL string) string {
	h := baseURL
	if i := strings.Index(h, "://"); i >= 0 {
		h = h[i+3:]
	}
	h = strings.TrimRight(h, "/")
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.Trim(h, "[]")
	if h == "" {
		return "slotbook.invalid"
	}
	return h
}
