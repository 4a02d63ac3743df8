package resources

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// Namespace is the tenant's isolated namespace, enforcing the "restricted" Pod Security Standard.
func Namespace(in Inputs) *corev1.Namespace {
	labels := merge(tenantLabels(in), map[string]string{
		slotbookv1alpha1.EnvironmentLabel: string(environment(in.Tenant)),
	})
	for _, mode := range []string{"enforce", "audit", "warn"} {
		labels[podSecurityLabelBase+mode] = "restricted"
		labels[podSecurityLabelBase+mode+"-version"] = "latest"
	}
	return &corev1.Namespace{
		TypeMeta: typeMeta("v1", "Namespace"),
		ObjectMeta: metav1.ObjectMeta{
			Name:            in.Tenant.NamespaceName(),
			Labels:          labels,
			OwnerReferences: ownerReferences(in),
		},
	}
}

func environment(t *slotbookv1alpha1.Tenant) slotbookv1alpha1.Environment {
	if t.Spec.Environment == "" {
		return slotbookv1alpha1.EnvironmentProduction
	}
	return t.Spec.Environment
}

// DefaultQuota is used when the class sets none: room for one booking instance (3 database
// instances, a few app replicas, backup jobs) and nothing that exposes the namespace directly.
func DefaultQuota() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceRequestsCPU:            resource.MustParse("4"),
		corev1.ResourceRequestsMemory:         resource.MustParse("8Gi"),
		corev1.ResourceLimitsMemory:           resource.MustParse("16Gi"),
		corev1.ResourceRequestsStorage:        resource.MustParse("200Gi"),
		corev1.ResourcePersistentVolumeClaims: resource.MustParse("20"),
		corev1.ResourcePods:                   resource.MustParse("40"),
		corev1.ResourceServicesLoadBalancers:  resource.MustParse("0"),
		corev1.ResourceServicesNodePorts:      resource.MustParse("0"),
	}
}

// ResourceQuota caps what the tenant namespace may use.
func ResourceQuota(in Inputs) *corev1.ResourceQuota {
	hard := in.Class.Spec.Quota.DeepCopy()
	if len(hard) == 0 {
		hard = DefaultQuota()
	}
	// Tenants are reached through the ingress only: no LoadBalancer or NodePort Services, unless
	// the class explicitly allows them.
	for _, guard := range []corev1.ResourceName{corev1.ResourceServicesLoadBalancers, corev1.ResourceServicesNodePorts} {
		if _, set := hard[guard]; !set {
			hard[guard] = resource.MustParse("0")
		}
	}
	return &corev1.ResourceQuota{
		TypeMeta:   typeMeta("v1", "ResourceQuota"),
		ObjectMeta: objectMeta(in, ResourceQuotaName, nil),
		Spec:       corev1.ResourceQuotaSpec{Hard: hard},
	}
}

// LimitRange gives containers that set no resources sensible requests and limits, so that
// pods (e.g. backup jobs) are admitted under the quota. A class that sets only one half gets only
// that half: Kubernetes then derives the other, and a built-in half could contradict the class's.
func LimitRange(in Inputs) *corev1.LimitRange {
	limits := in.Class.Spec.Limits
	defaultRequest, defaultLimit := limits.DefaultRequest.DeepCopy(), limits.Default.DeepCopy()
	if len(defaultRequest) == 0 && len(defaultLimit) == 0 {
		defaultRequest = corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("100m"),
			corev1.ResourceMemory: resource.MustParse("128Mi"),
		}
		defaultLimit = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("512Mi")}
	}
	return &corev1.LimitRange{
		TypeMeta:   typeMeta("v1", "LimitRange"),
		ObjectMeta: objectMeta(in, LimitRangeName, nil),
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type:           corev1.LimitTypeContainer,
			DefaultRequest: defaultRequest,
			Default:        defaultLimit,
		}}},
	}
}
