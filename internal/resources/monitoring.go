package resources

import (
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// AppPodMonitorName is the name of the booking app's PodMonitor in the tenant namespace.
const AppPodMonitorName = AppName

// AppPodMonitor lets a prometheus-operator Prometheus scrape the booking app's metrics port
// (SLOTBOOK_METRICS_ADDR, port "metrics") when the class enables monitoring
// (spec.monitoring.namespaceSelector; the allow-monitoring NetworkPolicy lets those namespaces in)
// and the cluster serves the PodMonitor kind. nil otherwise.
func AppPodMonitor(in Inputs) *monitoringv1.PodMonitor {
	if in.Class.Spec.Monitoring.NamespaceSelector == nil || !in.PodMonitorAvailable {
		return nil
	}
	return &monitoringv1.PodMonitor{
		TypeMeta:   typeMeta(monitoringv1.SchemeGroupVersion.String(), monitoringv1.PodMonitorsKind),
		ObjectMeta: objectMeta(in, AppPodMonitorName, nil),
		Spec: monitoringv1.PodMonitorSpec{
			Selector: metav1.LabelSelector{MatchLabels: appSelectorLabels(in)},
			// Only this namespace, spelled out: a Prometheus may be told to ignore empty selectors.
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{in.Tenant.NamespaceName()}},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{
				Port: ptr.To("metrics"),
				Path: "/metrics",
			}},
		},
	}
}
