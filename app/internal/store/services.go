package store

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/catalog"
	"github.com/slotbook/slotbook/app/internal/validation"
)

// serviceColumns are selected by every service query; StaffIDs come in the staff's stable order
// (sort_order, id).
const serviceColumns = `
	s.id, s.name, s.description, s.duration_minutes, s.buffer_before_minutes,
	s.buffer_after_minutes, s.active, s.sort_order,
	COALESCE((SELECT array_agg(ss.staff_id ORDER BY st.sort_order, st.id)
	          FROM service_staff ss JOIN staff st ON st.id = ss.staff_id
	          WHERE ss.service_id = s.id), '{}')`

func scanService(row pgx.Row) (catalog.Service, error) {
	var svc catalog.Service
	var dur, before, after int
	err := row.Scan(&svc.ID, &svc.Name, &svc.Description, &dur, &before, &after, &svc.Active,
		&svc.SortOrder, &svc.StaffIDs)
	svc.Duration = time.Duration(dur) * time.Minute
	svc.BufferBefore = time.Duration(before) * time.Minute
	svc.BufferAfter = time.Duration(after) * time.Minute
	return svc, err
}

// ListServices returns the services in display order (sort_order, name, id), only active ones if
// activeOnly. StaffIDs lists everyone assigned, active or not.
func (s *Store) ListServices(ctx context.Context, activeOnly bool) ([]catalog.Service, error) {
	rows, err := s.db.Query(ctx, `
		SELECT `+serviceColumns+`
		FROM services s
		WHERE s.active OR NOT $1
		ORDER BY s.sort_order, s.name, s.id`, activeOnly)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (catalog.Service, error) { return scanService(r) })
}

// GetService returns one service (active or not), or ErrNotFound.
func (s *Store) GetService(ctx context.Context, id int64) (catalog.Service, error) {
	svc, err := scanService(s.db.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services s WHERE s.id = $1`, id))
	return svc, notFound(err)
}

// ValidateService checks a service before it is saved. Field names: name, description, duration,
// bufferBefore, bufferAfter.
func ValidateService(svc catalog.Service) validation.Errors {
	var errs validation.Errors
	checkName(&errs, "name", svc.Name)
	if utf8.RuneCountInString(svc.Description) > 2000 {
		errs.Add("description", "too_long", "Must be at most 2000 characters.", map[string]any{"max": 2000})
	}
	checkMinutes(&errs, "duration", svc.Duration, 1, 1440)
	checkMinutes(&errs, "bufferBefore", svc.BufferBefore, 0, 1440)
	checkMinutes(&errs, "bufferAfter", svc.BufferAfter, 0, 1440)
	return errs
}

// CreateService inserts a service with its staff assignment (svc.StaffIDs) in one transaction and
// returns its id. Invalid input gives validation.Errors; an unknown staff id gives a
// validation error on "staffIds".
func (s *Store) CreateService(ctx context.Context, svc catalog.Service) (int64, error) {
	if err := ValidateService(svc).Err(); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO services (name, description, duration_minutes, buffer_before_minutes,
			                      buffer_after_minutes, active, sort_order)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			RETURNING id`,
			strings.TrimSpace(svc.Name), svc.Description, minutes(svc.Duration), minutes(svc.BufferBefore),
			minutes(svc.BufferAfter), svc.Active, svc.SortOrder).Scan(&id)
		if err != nil {
			return err
		}
		staffIDs, err := assignStaff(ctx, tx, id, svc.StaffIDs)
		if err != nil {
			return err
		}
		svc.StaffIDs = staffIDs
		return appendAudit(ctx, tx, audit.Entry{Action: "service.create", ObjectType: "service", ObjectID: itoa(id),
			Diff: serviceDiff(catalog.Service{}, svc, true)})
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// serviceDiff is the audit diff of a service: all fields of a new one (create), otherwise the
// changed ones. StaffIDs are compared as sets, in ascending order.
func serviceDiff(old, new catalog.Service, create bool) audit.Diff {
	type field struct {
		name     string
		old, new any
	}
	fields := []field{
		{"name", strings.TrimSpace(old.Name), strings.TrimSpace(new.Name)},
		{"description", old.Description, new.Description},
		{"duration_minutes", minutes(old.Duration), minutes(new.Duration)},
		{"buffer_before_minutes", minutes(old.BufferBefore), minutes(new.BufferBefore)},
		{"buffer_after_minutes", minutes(old.BufferAfter), minutes(new.BufferAfter)},
		{"active", old.Active, new.Active},
		{"sort_order", old.SortOrder, new.SortOrder},
		{"staff_ids", sortedIDs(old.StaffIDs), sortedIDs(new.StaffIDs)},
	}
	d := audit.Diff{}
	for _, f := range fields {
		if create {
			d.Set(f.name, f.new)
		} else {
			d.Change(f.name, f.old, f.new)
		}
	}
	return d
}

func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(append([]int64{}, out...))
}

// UpdateService saves all fields of the service svc.ID and replaces its staff assignment, in one
// transaction. ErrNotFound if there is no such service.
func (s *Store) UpdateService(ctx context.Context, svc catalog.Service) error {
	if err := ValidateService(svc).Err(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// The old row, locked: the diff is against what this update replaces.
		old, err := scanService(tx.QueryRow(ctx, `SELECT `+serviceColumns+` FROM services s WHERE s.id = $1 FOR NO KEY UPDATE OF s`, svc.ID))
		if err != nil {
			return notFound(err)
		}
		if _, err := tx.Exec(ctx, `
			UPDATE services
			SET name = $2, description = $3, duration_minutes = $4, buffer_before_minutes = $5,
			    buffer_after_minutes = $6, active = $7, sort_order = $8, updated_at = now()
			WHERE id = $1`,
			svc.ID, strings.TrimSpace(svc.Name), svc.Description, minutes(svc.Duration),
			minutes(svc.BufferBefore), minutes(svc.BufferAfter), svc.Active, svc.SortOrder); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM service_staff WHERE service_id = $1`, svc.ID); err != nil {
			return err
		}
		staffIDs, err := assignStaff(ctx, tx, svc.ID, svc.StaffIDs)
		if err != nil {
			return err
		}
		svc.StaffIDs = staffIDs
		return appendAudit(ctx, tx, audit.Entry{Action: "service.update", ObjectType: "service", ObjectID: itoa(svc.ID),
			Diff: serviceDiff(old, svc, false)})
	})
}

// assignStaff assigns the staff members to the service and returns the ids assigned (staffIDs
// without duplicates).
func assignStaff(ctx context.Context, tx pgx.Tx, serviceID int64, staffIDs []int64) ([]int64, error) {
	if len(staffIDs) == 0 {
		return nil, nil
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO service_staff (service_id, staff_id)
		SELECT $1, unnest($2::bigint[])
		ON CONFLICT DO NOTHING`, serviceID, staffIDs)
	if code, _ := pgCode(err); code == codeForeignKeyViolation {
		var errs validation.Errors
		errs.Add("staffIds", "unknown", "One of the chosen staff members does not exist.", nil)
		return nil, errs
	}
	return sortedIDs(staffIDs), err
}

// DeleteService deletes a service and its staff assignment. ErrInUse if bookings refer to it
// (deactivate it instead), ErrNotFound if there is no such service.
func (s *Store) DeleteService(ctx context.Context, id int64) error {
	return s.deleteByID(ctx, `DELETE FROM services WHERE id = $1 RETURNING name`, id,
		func(row pgx.Row) (audit.Entry, error) {
			var name string
			err := row.Scan(&name)
			return audit.Entry{Action: "service.delete", ObjectType: "service", ObjectID: itoa(id),
				Diff: audit.Diff{}.Set("name", name)}, err
		})
}

// deleteByID runs sql, a DELETE of the row id RETURNING what entry needs to make the audit entry,
// and appends that entry, in one transaction.
func (s *Store) deleteByID(ctx context.Context, sql string, id int64, entry func(pgx.Row) (audit.Entry, error)) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		e, err := entry(tx.QueryRow(ctx, sql, id))
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, e)
	})
	if code, _ := pgCode(err); code == codeForeignKeyViolation {
		return ErrInUse
	}
	return notFound(err)
}

func minutes(d time.Duration) int { return int(d / time.Minute) }
