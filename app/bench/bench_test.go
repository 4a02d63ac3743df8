package bench

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
)

var (
	flagClients     = flag.Int("clients", 32, "concurrent clients of pgbench, the throughput and the contention run")
	flagDuration    = flag.Duration("duration", 15*time.Second, "length of each of the two pgbench runs and of the booking throughput run")
	flagContention  = flag.Duration("contention", 10*time.Second, "length of the contention run (a round is not cut short; at most 220 rounds with the default hours)")
	flagStaff       = flag.Int("staff", 20, "staff members, all offering the service")
	flagExisting    = flag.Int("existing", 5000, "existing bookings in the availability window")
	flagWindow      = flag.Int("window", 31, "days of the availability window (from today)")
	flagAvailN      = flag.Int("availability-requests", 200, "measured availability requests (sequential)")
	flagAvailWarmup = flag.Int("availability-warmup", 20, "unmeasured availability requests before them")
	flagHours       = flag.String("hours", "08:00-20:00", "working hours of every staff member, every day (HH:MM-HH:MM, 24:00 allowed)")
	flagPgbench     = flag.String("pgbench", "/usr/lib/postgresql/15/bin/pgbench", "the pgbench binary")
	flagPoolMax     = flag.Int("pool-max-conns", 0,
		"experiment, with -in-process: pool_max_conns=N in the app's database URL (0: pgxpool's default, max(4, CPUs)); "+
			"the binary refuses the parameter (its migration connection passes it to the server)")
	flagInProcess = flag.Bool("in-process", false,
		"diagnosis: serve the API in the benchmark process instead of running the binary, so that go test -cpuprofile sees it (no RSS figures)")
	flagDurable = flag.Bool("durable", false,
		"a durable server: fsync, synchronous_commit and full_page_writes on (pgtest's default is off), so every commit waits for its WAL flush as in production")
	flagAutoExplain = flag.String("auto-explain", "",
		"diagnosis: log plans of 2% of the app's statements with auto_explain (analyze, buffers) and write the server log to this file")
)

// The floors of the issue.
const (
	floorTPSRatio = 0.3
	floorAvailP99 = 50 * time.Millisecond
	floorIdleRSS  = 64 << 20
	mib           = 1 << 20
	// idleSettle is how long the app idles after its first requests before its RSS is read.
	idleSettle = 2 * time.Second
)

// BenchmarkApp measures the booking app against one PostgreSQL server, in one run:
//
//  1. pgbench ceiling: single-row INSERTs into a trivial table of the same database, clients
//     connections over the same TLS URL as the app, before and after the app's runs (averaged).
//  2. The app binary (built like `make build`) runs as its own process: RSS at idle after a
//     few requests.
//  3. Availability latency: sequential GETs of the whole window, any staff.
//  4. Booking throughput through POST /api/v1/bookings: clients goroutines with keep-alive
//     connections book distinct, non-conflicting slots with explicit staff for -duration.
//  5. Contention: rounds in which all clients race for 3 overlapping slots at once.
//  6. Checks in SQL: no overlapping confirmed bookings, as many rows as 201s.
//
// It fails if a floor is missed or a check fails, after logging every figure.
func BenchmarkApp(b *testing.B) {
	if b.N > 1 {
		b.Skip("run with -benchtime 1x")
	}
	open, err := parseHours(*flagHours)
	if err != nil {
		b.Fatal(err)
	}
	if *flagPoolMax > 0 && !*flagInProcess {
		b.Fatal("-pool-max-conns needs -in-process: `slotbook serve` migrates through database/sql, which sends pool_max_conns to the server as a run-time parameter and fails")
	}
	if _, err := exec.LookPath(*flagPgbench); err != nil {
		b.Fatalf("pgbench not found (-pgbench %s; on Debian: apt-get install postgresql-15): %v", *flagPgbench, err)
	}
	ctx := context.Background()
	dir := b.TempDir()
	started := time.Now()

	// Build while PostgreSQL starts.
	type built struct {
		bin string
		err error
	}
	buildDone := make(chan built, 1)
	go func() {
		if *flagInProcess {
			buildDone <- built{}
			return
		}
		bin, err := buildApp(ctx, dir)
		buildDone <- built{bin, err}
	}()

	srv, err := pgtest.Start(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Stop() }) // after the database's own cleanup, which drops it
	dbURL := srv.NewEmptyDatabase(ctx, b)
	if _, err := store.Migrate(ctx, dbURL); err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	f, err := seed(ctx, st, *flagStaff, *flagExisting, *flagWindow, open)
	st.Close()
	if err != nil {
		b.Fatal(err)
	}
	check, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer check.Close(ctx)
	var pgVersion string
	check.QueryRow(ctx, `SHOW server_version`).Scan(&pgVersion)
	durability := "fsync off"
	if *flagDurable {
		// All three take effect on reload; the app and pgbench connect only after it.
		for _, sql := range []string{`ALTER SYSTEM SET fsync = on`, `ALTER SYSTEM SET synchronous_commit = on`,
			`ALTER SYSTEM SET full_page_writes = on`, `SELECT pg_reload_conf()`} {
			if _, err := check.Exec(ctx, sql); err != nil {
				b.Fatal(err)
			}
		}
		durability = "fsync, synchronous_commit and full_page_writes on"
	}
	bi := <-buildDone
	if bi.err != nil {
		b.Fatal(bi.err)
	}
	postmaster := findPostmaster()
	meter := cpuMeter{postmaster: postmaster}
	b.Logf("machine: %d CPUs, %.1f GiB RAM, %s; GOMAXPROCS %d; PostgreSQL %s (pgtest: TLS verify-full, %s); code %s; load average %s; setup %.1f s",
		runtime.NumCPU(), float64(memTotal())/(1<<30), runtime.Version(), runtime.GOMAXPROCS(0), pgVersion, durability, codeVersion(),
		loadAverage(), time.Since(started).Seconds())
	if postmaster == 0 {
		b.Logf("the PostgreSQL server is not a child of this process (%s?): no PostgreSQL CPU figures", pgtest.EnvDatabaseURL)
	}

	// 1. The ceiling, first half.
	pg1, err := runPgbench(ctx, *flagPgbench, dir, dbURL, *flagClients, *flagDuration, meter, trivialInsert)
	if err != nil {
		b.Fatal(err)
	}
	logPgbench(b, "#1", pg1)
	bookingScript := bookingSQLScript(f)
	bs1, err := runPgbench(ctx, *flagPgbench, dir, dbURL, *flagClients, *flagDuration, meter, bookingScript)
	if err != nil {
		b.Fatal(err)
	}
	logPgbench(b, "booking SQL #1", bs1)

	if *flagAutoExplain != "" {
		if err := autoExplain(ctx, check, dbURL); err != nil {
			b.Fatal(err)
		}
		defer func() {
			if err := os.WriteFile(*flagAutoExplain, []byte(srv.Log()), 0o644); err != nil {
				b.Error(err)
			}
		}()
	}

	// 2. The app.
	appURL := dbURL
	if *flagPoolMax > 0 {
		appURL = withParam(dbURL, "pool_max_conns", fmt.Sprint(*flagPoolMax))
	}
	var app *appProcess
	if *flagInProcess {
		app, err = startInProcess(ctx, appURL)
	} else {
		app, err = startApp(ctx, bi.bin, appURL)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer app.stop()
	meter.appPID = app.pid()
	client := newClient()
	for _, path := range []string{"/healthz", "/api/v1/services", "/api/v1/staff",
		fmt.Sprintf("/api/v1/availability?service=%d&from=%s&to=%s", f.serviceID, f.today.AddDays(1), f.today.AddDays(1)), "/"} {
		if _, err := getOnce(ctx, client, app.baseURL+path); err != nil {
			b.Fatal(err)
		}
	}
	client.CloseIdleConnections()
	time.Sleep(idleSettle)
	idleRSS, _, _ := memStatus(app.pid())
	idleHeap, _ := app.metric("go_memstats_heap_inuse_bytes")
	b.Logf("app idle: RSS %.1f MiB (Go heap in use %.1f MiB)", float64(idleRSS)/mib, idleHeap/mib)

	peak := sampleRSS(app.pid())

	// 3. Availability.
	av, err := runAvailability(ctx, f, app.baseURL, *flagWindow, *flagAvailWarmup, *flagAvailN, meter)
	if err != nil {
		b.Fatal(err)
	}
	p50, p99 := quantile(av.latencies, 0.5), quantile(av.latencies, 0.99)
	b.Logf("availability (%d days, %d staff, %d existing bookings, hours %s): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; %d slots, %d staff-starts free, %d KiB per answer; CPU per request %s, neighbours %.2f cores",
		*flagWindow, *flagStaff, *flagExisting, *flagHours, ms(p50), ms(quantile(av.latencies, 0.9)), ms(p99), ms(quantile(av.latencies, 1)),
		av.slots, av.staffFree, av.bytes>>10, av.cpu.per(len(av.latencies), "client"), av.cpu.neighbours())

	// 4. Throughput.
	dbBefore, err := readDBStats(ctx, check)
	if err != nil {
		b.Fatal(err)
	}
	tp := runThroughput(ctx, f, app.baseURL, *flagClients, *flagDuration, meter)
	time.Sleep(600 * time.Millisecond) // backends report their statistics at most every 500 ms
	dbAfter, err := readDBStats(ctx, check)
	if err != nil {
		b.Fatal(err)
	}
	dbDelta := dbAfter.minus(dbBefore)
	tpP50, tpP99 := quantile(tp.latencies, 0.5), quantile(tp.latencies, 0.99)
	b.Logf("booking throughput: %.0f bookings/s (%d in %.1f s; %s), latency p50 %.1f ms, p99 %.1f ms; CPU per booking %s, neighbours %.2f cores; database per booking: %.1f transactions, %.0f rows fetched by index, %.0f read by sequential scans",
		tp.tps(), tp.created, tp.elapsed.Seconds(), tp.statuses, ms(tpP50), ms(tpP99),
		tp.cpu.per(tp.created, "client"), tp.cpu.neighbours(),
		perOp(dbDelta.commits, tp.created), perOp(dbDelta.tupFetched, tp.created), perOp(dbDelta.tupReturned, tp.created))
	if tp.firstErr != nil {
		b.Logf("first failed booking: %v", tp.firstErr)
	}

	// 5. Contention.
	co := runContention(ctx, f, app.baseURL, *flagClients, *flagContention, meter)
	peakRSS := peak.Stop()
	b.Logf("contention: %d rounds of %d clients on 3 slots (2 can win each) in %.1f s: %s; latency p50 %.0f ms, p99 %.0f ms, max %.0f ms; CPU per request %s",
		co.rounds, *flagClients, co.elapsed.Seconds(), co.statuses, ms(quantile(co.latencies, 0.5)), ms(quantile(co.latencies, 0.99)),
		ms(quantile(co.latencies, 1)), co.cpu.per(co.rounds**flagClients, "client"))
	coP99, coMax := quantile(co.latencies, 0.99), quantile(co.latencies, 1)
	for _, r := range co.badRounds {
		b.Logf("contention: unexpected outcome: %s", r)
	}
	if errs := app.errorLines(5); len(errs) > 0 {
		b.Logf("the app logged errors (the first %d):\n%s", len(errs), strings.Join(errs, "\n"))
		if d := serverErrors(srv.Log(), "deadlock detected", 2); d != "" {
			b.Logf("PostgreSQL's log of the first deadlocks:\n%s", d)
		}
	}
	_, hwm, _ := memStatus(app.pid())
	hwm = max(hwm, peakRSS) // VmHWM is updated lazily and may lag behind a sampled VmRSS

	// 1'. The ceiling, second half (the app idles meanwhile).
	bs2, err := runPgbench(ctx, *flagPgbench, dir, dbURL, *flagClients, *flagDuration, meter, bookingScript)
	if err != nil {
		b.Fatal(err)
	}
	logPgbench(b, "booking SQL #2", bs2)
	pg2, err := runPgbench(ctx, *flagPgbench, dir, dbURL, *flagClients, *flagDuration, meter, trivialInsert)
	if err != nil {
		b.Fatal(err)
	}
	logPgbench(b, "#2", pg2)
	ceiling := (pg1.tps + pg2.tps) / 2
	bookingCeiling := (bs1.tps + bs2.tps) / 2
	afterRSS, _, _ := memStatus(app.pid())

	// 6. Checks. Statistics first: the tables grew by tens of thousands of rows since the last
	// ANALYZE, and with the old ones the self-join of doubleBookings took minutes (a hash join
	// comparing every pair of a staff member's bookings instead of the GiST index).
	checkStart := time.Now()
	if _, err := check.Exec(ctx, `ANALYZE bookings, audit_log`); err != nil {
		b.Fatal(err)
	}
	doubles, err := doubleBookings(ctx, check)
	if err != nil {
		b.Fatal(err)
	}
	tputRows, err := countBookings(ctx, check, "tput-")
	if err != nil {
		b.Fatal(err)
	}
	contRows, err := countBookings(ctx, check, "contention-")
	if err != nil {
		b.Fatal(err)
	}
	contCreated := co.statuses[http.StatusCreated]
	b.Logf("checks: %d overlapping confirmed bookings; throughput: %d rows for %d × 201; contention: %d rows for %d × 201 (%.1f s)",
		doubles, tputRows, tp.created, contRows, contCreated, time.Since(checkStart).Seconds())
	var audited int
	if err := check.QueryRow(ctx, `
		SELECT count(*) FROM audit_log a JOIN bookings b ON a.object_id = b.id::text
		WHERE a.object_type = 'booking' AND a.action = 'booking.create' AND a.actor = 'customer'
		  AND (b.customer_email LIKE 'tput-%' OR b.customer_email LIKE 'contention-%')`).Scan(&audited); err != nil {
		b.Fatal(err)
	}
	verifyStart := time.Now()
	chain, err := audit.Verify(ctx, check)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("audit: %d booking.create entries for %d app bookings; chain of %d rows verified in %.1f s: OK %v (first bad %v)",
		audited, tputRows+contRows, chain.Rows, time.Since(verifyStart).Seconds(), chain.OK(), chain.FirstBad)

	ratio := tp.tps() / ceiling
	bookingRatio := tp.tps() / bookingCeiling
	rss := fmt.Sprintf("**idle %.1f MiB**; under load peak %.1f MiB (VmHWM %.1f); after load %.1f",
		float64(idleRSS)/mib, float64(peakRSS)/mib, float64(hwm)/mib, float64(afterRSS)/mib)
	if *flagInProcess {
		rss = "n/a (-in-process)"
	}
	rows := []string{
		fmt.Sprintf("| pgbench ceiling: 1-row INSERT, %d clients | %.0f TPS (%.0f before, %.0f after); CPU per insert %s | — |",
			*flagClients, ceiling, pg1.tps, pg2.tps, pg1.cpu.plus(pg2.cpu).per(int(pg1.txns+pg2.txns), "pgbench")),
		fmt.Sprintf("| pgbench, the booking's own SQL (insert + audit append), %d clients | %.0f TPS (%.0f before, %.0f after); CPU per booking %s | — |",
			*flagClients, bookingCeiling, bs1.tps, bs2.tps, bs1.cpu.plus(bs2.cpu).per(int(bs1.txns+bs2.txns), "pgbench")),
		fmt.Sprintf("| booking throughput: POST /api/v1/bookings, %d clients, distinct slots | %.0f bookings/s = **%.3f×** the ceiling, %.2f× the booking SQL; p50 / p99 %.0f / %.0f ms; CPU per booking %s | ≥ %.1f× |",
			*flagClients, tp.tps(), ratio, bookingRatio, ms(tpP50), ms(tpP99), tp.cpu.per(tp.created, "client"), floorTPSRatio),
		fmt.Sprintf("| contention: %d clients, 3 overlapping slots, %d rounds | %s; **%d double bookings**; %d rows for %d × 201; latency p99 %.0f ms, max %.0f ms | 0 double bookings |",
			*flagClients, co.rounds, co.statuses, doubles, contRows, contCreated, ms(coP99), ms(coMax)),
		fmt.Sprintf("| availability: %d days, %d staff, %d existing bookings (%d slots, %d KiB) | p50 %.1f ms, **p99 %.1f ms** | p99 ≤ %d ms |",
			*flagWindow, *flagStaff, *flagExisting, av.slots, av.bytes>>10, ms(p50), ms(p99), floorAvailP99.Milliseconds()),
		fmt.Sprintf("| app RSS | %s | idle ≤ %d MiB |", rss, floorIdleRSS/mib),
	}
	b.Logf("results (%s, load average %s, total %.0f s):\n| figure | result | floor |\n|---|---|---|\n%s",
		time.Now().Format("2006-01-02"), loadAverage(), time.Since(started).Seconds(), strings.Join(rows, "\n"))

	var failures []string
	if ratio < floorTPSRatio {
		failures = append(failures, fmt.Sprintf("booking throughput %.0f/s is %.3f× the pgbench ceiling of %.0f TPS: below the floor of %.1f×",
			tp.tps(), ratio, ceiling, floorTPSRatio))
	}
	if !chain.OK() || audited != tputRows+contRows {
		failures = append(failures, fmt.Sprintf("audit: chain OK %v (first bad %v), %d booking.create entries for %d bookings",
			chain.OK(), chain.FirstBad, audited, tputRows+contRows))
	}
	if len(tp.statuses) != 1 {
		failures = append(failures, fmt.Sprintf("the throughput run, on distinct free slots, had answers other than 201: %s (first: %v)", tp.statuses, tp.firstErr))
	}
	if doubles != 0 {
		failures = append(failures, fmt.Sprintf("%d double bookings (pairs of overlapping confirmed bookings of one staff member)", doubles))
	}
	if tputRows != tp.created || contRows != contCreated {
		failures = append(failures, fmt.Sprintf("rows and 201s differ: throughput %d rows for %d × 201, contention %d rows for %d × 201",
			tputRows, tp.created, contRows, contCreated))
	}
	if len(co.badRounds) > 0 {
		failures = append(failures, fmt.Sprintf("%d of %d contention rounds did not end with exactly %d × 201 and %d × 409 (the API promises 409 to every loser): %s",
			len(co.badRounds), co.rounds, contentionWinners, *flagClients-contentionWinners, strings.Join(co.badRounds, "; ")))
	}
	if p99 > floorAvailP99 {
		failures = append(failures, fmt.Sprintf("availability p99 %.1f ms is above the floor of %d ms", ms(p99), floorAvailP99.Milliseconds()))
	}
	if !*flagInProcess && idleRSS > floorIdleRSS {
		failures = append(failures, fmt.Sprintf("idle RSS %.1f MiB is above the floor of %d MiB", float64(idleRSS)/mib, floorIdleRSS/mib))
	}
	if len(failures) > 0 {
		b.Fatalf("FAILED (the figures above are complete):\n  %s", strings.Join(failures, "\n  "))
	}
	b.Logf("all floors hold, 0 double bookings")
}

func logPgbench(b *testing.B, name string, r pgbenchResult) {
	b.Logf("pgbench %s: %.0f TPS (%d inserts, latency avg %.2f ms, %d failed), CPU per insert %s, neighbours %.2f cores",
		name, r.tps, r.txns, r.latencyMS, r.failed, r.cpu.per(int(r.txns), "pgbench"), r.cpu.neighbours())
}

// autoExplain makes new sessions of the benchmark's database log the plans (with actual times and
// buffers) of 2% of their statements at level WARNING, which pgtest's server log keeps.
func autoExplain(ctx context.Context, conn *pgx.Conn, dbURL string) error {
	u, err := url.Parse(dbURL)
	if err != nil {
		return err
	}
	db := pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()
	for _, set := range []string{
		`session_preload_libraries = 'auto_explain'`,
		`auto_explain.log_min_duration = 0`,
		`auto_explain.log_level = 'warning'`,
		`auto_explain.log_analyze = on`,
		`auto_explain.log_buffers = on`,
		`auto_explain.sample_rate = 0.02`,
	} {
		if _, err := conn.Exec(ctx, `ALTER DATABASE `+db+` SET `+set); err != nil {
			return err
		}
	}
	return nil
}

// serverErrors returns up to n ERROR entries of PostgreSQL's log that contain msg, with their
// DETAIL, CONTEXT and continuation lines (a deadlock's DETAIL names the processes and their
// statements).
func serverErrors(log, msg string, n int) string {
	var out []string
	lines := strings.Split(log, "\n")
	for i := 0; i < len(lines) && n > 0; i++ {
		if !strings.Contains(lines[i], "ERROR:") || !strings.Contains(lines[i], msg) {
			continue
		}
		n--
		out = append(out, lines[i])
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], "\t") || strings.Contains(lines[i+1], "DETAIL:") ||
			strings.Contains(lines[i+1], "HINT:") || strings.Contains(lines[i+1], "CONTEXT:")) {
			i++
			out = append(out, lines[i])
		}
	}
	return strings.Join(out, "\n")
}

// codeVersion is the commit of the working tree, marked dirty if it has changes.
func codeVersion() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func perOp(n int64, ops int) float64 {
	if ops == 0 {
		return 0
	}
	return float64(n) / float64(ops)
}

func parseHours(s string) (schedule.Interval, error) {
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return schedule.Interval{}, fmt.Errorf("-hours %q: want HH:MM-HH:MM", s)
	}
	a, err1 := schedule.ParseClock(from)
	z, err2 := schedule.ParseClock(to)
	if err1 != nil || err2 != nil || a >= z || int(z-a) < 90 {
		return schedule.Interval{}, fmt.Errorf("-hours %q: want HH:MM-HH:MM, at least 90 minutes", s)
	}
	return schedule.Interval{Start: a, End: z}, nil
}

func withParam(rawURL, key, value string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}
