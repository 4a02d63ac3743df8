package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// The ceiling: a table as simple as it gets, and a script inserting one row per transaction.
const (
	ceilingTable = `CREATE TABLE IF NOT EXISTS pgbench_ceiling (
		id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		created_at timestamptz NOT NULL DEFAULT now(),
		payload    text        NOT NULL
	)`
	ceilingScript = "INSERT INTO pgbench_ceiling (payload) VALUES ('one row, like one booking');\n"
)

// pgbenchScript is what a pgbench run executes: setup statements run once before it, the script
// (one transaction), and extra pgbench arguments.
type pgbenchScript struct {
	name  string
	setup []string
	body  string
	args  []string
}

// trivialInsert is the ceiling of the issue: one row into a trivial table per transaction.
var trivialInsert = pgbenchScript{name: "insert.sql", setup: []string{ceilingTable}, body: ceilingScript}

// bookingSQLScript is the second reference: the app's own booking statement
// (store.InsertBookingIfCurrent, the path of a booking with a chosen staff member), run by pgbench
// without the app: the catalogue version check, the staff member's advisory lock, the INSERT
// with its exclusion constraint, foreign keys and indexes, and the audit append (audit_append:
// the chain's global lock, the previous hash, sha256, the audit row and its indexes), committed
// as one implicit transaction. Every transaction books the next free half hour of the staff
// members in turn, from day 450 on (after everything else of the benchmark), so none conflicts.
// The diff is what the app writes, as canonical JSON (audit_append hashes the text it is given, so
// it must be canonical: numbers normalised, 10 is "1e1"), so audit.Verify checks these rows too. Prepared statements, as pgx uses them.
func bookingSQLScript(f *fixture) pgbenchScript {
	staff := make([]string, len(f.staffIDs))
	for i, id := range f.staffIDs {
		staff[i] = fmt.Sprint(id)
	}
	base := f.at(450, 0).UTC().Format(time.RFC3339)
	ts := func(col string) string {
		// Not "HH24:MI:SS": pgbench would take :MI and :SS for its variables.
		return `replace(to_char(` + col + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24.MI.SS"Z"'), '.', chr(58))`
	}
	body := fmt.Sprintf(`WITH seq AS (SELECT nextval('pgbench_booking_seq') AS n),
p AS (SELECT n, (ARRAY[%[1]s]::bigint[])[1 + n %% %[2]d] AS staff,
             timestamptz '%[3]s' + (n / %[2]d) * interval '30 minutes' AS start FROM seq),
cv AS (SELECT version FROM catalog_version),
staff_lock AS (SELECT pg_advisory_xact_lock(%[4]d, p.staff::int) FROM cv, p WHERE cv.version <= 1000000000),
ins AS (
  INSERT INTO bookings (service_id, staff_id, start_at, end_at, blocked, customer_name,
                        customer_email, customer_phone, locale, status, manage_token_hash)
  SELECT %[5]d, p.staff, p.start, p.start + interval '30 minutes',
         tstzrange(p.start, p.start + interval '30 minutes', '[)'), 'pgbench-' || p.n,
         'pgbench@example.com', '', 'en', 'confirmed', sha256(convert_to('pgbench-' || p.n, 'UTF8'))
  FROM staff_lock, p
  ON CONFLICT DO NOTHING
  RETURNING id, staff_id, start_at, end_at, created_at, updated_at),
aud AS (SELECT audit_append(clock_timestamp(), 'customer', 'booking.create', 'booking', ins.id::text,
          '{"end":"' || %[6]s || '","service_id":%[8]s,"staff_id":' || %[9]s ||
          ',"start":"' || %[7]s || '","status":"confirmed"}', '') AS audit_id FROM ins)
SELECT cv.version, ins.id, ins.created_at, ins.updated_at FROM cv LEFT JOIN (ins CROSS JOIN aud) ON true;
`, strings.Join(staff, ","), len(staff), base, bookingLockClass, f.serviceID, ts("ins.end_at"), ts("ins.start_at"),
		canonicalInt(f.serviceID), canonicalIntSQL("ins.staff_id::text"))
	return pgbenchScript{
		name:  "booking.sql",
		setup: []string{`CREATE SEQUENCE IF NOT EXISTS pgbench_booking_seq`},
		body:  body,
		args:  []string{"-M", "prepared"},
	}
}

// canonicalInt is a positive integer as canonical JSON (package audit): trailing zeros as an
// exponent, 10 is "1e1".
func canonicalInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	t := strings.TrimRight(s, "0")
	if len(t) < len(s) {
		return t + "e" + strconv.Itoa(len(s)-len(t))
	}
	return s
}

// canonicalIntSQL is canonicalInt in SQL, of the text of a positive integer.
func canonicalIntSQL(text string) string {
	return `(rtrim(` + text + `, '0') || CASE WHEN length(` + text + `) > length(rtrim(` + text + `, '0'))
		THEN 'e' || (length(` + text + `) - length(rtrim(` + text + `, '0'))) ELSE '' END)`
}

// bookingLockClass is store's first key of a staff member's booking lock.
const bookingLockClass = 0x5107

type pgbenchResult struct {
	tps       float64 // without initial connection time
	txns      int64
	latencyMS float64
	failed    int64
	cpu       cpuSpan
	output    string
}

var (
	reTPS     = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	reTxns    = regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`)
	reLatency = regexp.MustCompile(`latency average = ([0-9.]+) ms`)
	reFailed  = regexp.MustCompile(`number of failed transactions: ([0-9]+)`)
)

// runPgbench runs pgbench against databaseURL (a libpq-compatible URI: the same TLS parameters as
// the app's) with clients connections on 2 threads for d.
func runPgbench(ctx context.Context, pgbench, dir, databaseURL string, clients int, d time.Duration, meter cpuMeter, sc pgbenchScript) (pgbenchResult, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return pgbenchResult{}, err
	}
	for _, sql := range sc.setup {
		if _, err = conn.Exec(ctx, sql); err != nil {
			break
		}
	}
	conn.Close(ctx)
	if err != nil {
		return pgbenchResult{}, err
	}
	script := filepath.Join(dir, sc.name)
	if err := os.WriteFile(script, []byte(sc.body), 0o644); err != nil {
		return pgbenchResult{}, err
	}
	var out bytes.Buffer
	args := append([]string{"-n", "-c", strconv.Itoa(clients), "-j", "2", "-T", strconv.Itoa(int(d / time.Second))}, sc.args...)
	cmd := exec.CommandContext(ctx, pgbench, append(args, "-f", script, databaseURL)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	backends := len(childrenOf(meter.postmaster))
	before := meter.sample()
	if err := cmd.Run(); err != nil {
		return pgbenchResult{}, fmt.Errorf("pgbench: %w\n%s", err, out.String())
	}
	// pgbench's backends are exiting: their CPU time moves to the postmaster's cutime only when it
	// has reaped them (an exited, unreaped backend shows no CPU time), so wait for that.
	for deadline := time.Now().Add(5 * time.Second); meter.postmaster != 0 && time.Now().Before(deadline); {
		if len(childrenOf(meter.postmaster)) <= backends {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := pgbenchResult{output: out.String(), cpu: meter.since(before)}
	r.cpu.extra = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	m := reTPS.FindStringSubmatch(r.output)
	if m == nil {
		return r, fmt.Errorf("pgbench: no tps in its output:\n%s", r.output)
	}
	r.tps, _ = strconv.ParseFloat(m[1], 64)
	if m := reTxns.FindStringSubmatch(r.output); m != nil {
		r.txns, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := reLatency.FindStringSubmatch(r.output); m != nil {
		r.latencyMS, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reFailed.FindStringSubmatch(r.output); m != nil {
		r.failed, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return r, nil
}
