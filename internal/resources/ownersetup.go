package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// ownerSetupName is the app.kubernetes.io/name of the owner setup Job's pods: not the app's, so
// they never become endpoints of the app Service (or count for its PodDisruptionBudget).
const ownerSetupName = "booking-create-owner"

// OwnerSetupJobName is the name of the Job that creates the tenant's first owner, "" when
// spec.owner is not set. It ends in a hash of the e-mail address, so a new address gets a new Job
// (the old one is pruned) while the same address keeps its Job: it runs once, not on every
// reconcile.
func OwnerSetupJobName(t *slotbookv1alpha1.Tenant) string {
	if t.Spec.Owner == nil || t.Spec.Owner.Email == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(t.Spec.Owner.Email)))
	return "create-owner-" + hex.EncodeToString(sum[:])[:10]
}

// ownerSetupSelectorLabels select the owner setup Job's pods.
func ownerSetupSelectorLabels(in Inputs) map[string]string {
	return map[string]string{
		appNameLabel:     ownerSetupName,
		appInstanceLabel: in.Tenant.Name,
	}
}

// ownerSetupArgs: `admin create-owner --email <spec.owner.email>`, and `--business-name
// <spec.displayName>` when it is set: the app names a business that has no name yet, so the
// booking site shows the display name from the start and the owner can change it in the settings.
func ownerSetupArgs(t *slotbookv1alpha1.Tenant) []string {
	args := []string{"admin", "create-owner", "--email", strings.TrimSpace(t.Spec.Owner.Email)}
	if name := strings.TrimSpace(t.Spec.DisplayName); name != "" {
		args = append(args, "--business-name", name)
	}
	return args
}

// OwnerSetupJob runs `slotbook admin create-owner --email <spec.owner.email>` once, with exactly
// the app container's environment and volumes (appContainer), so it reaches the database like the
// app does. The command prints a one-time setup link (valid 24 h) to its log, and is idempotent:
// run again for an owner who already set a password it says so. nil when spec.owner is not set.
//
// The Job has no TTL: the operator would recreate a Job that disappears, which replaces the link.
// Its pod template is immutable, so the controller creates it once and never updates it.
func OwnerSetupJob(in Inputs) *batchv1.Job {
	name := OwnerSetupJobName(in.Tenant)
	if name == "" {
		return nil
	}
	selector := ownerSetupSelectorLabels(in)
	return &batchv1.Job{
		TypeMeta:   typeMeta("batch/v1", "Job"),
		ObjectMeta: objectMeta(in, name, merge(selector, map[string]string{appComponentLabel: "owner-setup"})),
		Spec: batchv1.JobSpec{
			// A few retries for a database that is briefly unavailable; a real error (a bad address)
			// fails the same way every time.
			BackoffLimit:          ptr.To[int32](3),
			ActiveDeadlineSeconds: ptr.To[int64](900),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: merge(selector, tenantLabels(Inputs{Tenant: in.Tenant})),
				},
				Spec: corev1.PodSpec{
					ServiceAccountName:           AppName,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              appPodSecurityContext(),
					RestartPolicy:                corev1.RestartPolicyNever,
					NodeSelector:                 maps.Clone(in.Class.Spec.Placement.NodeSelector),
					Tolerations:                  cloneTolerations(in.Class.Spec.Placement.Tolerations),
					Containers:                   []corev1.Container{appContainer(in, ownerSetupArgs(in.Tenant)...)},
					Volumes:                      appVolumes(),
				},
			},
		},
	}
}
