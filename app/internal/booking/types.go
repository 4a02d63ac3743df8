// Package booking makes, cancels and moves bookings. The database guarantees that no staff
// member is ever booked twice (an exclusion constraint); this package turns a lost race into a
// clear conflict with alternatives.
package booking

import "time"

// Status of a booking.
type Status string

const (
	StatusConfirmed Status = "confirmed"
	StatusCancelled Status = "cancelled"
)

// Customer is the person who booked.
type Customer struct {
	Name   string
	Email  string
	Phone  string
	Locale string // "de" or "en": the language of their messages
}

// Booking is one appointment.
type Booking struct {
	ID        int64
	ServiceID int64
	StaffID   int64
	Start     time.Time
	End       time.Time
	// BlockedStart and BlockedEnd include the service's buffers: the range no other booking of
	// the staff member may overlap.
	BlockedStart time.Time
	BlockedEnd   time.Time
	Customer     Customer
	Status       Status
	CreatedAt    time.Time
	CancelledAt  *time.Time
}
