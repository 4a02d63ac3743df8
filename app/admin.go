package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/config"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/validation"
)

const adminUsage = "usage: slotbook admin create-owner --email ADDRESS [--business-name NAME]"

// adminCommand runs `slotbook admin create-owner --email ADDRESS [--business-name NAME]`: it
// applies the migrations, names a new business (only while it still has the default name, so a
// name chosen in the settings stays), creates the owner account without a password and prints a
// one-time setup link on out. It is
// idempotent, so the operator can run it as a Job: while the owner has not set a password, each
// run prints a new link (the previous one stops working); once the password is set it only says
// so. It never takes a password: the owner chooses it on the setup page. Same environment as
// serve.
func adminCommand(ctx context.Context, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "create-owner" {
		return configError{errors.New(adminUsage)}
	}
	fs := flag.NewFlagSet("admin create-owner", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the owner's e-mail address")
	businessName := fs.String("business-name", "", "the business's name, if it has none yet")
	if err := fs.Parse(args[1:]); err != nil || *email == "" || fs.NArg() > 0 {
		return configError{errors.New(adminUsage)}
	}
	cfg, err := loadConfig(config.NeedAccounts)
	if err != nil {
		return err
	}
	if _, err := migrateDatabase(ctx, logger, cfg.DatabaseURL); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, cfg.DatabaseURL)
	if err != nil {
		return explainDatabaseError(err)
	}
	defer pool.Close()
	svc, err := account.NewService(pool, account.Options{
		BaseURL:           cfg.BaseURL.String(),
		SessionKey:        []byte(cfg.SessionKey),
		MFA:               account.MFAMode(cfg.MFA),
		PasswordMinLength: cfg.PasswordMinLength,
		IdleTimeout:       cfg.SessionIdleTimeout,
	})
	if err != nil {
		return err
	}
	// Named before the owner exists: nobody can have changed the settings meanwhile.
	if *businessName != "" {
		named, err := store.New(pool).NameBusiness(ctx, *businessName)
		var verrs validation.Errors
		if errors.As(err, &verrs) {
			return configError{fmt.Errorf("--business-name: %q is not a valid business name (1 to 200 characters)", *businessName)}
		}
		if err != nil {
			return explainDatabaseError(err)
		}
		if named {
			fmt.Fprintf(out, "Business named %q.\n", strings.TrimSpace(*businessName))
			logger.Info("business named")
		}
	}
	link, err := svc.CreateOwner(ctx, *email)
	var verrs validation.Errors
	if errors.As(err, &verrs) {
		return configError{fmt.Errorf("--email: %q is not a valid e-mail address", *email)}
	}
	if err != nil {
		return explainDatabaseError(err)
	}
	addr := account.NormaliseEmail(*email)
	if link == "" {
		fmt.Fprintf(out, "The owner %s already has a password; nothing to do.\n", addr)
		logger.Info("owner exists with a password; nothing changed")
		return nil
	}
	until := time.Now().Add(account.OwnerSetupLinkTTL).UTC().Format(time.RFC3339)
	fmt.Fprintf(out, "Owner %s created. Open this link to set the password (single use, valid for %d hours, until %s):\n%s\n",
		addr, int(account.OwnerSetupLinkTTL.Hours()), until, link)
	logger.Info("owner setup link issued", "valid_for", account.OwnerSetupLinkTTL.String())
	return nil
}
