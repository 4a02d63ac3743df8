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
