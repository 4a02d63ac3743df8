package monitoring

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/promqltest"
	"sigs.k8s.io/yaml"
)

// TestAlertsEvaluate runs every alert's expression in Prometheus' own engine (promqltest) over
// series shaped like the operator's and the app's: each scenario has tenants for which the
// alert must fire (the result lines) and tenants for which it must stay quiet (absent from
// them). The rules' `for` durations are not evaluated here; the expressions' results are.
// Times: the series start at Unix time 0, so time() at "eval instant at 3h" is 10800.
func TestAlertsEvaluate(t *testing.T) {
	var pr prometheusRule
	if err := yaml.UnmarshalStrict(mustRead(t, rulesFile), &pr); err != nil {
		t.Fatal(err)
	}
	exprs := map[string]string{}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			// promqltest wants the expression on the eval line.
			exprs[r.Alert] = strings.Join(strings.Fields(r.Expr), " ")
		}
	}
	scenarios := []struct {
		alert string
		load  string // load commands (series)
		at    string // evaluation time
		want  string // expected result lines ("" = no alert)
	}{
		{"TenantNotReady", `
load 1m
	slotbook_tenant_condition{tenant="a", type="Ready", status="False"} 1x30
	slotbook_tenant_condition{tenant="a", type="Ready", status="True"} 0x30
	slotbook_tenant_condition{tenant="b", type="Ready", status="True"} 1x30
	slotbook_tenant_condition{tenant="b", type="Ready", status="False"} 0x30
	slotbook_tenant_condition{tenant="c", type="Ready", status="Unknown"} 1x30
	slotbook_tenant_condition{tenant="d", type="DatabaseReady", status="False"} 1x30`, "30m", `
	{tenant="a"} 1
	{tenant="c"} 1`},
		// Hourly backups (interval 3600 s, alert after 5400 s). a: last backup at 0 (3 h ago);
		// b: 30 min ago; c: never, created at 0; d: never, created 30 min ago; e: suspended (no
		// interval series), last backup 3 h ago.
		{"TenantBackupMissing", `
load 1h
	slotbook_tenant_backup_schedule_interval_seconds{tenant="a"} 3600x3
	slotbook_tenant_backup_schedule_interval_seconds{tenant="b"} 3600x3
	slotbook_tenant_backup_schedule_interval_seconds{tenant="c"} 3600x3
	slotbook_tenant_backup_schedule_interval_seconds{tenant="d"} 3600x3
	slotbook_tenant_last_backup_timestamp_seconds{tenant="a"} 0x3
	slotbook_tenant_last_backup_timestamp_seconds{tenant="b"} 9000x3
	slotbook_tenant_last_backup_timestamp_seconds{tenant="e"} 0x3
	slotbook_tenant_created_timestamp_seconds{tenant="a"} 0x3
	slotbook_tenant_created_timestamp_seconds{tenant="b"} 0x3
	slotbook_tenant_created_timestamp_seconds{tenant="c"} 0x3
	slotbook_tenant_created_timestamp_seconds{tenant="d"} 9000x3
	slotbook_tenant_created_timestamp_seconds{tenant="e"} 0x3`, "3h", `
	{tenant="a"} 10800
	{tenant="c"} 10800`},
		// At 1 h: a's certificate expires in 10 days, b's in 30.
		{"TenantCertificateExpiring", `
load 1h
	slotbook_tenant_certificate_expiry_timestamp_seconds{tenant="a", certificate="booking-tls"} 867600x1
	slotbook_tenant_certificate_expiry_timestamp_seconds{tenant="b", certificate="booking-tls"} 2595600x1`, "1h", `
	{tenant="a", certificate="booking-tls"} 864000`},
		// Per minute: a 10 of 100 requests fail (10 %), b 1 of 100 (1 %), c 1 of 2 (50 %, but
		// 0.03 requests per second: too quiet to page).
		{"BookingAppHighErrorRate", `
load 1m
	slotbook_http_request_duration_seconds_count{namespace="tenant-a", route="POST /api/v1/bookings", method="POST", code="500"} 0+10x15
	slotbook_http_request_duration_seconds_count{namespace="tenant-a", route="POST /api/v1/bookings", method="POST", code="201"} 0+90x15
	slotbook_http_request_duration_seconds_count{namespace="tenant-b", route="GET /", method="GET", code="503"} 0+1x15
	slotbook_http_request_duration_seconds_count{namespace="tenant-b", route="GET /", method="GET", code="200"} 0+99x15
	slotbook_http_request_duration_seconds_count{namespace="tenant-c", route="GET /", method="GET", code="500"} 0+1x15
	slotbook_http_request_duration_seconds_count{namespace="tenant-c", route="GET /", method="GET", code="200"} 0+1x15`, "15m", `
	{namespace="tenant-a", tenant="a"} 0.1`},
		// a's latest test failed, b's succeeded (after an earlier failure: one series per tenant).
		{"TenantRestoreTestFailed", `
load 1m
	slotbook_tenant_last_restore_test_timestamp_seconds{tenant="a", result="Failed"} 1795800000x10
	slotbook_tenant_last_restore_test_timestamp_seconds{tenant="b", result="Succeeded"} 1795800000x10`, "10m", `
	{tenant="a"} 1795800000`},
		{"SlotbookOperatorDown", `
load 1m
	other_metric 1x30`, "30m", `
	{} 1`},
		{"SlotbookOperatorDown", `
load 1m
	slotbook_reconcile_errors_total{reason="Apply"} 0x30
	slotbook_reconcile_errors_total{reason="Other"} 0x30`, "30m", ``},
	}
	engine := promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery)
	tested := map[string]bool{}
	for i, sc := range scenarios {
		expr, ok := exprs[sc.alert]
		if !ok {
			t.Fatalf("no alert %s in %s", sc.alert, rulesFile)
		}
		tested[sc.alert] = true
		t.Run(fmt.Sprintf("%s/%d", sc.alert, i), func(t *testing.T) {
			script := strings.TrimSpace(sc.load) + "\n\neval instant at " + sc.at + " " + expr + sc.want + "\n"
			promqltest.RunTest(t, script, engine)
		})
	}
	for alert := range exprs {
		if !tested[alert] {
			t.Errorf("alert %s has no scenario", alert)
		}
	}
}
