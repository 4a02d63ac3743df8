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
func runPgbench(ctx context.Context, pgbench, dir, databaseURL string, clients int, d time.Duration, meter cpuMeter) (pgbenchResult, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return pgbenchResult{}, err
	}
	_, err = conn.Exec(ctx, ceilingTable)
	conn.Close(ctx)
	if err != nil {
		return pgbenchResult{}, err
	}
	script := filepath.Join(dir, "insert.sql")
	if err := os.WriteFile(script, []byte(ceilingScript), 0o644); err != nil {
		return pgbenchResult{}, err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, pgbench, "-n", "-c", strconv.Itoa(clients), "-j", "2",
		"-T", strconv.Itoa(int(d/time.Second)), "-f", script, databaseURL)
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
