package gdpr

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
)

// Export is everything stored about one customer (GDPR Art. 15 and 20).
type Export struct {
	// Email is the normalised address the customer was found by.
	Email      string    `json:"email"`
	ExportedAt time.Time `json:"exported_at"`
	// Tables are the tables holding the customer's data, each with all its columns, in a fixed
	// order; a table without rows for the customer is listed empty.
	Tables []Table `json:"tables"`
}

// Table is the customer's rows of one table.
type Table struct {
	Name string `json:"name"`
	// Columns are all the table's columns in their order.
	Columns []string `json:"columns"`
	// Rows are objects column → value, as PostgreSQL renders them in JSON (timestamps RFC 3339,
	// binary values as "\\x…" hex).
	Rows []map[string]any `json:"rows"`
}

// Counts are the number of rows per table, for the audit log and the admin page.
func (e *Export) Counts() map[string]int {
	m := map[string]int{}
	for _, t := range e.Tables {
		m[t.Name] = len(t.Rows)
	}
	return m
}

// Empty reports whether nothing is stored about the customer.
func (e *Export) Empty() bool {
	for _, t := range e.Tables {
		if len(t.Rows) > 0 {
			return false
		}
	}
	return true
}

// Table returns the export's table name (nil if it has none).
func (e *Export) Table(name string) *Table {
	for i := range e.Tables {
		if e.Tables[i].Name == name {
			return &e.Tables[i]
		}
	}
	return nil
}

// Export formats.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// Find collects what is stored about the customer with this e-mail address without recording
// anything (the admin page's overview). ErrNoEmail for an empty or implausible address.
func (s *Service) Find(ctx context.Context, email string) (*Export, error) {
	var e *Export
	err := pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) (err error) {
		e, err = s.collect(ctx, tx, email)
		return err
	})
	return e, err
}

// Export collects what is stored about the customer and records the export in the audit log
// ("customer.export": the format and the number of rows per table; booking ids as the
// entry's reference, never the address). format is FormatJSON or FormatCSV.
func (s *Service) Export(ctx context.Context, email, format string) (*Export, error) {
	if format != FormatJSON && format != FormatCSV {
		return nil, fmt.Errorf("gdpr: unknown export format %q", format)
	}
	var e *Export
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) (err error) {
		if e, err = s.collect(ctx, tx, email); err != nil {
			return err
		}
		d := audit.Diff{}.Set("format", format)
		for name, n := range e.Counts() {
			d.Set(name, n)
		}
		return appendAudit(ctx, tx, audit.Entry{Action: "customer.export", ObjectType: "customer",
			Diff: d.Set("booking_ids", e.bookingIDs())})
	})
	return e, err
}

// bookingIDs are the ids of the exported bookings.
func (e *Export) bookingIDs() []int64 {
	ids := []int64{}
	if t := e.Table("bookings"); t != nil {
		for _, r := range t.Rows {
			if n, ok := r["id"].(json.Number); ok {
				if id, err := n.Int64(); err == nil {
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

// The tables of an export and how the customer's rows are found in them ($1: the booking ids,
// or with mails the ids of the mails, see customerMails).
var exportTables = []struct {
	name, where string
	mails       bool
}{
	{"bookings", `id = ANY($1)`, false},
	{"mail_outbox", `id = ANY($1)`, true},
	{"erasure_requests", `booking_id = ANY($1)`, false},
	// The history of their bookings: who created, moved, cancelled them, and what they did
	// through the manage link.
	{"audit_log", `(object_type = 'booking' AND object_id = ANY($1::bigint[]::text[]))
		OR actor = ANY(ARRAY(SELECT 'customer:booking:' || i FROM unnest($1::bigint[]) i))`, false},
}

func (s *Service) collect(ctx context.Context, tx pgx.Tx, email string) (*Export, error) {
	email = NormaliseEmail(email)
	if !plausible(email) {
		return nil, ErrNoEmail
	}
	bookings, err := customerBookings(ctx, tx, email, false)
	if err != nil {
		return nil, err
	}
	mails, err := customerMails(ctx, tx, email, bookings)
	if err != nil {
		return nil, err
	}
	if bookings == nil {
		bookings = []int64{}
	}
	if mails == nil {
		mails = []int64{}
	}
	e := &Export{Email: email, ExportedAt: s.now().UTC().Truncate(time.Second)}
	for _, t := range exportTables {
		cols, err := columns(ctx, tx, t.name)
		if err != nil {
			return nil, err
		}
		ids := bookings
		if t.mails {
			ids = mails
		}
		rows, err := tx.Query(ctx, `SELECT to_jsonb(t)::text FROM `+t.name+` t WHERE `+t.where, ids)
		if err != nil {
			return nil, fmt.Errorf("gdpr: export %s: %w", t.name, err)
		}
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("gdpr: export %s: %w", t.name, err)
		}
		table := Table{Name: t.name, Columns: cols, Rows: []map[string]any{}}
		for _, text := range texts {
			dec := json.NewDecoder(bytes.NewReader([]byte(text)))
			dec.UseNumber()
			var row map[string]any
			if err := dec.Decode(&row); err != nil {
				return nil, err
			}
			table.Rows = append(table.Rows, row)
		}
		sortByID(table.Rows)
		e.Tables = append(e.Tables, table)
	}
	return e, nil
}

// columns are a table's columns in their order.
func columns(ctx context.Context, tx pgx.Tx, table string) ([]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1
		ORDER BY ordinal_position`, table)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func sortByID(rows []map[string]any) {
	id := func(r map[string]any) string {
		if n, ok := r["id"].(json.Number); ok {
			return fmt.Sprintf("%020s", n.String())
		}
		if s, ok := r["token_hash"].(string); ok {
			return s
		}
		return ""
	}
	for i := 1; i < len(rows); i++ { // few rows: insertion sort keeps it simple and stable
		for j := i; j > 0 && id(rows[j]) < id(rows[j-1]); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
}

// WriteJSON writes the export as one indented JSON document.
func (e *Export) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(e)
}

// WriteCSV writes the export as a zip archive with one CSV file per table (TABLE.csv: a header
// row with every column, then one row per record; JSON values such as the audit diff as JSON
// text, NULL as an empty field) and a README.txt saying what it is.
func (e *Export) WriteCSV(w io.Writer) error {
	zw := zip.NewWriter(w)
	readme, err := zw.Create("README.txt")
	if err != nil {
		return err
	}
	fmt.Fprintf(readme, "Data stored about %s, exported %s.\r\nOne CSV file per table (UTF-8, comma-separated, header row); empty fields are empty values or NULL.\r\n",
		e.Email, e.ExportedAt.Format(time.RFC3339))
	for _, t := range e.Tables {
		f, err := zw.Create(t.Name + ".csv")
		if err != nil {
			return err
		}
		cw := csv.NewWriter(f)
		if err := cw.Write(t.Columns); err != nil {
			return err
		}
		for _, r := range t.Rows {
			rec := make([]string, len(t.Columns))
			for i, c := range t.Columns {
				rec[i] = csvValue(r[c])
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	}
	return zw.Close()
}

func csvValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}
