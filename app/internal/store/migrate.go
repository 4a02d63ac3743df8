package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockID is the key of the PostgreSQL advisory lock held while migrating, so that
// several replicas starting at once migrate one after the other (the others then find nothing
// to do). It is goose's default key XOR "slotbook" so that it is our own.
const migrationLockID int64 = lock.DefaultLockID ^ 0x736c6f74626f6f6b

// versionTable is goose's bookkeeping table.
const versionTable = "goose_db_version"

// Migrations is the embedded migrations directory (files *.sql at its root), e.g. for a
// checksum of the schema.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded, so this cannot happen
	}
	return sub
}

// Migrate applies all pending migrations to the database at databaseURL and returns the names of
// the migrations it applied (none if the schema was current). It holds a PostgreSQL session
// advisory lock while doing so; concurrent callers wait for it (up to 5 minutes).
func Migrate(ctx context.Context, databaseURL string) ([]string, error) {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	defer db.Close()
	return migrate(ctx, db)
}

// Migrate applies all pending migrations through the store's pool; see the function Migrate.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close() // does not close the pool
	return migrate(ctx, db)
}

func migrate(ctx context.Context, db *sql.DB) ([]string, error) {
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(migrationLockID),
		lock.WithLockTimeout(1, 300), // retry every second for up to 5 minutes
		lock.WithUnlockTimeout(1, 60),
	)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(),
		goose.WithSessionLocker(locker),
		goose.WithTableName(versionTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, path.Base(r.Source.Path))
	}
	return applied, nil
}

// migrationVersions are the versions of the embedded migrations (the number a file name starts
// with).
func migrationVersions() ([]int64, error) {
	names, err := fs.Glob(Migrations(), "*.sql")
	if err != nil {
		return nil, err
	}
	var versions []int64
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: name is not VERSION_description.sql", name)
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		versions = append(versions, v)
	}
	return versions, nil
}

// MigrationsApplied reports whether every embedded migration has been applied, for a readiness
// check. It only reads (it never creates goose's table), so it is cheap and safe to call often.
func (s *Store) MigrationsApplied(ctx context.Context) (bool, error) {
	want, err := migrationVersions()
	if err != nil {
		return false, err
	}
	var exists bool
	if err := s.db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return false, err
	}
	if !exists {
		return false, nil
	}
	// The latest row per version tells whether it is applied (goose's bookkeeping).
	rows, err := s.db.Query(ctx, `
		SELECT DISTINCT ON (version_id) version_id, is_applied
		FROM `+versionTable+`
		ORDER BY version_id, id DESC`)
	if err != nil {
		return false, err
	}
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		var ok bool
		if err := rows.Scan(&v, &ok); err != nil {
			return false, err
		}
		applied[v] = ok
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, v := range want {
		if !applied[v] {
			return false, nil
		}
	}
	return true, nil
}
