package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/pgtest"
)

// TestChainCheck: the audit page verifies the whole chain once, then only what was appended,
// until the full check is an hour old or found a problem; what changes at or after the last
// verified row shows at once, what changes only before it shows at the next full check.
func TestChainCheck(t *testing.T) {
	ctx := t.Context()
	dbURL := pgtest.NewDatabase(t)
	db, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendN := func(n int) {
		t.Helper()
		for i := range n {
			err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
				return audit.Append(ctx, tx, audit.Entry{Actor: "system", Action: "test.entry", ObjectType: "test", ObjectID: fmt.Sprint(i)})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	// An attacker with the table owner's rights edits a row without re-hashing the chain.
	edit := func(id int64) {
		t.Helper()
		_, err := db.Exec(ctx, fmt.Sprintf(`
			ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete;
			UPDATE audit_log SET actor = 'user:666' WHERE id = %d;
			ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_update_delete`, id))
		if err != nil {
			t.Fatal(err)
		}
	}
	var c chainCheck
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	check := func(at time.Duration, wantOK bool, wantRows int64, wantFullAt time.Duration) chainStatus {
		t.Helper()
		st, err := c.verify(ctx, db, t0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		if st.OK() != wantOK || (wantOK && (st.Rows != wantRows || !st.FullAt.Equal(t0.Add(wantFullAt)))) {
			t.Fatalf("at +%s: %+v (full at %s); want OK %v, %d rows, full check at +%s", at, st.Result, st.FullAt, wantOK, wantRows, wantFullAt)
		}
		return st
	}

	appendN(5)
	first := check(0, true, 5, 0) // full
	appendN(3)
	check(time.Minute, true, 8, 0) // incremental: 4 rows read (the head and 3 new)
	edit(first.Last.ID - 2)        // behind the verified head
	check(2*time.Minute, true, 8, 0)
	check(61*time.Minute, false, 0, 0) // the hourly full check finds it
	check(62*time.Minute, false, 0, 0) // and every visit checks fully until it is fixed

	// A fresh chain: a change after the head shows on the next visit.
	c = chainCheck{}
	if _, err := db.Exec(ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate;
		TRUNCATE audit_log; ALTER TABLE audit_log ENABLE ALWAYS TRIGGER audit_log_no_truncate`); err != nil {
		t.Fatal(err)
	}
	appendN(3)
	head := check(0, true, 3, 0).Last
	appendN(2)
	edit(head.ID + 1)
	st := check(time.Minute, false, 0, 0)
	if st.FirstBad.ID != head.ID+1 {
		t.Fatalf("first bad %v, want row %d", st.FirstBad, head.ID+1)
	}
}
