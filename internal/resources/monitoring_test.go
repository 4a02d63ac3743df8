package resources

import (
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

// The app's PodMonitor exists only when the class enables monitoring and the cluster serves the
// kind, scrapes the container port the app serves its metrics on, and selects only the app's
// pods of this tenant namespace.
func TestAppPodMonitor(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   func() Inputs
		want bool
	}{
		{"class enables monitoring, CRD served", fullInputs, true},
		{"class enables monitoring, no CRD", func() Inputs { in := fullInputs(); in.PodMonitorAvailable = false; return in }, false},
		{"class without monitoring, CRD served", func() Inputs { in := minimalInputs(); in.PodMonitorAvailable = true; return in }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in()
			pms := all[*monitoringv1.PodMonitor](mustBuild(t, in))
			if got := len(pms) == 1; got != tc.want {
				t.Fatalf("PodMonitors %d, want one: %v", len(pms), tc.want)
			}
			if !tc.want {
				return
			}
			pm := pms[0]
			if pm.Namespace != in.Tenant.NamespaceName() || pm.Name != AppPodMonitorName {
				t.Errorf("PodMonitor %s/%s", pm.Namespace, pm.Name)
			}
			d := AppDeployment(in)
			var metricsPort int32
			for _, p := range d.Spec.Template.Spec.Containers[0].Ports {
				if p.Name == *pm.Spec.PodMetricsEndpoints[0].Port {
					metricsPort = p.ContainerPort
				}
			}
			if metricsPort != AppMetricsPort {
				t.Errorf("PodMonitor port %q is not the app's metrics port %d", *pm.Spec.PodMetricsEndpoints[0].Port, AppMetricsPort)
			}
			for k, v := range pm.Spec.Selector.MatchLabels {
				if d.Spec.Template.Labels[k] != v {
					t.Errorf("selector %s=%s does not match the app's pods %v", k, v, d.Spec.Template.Labels)
				}
			}
			if ns := pm.Spec.NamespaceSelector.MatchNames; len(ns) != 1 || ns[0] != in.Tenant.NamespaceName() {
				t.Errorf("namespaceSelector %v", ns)
			}
		})
	}
}
