// Package controllers holds the Tenant controller: it turns a Tenant and its TenantClass into an
// isolated booking instance and keeps that instance in shape.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	barmancloudv1 "github.com/cloudnative-pg/plugin-barman-cloud/api/v1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
	"github.com/slotbook/slotbook/internal/apply"
	"github.com/slotbook/slotbook/internal/resources"
)

// Finalizer lets the controller carry out the Tenant's deletion policy before it disappears.
const Finalizer = "slotbook.io/finalizer"

// resyncPeriod bounds how long a change the controller cannot watch (the class's credentials
// Secret, which lives outside tenant namespaces) takes to reach tenants.
const resyncPeriod = 10 * time.Minute

// TenantReconciler reconciles Tenants.
type TenantReconciler struct {
	// Client reads from the informer cache and writes to the API server.
	Client client.Client
	// APIReader reads directly from the API server: for Secrets outside tenant namespaces (not
	// cached) and to confirm a generated secret really does not exist yet.
	APIReader client.Reader
	Recorder  events.EventRecorder
	// MaxConcurrentReconciles is the number of tenants reconciled in parallel.
	MaxConcurrentReconciles int
	// PodMonitors is true when the cluster serves prometheus-operator's PodMonitor kind: tenants
	// of a class that enables monitoring then get one for their app (and PodMonitors are watched
	// and pruned).
	PodMonitors bool
}

// +kubebuilder:rbac:groups=slotbook.io,resources=tenants,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=slotbook.io,resources=tenants/status,verbs=patch
// +kubebuilder:rbac:groups=slotbook.io,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups=slotbook.io,resources=tenantclasses,verbs=get;list;watch
// Children are applied (create, patch) and watched (get, list, watch). Only namespaces (deletion
// policy Delete) and the kinds the controller prunes (see prune.go) are ever deleted.
// +kubebuilder:rbac:groups="",resources=namespaces;secrets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts;services;resourcequotas;limitranges,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// The owner setup Job is created (server-side apply: create and patch), watched, pruned (delete)
// and released on deletion policy Retain (patch); never updated.
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=postgresql.cnpg.io,resources=scheduledbackups,verbs=get;list;watch;create;patch
// Clusters: the tenant's database, and a restore test's throw-away cluster, which is deleted by
// name when the test ends (restoretest.go).
// +kubebuilder:rbac:groups=postgresql.cnpg.io,resources=clusters,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=barmancloud.cnpg.io,resources=objectstores,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=cert-manager.io,resources=certificates,verbs=get;list;watch;create;patch
// The app's PodMonitor (when the class enables monitoring) is applied, watched and pruned.
// +kubebuilder:rbac:groups=monitoring.coreos.com,resources=podmonitors,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one tenant's instance to the state its Tenant and class describe.
func (r *TenantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	result, err := r.reconcile(ctx, req)
	countReconcileError(err)
	return result, err
}

func (r *TenantReconciler) reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	tenant := &slotbookv1alpha1.Tenant{}
	if err := r.Client.Get(ctx, req.NamespacedName, tenant); err != nil {
		if apierrors.IsNotFound(err) {
			forgetTenantMetrics(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !tenant.DeletionTimestamp.IsZero() {
		forgetTenantMetrics(tenant.Name)
		result, err := r.reconcileDelete(ctx, tenant)
		return result, inStep("Delete", err)
	}
	if !controllerutil.ContainsFinalizer(tenant, Finalizer) {
		patch := client.MergeFrom(tenant.DeepCopy())
		controllerutil.AddFinalizer(tenant, Finalizer)
		if err := r.Client.Patch(ctx, tenant, patch); err != nil {
			return ctrl.Result{}, inStep(reconcileErrorReasonFinalizer, err)
		}
	}

	before := tenant.Status.DeepCopy()
	obs, result, reconcileErr := r.reconcileNormal(ctx, tenant)
	computeStatus(tenant, obs)
	if err := r.patchStatus(ctx, tenant, before); err != nil {
		return ctrl.Result{}, errors.Join(reconcileErr, inStep(reconcileErrorReasonStatus, err))
	}
	recordTenantMetrics(tenant, obs)
	r.recordTransitions(tenant, before)
	return result, reconcileErr
}

// reconcileNormal applies the tenant's desired objects and observes their state. Problems a
// person must fix (a missing class or Secret) are returned in the observation, not as errors, so
// they show in the status without a hot retry loop.
func (r *TenantReconciler) reconcileNormal(ctx context.Context, tenant *slotbookv1alpha1.Tenant) (observation, ctrl.Result, error) {
	var obs observation
	class, problem, err := r.resolveClass(ctx, tenant)
	if err != nil || problem != nil {
		obs.problem = problem
		return obs, ctrl.Result{}, inStep("ClassLookup", err)
	}
	obs.className = class.Name
	obs.smtp = smtpStatus(class)
	if tenant.Status.ClassName != class.Name {
		// The first chapter of the story, before the objects are created; once per class change.
		r.Recorder.Eventf(tenant, nil, corev1.EventTypeNormal, "ClassResolved", "Provision",
			"Provisioning with TenantClass %s in namespace %s", class.Name, tenant.NamespaceName())
	}

	// Before Build: a restore test that is due starts now, and its cluster is then desired.
	nextRestoreTest := startRestoreTest(tenant, time.Now())

	in, problem, err := r.gatherInputs(ctx, tenant, class)
	if err != nil || problem != nil {
		obs.problem = problem
		// The class's Secrets are not watched: look again in a while.
		return obs, ctrl.Result{RequeueAfter: time.Minute}, inStep("Inputs", err)
	}
	desired, err := resources.Build(in)
	if err != nil {
		return obs, ctrl.Result{}, inStep("Build", err)
	}
	if err := r.applyAll(ctx, tenant, desired); err != nil {
		obs.applyErr = err
		return obs, ctrl.Result{}, inStep("Apply", err)
	}
	if err := r.prune(ctx, tenant, desired); err != nil {
		return obs, ctrl.Result{}, inStep("Prune", err)
	}
	if err := r.observe(ctx, tenant, &obs); err != nil {
		return obs, ctrl.Result{}, inStep("Observe", err)
	}
	if err := r.ensureOwnerSetupJob(ctx, tenant, desired, &obs); err != nil {
		return obs, ctrl.Result{}, inStep("OwnerSetup", err)
	}
	restoreTestPoll, err := r.reconcileRestoreTest(ctx, tenant, time.Now())
	if err != nil {
		return obs, ctrl.Result{}, inStep("RestoreTest", err)
	}
	requeue := resyncPeriod
	for _, d := range []time.Duration{nextRestoreTest, restoreTestPoll} {
		if d > 0 && d < requeue {
			requeue = d
		}
	}
	return obs, ctrl.Result{RequeueAfter: requeue}, nil
}

// applyAll applies every desired object and records one Event summing up what it created or
// corrected (one Event per object would be folded into one by the events API anyway, keeping
// only the first message).
func (r *TenantReconciler) applyAll(ctx context.Context, tenant *slotbookv1alpha1.Tenant, desired []client.Object) error {
	applier := apply.Applier{Client: r.Client, FieldOwner: resources.FieldOwner}
	changed := map[apply.Result][]string{}
	for _, obj := range desired {
		if isCreateOnly(obj) {
			continue // ensureOwnerSetupJob
		}
		res, err := applier.Apply(ctx, obj)
		if err != nil {
			r.Recorder.Eventf(tenant, nil, corev1.EventTypeWarning, "ApplyFailed", "Apply", "%v", err)
			return err
		}
		if res != apply.Unchanged {
			log.FromContext(ctx).V(1).Info("applied", "object", kindAndName(obj), "result", res)
			changed[res] = append(changed[res], kindAndName(obj))
		}
	}
	if created := changed[apply.Created]; len(created) > 0 {
		r.Recorder.Eventf(tenant, nil, corev1.EventTypeNormal, "Created", "Apply", "Created %d objects: %s", len(created), summarize(created))
	}
	if updated := changed[apply.Updated]; len(updated) > 0 {
		r.Recorder.Eventf(tenant, nil, corev1.EventTypeNormal, "Updated", "Apply", "Updated %d objects (drift corrected or spec changed): %s", len(updated), summarize(updated))
	}
	return nil
}

// summarize lists objects for an Event message, which must stay short (at most 1 kB).
func summarize(names []string) string {
	const limit = 8
	if len(names) <= limit {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:limit], ", ") + fmt.Sprintf(" and %d more", len(names)-limit)
}

func (r *TenantReconciler) patchStatus(ctx context.Context, tenant *slotbookv1alpha1.Tenant, before *slotbookv1alpha1.TenantStatus) error {
	if equality.Semantic.DeepEqual(before, &tenant.Status) {
		return nil // a steady-state reconcile writes nothing
	}
	after := tenant.Status.DeepCopy()
	patch := client.MergeFrom(&slotbookv1alpha1.Tenant{ObjectMeta: tenant.ObjectMeta, Status: *before})
	err := r.Client.Status().Patch(ctx, tenant, patch)
	if apierrors.IsNotFound(err) {
		return nil
	}
	tenant.Status = *after
	return err
}

// storyEvents are the Events that tell a tenant's provisioning story, one per change of a
// condition to the listed status: class resolved (reconcileNormal), objects created (the
// summary Event of applyAll), namespace active, database provisioning and ready, certificate
// issued, app available, Ready; and the degradations and their recovery. A steady-state reconcile
// changes no condition and emits none.
var storyEvents = []struct {
	condition string
	status    metav1.ConditionStatus
	reason    string // "" for any reason
	eventType string
	event     string // the Event's reason
}{
	{slotbookv1alpha1.ConditionNamespaceReady, metav1.ConditionTrue, "", corev1.EventTypeNormal, "NamespaceReady"},
	{slotbookv1alpha1.ConditionDatabaseReady, metav1.ConditionFalse, ReasonPending, corev1.EventTypeNormal, "DatabaseProvisioning"},
	{slotbookv1alpha1.ConditionDatabaseReady, metav1.ConditionTrue, "", corev1.EventTypeNormal, "DatabaseReady"},
	{slotbookv1alpha1.ConditionBackupsHealthy, metav1.ConditionFalse, "", corev1.EventTypeWarning, "BackupsFailing"},
	{slotbookv1alpha1.ConditionCertificateReady, metav1.ConditionTrue, "", corev1.EventTypeNormal, "CertificateIssued"},
	{slotbookv1alpha1.ConditionCertificateReady, metav1.ConditionFalse, "", corev1.EventTypeNormal, "CertificatePending"},
	{slotbookv1alpha1.ConditionAppReady, metav1.ConditionTrue, "", corev1.EventTypeNormal, "AppAvailable"},
}

// recordTransitions emits the Events of the provisioning story for what changed in this
// reconcile, once per change: a part becoming ready (or failing), and the tenant becoming ready,
// degraded or stalled.
func (r *TenantReconciler) recordTransitions(tenant *slotbookv1alpha1.Tenant, before *slotbookv1alpha1.TenantStatus) {
	for _, e := range storyEvents {
		c := meta.FindStatusCondition(tenant.Status.Conditions, e.condition)
		if c == nil || c.Status != e.status || (e.reason != "" && c.Reason != e.reason) {
			continue
		}
		if prev := meta.FindStatusCondition(before.Conditions, e.condition); prev != nil && prev.Status == c.Status && prev.Reason == c.Reason {
			continue
		}
		r.Recorder.Eventf(tenant, nil, e.eventType, e.event, "Provision", "%s", c.Message)
	}
	for _, c := range tenant.Status.Conditions {
		if c.Type != slotbookv1alpha1.ConditionReady && c.Type != slotbookv1alpha1.ConditionStalled {
			continue
		}
		prev := meta.FindStatusCondition(before.Conditions, c.Type)
		if prev != nil && prev.Status == c.Status && prev.Reason == c.Reason {
			continue
		}
		switch {
		case c.Type == slotbookv1alpha1.ConditionReady && c.Status == metav1.ConditionTrue:
			r.Recorder.Eventf(tenant, nil, corev1.EventTypeNormal, c.Reason, "Provision", "%s", c.Message)
		case c.Type == slotbookv1alpha1.ConditionReady && c.Reason == "Degraded":
			r.Recorder.Eventf(tenant, nil, corev1.EventTypeWarning, "Degraded", "Provision", "%s", c.Message)
		case c.Type == slotbookv1alpha1.ConditionStalled && c.Status == metav1.ConditionTrue:
			r.Recorder.Eventf(tenant, nil, corev1.EventTypeWarning, c.Reason, "Provision", "%s", c.Message)
		}
	}
}

// SetupWithManager watches Tenants, every kind of object a tenant owns, TenantClasses (a class
// change reaches all its tenants) and the kube-apiserver's EndpointSlices (its addresses are in
// every tenant's NetworkPolicies).
func (r *TenantReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		For(&slotbookv1alpha1.Tenant{}).
		Owns(&corev1.Namespace{})
	for _, kind := range ownedNamespacedKinds {
		b = b.Owns(kind.object)
	}
	if r.PodMonitors {
		b = b.Owns(&monitoringv1.PodMonitor{})
	}
	mgr.GetLogger().Info("app PodMonitors for classes that enable monitoring",
		"enabled", r.PodMonitors, "why", map[bool]string{
			true:  "the cluster serves monitoring.coreos.com/v1 PodMonitor",
			false: "the cluster does not serve monitoring.coreos.com/v1 PodMonitor (restart the operator after installing prometheus-operator)",
		}[r.PodMonitors])
	return b.
		Watches(&slotbookv1alpha1.TenantClass{}, handler.EnqueueRequestsFromMapFunc(r.tenantsOfClass)).
		Watches(&discoveryEndpointSlice, handler.EnqueueRequestsFromMapFunc(r.allTenants),
			builder.WithPredicates(predicate.NewPredicateFuncs(isAPIServerEndpointSlice))).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(1, r.MaxConcurrentReconciles)}).
		Named("tenant").
		Complete(r)
}

// ownedNamespacedKinds are the kinds of object a Tenant controls inside its namespace: watched
// so that drift is corrected, and released when a Tenant with deletionPolicy Retain goes.
var ownedNamespacedKinds = []struct {
	object client.Object
	list   func() client.ObjectList
}{
	{&corev1.ResourceQuota{}, func() client.ObjectList { return &corev1.ResourceQuotaList{} }},
	{&corev1.LimitRange{}, func() client.ObjectList { return &corev1.LimitRangeList{} }},
	{&corev1.Secret{}, func() client.ObjectList { return &corev1.SecretList{} }},
	{&corev1.ServiceAccount{}, func() client.ObjectList { return &corev1.ServiceAccountList{} }},
	{&corev1.Service{}, func() client.ObjectList { return &corev1.ServiceList{} }},
	{&appsv1.Deployment{}, func() client.ObjectList { return &appsv1.DeploymentList{} }},
	{&networkingv1.Ingress{}, func() client.ObjectList { return &networkingv1.IngressList{} }},
	{&networkingv1.NetworkPolicy{}, func() client.ObjectList { return &networkingv1.NetworkPolicyList{} }},
	{&policyv1.PodDisruptionBudget{}, func() client.ObjectList { return &policyv1.PodDisruptionBudgetList{} }},
	{&cnpgv1.Cluster{}, func() client.ObjectList { return &cnpgv1.ClusterList{} }},
	{&cnpgv1.ScheduledBackup{}, func() client.ObjectList { return &cnpgv1.ScheduledBackupList{} }},
	{&barmancloudv1.ObjectStore{}, func() client.ObjectList { return &barmancloudv1.ObjectStoreList{} }},
	{&cmv1.Certificate{}, func() client.ObjectList { return &cmv1.CertificateList{} }},
	{&batchv1.Job{}, func() client.ObjectList { return &batchv1.JobList{} }},
}

// ownedOptionalKinds are the kinds of ownedNamespacedKinds' sort whose CRDs the cluster may lack:
// listed only when it serves them.
func (r *TenantReconciler) ownedOptionalKinds() []client.ObjectList {
	if r.PodMonitors {
		return []client.ObjectList{&monitoringv1.PodMonitorList{}}
	}
	return nil
}

func kindAndName(obj client.Object) string {
	kind := obj.GetObjectKind().GroupVersionKind().Kind
	if kind == "" {
		kind = fmt.Sprintf("%T", obj)
	}
	if obj.GetNamespace() == "" {
		return kind + " " + obj.GetName()
	}
	return kind + " " + obj.GetNamespace() + "/" + obj.GetName()
}
