package controllers

import (
	"fmt"
	"strings"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/resources"
)

// Reasons of the Tenant's conditions.
const (
	ReasonReady        = "Ready"
	ReasonProvisioning = "Provisioning"
	ReasonSuspended    = "Suspended"
	ReasonApplyFailed  = "ApplyFailed"
	ReasonNotCreated   = "NotCreated"
	ReasonPending      = "Pending"
)

// computeStatus sets the tenant's status from one observation. It is a pure function of the
// Tenant and the observation, one set*Condition per part, then the kstatus summary.
func computeStatus(t *slotbookv1alpha1.Tenant, obs observation) {
	t.Status.ObservedGeneration = t.Generation
	if obs.problem == nil {
		t.Status.Namespace = t.NamespaceName()
		t.Status.URL = "https://" + t.Spec.Host
		t.Status.ClassName = obs.className
		security := resources.EffectiveSecurity(t)
		t.Status.Security = &security
		t.Status.SMTP = obs.smtp
		setNamespaceReadyCondition(t, obs.namespace)
		setDatabaseReadyCondition(t, obs.cluster)
		setBackupsHealthyCondition(t, obs)
		setCertificateReadyCondition(t, obs.certificate)
		setAppReadyCondition(t, obs.deployment)
		setOwnerSetupStatus(t, obs)
		setVersions(t, obs.deployment, obs.cluster)
	}
	setSummaryConditions(t, obs)
}

// smtpStatus is what status.smtp shows of a class's mail server (never its credentials), nil
// without one.
func smtpStatus(class *slotbookv1alpha1.TenantClass) *slotbookv1alpha1.SMTPStatus {
	smtp := resources.EffectiveSMTP(class)
	if smtp == nil {
		return nil
	}
	return &slotbookv1alpha1.SMTPStatus{Server: resources.SMTPServer(smtp), TLS: smtp.TLS, From: smtp.From}
}

func setCondition(t *slotbookv1alpha1.Tenant, typ string, status metav1.ConditionStatus, reason, message string) {
	meta.SetStatusCondition(&t.Status.Conditions, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: t.Generation,
	})
}

func setNamespaceReadyCondition(t *slotbookv1alpha1.Tenant, ns *corev1.Namespace) {
	switch {
	case ns == nil:
		setCondition(t, slotbookv1alpha1.ConditionNamespaceReady, metav1.ConditionFalse, ReasonNotCreated, "Namespace "+t.NamespaceName()+" does not exist yet")
	case ns.Status.Phase == corev1.NamespaceTerminating:
		setCondition(t, slotbookv1alpha1.ConditionNamespaceReady, metav1.ConditionFalse, "Terminating", "Namespace "+ns.Name+" is being deleted")
	default:
		setCondition(t, slotbookv1alpha1.ConditionNamespaceReady, metav1.ConditionTrue, ReasonReady, "Namespace "+ns.Name+" is active")
	}
}

func setDatabaseReadyCondition(t *slotbookv1alpha1.Tenant, cluster *cnpgv1.Cluster) {
	typ := slotbookv1alpha1.ConditionDatabaseReady
	if cluster == nil {
		setCondition(t, typ, metav1.ConditionFalse, ReasonNotCreated, "PostgreSQL cluster does not exist yet")
		return
	}
	if t.Spec.Suspend {
		setCondition(t, typ, metav1.ConditionFalse, "Hibernated", "PostgreSQL is hibernated while the tenant is suspended")
		return
	}
	ready := meta.FindStatusCondition(cluster.Status.Conditions, string(cnpgv1.ConditionClusterReady))
	switch {
	case ready == nil:
		setCondition(t, typ, metav1.ConditionFalse, ReasonPending, "PostgreSQL cluster is starting"+phaseSuffix(cluster.Status.Phase))
	case ready.Status == metav1.ConditionTrue:
		setCondition(t, typ, metav1.ConditionTrue, ReasonReady, fmt.Sprintf("PostgreSQL cluster is ready (%d/%d instances)",
			cluster.Status.ReadyInstances, cluster.Spec.Instances))
	default:
		setCondition(t, typ, metav1.ConditionFalse, ReasonPending, "PostgreSQL cluster is not ready: "+firstNonEmpty(ready.Message, cluster.Status.Phase))
	}
}

// setBackupsHealthyCondition follows CloudNativePG's ContinuousArchiving (WAL archiving works)
// and LastBackupSucceeded (the last base backup did not fail) conditions.
func setBackupsHealthyCondition(t *slotbookv1alpha1.Tenant, obs observation) {
	typ := slotbookv1alpha1.ConditionBackupsHealthy
	t.Status.LastSuccessfulBackup = lastSuccessfulBackup(obs)
	if obs.cluster == nil {
		setCondition(t, typ, metav1.ConditionUnknown, ReasonNotCreated, "PostgreSQL cluster does not exist yet")
		return
	}
	archiving := meta.FindStatusCondition(obs.cluster.Status.Conditions, string(cnpgv1.ConditionContinuousArchiving))
	lastBackup := meta.FindStatusCondition(obs.cluster.Status.Conditions, string(cnpgv1.ConditionBackup))
	switch {
	case archiving != nil && archiving.Status == metav1.ConditionFalse:
		setCondition(t, typ, metav1.ConditionFalse, "WALArchivingFailing", "WAL archiving to the object store fails: "+archiving.Message)
	case lastBackup != nil && lastBackup.Status == metav1.ConditionFalse:
		setCondition(t, typ, metav1.ConditionFalse, "LastBackupFailed", "The last backup failed: "+lastBackup.Message)
	case archiving == nil:
		setCondition(t, typ, metav1.ConditionUnknown, ReasonPending, "WAL archiving has not started yet")
	case lastBackup == nil && t.Status.LastSuccessfulBackup == nil:
		setCondition(t, typ, metav1.ConditionTrue, "Archiving", "WAL archiving works; no base backup has completed yet")
	default:
		setCondition(t, typ, metav1.ConditionTrue, ReasonReady, "WAL archiving works and the last backup succeeded")
	}
}

func lastSuccessfulBackup(obs observation) *metav1.Time {
	if obs.objectStore != nil {
		if w, ok := obs.objectStore.Status.ServerRecoveryWindow[resources.PostgresClusterName]; ok && w.LastSuccessfulBackupTime != nil {
			return w.LastSuccessfulBackupTime.DeepCopy()
		}
	}
	if obs.cluster != nil && obs.cluster.Status.LastSuccessfulBackup != "" {
		if ts, err := time.Parse(time.RFC3339, obs.cluster.Status.LastSuccessfulBackup); err == nil {
			return &metav1.Time{Time: ts}
		}
	}
	return nil
}

func setCertificateReadyCondition(t *slotbookv1alpha1.Tenant, cert *cmv1.Certificate) {
	typ := slotbookv1alpha1.ConditionCertificateReady
	if cert == nil {
		setCondition(t, typ, metav1.ConditionFalse, ReasonNotCreated, "Certificate does not exist yet")
		return
	}
	for _, c := range cert.Status.Conditions {
		if c.Type != cmv1.CertificateConditionReady {
			continue
		}
		if c.Status == cmmeta.ConditionTrue {
			msg := "Certificate for " + t.Spec.Host + " is issued"
			if cert.Status.NotAfter != nil {
				msg += ", valid until " + cert.Status.NotAfter.UTC().Format(time.RFC3339)
			}
			setCondition(t, typ, metav1.ConditionTrue, ReasonReady, msg)
			return
		}
		setCondition(t, typ, metav1.ConditionFalse, firstNonEmpty(c.Reason, ReasonPending), "Certificate is not ready: "+c.Message)
		return
	}
	setCondition(t, typ, metav1.ConditionFalse, ReasonPending, "Certificate is being issued")
}

func setAppReadyCondition(t *slotbookv1alpha1.Tenant, d *appsv1.Deployment) {
	typ := slotbookv1alpha1.ConditionAppReady
	switch {
	case d == nil:
		setCondition(t, typ, metav1.ConditionFalse, ReasonNotCreated, "Deployment does not exist yet")
		return
	case t.Spec.Suspend:
		setCondition(t, typ, metav1.ConditionFalse, ReasonSuspended, "App is scaled to zero while the tenant is suspended")
		return
	case d.Status.ObservedGeneration < d.Generation:
		setCondition(t, typ, metav1.ConditionFalse, ReasonPending, "Deployment change is being rolled out")
		return
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			setCondition(t, typ, metav1.ConditionTrue, ReasonReady, fmt.Sprintf("%d/%d app replicas available",
				d.Status.AvailableReplicas, resources.AppReplicas(t)))
			return
		}
	}
	setCondition(t, typ, metav1.ConditionFalse, ReasonPending, fmt.Sprintf("%d/%d app replicas available",
		d.Status.AvailableReplicas, resources.AppReplicas(t)))
}

// setVersions reports the images the tenant runs: the app's once the Deployment's rollout is
// complete (every replica runs its template), PostgreSQL's once CloudNativePG reports the cluster
// healthy with every instance ready. Until then the previous values stay, so status.versions
// names what actually runs while a new version rolls out across the fleet.
func setVersions(t *slotbookv1alpha1.Tenant, d *appsv1.Deployment, c *cnpgv1.Cluster) {
	v := slotbookv1alpha1.TenantVersions{}
	if t.Status.Versions != nil {
		v = *t.Status.Versions
	}
	if d != nil && d.Spec.Replicas != nil && *d.Spec.Replicas > 0 && len(d.Spec.Template.Spec.Containers) > 0 &&
		d.Status.ObservedGeneration >= d.Generation && d.Status.UpdatedReplicas == *d.Spec.Replicas &&
		d.Status.Replicas == *d.Spec.Replicas {
		v.App = d.Spec.Template.Spec.Containers[0].Image
	}
	if c != nil && c.Status.Image != "" && c.Status.Phase == cnpgv1.PhaseHealthy &&
		c.Status.ReadyInstances == c.Spec.Instances {
		v.Postgres = c.Status.Image
	}
	if v != (slotbookv1alpha1.TenantVersions{}) {
		t.Status.Versions = &v
	}
}

// setSummaryConditions sets Ready, Reconciling and Stalled the way kstatus reads them:
// Stalled=True (Failed) for what a person must fix, Reconciling=True (InProgress) while parts are
// not ready yet — including a degraded tenant, e.g. failing backups — and Ready=True when all are.
func setSummaryConditions(t *slotbookv1alpha1.Tenant, obs observation) {
	if obs.problem != nil {
		setCondition(t, slotbookv1alpha1.ConditionStalled, metav1.ConditionTrue, obs.problem.reason, obs.problem.message)
		setCondition(t, slotbookv1alpha1.ConditionReconciling, metav1.ConditionFalse, obs.problem.reason, "Waiting for the problem to be fixed")
		setCondition(t, slotbookv1alpha1.ConditionReady, metav1.ConditionFalse, obs.problem.reason, obs.problem.message)
		return
	}
	meta.RemoveStatusCondition(&t.Status.Conditions, slotbookv1alpha1.ConditionStalled)
	if obs.applyErr != nil {
		setCondition(t, slotbookv1alpha1.ConditionReconciling, metav1.ConditionTrue, ReasonApplyFailed, obs.applyErr.Error())
		setCondition(t, slotbookv1alpha1.ConditionReady, metav1.ConditionFalse, ReasonApplyFailed, obs.applyErr.Error())
		return
	}
	if t.Spec.Suspend {
		meta.RemoveStatusCondition(&t.Status.Conditions, slotbookv1alpha1.ConditionReconciling)
		setCondition(t, slotbookv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonSuspended,
			"Tenant is suspended: app scaled to zero, database hibernated")
		return
	}
	var waiting []string
	for _, typ := range []string{
		slotbookv1alpha1.ConditionNamespaceReady, slotbookv1alpha1.ConditionDatabaseReady,
		slotbookv1alpha1.ConditionBackupsHealthy, slotbookv1alpha1.ConditionCertificateReady,
		slotbookv1alpha1.ConditionAppReady,
	} {
		if c := meta.FindStatusCondition(t.Status.Conditions, typ); c == nil || c.Status != metav1.ConditionTrue {
			waiting = append(waiting, typ)
		}
	}
	if len(waiting) == 0 {
		meta.RemoveStatusCondition(&t.Status.Conditions, slotbookv1alpha1.ConditionReconciling)
		setCondition(t, slotbookv1alpha1.ConditionReady, metav1.ConditionTrue, ReasonReady, "Booking site is up at https://"+t.Spec.Host)
		return
	}
	reason := ReasonProvisioning
	if isProvisioned(t) {
		reason = "Degraded"
	}
	msg := "Waiting for " + strings.Join(waiting, ", ")
	setCondition(t, slotbookv1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, msg)
	setCondition(t, slotbookv1alpha1.ConditionReady, metav1.ConditionFalse, reason, msg)
}

// isProvisioned reports whether the database and app are up, so that what is missing is a
// degradation (backups, certificate renewal) rather than first provisioning.
func isProvisioned(t *slotbookv1alpha1.Tenant) bool {
	return meta.IsStatusConditionTrue(t.Status.Conditions, slotbookv1alpha1.ConditionDatabaseReady) &&
		meta.IsStatusConditionTrue(t.Status.Conditions, slotbookv1alpha1.ConditionAppReady)
}

func phaseSuffix(phase string) string {
	if phase == "" {
		return ""
	}
	return " (" + phase + ")"
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
