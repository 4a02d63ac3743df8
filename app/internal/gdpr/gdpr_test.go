package gdpr_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/slotbook/slotbook/app/internal/audit"
	"github.com/slotbook/slotbook/app/internal/availability"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/demo"
	"github.com/slotbook/slotbook/app/internal/gdpr"
	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/schedule"
	"github.com/slotbook/slotbook/app/internal/store"
	"github.com/slotbook/slotbook/app/internal/validation"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var berlin = func() *time.Location {
	l, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return l
}()

// testNow is a Monday morning in Berlin.
var testNow = time.Date(2026, 3, 2, 7, 0, 0, 0, berlin)

type fixture struct {
	t     *testing.T
	ctx   context.Context
	st    *store.Store
	g     *gdpr.Service
	mu    sync.Mutex
	clock time.Time
	svcID int64
	staff []int64
	slot  int
}

func (f *fixture) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.clock }
func (f *fixture) setNow(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = t
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := demo.SeedAt(ctx, st, testNow); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, st: st, clock: testNow}
	f.g = gdpr.New(st.Pool(), gdpr.Options{BaseURL: "https://book.example.test", Now: f.now})
	svcs, err := st.ListServices(ctx, true)
	if err != nil || len(svcs) == 0 {
		t.Fatal(svcs, err)
	}
	f.svcID = svcs[0].ID
	staff, err := st.ListStaff(ctx, true)
	if err != nil || len(staff) < 2 {
		t.Fatal(staff, err)
	}
	for _, s := range staff {
		f.staff = append(f.staff, s.ID)
	}
	return f
}

// book inserts a booking directly (any time, past ones too) and returns it with its manage
// token.
func (f *fixture) book(name, email, phone string, start time.Time) (store.Booking, string) {
	f.t.Helper()
	tok := make([]byte, 32)
	rand.Read(tok)
	token := base64.RawURLEncoding.EncodeToString(tok)
	h := sha256.Sum256([]byte(token))
	f.slot++
	staff := f.staff[f.slot%len(f.staff)]
	start = start.Add(time.Duration(f.slot) * time.Minute) // never overlapping
	b, err := f.st.InsertBooking(f.ctx, store.Booking{ServiceID: f.svcID, StaffID: staff, Start: start, End: start.Add(30 * time.Second),
		BlockedStart: start, BlockedEnd: start.Add(30 * time.Second), CustomerName: name, CustomerEmail: email,
		CustomerPhone: phone, Locale: "de", ManageTokenHash: h[:]})
	if err != nil {
		f.t.Fatal(err)
	}
	return b, token
}

// hits searches every text, varchar, text[], json and jsonb column of every table of the
// schema for s (case-insensitive) and returns "table.column: n" for each column that has it.
func hits(t *testing.T, ctx context.Context, db *pgx.Conn, s string) []string {
	t.Helper()
	rows, err := db.Query(ctx, `
		SELECT c.table_name, c.column_name FROM information_schema.columns c
		JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
		  AND (c.data_type IN ('text', 'character varying', 'json', 'jsonb', 'character')
		       OR (c.data_type = 'ARRAY' AND c.udt_name IN ('_text', '_varchar')))
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ Table, Column string }
	cols, err := pgx.CollectRows(rows, pgx.RowToStructByPos[col])
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) < 20 {
		t.Fatalf("only %d text columns found: %v", len(cols), cols)
	}
	var out []string
	for _, c := range cols {
		var n int
		q := fmt.Sprintf(`SELECT count(*) FROM %s WHERE %s::text ILIKE '%%' || $1 || '%%'`,
			pgx.Identifier{c.Table}.Sanitize(), pgx.Identifier{c.Column}.Sanitize())
		if err := db.QueryRow(ctx, q, s).Scan(&n); err != nil {
			t.Fatalf("%s.%s: %v", c.Table, c.Column, err)
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("%s.%s: %d", c.Table, c.Column, n))
		}
	}
	return out
}

func conn(t *testing.T, f *fixture) *pgx.Conn {
	t.Helper()
	c, err := f.st.Pool().Acquire(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Release)
	return c.Conn()
}

func auditCount(t *testing.T, f *fixture, action string) int {
	t.Helper()
	var n int
	if err := f.st.Pool().QueryRow(f.ctx, `SELECT count(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func verifyAudit(t *testing.T, f *fixture) {
	t.Helper()
	res, err := audit.Verify(f.ctx, f.st.Pool())
	if err != nil || !res.OK() {
		t.Fatalf("audit chain: %+v %v", res, err)
	}
}

// The customers: Kim, with bookings under two spellings of one address, and others whose
// addresses look alike.
const (
	kimName  = "Kim Exampleton"
	kimEmail = "kim@example.com"
	kimPhone = "+49 30 9876543"
)

var others = []struct{ name, email, phone string }{
	{"Kira Exampleton", "kim@example.co", "+49 30 1111111"},
	{"Kimberly Other", "kim+x@example.com", "+49 30 2222222"},
	{"Jo Kimm", "jo.kimm@example.com", ""},
}

func (f *fixture) population() (kim []store.Booking, kimTokens []string) {
	b1, t1 := f.book(kimName, kimEmail, kimPhone, testNow.AddDate(0, -3, 0))         // past
	b2, t2 := f.book(kimName, "Kim@Example.COM", kimPhone, testNow.AddDate(0, 0, 7)) // future
	b3, t3 := f.book(kimName, " kim@example.com", "", testNow.AddDate(0, 0, 9))      // future, later cancelled
	if _, err := f.st.CancelBooking(f.ctx, b3.ID); err != nil {
		f.t.Fatal(err)
	}
	for i, o := range others {
		f.book(o.name, o.email, o.phone, testNow.AddDate(0, 0, 7+i))
	}
	return []store.Booking{b1, b2, b3}, []string{t1, t2, t3}
}

func TestExport(t *testing.T) {
	f := newFixture(t)
	kim, tokens := f.population()
	if err := f.g.RequestErasure(f.ctx, tokens[1]); err != nil { // an erasure request and its mail
		t.Fatal(err)
	}
	before := auditCount(t, f, "customer.export")
	e, err := f.g.Export(f.ctx, "  KIM@example.com ", gdpr.FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	if auditCount(t, f, "customer.export") != before+1 {
		t.Error("export not audited")
	}
	bk := e.Table("bookings")
	if bk == nil || len(bk.Rows) != 3 {
		t.Fatalf("bookings: %+v", bk)
	}
	for i, r := range bk.Rows {
		if r["customer_name"] != kimName || fmt.Sprint(r["id"]) != fmt.Sprint(kim[i].ID) {
			t.Errorf("booking row %d: %v", i, r)
		}
		for _, c := range bk.Columns {
			if _, ok := r[c]; !ok {
				t.Errorf("booking row %d lacks column %s", i, c)
			}
		}
	}
	// Every table that holds Kim's name, address or phone (searched generically) is in the
	// export with at least as many rows, and nothing of the other customers is.
	db := conn(t, f)
	exported, _ := json.Marshal(e)
	for _, s := range []string{kimName, kimEmail, kimPhone} {
		for _, h := range hits(t, f.ctx, db, s) {
			table := h[:strings.IndexByte(h, '.')]
			if table == "audit_log" {
				t.Errorf("personal data in the audit log: %s", h)
				continue
			}
			if e.Table(table) == nil || len(e.Table(table).Rows) == 0 {
				t.Errorf("%q is in %s but the export has no rows of %s", s, h, table)
			}
		}
	}
	for _, o := range others {
		for _, s := range []string{o.name, `"` + o.email + `"`} {
			if bytes.Contains(bytes.ToLower(exported), bytes.ToLower([]byte(s))) {
				t.Errorf("the export contains %s of another customer", s)
			}
		}
	}
	// The mails: the booking mails of migration 00006 (if any) and the erasure confirmation.
	mails := e.Table("mail_outbox")
	var confirm bool
	for _, r := range mails.Rows {
		if r["template"] == gdpr.ErasureTemplate {
			confirm = true
		}
		if rcpt, _ := r["recipient"].(string); gdpr.NormaliseEmail(rcpt) != kimEmail && r["booking_id"] == nil {
			t.Errorf("a mail of someone else: %v", r)
		}
	}
	if !confirm {
		t.Errorf("the erasure confirmation mail is not exported: %v", mails.Rows)
	}
	if r := e.Table("erasure_requests"); r == nil || len(r.Rows) != 1 {
		t.Errorf("erasure requests: %+v", r)
	}
	// The history: the audit entries of Kim's bookings (create, cancel, erasure request).
	if a := e.Table("audit_log"); a == nil || len(a.Rows) < 5 {
		t.Errorf("audit entries of the bookings: %+v", a)
	}

	// JSON and CSV.
	var buf bytes.Buffer
	if err := e.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back gdpr.Export
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Tables) != len(e.Tables) || back.Email != kimEmail {
		t.Fatalf("JSON: %v %+v", err, back)
	}
	buf.Reset()
	if err := e.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][][]string{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(zf.Name, ".csv") {
			recs, err := csv.NewReader(rc).ReadAll()
			if err != nil {
				t.Fatalf("%s: %v", zf.Name, err)
			}
			files[zf.Name] = recs
		}
		rc.Close()
	}
	for _, tb := range e.Tables {
		recs := files[tb.Name+".csv"]
		if len(recs) != len(tb.Rows)+1 || strings.Join(recs[0], ",") != strings.Join(tb.Columns, ",") {
			t.Errorf("%s.csv: %d records, header %v", tb.Name, len(recs), recs[0])
		}
	}
	if !strings.Contains(fmt.Sprint(files["bookings.csv"]), kimName) {
		t.Error("bookings.csv lacks the name")
	}

	// Nobody, and nonsense.
	if e, err := f.g.Find(f.ctx, "nobody@example.com"); err != nil || !e.Empty() {
		t.Errorf("nobody: %v %v", e, err)
	}
	if _, err := f.g.Find(f.ctx, "  "); !errors.Is(err, gdpr.ErrNoEmail) {
		t.Errorf("empty address: %v", err)
	}
}

func TestErase(t *testing.T) {
	f := newFixture(t)
	kim, tokens := f.population()
	if err := f.g.RequestErasure(f.ctx, tokens[0]); err != nil {
		t.Fatal(err)
	}
	ctx := audit.WithActor(f.ctx, "user:1")
	res, err := f.g.Erase(ctx, "kim@EXAMPLE.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.BookingIDs) != 3 || len(res.Cancelled) != 1 || res.Cancelled[0] != kim[1].ID || res.MailsDeleted == 0 {
		t.Errorf("erasure: %+v", res)
	}
	db := conn(t, f)
	for _, s := range []string{kimName, kimEmail, kimPhone, "Kim@Example.COM"} {
		if h := hits(t, f.ctx, db, s); len(h) > 0 {
			t.Errorf("%q still stored: %v", s, h)
		}
	}
	// The rows stay, without the customer.
	for _, b := range kim {
		got, err := f.st.GetBooking(f.ctx, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CustomerName != "" || got.CustomerEmail != "" || got.CustomerPhone != "" || got.ManageTokenHash != nil ||
			got.ErasedAt == nil || !got.Start.Equal(b.Start) || got.StaffID != b.StaffID || got.Locale != "de" {
			t.Errorf("booking %d after erasure: %+v", b.ID, got)
		}
		var sealed *string
		if err := f.st.Pool().QueryRow(f.ctx, `SELECT manage_token_sealed FROM bookings WHERE id = $1`, b.ID).Scan(&sealed); err != nil || sealed != nil {
			t.Errorf("booking %d keeps its sealed manage token: %v", b.ID, err)
		}
	}
	if got, _ := f.st.GetBooking(f.ctx, kim[1].ID); got.Status != store.StatusCancelled {
		t.Errorf("the future booking was not cancelled: %s", got.Status)
	}
	// The others are untouched.
	for _, o := range others {
		if h := hits(t, f.ctx, db, o.email); len(h) == 0 {
			t.Errorf("%s was erased too", o.email)
		}
	}
	// The manage link and the erasure link are dead.
	if _, err := f.st.GetBookingByTokenHash(f.ctx, hash(tokens[1])); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("manage token still works: %v", err)
	}
	if err := f.g.RequestErasure(f.ctx, tokens[1]); !errors.Is(err, gdpr.ErrNotFound) {
		t.Errorf("erasure request on an erased booking: %v", err)
	}
	verifyAudit(t, f)
	var diff string
	if err := f.st.Pool().QueryRow(f.ctx, `SELECT actor || ' ' || diff::text FROM audit_log WHERE action = 'customer.erase'`).Scan(&diff); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(diff, "user:1 ") || !strings.Contains(diff, `"bookings": 3`) || strings.Contains(strings.ToLower(diff), "kim") {
		t.Errorf("customer.erase entry: %s", diff)
	}
	if auditCount(t, f, "booking.cancel") != 2 { // the one cancelled before and the one now
		t.Errorf("booking.cancel entries: %d", auditCount(t, f, "booking.cancel"))
	}
	// Erasing again finds nothing.
	if res, err := f.g.Erase(ctx, kimEmail); err != nil || len(res.BookingIDs) != 0 {
		t.Errorf("second erasure: %+v %v", res, err)
	}
}

func TestRetention(t *testing.T) {
	f := newFixture(t)
	old, _ := f.book("Old Customer", "old@example.com", "+49 30 3333333", testNow.AddDate(-2, 0, -20))
	recent, _ := f.book("Recent Customer", "recent@example.com", "", testNow.AddDate(-2, 0, 20))
	future, _ := f.book("Future Customer", "future@example.com", "", testNow.AddDate(0, 0, 3))
	if _, err := f.st.Pool().Exec(f.ctx, `INSERT INTO mail_outbox (template, recipient, created_at) VALUES ('x', 'old@example.com', $1)`,
		testNow.AddDate(-2, 0, -21)); err != nil {
		t.Fatal(err)
	}

	dry, err := f.g.Preview(f.ctx, testNow)
	if err != nil || dry.Bookings != 1 || dry.Months != 24 {
		t.Fatalf("preview: %+v %v", dry, err)
	}
	if auditCount(t, f, "retention.run") != 0 {
		t.Fatal("the dry run was audited")
	}
	res, err := f.g.Run(f.ctx, testNow)
	if err != nil || res.Bookings != 1 || res.Mails < 1 || res.Skipped {
		t.Fatalf("run: %+v %v", res, err)
	}
	for id, erased := range map[int64]bool{old.ID: true, recent.ID: false, future.ID: false} {
		b, _ := f.st.GetBooking(f.ctx, id)
		if (b.ErasedAt != nil) != erased || (b.CustomerName == "") != erased {
			t.Errorf("booking %d: erased %v, want %v", id, b.ErasedAt, erased)
		}
	}
	if h := hits(t, f.ctx, conn(t, f), "old@example.com"); len(h) > 0 {
		t.Errorf("old customer still stored: %v", h)
	}
	if n := auditCount(t, f, "retention.run"); n != 1 {
		t.Errorf("retention.run entries: %d", n)
	}
	// Nothing more to do: not audited again.
	if res, err := f.g.Run(f.ctx, testNow.Add(time.Hour)); err != nil || res.Changed() {
		t.Errorf("second run: %+v %v", res, err)
	}
	if n := auditCount(t, f, "retention.run"); n != 1 {
		t.Errorf("retention.run entries after an idle run: %d", n)
	}
	// A month later (fake clock), the next one is due; a shorter setting takes more.
	if res, _ := f.g.Run(f.ctx, testNow.AddDate(0, 1, 1)); res.Bookings != 1 {
		t.Errorf("a month later: %+v", res)
	}
	if err := f.st.UpdatePrivacy(f.ctx, business.Privacy{RetentionMonths: 1, SelfErasure: true}); err != nil {
		t.Fatal(err)
	}
	if res, _ := f.g.Run(f.ctx, testNow.AddDate(0, 1, 4)); res.Bookings != 1 || res.Months != 1 {
		t.Errorf("retention 1 month: %+v", res)
	}
	verifyAudit(t, f)

	// Another run holding the lock: this one does nothing.
	f.book("Locked Customer", "locked@example.com", "", testNow.AddDate(-3, 0, 0))
	tx, err := f.st.Pool().Begin(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(f.ctx, `SELECT pg_advisory_xact_lock($1)`, int64(0x736c6f74_7274656e)); err != nil {
		t.Fatal(err)
	}
	if res, err := f.g.Run(f.ctx, testNow.AddDate(0, 2, 0)); err != nil || !res.Skipped || res.Bookings != 0 {
		t.Errorf("run while locked: %+v %v", res, err)
	}
	tx.Rollback(f.ctx)

	// Concurrent runs: exactly one acts and is audited.
	for i := range 20 {
		f.book(fmt.Sprintf("Concurrent %d", i), fmt.Sprintf("c%d@example.com", i), "", testNow.AddDate(-3, 0, i))
	}
	before := auditCount(t, f, "retention.run")
	var wg sync.WaitGroup
	results := make([]gdpr.Retention, 4)
	for i := range results {
		wg.Go(func() {
			r, err := f.g.Run(f.ctx, testNow.AddDate(0, 2, 0))
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		})
	}
	wg.Wait()
	total := 0
	for _, r := range results {
		total += r.Bookings
	}
	if total != 21 || auditCount(t, f, "retention.run") != before+1 {
		t.Errorf("concurrent runs: %+v, %d new entries", results, auditCount(t, f, "retention.run")-before)
	}
	verifyAudit(t, f)
}

func hash(token string) []byte { h := sha256.Sum256([]byte(token)); return h[:] }

// confirmToken is the token of the newest confirmation mail to rcpt.
func confirmToken(t *testing.T, f *fixture, rcpt string) (token, language string, n int) {
	t.Helper()
	var data map[string]string
	err := f.st.Pool().QueryRow(f.ctx, `SELECT data, language, (SELECT count(*) FROM mail_outbox WHERE template = $1 AND recipient = $2)
		FROM mail_outbox WHERE template = $1 AND recipient = $2 ORDER BY id DESC LIMIT 1`, gdpr.ErasureTemplate, rcpt).Scan(&data, &language, &n)
	if err != nil {
		t.Fatal(err)
	}
	if data["business"] != demo.Settings.Name || data["expires_at"] == "" || !strings.HasPrefix(data["link"], "https://book.example.test/erase/") {
		t.Errorf("mail data: %v", data)
	}
	return data["link"][strings.LastIndexByte(data["link"], '/')+1:], language, n
}

func TestSelfErasure(t *testing.T) {
	f := newFixture(t)
	kim, tokens := f.population()
	if err := f.g.RequestErasure(f.ctx, tokens[1]); err != nil {
		t.Fatal(err)
	}
	token, lang, n := confirmToken(t, f, "Kim@Example.COM")
	if lang != "de" || n != 1 {
		t.Errorf("language %q, %d mails", lang, n)
	}
	// Again at once: no second mail.
	if err := f.g.RequestErasure(f.ctx, tokens[1]); err != nil {
		t.Fatal(err)
	}
	if _, _, n := confirmToken(t, f, "Kim@Example.COM"); n != 1 {
		t.Errorf("%d confirmation mails after two requests", n)
	}
	if err := f.g.CheckErasureLink(f.ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.g.ConfirmErasure(f.ctx, "x"+token[1:]); !errors.Is(err, gdpr.ErrLinkInvalid) {
		t.Errorf("wrong token: %v", err)
	}
	res, err := f.g.ConfirmErasure(f.ctx, token)
	if err != nil || len(res.BookingIDs) != 3 {
		t.Fatalf("confirm: %+v %v", res, err)
	}
	if h := hits(t, f.ctx, conn(t, f), kimEmail); len(h) > 0 {
		t.Errorf("still stored: %v", h)
	}
	var actor string
	f.st.Pool().QueryRow(f.ctx, `SELECT actor FROM audit_log WHERE action = 'customer.erase'`).Scan(&actor)
	if actor != audit.CustomerOfBooking(kim[1].ID) {
		t.Errorf("actor %q", actor)
	}
	if _, err := f.g.ConfirmErasure(f.ctx, token); !errors.Is(err, gdpr.ErrLinkInvalid) {
		t.Errorf("used link: %v", err)
	}
	if err := f.g.CheckErasureLink(f.ctx, token); !errors.Is(err, gdpr.ErrLinkInvalid) {
		t.Errorf("used link check: %v", err)
	}

	// Expired.
	_, tok := f.book("Late Customer", "late@example.com", "", testNow.AddDate(0, 0, 5))
	if err := f.g.RequestErasure(f.ctx, tok); err != nil {
		t.Fatal(err)
	}
	late, _, _ := confirmToken(t, f, "late@example.com")
	f.setNow(testNow.Add(gdpr.DefaultErasureLinkTTL + time.Minute))
	if _, err := f.g.ConfirmErasure(f.ctx, late); !errors.Is(err, gdpr.ErrLinkInvalid) {
		t.Errorf("expired link: %v", err)
	}
	f.setNow(testNow)

	// Switched off: no request, and a valid link is refused.
	_, tok = f.book("Off Customer", "off@example.com", "", testNow.AddDate(0, 0, 6))
	if err := f.g.RequestErasure(f.ctx, tok); err != nil {
		t.Fatal(err)
	}
	off, _, _ := confirmToken(t, f, "off@example.com")
	if err := f.st.UpdatePrivacy(f.ctx, business.Privacy{RetentionMonths: 24, SelfErasure: false}); err != nil {
		t.Fatal(err)
	}
	if err := f.g.RequestErasure(f.ctx, tok); !errors.Is(err, gdpr.ErrSelfErasureOff) {
		t.Errorf("request while off: %v", err)
	}
	if _, err := f.g.ConfirmErasure(f.ctx, off); !errors.Is(err, gdpr.ErrSelfErasureOff) {
		t.Errorf("confirm while off: %v", err)
	}
	if b, _ := f.st.GetBookingByTokenHash(f.ctx, hash(tok)); b.CustomerEmail != "off@example.com" {
		t.Errorf("erased although off: %+v", b)
	}
	if err := f.g.RequestErasure(f.ctx, "nonsense"); !errors.Is(err, gdpr.ErrNotFound) {
		t.Errorf("bad manage token: %v", err)
	}
	verifyAudit(t, f)
}

// TestConsent: with a privacy notice configured, public bookings must accept its current
// version, which the booking records; the business's own bookings need not.
func TestConsent(t *testing.T) {
	f := newFixture(t)
	svc := booking.NewService(f.st, booking.WithNow(f.now))
	day := schedule.DateOf(testNow.In(berlin)).AddDays(2)
	all, err := svc.Availability(f.ctx, f.svcID, nil, day, day.AddDays(3))
	var slots []availability.Slot
	for i := 0; i < len(all); i += 8 { // far enough apart not to overlap
		slots = append(slots, all[i])
	}
	if err != nil || len(slots) < 3 {
		t.Fatal(slots, err)
	}
	req := func(i int, version string, staff bool) booking.Request {
		r := booking.Request{ServiceID: f.svcID, Start: slots[i].Start, PrivacyNoticeVersion: version,
			Customer: booking.Customer{Name: "Consent Customer", Email: "consent@example.com"}}
		if staff {
			r.StaffID = &slots[i].StaffIDs[0]
		}
		return r
	}
	// No notice: nothing required, nothing recorded.
	c, err := svc.Book(f.ctx, req(0, "", false))
	if err != nil || c.Booking.ID == 0 {
		t.Fatal(err)
	}
	if b, _ := f.st.GetBooking(f.ctx, c.Booking.ID); b.PrivacyNoticeVersion != "" {
		t.Errorf("version without a notice: %q", b.PrivacyNoticeVersion)
	}
	if err := f.st.UpdatePrivacy(f.ctx, business.Privacy{RetentionMonths: 24, SelfErasure: true,
		NoticeURL: "https://example.com/privacy", NoticeVersion: "2026-03"}); err != nil {
		t.Fatal(err)
	}
	for _, staff := range []bool{false, true} { // both booking paths
		for version, code := range map[string]string{"": "required", "2025-01": "outdated"} {
			_, err := svc.Book(f.ctx, req(1, version, staff))
			var errs validation.Errors
			if !errors.As(err, &errs) || errs.For("privacyNoticeVersion") == nil || errs.For("privacyNoticeVersion").Code != code {
				t.Errorf("staff %v, version %q: %v, want %s", staff, version, err, code)
			}
		}
	}
	c, err = svc.Book(f.ctx, req(1, "2026-03", true))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := f.st.GetBooking(f.ctx, c.Booking.ID); b.PrivacyNoticeVersion != "2026-03" {
		t.Errorf("recorded version %q", b.PrivacyNoticeVersion)
	}
	c, err = svc.AdminCreate(f.ctx, req(2, "", false))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := f.st.GetBooking(f.ctx, c.Booking.ID); b.PrivacyNoticeVersion != "" {
		t.Errorf("admin booking records %q", b.PrivacyNoticeVersion)
	}
	// Invalid settings.
	for _, p := range []business.Privacy{
		{RetentionMonths: 0}, {RetentionMonths: 121}, {RetentionMonths: 24, NoticeURL: "https://example.com/p"},
		{RetentionMonths: 24, NoticeURL: "javascript:alert(1)", NoticeVersion: "1"},
	} {
		if err := f.st.UpdatePrivacy(f.ctx, p); err == nil {
			t.Errorf("accepted %+v", p)
		}
	}
}
