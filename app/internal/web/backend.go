package web

import (
	"context"
	"errors"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// Backend is everything the pages need: the public booking flow and the admin pages. The
// catalogue, staff, hours and settings methods are those of *store.Store; the booking methods
// those of *booking.Service (see the adapter below).
type Backend interface {
	// Settings of the business.
	Settings(ctx context.Context) (business.Settings, error)
	UpdateSettings(ctx context.Context, s business.Settings) error
	// Privacy are the data-protection settings (retention, privacy notice, self-erasure).
	Privacy(ctx context.Context) (business.Privacy, error)
	UpdatePrivacy(ctx context.Context, p business.Privacy) error

	// ListServices returns the services in display order, only active ones if activeOnly.
	ListServices(ctx context.Context, activeOnly bool) ([]catalog.Service, error)
	GetService(ctx context.Context, id int64) (catalog.Service, error)
	CreateService(ctx context.Context, svc catalog.Service) (int64, error)
	UpdateService(ctx context.Context, svc catalog.Service) error
	DeleteService(ctx context.Context, id int64) error

	// ListStaff returns the staff in their stable order, only active ones if activeOnly.
	ListStaff(ctx context.Context, activeOnly bool) ([]schedule.Staff, error)
	GetStaff(ctx context.Context, id int64) (schedule.Staff, error)
	CreateStaff(ctx context.Context, st schedule.Staff) (int64, error)
	UpdateStaff(ctx context.Context, st schedule.Staff) error
	DeleteStaff(ctx context.Context, id int64) error

	WorkingHours(ctx context.Context, staffID int64) (schedule.WeeklyHours, error)
	SetWorkingHours(ctx context.Context, staffID int64, h schedule.WeeklyHours) error

	// ListTimeOff returns the time off of the staff members (nil: all) overlapping [from, to]
	// (a zero Date leaves that end open).
	ListTimeOff(ctx context.Context, staffIDs []int64, from, to schedule.Date) ([]schedule.TimeOff, error)
	AddTimeOff(ctx context.Context, t schedule.TimeOff) (int64, error)
	DeleteTimeOff(ctx context.Context, id int64) error

	// ListBookings returns the bookings starting in [from, to) of one staff member or (nil)
	// everyone, cancelled ones included, by start.
	ListBookings(ctx context.Context, from, to time.Time, staffID *int64) ([]booking.Booking, error)
	// SearchBookings finds up to limit bookings by customer name, email or phone.
	SearchBookings(ctx context.Context, query string, limit int) ([]booking.Booking, error)
	GetBooking(ctx context.Context, id int64) (booking.Booking, error)

	// Public flow.
	Availability(ctx context.Context, serviceID int64, staffID *int64, from, to schedule.Date) ([]availability.Slot, error)
	Book(ctx context.Context, req booking.Request) (*booking.Confirmation, error)
	Manage(ctx context.Context, token string) (*booking.ManagedBooking, error)
	Cancel(ctx context.Context, token string) error
	Reschedule(ctx context.Context, token string, newStart time.Time, staffID *int64) (*booking.Booking, error)

	// Admin changes to bookings.
	AdminCreate(ctx context.Context, req booking.Request) (*booking.Confirmation, error)
	AdminCancel(ctx context.Context, id int64) error
	AdminMove(ctx context.Context, id int64, newStart time.Time, staffID *int64) (*booking.Booking, error)
}

// NewBackend is the Backend of the real app: the store for settings, services, staff, hours and
// time off, the booking service for everything about bookings.
func NewBackend(st *store.Store, bs *booking.Service) Backend { return backend{st, bs} }

// backend combines the two; the booking methods both have are taken from the booking service
// (it returns the domain type booking.Booking).
type backend struct {
	*store.Store
	*booking.Service
}

var _ Backend = backend{}

func (b backend) GetBooking(ctx context.Context, id int64) (booking.Booking, error) {
	return b.Service.GetBooking(ctx, id)
}

func (b backend) ListBookings(ctx context.Context, from, to time.Time, staffID *int64) ([]booking.Booking, error) {
	return b.Service.ListBookings(ctx, from, to, staffID)
}

func (b backend) SearchBookings(ctx context.Context, query string, limit int) ([]booking.Booking, error) {
	return b.Service.SearchBookings(ctx, query, limit)
}

func isNotFound(err error) bool {
	return errors.Is(err, booking.ErrNotFound) || errors.Is(err, store.ErrNotFound)
}

func isDeadlinePassed(err error) bool { return errors.Is(err, booking.ErrDeadlinePassed) }

func isCancelled(err error) bool {
	return errors.Is(err, booking.ErrCancelled) || errors.Is(err, store.ErrNotConfirmed)
}

func isInUse(err error) bool { return errors.Is(err, store.ErrInUse) }

func asConflict(err error) (*booking.ConflictError, bool) {
	var c *booking.ConflictError
	ok := errors.As(err, &c)
	return c, ok
}
