package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/pgtest"
)

func TestAuditVerifyCommand(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	t.Setenv("SLOTBOOK_DATABASE_URL", dbURL)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, action := range []string{"settings.update", "service.create", "booking.create"} {
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			return audit.Append(ctx, tx, audit.Entry{Actor: "system", Action: action, ObjectType: "test", ObjectID: "1"})
		}); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	var out bytes.Buffer
	if err := auditCommand(ctx, logger, []string{"verify"}, &out); err != nil {
		t.Fatalf("verify of an intact chain: %v", err)
	}
	if !strings.Contains(out.String(), "audit chain intact: 3 rows") {
		t.Errorf("output %q", out.String())
	}
	// An anchor recorded earlier that the chain no longer matches (history rewritten) fails.
	err = auditCommand(ctx, logger, []string{"verify", "--anchor", "2:" + strings.Repeat("00", 32)}, &out)
	if err == nil || !strings.Contains(err.Error(), "audit chain is broken") || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("verify with a wrong anchor = %v", err)
	}
	if err := auditCommand(ctx, logger, []string{"check"}, &out); err == nil {
		t.Error("unknown audit subcommand accepted")
	}
}
