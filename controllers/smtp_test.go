package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

var smtpEnvNames = []string{
	"SLOTBOOK_SMTP_HOST", "SLOTBOOK_SMTP_PORT", "SLOTBOOK_SMTP_FROM",
	"SLOTBOOK_SMTP_USERNAME", "SLOTBOOK_SMTP_PASSWORD", "SLOTBOOK_SMTP_TLS",
}

// updateClass changes a TenantClass, retrying on conflicts.
func updateClass(t *testing.T, name string, mutate func(*slotbookv1alpha1.TenantClass)) {
	t.Helper()
	eventually(t, waitTimeout, "update class "+name, func() error {
		c, err := get(t, &slotbookv1alpha1.TenantClass{}, "", name)
		if err != nil {
			return err
		}
		mutate(c)
		return k8s.Update(context.Background(), c)
	})
}

// setSecretData replaces the data of a Secret, retrying on conflicts.
func setSecretData(t *testing.T, namespace, name string, data map[string][]byte) {
	t.Helper()
	eventually(t, waitTimeout, "update secret "+name, func() error {
		s, err := get(t, &corev1.Secret{}, namespace, name)
		if err != nil {
			return err
		}
		s.Data = data
		return k8s.Update(context.Background(), s)
	})
}

// appSMTPEnv returns the SLOTBOOK_SMTP_* variables of the app Deployment, in order.
func appSMTPEnv(t *testing.T, ns string) (*appsv1.Deployment, []corev1.EnvVar, error) {
	t.Helper()
	d, err := get(t, &appsv1.Deployment{}, ns, resources.AppName)
	if err != nil {
		return nil, nil, err
	}
	var env []corev1.EnvVar
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if strings.HasPrefix(e.Name, "SLOTBOOK_SMTP_") {
			env = append(env, e)
		}
	}
	return d, env, nil
}

// checkSMTPConfigured checks that the tenant's app, Secret, policy and status carry the mail
// server host:port (TLS mode tls) and the credentials user/password.
func checkSMTPConfigured(t *testing.T, tenantName, ns, host string, port int32, tls slotbookv1alpha1.SMTPTLSMode, user, password string) error {
	_, env, err := appSMTPEnv(t, ns)
	if err != nil {
		return err
	}
	var names []string
	literal := map[string]string{}
	for _, e := range env {
		names = append(names, e.Name)
		if e.ValueFrom != nil {
			ref := e.ValueFrom.SecretKeyRef
			if e.Value != "" || ref == nil || ref.Name != resources.SMTPCredentialsSecretName {
				return fmt.Errorf("%s must come from Secret %s only: %+v", e.Name, resources.SMTPCredentialsSecretName, e)
			}
			literal[e.Name] = "secret:" + ref.Key
			continue
		}
		literal[e.Name] = e.Value
	}
	if !slices.Equal(names, smtpEnvNames) {
		return fmt.Errorf("SMTP env %v, want %v", names, smtpEnvNames)
	}
	wantTLS := map[slotbookv1alpha1.SMTPTLSMode]string{slotbookv1alpha1.SMTPStartTLS: "starttls", slotbookv1alpha1.SMTPImplicitTLS: "implicit"}[tls]
	want := map[string]string{
		"SLOTBOOK_SMTP_HOST":     host,
		"SLOTBOOK_SMTP_PORT":     fmt.Sprint(port),
		"SLOTBOOK_SMTP_FROM":     "Slotbook <noreply@booking.example>",
		"SLOTBOOK_SMTP_USERNAME": "secret:username",
		"SLOTBOOK_SMTP_PASSWORD": "secret:password",
		"SLOTBOOK_SMTP_TLS":      wantTLS,
	}
	if !maps.Equal(literal, want) {
		return fmt.Errorf("SMTP env %v, want %v", literal, want)
	}

	s, err := get(t, &corev1.Secret{}, ns, resources.SMTPCredentialsSecretName)
	if err != nil {
		return err
	}
	if len(s.Data) != 2 || string(s.Data["username"]) != user || string(s.Data["password"]) != password {
		return fmt.Errorf("copied Secret data %q, want only username %q and password %q", s.Data, user, password)
	}

	p, err := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolAppToSMTP)
	if err != nil {
		return err
	}
	if len(p.Spec.Egress) != 1 || len(p.Spec.Egress[0].Ports) != 1 || p.Spec.Egress[0].Ports[0].Port.IntVal != port {
		return fmt.Errorf("policy egress %+v, want port %d only", p.Spec.Egress, port)
	}

	tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenantName)
	if err != nil {
		return err
	}
	wantStatus := slotbookv1alpha1.SMTPStatus{Server: fmt.Sprintf("%s:%d", host, port), TLS: tls, From: "Slotbook <noreply@booking.example>"}
	if tn.Status.SMTP == nil || *tn.Status.SMTP != wantStatus {
		return fmt.Errorf("status.smtp %+v, want %+v", tn.Status.SMTP, wantStatus)
	}
	return nil
}

// TestSMTP follows a tenant through a class that gains a mail server, changes its credentials
// and settings, and loses it again.
func TestSMTP(t *testing.T) {
	f := newFixture(t, "smtp")
	class := f.class()
	tenant := f.tenant("smtp-a")
	waitForChildren(t, tenant)
	ns := tenant.NamespaceName()

	checksum := func() string {
		d, err := get(t, &appsv1.Deployment{}, ns, resources.AppName)
		if err != nil {
			t.Fatal(err)
		}
		return d.Spec.Template.Annotations[resources.ConfigChecksumAnnotation]
	}
	// rolled waits until the pod template's checksum differs from before and returns it.
	rolled := func(before string) string {
		t.Helper()
		var now string
		eventually(t, waitTimeout, "pods rolled", func() error {
			if now = checksum(); now == before {
				return fmt.Errorf("checksum unchanged")
			}
			return nil
		})
		return now
	}

	t.Run("no smtp: nothing mail-related", func(t *testing.T) {
		_, env, err := appSMTPEnv(t, ns)
		if err != nil || len(env) != 0 {
			t.Errorf("SMTP env %v (%v), want none", env, err)
		}
		if _, err := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolAppToSMTP); !apierrors.IsNotFound(err) {
			t.Errorf("policy %s: %v, want NotFound", resources.NetpolAppToSMTP, err)
		}
		if _, err := get(t, &corev1.Secret{}, ns, resources.SMTPCredentialsSecretName); !apierrors.IsNotFound(err) {
			t.Errorf("Secret %s: %v, want NotFound", resources.SMTPCredentialsSecretName, err)
		}
		eventually(t, waitTimeout, "status without smtp", func() error {
			tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
			if err != nil {
				return err
			}
			if tn.Status.Security == nil {
				return fmt.Errorf("status not computed yet")
			}
			if tn.Status.SMTP != nil {
				return fmt.Errorf("status.smtp %+v", tn.Status.SMTP)
			}
			return nil
		})
	})

	before := checksum()
	secretName := "smtp-mail-login"
	t.Run("incomplete credentials stall the tenant", func(t *testing.T) {
		f.create(&corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: "slotbook-system", Name: secretName},
			Data:       map[string][]byte{"username": []byte("mailer"), "unrelated": []byte("not for tenants")},
		})
		updateClass(t, class.Name, func(c *slotbookv1alpha1.TenantClass) {
			c.Spec.SMTP = &slotbookv1alpha1.SMTPSpec{
				Host:                 "mail.example.net",
				From:                 "Slotbook <noreply@booking.example>",
				CredentialsSecretRef: slotbookv1alpha1.SecretReference{Namespace: "slotbook-system", Name: secretName},
				EgressCIDRs:          []string{"203.0.113.0/28"},
			}
		})
		c := waitForCondition(t, tenant.Name, slotbookv1alpha1.ConditionStalled, metav1.ConditionTrue, "SecretIncomplete")
		for _, want := range []string{"slotbook-system/" + secretName, "smtp.credentialsSecretRef", "password"} {
			if !strings.Contains(c.Message, want) {
				t.Errorf("message %q does not mention %q", c.Message, want)
			}
		}
		if checksum() != before {
			t.Errorf("a stalled tenant's pods were rolled")
		}
	})

	t.Run("smtp set: env, Secret copy, policy, status, pods rolled", func(t *testing.T) {
		setSecretData(t, "slotbook-system", secretName, map[string][]byte{
			"username": []byte("mailer"), "password": []byte("first-password"), "unrelated": []byte("not for tenants"),
		})
		// The class's Secrets are not watched: a class change (or the resync) brings them in.
		updateClass(t, class.Name, func(c *slotbookv1alpha1.TenantClass) { c.Annotations = map[string]string{"touched": "1"} })
		eventually(t, waitTimeout, "smtp configured", func() error {
			return checkSMTPConfigured(t, tenant.Name, ns, "mail.example.net", 587, slotbookv1alpha1.SMTPStartTLS, "mailer", "first-password")
		})
		before = rolled(before)
		eventually(t, waitTimeout, "Stalled removed", func() error {
			if c, err := tenantCondition(t, tenant.Name, slotbookv1alpha1.ConditionStalled); err == nil {
				return fmt.Errorf("still stalled: %+v", c)
			}
			return nil
		})
	})

	t.Run("steady state writes nothing", func(t *testing.T) {
		eventually(t, waitTimeout, "a reconcile without writes", func() error {
			if n := forceReconcile(t, tenant.Name); n != 0 {
				return fmt.Errorf("%d writes", n)
			}
			return nil
		})
		versions := func() []string {
			var rvs []string
			for _, c := range []child{
				{&appsv1.Deployment{}, resources.AppName},
				{&corev1.Secret{}, resources.SMTPCredentialsSecretName},
				{&networkingv1.NetworkPolicy{}, resources.NetpolAppToSMTP},
			} {
				o, err := get(t, c.obj, ns, c.name)
				if err != nil {
					t.Fatal(err)
				}
				rvs = append(rvs, o.GetResourceVersion())
			}
			return rvs
		}
		rvs := versions()
		for range 3 {
			if n := forceReconcile(t, tenant.Name); n != 0 {
				t.Fatalf("steady-state reconcile made %d writes", n)
			}
		}
		if after := versions(); !slices.Equal(rvs, after) {
			t.Errorf("resourceVersions changed %v → %v", rvs, after)
		}
	})

	t.Run("changed credentials are copied and roll the pods", func(t *testing.T) {
		setSecretData(t, "slotbook-system", secretName, map[string][]byte{
			"username": []byte("mailer2"), "password": []byte("second-password"),
		})
		// What the periodic resync does: the class's Secrets are read on every reconcile.
		eventually(t, waitTimeout, "new credentials copied", func() error {
			forceReconcile(t, tenant.Name)
			return checkSMTPConfigured(t, tenant.Name, ns, "mail.example.net", 587, slotbookv1alpha1.SMTPStartTLS, "mailer2", "second-password")
		})
		before = rolled(before)
	})

	t.Run("changed settings reach env, policy and status and roll the pods", func(t *testing.T) {
		updateClass(t, class.Name, func(c *slotbookv1alpha1.TenantClass) {
			c.Spec.SMTP.Host = "smtps.example.net"
			c.Spec.SMTP.Port = 465
			c.Spec.SMTP.TLS = slotbookv1alpha1.SMTPImplicitTLS
			c.Spec.SMTP.EgressCIDRs = []string{"198.51.100.25/32"}
		})
		eventually(t, waitTimeout, "new settings", func() error {
			if err := checkSMTPConfigured(t, tenant.Name, ns, "smtps.example.net", 465, slotbookv1alpha1.SMTPImplicitTLS, "mailer2", "second-password"); err != nil {
				return err
			}
			p, _ := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolAppToSMTP)
			if to := p.Spec.Egress[0].To; len(to) != 1 || to[0].IPBlock == nil || to[0].IPBlock.CIDR != "198.51.100.25/32" {
				return fmt.Errorf("policy peers %+v", to)
			}
			return nil
		})
		before = rolled(before)
	})

	t.Run("smtp removed: env gone, Secret and policy pruned, pods rolled", func(t *testing.T) {
		updateClass(t, class.Name, func(c *slotbookv1alpha1.TenantClass) { c.Spec.SMTP = nil })
		eventually(t, waitTimeout, "smtp gone", func() error {
			if _, env, err := appSMTPEnv(t, ns); err != nil || len(env) != 0 {
				return fmt.Errorf("SMTP env %v (%v)", env, err)
			}
			if _, err := get(t, &networkingv1.NetworkPolicy{}, ns, resources.NetpolAppToSMTP); !apierrors.IsNotFound(err) {
				return fmt.Errorf("policy %s: %v", resources.NetpolAppToSMTP, err)
			}
			if _, err := get(t, &corev1.Secret{}, ns, resources.SMTPCredentialsSecretName); !apierrors.IsNotFound(err) {
				return fmt.Errorf("Secret %s: %v", resources.SMTPCredentialsSecretName, err)
			}
			tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", tenant.Name)
			if err != nil || tn.Status.SMTP != nil {
				return fmt.Errorf("status.smtp %+v (%v)", tn.Status.SMTP, err)
			}
			return nil
		})
		rolled(before)
		// The class's Secret itself is the platform's: left alone.
		if _, err := get(t, &corev1.Secret{}, "slotbook-system", secretName); err != nil {
			t.Errorf("the class's Secret: %v", err)
		}
	})
}
