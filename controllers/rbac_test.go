package controllers

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The whole suite runs the manager as the operator's ServiceAccount (see operatorIdentity), which
// proves the generated ClusterRole is sufficient. This test proves it is enforced and narrow:
// what the controller never does is forbidden.
func TestOperatorRoleIsLeastPrivilege(t *testing.T) {
	operator, err := client.New(testManager.GetConfig(), client.Options{Scheme: NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
	}{
		{"list pods", func() error { return operator.List(ctx, &corev1.PodList{}) }},
		{"delete a Deployment", func() error {
			return operator.Delete(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "x"}})
		}},
		{"update a Secret", func() error {
			return operator.Update(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "x"}})
		}},
		{"create a ConfigMap", func() error {
			return operator.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "x"}})
		}},
		{"list nodes", func() error { return operator.List(ctx, &corev1.NodeList{}) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); !apierrors.IsForbidden(err) {
				t.Errorf("want Forbidden, got %v", err)
			}
		})
	}
}
