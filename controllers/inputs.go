package controllers

import (
	"context"
	"crypto/rand"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// Keys the class's object store credentials Secret must have (the Barman Cloud plugin reads them).
var backupCredentialKeys = []string{"ACCESS_KEY_ID", "ACCESS_SECRET_KEY"}

// copiedClassSecret is a Secret the class names that is copied into every tenant namespace (by
// the builders in internal/resources): the controller reads it, checks its keys and hands its data
// to the builders through into.
type copiedClassSecret struct {
	ref   slotbookv1alpha1.SecretReference
	field string   // the class field naming it, for messages
	keys  []string // keys it must have
	into  func(*resources.Inputs, map[string][]byte)
}

// copiedClassSecrets lists the Secrets the class names, in the order they are checked.
func copiedClassSecrets(class *slotbookv1alpha1.TenantClass) []copiedClassSecret {
	secrets := []copiedClassSecret{{
		ref: class.Spec.Backup.CredentialsSecretRef, field: "backup.credentialsSecretRef", keys: backupCredentialKeys,
		into: func(in *resources.Inputs, data map[string][]byte) { in.BackupCredentials = data },
	}}
	if ref := class.Spec.Backup.EndpointCASecretRef; ref != nil {
		secrets = append(secrets, copiedClassSecret{
			ref: *ref, field: "backup.endpointCASecretRef", keys: []string{"ca.crt"},
			into: func(in *resources.Inputs, data map[string][]byte) { in.BackupEndpointCA = data },
		})
	}
	if smtp := class.Spec.SMTP; smtp != nil {
		secrets = append(secrets, copiedClassSecret{
			ref: smtp.CredentialsSecretRef, field: "smtp.credentialsSecretRef",
			keys: []string{resources.SMTPUsernameKey, resources.SMTPPasswordKey},
			into: func(in *resources.Inputs, data map[string][]byte) { in.SMTPCredentials = data },
		})
	}
	return secrets
}

// gatherInputs looks up everything the tenant's desired objects depend on besides the Tenant and
// its class.
func (r *TenantReconciler) gatherInputs(ctx context.Context, tenant *slotbookv1alpha1.Tenant, class *slotbookv1alpha1.TenantClass) (resources.Inputs, *problem, error) {
	in := resources.Inputs{Tenant: tenant, Class: class, PodMonitorAvailable: r.PodMonitors}

	for _, s := range copiedClassSecrets(class) {
		data, p, err := r.classSecret(ctx, class, s.ref, s.field, s.keys...)
		if err != nil || p != nil {
			return in, p, err
		}
		s.into(&in, data)
	}

	ns := tenant.NamespaceName()
	// A tenant restored from another one's backups takes that tenant's session key, if it still
	// has one: the restored database holds TOTP secrets and manage tokens sealed with it.
	sessionKeyFrom := ""
	if restore := tenant.Spec.Restore; restore != nil {
		sessionKeyFrom = slotbookv1alpha1.TenantNamespace(restore.FromTenant)
	}
	var err error
	if in.SessionKey, err = r.generatedSecretValue(ctx, ns, resources.SessionSecretName, "key", sessionKeyFrom); err != nil {
		return in, nil, err
	}
	if in.DatabasePassword, err = r.generatedSecretValue(ctx, ns, resources.DatabaseSecretName, corev1.BasicAuthPasswordKey, ""); err != nil {
		return in, nil, err
	}
	if in.APIServerEndpoints, err = r.apiServerEndpoints(ctx); err != nil {
		return in, nil, err
	}
	return in, nil, nil
}

// classSecret reads a Secret the class points at. Such Secrets live outside tenant namespaces and
// are not cached (the cache holds only the operator's own Secrets), so they are read directly.
func (r *TenantReconciler) classSecret(ctx context.Context, class *slotbookv1alpha1.TenantClass, ref slotbookv1alpha1.SecretReference, field string, keys ...string) (map[string][]byte, *problem, error) {
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: ref.Namespace, Name: ref.Name}, secret)
	if apierrors.IsNotFound(err) {
		return nil, &problem{"SecretNotFound", fmt.Sprintf("Secret %s/%s named by TenantClass %s %s does not exist",
			ref.Namespace, ref.Name, class.Name, field)}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		if len(secret.Data[k]) == 0 {
			return nil, &problem{"SecretIncomplete", fmt.Sprintf("Secret %s/%s named by TenantClass %s %s has no key %s",
				ref.Namespace, ref.Name, class.Name, field, k)}, nil
		}
	}
	return secret.Data, nil, nil
}

// generatedSecretValue returns a random value the operator generated once and stored in a Secret
// of the tenant namespace, or, if there is none yet, the same Secret's value in copyFrom (another
// tenant's namespace; "" for none) or a fresh one. Before copying or generating, the API server
// is asked directly: a cache that has not yet seen the Secret must never cause a new key.
func (r *TenantReconciler) generatedSecretValue(ctx context.Context, namespace, name, key, copyFrom string) (string, error) {
	secret := &corev1.Secret{}
	nn := types.NamespacedName{Namespace: namespace, Name: name}
	err := r.Client.Get(ctx, nn, secret)
	if apierrors.IsNotFound(err) {
		err = r.APIReader.Get(ctx, nn, secret)
	}
	switch {
	case err == nil && len(secret.Data[key]) > 0:
		return string(secret.Data[key]), nil
	case err != nil && !apierrors.IsNotFound(err):
		return "", err
	}
	if copyFrom != "" {
		err := r.APIReader.Get(ctx, types.NamespacedName{Namespace: copyFrom, Name: name}, secret)
		switch {
		case err == nil && len(secret.Data[key]) > 0:
			return string(secret.Data[key]), nil
		case err != nil && !apierrors.IsNotFound(err):
			return "", err
		}
	}
	return rand.Text() + rand.Text(), nil // 2 × 128 bits, base32: safe in URLs and env vars
}

// apiServerEndpoints lists the kube-apiserver's addresses from the `kubernetes` EndpointSlices.
func (r *TenantReconciler) apiServerEndpoints(ctx context.Context) ([]resources.Endpoint, error) {
	var slices discoveryv1.EndpointSliceList
	if err := r.Client.List(ctx, &slices, client.InNamespace(apiServerServiceNamespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: apiServerServiceName}); err != nil {
		return nil, err
	}
	return resources.EndpointsFromSlices(slices.Items), nil
}
