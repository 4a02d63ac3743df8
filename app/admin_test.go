package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/store"
)

func TestAdminCreateOwner(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	t.Setenv("SLOTBOOK_DATABASE_URL", dbURL)
	t.Setenv("SLOTBOOK_SESSION_KEY", "")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out bytes.Buffer

	// The account settings are required, like for serve.
	err := adminCommand(ctx, logger, []string{"create-owner", "--email", "boss@example.test"}, &out)
	var cfgErr configError
	if !errors.As(err, &cfgErr) || !strings.Contains(err.Error(), "SLOTBOOK_BASE_URL") || !strings.Contains(err.Error(), "SLOTBOOK_SESSION_KEY") {
		t.Fatalf("without base URL and session key: %v", err)
	}
	t.Setenv("SLOTBOOK_BASE_URL", "https://salon.example.test")
	t.Setenv("SLOTBOOK_SESSION_KEY", strings.Repeat("k", 40))

	for _, args := range [][]string{nil, {"create-user"}, {"create-owner"}, {"create-owner", "--password", "x"},
		{"create-owner", "--email", "boss@example.test", "extra"}, {"create-owner", "--email", "not an address"},
		{"create-owner", "--email", "boss@example.test", "--business-name", strings.Repeat("x", 201)}} {
		if err := adminCommand(ctx, logger, args, &out); !errors.As(err, &cfgErr) {
			t.Errorf("args %q: %v", args, err)
		}
	}

	linkRe := regexp.MustCompile(`(?m)^https://salon\.example\.test/account/setup/[A-Za-z0-9_-]{43}$`)
	run := func() string {
		t.Helper()
		out.Reset()
		if err := adminCommand(ctx, logger, []string{"create-owner", "--email", "Boss@Example.test"}, &out); err != nil {
			t.Fatalf("create-owner: %v", err)
		}
		return out.String()
	}
	first := run()
	if !strings.Contains(first, "valid for 24 hours") || !linkRe.MatchString(first) {
		t.Fatalf("output %q", first)
	}
	second := run()
	if linkRe.FindString(second) == linkRe.FindString(first) || linkRe.FindString(second) == "" {
		t.Fatalf("second run %q", second)
	}

	// The owner sets the password with the latest link; the earlier one is dead.
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	svc, err := account.NewService(pool, account.Options{BaseURL: "https://salon.example.test", SessionKey: []byte(strings.Repeat("k", 40))})
	if err != nil {
		t.Fatal(err)
	}
	tok := func(s string) string { l := linkRe.FindString(s); return l[strings.LastIndexByte(l, '/')+1:] }
	if _, err := svc.UseLink(ctx, tok(first), "violet tractor 48 umbrella"); !errors.Is(err, account.ErrLinkInvalid) {
		t.Errorf("first link after the second run: %v", err)
	}
	if _, err := svc.UseLink(ctx, tok(second), "violet tractor 48 umbrella"); err != nil {
		t.Fatal(err)
	}
	third := run()
	if !strings.Contains(third, "already has a password") || linkRe.MatchString(third) {
		t.Errorf("run after the password was set: %q", third)
	}
	res, err := audit.Verify(ctx, pool)
	if err != nil || !res.OK() || res.Rows != 3 {
		t.Errorf("audit: %+v, %v", res, err)
	}
}

// TestAdminCreateOwnerNamesTheBusiness: --business-name (the operator passes the Tenant's
// spec.displayName) names a new business once; a name chosen later in the settings stays.
func TestAdminCreateOwnerNamesTheBusiness(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	t.Setenv("SLOTBOOK_DATABASE_URL", dbURL)
	t.Setenv("SLOTBOOK_BASE_URL", "https://salon.example.test")
	t.Setenv("SLOTBOOK_SESSION_KEY", strings.Repeat("k", 40))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	name := func() string {
		t.Helper()
		set, err := st.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return set.Name
	}
	var out bytes.Buffer
	createOwner := func(businessName string) string {
		t.Helper()
		out.Reset()
		if err := adminCommand(ctx, logger, []string{"create-owner", "--email", "boss@example.test", "--business-name", businessName}, &out); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}

	if got := createOwner("  Salon Morgenrot "); !strings.Contains(got, `Business named "Salon Morgenrot".`) || name() != "Salon Morgenrot" {
		t.Fatalf("first run: %q, name %q", got, name())
	}
	// The owner renames it in the settings; a later run (a replaced Job) leaves that name.
	set, err := st.Settings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	set.Name = "Morgenrot Hair & Beauty"
	if err := st.UpdateSettings(ctx, set); err != nil {
		t.Fatal(err)
	}
	if got := createOwner("Salon Morgenrot"); strings.Contains(got, "Business named") || name() != "Morgenrot Hair & Beauty" {
		t.Fatalf("second run: %q, name %q", got, name())
	}
}
