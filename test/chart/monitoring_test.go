package chart

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// rulesFile is the alert rules' single source; the chart renders the copy make chart-sync makes.
var rulesFile = filepath.Join(repoRoot, "config", "prometheus", "rules.yaml")

// checkRenderedMonitoring checks the custom render's PrometheusRule and dashboards ConfigMap
// against their sources: the rules of config/prometheus/rules.yaml with
// prometheusRule.additionalAlertLabels added to each, and dashboards/fleet.json byte for byte.
func checkRenderedMonitoring(t *testing.T, objs []*unstructured.Unstructured) {
	t.Helper()
	source := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(mustRead(t, rulesFile), &source.Object); err != nil {
		t.Fatal(err)
	}
	want, _, _ := unstructured.NestedSlice(source.Object, "spec", "groups")
	for _, g := range want {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			rule := r.(map[string]any)
			labels, _ := rule["labels"].(map[string]any)
			labels = maps.Clone(labels)
			if labels == nil {
				labels = map[string]any{}
			}
			labels["team"] = "platform" // test/chart/testdata/values-custom.yaml
			rule["labels"] = labels
		}
	}
	rendered := mustFind(t, objs, "PrometheusRule", "acme-slotbook-alerts")
	got, _, _ := unstructured.NestedSlice(rendered.Object, "spec", "groups")
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("PrometheusRule groups differ from config/prometheus/rules.yaml (+ additionalAlertLabels):\n got %s\nwant %s", g, w)
	}
	if rendered.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("PrometheusRule labels %v lack prometheusRule.labels", rendered.GetLabels())
	}

	cm := mustFind(t, objs, "ConfigMap", "acme-slotbook-grafana-dashboards")
	if cm.GetLabels()["grafana_dashboard"] != "1" || cm.GetAnnotations()["grafana_folder"] != "Slotbook" {
		t.Errorf("dashboards ConfigMap labels %v annotations %v", cm.GetLabels(), cm.GetAnnotations())
	}
	data, _, _ := unstructured.NestedStringMap(cm.Object, "data")
	fleet := mustRead(t, filepath.Join(chartDir, "dashboards", "fleet.json"))
	if !bytes.Equal([]byte(data["slotbook-fleet.json"]), bytes.TrimRight(fleet, "\n")) {
		t.Errorf("ConfigMap's slotbook-fleet.json differs from dashboards/fleet.json (keys %v)", keys(data))
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestKustomizePrometheusRules applies config/prometheus (the rules for kustomize users) to the
// API server with the PrometheusRule CRD installed, so its schema judges them.
func TestKustomizePrometheusRules(t *testing.T) {
	if !monitoringCRDs {
		t.Skip("prometheus-operator CRDs not available:", monitoringSkipReason)
	}
	objs := renderKustomize(t, filepath.Join(repoRoot, "config", "prometheus"))
	if ids := objectIDs(objs); len(ids) != 1 || ids[0] != "PrometheusRule slotbook-system/slotbook-alerts" {
		t.Fatalf("config/prometheus renders %v", ids)
	}
	applyAll(context.Background(), t, "kustomize-test", objs)
}
