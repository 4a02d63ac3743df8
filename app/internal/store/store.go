// Package store is Slotbook's PostgreSQL persistence: the schema (goose migrations embedded in the
// binary) and typed repositories for settings, services, staff, working hours, time off and
// bookings.
//
// Every method takes a context first. Writes that touch several rows run in one transaction, so
// nothing is ever half-written. The no-double-booking guarantee lives in the schema (an exclusion
// constraint on bookings); a lost race surfaces here as ErrOverlap.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	// ErrNotFound: no row with that id (or token hash).
	ErrNotFound = errors.New("store: not found")
	// ErrOverlap: the booking would overlap another confirmed booking of the same staff member
	// (SQLSTATE 23P01 from the bookings_no_overlap exclusion constraint).
	ErrOverlap = errors.New("store: overlaps another confirmed booking")
	// ErrInUse: the row is still referenced (a service or staff member with bookings); deactivate
	// it instead of deleting it.
	ErrInUse = errors.New("store: still in use")
	// ErrNotConfirmed: the booking exists but is cancelled, so it cannot be cancelled or moved.
	ErrNotConfirmed = errors.New("store: booking is not confirmed")
	// ErrStaleCatalog: the catalogue version moved past the one the caller checked its request
	// against (InsertBookingIfCurrent); reload the catalogue and check again.
	ErrStaleCatalog = errors.New("store: the catalogue changed")
)

// Store is a pool of connections to the business's database. It is safe for concurrent use.
// Inside InTx it is bound to a transaction instead.
type Store struct {
	pool *pgxpool.Pool
	db   dbtx // the pool, or the transaction of InTx
	// batches collects concurrent bookings into batches (batch.go); nil inside InTx, where a
	// booking belongs to the caller's transaction.
	batches *bookingBatcher
}

// dbtx is what *pgxpool.Pool and pgx.Tx have in common.
type dbtx interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Begin(ctx context.Context) (pgx.Tx, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Open creates a connection pool for the PostgreSQL URL (e.g.
// postgres://user:pw@host:5432/db?sslmode=verify-full&sslrootcert=/ca.crt). It does not wait for
// the database to be reachable: see Ping.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: create pool: %w", err)
	}
	return New(pool), nil
}

// New wraps an existing pool (Close closes it).
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, db: pool, batches: &bookingBatcher{pool: pool}}
}

// Pool is the underlying pool, e.g. for pool statistics in metrics.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes all connections.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// inTx runs fn in a transaction (a savepoint inside InTx), committing if it returns nil and
// rolling back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.db, fn)
}

// InTx runs fn with a Store bound to one transaction: everything fn does through tx is committed
// together if fn returns nil, and rolled back otherwise (e.g. seeding demo data). Methods that
// use transactions themselves use savepoints inside it. Do not use s itself inside fn, and do
// not call Migrate, Ping or Close on tx.
func (s *Store) InTx(ctx context.Context, fn func(tx *Store) error) error {
	return pgx.BeginFunc(ctx, s.db, func(t pgx.Tx) error {
		return fn(&Store{pool: s.pool, db: t})
	})
}

// SQLSTATEs we translate.
const (
	codeForeignKeyViolation = "23503"
	codeExclusionViolation  = "23P01"
	codeUniqueViolation     = "23505"
	codeCheckViolation      = "23514"
	codeDeadlockDetected    = "40P01"
)

// bookingLockClass is the first key of the advisory locks that serialise the writes of one staff
// member's bookings (the second key is the staff id).
const bookingLockClass = 0x5107

func pgCode(err error) (string, string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.ConstraintName
	}
	return "", ""
}

// notFound maps pgx.ErrNoRows to ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
