// Package pgtest runs a throwaway PostgreSQL server for tests: initdb in a temporary directory,
// a free port on 127.0.0.1, TLS only (a test CA made on the fly), scram-sha-256 passwords, no
// fsync. Each test gets a fresh database cloned from a template that already has Slotbook's
// migrations applied, so a new database takes milliseconds.
//
// The usual setup is one server per test binary:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		url := pgtest.NewDatabase(t) // migrated, dropped when the test ends
//		st, err := store.Open(t.Context(), url)
//		...
//	}
//
// The server binaries come from $SLOTBOOK_PG_BIN, /usr/lib/postgresql/15/bin or $PATH (Debian:
// apt-get install postgresql-15). When the tests run as root, initdb and postgres run as the
// "postgres" system user, because PostgreSQL refuses to run as root.
//
// If SLOTBOOK_TEST_DATABASE_URL is set (an admin URL of an existing server, with the right to
// create databases), no server is started: databases are created there instead.
package pgtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/slotbook/slotbook/app/internal/store"
)

// EnvDatabaseURL names the environment variable with an existing server's admin URL.
const EnvDatabaseURL = "SLOTBOOK_TEST_DATABASE_URL"

// EnvPGBin names the environment variable with the directory of initdb and postgres.
const EnvPGBin = "SLOTBOOK_PG_BIN"

// superuser is the name of the bootstrap superuser of a started server.
const superuser = "postgres"

// Server is a PostgreSQL server for tests: one this package started, or an existing one named by
// SLOTBOOK_TEST_DATABASE_URL.
type Server struct {
	adminURL string // to the "postgres" database, as the superuser
	caFile   string // "" for an external server
	host     string
	port     int

	// Only for a server we started:
	dir     string    // temporary directory with everything in it
	cmd     *exec.Cmd // the postmaster
	exited  chan struct{}
	logBuf  *syncBuffer
	stopped sync.Once

	tplOnce sync.Once
	tplName string
	tplErr  error
	// strategy is the CREATE DATABASE clause that copies a template fastest: FILE_COPY on
	// PostgreSQL 15+ (with fsync off, much cheaper than the default WAL_LOG).
	strategy string
}

// Start starts a server (or connects to the one named by SLOTBOOK_TEST_DATABASE_URL) and waits
// until it accepts connections. Stop it with Stop.
func Start(ctx context.Context) (*Server, error) {
	if u := os.Getenv(EnvDatabaseURL); u != "" {
		return external(ctx, u)
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := start(ctx)
		if err == nil {
			return s, nil
		}
		lastErr = err
		// Another process may have taken the free port we picked; try another.
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, lastErr
}

func external(ctx context.Context, adminURL string) (*Server, error) {
	cfg, err := pgconn.ParseConfig(adminURL)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %s: %w", EnvDatabaseURL, err)
	}
	s := &Server{adminURL: adminURL, host: cfg.Host, port: int(cfg.Port)}
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("pgtest: connect to %s: %w", EnvDatabaseURL, err)
	}
	defer conn.Close(ctx)
	return s, s.detect(ctx, conn)
}

// detect looks at the server's version.
func (s *Server) detect(ctx context.Context, conn *pgx.Conn) error {
	var version int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		return fmt.Errorf("pgtest: server version: %w", err)
	}
	if version >= 150000 {
		s.strategy = " STRATEGY FILE_COPY"
	}
	return nil
}

var errPortTaken = errors.New("pgtest: port taken")

func start(ctx context.Context) (_ *Server, retErr error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "slotbook-pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir, host: "127.0.0.1", logBuf: &syncBuffer{}}
	defer func() {
		if retErr != nil {
			s.kill()
			os.RemoveAll(dir)
		}
	}()
	cred, err := runAs()
	if err != nil {
		return nil, err
	}

	data := filepath.Join(dir, "data")
	sock := filepath.Join(dir, "sock")
	if err := os.Mkdir(sock, 0o700); err != nil {
		return nil, err
	}
	password := rand.Text()
	pwFile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := chownAll(dir, cred); err != nil {
		return nil, err
	}

	var initOut bytes.Buffer
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", superuser, "--pwfile", pwFile, "--auth=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Stdout, initdb.Stderr = &initOut, &initOut
	initdb.SysProcAttr = sysProcAttr(cred)
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	if err := initdb.Run(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w\n%s", err, initOut.String())
	}
	os.Remove(pwFile)

	// TLS: a CA of our own and a server certificate for localhost/127.0.0.1 signed by it.
	s.caFile = filepath.Join(dir, "ca.crt")
	certFile := filepath.Join(data, "server.crt")
	keyFile := filepath.Join(data, "server.key")
	if err := writeCerts(s.caFile, certFile, keyFile); err != nil {
		return nil, err
	}
	// Only TLS connections with a password over TCP; the unix socket (inside our 0700 directory)
	// trusts local users, for debugging with psql -h <dir>/sock.
	hba := strings.Join([]string{
		"# TYPE    DATABASE USER ADDRESS       METHOD",
		"local     all      all                trust",
		"hostssl   all      all  127.0.0.1/32  scram-sha-256",
		"hostnossl all      all  127.0.0.1/32  reject",
		"",
	}, "\n")
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return nil, err
	}
	if err := chownAll(dir, cred); err != nil {
		return nil, err
	}

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.port = port
	s.cmd = exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port="+strconv.Itoa(port),
		"-c", "unix_socket_directories="+sock,
		"-c", "ssl=on",
		"-c", "ssl_cert_file="+certFile,
		"-c", "ssl_key_file="+keyFile,
		"-c", "ssl_min_protocol_version=TLSv1.2",
		"-c", "password_encryption=scram-sha-256",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning",
		"-c", "log_min_error_statement=panic",
		"-c", "TimeZone=UTC",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.logBuf, s.logBuf
	s.cmd.SysProcAttr = sysProcAttr(cred)
	s.cmd.Env = append(os.Environ(), "LC_ALL=C")
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("pgtest: start postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()

	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(superuser, password),
		Host:   net.JoinHostPort(s.host, strconv.Itoa(port)),
		Path:   "/postgres",
	}
	q := url.Values{}
	q.Set("sslmode", "verify-full")
	q.Set("sslrootcert", s.caFile)
	u.RawQuery = q.Encode()
	s.adminURL = u.String()

	// Wait until it accepts connections (or dies).
	deadline := time.Now().Add(60 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.adminURL)
		cancel()
		if err == nil {
			defer conn.Close(ctx)
			return s, s.detect(ctx, conn)
		}
		select {
		case <-s.exited:
			log := s.logBuf.String()
			if strings.Contains(log, "could not bind") || strings.Contains(log, "Address already in use") {
				return nil, fmt.Errorf("%w: %s", errPortTaken, log)
			}
			return nil, fmt.Errorf("pgtest: postgres exited during startup:\n%s", log)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("pgtest: postgres did not accept connections within a minute: %v\n%s", err, s.logBuf.String())
		}
	}
}

// Stop shuts a started server down and removes its files; for an external server it does
// nothing (the databases tests made are dropped by their cleanups). Safe to call twice.
func (s *Server) Stop() error {
	if s == nil || s.cmd == nil {
		return nil
	}
	var err error
	s.stopped.Do(func() {
		// SIGINT is PostgreSQL's "fast" shutdown: disconnect everyone, then stop.
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
		}
		s.kill()
		// Files may still be going away as the last processes exit: retry for a moment.
		for attempt := 0; attempt < 50; attempt++ {
			if err = os.RemoveAll(s.dir); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	return err
}

// kill kills the server's whole process group (the postmaster and its children) and waits for
// the postmaster.
func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	if s.exited == nil { // not waited for yet
		s.cmd.Process.Kill()
		s.cmd.Wait()
		return
	}
	select {
	case <-s.exited:
		return // gone (and reaped: its pid may belong to someone else by now)
	default:
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL) // Setpgid: the group is the postmaster's pid
	<-s.exited
}

// AdminURL is the superuser's URL of the "postgres" database.
func (s *Server) AdminURL() string { return s.adminURL }

// CAFile is the PEM file of the CA that signed the server's certificate ("" for an external
// server).
func (s *Server) CAFile() string { return s.caFile }

// Host and Port are where the server listens.
func (s *Server) Host() string { return s.host }
func (s *Server) Port() int    { return s.port }

// Log is what the server has printed so far (warnings and errors; "" for an external server).
func (s *Server) Log() string {
	if s.logBuf == nil {
		return ""
	}
	return s.logBuf.String()
}

// URL is the superuser's URL of the database name, with the admin URL's parameters
// (for a started server: sslmode=verify-full&sslrootcert=<CAFile>).
func (s *Server) URL(name string) string {
	u, err := url.Parse(s.adminURL)
	if err != nil {
		panic(err) // we parsed it before
	}
	u.Path = "/" + name
	return u.String()
}

// NewDatabase creates a fresh database with all migrations applied and returns its URL (for a
// started server with sslmode=verify-full&sslrootcert=<CAFile>). The database is dropped when
// the test ends.
func (s *Server) NewDatabase(ctx context.Context, t testing.TB) string {
	t.Helper()
	tpl, err := s.template(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s.newDatabase(ctx, t, tpl)
}

// NewEmptyDatabase creates a fresh database without any migrations (e.g. to test migrating),
// dropped when the test ends.
func (s *Server) NewEmptyDatabase(ctx context.Context, t testing.TB) string {
	t.Helper()
	return s.newDatabase(ctx, t, "template0")
}

func (s *Server) newDatabase(ctx context.Context, t testing.TB, template string) string {
	t.Helper()
	name := dbName(t.Name())
	if err := s.createDatabase(ctx, name, template); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := s.admin(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return s.URL(name)
}

func (s *Server) createDatabase(ctx context.Context, name, template string) error {
	sql := `CREATE DATABASE ` + pgx.Identifier{name}.Sanitize() + ` TEMPLATE ` + pgx.Identifier{template}.Sanitize() + s.strategy
	// CREATE DATABASE fails while someone is connected to the template (e.g. a concurrent clone
	// by another test binary on an external server); that is brief, so retry.
	var err error
	for attempt := 0; attempt < 50; attempt++ {
		err = s.admin(ctx, sql)
		if code, _ := pgCode(err); code != "55006" { // object_in_use
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// admin runs one statement as the superuser on the "postgres" database.
func (s *Server) admin(ctx context.Context, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

// template returns the name of a database with all migrations applied, creating it once. Its
// name contains a hash of the migrations, so on a shared external server it is reused until the
// schema changes. It is built under another name and renamed when complete, under an advisory
// lock, so concurrent test binaries neither race nor see a half-migrated template.
func (s *Server) template(ctx context.Context) (string, error) {
	s.tplOnce.Do(func() { s.tplName, s.tplErr = s.makeTemplate(ctx) })
	return s.tplName, s.tplErr
}

func (s *Server) makeTemplate(ctx context.Context) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "slotbook_template_" + sum[:16]
	conn, err := pgx.Connect(ctx, s.adminURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	const lockKey = 0x736c6f74_7467706c // "slottgpl"
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(lockKey)); err != nil {
		return "", err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(lockKey))
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_" + strings.ToLower(rand.Text()[:8])
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{building}.Sanitize()+` TEMPLATE template0`); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	if _, err := store.Migrate(ctx, s.URL(building)); err != nil {
		conn.Exec(context.WithoutCancel(ctx), `DROP DATABASE `+pgx.Identifier{building}.Sanitize()+` WITH (FORCE)`)
		return "", fmt.Errorf("migrate template: %w", err)
	}
	// WITH (FORCE) is not for RENAME; the migration's connections are closed, but a backend may
	// take a moment to go away.
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{building}.Sanitize()+` RENAME TO `+pgx.Identifier{name}.Sanitize())
		if code, _ := pgCode(err); code != "55006" || attempt == 100 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return "", fmt.Errorf("rename template: %w", err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{name}.Sanitize()+` WITH IS_TEMPLATE true`); err != nil {
		return "", err
	}
	return name, nil
}

func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(store.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(store.Migrations(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

var unsafeChars = regexp.MustCompile(`[^a-z0-9]+`)

// dbName makes a unique, readable database name from a test name.
func dbName(testName string) string {
	base := strings.Trim(unsafeChars.ReplaceAllString(strings.ToLower(testName), "_"), "_")
	if len(base) > 40 {
		base = base[:40]
	}
	return "t_" + base + "_" + strings.ToLower(rand.Text()[:10])
}

func pgCode(err error) (string, string) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code, pgErr.Message
	}
	return "", ""
}

// binDir finds initdb and postgres.
func binDir() (string, error) {
	candidates := []string{os.Getenv(EnvPGBin), "/usr/lib/postgresql/15/bin"}
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
				return dir, nil
			}
		}
	}
	return "", fmt.Errorf("pgtest: PostgreSQL server binaries not found (set %s, or on Debian: apt-get install postgresql-15)", EnvPGBin)
}

// credential is who initdb and postgres run as: nil for the current user, the "postgres" system
// user when we are root.
type credential struct{ uid, gid uint32 }

func runAs() (*credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and PostgreSQL refuses to: need the 'postgres' system user to run it as (apt-get install postgresql-15 creates it): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &credential{uint32(uid), uint32(gid)}, nil
}

func sysProcAttr(c *credential) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{
		// If the test binary dies without stopping the server, the server goes too. (Go sets it
		// after switching users, so the switch does not clear it.)
		Pdeathsig: syscall.SIGKILL,
		Setpgid:   true, // ^C in the terminal reaches the test binary, which stops the server itself
	}
	if c != nil {
		attr.Credential = &syscall.Credential{Uid: c.uid, Gid: c.gid}
	}
	return attr
}

func chownAll(dir string, c *credential) error {
	if c == nil {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(c.uid), int(c.gid))
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects the server's output.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 { // keep memory bounded
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)
