package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newDB returns a fresh migrated database's (superuser) URL and a pool on it.
func newDB(t *testing.T) (string, *pgxpool.Pool) {
	t.Helper()
	u := pgtest.NewDatabase(t)
	return u, openPool(t, u, nil)
}

func openPool(t *testing.T, u string, params map[string]string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 20
	for k, v := range params {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// appendOne appends e in a transaction of its own.
func appendOne(t *testing.T, db *pgxpool.Pool, e audit.Entry) {
	t.Helper()
	if err := pgx.BeginFunc(t.Context(), db, func(tx pgx.Tx) error { return audit.Append(t.Context(), tx, e) }); err != nil {
		t.Fatalf("append %+v: %v", e, err)
	}
}

// seed appends n entries ("booking.update" on booking i) and returns their ids.
func seed(t *testing.T, db *pgxpool.Pool, n int) []int64 {
	t.Helper()
	for i := 1; i <= n; i++ {
		appendOne(t, db, audit.Entry{Actor: "user:1", Action: "booking.update", ObjectType: "booking",
			ObjectID: fmt.Sprint(i), Diff: map[string]any{"status": map[string]string{"from": "confirmed", "to": "cancelled"}, "n": i}})
	}
	recs, err := audit.Query(t.Context(), db, audit.Filter{})
	if err != nil || len(recs) != n {
		t.Fatalf("Query = %d records, %v; want %d", len(recs), err, n)
	}
	ids := make([]int64, n)
	for i, r := range recs {
		ids[i] = r.ID
	}
	return ids
}

func mustVerify(t *testing.T, db audit.Querier, anchors ...audit.Head) audit.Result {
	t.Helper()
	res, err := audit.Verify(t.Context(), db, anchors...)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func wantOK(t *testing.T, db audit.Querier, rows int64) audit.Result {
	t.Helper()
	res := mustVerify(t, db)
	if !res.OK() || res.Rows != rows || res.BadRows != 0 {
		t.Fatalf("Verify = %+v (first bad %v); want %d good rows", res, res.FirstBad, rows)
	}
	return res
}

func wantBad(t *testing.T, res audit.Result, id int64, p audit.Problem) {
	t.Helper()
	if res.FirstBad == nil {
		t.Fatalf("Verify found nothing wrong (%d rows); want row %d: %s", res.Rows, id, p)
	}
	if res.FirstBad.ID != id || res.FirstBad.Problem != p {
		t.Fatalf("first bad row = %v; want row %d: %s", *res.FirstBad, id, p)
	}
	t.Logf("detected: %v", *res.FirstBad)
}

// tamper runs sql as the superuser with the append-only triggers disabled (what an attacker with
// superuser or owner rights could do), then re-enables them as ENABLE ALWAYS.
func tamper(t *testing.T, dbURL, sql string, args ...any) {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `ALTER TABLE audit_log DISABLE TRIGGER ALL`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, sql, args...); err != nil {
			return fmt.Errorf("%s: %w", sql, err)
		}
		_, err := tx.Exec(ctx, `
			ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_update_delete;
			ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate`)
		return err
	})
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
	wantTriggersAlways(t, conn)
}

func wantTriggersAlways(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	rows, err := conn.Query(t.Context(), `
		SELECT tgname, tgenabled::text FROM pg_trigger
		WHERE tgrelid = 'audit_log'::regclass AND NOT tgisinternal ORDER BY tgname`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var name, enabled string
		err := r.Scan(&name, &enabled)
		return name + "=" + enabled, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "audit_log_no_truncate=A audit_log_no_update_delete=A"; strings.Join(got, " ") != want {
		t.Fatalf("triggers: %v; want %s", got, want)
	}
}

func TestAppendVerifyQuery(t *testing.T) {
	ctx := t.Context()
	_, db := newDB(t)
	res := wantOK(t, db, 0)
	if res.Last.ID != 0 || res.Last.Hash != nil {
		t.Fatalf("empty log: Last = %v", res.Last)
	}

	at := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		// Several appends in one transaction chain up too.
		for _, e := range []audit.Entry{
			{Actor: "user:42", Action: "booking.create", ObjectType: "booking", ObjectID: "17",
				Diff:      map[string]any{"start": "2026-03-02T10:00:00Z", "staff_id": 3, "customer_email": "set"},
				RequestID: "req-1", At: at},
			{Actor: "customer:booking:17", Action: "booking.cancel", ObjectType: "booking", ObjectID: "17",
				Diff: json.RawMessage(`{"status": {"from": "confirmed", "to": "cancelled"}}`), At: at.Add(time.Second)},
			{Actor: "system", Action: "login.failed"}, // no object, no diff, now
		} {
			if err := audit.Append(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res = wantOK(t, db, 3)

	recs, err := audit.Query(ctx, db, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	r0, r1, r2 := recs[0], recs[1], recs[2]
	if !r0.At.Equal(at.Truncate(time.Microsecond)) || r0.At.Location() != time.UTC || r0.Actor != "user:42" ||
		r0.Action != "booking.create" || r0.ObjectType != "booking" || r0.ObjectID != "17" || r0.RequestID != "req-1" {
		t.Errorf("first record = %+v", r0)
	}
	var diff map[string]any
	if err := json.Unmarshal(r0.Diff, &diff); err != nil || diff["staff_id"] != 3.0 || diff["customer_email"] != "set" {
		t.Errorf("diff = %s, %v", r0.Diff, err)
	}
	if r0.PrevHash != nil || !bytes.Equal(r1.PrevHash, r0.Hash) || !bytes.Equal(r2.PrevHash, r1.Hash) || len(r2.Hash) != 32 {
		t.Errorf("links: %x <- %x <- %x", r0.Hash, r1.PrevHash, r2.PrevHash)
	}
	if r2.Diff != nil || time.Since(r2.At) > time.Minute {
		t.Errorf("third record = %+v", r2)
	}
	if res.Last.ID != r2.ID || !bytes.Equal(res.Last.Hash, r2.Hash) {
		t.Errorf("Last = %v, want %d:%x", res.Last, r2.ID, r2.Hash)
	}

	// A nil map and JSON null are stored as no diff.
	appendOne(t, db, audit.Entry{Actor: "system", Action: "x.y", Diff: map[string]any(nil)})
	appendOne(t, db, audit.Entry{Actor: "system", Action: "x.y", Diff: json.RawMessage("null")})
	recs, _ = audit.Query(ctx, db, audit.Filter{Action: "x.y"})
	if len(recs) != 2 || recs[0].Diff != nil || recs[1].Diff != nil {
		t.Errorf("null diffs: %+v", recs)
	}
	wantOK(t, db, 5)
}

func TestAppendRollsBackWithChange(t *testing.T) {
	ctx := t.Context()
	_, db := newDB(t)
	count := func(table string) (n int) {
		t.Helper()
		if err := db.QueryRow(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	change := func(tx pgx.Tx, name string) error {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO staff (name) VALUES ($1) RETURNING id`, name).Scan(&id); err != nil {
			return err
		}
		return audit.Append(ctx, tx, audit.Entry{Actor: "user:1", Action: "staff.create", ObjectType: "staff",
			ObjectID: fmt.Sprint(id), Diff: map[string]any{"name": "set"}})
	}
	errBoom := errors.New("boom")

	// Rolled back: neither the change nor its entry.
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := change(tx, "Anna"); err != nil {
			return err
		}
		return errBoom
	}); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	// A later statement of the transaction fails: both are gone, too.
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := change(tx, "Ben"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO staff (name) VALUES ('')`) // violates a CHECK
		return err
	}); err == nil {
		t.Fatal("the invalid insert succeeded")
	}
	if s, a := count("staff"), count("audit_log"); s != 0 || a != 0 {
		t.Fatalf("after rollbacks: %d staff, %d audit rows; want none", s, a)
	}
	// Committed: both, and the chain is fine although the rolled-back appends used up ids.
	for _, name := range []string{"Clara", "Dora"} {
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return change(tx, name) }); err != nil {
			t.Fatal(err)
		}
	}
	if s, a := count("staff"), count("audit_log"); s != 2 || a != 2 {
		t.Fatalf("after commits: %d staff, %d audit rows; want 2 and 2", s, a)
	}
	recs, _ := audit.Query(ctx, db, audit.Filter{})
	if recs[0].ID == 1 {
		t.Logf("note: no id gap (ids %d, %d)", recs[0].ID, recs[1].ID)
	}
	wantOK(t, db, 2)
}

func TestConcurrentAppends(t *testing.T) {
	ctx := t.Context()
	_, db := newDB(t)
	const workers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	var mu sync.Mutex
	committed := 0
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				rollback := (w+i)%7 == 0
				err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
					if err := audit.Append(ctx, tx, audit.Entry{Actor: fmt.Sprintf("user:%d", w), Action: "booking.create",
						ObjectType: "booking", ObjectID: fmt.Sprint(i), Diff: map[string]int{"w": w, "i": i}}); err != nil {
						return err
					}
					if rollback {
						return errRollback
					}
					return nil
				})
				switch {
				case rollback && errors.Is(err, errRollback):
				case err != nil:
					errs <- err
				default:
					mu.Lock()
					committed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	wantOK(t, db, int64(committed))
	t.Logf("%d appends committed, chain intact", committed)
}

var errRollback = errors.New("roll back")

func TestDetectsEditedRow(t *testing.T) {
	u, db := newDB(t)
	ids := seed(t, db, 5)
	wantOK(t, db, 5)
	tamper(t, u, `UPDATE audit_log SET diff = '{"status": "nothing happened"}' WHERE id = $1`, ids[2])
	res := mustVerify(t, db)
	wantBad(t, res, ids[2], audit.ProblemHash)
	if res.BadRows != 1 || res.Rows != 5 {
		t.Errorf("Verify = %+v; want one bad row of 5", res)
	}

	// Another field, and the time by a microsecond.
	u, db = newDB(t)
	ids = seed(t, db, 5)
	tamper(t, u, `UPDATE audit_log SET actor = 'user:2' WHERE id = $1`, ids[3])
	wantBad(t, mustVerify(t, db), ids[3], audit.ProblemHash)
	tamper(t, u, `UPDATE audit_log SET occurred_at = occurred_at + interval '1 microsecond' WHERE id = $1`, ids[1])
	wantBad(t, mustVerify(t, db), ids[1], audit.ProblemHash)
}

func TestDetectsDeletedRow(t *testing.T) {
	for _, c := range []struct {
		name     string
		del, bad int // indexes into the ids
	}{
		{"middle", 2, 3},
		{"first", 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, db := newDB(t)
			ids := seed(t, db, 5)
			tamper(t, u, `DELETE FROM audit_log WHERE id = $1`, ids[c.del])
			res := mustVerify(t, db)
			wantBad(t, res, ids[c.bad], audit.ProblemLink)
			if res.Rows != 4 || res.BadRows != 1 {
				t.Errorf("Verify = %+v; want 4 rows, 1 bad", res)
			}
		})
	}
	t.Run("last", func(t *testing.T) {
		// The chain alone cannot tell a cut-off end; an anchor recorded earlier can.
		u, db := newDB(t)
		ids := seed(t, db, 5)
		anchor := wantOK(t, db, 5).Last
		tamper(t, u, `DELETE FROM audit_log WHERE id >= $1`, ids[3])
		wantOK(t, db, 3)
		wantBad(t, mustVerify(t, db, anchor), ids[4], audit.ProblemAnchor)
	})
	t.Run("truncate", func(t *testing.T) {
		u, db := newDB(t)
		seed(t, db, 2)
		anchor := wantOK(t, db, 2).Last
		tamper(t, u, `TRUNCATE audit_log`)
		wantBad(t, mustVerify(t, db, anchor), anchor.ID, audit.ProblemAnchor)
	})
}

func TestDetectsReorderedRows(t *testing.T) {
	const swap = `
		UPDATE audit_log a SET %s
		FROM audit_log b
		WHERE (a.id, b.id) IN (($1, $2), ($2, $1))`
	t.Run("whole rows", func(t *testing.T) {
		// Rows 2 and 4 (ids[1], ids[3]) change places, hashes and all. (The unique index on
		// prev_hash forces the attacker to take a detour through a temporary prev_hash.)
		u, db := newDB(t)
		ids := seed(t, db, 5)
		recs, err := audit.Query(t.Context(), db, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		tamper(t, u, `UPDATE audit_log SET prev_hash = sha256(hash) WHERE id IN ($1, $2)`, ids[1], ids[3])
		for _, c := range [][2]audit.Record{{recs[1], recs[3]}, {recs[3], recs[1]}} {
			to, from := c[0], c[1]
			tamper(t, u, `
				UPDATE audit_log SET occurred_at = $2, actor = $3, action = $4, object_type = $5,
				       object_id = $6, diff = $7::text::jsonb, request_id = $8, prev_hash = $9, hash = $10
				WHERE id = $1`, to.ID, from.At, from.Actor, from.Action, from.ObjectType, from.ObjectID,
				string(from.Diff), from.RequestID, from.PrevHash, from.Hash)
		}
		after, _ := audit.Query(t.Context(), db, audit.Filter{})
		if after[1].ObjectID != "4" || after[3].ObjectID != "2" {
			t.Fatalf("not swapped: %+v", after)
		}
		wantBad(t, mustVerify(t, db), ids[1], audit.ProblemLink)
	})
	t.Run("contents only", func(t *testing.T) {
		u, db := newDB(t)
		ids := seed(t, db, 5)
		tamper(t, u, fmt.Sprintf(swap, `object_id = b.object_id, diff = b.diff`), ids[1], ids[3])
		res := mustVerify(t, db)
		wantBad(t, res, ids[1], audit.ProblemHash)
		if res.BadRows != 2 {
			t.Errorf("%d bad rows, want 2", res.BadRows)
		}
	})
}

// An attacker who knows the algorithm and can disable the triggers can re-hash the rest of the
// chain; only an anchor kept outside the database shows it.
func TestDetectsRehashedChain(t *testing.T) {
	ctx := t.Context()
	u, db := newDB(t)
	ids := seed(t, db, 5)
	anchor := wantOK(t, db, 5).Last

	// rewrite changes the object id of row 3 (ids[2]) and re-hashes it, and with all the rows
	// after it, too.
	rewrite := func(all bool) {
		t.Helper()
		recs, err := audit.Query(ctx, db, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		prev := recs[2].PrevHash
		for _, r := range recs[2:] {
			if r.ID == ids[2] {
				r.ObjectID = "999"
			}
			r.PrevHash = prev
			h, err := audit.ComputeHash(r)
			if err != nil {
				t.Fatal(err)
			}
			tamper(t, u, `UPDATE audit_log SET object_id = $2, prev_hash = $3, hash = $4 WHERE id = $1`,
				r.ID, r.ObjectID, r.PrevHash, h[:])
			prev = h[:]
			if !all {
				break
			}
		}
	}
	// Only the edited row re-hashed: the next row's link breaks.
	rewrite(false)
	wantBad(t, mustVerify(t, db), ids[3], audit.ProblemLink)
	// The whole rest of the chain re-hashed: consistent, but not with the anchor.
	rewrite(true)
	wantOK(t, db, 5)
	wantBad(t, mustVerify(t, db, anchor), anchor.ID, audit.ProblemAnchor)
	// An anchor before the edit still matches.
	older := audit.Head{ID: ids[1]}
	recs, _ := audit.Query(ctx, db, audit.Filter{Limit: 2})
	older.Hash = recs[1].Hash
	if res := mustVerify(t, db, older); !res.OK() {
		t.Errorf("older anchor: %v", res.FirstBad)
	}
}

// TestAppendOnly: UPDATE, DELETE and TRUNCATE are refused for the table's owner (a normal role,
// as the application's role in CloudNativePG) and for a superuser, also in replica mode.
func TestAppendOnly(t *testing.T) {
	ctx := t.Context()
	u, superDB := newDB(t)
	seed(t, superDB, 3)

	// The owner: a fresh login role without special rights.
	role := "audit_owner_" + strings.ToLower(rand.Text()[:8])
	password := rand.Text()
	if _, err := superDB.Exec(ctx, `CREATE ROLE `+role+` LOGIN PASSWORD '`+password+`'`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `REASSIGN OWNED BY `+role+` TO CURRENT_USER; DROP OWNED BY `+role+`; DROP ROLE `+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	if _, err := superDB.Exec(ctx, `ALTER TABLE audit_log OWNER TO `+role); err != nil {
		t.Fatal(err)
	}
	ownerURL, _ := url.Parse(u)
	ownerURL.User = url.UserPassword(role, password)
	ownerDB := openPool(t, ownerURL.String(), nil)
	var super bool
	if err := ownerDB.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&super); err != nil || super {
		t.Fatalf("owner is superuser: %v, %v", super, err)
	}
	// The owner may append (the application's path).
	appendOne(t, ownerDB, audit.Entry{Actor: "user:1", Action: "booking.create", ObjectType: "booking", ObjectID: "4"})

	for _, c := range []struct{ sql, op string }{
		{`UPDATE audit_log SET actor = 'user:666'`, "UPDATE"},
		{`UPDATE audit_log SET actor = actor WHERE id = (SELECT max(id) FROM audit_log)`, "UPDATE"},
		{`DELETE FROM audit_log`, "DELETE"},
		{`DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)`, "DELETE"},
		{`TRUNCATE audit_log`, "TRUNCATE"},
		// An upsert that collides with the first row (prev_hash NULL) turns into an UPDATE.
		{`INSERT INTO audit_log (occurred_at, actor, action, hash) VALUES (now(), 'system', 'x', sha256('x'))
		  ON CONFLICT ((coalesce(prev_hash, '\x'::bytea))) DO UPDATE SET actor = 'user:666'`, "UPDATE"},
	} {
		for who, db := range map[string]*pgxpool.Pool{"owner": ownerDB, "superuser": superDB} {
			_, err := db.Exec(ctx, c.sql)
			var pgErr *pgconn.PgError
			want := "audit_log is append-only: " + c.op + " is not allowed"
			if !errors.As(err, &pgErr) || pgErr.Message != want {
				t.Errorf("%s: %s: %v; want %q", who, c.sql, err, want)
			}
		}
	}

	// The usual way around triggers, replica mode (superusers only), does not help: the
	// triggers are ENABLE ALWAYS.
	conn, err := superDB.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{`UPDATE audit_log SET actor = 'user:666'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := conn.Exec(ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("replica mode: %s: %v; want refused", sql, err)
		}
	}
	if _, err := conn.Exec(ctx, `RESET session_replication_role`); err != nil {
		t.Fatal(err)
	}
	// The owner cannot switch to replica mode at all.
	if _, err := ownerDB.Exec(ctx, `SET session_replication_role = replica`); err == nil {
		t.Error("the owner could set session_replication_role")
	}
	wantTriggersAlways(t, conn.Conn())
	wantOK(t, superDB, 4)
}

// TestTimeZones appends through sessions in odd time zones, with times in yet other zones and
// with nanoseconds, and verifies through a session in another zone.
func TestTimeZones(t *testing.T) {
	ctx := t.Context()
	u, _ := newDB(t)
	chatham := openPool(t, u, map[string]string{"timezone": "Pacific/Chatham"})
	stJohns := openPool(t, u, map[string]string{"timezone": "America/St_Johns"})
	kathmandu, err := time.LoadLocation("Asia/Kathmandu")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 29, 1, 30, 0, 987654321, kathmandu)
	appendOne(t, chatham, audit.Entry{Actor: "system", Action: "a.b", At: at})
	appendOne(t, stJohns, audit.Entry{Actor: "system", Action: "a.b", At: at.Add(time.Hour).In(time.FixedZone("odd", -(3*3600 + 17*60 + 13)))})
	appendOne(t, chatham, audit.Entry{Actor: "system", Action: "a.b"})

	for _, db := range []*pgxpool.Pool{chatham, stJohns, openPool(t, u, map[string]string{"timezone": "UTC"})} {
		wantOK(t, db, 3)
	}
	recs, err := audit.Query(ctx, stJohns, audit.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 3, 28, 19, 45, 0, 987654000, time.UTC)
	if !recs[0].At.Equal(want) || recs[0].At.Location() != time.UTC {
		t.Errorf("stored time = %v, want %v", recs[0].At, want)
	}
	// The text rendering differs per session, the hash does not care.
	var a, b string
	chatham.QueryRow(ctx, `SELECT occurred_at::text FROM audit_log ORDER BY id LIMIT 1`).Scan(&a)
	stJohns.QueryRow(ctx, `SELECT occurred_at::text FROM audit_log ORDER BY id LIMIT 1`).Scan(&b)
	if a == b {
		t.Errorf("the sessions' time zones did not apply: %s", a)
	}
}

// TestDiffThroughPostgres: diffs that jsonb stores differently from how encoding/json wrote them
// (key order, numbers, escapes, duplicate keys) still verify.
func TestDiffThroughPostgres(t *testing.T) {
	_, db := newDB(t)
	type change struct {
		From any `json:"from"`
		To   any `json:"to"`
	}
	for _, d := range []any{
		map[string]any{"zz": 1, "a": 2, "ä": 3, "bb": []any{1.5, 1e21, 1e-7, -0.0, uint64(12345678901234567890), "x"}},
		map[string]change{"start": {"2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"}},
		map[string]string{"html": "<b>&</b>", "ctl": "\x01\t\n", "emoji": "😀", "quote": `"\`},
		json.RawMessage(`{"b": 1.50, "a": {"y": 1E2, "x": 0.000}, "b": 2.50}`),
		json.RawMessage(`[1, 2, "\u00e9\ud83d\ude00"]`),
		json.RawMessage(`"just a string"`),
		json.RawMessage(`123.4500`),
		struct {
			Status change `json:"status"`
		}{change{"confirmed", "cancelled"}},
	} {
		appendOne(t, db, audit.Entry{Actor: "system", Action: "diff.test", Diff: d})
	}
	wantOK(t, db, 8)
}

func TestAppendRejectsInvalid(t *testing.T) {
	ctx := t.Context()
	_, db := newDB(t)
	ok := audit.Entry{Actor: "user:1", Action: "booking.create"}
	for name, e := range map[string]audit.Entry{
		"no actor":          {Action: "booking.create"},
		"no action":         {Actor: "user:1"},
		"e-mail actor":      {Actor: "anna@example.com", Action: "login.failed"},
		"e-mail in actor":   {Actor: "customer:anna@example.com", Action: "login.failed"},
		"name actor":        {Actor: "Anna Schmidt", Action: "login.failed"},
		"upper-case action": {Actor: "user:1", Action: "Booking.Create"},
		"object id spaces":  {Actor: "user:1", Action: "a.b", ObjectType: "booking", ObjectID: "Anna Schmidt"},
		"object type":       {Actor: "user:1", Action: "a.b", ObjectType: "Booking!"},
		"request id":        {Actor: "user:1", Action: "a.b", RequestID: "abc\nINFO forged log line"},
		"long actor":        {Actor: "user:" + strings.Repeat("1", 300), Action: "a.b"},
		"time":              {Actor: "user:1", Action: "a.b", At: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
		"diff type":         {Actor: "user:1", Action: "a.b", Diff: make(chan int)},
		"diff size":         {Actor: "user:1", Action: "a.b", Diff: strings.Repeat("x", audit.MaxDiffBytes)},
		"diff NUL":          {Actor: "user:1", Action: "a.b", Diff: "\x00"},
	} {
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { return audit.Append(ctx, tx, e) })
		if !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("%s: Append = %v; want ErrInvalid", name, err)
		}
	}
	if err := audit.Append(ctx, nil, ok); err == nil {
		t.Error("Append without a transaction succeeded")
	}
	wantOK(t, db, 0)
}

// TestStaleSnapshotCannotFork: an append in a REPEATABLE READ transaction whose snapshot predates
// another append fails instead of forking the chain.
func TestStaleSnapshotCannotFork(t *testing.T) {
	ctx := t.Context()
	_, db := newDB(t)
	seed(t, db, 1)
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT count(*) FROM audit_log`); err != nil { // takes the snapshot
		t.Fatal(err)
	}
	appendOne(t, db, audit.Entry{Actor: "user:2", Action: "booking.create"})
	err = audit.Append(ctx, tx, audit.Entry{Actor: "user:3", Action: "booking.create"})
	if !errors.Is(err, audit.ErrChainConflict) {
		t.Fatalf("stale append = %v; want ErrChainConflict", err)
	}
	tx.Rollback(ctx)
	wantOK(t, db, 2)

	// Without a stale snapshot, REPEATABLE READ works.
	if err := pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
		return audit.Append(ctx, tx, audit.Entry{Actor: "user:3", Action: "booking.create"})
	}); err != nil {
		t.Fatal(err)
	}
	wantOK(t, db, 3)
}

func TestQueryAndExport(t *testing.T) {
	ctx := t.Context()
	_, db := newDB(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		appendOne(t, db, audit.Entry{Actor: fmt.Sprintf("user:%d", i%3), Action: []string{"booking.create", "booking.cancel"}[i%2],
			ObjectType: "booking", ObjectID: fmt.Sprint(i % 5), At: base.Add(time.Duration(i) * time.Hour),
			Diff: map[string]int{"i": i}})
	}
	idsOf := func(recs []audit.Record) (out []int) {
		for _, r := range recs {
			var d struct{ I int }
			json.Unmarshal(r.Diff, &d)
			out = append(out, d.I)
		}
		return out
	}
	q := func(f audit.Filter) []int {
		t.Helper()
		recs, err := audit.Query(ctx, db, f)
		if err != nil {
			t.Fatal(err)
		}
		return idsOf(recs)
	}
	check := func(name string, got []int, want ...int) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	check("actor", q(audit.Filter{Actor: "user:1"}), 1, 4, 7, 10, 13, 16, 19, 22, 25, 28)
	check("object", q(audit.Filter{ObjectType: "booking", ObjectID: "3"}), 3, 8, 13, 18, 23, 28)
	check("action+actor", q(audit.Filter{Actor: "user:0", Action: "booking.cancel"}), 3, 9, 15, 21, 27)
	check("time", q(audit.Filter{From: base.Add(5 * time.Hour), To: base.Add(8 * time.Hour)}), 5, 6, 7)
	check("time zones", q(audit.Filter{From: base.Add(5 * time.Hour).In(time.FixedZone("x", 5*3600)), To: base.Add(6 * time.Hour)}), 5)
	check("limit", q(audit.Filter{Limit: 3}), 0, 1, 2)
	check("newest", q(audit.Filter{Limit: 3, Descending: true}), 29, 28, 27)

	// Paging forwards and backwards visits everything once.
	for _, desc := range []bool{false, true} {
		var all []int
		f := audit.Filter{Limit: 7, Descending: desc}
		for {
			recs, err := audit.Query(ctx, db, f)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 {
				break
			}
			all = append(all, idsOf(recs)...)
			f.AfterID = recs[len(recs)-1].ID
		}
		if len(all) != 30 || (all[0] == 0) == desc {
			t.Errorf("paging (descending %v): %v", desc, all)
		}
	}
	if recs, err := audit.Query(ctx, db, audit.Filter{Limit: 5000}); err != nil || len(recs) != 30 {
		t.Errorf("large limit: %d, %v", len(recs), err)
	}
	if _, err := audit.Query(ctx, db, audit.Filter{Limit: -1}); err == nil {
		t.Error("negative limit accepted")
	}

	var buf bytes.Buffer
	if err := audit.ExportJSONLines(ctx, db, &buf, audit.Filter{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 30 {
		t.Fatalf("%d lines", len(lines))
	}
	var first, second audit.ExportLine
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(lines[1]), &second)
	if first.OccurredAt != "2026-01-01T00:00:00.000000Z" || first.Actor != "user:0" || string(first.Diff) != `{"i":0}` ||
		first.PrevHash != "" || len(first.Hash) != 64 || second.PrevHash != first.Hash {
		t.Errorf("export lines:\n%s\n%s", lines[0], lines[1])
	}
	buf.Reset()
	if err := audit.ExportJSONLines(ctx, db, &buf, audit.Filter{Actor: "user:2", Limit: 2}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Errorf("filtered export: %d lines", n)
	}
}

func TestContextAndDiffHelper(t *testing.T) {
	ctx := audit.WithRequestID(audit.WithActor(t.Context(), "customer:booking:17"), "req-42")
	_, db := newDB(t)
	old := time.Date(2026, 3, 2, 11, 0, 0, 0, time.FixedZone("CET", 3600))
	d := audit.Diff{}.
		Change("status", "confirmed", "cancelled").
		Change("staff_id", int64(3), int64(3)). // unchanged: left out
		Change("start", old, old.Add(time.Hour)).
		ChangePersonal("customer_email", "anna@example.com", "anna@example.org").
		ChangePersonal("customer_name", "Anna", "Anna").
		SetPersonal("customer_phone", "+49 30 1234")
	if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if err := audit.Append(ctx, tx, audit.Entry{Action: "booking.cancel", ObjectType: "booking", ObjectID: "17", Diff: d}); err != nil {
			return err
		}
		// An explicit actor wins; an empty Diff is no diff.
		return audit.Append(ctx, tx, audit.Entry{Actor: "system", Action: "booking.remind", Diff: audit.Diff{}})
	}); err != nil {
		t.Fatal(err)
	}
	recs, err := audit.Query(ctx, db, audit.Filter{})
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if recs[0].Actor != "customer:booking:17" || recs[0].RequestID != "req-42" || recs[1].Actor != "system" ||
		recs[1].RequestID != "req-42" || recs[1].Diff != nil {
		t.Errorf("records: %+v", recs)
	}
	got, _ := audit.CanonicalJSON(recs[0].Diff)
	want := `{"customer_email":"changed","customer_phone":"set",` +
		`"start":{"from":"2026-03-02T10:00:00Z","to":"2026-03-02T11:00:00Z"},"status":{"from":"confirmed","to":"cancelled"}}`
	if string(got) != want {
		t.Errorf("diff = %s\nwant %s", got, want)
	}
	if strings.Contains(string(recs[0].Diff), "anna") || strings.Contains(string(recs[0].Diff), "1234") {
		t.Errorf("personal data in the diff: %s", recs[0].Diff)
	}
	// Without an actor anywhere: refused.
	err = pgx.BeginFunc(t.Context(), db, func(tx pgx.Tx) error { return audit.Append(t.Context(), tx, audit.Entry{Action: "a.b"}) })
	if !errors.Is(err, audit.ErrInvalid) {
		t.Errorf("no actor: %v", err)
	}
	wantOK(t, db, 2)
}

// TestVerifyFrom: verifying from a row verified before reads that row and the ones after it and
// finds what happened to them; what happened only before it is left to a full Verify.
func TestVerifyFrom(t *testing.T) {
	for _, c := range []struct {
		name    string
		tamper  string // SQL with $1 = the id of row index idx of 6 rows; "" = none
		idx     int
		badIdx  int // the row FirstBad names; -1: VerifyFrom finds nothing
		problem audit.Problem
		fullBad bool // whether Verify finds it
	}{
		{"intact", "", 0, -1, "", false},
		{"a row after it edited", `UPDATE audit_log SET actor = 'user:9' WHERE id = $1`, 4, 4, audit.ProblemHash, true},
		{"a row after it deleted", `DELETE FROM audit_log WHERE id = $1`, 4, 5, audit.ProblemLink, true},
		{"the row itself edited", `UPDATE audit_log SET object_id = 'x' WHERE id = $1`, 2, 2, audit.ProblemHash, true},
		{"the row itself deleted", `DELETE FROM audit_log WHERE id = $1`, 2, 2, audit.ProblemAnchor, true},
		{"the row itself re-hashed", `UPDATE audit_log SET hash = sha256(hash) WHERE id = $1`, 2, 2, audit.ProblemHash, true},
		// Verify without anchors sees a shorter, intact chain: only the recorded head tells.
		{"the end cut off", `DELETE FROM audit_log WHERE id >= $1`, 2, 2, audit.ProblemAnchor, false},
		{"a row before it edited: only Verify sees it", `UPDATE audit_log SET actor = 'user:9' WHERE id = $1`, 1, -1, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			u, db := newDB(t)
			ids := seed(t, db, 6)
			slices.Sort(ids)
			// Row index 2 is the head an earlier Verify recorded.
			from := audit.Head{ID: ids[2]}
			if err := db.QueryRow(t.Context(), `SELECT hash FROM audit_log WHERE id = $1`, from.ID).Scan(&from.Hash); err != nil {
				t.Fatal(err)
			}
			if c.tamper != "" {
				tamper(t, u, c.tamper, ids[c.idx])
			}
			res, err := audit.VerifyFrom(t.Context(), db, from)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.badIdx < 0 && !res.OK():
				t.Fatalf("VerifyFrom found %v; want nothing", *res.FirstBad)
			case c.badIdx < 0 && c.tamper == "" && (res.Rows != 4 || res.Last.ID != ids[5]):
				t.Fatalf("VerifyFrom = %+v; want 4 rows read, ending at %d", res, ids[5])
			case c.badIdx >= 0:
				wantBad(t, res, ids[c.badIdx], c.problem)
			}
			if full := mustVerify(t, db); full.OK() == c.fullBad {
				t.Fatalf("Verify OK = %v; want %v", full.OK(), !c.fullBad)
			}
		})
	}
}
