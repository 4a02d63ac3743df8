// Package business holds the settings of the one business an instance serves.
package business

import "time"

// Settings of the business.
type Settings struct {
	Name     string
	TimeZone string // IANA name, e.g. Europe/Berlin
	// MinNotice is how long before its start a slot can still be booked.
	MinNotice time.Duration
	// MaxAdvance is how far ahead slots can be booked.
	MaxAdvance time.Duration
	// SlotInterval is the grid slot starts lie on, independent of service durations.
	SlotInterval time.Duration
	// ChangeDeadline is how long before its start customers may still cancel or reschedule.
	ChangeDeadline time.Duration
}

// Location loads the business's time zone.
func (s Settings) Location() (*time.Location, error) { return time.LoadLocation(s.TimeZone) }

// Privacy are the business's data-protection settings (docs/data-protection.md).
type Privacy struct {
	// RetentionMonths: the personal data of a booking is anonymised this many months after the
	// appointment ended (MinRetentionMonths–MaxRetentionMonths, default DefaultRetentionMonths).
	RetentionMonths int
	// NoticeURL is the privacy notice the booking form links to ("" for none); NoticeVersion is
	// its version (required with a URL), which every booking made with it records.
	NoticeURL     string
	NoticeVersion string
	// SelfErasure: customers may request the erasure of their data from the manage page.
	SelfErasure bool
}

// Retention limits and default, in months after the appointment's end.
const (
	MinRetentionMonths     = 1
	MaxRetentionMonths     = 120
	DefaultRetentionMonths = 24
)

// DefaultPrivacy are the settings of a new business.
var DefaultPrivacy = Privacy{RetentionMonths: DefaultRetentionMonths, SelfErasure: true}

// NoticeRequired reports whether a booking from the public must accept the privacy notice.
func (p Privacy) NoticeRequired() bool { return p.NoticeURL != "" }
