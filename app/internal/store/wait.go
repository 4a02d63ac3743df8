package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// codeCannotConnectNow is PostgreSQL's "the database system is starting up" (or shutting down).
const codeCannotConnectNow = "57P03"

// WaitReachable connects to the database at databaseURL until a connection succeeds, retrying
// for at most `within` while the failure is one that time can fix: nothing listening yet,
// a name that does not resolve yet, a server that is still starting, a network path not yet
// open. In Kubernetes all of these are normal for a few seconds after a pod starts: the
// database Service may have no ready endpoint yet, and network-policy enforcers (kube-router,
// Calico) admit a new pod's address only after they have seen it. Errors that waiting cannot
// fix (wrong password, unknown database, an unverifiable TLS certificate) are returned at once:
// the same distinction as Unavailable.
// onRetry, if set, is told about each failed attempt.
func WaitReachable(ctx context.Context, databaseURL string, within time.Duration, onRetry func(attempt int, err error)) error {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return fmt.Errorf("store: parse database URL: %w", err)
	}
	deadline := time.Now().Add(within)
	delay := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := connectOnce(ctx, cfg, deadline)
		if err == nil {
			return nil
		}
		if !Unavailable(err) || ctx.Err() != nil {
			return err
		}
		if time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("store: database not reachable after %s: %w", within, err)
		}
		if onRetry != nil {
			onRetry(attempt, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

func connectOnce(ctx context.Context, cfg *pgx.ConnConfig, deadline time.Time) error {
	// One attempt never outlives the deadline (a dropped SYN would otherwise wait for the
	// kernel's timeout), but gets at least a few seconds (a TLS handshake on a busy node).
	ctx, cancel := context.WithDeadline(ctx, later(deadline, time.Now().Add(5*time.Second)))
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return conn.Close(context.Background())
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Unavailable tells whether err means the database cannot be used right now rather than that the
// request was wrong or the code is: no connection (refused, reset, timed out), the server shutting
// down or starting (57P01–57P03), a connection exception (class 08), or a write that reached a
// server which is no longer the primary (25006, a pooled connection across a failover). Callers
// answer 503 with Retry-After, so clients and the ingress retry instead of reporting a bug.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	// A certificate that does not verify is a configuration error, however it is wrapped (pgx
	// reports the failed handshake together with network errors of its fallbacks).
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == codeCannotConnectNow,
			pgErr.Code == "25006", strings.HasPrefix(pgErr.Code, "08"):
			return true
		}
		return false
	}
	// Not every *pgconn.ConnectError: it also wraps what waiting cannot fix (an unverifiable TLS
	// certificate, a server without TLS); only its network cause counts.
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var netErr net.Error // refused, reset, timed out, a name that does not resolve (yet)
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
