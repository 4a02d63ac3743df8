package resources

import (
	"slices"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

func withOwner(in Inputs, email string) Inputs {
	in.Tenant = in.Tenant.DeepCopy()
	in.Tenant.Spec.Owner = &slotbookv1alpha1.OwnerSpec{Email: email}
	return in
}

func TestOwnerSetupJobOnlyWithAnOwner(t *testing.T) {
	in := minimalInputs()
	if j := OwnerSetupJob(in); j != nil || OwnerSetupJobName(in.Tenant) != "" {
		t.Fatalf("Job without spec.owner: %v", j)
	}
	if jobs := all[*batchv1.Job](mustBuild(t, in)); len(jobs) != 0 {
		t.Fatalf("Build made %d Jobs without spec.owner", len(jobs))
	}
	in = withOwner(in, "owner@acme.example")
	one[*batchv1.Job](t, mustBuild(t, in), OwnerSetupJobName(in.Tenant))
}

func TestOwnerSetupJobName(t *testing.T) {
	a := OwnerSetupJobName(withOwner(minimalInputs(), "owner@acme.example").Tenant)
	if again := OwnerSetupJobName(withOwner(minimalInputs(), "owner@acme.example").Tenant); again != a {
		t.Errorf("same e-mail, different names %q %q", a, again)
	}
	b := OwnerSetupJobName(withOwner(minimalInputs(), "other@acme.example").Tenant)
	if a == b {
		t.Errorf("a new e-mail must give a new Job name, both are %q", a)
	}
	for _, name := range []string{a, b} {
		// The Job controller puts the name into a pod label (job-name): at most 63 characters.
		if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
			t.Errorf("%q: %v", name, errs)
		}
	}
}

// TestOwnerSetupJobRunsLikeTheApp: the Job's container is the app's container (same image,
// environment, mounts, resources and security context) with other args, and its pod has the same
// volumes, identity and placement.
func TestOwnerSetupJobRunsLikeTheApp(t *testing.T) {
	for _, tc := range propertyCases {
		t.Run(tc.name, func(t *testing.T) {
			in := withOwner(tc.inputs(), " owner@acme.example")
			job := OwnerSetupJob(in)
			app := AppDeployment(in).Spec.Template.Spec
			pod := job.Spec.Template.Spec
			c, ac := pod.Containers[0], app.Containers[0]
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers", len(pod.Containers))
			}
			want := []string{"admin", "create-owner", "--email", "owner@acme.example"}
			if name := in.Tenant.Spec.DisplayName; name != "" {
				want = append(want, "--business-name", name)
			}
			if !slices.Equal(c.Args, want) {
				t.Errorf("args %q, want %q", c.Args, want)
			}
			for what, pair := range map[string][2]any{
				"image":           {c.Image, ac.Image},
				"imagePullPolicy": {c.ImagePullPolicy, ac.ImagePullPolicy},
				"env":             {c.Env, ac.Env},
				"volumeMounts":    {c.VolumeMounts, ac.VolumeMounts},
				"resources":       {c.Resources, ac.Resources},
				"securityContext": {c.SecurityContext, ac.SecurityContext},
				"volumes":         {pod.Volumes, app.Volumes},
				"podSecurity":     {pod.SecurityContext, app.SecurityContext},
				"nodeSelector":    {pod.NodeSelector, app.NodeSelector},
				"tolerations":     {pod.Tolerations, app.Tolerations},
				"serviceAccount":  {pod.ServiceAccountName, app.ServiceAccountName},
			} {
				if !equality.Semantic.DeepEqual(pair[0], pair[1]) {
					t.Errorf("%s differs from the app's:\n job %+v\n app %+v", what, pair[0], pair[1])
				}
			}
			if !equality.Semantic.DeepEqual(c.Env, AppEnv(in)) {
				t.Error("env is not AppEnv")
			}
			checkRestricted(t, pod)
			if c.Ports != nil || c.LivenessProbe != nil || c.ReadinessProbe != nil {
				t.Error("a one-shot command needs no ports or probes")
			}
			if pod.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %q", pod.RestartPolicy)
			}
			if b := job.Spec.BackoffLimit; b == nil || *b < 1 || *b > 5 {
				t.Errorf("backoffLimit %v, want a small number", b)
			}
			if job.Spec.TTLSecondsAfterFinished != nil {
				t.Error("a TTL would delete the Job, and the operator would run it again (a new link)")
			}
		})
	}
}

// TestOwnerSetupJobNetwork: the Job's pods are database clients like the app's pods, but not
// endpoints of the app Service, not counted by the app's PDB and not reachable from the ingress.
func TestOwnerSetupJobNetwork(t *testing.T) {
	in := withOwner(fullInputs(), "owner@acme.example")
	jobPods := labels.Set(OwnerSetupJob(in).Spec.Template.Labels)
	appPods := labels.Set(AppDeployment(in).Spec.Template.Labels)

	if labels.SelectorFromSet(AppService(in).Spec.Selector).Matches(jobPods) {
		t.Error("the app Service selects the Job's pods")
	}
	pdb, err := metav1.LabelSelectorAsSelector(AppPodDisruptionBudget(in).Spec.Selector)
	if err != nil || pdb.Matches(jobPods) {
		t.Errorf("the app PDB selects the Job's pods (%v)", err)
	}
	selects := func(sel metav1.LabelSelector, pods labels.Set) bool {
		s, err := metav1.LabelSelectorAsSelector(&sel)
		if err != nil {
			t.Fatal(err)
		}
		return s.Matches(pods)
	}
	policies := NetworkPolicies(in)
	if selects(findPolicy(policies, NetpolIngressToApp).Spec.PodSelector, jobPods) {
		t.Errorf("%s opens the Job's pods to the ingress controller", NetpolIngressToApp)
	}
	egress := findPolicy(policies, NetpolAppToPostgres)
	from := findPolicy(policies, NetpolPostgresFromApp).Spec.Ingress[0].From[0].PodSelector
	for name, pods := range map[string]labels.Set{"job": jobPods, "app": appPods} {
		if !selects(egress.Spec.PodSelector, pods) {
			t.Errorf("%s: %s pods may not connect to Postgres", NetpolAppToPostgres, name)
		}
		if !selects(*from, pods) {
			t.Errorf("%s: Postgres does not accept the %s pods", NetpolPostgresFromApp, name)
		}
	}
	// Another tenant's pods (same names, other instance) are not clients.
	other := labels.Set{appNameLabel: ownerSetupName, appInstanceLabel: "other"}
	if selects(egress.Spec.PodSelector, other) || selects(*from, other) {
		t.Error("the Postgres rules select another instance's pods")
	}
}
