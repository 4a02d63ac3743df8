package web

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slotbook/slotbook/app/internal/auth/access"
	"github.com/slotbook/slotbook/app/internal/business"
	"github.com/slotbook/slotbook/app/internal/gdpr"
	"github.com/slotbook/slotbook/app/internal/schedule"
)

// TestCustomersPage: find a customer, download JSON and CSV, erase; only for customers.manage.
func TestCustomersPage(t *testing.T) {
	a := newTestApp(t).signIn(t)
	cut := a.service(t, "Haarschnitt")
	wed := schedule.Date{Year: 2026, Month: 3, Day: 4}
	c := a.book(t, cut, a.slots(t, cut, nil, wed)[0].Start, nil, "Erika Löschmich")

	if res := a.get(t, "/admin/customers", "de"); res.status != http.StatusOK || !strings.Contains(res.body, text(t, "de", "admin.customers.intro")) {
		t.Fatalf("page: %d", res.status)
	}
	res := a.post(t, "/admin/customers", "de", url.Values{"email": {"KUNDE@example.com"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "Erika Löschmich") || !strings.Contains(res.body, "/admin/customers/export") {
		t.Fatalf("find: %d %s", res.status, res.body)
	}
	if res := a.post(t, "/admin/customers", "de", url.Values{"email": {"nonsense"}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("invalid address: %d", res.status)
	}
	res = a.post(t, "/admin/customers/export", "de", url.Values{"email": {"kunde@example.com"}, "format": {"json"}})
	var e gdpr.Export
	if res.status != http.StatusOK || !strings.Contains(res.header.Get("Content-Disposition"), ".json") ||
		json.Unmarshal([]byte(res.body), &e) != nil || len(e.Table("bookings").Rows) != 1 {
		t.Fatalf("JSON export: %d %s", res.status, res.body)
	}
	res = a.post(t, "/admin/customers/export", "de", url.Values{"email": {"kunde@example.com"}, "format": {"csv"}})
	if zr, err := zip.NewReader(bytes.NewReader([]byte(res.body)), int64(len(res.body))); err != nil || len(zr.File) < 4 {
		t.Fatalf("CSV export: %d %v", res.status, err)
	}
	// Erasing needs the confirmation box.
	if res := a.post(t, "/admin/customers/erase", "de", url.Values{"email": {"kunde@example.com"}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("erase without confirmation: %d", res.status)
	}
	res = a.post(t, "/admin/customers/erase", "de", url.Values{"email": {"kunde@example.com"}, "confirm": {"yes"}})
	if res.status != http.StatusOK || !strings.Contains(res.body, "1") {
		t.Fatalf("erase: %d", res.status)
	}
	if b, _ := a.st.GetBooking(context.Background(), c.Booking.ID); b.CustomerName != "" || b.ErasedAt == nil {
		t.Errorf("not erased: %+v", b)
	}
	if res := a.get(t, "/manage/"+c.ManageToken, "de"); res.status != http.StatusNotFound {
		t.Errorf("manage link after erasure: %d", res.status)
	}
	// Viewers and staff may not.
	viewer := a.as(t, "viewer@example.com", access.Viewer, nil)
	if res := viewer.post(t, "/admin/customers", "de", url.Values{"email": {"kunde@example.com"}}); res.status != http.StatusForbidden {
		t.Errorf("viewer: %d", res.status)
	}
}

// TestSelfErasurePages: manage page → request → mail in the outbox → GET shows a question
// (erases nothing) → POST erases; switched off, the manage page offers nothing and the
// endpoint refuses.
func TestSelfErasurePages(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	cut := a.service(t, "Haarschnitt")
	wed := schedule.Date{Year: 2026, Month: 3, Day: 4}
	c := a.book(t, cut, a.slots(t, cut, nil, wed)[0].Start, nil, "Selma Selbst")
	res := a.get(t, "/manage/"+c.ManageToken, "de")
	if !strings.Contains(res.body, "/manage/"+c.ManageToken+"/erase") {
		t.Fatal("the manage page offers no erasure")
	}
	if res := a.post(t, "/manage/"+c.ManageToken+"/erase", "de", nil); res.status != http.StatusOK ||
		!strings.Contains(res.body, text(t, "de", "erase.requested.title")) {
		t.Fatalf("request: %d", res.status)
	}
	var data map[string]string
	var lang string
	if err := a.st.Pool().QueryRow(ctx, `SELECT data, language FROM mail_outbox WHERE template = 'erasure_confirm' AND recipient = 'kunde@example.com'`).
		Scan(&data, &lang); err != nil {
		t.Fatal(err)
	}
	link := data["link"]
	if lang != "de" || !strings.HasPrefix(link, "https://book.example.test/erase/") {
		t.Fatalf("mail: %v %q", data, lang)
	}
	path := strings.TrimPrefix(link, "https://book.example.test")
	if res := a.get(t, path, "de"); res.status != http.StatusOK || !strings.Contains(res.body, `action="`+path+`"`) {
		t.Fatalf("confirmation page: %d", res.status)
	}
	if b, _ := a.st.GetBooking(ctx, c.Booking.ID); b.ErasedAt != nil {
		t.Fatal("GET erased")
	}
	if res := a.post(t, path, "de", nil); res.status != http.StatusOK || !strings.Contains(res.body, text(t, "de", "erase.done.title")) {
		t.Fatalf("erase: %d", res.status)
	}
	if b, _ := a.st.GetBooking(ctx, c.Booking.ID); b.ErasedAt == nil || b.CustomerEmail != "" {
		t.Errorf("not erased: %+v", b)
	}
	if res := a.post(t, path, "de", nil); res.status != http.StatusNotFound {
		t.Errorf("used link: %d", res.status)
	}

	// Switched off.
	c = a.book(t, cut, a.slots(t, cut, nil, wed)[0].Start, nil, "Otto Aus")
	if err := a.st.UpdatePrivacy(ctx, business.Privacy{RetentionMonths: 24}); err != nil {
		t.Fatal(err)
	}
	if res := a.get(t, "/manage/"+c.ManageToken, "de"); strings.Contains(res.body, "/erase") {
		t.Error("the manage page offers erasure although it is off")
	}
	if res := a.post(t, "/manage/"+c.ManageToken+"/erase", "de", nil); res.status != http.StatusForbidden {
		t.Errorf("request while off: %d", res.status)
	}
}

// TestConsentForm: with a privacy notice, the booking form links it and requires the box.
func TestConsentForm(t *testing.T) {
	a := newTestApp(t)
	ctx := context.Background()
	if err := a.st.UpdatePrivacy(ctx, business.Privacy{RetentionMonths: 24, SelfErasure: true,
		NoticeURL: "https://salon.example/datenschutz", NoticeVersion: "2026-03"}); err != nil {
		t.Fatal(err)
	}
	cut := a.service(t, "Haarschnitt")
	sl := a.slots(t, cut, nil, schedule.Date{Year: 2026, Month: 3, Day: 4})[0]
	q := url.Values{"staff": {"any"}, "start": {formatStart(sl.Start)}}
	res := a.get(t, "/book/"+itoa(cut.ID)+"/details?"+q.Encode(), "de")
	if !strings.Contains(res.body, `href="https://salon.example/datenschutz"`) || !strings.Contains(res.body, `value="2026-03"`) {
		t.Fatalf("details page: %d", res.status)
	}
	form := url.Values{"staff": {"any"}, "start": {formatStart(sl.Start)}, "customer.name": {"Konrad Sens"}, "customer.email": {"k@example.com"}}
	res = a.post(t, "/book/"+itoa(cut.ID), "de", form)
	if res.status != http.StatusUnprocessableEntity || !strings.Contains(res.body, text(t, "de", "validation.privacyNoticeVersion.required")) {
		t.Fatalf("without consent: %d", res.status)
	}
	form.Set("privacyNoticeVersion", "2026-03")
	res = a.post(t, "/book/"+itoa(cut.ID), "de", form)
	if res.status != http.StatusSeeOther {
		t.Fatalf("with consent: %d %s", res.status, res.body)
	}
	var v string
	if err := a.st.Pool().QueryRow(ctx, `SELECT privacy_notice_version FROM bookings WHERE customer_email = 'k@example.com'`).Scan(&v); err != nil || v != "2026-03" {
		t.Errorf("recorded %q %v", v, err)
	}
	// The settings form saves it.
	a.signIn(t)
	res = a.post(t, "/admin/settings/privacy", "de", url.Values{"retentionMonths": {"36"}, "privacyNoticeUrl": {"https://salon.example/p"}, "privacyNoticeVersion": {"v2"}})
	if res.status != http.StatusSeeOther {
		t.Fatalf("privacy settings: %d", res.status)
	}
	if p, _ := a.st.Privacy(ctx); p.RetentionMonths != 36 || p.NoticeVersion != "v2" || p.SelfErasure {
		t.Errorf("saved: %+v", p)
	}
	if res := a.post(t, "/admin/settings/privacy", "de", url.Values{"retentionMonths": {"0"}}); res.status != http.StatusUnprocessableEntity {
		t.Errorf("invalid retention: %d", res.status)
	}
}
