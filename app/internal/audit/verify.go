package audit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Querier runs queries: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Problem is the kind of a bad row.
type Problem string

const (
	// ProblemHash: the row's stored hash is not the hash of its content: it was edited.
	ProblemHash Problem = "hash_mismatch"
	// ProblemLink: the row's prev_hash is not the hash of the row before it: rows before it were
	// deleted, rows were reordered, or the row before it was edited and re-hashed.
	ProblemLink Problem = "broken_link"
	// ProblemAnchor: the row's hash differs from a recorded head (Head), or the row is gone: this
	// row or one before it was rewritten (and the chain re-hashed), or it was deleted.
	ProblemAnchor Problem = "anchor_mismatch"
)

// BadRow is a row that breaks the chain.
type BadRow struct {
	ID      int64
	Problem Problem
	Reason  string // for people
}

func (b BadRow) String() string { return fmt.Sprintf("row %d: %s: %s", b.ID, b.Problem, b.Reason) }

// Head identifies a row of the chain by id and hash, e.g. its last row at some time. Recorded
// outside the database, it lets Verify detect a chain rewritten from before it, or cut short.
type Head struct {
	ID   int64
	Hash []byte
}

// String is "id:hash" (hash in hex), what ParseHead reads.
func (h Head) String() string { return fmt.Sprintf("%d:%s", h.ID, hex.EncodeToString(h.Hash)) }

// ParseHead reads a Head written by String, e.g. from a command-line flag.
func ParseHead(s string) (Head, error) {
	idStr, hashStr, ok := strings.Cut(strings.TrimSpace(s), ":")
	id, err := strconv.ParseInt(idStr, 10, 64)
	hash, herr := hex.DecodeString(hashStr)
	if !ok || err != nil || id <= 0 || herr != nil || len(hash) != 32 {
		return Head{}, fmt.Errorf("audit: %q is not an anchor id:sha256-hex", s)
	}
	return Head{ID: id, Hash: hash}, nil
}

// Result is the outcome of Verify.
type Result struct {
	Rows    int64 // rows checked
	BadRows int64 // rows with a problem (each row is checked against its stored predecessor)
	// FirstBad is the first problem in id order (for a missing anchored row, its id).
	FirstBad *BadRow // nil if the chain is intact
	Last     Head    // the last row (zero if the table is empty): record it as an anchor
}

// OK reports whether no row is bad.
func (r Result) OK() bool { return r.FirstBad == nil }

// Verify walks the whole chain in id order, streaming, and checks every row's hash and link. Gaps
// in the ids are fine (identity values may skip); the links decide. Each anchor (a Head recorded
// earlier, e.g. Result.Last of an earlier run) must still be in the chain with the same hash. It
// returns an error only if the database could not be read; problems are in the Result.
func Verify(ctx context.Context, db Querier, anchors ...Head) (Result, error) {
	return verify(ctx, db, nil, anchors)
}

// VerifyFrom verifies the chain from a row verified before (from, e.g. the Last of an earlier
// Verify) to its end, reading only those rows: from must still be there with the same hash and
// content, and every row after it must be intact and linked to it. Result.Rows counts the rows
// read, from's included. Rows before from are not read, so a change to them that leaves from's
// hash alone (an edited or deleted row, without re-hashing the rest) is found only by Verify:
// run that too, regularly.
func VerifyFrom(ctx context.Context, db Querier, from Head) (Result, error) {
	return verify(ctx, db, &from, []Head{from})
}

// verify walks the chain from its first row, or from the row from (whose own link is not
// checked: it was verified before, and its hash is an anchor).
func verify(ctx context.Context, db Querier, from *Head, anchors []Head) (Result, error) {
	var res Result
	lastBad := int64(-1) << 63
	bad := func(id int64, p Problem, format string, args ...any) {
		if id != lastBad { // count a row once
			res.BadRows++
			lastBad = id
		}
		if res.FirstBad == nil {
			res.FirstBad = &BadRow{ID: id, Problem: p, Reason: fmt.Sprintf(format, args...)}
		}
	}
	pending := slices.Clone(anchors)
	slices.SortFunc(pending, func(a, b Head) int { return cmp.Compare(a.ID, b.ID) })

	query, args := `SELECT `+columns+` FROM audit_log ORDER BY id`, []any(nil)
	if from != nil {
		query, args = `SELECT `+columns+` FROM audit_log WHERE id >= $1 ORDER BY id`, []any{from.ID}
	}
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return Result{}, fmt.Errorf("audit: verify: %w", err)
	}
	defer rows.Close()
	var prev []byte
	var prevID int64
	first := true
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return Result{}, fmt.Errorf("audit: verify: %w", err)
		}
		res.Rows++
		for len(pending) > 0 && pending[0].ID < r.ID {
			bad(pending[0].ID, ProblemAnchor, "the anchored row %s is missing: it was deleted", pending[0])
			pending = pending[1:]
		}
		if first && from != nil {
			prev = r.PrevHash // from's own link was checked when it was verified
		}
		switch want, err := r.computeHash(); {
		case !bytes.Equal(r.PrevHash, prev) && first:
			bad(r.ID, ProblemLink, "the first row links to a previous row (prev_hash %x): rows before it were deleted", r.PrevHash)
		case !bytes.Equal(r.PrevHash, prev) && r.PrevHash == nil:
			bad(r.ID, ProblemLink, "the row starts a new chain (prev_hash NULL) after row %d", prevID)
		case !bytes.Equal(r.PrevHash, prev):
			bad(r.ID, ProblemLink, "prev_hash does not match the hash of the row before it (id %d): "+
				"rows between were deleted or rows were reordered, or row %d was changed and re-hashed", prevID, prevID)
		case err != nil:
			bad(r.ID, ProblemHash, "the row's content cannot be serialised: %v", err)
		case !bytes.Equal(r.Hash, want[:]):
			bad(r.ID, ProblemHash, "the stored hash does not match the row's content: the row was changed")
		}
		for len(pending) > 0 && pending[0].ID == r.ID {
			if !bytes.Equal(pending[0].Hash, r.Hash) {
				bad(r.ID, ProblemAnchor, "the hash differs from the anchor %s: this row or one before it "+
					"was rewritten and the chain re-hashed", pending[0])
			}
			pending = pending[1:]
		}
		prev, prevID, first = r.Hash, r.ID, false
	}
	if err := rows.Err(); err != nil {
		return Result{}, fmt.Errorf("audit: verify: %w", err)
	}
	for _, a := range pending {
		bad(a.ID, ProblemAnchor, "the anchored row %s is missing: rows at the end of the chain were deleted", a)
	}
	if !first {
		res.Last = Head{ID: prevID, Hash: prev}
	}
	return res, nil
}

// computeHash recomputes the row's hash from its stored content and prev_hash.
func (r Record) computeHash() ([32]byte, error) {
	row := canonicalRow{At: r.At, Actor: r.Actor, Action: r.Action, ObjectType: r.ObjectType,
		ObjectID: r.ObjectID, DiffNull: r.Diff == nil, RequestID: r.RequestID}
	if r.Diff != nil {
		var err error
		if row.Diff, err = canonicalJSON(r.Diff); err != nil {
			return [32]byte{}, err
		}
	}
	return chainHash(r.PrevHash, row.bytes()), nil
}
