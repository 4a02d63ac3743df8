// Command slotbook is the booking app: one instance serves one business.
//
//	slotbook serve      apply migrations (under an advisory lock) and serve the site
//	slotbook migrate    apply migrations and exit
//	slotbook seed-demo  create the demo business (migrations first)
//	slotbook audit verify  check the audit log's hash chain
//	slotbook version    print the version
//
// Configuration comes from SLOTBOOK_* environment variables (see app/internal/config).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "dev"

const usage = `usage: slotbook <command>

commands:
  serve      apply database migrations and serve the booking site
  migrate    apply database migrations and exit
  seed-demo  create a demo business with services, staff and working hours
  audit verify [--anchor ID:HASH]
             check the tamper-evident audit log; fails naming the first bad row
  admin create-owner --email ADDRESS [--business-name NAME]
                                     create the owner account (and name a new business); prints a one-time setup link
  gdpr retention --dry-run|--apply    anonymise bookings past the retention period (serve does it hourly)
  version    print the version

Configuration: SLOTBOOK_DATABASE_URL, SLOTBOOK_BASE_URL, SLOTBOOK_SESSION_KEY, SLOTBOOK_MFA,
SLOTBOOK_SESSION_IDLE_TIMEOUT, SLOTBOOK_PASSWORD_MIN_LENGTH, SLOTBOOK_TIMEZONE,
SLOTBOOK_LISTEN_ADDR, SLOTBOOK_METRICS_ADDR (see docs).
`

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(logger)
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx, logger)
	case "migrate":
		err = migrate(ctx, logger)
	case "seed-demo":
		err = seedDemo(ctx, logger)
	case "audit":
		err = auditCommand(ctx, logger, os.Args[2:], os.Stdout)
	case "admin":
		err = adminCommand(ctx, logger, os.Args[2:], os.Stdout)
	case "gdpr":
		err = gdprCommand(ctx, logger, os.Args[2:], os.Stdout)
	case "version":
		fmt.Println(version)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		var cfgErr configError
		if errors.As(err, &cfgErr) {
			// Configuration errors are for people: print them plainly, each variable on a line.
			fmt.Fprintln(os.Stderr, err)
		} else {
			logger.Error("slotbook "+os.Args[1]+" failed", "error", err)
		}
		os.Exit(1)
	}
}

// configError marks a bad configuration, which is reported without a log envelope.
type configError struct{ error }

func (e configError) Unwrap() error { return e.error }
