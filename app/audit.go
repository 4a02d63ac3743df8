package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/config"
)

// auditCommand runs `slotbook audit verify [--anchor id:hash ...]`: it walks the whole audit
// chain and fails naming the first row that was edited, deleted or reordered. It uses the same
// environment as serve.
func auditCommand(ctx context.Context, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return configError{fmt.Errorf("usage: slotbook audit verify [--anchor ID:HASH ...]")}
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	var anchors []audit.Head
	fs.Func("anchor", "a head printed by an earlier verify (ID:HASH), kept outside the database; repeatable", func(s string) error {
		h, err := audit.ParseHead(s)
		if err == nil {
			anchors = append(anchors, h)
		}
		return err
	})
	if err := fs.Parse(args[1:]); err != nil {
		return configError{err}
	}
	cfg, err := loadConfig(config.NeedDatabase)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return explainDatabaseError(err)
	}
	defer pool.Close()
	res, err := audit.Verify(ctx, pool, anchors...)
	if err != nil {
		return explainDatabaseError(err)
	}
	if !res.OK() {
		return fmt.Errorf("audit chain is broken: %v (%d of %d rows bad)", res.FirstBad, res.BadRows, res.Rows)
	}
	fmt.Fprintf(out, "audit chain intact: %d rows; head %s (keep it outside the database and pass it as --anchor next time)\n", res.Rows, res.Last)
	logger.Info("audit chain verified", "rows", res.Rows)
	return nil
}
