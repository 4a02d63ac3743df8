package resources

import (
	"maps"
	"strings"
	"time"

	barmanapi "github.com/cloudnative-pg/barman-cloud/pkg/api"
	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	machineryapi "github.com/cloudnative-pg/machinery/pkg/api"
	barmancloudv1 "github.com/cloudnative-pg/plugin-barman-cloud/api/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// pgHBARejectPlainText makes PostgreSQL refuse every connection without TLS. CloudNativePG puts
// user rules before its own catch-all `host all all all scram-sha-256`, so these win.
var pgHBARejectPlainText = []string{
	"hostnossl all all 0.0.0.0/0 reject",
	"hostnossl all all ::/0 reject",
}

// postgresResources are the Tenant's, or explicit defaults: the namespace's LimitRange defaults
// are sized for small containers.
func postgresResources(in Inputs) corev1.ResourceRequirements {
	if r := in.Tenant.Spec.Postgres.Resources; r != nil {
		return *r.DeepCopy()
	}
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse("250m"),
			corev1.ResourceMemory: resource.MustParse("512Mi"),
		},
		Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
}

// smartShutdownTimeoutSeconds bounds how long a stopping PostgreSQL instance waits for its
// clients to disconnect before it shuts down fast (see the Cluster's SmartShutdownTimeout).
const smartShutdownTimeoutSeconds int32 = 10

// PostgresCluster is the tenant's CloudNativePG cluster. The Barman Cloud plugin archives WAL to
// the tenant's object store path; suspending the tenant hibernates the cluster.
func PostgresCluster(in Inputs) *cnpgv1.Cluster {
	meta := objectMeta(in, PostgresClusterName, nil)
	meta.Annotations = map[string]string{HibernationAnnotation: "off"}
	if in.Tenant.Spec.Suspend {
		meta.Annotations[HibernationAnnotation] = "on"
	}
	spec := postgresClusterSpec(in)
	spec.Instances = int(postgresInstances(in))
	spec.Bootstrap = &cnpgv1.BootstrapConfiguration{InitDB: &cnpgv1.BootstrapInitDB{
		Database: DatabaseName, Owner: DatabaseOwner, Secret: &cnpgv1.LocalObjectReference{Name: DatabaseSecretName},
	}}
	// With spec.restore the database is not created empty but recovered from the other tenant's
	// backups, to its target time, else to the end of the archived WAL.
	if restore := in.Tenant.Spec.Restore; restore != nil {
		recovery, source := recoveryFrom(RestoreSourceName)
		if restore.TargetTime != nil {
			recovery.RecoveryTarget = &cnpgv1.RecoveryTarget{TargetTime: restore.TargetTime.UTC().Format(time.RFC3339Nano)}
		}
		spec.Bootstrap, spec.ExternalClusters = &cnpgv1.BootstrapConfiguration{Recovery: recovery}, source
	}
	spec.Plugins = []cnpgv1.PluginConfiguration{{
		Name:          BarmanCloudPluginName,
		IsWALArchiver: ptr.To(true),
		Parameters:    map[string]string{"barmanObjectName": ObjectStoreName},
	}}
	return &cnpgv1.Cluster{
		TypeMeta:   typeMeta(cnpgv1.SchemeGroupVersion.String(), "Cluster"),
		ObjectMeta: meta,
		Spec:       spec,
	}
}

// RestoreTestCluster is the throw-away cluster of a running restore test
// (status.restoreTest.phase Running): one instance recovering the tenant's own latest backup
// and WAL from its object store, without archiving anything (it must never write into the
// tenant's backups) and without any client. The controller removes it when the test ends. nil
// while no test runs.
func RestoreTestCluster(in Inputs) *cnpgv1.Cluster {
	if rt := in.Tenant.Status.RestoreTest; rt == nil || rt.Phase != slotbookv1alpha1.RestoreTestRunning {
		return nil
	}
	spec := postgresClusterSpec(in)
	spec.Instances = 1
	recovery, source := recoveryFrom(ObjectStoreName)
	spec.Bootstrap, spec.ExternalClusters = &cnpgv1.BootstrapConfiguration{Recovery: recovery}, source
	return &cnpgv1.Cluster{
		TypeMeta:   typeMeta(cnpgv1.SchemeGroupVersion.String(), "Cluster"),
		ObjectMeta: objectMeta(in, RestoreTestClusterName, nil),
		Spec:       spec,
	}
}

// postgresClusterSpec is what the tenant's database and a restore test's cluster share: the
// image, TLS-only access, the shutdown timeout, storage, placement and resources.
func postgresClusterSpec(in Inputs) cnpgv1.ClusterSpec {
	class := in.Class
	storage := cnpgv1.StorageConfiguration{Size: postgresStorageSize(in)}
	if class.Spec.Postgres.StorageClassName != "" {
		storage.StorageClass = ptr.To(class.Spec.Postgres.StorageClassName)
	}
	return cnpgv1.ClusterSpec{
		ImageName:             class.Spec.Postgres.ImageName,
		PostgresConfiguration: cnpgv1.PostgresConfiguration{PgHBA: pgHBARejectPlainText},
		// When the primary's pod is deleted (a node drain, an eviction), CloudNativePG first
		// asks PostgreSQL for a smart shutdown, which waits for every client to disconnect: the
		// app's connection pool never does, so with the default (180 s) the failover to a
		// replica waited three minutes (measured in the e2e suite). After this timeout the
		// shutdown is fast: sessions end, the checkpoint and WAL are still written.
		SmartShutdownTimeout: ptr.To(smartShutdownTimeoutSeconds),
		StorageConfiguration: storage,
		Affinity: cnpgv1.AffinityConfiguration{
			NodeSelector: maps.Clone(class.Spec.Placement.NodeSelector),
			Tolerations:  cloneTolerations(class.Spec.Placement.Tolerations),
		},
		Resources: postgresResources(in),
	}
}

// recoveryFrom bootstraps a cluster by recovering the database cluster `postgres` archived in
// the ObjectStore objectStore, as `booking` owned by `booking` with this tenant's password
// (CloudNativePG sets the owner's password from the Secret after a recovery too), and returns
// the external cluster that names that archive.
func recoveryFrom(objectStore string) (*cnpgv1.BootstrapRecovery, []cnpgv1.ExternalCluster) {
	return &cnpgv1.BootstrapRecovery{
			Source: objectStore, Database: DatabaseName, Owner: DatabaseOwner,
			Secret: &cnpgv1.LocalObjectReference{Name: DatabaseSecretName},
		}, []cnpgv1.ExternalCluster{{
			Name: objectStore,
			PluginConfiguration: &cnpgv1.PluginConfiguration{
				Name: BarmanCloudPluginName,
				Parameters: map[string]string{
					"barmanObjectName": objectStore,
					"serverName":       PostgresClusterName,
				},
			},
		}}
}

func postgresInstances(in Inputs) int32 {
	if in.Tenant.Spec.Postgres.Instances == 0 {
		return 3
	}
	return in.Tenant.Spec.Postgres.Instances
}

func postgresStorageSize(in Inputs) string {
	if in.Tenant.Spec.Postgres.Storage.Size == "" {
		return "5Gi"
	}
	return in.Tenant.Spec.Postgres.Storage.Size
}

// ObjectStore is the Barman Cloud plugin's object store for the tenant: the class destination
// with the tenant name appended, and the tenant's retention.
func ObjectStore(in Inputs) *barmancloudv1.ObjectStore {
	return &barmancloudv1.ObjectStore{
		TypeMeta:   typeMeta(barmancloudv1.GroupVersion.String(), "ObjectStore"),
		ObjectMeta: objectMeta(in, ObjectStoreName, nil),
		Spec: barmancloudv1.ObjectStoreSpec{
			Configuration:   objectStoreConfig(in, in.Tenant.Name),
			RetentionPolicy: backupRetention(in),
		},
	}
}

// RestoreSourceObjectStore is where the backups of spec.restore.fromTenant are: that tenant's
// path under the class destination, read with the class credentials. It has no retention
// policy: it is only read from, and the backups it holds are the other tenant's. nil without
// spec.restore.
func RestoreSourceObjectStore(in Inputs) *barmancloudv1.ObjectStore {
	restore := in.Tenant.Spec.Restore
	if restore == nil {
		return nil
	}
	return &barmancloudv1.ObjectStore{
		TypeMeta:   typeMeta(barmancloudv1.GroupVersion.String(), "ObjectStore"),
		ObjectMeta: objectMeta(in, RestoreSourceName, nil),
		Spec:       barmancloudv1.ObjectStoreSpec{Configuration: objectStoreConfig(in, restore.FromTenant)},
	}
}

// objectStoreConfig is the class's object store with the path of the tenant named tenantName.
func objectStoreConfig(in Inputs, tenantName string) barmanapi.BarmanObjectStoreConfiguration {
	backup := in.Class.Spec.Backup
	config := barmanapi.BarmanObjectStoreConfiguration{
		DestinationPath: strings.TrimSuffix(backup.DestinationPath, "/") + "/" + tenantName,
		EndpointURL:     backup.EndpointURL,
		BarmanCredentials: barmanapi.BarmanCredentials{AWS: &barmanapi.S3Credentials{
			AccessKeyIDReference: &machineryapi.SecretKeySelector{
				LocalObjectReference: machineryapi.LocalObjectReference{Name: BackupCredentialsSecretName},
				Key:                  "ACCESS_KEY_ID",
			},
			SecretAccessKeyReference: &machineryapi.SecretKeySelector{
				LocalObjectReference: machineryapi.LocalObjectReference{Name: BackupCredentialsSecretName},
				Key:                  "ACCESS_SECRET_KEY",
			},
		}},
		Wal:  &barmanapi.WalBackupConfiguration{Compression: barmanapi.CompressionTypeGzip},
		Data: &barmanapi.DataBackupConfiguration{Compression: barmanapi.CompressionTypeGzip},
	}
	if backup.EndpointCASecretRef != nil {
		config.EndpointCA = &machineryapi.SecretKeySelector{
			LocalObjectReference: machineryapi.LocalObjectReference{Name: BackupEndpointCASecretName},
			Key:                  "ca.crt",
		}
	}
	return config
}

func backupRetention(in Inputs) string {
	if in.Tenant.Spec.Postgres.Backup.Retention == "" {
		return "30d"
	}
	return in.Tenant.Spec.Postgres.Backup.Retention
}

func backupSchedule(in Inputs) string { return BackupSchedule(in.Tenant) }

// BackupSchedule is the tenant's base backup schedule (CloudNativePG's 6-field cron with seconds),
// the default filled in: what its ScheduledBackup runs, and what the operator's metrics report.
func BackupSchedule(t *slotbookv1alpha1.Tenant) string {
	if t.Spec.Postgres.Backup.Schedule == "" {
		return "0 0 2 * * *"
	}
	return t.Spec.Postgres.Backup.Schedule
}

// ScheduledBackup takes the tenant's base backups through the Barman Cloud plugin. The first one
// runs immediately, so a new tenant is recoverable from the start. Backups are owned by the
// ScheduledBackup; the data in the object store lives on per the retention policy.
func ScheduledBackup(in Inputs) *cnpgv1.ScheduledBackup {
	return &cnpgv1.ScheduledBackup{
		TypeMeta:   typeMeta(cnpgv1.SchemeGroupVersion.String(), "ScheduledBackup"),
		ObjectMeta: objectMeta(in, ScheduledBackupName, nil),
		Spec: cnpgv1.ScheduledBackupSpec{
			Schedule:             backupSchedule(in),
			Suspend:              ptr.To(in.Tenant.Spec.Suspend),
			Immediate:            ptr.To(true),
			Cluster:              cnpgv1.LocalObjectReference{Name: PostgresClusterName},
			BackupOwnerReference: "self",
			Method:               cnpgv1.BackupMethodPlugin,
			PluginConfiguration:  &cnpgv1.BackupPluginConfiguration{Name: BarmanCloudPluginName},
		},
	}
}
