package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

// auditLog follows the audit entries written since the last call.
type auditLog struct {
	t      *testing.T
	st     *store.Store
	lastID int64
}

func (l *auditLog) since() []audit.Record {
	l.t.Helper()
	recs, err := audit.Query(l.t.Context(), l.st.Pool(), audit.Filter{AfterID: l.lastID, Limit: audit.MaxLimit})
	if err != nil {
		l.t.Fatal(err)
	}
	if len(recs) > 0 {
		l.lastID = recs[len(recs)-1].ID
	}
	return recs
}

// want checks that exactly one entry was written since the last call, with that action, object,
// actor and diff (as stored, jsonb's rendering).
func (l *auditLog) want(action, objectType, objectID, actor, diff string) {
	l.t.Helper()
	recs := l.since()
	if len(recs) != 1 {
		l.t.Fatalf("%s: %d audit entries, want 1: %+v", action, len(recs), recs)
	}
	r := recs[0]
	if r.Action != action || r.ObjectType != objectType || r.ObjectID != objectID || r.Actor != actor || string(r.Diff) != diff {
		l.t.Fatalf("audit entry:\n got %s %s/%s by %s: %s\nwant %s %s/%s by %s: %s",
			r.Action, r.ObjectType, r.ObjectID, r.Actor, r.Diff, action, objectType, objectID, actor, diff)
	}
	for _, personal := range []string{"Kim", "kim@example.com", "1234567", "Anna", "anna@example.com", "flu"} {
		if strings.Contains(string(r.Diff), personal) {
			l.t.Fatalf("%s: personal data %q in the diff %s", action, personal, r.Diff)
		}
	}
}

func (l *auditLog) none(what string) {
	l.t.Helper()
	if recs := l.since(); len(recs) != 0 {
		l.t.Fatalf("%s: %d audit entries, want none: %+v", what, len(recs), recs)
	}
}

func id(n int64) string { return fmt.Sprint(n) }

// TestAuditEveryWrite: every write of business data appends exactly one entry with its action,
// object, actor and a minimal diff without personal data; a failing write appends none.
func TestAuditEveryWrite(t *testing.T) {
	st := newStore(t)
	log := &auditLog{t: t, st: st}
	ctx := audit.WithRequestID(t.Context(), "req-42")
	admin := audit.WithActor(ctx, "user:7")

	// Settings.
	set := business.Settings{Name: "Salon", TimeZone: "Europe/Berlin", MinNotice: 90 * time.Minute,
		MaxAdvance: 30 * 24 * time.Hour, SlotInterval: 15 * time.Minute, ChangeDeadline: 24 * time.Hour}
	if err := st.UpdateSettings(admin, set); err != nil {
		t.Fatal(err)
	}
	log.want("settings.update", "settings", "", "user:7",
		`{"name": {"to": "Salon", "from": "My business"}, "time_zone": {"to": "Europe/Berlin", "from": "UTC"}, "max_advance_days": {"to": 30, "from": 60}, "min_notice_minutes": {"to": 90, "from": 120}}`)
	if err := st.UpdateSettings(admin, business.Settings{}); err == nil {
		t.Fatal("invalid settings saved")
	}
	log.none("invalid settings")

	// Staff: names and e-mail addresses are personal data.
	a := must[int64](t)(st.CreateStaff(admin, schedule.Staff{Name: "Anna", Email: "anna@example.com", Active: true}))
	log.want("staff.create", "staff", id(a), "user:7", `{"name": "set", "email": "set", "active": true, "sort_order": 0}`)
	b := must[int64](t)(st.CreateStaff(ctx, schedule.Staff{Name: "Ben", Active: true, SortOrder: 2}))
	log.want("staff.create", "staff", id(b), "system", `{"name": "set", "active": true, "sort_order": 2}`)
	if err := st.UpdateStaff(admin, schedule.Staff{ID: a, Name: "Anna B.", Email: "anna@example.com", Active: true, SortOrder: 1}); err != nil {
		t.Fatal(err)
	}
	log.want("staff.update", "staff", id(a), "user:7", `{"name": "changed", "sort_order": {"to": 1, "from": 0}}`)
	if err := st.UpdateStaff(admin, schedule.Staff{ID: 9999, Name: "X"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown staff: %v", err)
	}
	if _, err := st.CreateStaff(admin, schedule.Staff{Name: "Anna", Email: "not an address"}); err == nil {
		t.Fatal("invalid staff saved")
	}
	log.none("failed staff writes")

	// Services, with their staff.
	svcIn := catalog.Service{Name: "Cut", Duration: 30 * time.Minute, BufferAfter: 5 * time.Minute, Active: true, StaffIDs: []int64{b, a}}
	svc := must[int64](t)(st.CreateService(admin, svcIn))
	log.want("service.create", "service", id(svc), "user:7", fmt.Sprintf(
		`{"name": "Cut", "active": true, "staff_ids": [%d, %d], "sort_order": 0, "description": "", "duration_minutes": 30, "buffer_after_minutes": 5, "buffer_before_minutes": 0}`, a, b))
	svcIn.ID, svcIn.Duration, svcIn.StaffIDs = svc, 45*time.Minute, []int64{a}
	if err := st.UpdateService(admin, svcIn); err != nil {
		t.Fatal(err)
	}
	log.want("service.update", "service", id(svc), "user:7", fmt.Sprintf(
		`{"staff_ids": {"to": [%d], "from": [%d, %d]}, "duration_minutes": {"to": 45, "from": 30}}`, a, a, b))
	bad := svcIn
	bad.StaffIDs = []int64{a, 9999}
	if err := st.UpdateService(admin, bad); err == nil {
		t.Fatal("unknown staff assigned")
	}
	if _, err := st.CreateService(admin, catalog.Service{Name: "", Duration: time.Minute}); err == nil {
		t.Fatal("invalid service saved")
	}
	log.none("failed service writes")
	spare := must[int64](t)(st.CreateService(ctx, catalog.Service{Name: "Spare", Duration: time.Hour}))
	log.since()
	if err := st.DeleteService(admin, spare); err != nil {
		t.Fatal(err)
	}
	log.want("service.delete", "service", id(spare), "user:7", `{"name": "Spare"}`)

	// Working hours: only the days that changed.
	hours := schedule.WeeklyHours{time.Monday: {{Start: 9 * 60, End: 12 * 60}, {Start: 13 * 60, End: 17 * 60}}}
	if err := st.SetWorkingHours(admin, a, hours); err != nil {
		t.Fatal(err)
	}
	log.want("hours.update", "staff", id(a), "user:7", `{"monday": {"to": ["09:00-12:00", "13:00-17:00"], "from": []}}`)
	hours[time.Tuesday] = []schedule.Interval{{Start: 10 * 60, End: 11 * 60}}
	if err := st.SetWorkingHours(admin, a, hours); err != nil {
		t.Fatal(err)
	}
	log.want("hours.update", "staff", id(a), "user:7", `{"tuesday": {"to": ["10:00-11:00"], "from": []}}`)
	if err := st.SetWorkingHours(admin, a, schedule.WeeklyHours{time.Monday: {{Start: 10, End: 5}}}); err == nil {
		t.Fatal("invalid hours saved")
	}
	if err := st.SetWorkingHours(admin, 9999, hours); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("hours of unknown staff: %v", err)
	}
	log.none("failed hours writes")

	// Time off: the reason is free text about a person.
	off := must[int64](t)(st.AddTimeOff(admin, schedule.TimeOff{StaffID: a, Reason: "flu",
		Range: schedule.DateRange{First: schedule.Date{Year: 2030, Month: 5, Day: 1}, Last: schedule.Date{Year: 2030, Month: 5, Day: 3}}}))
	log.want("timeoff.create", "time_off", id(off), "user:7",
		fmt.Sprintf(`{"reason": "set", "last_day": "2030-05-03", "staff_id": %d, "first_day": "2030-05-01"}`, a))
	if _, err := st.AddTimeOff(admin, schedule.TimeOff{StaffID: 9999,
		Range: schedule.DateRange{First: schedule.Date{Year: 2030, Month: 5, Day: 1}, Last: schedule.Date{Year: 2030, Month: 5, Day: 3}}}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("time off of unknown staff: %v", err)
	}
	log.none("failed time off")
	if err := st.DeleteTimeOff(admin, off); err != nil {
		t.Fatal(err)
	}
	log.want("timeoff.delete", "time_off", id(off), "user:7",
		fmt.Sprintf(`{"last_day": "2030-05-03", "staff_id": %d, "first_day": "2030-05-01"}`, a))
	if err := st.DeleteTimeOff(admin, off); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete deleted time off: %v", err)
	}
	log.none("failed time off delete")

	// Bookings: ids, times and status, nothing about the customer.
	customer := audit.WithActor(ctx, audit.ActorCustomer)
	bk := must[store.Booking](t)(st.InsertBooking(customer, newBooking(svc, a, at(10, 0), at(10, 30))))
	log.want("booking.create", "booking", id(bk.ID), "customer", fmt.Sprintf(
		`{"end": "2030-05-06T10:30:00Z", "start": "2030-05-06T10:00:00Z", "status": "confirmed", "staff_id": %d, "service_id": %d}`, a, svc))
	if _, err := st.InsertBooking(customer, newBooking(svc, a, at(10, 15), at(10, 45))); !errors.Is(err, store.ErrOverlap) {
		t.Fatalf("overlapping booking: %v", err)
	}
	broken := newBooking(svc, a, at(12, 0), at(12, 30))
	broken.CustomerName = " " // a CHECK constraint
	if _, err := st.InsertBooking(customer, broken); err == nil {
		t.Fatal("booking without a name saved")
	}
	unknown := newBooking(svc, 9999, at(12, 0), at(12, 30)) // a foreign key
	if _, err := st.InsertBooking(customer, unknown); err == nil {
		t.Fatal("booking of unknown staff saved")
	}
	log.none("failed bookings")
	// The stale-catalogue condition: nothing is written.
	v := must[int64](t)(st.CatalogVersion(ctx))
	if _, err := st.InsertBookingIfCurrent(customer, newBooking(svc, b, at(12, 0), at(12, 30)), v-1); !errors.Is(err, store.ErrStaleCatalog) {
		t.Fatalf("stale catalogue: %v", err)
	}
	log.none("stale catalogue")

	manage := audit.WithActor(ctx, audit.CustomerOfBooking(bk.ID))
	moved := must[store.Booking](t)(st.MoveBooking(manage, bk.ID, store.Move{StaffID: b, Start: at(11, 0), End: at(11, 30), BlockedStart: at(11, 0), BlockedEnd: at(11, 35)}))
	log.want("booking.move", "booking", id(bk.ID), "customer:booking:"+id(bk.ID), fmt.Sprintf(
		`{"end": {"to": "2030-05-06T11:30:00Z", "from": "2030-05-06T10:30:00Z"}, "start": {"to": "2030-05-06T11:00:00Z", "from": "2030-05-06T10:00:00Z"}, "staff_id": {"to": %d, "from": %d}}`, b, a))
	other := must[store.Booking](t)(st.InsertBooking(admin, newBooking(svc, a, at(14, 0), at(14, 30))))
	log.since()
	if _, err := st.MoveBooking(admin, moved.ID, store.Move{StaffID: a, Start: at(14, 0), End: at(14, 30), BlockedStart: at(14, 0), BlockedEnd: at(14, 30)}); !errors.Is(err, store.ErrOverlap) {
		t.Fatalf("move onto another booking: %v", err)
	}
	log.none("failed move")
	must[store.Booking](t)(st.CancelBooking(manage, bk.ID))
	log.want("booking.cancel", "booking", id(bk.ID), "customer:booking:"+id(bk.ID), `{"status": {"to": "cancelled", "from": "confirmed"}}`)
	if _, err := st.CancelBooking(manage, bk.ID); !errors.Is(err, store.ErrNotConfirmed) {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := st.MoveBooking(admin, bk.ID, store.Move{StaffID: a, Start: at(16, 0), End: at(16, 30), BlockedStart: at(16, 0), BlockedEnd: at(16, 30)}); !errors.Is(err, store.ErrNotConfirmed) {
		t.Fatalf("move cancelled: %v", err)
	}
	log.none("cancel and move of a cancelled booking")

	// Deleting what is in use fails without an entry; staff without bookings can go.
	if err := st.DeleteService(admin, svc); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("delete service in use: %v", err)
	}
	if err := st.DeleteStaff(admin, a); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("delete staff in use: %v", err)
	}
	log.none("failed deletes")
	c := must[int64](t)(st.CreateStaff(ctx, schedule.Staff{Name: "Cem"}))
	log.since()
	if err := st.DeleteStaff(admin, c); err != nil {
		t.Fatal(err)
	}
	log.want("staff.delete", "staff", id(c), "user:7", ``)
	_ = other

	// Every entry carries the request id, and the chain holds.
	recs, err := audit.Query(ctx, st.Pool(), audit.Filter{Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.RequestID != "req-42" {
			t.Errorf("entry %d (%s): request id %q", r.ID, r.Action, r.RequestID)
		}
	}
	if res, err := audit.Verify(ctx, st.Pool()); err != nil || !res.OK() || res.Rows != int64(len(recs)) {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
}

// TestAuditConcurrentWorkload: concurrent bookings (many of them losing races), cancellations,
// moves and catalogue changes; afterwards every booking write has exactly one entry and the chain
// verifies.
func TestAuditConcurrentWorkload(t *testing.T) {
	st, svc, a, b := fixture(t)
	ctx := t.Context()
	const workers, each = 8, 15
	var mu sync.Mutex
	created, cancelled, moved := 0, 0, 0
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				staff := []int64{a, b}[i%2]
				// Workers overlap in pairs: about half of the inserts lose.
				from := at(8, 0).Add(time.Duration((w/2)*each+i) * 30 * time.Minute)
				bk, err := st.InsertBooking(ctx, newBooking(svc, staff, from, from.Add(30*time.Minute)))
				if errors.Is(err, store.ErrOverlap) {
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				created++
				mu.Unlock()
				switch i % 3 {
				case 0:
					if _, err := st.CancelBooking(ctx, bk.ID); err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					cancelled++
					mu.Unlock()
				case 1:
					to := from.Add(24 * time.Hour)
					_, err := st.MoveBooking(ctx, bk.ID, store.Move{StaffID: staff, Start: to, End: to.Add(30 * time.Minute), BlockedStart: to, BlockedEnd: to.Add(30 * time.Minute)})
					switch {
					case errors.Is(err, store.ErrOverlap):
					case err != nil:
						t.Error(err)
						return
					default:
						mu.Lock()
						moved++
						mu.Unlock()
					}
				}
				if i%5 == 0 { // a catalogue change in between
					if err := st.UpdateStaff(ctx, schedule.Staff{ID: a, Name: "A", Active: true, SortOrder: w*100 + i}); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	count := func(action string) int {
		var n int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if c, x, m := count("booking.create"), count("booking.cancel"), count("booking.move"); c != created || x != cancelled || m != moved {
		t.Fatalf("entries create/cancel/move %d/%d/%d; writes %d/%d/%d", c, x, m, created, cancelled, moved)
	}
	res, err := audit.Verify(context.WithoutCancel(ctx), st.Pool())
	if err != nil || !res.OK() {
		t.Fatalf("Verify = %+v (first bad %v), %v", res, res.FirstBad, err)
	}
	t.Logf("%d bookings, %d cancelled, %d moved; chain of %d rows verified", created, cancelled, moved, res.Rows)
}
