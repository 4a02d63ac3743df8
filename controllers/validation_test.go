package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// These tests pin the Tenant and TenantClass API's validation as the API server enforces it
// (OpenAPI schema and CEL x-kubernetes-validations from config/crd/bases): every invalid object
// must be refused, and the refusal must name the field and say what is wrong in words a person
// understands.

// validationMissingClass is a class that never exists: tenants created by these tests are only
// there to exercise validation, so the controller just reports them stalled.
const validationMissingClass = "validation-no-such-class"

// unstructuredTenant is a valid Tenant as a plain map, so a case can send what a typed client
// cannot: a missing required field, a zero that omitempty would drop, a value of the wrong type.
func unstructuredTenant(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": slotbookv1alpha1.GroupVersion.String(),
		"kind":       "Tenant",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"className": validationMissingClass,
			// Derived from the name but always valid, so a case about the name tests only the name.
			"host": strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name)) + ".booking.example",
		},
	}}
	return u
}

// setField returns a mutation setting a dotted path (e.g. "spec.postgres.instances") to v.
// Numbers must be int64 or float64, as in decoded JSON.
func setField(path string, v any) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		if err := unstructured.SetNestedField(u.Object, v, strings.Split(path, ".")...); err != nil {
			panic(fmt.Sprintf("setting %s: %v", path, err))
		}
	}
}

// removeField returns a mutation removing a dotted path.
func removeField(path string) func(*unstructured.Unstructured) {
	return func(u *unstructured.Unstructured) {
		unstructured.RemoveNestedField(u.Object, strings.Split(path, ".")...)
	}
}

// assertRejected fails unless err is an Invalid error whose message contains every wanted substring.
func assertRejected(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the API server accepted the object; want an error containing %q", want)
	}
	t.Logf("rejected: %v", err)
	if !apierrors.IsInvalid(err) {
		t.Errorf("want an Invalid (422) error, got %T (reason %q): %v", err, apierrors.ReasonForError(err), err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n  %v", w, err)
		}
	}
	// A CEL rule that fails to evaluate still rejects the object, but with jargon instead of the
	// rule's message: that is a bug in the rule.
	for _, bad := range []string{"evaluating rule", "conversion error", "no such overload", "no such key"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("a validation rule failed to evaluate (%q) instead of rejecting the value with its message:\n  %v", bad, err)
		}
	}
}

// waitForFinalizer waits until the controller has taken charge of a tenant (added its finalizer),
// so that deleting it exercises the controller's deletion path.
func waitForFinalizer(t *testing.T, name string) {
	t.Helper()
	eventually(t, waitTimeout, "finalizer on tenant "+name, func() error {
		tenant, err := get(t, &slotbookv1alpha1.Tenant{}, "", name)
		if err != nil {
			return err
		}
		if !controllerutil.ContainsFinalizer(tenant, Finalizer) {
			return fmt.Errorf("finalizers: %v", tenant.Finalizers)
		}
		return nil
	})
}

// deleteTenantAndWait deletes a tenant and waits until it is gone, i.e. until the controller has
// carried out its deletion policy and removed its finalizer. If the tenant is stuck, the test
// fails and the finalizer is removed by hand so later tests are not affected.
func deleteTenantAndWait(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	tenant := &slotbookv1alpha1.Tenant{}
	tenant.Name = name
	if err := k8s.Delete(ctx, tenant); err != nil {
		if apierrors.IsNotFound(err) {
			return
		}
		t.Errorf("deleting tenant %s: %v", name, err)
		return
	}
	err := waitTenantGone(name)
	if err == nil {
		return
	}
	t.Errorf("tenant %s was not deleted within %s (stuck on its finalizer?): %v", name, waitTimeout, err)
	if err := k8s.Get(ctx, types.NamespacedName{Name: name}, tenant); err != nil {
		return
	}
	patch := client.MergeFrom(tenant.DeepCopy())
	controllerutil.RemoveFinalizer(tenant, Finalizer)
	if err := k8s.Patch(ctx, tenant, patch); client.IgnoreNotFound(err) != nil {
		t.Errorf("removing the finalizer of tenant %s: %v", name, err)
	}
}

// waitTenantGone polls until the tenant no longer exists or waitTimeout passes.
func waitTenantGone(name string) error {
	var lastErr error
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); {
		err := k8s.Get(context.Background(), types.NamespacedName{Name: name}, &slotbookv1alpha1.Tenant{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			lastErr = err
		} else {
			lastErr = errors.New("still exists")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return lastErr
}

func TestInvalidTenantsAreRejected(t *testing.T) {
	ctx := context.Background()

	// The base object every case starts from must itself be valid, or the cases prove nothing.
	base := unstructuredTenant("val-base")
	if err := k8s.Create(ctx, base, client.DryRunAll); err != nil {
		t.Fatalf("the valid base tenant is rejected: %v", err)
	}

	long41 := "val-" + strings.Repeat("n", 37) // 41 characters
	cases := []struct {
		name   string // tenant name, unique per case
		mutate func(*unstructured.Unstructured)
		want   []string // substrings of the API server's error
	}{
		// restore
		{"val-restore-self", setField("spec.restore", map[string]any{"fromTenant": "val-restore-self"}),
			[]string{"spec.restore.fromTenant must name another tenant"}},
		{"val-restore-bad-name", setField("spec.restore", map[string]any{"fromTenant": "Old.Salon"}),
			[]string{"spec.restore.fromTenant", "must be a Tenant name"}},
		{"val-restore-no-name", setField("spec.restore", map[string]any{"targetTime": "2026-11-27T09:30:00Z"}),
			[]string{"spec.restore.fromTenant", "Required value"}},
		{"val-restore-bad-time", setField("spec.restore", map[string]any{"fromTenant": "old", "targetTime": "yesterday"}),
			[]string{"spec.restore.targetTime"}},
		// host
		{"val-host-missing", removeField("spec.host"), []string{"spec.host", "Required value"}},
		{"val-host-empty", setField("spec.host", ""), []string{"spec.host", "at least 1 chars long"}},
		{"val-host-scheme", setField("spec.host", "https://booking.example.com"),
			[]string{"spec.host", "must be a lowercase fully qualified domain name", "no scheme"}},
		{"val-host-uppercase", setField("spec.host", "Booking.Example.com"),
			[]string{"spec.host", "must be a lowercase fully qualified domain name"}},
		{"val-host-wildcard", setField("spec.host", "*.example.com"),
			[]string{"spec.host", "must be a lowercase fully qualified domain name", "wildcard"}},
		{"val-host-trailing-dot", setField("spec.host", "booking.example.com."),
			[]string{"spec.host", "must be a lowercase fully qualified domain name"}},
		{"val-host-port", setField("spec.host", "booking.example.com:8443"),
			[]string{"spec.host", "must be a lowercase fully qualified domain name", "port"}},
		{"val-host-path", setField("spec.host", "booking.example.com/app"),
			[]string{"spec.host", "must be a lowercase fully qualified domain name", "path"}},
		{"val-host-single-label", setField("spec.host", "localhost"),
			[]string{"spec.host", "must be a lowercase fully qualified domain name"}},
		{"val-host-ip", setField("spec.host", "10.0.0.1"),
			[]string{"spec.host", "must be a lowercase fully qualified domain name"}},
		{"val-host-too-long", setField("spec.host", strings.Repeat("a.", 127)+"example"),
			[]string{"spec.host", "Too long"}},

		// metadata.name: the API server checks names (DNS subdomain) itself; the CRD adds length
		// 40 (the namespace is tenant-<name>) and no dots (the name is a namespace label).
		{long41, nil, []string{"metadata.name", "at most 40 characters"}},
		{"val-Upper", nil, []string{"metadata.name", "lowercase RFC 1123"}},
		{"val_underscore", nil, []string{"metadata.name", "lowercase RFC 1123"}},
		{"val.dotted", nil, []string{"metadata.name", "must be a DNS label", "no dots"}},

		// enums
		{"val-env-enum", setField("spec.environment", "development"),
			[]string{"spec.environment", "Unsupported value", `"production"`, `"staging"`}},
		{"val-mfa-enum", setField("spec.security.mfa", "Sometimes"),
			[]string{"spec.security.mfa", "Unsupported value", `"Optional"`, `"Required"`}},
		{"val-deletion-policy-enum", setField("spec.deletionPolicy", "Orphan"),
			[]string{"spec.deletionPolicy", "Unsupported value", `"Retain"`, `"Delete"`}},

		// numbers
		{"val-replicas-0", setField("spec.app.replicas", int64(0)),
			[]string{"spec.app.replicas", "should be greater than or equal to 1"}},
		{"val-replicas-21", setField("spec.app.replicas", int64(21)),
			[]string{"spec.app.replicas", "should be less than or equal to 20"}},
		{"val-instances-0", setField("spec.postgres.instances", int64(0)),
			[]string{"spec.postgres.instances", "should be greater than or equal to 1"}},
		{"val-instances-10", setField("spec.postgres.instances", int64(10)),
			[]string{"spec.postgres.instances", "should be less than or equal to 9"}},
		{"val-password-min-7", setField("spec.security.passwordMinLength", int64(7)),
			[]string{"spec.security.passwordMinLength", "should be greater than or equal to 8"}},
		{"val-replicas-string", setField("spec.app.replicas", "two"),
			[]string{"spec.app.replicas", "must be of type integer"}},

		// postgres.storage.size
		{"val-size-abc", setField("spec.postgres.storage.size", "abc"),
			[]string{"spec.postgres.storage.size", "must be a quantity of at least 1Gi"}},
		{"val-size-zero", setField("spec.postgres.storage.size", "0"),
			[]string{"spec.postgres.storage.size", "must be a quantity of at least 1Gi"}},
		{"val-size-negative", setField("spec.postgres.storage.size", "-1Gi"),
			[]string{"spec.postgres.storage.size", "must be a quantity of at least 1Gi"}},
		{"val-size-tiny", setField("spec.postgres.storage.size", "500Mi"),
			[]string{"spec.postgres.storage.size", "must be a quantity of at least 1Gi"}},

		// postgres.backup
		{"val-schedule-5-fields", setField("spec.postgres.backup.schedule", "0 2 * * *"),
			[]string{"spec.postgres.backup.schedule", "must have 6 space-separated fields"}},
		{"val-schedule-7-fields", setField("spec.postgres.backup.schedule", "0 0 2 * * * 2026"),
			[]string{"spec.postgres.backup.schedule", "must have 6 space-separated fields"}},
		{"val-retention-no-unit", setField("spec.postgres.backup.retention", "30"),
			[]string{"spec.postgres.backup.retention", "must be a number followed by d, w or m"}},
		{"val-retention-zero", setField("spec.postgres.backup.retention", "0d"),
			[]string{"spec.postgres.backup.retention", "must be a number followed by d, w or m"}},
		{"val-retention-years", setField("spec.postgres.backup.retention", "30y"),
			[]string{"spec.postgres.backup.retention", "must be a number followed by d, w or m"}},

		// security.sessionIdleTimeout
		{"val-idle-10s", setField("spec.security.sessionIdleTimeout", "10s"),
			[]string{"spec.security.sessionIdleTimeout", "must be a duration between 1m and 24h"}},
		{"val-idle-48h", setField("spec.security.sessionIdleTimeout", "48h"),
			[]string{"spec.security.sessionIdleTimeout", "must be a duration between 1m and 24h"}},
		{"val-idle-forever", setField("spec.security.sessionIdleTimeout", "forever"),
			[]string{"spec.security.sessionIdleTimeout", "must be a duration between 1m and 24h"}},
		{"val-idle-overflow", setField("spec.security.sessionIdleTimeout", "99999999999999999h"),
			[]string{"spec.security.sessionIdleTimeout", "must be a duration between 1m and 24h"}},

		// strings
		{"val-timezone-injection", setField("spec.timeZone", "Europe/Berlin; rm"),
			[]string{"spec.timeZone", "must be an IANA time zone name"}},
		{"val-display-name-too-long", setField("spec.displayName", strings.Repeat("x", 201)),
			[]string{"spec.displayName", "Too long", "200"}},

		// owner.email
		{"val-owner-email-missing", setField("spec.owner", map[string]any{}),
			[]string{"spec.owner.email", "Required value"}},
		{"val-owner-email-no-at", setField("spec.owner.email", "owner.example.com"),
			[]string{"spec.owner.email", "must be an e-mail address"}},
		{"val-owner-email-name", setField("spec.owner.email", "Owner <owner@example.com>"),
			[]string{"spec.owner.email", "must be an e-mail address"}},
		{"val-owner-email-space", setField("spec.owner.email", "owner @example.com"),
			[]string{"spec.owner.email", "must be an e-mail address"}},
		{"val-owner-email-no-tld", setField("spec.owner.email", "owner@localhost"),
			[]string{"spec.owner.email", "must be an e-mail address"}},
		{"val-owner-email-two-ats", setField("spec.owner.email", "a@b@example.com"),
			[]string{"spec.owner.email", "must be an e-mail address"}},
		{"val-owner-email-option", setField("spec.owner.email", "--help"),
			[]string{"spec.owner.email", "must be an e-mail address"}},
		{"val-owner-email-too-long", setField("spec.owner.email", strings.Repeat("a", 250)+"@example.com"),
			[]string{"spec.owner.email", "Too long"}},
	}

	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("case name %s is used twice", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			u := unstructuredTenant(c.name)
			if c.mutate != nil {
				c.mutate(u)
			}
			err := k8s.Create(ctx, u)
			if err == nil {
				t.Cleanup(func() { deleteTenantAndWait(t, c.name) })
			}
			assertRejected(t, err, c.want)
		})
	}
}

func TestTransitionRules(t *testing.T) {
	ctx := context.Background()
	create := func(name string, env slotbookv1alpha1.Environment) {
		t.Helper()
		tenant := &slotbookv1alpha1.Tenant{}
		tenant.Name = name
		tenant.Spec = slotbookv1alpha1.TenantSpec{
			ClassName:   validationMissingClass,
			Host:        name + ".booking.example",
			Environment: env,
		}
		tenant.Spec.Postgres.Storage.Size = "10Gi"
		if err := k8s.Create(ctx, tenant); err != nil {
			t.Fatalf("creating tenant %s: %v", name, err)
		}
		t.Cleanup(func() { deleteTenantAndWait(t, name) })
		waitForFinalizer(t, name)
	}
	// update re-reads the tenant and applies mutate, retrying on conflicts with the controller
	// (which adds its finalizer and writes the status).
	update := func(name string, mutate func(*slotbookv1alpha1.Tenant)) error {
		t.Helper()
		var err error
		for range 20 {
			tenant := &slotbookv1alpha1.Tenant{}
			if err = k8s.Get(ctx, types.NamespacedName{Name: name}, tenant); err != nil {
				return err
			}
			mutate(tenant)
			if err = k8s.Update(ctx, tenant); !apierrors.IsConflict(err) {
				return err
			}
		}
		return err
	}
	getTenant := func(name string) *slotbookv1alpha1.Tenant {
		t.Helper()
		tenant, err := get(t, &slotbookv1alpha1.Tenant{}, "", name)
		if err != nil {
			t.Fatal(err)
		}
		return tenant
	}

	create("trans-prod", slotbookv1alpha1.EnvironmentProduction)
	create("trans-staging", slotbookv1alpha1.EnvironmentStaging)

	t.Run("environment production to staging is rejected", func(t *testing.T) {
		err := update("trans-prod", func(tn *slotbookv1alpha1.Tenant) {
			tn.Spec.Environment = slotbookv1alpha1.EnvironmentStaging
		})
		assertRejected(t, err, []string{"spec.environment", "environment is immutable"})
		if got := getTenant("trans-prod").Spec.Environment; got != slotbookv1alpha1.EnvironmentProduction {
			t.Errorf("environment is %q after the rejected update", got)
		}
	})

	t.Run("environment staging to production is rejected", func(t *testing.T) {
		err := update("trans-staging", func(tn *slotbookv1alpha1.Tenant) {
			tn.Spec.Environment = slotbookv1alpha1.EnvironmentProduction
		})
		assertRejected(t, err, []string{"spec.environment", "environment is immutable"})
	})

	t.Run("removing environment from a staging tenant is rejected", func(t *testing.T) {
		// A typed client omits the empty field; the default (production) then applies.
		err := update("trans-staging", func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Environment = "" })
		assertRejected(t, err, []string{"spec.environment", "environment is immutable"})

		// An explicit null in a merge patch, as `kubectl patch --type merge` sends.
		tenant := getTenant("trans-staging")
		err = k8s.Patch(ctx, tenant, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"environment":null}}`)))
		assertRejected(t, err, []string{"spec.environment", "environment is immutable"})

		if got := getTenant("trans-staging").Spec.Environment; got != slotbookv1alpha1.EnvironmentStaging {
			t.Errorf("environment is %q after the rejected updates", got)
		}
	})

	t.Run("unchanged environment is accepted", func(t *testing.T) {
		if err := update("trans-staging", func(tn *slotbookv1alpha1.Tenant) {
			tn.Spec.DisplayName = "Staging of the transition test"
		}); err != nil {
			t.Fatalf("an update leaving environment alone was rejected: %v", err)
		}
	})

	t.Run("storage never shrinks", func(t *testing.T) {
		err := update("trans-prod", func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Postgres.Storage.Size = "5Gi" })
		assertRejected(t, err, []string{"spec.postgres.storage.size", "never shrink"})

		// The same size in another unit is no change.
		if err := update("trans-prod", func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Postgres.Storage.Size = "10240Mi" }); err != nil {
			t.Fatalf("10Gi to 10240Mi (the same size) was rejected: %v", err)
		}
		if err := update("trans-prod", func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Postgres.Storage.Size = "20Gi" }); err != nil {
			t.Fatalf("growing 10Gi to 20Gi was rejected: %v", err)
		}
		if got := getTenant("trans-prod").Spec.Postgres.Storage.Size; got != "20Gi" {
			t.Errorf("size is %q, want 20Gi", got)
		}
		err = update("trans-prod", func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Postgres.Storage.Size = "19Gi" })
		assertRejected(t, err, []string{"spec.postgres.storage.size", "never shrink"})
	})

	t.Run("restore can be set only at creation and never changed or removed", func(t *testing.T) {
		err := update("trans-prod", func(tn *slotbookv1alpha1.Tenant) {
			tn.Spec.Restore = &slotbookv1alpha1.RestoreSpec{FromTenant: "old-salon"}
		})
		assertRejected(t, err, []string{"spec.restore", "can only be set when the Tenant is created"})

		restored := &slotbookv1alpha1.Tenant{}
		restored.Name = "trans-restored"
		restored.Spec = slotbookv1alpha1.TenantSpec{ClassName: validationMissingClass, Host: "trans-restored.booking.example",
			Restore: &slotbookv1alpha1.RestoreSpec{FromTenant: "old-salon"}}
		if err := k8s.Create(ctx, restored); err != nil {
			t.Fatalf("creating a tenant with spec.restore: %v", err)
		}
		t.Cleanup(func() { deleteTenantAndWait(t, restored.Name) })
		err = update(restored.Name, func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Restore.FromTenant = "other-salon" })
		assertRejected(t, err, []string{"spec.restore", "restore cannot be changed"})
		err = update(restored.Name, func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Restore = nil })
		assertRejected(t, err, []string{"spec.restore", "can only be set when the Tenant is created"})
		if err := update(restored.Name, func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Suspend = true }); err != nil {
			t.Fatalf("an update leaving restore alone was rejected: %v", err)
		}
	})

	t.Run("invalid values are rejected on update too", func(t *testing.T) {
		err := update("trans-prod", func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Host = "https://x.example" })
		assertRejected(t, err, []string{"spec.host", "must be a lowercase fully qualified domain name"})
	})
}

func TestInvalidTenantClassesAreRejected(t *testing.T) {
	ctx := context.Background()
	if err := k8s.Create(ctx, testClass("valc-base", "valc-creds"), client.DryRunAll); err != nil {
		t.Fatalf("the valid base class is rejected: %v", err)
	}
	cases := []struct {
		name   string
		mutate func(*slotbookv1alpha1.TenantClass)
		want   []string
	}{
		{"valc-destination-ftp", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Backup.DestinationPath = "ftp://x" },
			[]string{"spec.backup.destinationPath", "must be an object store URL"}},
		{"valc-destination-no-bucket", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Backup.DestinationPath = "s3://" },
			[]string{"spec.backup.destinationPath", "must be an object store URL"}},
		{"valc-endpoint-not-url", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Backup.EndpointURL = "objects.example:9000" },
			[]string{"spec.backup.endpointURL", "must be an http(s) URL"}},
		{"valc-egress-ip-not-cidr", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Backup.EgressCIDRs = []string{"10.0.0.1"} },
			[]string{"spec.backup.egressCIDRs[0]", "must be CIDRs"}},
		{"valc-egress-second-bad", func(c *slotbookv1alpha1.TenantClass) {
			c.Spec.Backup.EgressCIDRs = []string{"10.0.0.0/24", "objects.example"}
		}, []string{"spec.backup.egressCIDRs[1]", "must be CIDRs"}},
		{"valc-egress-empty", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Backup.EgressCIDRs = []string{} },
			[]string{"spec.backup.egressCIDRs", "at least 1 items"}},
		{"valc-issuer-kind", func(c *slotbookv1alpha1.TenantClass) { c.Spec.TLS.IssuerRef.Kind = "Foo" },
			[]string{"spec.tls.issuerRef.kind", "Unsupported value", `"ClusterIssuer"`, `"Issuer"`}},
		{"valc-issuer-name-empty", func(c *slotbookv1alpha1.TenantClass) { c.Spec.TLS.IssuerRef.Name = "" },
			[]string{"spec.tls.issuerRef.name", "at least 1 chars long"}},
		{"valc-app-image-empty", func(c *slotbookv1alpha1.TenantClass) { c.Spec.App.Image = "" },
			[]string{"spec.app.image", "at least 1 chars long"}},
		{"valc-pull-policy", func(c *slotbookv1alpha1.TenantClass) { c.Spec.App.ImagePullPolicy = "Sometimes" },
			[]string{"spec.app.imagePullPolicy", "Unsupported value"}},
		{"valc-ingress-class-empty", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Ingress.ClassName = "" },
			[]string{"spec.ingress.className", "at least 1 chars long"}},
		{"valc-credentials-name-empty", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Backup.CredentialsSecretRef.Name = "" },
			[]string{"spec.backup.credentialsSecretRef.name", "at least 1 chars long"}},
		{"valc-ingress-selector-empty", func(c *slotbookv1alpha1.TenantClass) {
			c.Spec.Ingress.ControllerNamespaceSelector = metav1.LabelSelector{}
		}, []string{"spec.ingress.controllerNamespaceSelector", "must select something"}},
		{"valc-proxy-not-cidr", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Ingress.ProxyCIDRs = []string{"ingress-nginx"} },
			[]string{"spec.ingress.proxyCIDRs[0]", "must be CIDRs"}},
		{"valc-proxy-plain-ip", func(c *slotbookv1alpha1.TenantClass) {
			c.Spec.Ingress.ProxyCIDRs = []string{"10.244.0.0/16", "10.0.0.7"}
		},
			[]string{"spec.ingress.proxyCIDRs[1]", "must be CIDRs", "10.244.1.7/32"}},
		{"valc-proxy-host-bits", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Ingress.ProxyCIDRs = []string{"10.244.1.7/16"} },
			[]string{"spec.ingress.proxyCIDRs[0]", "must not have host bits set"}},
		{"valc-proxy-everything", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Ingress.ProxyCIDRs = []string{"0.0.0.0/0"} },
			[]string{"spec.ingress.proxyCIDRs[0]", "must not be /0"}},
		{"valc-proxy-everything-v6", func(c *slotbookv1alpha1.TenantClass) { c.Spec.Ingress.ProxyCIDRs = []string{"::/0"} },
			[]string{"spec.ingress.proxyCIDRs[0]", "must not be /0"}},
		{"valc-proxy-too-many", func(c *slotbookv1alpha1.TenantClass) {
			for i := range 17 {
				c.Spec.Ingress.ProxyCIDRs = append(c.Spec.Ingress.ProxyCIDRs, fmt.Sprintf("10.%d.0.0/16", i))
			}
		}, []string{"spec.ingress.proxyCIDRs", "must have at most 16 items"}},
		{"valc-monitoring-selector-empty", func(c *slotbookv1alpha1.TenantClass) {
			c.Spec.Monitoring.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{}}
		}, []string{"spec.monitoring.namespaceSelector", "must select something"}},

		{"valc-smtp-host-url", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.Host = "smtp://mail.example.com" }),
			[]string{"spec.smtp.host", "must be a DNS name such as smtp.example.com or an IP address"}},
		{"valc-smtp-host-port", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.Host = "mail.example.com:587" }),
			[]string{"spec.smtp.host", "no scheme, port or path"}},
		{"valc-smtp-host-empty", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.Host = "" }),
			[]string{"spec.smtp.host", "at least 1 chars long"}},
		{"valc-smtp-host-ip-outside-cidrs", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.Host = "192.0.2.25" }),
			[]string{"spec.smtp", "smtp.egressCIDRs must include smtp.host when the host is an IP address"}},
		{"valc-smtp-port-zero", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.Port = -1 }),
			[]string{"spec.smtp.port", "greater than or equal to 1"}},
		{"valc-smtp-port-too-big", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.Port = 65536 }),
			[]string{"spec.smtp.port", "less than or equal to 65535"}},
		{"valc-smtp-tls-plain", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.TLS = "None" }),
			[]string{"spec.smtp.tls", "Unsupported value", `"StartTLS"`, `"Implicit"`}},
		{"valc-smtp-from-no-at", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.From = "noreply" }),
			[]string{"spec.smtp.from", "must be an e-mail address such as noreply@example.com"}},
		{"valc-smtp-from-quoted-name", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.From = `"Slotbook, Inc" <noreply@example.com>` }),
			[]string{"spec.smtp.from", "no quotes or commas"}},
		{"valc-smtp-from-comma-name", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.From = "Slotbook, Inc <noreply@example.com>" }),
			[]string{"spec.smtp.from", "must be an e-mail address"}},
		{"valc-smtp-from-unclosed", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.From = "Slotbook <noreply@example.com" }),
			[]string{"spec.smtp.from", "must be an e-mail address"}},
		{"valc-smtp-from-bare-brackets", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.From = "<noreply@example.com>" }),
			[]string{"spec.smtp.from", "must be an e-mail address"}},
		{"valc-smtp-from-two", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.From = "a@example.com, b@example.com" }),
			[]string{"spec.smtp.from", "must be an e-mail address"}},
		{"valc-smtp-from-header-injection", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.From = "noreply@example.com\r\nBcc: victim@example.org" }),
			[]string{"spec.smtp.from", "must be an e-mail address"}},
		{"valc-smtp-credentials-name-empty", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.CredentialsSecretRef.Name = "" }),
			[]string{"spec.smtp.credentialsSecretRef.name", "at least 1 chars long"}},
		{"valc-smtp-egress-missing", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.EgressCIDRs = nil }),
			[]string{"spec.smtp.egressCIDRs", "Required value"}},
		{"valc-smtp-egress-empty", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.EgressCIDRs = []string{} }),
			[]string{"spec.smtp.egressCIDRs", "at least 1 items"}},
		{"valc-smtp-egress-not-cidr", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.EgressCIDRs = []string{"203.0.113.0/28", "mail.example.com"} }),
			[]string{"spec.smtp.egressCIDRs[1]", "must be CIDRs"}},
		{"valc-smtp-egress-host-bits", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.EgressCIDRs = []string{"203.0.113.7/28"} }),
			[]string{"spec.smtp.egressCIDRs[0]", "must not have host bits set"}},
		{"valc-smtp-egress-everything", smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.EgressCIDRs = []string{"0.0.0.0/0"} }),
			[]string{"spec.smtp.egressCIDRs[0]", "must not be /0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			class := testClass(c.name, "valc-creds")
			c.mutate(class)
			err := k8s.Create(ctx, class)
			if err == nil {
				t.Cleanup(func() { _ = k8s.Delete(context.Background(), class) })
			}
			assertRejected(t, err, c.want)
		})
	}
}

// testSMTP is a valid smtp section.
func testSMTP() *slotbookv1alpha1.SMTPSpec {
	return &slotbookv1alpha1.SMTPSpec{
		Host:                 "smtp.example.com",
		From:                 "noreply@booking.example.com",
		CredentialsSecretRef: slotbookv1alpha1.SecretReference{Namespace: "slotbook-system", Name: "smtp-credentials"},
		EgressCIDRs:          []string{"203.0.113.0/28"},
	}
}

// smtpMutation gives a class testSMTP changed by mutate.
func smtpMutation(mutate func(*slotbookv1alpha1.SMTPSpec)) func(*slotbookv1alpha1.TenantClass) {
	return func(c *slotbookv1alpha1.TenantClass) {
		c.Spec.SMTP = testSMTP()
		mutate(c.Spec.SMTP)
	}
}

// validSMTPFroms are smtp.from values the API accepts. Each must also be a single address to Go's
// net/mail (which the app parses it with), with the address part as given.
var validSMTPFroms = map[string]string{
	"noreply@booking.example.com":                      "noreply@booking.example.com",
	"Slotbook <noreply@booking.example.com>":           "noreply@booking.example.com",
	"Salon Müller & Söhne <termine@example.de>":        "termine@example.de",
	"J. O'Brien-Smith <o'brien@example.ie>":            "o'brien@example.ie",
	"Bookings+Alerts 24_7 <a+b@xn--bcher-kva.example>": "a+b@xn--bcher-kva.example",
	"Запись <noreply@example.com>":                     "noreply@example.com",
}

// TestValidClassAndTenantValuesAreAccepted pins the other side: values documented as valid,
// including those at the edges of their ranges, are accepted.
func TestValidClassAndTenantValuesAreAccepted(t *testing.T) {
	ctx := context.Background()
	class := testClass("valc-valid", "valc-creds")
	class.Spec.Backup.DestinationPath = "https://objects.example/backups/slotbook"
	class.Spec.Backup.EgressCIDRs = []string{"10.0.0.0/24", "fd00::/64"}
	class.Spec.TLS.IssuerRef.Kind = "Issuer"
	class.Spec.Ingress.ProxyCIDRs = []string{"10.244.0.0/16", "192.0.2.7/32", "fd00:10:244::/56", "2001:db8::1/128"}
	if err := k8s.Create(ctx, class, client.DryRunAll); err != nil {
		t.Fatalf("a valid class was rejected: %v", err)
	}
	class = testClass("valc-defaults", "valc-creds")
	class.Spec.TLS.IssuerRef.Kind = ""
	class.Spec.SMTP = testSMTP()
	if err := k8s.Create(ctx, class, client.DryRunAll); err != nil {
		t.Fatalf("a valid class was rejected: %v", err)
	}
	if class.Spec.TLS.IssuerRef.Kind != "ClusterIssuer" || class.Spec.TLS.IssuerRef.Group != "cert-manager.io" ||
		class.Spec.App.ImagePullPolicy != "IfNotPresent" {
		t.Errorf("class defaults not applied: issuerRef %+v, imagePullPolicy %q", class.Spec.TLS.IssuerRef, class.Spec.App.ImagePullPolicy)
	}
	if class.Spec.SMTP.Port != 587 || class.Spec.SMTP.TLS != slotbookv1alpha1.SMTPStartTLS {
		t.Errorf("smtp defaults not applied: port %d, tls %q", class.Spec.SMTP.Port, class.Spec.SMTP.TLS)
	}

	// Valid mail servers: names and IPs (inside egressCIDRs), either TLS mode, ports at the edges.
	for i, smtp := range []func(*slotbookv1alpha1.SMTPSpec){
		func(s *slotbookv1alpha1.SMTPSpec) { s.Host = "mailpit.mail.svc"; s.Port = 1025 },
		func(s *slotbookv1alpha1.SMTPSpec) {
			s.Host = "SMTP.Example.COM"
			s.Port = 465
			s.TLS = slotbookv1alpha1.SMTPImplicitTLS
		},
		func(s *slotbookv1alpha1.SMTPSpec) { s.Host = "mailrelay"; s.Port = 1 },
		func(s *slotbookv1alpha1.SMTPSpec) { s.Host = "203.0.113.9"; s.Port = 65535 },
		func(s *slotbookv1alpha1.SMTPSpec) {
			s.Host = "2001:db8::25"
			s.EgressCIDRs = []string{"203.0.113.0/28", "2001:db8::/64"}
		},
	} {
		class := testClass(fmt.Sprintf("valc-smtp-%d", i), "valc-creds")
		smtpMutation(smtp)(class)
		if err := k8s.Create(ctx, class, client.DryRunAll); err != nil {
			t.Errorf("a valid smtp %+v was rejected: %v", class.Spec.SMTP, err)
		}
	}
	for from, addr := range validSMTPFroms {
		class := testClass("valc-smtp-from", "valc-creds")
		smtpMutation(func(s *slotbookv1alpha1.SMTPSpec) { s.From = from })(class)
		if err := k8s.Create(ctx, class, client.DryRunAll); err != nil {
			t.Errorf("smtp.from %q was rejected: %v", from, err)
		}
		parsed, err := mail.ParseAddress(from)
		if err != nil || parsed.Address != addr {
			t.Errorf("net/mail parses smtp.from %q as %v (%v), want address %q", from, parsed, err, addr)
		}
	}

	// Valid tenant values at the edges of their ranges.
	tenant := unstructuredTenant("val-edges")
	for _, m := range []func(*unstructured.Unstructured){
		setField("spec.host", "xn--bcher-kva.example.co.uk"),
		setField("spec.app.replicas", int64(20)),
		setField("spec.postgres.instances", int64(1)),
		setField("spec.postgres.storage.size", "1.5Ti"),
		setField("spec.postgres.backup.schedule", "0 30 1 * * 0"),
		setField("spec.postgres.backup.retention", "12w"),
		setField("spec.security.sessionIdleTimeout", "1h30m"),
		setField("spec.security.passwordMinLength", int64(8)),
		setField("spec.timeZone", "America/Argentina/Buenos_Aires"),
		setField("spec.deletionPolicy", "Delete"),
		setField("spec.environment", "staging"),
	} {
		m(tenant)
	}
	if err := k8s.Create(ctx, tenant, client.DryRunAll); err != nil {
		t.Fatalf("a valid tenant was rejected: %v", err)
	}
	for field, values := range map[string][]string{
		"spec.timeZone":                    {"UTC", "Etc/GMT+1", "Etc/GMT-14", "America/Port-au-Prince", "EST5EDT", "GMT0"},
		"spec.security.sessionIdleTimeout": {"1m", "24h", "86400s", "1440m", "0.5h", "23h59m59s", "90s"},
		"spec.postgres.storage.size":       {"1Gi", "1024Mi", "2T"},
		"spec.postgres.backup.retention":   {"1d", "365d", "6m"},
		"spec.owner.email":                 {"owner@example.com", "first.last+tag@mail.example.co.uk", "o'brien@xn--bcher-kva.example", "A_B-C@Example.COM"},
	} {
		for _, v := range values {
			tenant := unstructuredTenant("val-accepted")
			setField(field, v)(tenant)
			if err := k8s.Create(ctx, tenant, client.DryRunAll); err != nil {
				t.Errorf("%s %q was rejected: %v", field, v, err)
			}
		}
	}
}

func TestDefaultsAreApplied(t *testing.T) {
	ctx := context.Background()
	tenant := &slotbookv1alpha1.Tenant{}
	tenant.Name = "val-defaults"
	tenant.Spec = slotbookv1alpha1.TenantSpec{ClassName: validationMissingClass, Host: "defaults.booking.example"}
	if err := k8s.Create(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteTenantAndWait(t, tenant.Name) })
	// The class does not exist: the controller takes the tenant in charge and reports it stalled;
	// deleting it (the cleanup) must still go through.
	waitForFinalizer(t, tenant.Name)
	waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionStalled, "True", "")

	got, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
	if err != nil {
		t.Fatal(err)
	}
	s := got.Spec
	checks := []struct {
		field     string
		got, want any
	}{
		{"environment", s.Environment, slotbookv1alpha1.EnvironmentProduction},
		{"app.replicas", s.App.Replicas, int32(2)},
		{"postgres.instances", s.Postgres.Instances, int32(3)},
		{"postgres.storage.size", s.Postgres.Storage.Size, "5Gi"},
		{"postgres.backup.schedule", s.Postgres.Backup.Schedule, "0 0 2 * * *"},
		{"postgres.backup.retention", s.Postgres.Backup.Retention, "30d"},
		{"security.mfa", s.Security.MFA, slotbookv1alpha1.MFAOptional},
		{"security.sessionIdleTimeout", s.Security.SessionIdleTimeout, "15m"},
		{"security.passwordMinLength", s.Security.PasswordMinLength, int32(12)},
		{"deletionPolicy", s.DeletionPolicy, slotbookv1alpha1.DeletionPolicyRetain},
		{"timeZone", s.TimeZone, "Europe/Berlin"},
		{"suspend", s.Suspend, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("spec.%s = %v, want the default %v", c.field, c.got, c.want)
		}
	}

	// A minimal object sent without the nested objects at all (as `kubectl apply` of a
	// two-line spec does) gets the same defaults.
	u := unstructuredTenant("val-defaults-bare")
	if err := k8s.Create(ctx, u, client.DryRunAll); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]any{
		"spec.app.replicas":                int64(2),
		"spec.postgres.instances":          int64(3),
		"spec.postgres.storage.size":       "5Gi",
		"spec.postgres.backup.schedule":    "0 0 2 * * *",
		"spec.postgres.backup.retention":   "30d",
		"spec.security.mfa":                "Optional",
		"spec.security.sessionIdleTimeout": "15m",
		"spec.security.passwordMinLength":  int64(12),
		"spec.environment":                 "production",
		"spec.deletionPolicy":              "Retain",
		"spec.timeZone":                    "Europe/Berlin",
	} {
		v, found, err := unstructured.NestedFieldNoCopy(u.Object, strings.Split(path, ".")...)
		if err != nil || !found || v != want {
			t.Errorf("%s = %v (found %v, %v), want the default %v", path, v, found, err, want)
		}
	}
}
