package pgtest_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func connect(t *testing.T, u string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	return conn.QueryRow(ctx, `SELECT 1`).Scan(&one)
}

func withQuery(t *testing.T, u string, set map[string]string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	for k, v := range set {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	p.RawQuery = q.Encode()
	return p.String()
}

func TestTLS(t *testing.T) {
	srv := pgtest.Shared(t)
	u := pgtest.NewDatabase(t)
	if srv.CAFile() == "" {
		t.Skip("external server: TLS is its business")
	}
	if !strings.Contains(u, "sslmode=verify-full") || !strings.Contains(u, "sslrootcert=") {
		t.Fatalf("URL without verify-full: %s", u)
	}

	t.Run("verify-full works", func(t *testing.T) {
		ctx := t.Context()
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var ssl bool
		if err := conn.QueryRow(ctx, `SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`).Scan(&ssl); err != nil {
			t.Fatal(err)
		}
		if !ssl {
			t.Fatal("connection is not encrypted")
		}
		// The template's migrations are there.
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM business_settings`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("business_settings: %d, %v", n, err)
		}
	})

	t.Run("verify-full via localhost", func(t *testing.T) {
		p, _ := url.Parse(u)
		p.Host = strings.Replace(p.Host, "127.0.0.1", "localhost", 1)
		// localhost may resolve to ::1 first, where nothing listens; pgx tries the next address.
		if err := connect(t, p.String()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("non-TLS refused", func(t *testing.T) {
		err := connect(t, withQuery(t, u, map[string]string{"sslmode": "disable", "sslrootcert": ""}))
		if err == nil {
			t.Fatal("a connection without TLS was accepted")
		}
		if !strings.Contains(err.Error(), "pg_hba.conf") {
			t.Logf("error (expected a pg_hba.conf rejection): %v", err)
		}
	})

	t.Run("wrong CA refused", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "other-ca.crt")
		if err := pgtest.WriteUnrelatedCA(other); err != nil {
			t.Fatal(err)
		}
		err := connect(t, withQuery(t, u, map[string]string{"sslrootcert": other}))
		if err == nil {
			t.Fatal("a server certificate from another CA was accepted")
		}
	})

	t.Run("wrong password refused", func(t *testing.T) {
		p, _ := url.Parse(u)
		p.User = url.UserPassword("postgres", "wrong")
		if err := connect(t, p.String()); err == nil {
			t.Fatal("a wrong password was accepted")
		}
	})
}

func TestDatabasesAreSeparate(t *testing.T) {
	ctx := t.Context()
	a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if a == b {
		t.Fatal("same URL twice")
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, `UPDATE business_settings SET name = 'A'`); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var name string
	if err := cb.QueryRow(ctx, `SELECT name FROM business_settings`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name == "A" {
		t.Fatal("databases share data")
	}
}

func TestEmptyDatabase(t *testing.T) {
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, pgtest.NewEmptyDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('bookings') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("empty database has tables")
	}
}
