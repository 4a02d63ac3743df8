package resources

// Names of the objects in a tenant namespace. The app reaches its database as postgres-rw, and
// users' runbooks refer to these names, so they are part of the contract.
const (
	FieldOwner = "slotbook-operator"

	PostgresClusterName  = "postgres"
	PostgresCASecretName = "postgres-ca" // created by CloudNativePG
	ObjectStoreName      = "backup-store"
	// RestoreSourceName is the ObjectStore of the backups a restored tenant starts from
	// (spec.restore), and the Cluster's external cluster that recovers from it.
	RestoreSourceName = "restore-source"
	// RestoreTestClusterName is the throw-away PostgreSQL cluster of a running restore test.
	RestoreTestClusterName      = "restore-test"
	ScheduledBackupName         = "scheduled-backup"
	BackupCredentialsSecretName = "backup-credentials"
	BackupEndpointCASecretName  = "backup-endpoint-ca"
	SMTPCredentialsSecretName   = "smtp-credentials"
	DatabaseSecretName          = "booking-database"
	SessionSecretName           = "booking-session"
	AppName                     = "booking"
	CertificateName             = "booking-tls"
	TLSSecretName               = "booking-tls"
	ResourceQuotaName           = "tenant-quota"
	LimitRangeName              = "tenant-limits"

	DatabaseName  = "booking"
	DatabaseOwner = "booking"

	// BarmanCloudPluginName is the name the Barman Cloud plugin registers with CloudNativePG.
	BarmanCloudPluginName = "barman-cloud.cloudnative-pg.io"

	// ConfigChecksumAnnotation on the app's pod template changes whenever the app's configuration
	// or secrets change, which rolls the pods.
	ConfigChecksumAnnotation = "slotbook.io/config-checksum"
	// HibernationAnnotation is CloudNativePG's declarative hibernation switch.
	HibernationAnnotation = "cnpg.io/hibernation"

	// Ports of the app and of PostgreSQL.
	AppHTTPPort          = 8080
	AppMetricsPort       = 9090
	PostgresPort         = 5432
	PostgresStatusPort   = 8000
	PostgresMetricsPort  = 9187
	postgresCAMountPath  = "/etc/slotbook/postgres-ca"
	defaultTimeZone      = "Europe/Berlin"
	managedByLabel       = "app.kubernetes.io/managed-by"
	managedByValue       = "slotbook"
	appNameLabel         = "app.kubernetes.io/name"
	appInstanceLabel     = "app.kubernetes.io/instance"
	appComponentLabel    = "app.kubernetes.io/component"
	cnpgClusterLabel     = "cnpg.io/cluster"
	podSecurityLabelBase = "pod-security.kubernetes.io/"
)
