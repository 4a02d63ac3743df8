package store

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

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
	err := s.db.QueryRow(ctx, `
		INSERT INTO staff (name, email, active, sort_order) VALUES ($1, $2, $3, $4) RETURNING id`,
		strings.TrimSpace(st.Name), st.Email, st.Active, st.SortOrder).Scan(&id)
	return id, err
}

// UpdateStaff saves all fields of staff member st.ID. ErrNotFound if there is no such person.
func (s *Store) UpdateStaff(ctx context.Context, st schedule.Staff) error {
	if err := ValidateStaff(st).Err(); err != nil {
		return err
	}
	tag, err := s.db.Exec(ctx, `
		UPDATE staff SET name = $2, email = $3, active = $4, sort_order = $5, updated_at = now()
		WHERE id = $1`, st.ID, strings.TrimSpace(st.Name), st.Email, st.Active, st.SortOrder)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteStaff deletes a staff member with their hours, time off and service assignments.
// ErrInUse if they have bookings (deactivate them instead), ErrNotFound if there is no such
// person.
func (s *Store) DeleteStaff(ctx context.Context, id int64) error {
	return deleteByID(ctx, s, `DELETE FROM staff WHERE id = $1`, id)
}
