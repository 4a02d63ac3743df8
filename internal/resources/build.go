package resources

import (
	"reflect"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Build returns every object of one tenant, in the order they are best applied: the namespace
// and its guard rails first, then the secrets the database and app need, then the database, the
// certificate, the network policies, the app (with its PodMonitor) and the owner setup Job.
func Build(in Inputs) ([]client.Object, error) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	objects := []client.Object{
		Namespace(in),
		ResourceQuota(in),
		LimitRange(in),
		BackupCredentialsSecret(in),
		BackupEndpointCASecret(in),
		SMTPCredentialsSecret(in),
		DatabaseSecret(in),
		SessionSecret(in),
		ObjectStore(in),
		RestoreSourceObjectStore(in),
		PostgresCluster(in),
		ScheduledBackup(in),
		RestoreTestCluster(in),
		Certificate(in),
	}
	for _, p := range NetworkPolicies(in) {
		objects = append(objects, p)
	}
	objects = append(objects,
		AppServiceAccount(in),
		AppDeployment(in),
		AppService(in),
		AppIngress(in),
		AppPodDisruptionBudget(in),
		AppPodMonitor(in),
		OwnerSetupJob(in),
	)
	// Builders return a typed nil for objects the tenant does not need (e.g. no PDB for one replica).
	present := objects[:0]
	for _, o := range objects {
		if o != nil && !reflect.ValueOf(o).IsNil() {
			present = append(present, o)
		}
	}
	return present, nil
}
