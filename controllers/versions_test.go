package controllers

import (
	"testing"

	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// TestSetVersions: status.versions names an image only once all of the tenant's pods of that
// part run it, and keeps the previous one meanwhile.
func TestSetVersions(t *testing.T) {
	deployment := func(image string, replicas, updated, current int32, observed bool) *appsv1.Deployment {
		d := &appsv1.Deployment{}
		d.Generation = 3
		d.Spec.Replicas = ptr.To(replicas)
		d.Spec.Template.Spec.Containers = []corev1.Container{{Name: "booking", Image: image}}
		d.Status = appsv1.DeploymentStatus{UpdatedReplicas: updated, Replicas: current, ObservedGeneration: 2}
		if observed {
			d.Status.ObservedGeneration = 3
		}
		return d
	}
	cluster := func(image, phase string, ready int) *cnpgv1.Cluster {
		c := &cnpgv1.Cluster{}
		c.Spec.Instances = 2
		c.Status = cnpgv1.ClusterStatus{Image: image, Phase: phase, ReadyInstances: ready}
		return c
	}
	old := &slotbookv1alpha1.TenantVersions{App: "app:1", Postgres: "pg:15.19"}
	for _, tc := range []struct {
		name     string
		previous *slotbookv1alpha1.TenantVersions
		d        *appsv1.Deployment
		c        *cnpgv1.Cluster
		want     *slotbookv1alpha1.TenantVersions
	}{
		{"nothing observed yet", nil, nil, nil, nil},
		{"new tenant, both running", nil, deployment("app:2", 2, 2, 2, true), cluster("pg:15.20", cnpgv1.PhaseHealthy, 2),
			&slotbookv1alpha1.TenantVersions{App: "app:2", Postgres: "pg:15.20"}},
		{"app rollout half way", old, deployment("app:2", 2, 1, 3, true), cluster("pg:15.19", cnpgv1.PhaseHealthy, 2), old},
		{"app change not yet observed", old, deployment("app:2", 2, 2, 2, false), nil, old},
		{"suspended: nothing runs", old, deployment("app:2", 0, 0, 0, true), nil, old},
		{"postgres upgrading", old, nil, cluster("pg:15.20", cnpgv1.PhaseUpgrade, 1), old},
		{"postgres upgraded, app rolled out", old, deployment("app:2", 2, 2, 2, true), cluster("pg:15.20", cnpgv1.PhaseHealthy, 2),
			&slotbookv1alpha1.TenantVersions{App: "app:2", Postgres: "pg:15.20"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := &slotbookv1alpha1.Tenant{}
			if tc.previous != nil {
				tn.Status.Versions = tc.previous.DeepCopy()
			}
			setVersions(tn, tc.d, tc.c)
			if (tn.Status.Versions == nil) != (tc.want == nil) || (tc.want != nil && *tn.Status.Versions != *tc.want) {
				t.Fatalf("versions %+v, want %+v", tn.Status.Versions, tc.want)
			}
		})
	}
}
