package audit_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
)

// randomJSON writes a random JSON value with the awkward parts jsonb normalises differently from
// encoding/json: numbers in every notation, escapes, control characters, non-ASCII, duplicate
// keys, nesting, white space.
func randomJSON(r *rand.Rand, depth int) string {
	ws := func() string { return []string{"", " ", "\n", "\t "}[r.IntN(4)] }
	switch k := r.IntN(10); {
	case depth > 0 && k < 2:
		n := r.IntN(5)
		parts := make([]string, n)
		for i := range parts {
			key := randomString(r)
			if i > 0 && r.IntN(5) == 0 {
				key = strings.SplitN(parts[r.IntN(i)], ":", 2)[0] // a duplicate key
				parts[i] = key + ":" + ws() + randomJSON(r, depth-1)
				continue
			}
			parts[i] = key + ws() + ":" + randomJSON(r, depth-1)
		}
		return "{" + ws() + strings.Join(parts, ","+ws()) + "}"
	case depth > 0 && k < 4:
		n := r.IntN(5)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = randomJSON(r, depth-1)
		}
		return "[" + strings.Join(parts, ws()+","+ws()) + "]"
	case k < 6:
		return randomNumber(r)
	case k < 9:
		return randomString(r)
	default:
		return []string{"true", "false", "null"}[r.IntN(3)]
	}
}

func randomNumber(r *rand.Rand) string {
	var b strings.Builder
	if r.IntN(3) == 0 {
		b.WriteByte('-')
	}
	if r.IntN(4) == 0 {
		b.WriteByte('0')
	} else {
		b.WriteString(strconv.Itoa(1 + r.IntN(9)))
		for range r.IntN(25) {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	if r.IntN(2) == 0 {
		b.WriteByte('.')
		for range 1 + r.IntN(12) {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	if r.IntN(3) == 0 {
		b.WriteString([]string{"e", "E", "e+", "e-", "E-"}[r.IntN(5)])
		b.WriteString(strconv.Itoa(r.IntN(40)))
	}
	return b.String()
}

func randomString(r *rand.Rand) string {
	pieces := []string{"a", "Z", "ä", "é", "😀", "\u2028", "\u007f", "\ufffd", `\"`, `\\`, `\/`, `\b`, `\f`,
		`\n`, `\r`, `\t`, `\u0001`, `\u001F`, `\u00e9`, `\ud83d\ude00`, `\u2028`, "<", ">", "&", " ", "from", "to"}
	var b strings.Builder
	b.WriteByte('"')
	for range r.IntN(8) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	b.WriteByte('"')
	return b.String()
}

// TestCanonicalDiffRoundTrip: whatever the diff, the canonical JSON that audit_append hashes and
// stores as jsonb comes back from jsonb's rendering as the same canonical bytes, so Verify
// agrees with the hash computed in the database.
func TestCanonicalDiffRoundTrip(t *testing.T) {
	ctx := t.Context()
	_, db := newDB(t)
	r := rand.New(rand.NewPCG(4, 2))
	const n = 400
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		for i := range n {
			raw := randomJSON(r, 4)
			p, err := audit.Prepare(ctx, audit.Entry{Actor: "system", Action: "diff.fuzz", Diff: jsonRaw(raw)})
			if err != nil {
				return fmt.Errorf("prepare %s: %w", raw, err)
			}
			if p.Diff == nil {
				if raw != "null" {
					return fmt.Errorf("%s: no diff", raw)
				}
				continue
			}
			var back string
			if err := tx.QueryRow(ctx, `SELECT $1::text::jsonb::text`, *p.Diff).Scan(&back); err != nil {
				return fmt.Errorf("%s (canonical %s): %w", raw, *p.Diff, err)
			}
			again, err := audit.CanonicalJSON([]byte(back))
			if err != nil || string(again) != *p.Diff {
				return fmt.Errorf("value %d %s: canonical %s, jsonb %s, canonical again %s (%v)", i, raw, *p.Diff, back, again, err)
			}
			if _, err := tx.Exec(ctx, `SELECT `+audit.CallSQL(1, ""), p.Args(true)...); err != nil {
				return fmt.Errorf("append %s: %w", raw, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res := mustVerify(t, db)
	if !res.OK() || res.Rows < n/2 {
		t.Fatalf("Verify = %+v (first bad %v)", res, res.FirstBad)
	}
	t.Logf("%d random diffs verified", res.Rows)
}

type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

// TestCallSQLInStatement: an entry appended by the same statement as the change, with the object
// id taken from the changed row, is chained like any other; a statement whose change does
// nothing appends nothing, and a failing one leaves nothing behind.
func TestCallSQLInStatement(t *testing.T) {
	ctx := t.Context()
	_, db := newDB(t)
	if _, err := db.Exec(ctx, `CREATE TABLE thing (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	seed(t, db, 2)
	insert := `
		WITH ins AS (INSERT INTO thing (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id),
		     aud AS (SELECT ` + audit.CallSQL(2, "ins.id::text") + ` AS audit_id FROM ins)
		SELECT ins.id, aud.audit_id FROM ins, aud`
	add := func(name string) (thingID, auditID int64, err error) {
		p, err := audit.Prepare(audit.WithRequestID(audit.WithActor(ctx, "user:7"), "req-1"),
			audit.Entry{Action: "thing.create", ObjectType: "thing", Diff: audit.Diff{}.Set("name", name)})
		if err != nil {
			return 0, 0, err
		}
		err = db.QueryRow(ctx, insert, append([]any{name}, p.Args(false)...)...).Scan(&thingID, &auditID)
		return thingID, auditID, audit.AppendError(err)
	}
	id, auditID, err := add("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := add("a"); !errors.Is(err, pgx.ErrNoRows) { // nothing inserted, nothing audited
		t.Fatalf("duplicate: %v; want no rows", err)
	}
	recs, err := audit.Query(ctx, db, audit.Filter{ObjectType: "thing"})
	if err != nil || len(recs) != 1 {
		t.Fatalf("records %v, %v; want 1", recs, err)
	}
	if r := recs[0]; r.ID != auditID || r.ObjectID != fmt.Sprint(id) || r.Actor != "user:7" || r.RequestID != "req-1" ||
		string(r.Diff) != `{"name": "a"}` {
		t.Fatalf("record %+v (diff %s)", r, r.Diff)
	}
	wantOK(t, db, 3)

	// Concurrent statements, some rolled back by a failing change after the append.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				name := fmt.Sprintf("w%d-%d", w, i)
				if i%5 == 0 {
					name = "a" // collides: nothing appended
				}
				if _, _, err := add(name); err != nil && !errors.Is(err, pgx.ErrNoRows) {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	wantOK(t, db, 3+8*16)
}

// TestAppendManyChainsLikeAppend: audit_append_many (migration 00008, the booking batches)
// chains its entries exactly as audit_append does, one per element in the arrays' order, also
// with awkward diffs and identifiers, and interleaved with single appends from other sessions.
func TestAppendManyChainsLikeAppend(t *testing.T) {
	ctx := t.Context()
	_, db := newDB(t)
	const workers, rounds, perBatch = 4, 10, 7
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 8))
			for i := range rounds {
				entries := make([]audit.Prepared, perBatch)
				for k := range entries {
					p, err := audit.Prepare(audit.WithRequestID(ctx, fmt.Sprintf("req %d/%d ~!", w, k)), audit.Entry{
						Actor: fmt.Sprintf("customer:booking:%d", k), Action: "booking.create", ObjectType: "booking",
						ObjectID: fmt.Sprintf("%d.%d-%d", w, i, k), Diff: jsonRaw(randomJSON(r, 3))})
					if err != nil {
						t.Error(err)
						return
					}
					entries[k] = p
				}
				if i%2 == 1 { // a single append in between
					if _, err := db.Exec(ctx, `SELECT `+audit.CallSQL(1, ""), entries[0].Args(true)...); err != nil {
						t.Error(audit.AppendError(err))
						return
					}
					continue
				}
				cols := make([][]any, 7)
				for _, p := range entries {
					for c, v := range p.Args(true) {
						cols[c] = append(cols[c], v)
					}
				}
				rows, err := db.Query(ctx, `SELECT * FROM audit_append_many($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
					cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6])
				if err != nil {
					t.Error(err)
					return
				}
				ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
				if err != nil || len(ids) != perBatch {
					t.Errorf("ids %v, %v; want %d", ids, err, perBatch)
					return
				}
				for k := 1; k < len(ids); k++ {
					if ids[k] != ids[k-1]+1 {
						t.Errorf("ids %v are not consecutive", ids)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	wantOK(t, db, workers*(rounds/2*perBatch+rounds/2))
}
