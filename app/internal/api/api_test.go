package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slotbook/slotbook/app/internal/api"
	"github.com/slotbook/slotbook/app/internal/booking"
	"github.com/slotbook/slotbook/app/internal/demo"
	"github.com/slotbook/slotbook/app/internal/pgtest"
	"github.com/slotbook/slotbook/app/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var berlin, _ = time.LoadLocation("Europe/Berlin")

// Monday 6 May 2030, 08:00 in Berlin; the demo salon's data.
var now = time.Date(2030, 5, 6, 8, 0, 0, 0, berlin)

func on(d, h, m int) time.Time { return time.Date(2030, 5, 6+d, h, m, 0, 0, berlin) }

type env struct {
	t     *testing.T
	srv   *httptest.Server
	st    *store.Store
	clock atomic.Pointer[time.Time]
	// demo ids by name
	service map[string]int64
	staff   map[string]int64
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	st, err := store.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := demo.SeedAt(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, st: st, service: map[string]int64{}, staff: map[string]int64{}}
	e.clock.Store(&now)
	svc := booking.NewService(st, booking.WithBaseURL("https://salon.example"),
		booking.WithNow(func() time.Time { return *e.clock.Load() }))
	e.srv = httptest.NewServer(api.New(svc, st))
	t.Cleanup(e.srv.Close)
	svcs, _ := st.ListServices(ctx, false)
	for _, s := range svcs {
		e.service[s.Name] = s.ID
	}
	staff, _ := st.ListStaff(ctx, false)
	for _, s := range staff {
		e.staff[strings.Fields(s.Name)[0]] = s.ID
	}
	return e
}

func (e *env) setNow(t time.Time) { e.clock.Store(&t) }

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(method, path, contentType string, body io.Reader) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return r
}

func (e *env) get(path string) response { return e.do("GET", path, "", nil) }

func (e *env) post(path string, v any) response {
	e.t.Helper()
	var body io.Reader
	switch v := v.(type) {
	case nil:
	case string:
		body = strings.NewReader(v)
	default:
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	return e.do("POST", path, "application/json", body)
}

func (r response) want(t *testing.T, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	return r
}

// errorCode is body.error.code.
func (r response) errorCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r response) fields() map[string]string {
	out := map[string]string{}
	e, _ := r.body["error"].(map[string]any)
	fs, _ := e["fields"].([]any)
	for _, f := range fs {
		m := f.(map[string]any)
		out[m["field"].(string)] = m["code"].(string)
	}
	return out
}

func (e *env) bookBody(service string, staff string, start time.Time) map[string]any {
	b := map[string]any{
		"serviceId": e.service[service],
		"start":     start.Format(time.RFC3339),
		"customer":  map[string]any{"name": "Kim Example", "email": "kim@example.com", "phone": "+49 30 1234567"},
	}
	if staff != "" {
		b["staffId"] = e.staff[staff]
	}
	return b
}

func TestCatalogue(t *testing.T) {
	e := setup(t)
	r := e.get("/api/v1/services").want(t, 200)
	svcs := r.body["services"].([]any)
	if len(svcs) != 4 {
		t.Fatalf("%d services: %s", len(svcs), r.raw)
	}
	first := svcs[0].(map[string]any)
	if first["name"] != "Haarschnitt" || first["durationMinutes"] != 30.0 || len(first["staff"].([]any)) != 3 {
		t.Fatalf("first service: %v", first)
	}
	if _, ok := first["staff"].([]any)[0].(map[string]any)["email"]; ok {
		t.Fatal("staff e-mail addresses are exposed")
	}

	r = e.get(fmt.Sprintf("/api/v1/staff?service=%d", e.service["Typberatung"])).want(t, 200)
	if staff := r.body["staff"].([]any); len(staff) != 1 || staff[0].(map[string]any)["name"] != "Anna Schmidt" {
		t.Fatalf("staff for Typberatung: %s", r.raw)
	}
	r = e.get("/api/v1/staff").want(t, 200)
	if staff := r.body["staff"].([]any); len(staff) != 3 {
		t.Fatalf("all staff: %s", r.raw)
	}
	for q, field := range map[string]string{"service=abc": "service", "service=-1": "service", "service=999": "service"} {
		if r := e.get("/api/v1/staff?"+q).want(t, 422); r.errorCode() != "invalid" || r.fields()[field] == "" {
			t.Fatalf("staff?%s: %s", q, r.raw)
		}
	}
}

func TestAvailability(t *testing.T) {
	e := setup(t)
	path := fmt.Sprintf("/api/v1/availability?service=%d&from=2030-05-07&to=2030-05-07", e.service["Haarschnitt"])
	r := e.get(path).want(t, 200)
	slots := r.body["slots"].([]any)
	if len(slots) == 0 || r.body["timeZone"] != "Europe/Berlin" {
		t.Fatalf("no slots: %s", r.raw)
	}
	first := slots[0].(map[string]any)
	// Tuesday: Jonas does not work, Anna starts at 09:00, Mehmet at 10:00.
	if first["start"] != "2030-05-07T09:00:00+02:00" || first["end"] != "2030-05-07T09:30:00+02:00" {
		t.Fatalf("first slot %v", first)
	}
	if ids := first["staffIds"].([]any); len(ids) != 1 || ids[0] != float64(e.staff["Anna"]) {
		t.Fatalf("first slot staff %v", ids)
	}
	r = e.get(path+fmt.Sprintf("&staff=%d", e.staff["Mehmet"])).want(t, 200)
	if first := r.body["slots"].([]any)[0].(map[string]any); first["start"] != "2030-05-07T10:00:00+02:00" {
		t.Fatalf("Mehmet's first slot %v", first)
	}

	for _, tc := range []struct{ query, field, code string }{
		{"from=2030-05-07&to=2030-05-07", "service", "required"},
		{fmt.Sprintf("service=%d&from=2030-05-07", e.service["Haarschnitt"]), "to", "required"},
		{fmt.Sprintf("service=%d&from=7.5.2030&to=2030-05-07", e.service["Haarschnitt"]), "from", "invalid"},
		{fmt.Sprintf("service=%d&from=2030-05-01&to=2030-07-02", e.service["Haarschnitt"]), "to", "too_long"},
		{fmt.Sprintf("service=%d&from=2030-05-08&to=2030-05-07", e.service["Haarschnitt"]), "to", "before_from"},
		{"service=9999&from=2030-05-07&to=2030-05-07", "service", "unknown"},
		{fmt.Sprintf("service=%d&staff=%d&from=2030-05-07&to=2030-05-07", e.service["Typberatung"], e.staff["Jonas"]), "staff", "not_offered"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			r := e.get("/api/v1/availability?"+tc.query).want(t, 422)
			if got := r.fields()[tc.field]; got != tc.code {
				t.Fatalf("field %s: code %q, want %q: %s", tc.field, got, tc.code, r.raw)
			}
		})
	}
	// 62 days is fine.
	e.get(fmt.Sprintf("/api/v1/availability?service=%d&from=2030-05-01&to=2030-07-01", e.service["Haarschnitt"])).want(t, 200)
}

func TestBookAndManage(t *testing.T) {
	e := setup(t)
	start := on(1, 10, 0) // Tuesday 10:00
	r := e.post("/api/v1/bookings", e.bookBody("Haarschnitt", "Mehmet", start)).want(t, 201)
	if r.body["start"] != "2030-05-07T10:00:00+02:00" || r.body["end"] != "2030-05-07T10:30:00+02:00" ||
		r.body["staffId"] != float64(e.staff["Mehmet"]) || r.body["serviceId"] != float64(e.service["Haarschnitt"]) ||
		r.body["status"] != "confirmed" || r.body["id"] == nil {
		t.Fatalf("201 body: %s", r.raw)
	}
	token := r.body["manageToken"].(string)
	if r.body["manageUrl"] != "https://salon.example/manage/"+token {
		t.Fatalf("manageUrl %v", r.body["manageUrl"])
	}

	// The same slot and person again: 409 with alternatives.
	r = e.post("/api/v1/bookings", e.bookBody("Haarschnitt", "Mehmet", start)).want(t, 409)
	alts, _ := r.body["error"].(map[string]any)["alternatives"].([]any)
	if r.errorCode() != "conflict" || len(alts) == 0 || len(alts) > booking.MaxAlternatives {
		t.Fatalf("409 body: %s", r.raw)
	}
	if alt := alts[0].(map[string]any); !strings.HasPrefix(alt["start"].(string), "2030-05-07T") || alt["start"] == "2030-05-07T10:00:00+02:00" {
		t.Fatalf("first alternative %v", alt)
	}
	// Anyone at that time: Anna (first in the stable order) is still free.
	r = e.post("/api/v1/bookings", e.bookBody("Haarschnitt", "", start)).want(t, 201)
	if r.body["staffId"] != float64(e.staff["Anna"]) {
		t.Fatalf("any staff went to %v", r.body["staffId"])
	}

	// Manage.
	r = e.get("/api/v1/manage/"+token).want(t, 200)
	if r.body["status"] != "confirmed" || r.body["canChange"] != true || r.body["changeDeadline"] != "2030-05-06T10:00:00+02:00" ||
		r.body["service"].(map[string]any)["name"] != "Haarschnitt" || r.body["staff"].(map[string]any)["name"] != "Mehmet Yılmaz" ||
		r.body["customer"].(map[string]any)["email"] != "kim@example.com" || r.body["cancelledAt"] != nil {
		t.Fatalf("manage: %s", r.raw)
	}
	other := "A"
	if strings.HasSuffix(token, other) {
		other = "B"
	}
	for _, bad := range []string{"nope", strings.Repeat("x", 43), token[:42] + other} {
		if r := e.get("/api/v1/manage/"+bad).want(t, 404); r.errorCode() != "not_found" {
			t.Fatalf("unknown token: %s", r.raw)
		}
		e.post("/api/v1/manage/"+bad+"/cancel", nil).want(t, 404)
		e.post("/api/v1/manage/"+bad+"/reschedule", map[string]any{"start": start.Format(time.RFC3339)}).want(t, 404)
	}

	// Reschedule to Wednesday 11:00 (Mehmet is kept), then onto a taken time: 409.
	r = e.post("/api/v1/manage/"+token+"/reschedule", map[string]any{"start": "2030-05-08T11:00:00+02:00"}).want(t, 200)
	if r.body["start"] != "2030-05-08T11:00:00+02:00" || r.body["staff"].(map[string]any)["id"] != float64(e.staff["Mehmet"]) {
		t.Fatalf("rescheduled: %s", r.raw)
	}
	e.post("/api/v1/bookings", e.bookBody("Haarschnitt", "Anna", on(2, 14, 0))).want(t, 201)
	r = e.post("/api/v1/manage/"+token+"/reschedule", map[string]any{"start": "2030-05-08T14:00:00+02:00", "staffId": e.staff["Anna"]}).want(t, 409)
	if r.errorCode() != "conflict" {
		t.Fatalf("reschedule conflict: %s", r.raw)
	}
	if r := e.get("/api/v1/manage/"+token).want(t, 200); r.body["start"] != "2030-05-08T11:00:00+02:00" {
		t.Fatalf("a failed reschedule moved the booking: %s", r.raw)
	}
	r = e.post("/api/v1/manage/"+token+"/reschedule", map[string]any{"start": "2030-05-08T11:05:00+02:00"}).want(t, 422)
	if r.fields()["start"] != "not_offered" {
		t.Fatalf("reschedule off grid: %s", r.raw)
	}
	r = e.post("/api/v1/manage/"+token+"/reschedule", map[string]any{"start": "tomorrow"}).want(t, 422)
	if r.fields()["start"] != "invalid" {
		t.Fatalf("reschedule bad time: %s", r.raw)
	}

	// After the deadline: 409 deadline_passed, for cancelling and rescheduling.
	e.setNow(on(1, 11, 0))
	if r := e.post("/api/v1/manage/"+token+"/cancel", nil).want(t, 409); r.errorCode() != "deadline_passed" {
		t.Fatalf("late cancel: %s", r.raw)
	}
	if r := e.post("/api/v1/manage/"+token+"/reschedule", map[string]any{"start": "2030-05-09T11:00:00+02:00"}).want(t, 409); r.errorCode() != "deadline_passed" {
		t.Fatalf("late reschedule: %s", r.raw)
	}
	if r := e.get("/api/v1/manage/"+token).want(t, 200); r.body["canChange"] != false {
		t.Fatalf("canChange after the deadline: %s", r.raw)
	}
	e.setNow(now)
	r = e.post("/api/v1/manage/"+token+"/cancel", nil).want(t, 200)
	if r.body["status"] != "cancelled" || r.body["cancelledAt"] == nil || r.body["canChange"] != false {
		t.Fatalf("cancelled: %s", r.raw)
	}
	e.post("/api/v1/manage/"+token+"/cancel", nil).want(t, 200) // idempotent
	if r := e.post("/api/v1/manage/"+token+"/reschedule", map[string]any{"start": "2030-05-09T11:00:00+02:00"}).want(t, 409); r.errorCode() != "cancelled" {
		t.Fatalf("reschedule cancelled: %s", r.raw)
	}
}

func TestBookInvalid(t *testing.T) {
	e := setup(t)
	valid := func() map[string]any { return e.bookBody("Haarschnitt", "", on(1, 10, 0)) }
	for _, tc := range []struct {
		name   string
		change func(map[string]any)
		fields map[string]string
	}{
		{"no service", func(b map[string]any) { delete(b, "serviceId") }, map[string]string{"serviceId": "required"}},
		{"unknown service", func(b map[string]any) { b["serviceId"] = 9999 }, map[string]string{"serviceId": "unknown"}},
		{"staff not offering", func(b map[string]any) {
			b["serviceId"] = e.service["Typberatung"]
			b["staffId"] = e.staff["Jonas"]
		}, map[string]string{"staffId": "not_offered"}},
		{"no start", func(b map[string]any) { delete(b, "start") }, map[string]string{"start": "required"}},
		{"start without offset", func(b map[string]any) { b["start"] = "2030-05-07T10:00:00" }, map[string]string{"start": "invalid"}},
		{"too soon", func(b map[string]any) { b["start"] = on(0, 9, 0).Format(time.RFC3339) }, map[string]string{"start": "too_soon"}},
		{"customer", func(b map[string]any) { b["customer"] = map[string]any{"email": "no", "phone": "x"} },
			map[string]string{"customer.name": "required", "customer.email": "invalid_email", "customer.phone": "invalid_phone"}},
		{"wrong type", func(b map[string]any) { b["serviceId"] = "one" }, map[string]string{"serviceId": "invalid_type"}},
		{"wrong nested type", func(b map[string]any) { b["customer"] = map[string]any{"name": 7} }, map[string]string{"customer.name": "invalid_type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := valid()
			tc.change(b)
			r := e.post("/api/v1/bookings", b).want(t, 422)
			if r.errorCode() != "invalid" {
				t.Fatalf("code %q", r.errorCode())
			}
			got := r.fields()
			for f, c := range tc.fields {
				if got[f] != c {
					t.Fatalf("field %s: %q, want %q (%s)", f, got[f], c, r.raw)
				}
			}
		})
	}

	big := `{"serviceId":1,"start":"2030-05-07T10:00:00+02:00","customer":{"name":"` + strings.Repeat("x", api.MaxBodyBytes) + `","email":"a@b.de"}}`
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		code                    string
	}{
		{"unknown field", "application/json", `{"serviceId":1,"start":"2030-05-07T10:00:00+02:00","customer":{"name":"K","email":"k@example.com"},"admin":true}`, 400, "bad_request"},
		{"unknown nested field", "application/json", `{"serviceId":1,"start":"2030-05-07T10:00:00+02:00","customer":{"name":"K","email":"k@example.com","vip":true}}`, 400, "bad_request"},
		{"not JSON", "application/json", `serviceId=1`, 400, "bad_request"},
		{"empty", "application/json", ``, 400, "bad_request"},
		{"two objects", "application/json", `{} {}`, 400, "bad_request"},
		{"too large", "application/json", big, 413, "too_large"},
		{"form", "application/x-www-form-urlencoded", `serviceId=1`, 415, "unsupported_media_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/api/v1/bookings", tc.contentType, strings.NewReader(tc.body)).want(t, tc.status)
			if r.errorCode() != tc.code {
				t.Fatalf("code %q, want %q: %s", r.errorCode(), tc.code, r.raw)
			}
		})
	}
	if bs, _ := e.st.ListBookings(t.Context(), on(-1, 0, 0), on(60, 0, 0), nil); len(bs) != 0 {
		t.Fatalf("invalid requests stored %d bookings", len(bs))
	}
}

func TestRouting(t *testing.T) {
	e := setup(t)
	if r := e.get("/api/v1/nothing").want(t, 404); r.errorCode() != "not_found" {
		t.Fatal(r.raw)
	}
	r := e.do("DELETE", "/api/v1/services", "", nil).want(t, 405)
	if r.errorCode() != "method_not_allowed" || r.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("405: %v %s", r.header, r.raw)
	}
	if r := e.get("/api/v1/bookings").want(t, 405); r.header.Get("Allow") != "POST" {
		t.Fatal(r.header)
	}
	e.do("HEAD", "/api/v1/services", "", nil).want(t, 200)
}

// THE concurrency test: many clients want the same slot at once; exactly one gets it.
func TestConcurrentBookingOfOneSlot(t *testing.T) {
	e := setup(t)
	const clients = 60
	start := on(2, 15, 0) // Wednesday 15:00: everyone works
	for _, tc := range []struct {
		name    string
		staff   string
		winners int
	}{
		{"one staff member", "Jonas", 1},
		// Any staff: each of the three who offer haircuts can be booked once.
		{"any staff", "", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.staff == "" {
				start = start.Add(time.Hour)
			}
			body, _ := json.Marshal(e.bookBody("Haarschnitt", tc.staff, start))
			var wg sync.WaitGroup
			statuses := make([]int, clients)
			ready := make(chan struct{})
			for i := range clients {
				wg.Go(func() {
					<-ready
					res, err := e.srv.Client().Post(e.srv.URL+"/api/v1/bookings", "application/json", bytes.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					statuses[i] = res.StatusCode
				})
			}
			close(ready)
			wg.Wait()
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			if count[201] != tc.winners || count[409] != clients-tc.winners {
				t.Fatalf("statuses %v: want %d×201 and %d×409", count, tc.winners, clients-tc.winners)
			}
			var confirmed, people int
			err := e.st.Pool().QueryRow(context.Background(), `
				SELECT count(*), count(DISTINCT staff_id) FROM bookings
				WHERE status = 'confirmed' AND start_at = $1`, start).Scan(&confirmed, &people)
			if err != nil {
				t.Fatal(err)
			}
			if confirmed != tc.winners || people != tc.winners {
				t.Fatalf("%d confirmed rows for %d staff, want %d", confirmed, people, tc.winners)
			}
		})
	}
}
