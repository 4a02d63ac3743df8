package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/config"
	"github.com/slotbook/slotbook/app/internal/gdpr"
)

const gdprUsage = "usage: slotbook gdpr retention --dry-run|--apply"

// gdprCommand runs `slotbook gdpr retention --dry-run|--apply`: what the hourly retention job of
// serve does (package gdpr), for operators: --dry-run counts what would be anonymised and
// deleted now, --apply does it (audited as "retention.run"; skipped if a replica's job is
// running at the same moment). Same environment as serve.
func gdprCommand(ctx context.Context, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "retention" {
		return configError{errors.New(gdprUsage)}
	}
	fs := flag.NewFlagSet("gdpr retention", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dry := fs.Bool("dry-run", false, "only count")
	apply := fs.Bool("apply", false, "anonymise and delete")
	if err := fs.Parse(args[1:]); err != nil || *dry == *apply || fs.NArg() > 0 {
		return configError{errors.New(gdprUsage)}
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
	svc := gdpr.New(pool, gdpr.Options{Logger: logger})
	now := time.Now()
	var res gdpr.Retention
	if *dry {
		res, err = svc.Preview(ctx, now)
	} else {
		res, err = svc.Run(ctx, now)
	}
	if err != nil {
		return explainDatabaseError(err)
	}
	verb := "anonymised"
	if *dry {
		verb = "would anonymise"
	}
	if res.Skipped {
		fmt.Fprintln(out, "Another retention run is in progress; nothing done.")
		return nil
	}
	fmt.Fprintf(out, "Retention %d months (appointments that ended before %s): %s %d bookings, %d mails, %d expired erasure requests.\n",
		res.Months, res.Cutoff.Format(time.RFC3339), verb, res.Bookings, res.Mails, res.Requests)
	return nil
}
