package audit

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Record is a stored audit entry.
type Record struct {
	ID         int64
	At         time.Time // UTC
	Actor      string
	Action     string
	ObjectType string
	ObjectID   string
	Diff       json.RawMessage // as PostgreSQL renders the jsonb value; nil for none
	RequestID  string
	PrevHash   []byte // nil for the first row
	Hash       []byte
}

const columns = `id, occurred_at, actor, action, object_type, object_id, diff::text, request_id, prev_hash, hash`

func scanRecord(row pgx.Row) (Record, error) {
	var r Record
	var diff *string
	err := row.Scan(&r.ID, &r.At, &r.Actor, &r.Action, &r.ObjectType, &r.ObjectID, &diff, &r.RequestID,
		&r.PrevHash, &r.Hash)
	r.At = r.At.UTC()
	if diff != nil {
		r.Diff = json.RawMessage(*diff)
	}
	return r, err
}

// Filter selects entries for Query and ExportJSONLines. Empty fields match everything.
type Filter struct {
	Actor      string
	Action     string
	ObjectType string
	ObjectID   string
	From, To   time.Time // occurred_at in [From, To); zero for open ends
	// Limit is the most entries to return: for Query 0 means DefaultLimit and at most MaxLimit
	// are returned; for ExportJSONLines 0 means all.
	Limit int
	// Entries are ordered by id, oldest first, or newest first if Descending. AfterID (a cursor:
	// the last id of the previous page; 0 to start) continues in that order.
	AfterID    int64
	Descending bool
}

// Query's limits.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func (f Filter) sql() (string, []any, error) {
	if f.Limit < 0 || f.AfterID < 0 {
		return "", nil, errors.New("audit: filter: negative limit or id")
	}
	var where []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	for _, c := range []struct{ col, v string }{
		{"actor", f.Actor}, {"action", f.Action}, {"object_type", f.ObjectType}, {"object_id", f.ObjectID},
	} {
		if c.v != "" {
			add(c.col+" = ?", c.v)
		}
	}
	if !f.From.IsZero() {
		add("occurred_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("occurred_at < ?", f.To)
	}
	order := "id"
	switch {
	case f.Descending:
		order = "id DESC"
		if f.AfterID > 0 {
			add("id < ?", f.AfterID)
		}
	case f.AfterID > 0:
		add("id > ?", f.AfterID)
	}
	q := `SELECT ` + columns + ` FROM audit_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY ` + order
	if f.Limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(f.Limit)
	}
	return q, args, nil
}

// Query returns the entries that match f (for the admin page). Page on with
// f.AfterID = the last returned ID.
func Query(ctx context.Context, db Querier, f Filter) ([]Record, error) {
	if f.Limit == 0 {
		f.Limit = DefaultLimit
	}
	f.Limit = min(f.Limit, MaxLimit)
	q, args, err := f.sql()
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: query: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Record, error) { return scanRecord(r) })
	if err != nil {
		return nil, fmt.Errorf("audit: query: %w", err)
	}
	return out, nil
}

// ExportLine is one line of ExportJSONLines.
type ExportLine struct {
	ID         int64           `json:"id"`
	OccurredAt string          `json:"occurred_at"` // UTC, RFC 3339 with microseconds
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	ObjectType string          `json:"object_type"`
	ObjectID   string          `json:"object_id"`
	Diff       json.RawMessage `json:"diff"` // null for none
	RequestID  string          `json:"request_id"`
	PrevHash   string          `json:"prev_hash"` // hex; "" for the first row
	Hash       string          `json:"hash"`      // hex
}

// Line is r as a line of ExportJSONLines.
func (r Record) Line() ExportLine {
	diff := r.Diff
	if diff == nil {
		diff = json.RawMessage("null")
	}
	return ExportLine{
		ID: r.ID, OccurredAt: r.At.UTC().Format(timeLayout), Actor: r.Actor, Action: r.Action,
		ObjectType: r.ObjectType, ObjectID: r.ObjectID, Diff: diff, RequestID: r.RequestID,
		PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash),
	}
}

// ExportJSONLines writes the entries that match f to w, one JSON object (ExportLine) per line,
// streaming. With f.Limit 0 it writes all of them. The lines carry the hashes, so an export of
// the whole log can be checked against the chain elsewhere.
func ExportJSONLines(ctx context.Context, db Querier, w io.Writer, f Filter) error {
	q, args, err := f.sql()
	if err != nil {
		return err
	}
	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	defer rows.Close()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		if err := enc.Encode(r.Line()); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	return nil
}
