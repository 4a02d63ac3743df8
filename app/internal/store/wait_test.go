package store_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/store"
)

// freePort returns a local address nothing listens on (for a moment).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// withPort returns rawURL with its port replaced by addr's (TLS is verified against the name in
// sslrootcert's certificate, so the proxy keeps the host name and changes only the port).
func withPort(t *testing.T, rawURL, addr string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return u.String()
}

// withRootCert returns rawURL with sslrootcert replaced.
func withRootCert(t *testing.T, rawURL, caFile string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("sslrootcert", caFile)
	u.RawQuery = q.Encode()
	return u.String()
}

// otherCA writes a self-signed CA certificate that signed nothing the server has.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// proxyAfter starts, after delay, a TCP proxy on addr to target: the database "comes up" late.
func proxyAfter(t *testing.T, delay time.Duration, addr, target string) {
	t.Helper()
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); wg.Wait() })
	wg.Go(func() {
		select {
		case <-time.After(delay):
		case <-done:
			return
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("proxy listen: %v", err)
			return
		}
		go func() { <-done; l.Close() }()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c) //nolint:errcheck // a proxy: errors end the copy
				io.Copy(c, up)    //nolint:errcheck
			}()
		}
	})
}

func TestWaitReachable(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	u, _ := url.Parse(dbURL)
	target := u.Host
	wrongDB := strings.Replace(dbURL, u.Path, "/no_such_database", 1)

	tests := []struct {
		name       string
		url        func(t *testing.T) string
		within     time.Duration
		wantErr    string // empty: success
		maxTime    time.Duration
		minRetries int
	}{
		{name: "reachable at once", url: func(*testing.T) string { return dbURL }, within: 10 * time.Second, maxTime: 5 * time.Second},
		{
			name: "comes up late", within: 20 * time.Second, maxTime: 15 * time.Second, minRetries: 1,
			url: func(t *testing.T) string {
				addr := freePort(t)
				proxyAfter(t, 700*time.Millisecond, addr, target)
				return withPort(t, dbURL, addr)
			},
		},
		{
			name: "never comes up", within: time.Second, maxTime: 8 * time.Second, minRetries: 1,
			url:     func(t *testing.T) string { return withPort(t, dbURL, freePort(t)) },
			wantErr: "database not reachable after 1s",
		},
		{
			// Nor this: a certificate signed by another CA than sslrootcert.
			name: "unverifiable certificate", within: time.Minute, maxTime: 5 * time.Second,
			url:     func(t *testing.T) string { return withRootCert(t, dbURL, otherCA(t)) },
			wantErr: "certificate",
		},
		{
			// Waiting cannot fix this: fail at once, with PostgreSQL's own message.
			name: "unknown database", within: time.Minute, maxTime: 5 * time.Second,
			url:     func(*testing.T) string { return wrongDB },
			wantErr: `database "no_such_database" does not exist`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			retries := 0
			start := time.Now()
			err := store.WaitReachable(context.Background(), tc.url(t), tc.within, func(int, error) { retries++ })
			took := time.Since(start)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if took > tc.maxTime {
				t.Errorf("took %s, want at most %s", took, tc.maxTime)
			}
			if retries < tc.minRetries {
				t.Errorf("%d retries, want at least %d", retries, tc.minRetries)
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"client went away", context.Canceled, false},
		{"admin shutdown (failover)", &pgconn.PgError{Code: "57P01"}, true},
		{"starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"write on a demoted primary", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "25006"}), true},
		{"exclusion violation (a conflict)", &pgconn.PgError{Code: "23P01"}, false},
		{"syntax error (a bug)", &pgconn.PgError{Code: "42601"}, false},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"connection dropped", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"plain error", errors.New("boom"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := store.Unavailable(tc.err); got != tc.want {
				t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}

	// And a real one: a pool whose server is gone.
	st, err := store.Open(context.Background(), withPort(t, pgtest.NewDatabase(t), freePort(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Ping(context.Background()); !store.Unavailable(err) {
		t.Errorf("Ping on a closed port: %v, Unavailable = false", err)
	}
}
