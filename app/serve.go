package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/alexedwards/scs/pgxstore"

	"github.com/slotbook/slotbook/app/internal/account"
	"github.com/slotbook/slotbook/app/internal/api"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/config"
	"github.com/slotbook/slotbook/app/internal/demo"
	"github.com/slotbook/slotbook/app/internal/gdpr"
	"github.com/slotbook/slotbook/app/internal/ics"
	"github.com/slotbook/slotbook/app/internal/mail"
	"github.com/slotbook/slotbook/app/internal/metrics"
	"github.com/slotbook/slotbook/app/internal/outbox"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/web"
)

// shutdownGrace is how long in-flight requests get after SIGTERM (Kubernetes waits 30 s).
const shutdownGrace = 20 * time.Second

func loadConfig(needs config.Needs) (*config.Config, error) {
	cfg, err := config.FromEnv(needs)
	if err != nil {
		return nil, configError{err}
	}
	return cfg, nil
}

func migrate(ctx context.Context, logger *slog.Logger) error {
	cfg, err := loadConfig(config.NeedDatabase)
	if err != nil {
		return err
	}
	applied, err := migrateDatabase(ctx, logger, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	logger.Info("migrations applied", "new", applied)
	return nil
}

// databaseWait is how long a command waits at start for the database to become reachable: in
// Kubernetes the database Service and the network policy for a new pod can lag its start by
// seconds, and a restart loop (CrashLoopBackOff) would stretch that into minutes.
const databaseWait = 2 * time.Minute

// migrateDatabase waits for the database (see store.WaitReachable), then applies the
// migrations; errors are explained for the person reading the log.
func migrateDatabase(ctx context.Context, logger *slog.Logger, databaseURL string) ([]string, error) {
	err := store.WaitReachable(ctx, databaseURL, databaseWait, func(attempt int, err error) {
		logger.Warn("database not reachable yet, retrying", "attempt", attempt, "error", err.Error())
	})
	if err != nil {
		return nil, fmt.Errorf("connecting to the database: %w", explainDatabaseError(err))
	}
	applied, err := store.Migrate(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("migrating the database: %w", explainDatabaseError(err))
	}
	return applied, nil
}

func seedDemo(ctx context.Context, logger *slog.Logger) error {
	if err := migrate(ctx, logger); err != nil {
		return err
	}
	cfg, _ := loadConfig(config.NeedDatabase)
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := demo.Seed(ctx, st); err != nil {
		return err
	}
	logger.Info("demo business seeded")
	return nil
}

func serve(ctx context.Context, logger *slog.Logger) error {
	cfg, err := loadConfig(config.NeedAll)
	if err != nil {
		return err
	}
	logger = serveLogger(logger) // log lines of a request carry its request_id
	// Several replicas may start together: goose takes an advisory lock, so exactly one applies
	// each migration and the others wait.
	if _, err := migrateDatabase(ctx, logger, cfg.DatabaseURL); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()

	m := metrics.New()
	svc := booking.NewService(st, booking.WithBaseURL(cfg.BaseURL.String()), booking.WithMetrics(m),
		booking.WithManageTokenKey([]byte(cfg.SessionKey)))
	// Mail: the outbox worker sends what the bookings and accounts queued (without SMTP it only
	// queues reminders, and the mails wait; /admin/mail says so).
	var sender *mail.Sender
	if cfg.SMTP != nil {
		sender = mail.NewSender(cfg.SMTP, mail.SenderOptions{Host: ics.HostOf(cfg.BaseURL.String())})
	} else {
		logger.Warn("no mail server configured (SLOTBOOK_SMTP_*): mails stay queued")
	}
	mailer, err := outbox.New(st.Pool(), outbox.Options{Sender: sender, BaseURL: cfg.BaseURL.String(),
		TokenKey: []byte(cfg.SessionKey), Logger: logger})
	if err != nil {
		return err
	}
	mailCtx, stopMail := context.WithCancel(context.WithoutCancel(ctx))
	mailDone := make(chan struct{})
	go func() { defer close(mailDone); mailer.Run(mailCtx) }()
	defer func() { stopMail(); <-mailDone }()
	mux := http.NewServeMux()
	api.Register(mux, svc, st)
	accounts, err := account.NewService(st.Pool(), account.Options{
		BaseURL:           cfg.BaseURL.String(),
		SessionKey:        []byte(cfg.SessionKey),
		MFA:               account.MFAMode(cfg.MFA),
		PasswordMinLength: cfg.PasswordMinLength,
		IdleTimeout:       cfg.SessionIdleTimeout,
		AbsoluteLifetime:  web.DefaultSessionLifetime,
	})
	if err != nil {
		return err
	}
	sessionStore := pgxstore.New(st.Pool())
	defer sessionStore.StopCleanup()
	// GDPR: data-subject rights for the pages, and the hourly retention job (one replica at a
	// time acts: an advisory lock).
	customers := gdpr.New(st.Pool(), gdpr.Options{BaseURL: cfg.BaseURL.String(), Logger: logger})
	customers.Start(ctx, gdpr.RetentionInterval)
	mux.Handle("/", web.New(web.NewBackend(st, svc), web.Options{
		Customers:         customers,
		BaseURL:           cfg.BaseURL.String(),
		Logger:            logger,
		Accounts:          accounts,
		SessionStore:      sessionStore,
		AuditDB:           st.Pool(),
		MailConfigured:    cfg.SMTP != nil,
		IdleTimeout:       cfg.SessionIdleTimeout,
		SessionLifetime:   web.DefaultSessionLifetime,
		MFA:               account.MFAMode(cfg.MFA),
		PasswordMinLength: cfg.PasswordMinLength,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok") // the process is alive
	})
	mux.HandleFunc("GET /readyz", readyz(st))

	app := &http.Server{
		Addr:              cfg.ListenAddr,
		Handler:           securityChain(m.Instrument(mux), cfg, logger),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	metricsMux := http.NewServeMux()
	metricsMux.Handle("GET /metrics", m.Handler())
	metricsServer := &http.Server{Addr: cfg.MetricsAddr, Handler: metricsMux, ReadHeaderTimeout: 10 * time.Second}

	errs := make(chan error, 2)
	for _, s := range []*http.Server{app, metricsServer} {
		go func() {
			logger.Info("listening", "addr", s.Addr)
			if err := s.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
	}
	logger.Info("slotbook started", "version", version, "base_url", cfg.BaseURL.String())
	select {
	case err := <-errs:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	return errors.Join(app.Shutdown(shutdownCtx), metricsServer.Shutdown(shutdownCtx))
}

// explainDatabaseError says in words what a failed TLS verification means, on top of the driver's
// message.
func explainDatabaseError(err error) error {
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		return fmt.Errorf("the database server's TLS certificate could not be verified: sslrootcert in "+
			"SLOTBOOK_DATABASE_URL must be the CA that signed it, and the host name must match (%w)", err)
	}
	return err
}

// readyz answers 200 only when the database is reachable and every migration is applied, so
// Kubernetes sends no traffic to a replica that cannot serve it.
func readyz(st *store.Store) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := st.Ping(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		ok, err := st.MigrationsApplied(ctx)
		if err != nil || !ok {
			http.Error(w, "migrations not applied", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}
}
