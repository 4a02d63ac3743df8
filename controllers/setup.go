package controllers

import (
	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	barmancloudv1 "github.com/cloudnative-pg/plugin-barman-cloud/api/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// NewScheme knows every kind the operator reads or writes.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(slotbookv1alpha1.AddToScheme(s))
	utilruntime.Must(cnpgv1.AddToScheme(s))
	barmancloudv1.AddKnownTypes(s)
	utilruntime.Must(cmv1.AddToScheme(s))
	utilruntime.Must(monitoringv1.AddToScheme(s))
	return s
}

// CacheOptions keep the operator's memory proportional to its tenants, not to the cluster: of the
// kinds a tenant owns only the operator's own objects (labelled managed-by slotbook) are cached,
// and of EndpointSlices only the kube-apiserver's. PodMonitors are not listed: the kind is
// optional (prometheus-operator's CRD), and a cache entry for a kind the cluster does not serve
// makes the cache fail to start; the few PodMonitors of a cluster are cached whole.
func CacheOptions() cache.Options {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{"app.kubernetes.io/managed-by": "slotbook"})}
	byObject := map[client.Object]cache.ByObject{
		&corev1.Namespace{}: managed,
		&discoveryv1.EndpointSlice{}: {
			Namespaces: map[string]cache.Config{apiServerServiceNamespace: {}},
			Label:      labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: apiServerServiceName}),
		},
	}
	for _, kind := range ownedNamespacedKinds {
		byObject[kind.object] = managed
	}
	// The controller never reads managedFields (internal/apply compares spec and metadata only):
	// not caching them saves about a fifth of the heap (docs/benchmarks.md).
	return cache.Options{ByObject: byObject, DefaultTransform: cache.TransformStripManagedFields()}
}

// NewTenantReconciler wires a TenantReconciler to a manager's client, API reader and events, and
// looks up whether the cluster serves prometheus-operator's PodMonitor kind.
func NewTenantReconciler(mgr ctrl.Manager, concurrency int) *TenantReconciler {
	return &TenantReconciler{
		Client:                  mgr.GetClient(),
		APIReader:               mgr.GetAPIReader(),
		Recorder:                mgr.GetEventRecorder(resources.FieldOwner),
		MaxConcurrentReconciles: concurrency,
		PodMonitors:             servesPodMonitors(mgr.GetRESTMapper()),
	}
}

// servesPodMonitors reports whether the API server knows monitoring.coreos.com/v1 PodMonitor.
// It is asked once at start: install prometheus-operator's CRDs before the operator, or restart
// the operator afterwards.
func servesPodMonitors(mapper meta.RESTMapper) bool {
	_, err := mapper.RESTMapping(monitoringv1.SchemeGroupVersion.WithKind(monitoringv1.PodMonitorsKind).GroupKind(),
		monitoringv1.SchemeGroupVersion.Version)
	return err == nil
}
