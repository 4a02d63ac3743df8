package pgtest

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"
)

var shared struct {
	once   sync.Once
	mu     sync.Mutex
	server *Server
	err    error
}

// Main runs a test binary's tests and then stops the shared server, if a test started it:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// It calls os.Exit with the tests' exit code.
func Main(m *testing.M) {
	code := m.Run()
	if err := StopShared(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: stop: %v\n", err)
	}
	os.Exit(code)
}

// Shared returns the test binary's server, starting it on first use (a test that cannot get one
// fails). Use Main in TestMain so that it is stopped at the end.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := Start(ctx)
		shared.mu.Lock()
		shared.server, shared.err = s, err
		shared.mu.Unlock()
	})
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.err != nil {
		t.Fatalf("pgtest: %v", shared.err)
	}
	return shared.server
}

// StopShared stops the shared server if it was started (Main calls it).
func StopShared() error {
	shared.mu.Lock()
	s := shared.server
	shared.mu.Unlock()
	return s.Stop()
}

// NewDatabase creates a fresh, migrated database on the shared server for t (dropped when t
// ends) and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	return Shared(t).NewDatabase(context.Background(), t)
}

// NewEmptyDatabase creates a fresh database without migrations on the shared server.
func NewEmptyDatabase(t testing.TB) string {
	t.Helper()
	return Shared(t).NewEmptyDatabase(context.Background(), t)
}
