package booking

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// The catalogue (settings, services, staff, hours, time off) changes rarely but every booking
// and availability request needs it. Reading it took six of a booking's eight round trips, so
// the Service keeps it in memory and only checks, in the same round trip as the request's busy
// ranges, that the database's catalogue version (bumped by triggers on every change, migration
// 00003) is still the one it holds. When it is not, it reloads before answering, so a change
// made through this or any other replica is seen by the next request. Bookings themselves are
// never cached: the busy ranges are read on every request, and the database's exclusion
// constraint remains the guarantee against double bookings.

// catalogue is an immutable snapshot of store.Catalog, indexed for the booking paths. It is
// shared by concurrent requests: nothing in it may be modified.
type catalogue struct {
	version  int64
	set      business.Settings
	privacy  business.Privacy
	loc      *time.Location
	services map[int64]catalog.Service
	staff    map[int64]schedule.Staff
	// offering lists the active staff members offering a service, in their stable order.
	offering map[int64][]schedule.Staff
	hours    map[int64]schedule.WeeklyHours
	timeOff  map[int64][]schedule.DateRange
}

func (s *Service) newCatalogue(c store.Catalog) (*catalogue, error) {
	loc, err := s.location(c.Settings.TimeZone)
	if err != nil {
		return nil, err
	}
	out := &catalogue{
		version:  c.Version,
		set:      c.Settings,
		privacy:  c.Privacy,
		loc:      loc,
		services: make(map[int64]catalog.Service, len(c.Services)),
		staff:    make(map[int64]schedule.Staff, len(c.Staff)),
		offering: make(map[int64][]schedule.Staff, len(c.Services)),
		hours:    c.Hours,
		timeOff:  map[int64][]schedule.DateRange{},
	}
	for _, st := range c.Staff {
		out.staff[st.ID] = st
	}
	for _, svc := range c.Services {
		out.services[svc.ID] = svc
		var offering []schedule.Staff
		for _, id := range svc.StaffIDs { // already in the stable order
			if st, ok := out.staff[id]; ok && st.Active {
				offering = append(offering, st)
			}
		}
		out.offering[svc.ID] = slices.Clip(offering) // shared: an append must copy
	}
	for _, t := range c.TimeOff {
		out.timeOff[t.StaffID] = append(out.timeOff[t.StaffID], t.Range)
	}
	return out, nil
}

// catalogueCache holds the newest catalogue loaded.
type catalogueCache struct {
	current atomic.Pointer[catalogue]
	// reloading serialises reloads, so that requests noticing a change together load it once.
	reloading sync.Mutex
}

// maxCatalogueAttempts bounds how often a request reloads because the catalogue changed while
// it was being answered. Only a stream of admin changes can exhaust it; the request is then
// answered from the newest catalogue loaded (as if it had been a little faster than the
// latest change).
const maxCatalogueAttempts = 3

// snapshot returns a catalogue that the database confirms is current, together with the busy
// ranges plan asks for given that catalogue (plan may return a BusyQuery without staff: then
// only the version is read). That is one round trip when the cached catalogue is current.
// plan may run several times (once per catalogue tried) and must not keep results of an earlier
// run.
func (s *Service) snapshot(ctx context.Context, plan func(c *catalogue) store.BusyQuery) (*catalogue, map[int64][]availability.Range, error) {
	c := s.cache.current.Load()
	for attempt := 1; ; attempt++ {
		if c == nil {
			var err error
			if c, err = s.reload(ctx, 0); err != nil {
				return nil, nil, err
			}
		}
		var q store.BusyQuery
		if plan != nil {
			q = plan(c)
		}
		version, busy, err := s.st.CatalogVersionAndBusy(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		// The version never goes back; a smaller one only means the busy ranges were read just
		// before a reload by another request committed its newer view, which is fine.
		if version <= c.version || attempt == maxCatalogueAttempts {
			return c, busy, nil
		}
		if c, err = s.reload(ctx, version); err != nil {
			return nil, nil, err
		}
	}
}

// reload loads the catalogue unless one of at least version minVersion has been loaded
// meanwhile (by a request that noticed the change at the same time), and returns the newest.
func (s *Service) reload(ctx context.Context, minVersion int64) (*catalogue, error) {
	s.cache.reloading.Lock()
	defer s.cache.reloading.Unlock()
	if c := s.cache.current.Load(); c != nil && c.version >= minVersion {
		return c, nil
	}
	loaded, err := s.st.LoadCatalog(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.newCatalogue(loaded)
	if err != nil {
		return nil, err
	}
	// Keep the newer of the two: a slow load may finish after a faster, newer one.
	if old := s.cache.current.Load(); old == nil || old.version <= c.version {
		s.cache.current.Store(c)
	}
	return c, nil
}

// env is what most operations need: the catalogue (with the settings and their time zone) and
// the current time.
type env struct {
	cat *catalogue
	set business.Settings
	loc *time.Location
	now time.Time
}

func (s *Service) envOf(c *catalogue) env {
	return env{cat: c, set: c.set, loc: c.loc, now: s.now()}
}

// env returns the current catalogue (one round trip to check its version).
func (s *Service) env(ctx context.Context) (env, error) {
	c, _, err := s.snapshot(ctx, nil)
	if err != nil {
		return env{}, fmt.Errorf("load settings: %w", err)
	}
	return s.envOf(c), nil
}

// serviceAndStaff looks up an active service and the active staff offering it, in their stable
// order; with staffID only that person. Problems are added to errs (serviceId, staffId): for a
// bad service it returns the zero Service, for a bad staff member the service and no staff.
func (c *catalogue) serviceAndStaff(serviceID int64, staffID *int64, errs *validation.Errors) (catalog.Service, []schedule.Staff) {
	if serviceID <= 0 {
		errs.Add("serviceId", "required", "Choose a service.", nil)
		return catalog.Service{}, nil
	}
	svc, ok := c.services[serviceID]
	if !ok || !svc.Active {
		errs.Add("serviceId", "unknown", "This service does not exist or is not offered.", nil)
		return catalog.Service{}, nil
	}
	staff := c.offering[serviceID]
	if staffID == nil {
		return svc, staff
	}
	for _, st := range staff {
		if st.ID == *staffID {
			return svc, []schedule.Staff{st}
		}
	}
	if st, ok := c.staff[*staffID]; !ok || !st.Active {
		errs.Add("staffId", "unknown", "This staff member does not exist.", nil)
	} else {
		errs.Add("staffId", "not_offered", "This staff member does not offer this service.", nil)
	}
	return svc, nil
}

// timeOffIn is the time off of a staff member overlapping the local dates from..to.
func (c *catalogue) timeOffIn(staffID int64, from, to schedule.Date) []schedule.DateRange {
	var out []schedule.DateRange
	for _, r := range c.timeOff[staffID] {
		if !r.Last.Before(from) && !to.Before(r.First) {
			out = append(out, r)
		}
	}
	return out
}
