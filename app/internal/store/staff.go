package store

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/validation"
)

const staffColumns = `id, name, email, active, sort_order`

func scanStaff(row pgx.Row) (schedule.Staff, error) {
	var st schedule.Staff
	err := row.Scan(&st.ID, &st.Name, &st.Email, &st.Active, &st.SortOrder)
	return st, err
}

func collectStaff(rows pgx.Rows, err error) ([]schedule.Staff, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (schedule.Staff, error) { return scanStaff(r) })
}

// ListStaff returns staff members in the stable order (sort_order, id), only active ones if
// activeOnly.
func (s *Store) ListStaff(ctx context.Context, activeOnly bool) ([]schedule.Staff, error) {
	return collectStaff(s.db.Query(ctx, `
		SELECT `+staffColumns+` FROM staff WHERE active OR NOT $1 ORDER BY sort_order, id`, activeOnly))
}

// StaffForService returns the staff members assigned to a service in the stable order
// (sort_order, id), only active ones if activeOnly. An unknown service gives an empty list.
func (s *Store) StaffForService(ctx context.Context, serviceID int64, activeOnly bool) ([]schedule.Staff, error) {
	return collectStaff(s.db.Query(ctx, `
		SELECT `+staffColumns+`
		FROM staff
		WHERE id IN (SELECT staff_id FROM service_staff WHERE service_id = $1) AND (active OR NOT $2)
		ORDER BY sort_order, id`, serviceID, activeOnly))
}

// GetStaff returns one staff member (active or not), or ErrNotFound.
func (s *Store) GetStaff(ctx context.Context, id int64) (schedule.Staff, error) {
	st, err := scanStaff(s.db.QueryRow(ctx, `SELECT `+staffColumns+` FROM staff WHERE id = $1`, id))
	return st, notFound(err)
}

// ValidateStaff checks a staff member before they are saved. Field names: name, email.
func ValidateStaff(st schedule.Staff) validation.Errors {
	var errs validation.Errors
	checkName(&errs, "name", st.Name)
	checkOptionalEmail(&errs, "email", st.Email)
	return errs
}

// CreateStaff inserts a staff member and returns their id.
func (s *Store) CreateStaff(ctx context.Context, st schedule.Staff) (int64, error) {
	if err := ValidateStaff(st).Err(); err != nil {
		return 0, err
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `
			INSERT INTO staff (name, email, active, sort_order) VALUES ($1, $2, $3, $4) RETURNING id`,
			strings.TrimSpace(st.Name), st.Email, st.Active, st.SortOrder).Scan(&id)
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit.Entry{Action: "staff.create", ObjectType: "staff", ObjectID: itoa(id),
			Diff: audit.Diff{}.SetPersonal("name", strings.TrimSpace(st.Name)).SetPersonal("email", st.Email).
				Set("active", st.Active).Set("sort_order", st.SortOrder)})
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// UpdateStaff saves all fields of staff member st.ID. ErrNotFound if there is no such person.
func (s *Store) UpdateStaff(ctx context.Context, st schedule.Staff) error {
	if err := ValidateStaff(st).Err(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := scanStaff(tx.QueryRow(ctx, `SELECT `+staffColumns+` FROM staff WHERE id = $1 FOR NO KEY UPDATE`, st.ID))
		if err != nil {
			return notFound(err)
		}
		name := strings.TrimSpace(st.Name)
		if _, err := tx.Exec(ctx, `
			UPDATE staff SET name = $2, email = $3, active = $4, sort_order = $5, updated_at = now()
			WHERE id = $1`, st.ID, name, st.Email, st.Active, st.SortOrder); err != nil {
			return err
		}
		// A staff member's name and e-mail address are personal data: named, without values.
		return appendAudit(ctx, tx, audit.Entry{Action: "staff.update", ObjectType: "staff", ObjectID: itoa(st.ID),
			Diff: audit.Diff{}.ChangePersonal("name", old.Name, name).ChangePersonal("email", old.Email, st.Email).
				Change("active", old.Active, st.Active).Change("sort_order", old.SortOrder, st.SortOrder)})
	})
}

// DeleteStaff deletes a staff member with their hours, time off and service assignments.
// ErrInUse if they have bookings (deactivate them instead), ErrNotFound if there is no such
// person.
func (s *Store) DeleteStaff(ctx context.Context, id int64) error {
	return s.deleteByID(ctx, `DELETE FROM staff WHERE id = $1 RETURNING id`, id,
		func(row pgx.Row) (audit.Entry, error) {
			var deleted int64
			return audit.Entry{Action: "staff.delete", ObjectType: "staff", ObjectID: itoa(id)}, row.Scan(&deleted)
		})
}
