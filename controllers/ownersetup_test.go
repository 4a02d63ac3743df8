package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

func ownerSetup(t *testing.T, name string) *slotbookv1alpha1.OwnerSetupStatus {
	t.Helper()
	tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", name)
	if err != nil {
		t.Fatal(err)
	}
	return tn.Status.OwnerSetup
}

func waitForOwnerSetupState(t *testing.T, name, job string, state slotbookv1alpha1.OwnerSetupState) *slotbookv1alpha1.OwnerSetupStatus {
	t.Helper()
	var got *slotbookv1alpha1.OwnerSetupStatus
	eventually(t, waitTimeout, fmt.Sprintf("tenant %s ownerSetup %s %s", name, job, state), func() error {
		got = ownerSetup(t, name)
		if got == nil || got.JobName != job || got.State != state {
			return fmt.Errorf("status.ownerSetup = %+v", got)
		}
		return nil
	})
	return got
}

func jobGone(t *testing.T, ns, name string) func() error {
	return func() error {
		_, err := get(t, &batchv1.Job{}, ns, name)
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("Job %s still exists (%v)", name, err)
	}
}

// TestOwnerSetupJob: with spec.owner.email the operator runs `slotbook admin create-owner` in a
// Job once the database is ready, with the app's environment and volumes; a new address gives a
// new Job and prunes the old one, removing the field prunes the Job, a deleted Job is run again,
// and a steady state writes nothing.
func TestOwnerSetupJob(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "owner")
	f.class(func(c *slotbookv1alpha1.TenantClass) { c.Spec.Ingress.ProxyCIDRs = []string{"10.42.0.0/16"} })
	tenant := f.tenant("owner-a", func(tn *slotbookv1alpha1.Tenant) {
		tn.Spec.Owner = &slotbookv1alpha1.OwnerSpec{Email: "first@owner.example"}
	})
	ns := tenant.NamespaceName()
	first := resources.OwnerSetupJobName(tenant)
	waitForChildren(t, tenant)

	// Not before the database is ready: the command would only fail.
	st := waitForOwnerSetupState(t, tenant.Name, first, slotbookv1alpha1.OwnerSetupWaitingForDatabase)
	if _, err := get(t, &batchv1.Job{}, ns, first); !apierrors.IsNotFound(err) {
		t.Fatalf("Job created before the database is ready (%v); status %+v", err, st)
	}

	setClusterConditions(t, ns, metav1.Condition{Type: "Ready", Status: metav1.ConditionTrue, Reason: "ClusterIsReady", Message: "Cluster is Ready"})
	var job *batchv1.Job
	eventually(t, waitTimeout, "owner setup Job", func() (err error) {
		job, err = get(t, &batchv1.Job{}, ns, first)
		return err
	})
	deploy, err := get(t, &appsv1.Deployment{}, ns, resources.AppName)
	if err != nil {
		t.Fatal(err)
	}
	pod, app := job.Spec.Template.Spec, deploy.Spec.Template.Spec
	c, ac := pod.Containers[0], app.Containers[0]
	if want := []string{"admin", "create-owner", "--email", "first@owner.example"}; !slices.Equal(c.Args, want) {
		t.Errorf("args %q, want %q", c.Args, want)
	}
	if c.Image != ac.Image || !equality.Semantic.DeepEqual(c.Env, ac.Env) || !equality.Semantic.DeepEqual(c.VolumeMounts, ac.VolumeMounts) ||
		!equality.Semantic.DeepEqual(pod.Volumes, app.Volumes) {
		t.Errorf("the Job does not run like the app:\n job %+v %+v\n app %+v %+v", c.Env, pod.Volumes, ac.Env, app.Volumes)
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "SLOTBOOK_TRUSTED_PROXIES" && e.Value == "10.42.0.0/16"
	}) {
		t.Errorf("env %v without the class's proxies", c.Env)
	}
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		pod.SecurityContext == nil || pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("not restricted: %+v / %+v", sc, pod.SecurityContext)
	}
	if job.Spec.BackoffLimit == nil || *job.Spec.BackoffLimit > 5 || job.Spec.TTLSecondsAfterFinished != nil {
		t.Errorf("backoffLimit %v, ttl %v", job.Spec.BackoffLimit, job.Spec.TTLSecondsAfterFinished)
	}
	if !metav1.IsControlledBy(job, tenantFromAPI(t, tenant.Name)) {
		t.Errorf("Job not controlled by the Tenant: %+v", job.OwnerReferences)
	}
	svc, err := get(t, &corev1.Service{}, ns, resources.AppName)
	if err != nil {
		t.Fatal(err)
	}
	if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(job.Spec.Template.Labels)) {
		t.Errorf("the app Service selects the Job's pods (%v)", job.Spec.Template.Labels)
	}
	st = waitForOwnerSetupState(t, tenant.Name, first, slotbookv1alpha1.OwnerSetupPending)
	if want := "kubectl -n " + ns + " logs job/" + first; !strings.Contains(st.Message, want) {
		t.Errorf("message %q does not say %q", st.Message, want)
	}

	t.Run("steady state writes nothing", func(t *testing.T) {
		eventually(t, waitTimeout, "a reconcile without writes", func() error {
			if n := forceReconcile(t, tenant.Name); n != 0 {
				return fmt.Errorf("%d writes", n)
			}
			return nil
		})
		before, _ := get(t, &batchv1.Job{}, ns, first)
		for range 3 {
			if n := forceReconcile(t, tenant.Name); n != 0 {
				t.Fatalf("steady-state reconcile made %d writes", n)
			}
		}
		if after, _ := get(t, &batchv1.Job{}, ns, first); after.ResourceVersion != before.ResourceVersion {
			t.Errorf("Job resourceVersion %s → %s", before.ResourceVersion, after.ResourceVersion)
		}
	})

	t.Run("a configuration change leaves the Job alone", func(t *testing.T) {
		updateTenant(t, tenant.Name, func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Security.MFA = slotbookv1alpha1.MFARequired })
		eventually(t, waitTimeout, "the Deployment gets the new setting", func() error {
			d, err := get(t, &appsv1.Deployment{}, ns, resources.AppName)
			if err != nil {
				return err
			}
			if !slices.Contains(d.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "SLOTBOOK_MFA", Value: "Required"}) {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		if cond, err := tenantCondition(t, tenant.Name, slotbookv1alpha1.ConditionReady); err != nil || cond.Reason == ReasonApplyFailed {
			t.Errorf("Ready %+v (%v)", cond, err)
		}
		if got, err := get(t, &batchv1.Job{}, ns, first); err != nil || got.UID != job.UID {
			t.Errorf("the Job was replaced or removed (%v)", err)
		}
	})

	t.Run("a deleted Job runs again", func(t *testing.T) {
		if err := k8s.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
			t.Fatal(err)
		}
		eventually(t, waitTimeout, "Job recreated", func() error {
			got, err := get(t, &batchv1.Job{}, ns, first)
			if err != nil {
				return err
			}
			if got.UID == job.UID {
				return fmt.Errorf("still the old Job")
			}
			return nil
		})
	})

	t.Run("a new e-mail address gets a new Job, the old one is pruned", func(t *testing.T) {
		updateTenant(t, tenant.Name, func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Owner.Email = "second@owner.example" })
		second := resources.OwnerSetupJobName(&slotbookv1alpha1.Tenant{Spec: slotbookv1alpha1.TenantSpec{
			Owner: &slotbookv1alpha1.OwnerSpec{Email: "second@owner.example"}}})
		if second == first {
			t.Fatal("same Job name for another address")
		}
		eventually(t, waitTimeout, "new Job", func() error {
			j, err := get(t, &batchv1.Job{}, ns, second)
			if err != nil {
				return err
			}
			if !slices.Contains(j.Spec.Template.Spec.Containers[0].Args, "second@owner.example") {
				return fmt.Errorf("args %v", j.Spec.Template.Spec.Containers[0].Args)
			}
			return nil
		})
		eventually(t, waitTimeout, "old Job pruned", jobGone(t, ns, first))
		waitForOwnerSetupState(t, tenant.Name, second, slotbookv1alpha1.OwnerSetupPending)
	})

	t.Run("removing the owner prunes the Job", func(t *testing.T) {
		jobs := &batchv1.JobList{}
		updateTenant(t, tenant.Name, func(tn *slotbookv1alpha1.Tenant) { tn.Spec.Owner = nil })
		eventually(t, waitTimeout, "every Job pruned", func() error {
			if err := k8s.List(ctx, jobs, client.InNamespace(ns)); err != nil {
				return err
			}
			if len(jobs.Items) > 0 {
				return fmt.Errorf("%d Jobs left, e.g. %s", len(jobs.Items), jobs.Items[0].Name)
			}
			return nil
		})
		eventually(t, waitTimeout, "status.ownerSetup removed", func() error {
			if st := ownerSetup(t, tenant.Name); st != nil {
				return fmt.Errorf("status.ownerSetup = %+v", st)
			}
			return nil
		})
	})
}

func tenantFromAPI(t *testing.T, name string) *slotbookv1alpha1.Tenant {
	t.Helper()
	tn, err := get(t, &slotbookv1alpha1.Tenant{}, "", name)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

// TestOwnerSetupStatus covers the Job states envtest cannot produce (no Job controller runs).
func TestOwnerSetupStatus(t *testing.T) {
	tenant := &slotbookv1alpha1.Tenant{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}
	job := func(active int32, conds ...batchv1.JobConditionType) *batchv1.Job {
		j := &batchv1.Job{Status: batchv1.JobStatus{Active: active}}
		for _, c := range conds {
			j.Status.Conditions = append(j.Status.Conditions, batchv1.JobCondition{Type: c, Status: corev1.ConditionTrue})
		}
		return j
	}
	logs := "kubectl -n tenant-acme logs job/create-owner-x"
	for _, tc := range []struct {
		job   *batchv1.Job
		state slotbookv1alpha1.OwnerSetupState
		says  []string
	}{
		{nil, slotbookv1alpha1.OwnerSetupWaitingForDatabase, []string{"database"}},
		{job(0), slotbookv1alpha1.OwnerSetupPending, []string{logs}},
		{job(1), slotbookv1alpha1.OwnerSetupRunning, []string{logs}},
		{job(0, batchv1.JobSuccessCriteriaMet, batchv1.JobComplete), slotbookv1alpha1.OwnerSetupSucceeded,
			[]string{logs, "one-time", "24 h", "delete the Job", "replaces the link"}},
		{job(0, batchv1.JobFailureTarget, batchv1.JobFailed), slotbookv1alpha1.OwnerSetupFailed, []string{logs, "delete the Job"}},
	} {
		t.Run(string(tc.state), func(t *testing.T) {
			tn := tenant.DeepCopy()
			setOwnerSetupStatus(tn, observation{ownerJobName: "create-owner-x", ownerJob: tc.job})
			st := tn.Status.OwnerSetup
			if st == nil || st.State != tc.state || st.JobName != "create-owner-x" {
				t.Fatalf("status %+v, want %s", st, tc.state)
			}
			for _, s := range tc.says {
				if !strings.Contains(st.Message, s) {
					t.Errorf("message %q does not say %q", st.Message, s)
				}
			}
		})
	}
	tn := tenant.DeepCopy()
	tn.Status.OwnerSetup = &slotbookv1alpha1.OwnerSetupStatus{JobName: "old"}
	setOwnerSetupStatus(tn, observation{})
	if tn.Status.OwnerSetup != nil {
		t.Errorf("without spec.owner: %+v", tn.Status.OwnerSetup)
	}
}
