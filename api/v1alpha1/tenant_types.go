package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Annotations and labels of the Slotbook API.
const (
	// DeletionProtectionAnnotation set to "true" on a Tenant makes the shipped
	// ValidatingAdmissionPolicy refuse its deletion.
	DeletionProtectionAnnotation = "slotbook.io/deletion-protection"
	// TenantLabel is put on every object provisioned for a tenant; its value is the tenant name.
	TenantLabel = "slotbook.io/tenant"
	// EnvironmentLabel on the tenant namespace carries the tenant's environment.
	EnvironmentLabel = "slotbook.io/environment"
	// RetainedLabel marks objects released by a deleted Tenant with deletionPolicy Retain.
	RetainedLabel = "slotbook.io/retained"
)

// Environment separates production from staging tenants (GDPR Art. 32 TOM 3.5).
// +kubebuilder:validation:Enum=production;staging
type Environment string

const (
	EnvironmentProduction Environment = "production"
	EnvironmentStaging    Environment = "staging"
)

// DeletionPolicy says what happens to a tenant's namespace and data when the Tenant is deleted.
// +kubebuilder:validation:Enum=Retain;Delete
type DeletionPolicy string

const (
	// DeletionPolicyRetain releases the namespace, database and backups: they stay, unowned.
	DeletionPolicyRetain DeletionPolicy = "Retain"
	// DeletionPolicyDelete removes the namespace and everything in it. Backups in the object store
	// stay until their retention expires.
	DeletionPolicyDelete DeletionPolicy = "Delete"
)

// MFAMode says whether users must enrol a second factor.
// +kubebuilder:validation:Enum=Optional;Required
type MFAMode string

const (
	MFAOptional MFAMode = "Optional"
	MFARequired MFAMode = "Required"
)

// TenantSpec describes one customer's booking instance.
// +kubebuilder:validation:XValidation:fieldPath=".environment",rule="!has(oldSelf.environment) || (has(self.environment) && self.environment == oldSelf.environment)",message="environment is immutable: create a new Tenant to move between production and staging"
// +kubebuilder:validation:XValidation:fieldPath=".restore",rule="has(self.restore) == has(oldSelf.restore)",message="restore can only be set when the Tenant is created, and not removed"
type TenantSpec struct {
	// ClassName is the TenantClass to provision with; the default class when empty.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	ClassName string `json:"className,omitempty"`

	// DisplayName is the business name shown to people: the booking app's first business name,
	// given to it when the owner account is created (spec.owner); from then on the owner changes
	// it in the app's settings.
	// +kubebuilder:validation:MaxLength=200
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// Host is the public fully qualified domain name of the booking site.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\\\\.)+[a-z]([-a-z0-9]{0,61}[a-z0-9])?$')",message="host must be a lowercase fully qualified domain name such as booking.example.com (no scheme, port, path or wildcard)"
	Host string `json:"host"`

	// TimeZone is the IANA time zone the booking app uses for the business by default.
	// +kubebuilder:default="Europe/Berlin"
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$')",message="timeZone must be an IANA time zone name such as Europe/Berlin"
	// +optional
	TimeZone string `json:"timeZone,omitempty"`

	// Environment is production or staging. It cannot be changed after creation.
	// +kubebuilder:default=production
	// +optional
	Environment Environment `json:"environment,omitempty"`

	// App configures the booking app.
	// +kubebuilder:default={}
	// +optional
	App TenantAppSpec `json:"app,omitempty"`

	// Postgres configures the tenant's PostgreSQL cluster.
	// +kubebuilder:default={}
	// +optional
	Postgres TenantPostgresSpec `json:"postgres,omitempty"`

	// Security configures the app's security measures.
	// +kubebuilder:default={}
	// +optional
	Security SecuritySpec `json:"security,omitempty"`

	// Owner is the first owner account of the booking app. When set, the operator runs
	// `slotbook admin create-owner --email <email>` (with `--business-name <displayName>` when
	// displayName is set) once in a Job in the tenant namespace; the Job's log holds a one-time
	// setup link (see status.ownerSetup).
	// +optional
	Owner *OwnerSpec `json:"owner,omitempty"`

	// Restore starts the tenant from another tenant's backups instead of an empty database:
	// point-in-time recovery into this tenant's new PostgreSQL cluster. It can only be set when
	// the Tenant is created, and never changed.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="restore cannot be changed: it only says how the tenant's database was created"
	// +optional
	Restore *RestoreSpec `json:"restore,omitempty"`

	// Suspend scales the app to zero and hibernates the database. Data is kept.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// DeletionPolicy says what deleting the Tenant does to its namespace and data.
	// +kubebuilder:default=Retain
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`
}

// RestoreSpec names the backups a new tenant starts from.
type RestoreSpec struct {
	// FromTenant is the tenant whose backups are restored: the base backups and WAL archived
	// under the class's backup destination, <destinationPath>/<fromTenant>. That tenant may
	// still exist (e.g. to check a restore under another host) or be deleted (its backups stay
	// until their retention ends). If it still exists, its session key is copied too, so that
	// the restored accounts' TOTP secrets and the sealed manage links keep working.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="restore.fromTenant must be a Tenant name (a DNS label)"
	FromTenant string `json:"fromTenant"`

	// TargetTime restores the state as of this time (RFC 3339, e.g. 2026-11-27T09:30:00Z);
	// unset: the latest state in the archived WAL.
	// +optional
	TargetTime *metav1.Time `json:"targetTime,omitempty"`
}

// TenantAppSpec configures the booking app.
type TenantAppSpec struct {
	// Replicas of the booking app.
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=20
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// Image overrides the class's booking app image.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Image string `json:"image,omitempty"`

	// Resources of the booking app container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`
}

// TenantPostgresSpec configures the tenant's PostgreSQL cluster.
type TenantPostgresSpec struct {
	// Instances is the number of PostgreSQL instances (one primary, the rest replicas).
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=9
	// +optional
	Instances int32 `json:"instances,omitempty"`

	// Storage of each instance.
	// +kubebuilder:default={}
	// +optional
	Storage StorageSpec `json:"storage,omitempty"`

	// Backup configures scheduled backups.
	// +kubebuilder:default={}
	// +optional
	Backup TenantBackupSpec `json:"backup,omitempty"`

	// Resources of each PostgreSQL instance's container. When unset: requests 250m CPU and
	// 512Mi memory, limit 1Gi memory. Changing them restarts the instances one by one
	// (replicas first, then a switchover).
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`
}

// StorageSpec is the size of each database volume.
type StorageSpec struct {
	// Size of each instance's volume, e.g. 5Gi. It may grow but never shrink.
	// +kubebuilder:default="5Gi"
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:XValidation:rule="isQuantity(self) && quantity(self).compareTo(quantity('1Gi')) >= 0",message="postgres.storage.size must be a quantity of at least 1Gi, such as 5Gi"
	// +kubebuilder:validation:XValidation:rule="!isQuantity(self) || !isQuantity(oldSelf) || quantity(self).compareTo(quantity(oldSelf)) >= 0",message="postgres.storage.size may grow but never shrink"
	// +optional
	Size string `json:"size,omitempty"`
}

// TenantBackupSpec configures scheduled backups.
type TenantBackupSpec struct {
	// Schedule is a 6-field cron expression with seconds, as CloudNativePG expects
	// (seconds minutes hours day-of-month month day-of-week).
	// +kubebuilder:default="0 0 2 * * *"
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:rule="self.matches('^\\\\S+( \\\\S+){5}$')",message="postgres.backup.schedule must have 6 space-separated fields with seconds first, e.g. '0 0 2 * * *'"
	// +optional
	Schedule string `json:"schedule,omitempty"`

	// Retention of backups and WAL in the object store: a number and d, w or m (days, weeks, months).
	// +kubebuilder:default="30d"
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:XValidation:rule="self.matches('^[1-9][0-9]*[dwm]$')",message="postgres.backup.retention must be a number followed by d, w or m, e.g. 30d"
	// +optional
	Retention string `json:"retention,omitempty"`

	// RestoreTest schedules automatic restore tests: the operator restores the latest backup
	// into a throw-away PostgreSQL cluster in the tenant namespace, records whether it came up
	// (status.restoreTest), and removes it. Default: weekly, Sundays at 04:00.
	// +optional
	RestoreTest *RestoreTestSpec `json:"restoreTest,omitempty"`
}

// RestoreTestSpec schedules a tenant's restore tests.
type RestoreTestSpec struct {
	// Schedule is a 6-field cron expression with seconds, like backup.schedule.
	// +kubebuilder:default="0 0 4 * * 0"
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:rule="self.matches('^\\\\S+( \\\\S+){5}$')",message="postgres.backup.restoreTest.schedule must have 6 space-separated fields with seconds first, e.g. '0 0 4 * * 0'"
	// +optional
	Schedule string `json:"schedule,omitempty"`

	// Suspend turns the restore tests off.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// SecuritySpec configures the app's security measures (GDPR Art. 32 TOM 3.4).
type SecuritySpec struct {
	// MFA says whether users must enrol a TOTP second factor.
	// +kubebuilder:default=Optional
	// +optional
	MFA MFAMode `json:"mfa,omitempty"`

	// SessionIdleTimeout ends sessions after this much inactivity (1m to 24h).
	// +kubebuilder:default="15m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=20
	// +kubebuilder:validation:XValidation:rule="self.matches('^([0-9]{1,5}(\\\\.[0-9]+)?(h|m|s))+$') && duration(self) >= duration('1m') && duration(self) <= duration('24h')",message="security.sessionIdleTimeout must be a duration between 1m and 24h, e.g. 15m"
	// +optional
	SessionIdleTimeout string `json:"sessionIdleTimeout,omitempty"`

	// PasswordMinLength is the minimum password length users must choose (at least 8).
	// +kubebuilder:default=12
	// +kubebuilder:validation:Minimum=8
	// +kubebuilder:validation:Maximum=128
	// +optional
	PasswordMinLength int32 `json:"passwordMinLength,omitempty"`
}

// OwnerSpec names the tenant's first owner.
type OwnerSpec struct {
	// Email of the first owner, who gets the setup link. Changing it runs the setup again for the
	// new address (the old account is not removed).
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:XValidation:rule="self.matches('^[A-Za-z0-9.!#$%&\\'*+/=?^_{|}~-]+@[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\\\\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)+$')",message="owner.email must be an e-mail address such as owner@example.com (no name, spaces or angle brackets)"
	Email string `json:"email"`
}

// OwnerSetupState is the state of the owner setup Job.
// +kubebuilder:validation:Enum=WaitingForDatabase;Pending;Running;Succeeded;Failed
type OwnerSetupState string

const (
	// OwnerSetupWaitingForDatabase: the Job is created once the database is ready.
	OwnerSetupWaitingForDatabase OwnerSetupState = "WaitingForDatabase"
	OwnerSetupPending            OwnerSetupState = "Pending"
	OwnerSetupRunning            OwnerSetupState = "Running"
	OwnerSetupSucceeded          OwnerSetupState = "Succeeded"
	OwnerSetupFailed             OwnerSetupState = "Failed"
)

// OwnerSetupStatus is the state of the Job that creates the first owner (spec.owner).
type OwnerSetupStatus struct {
	// JobName is the Job in the tenant namespace that runs `slotbook admin create-owner`.
	JobName string `json:"jobName"`
	// State of the Job.
	State OwnerSetupState `json:"state"`
	// Message says what to do next, e.g. how to get the setup link.
	// +optional
	Message string `json:"message,omitempty"`
}

// SMTPStatus is the mail server a tenant's app is configured with (never its credentials).
type SMTPStatus struct {
	// Server is host:port.
	Server string `json:"server"`
	// TLS is how the connection is encrypted: StartTLS or Implicit.
	TLS SMTPTLSMode `json:"tls"`
	// From is the sender address of the tenant's mail.
	From string `json:"from"`
}

// Condition types of a Tenant. Ready, Reconciling and Stalled follow kstatus, so kubectl wait,
// Argo CD and Flux understand a Tenant's health.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"

	ConditionNamespaceReady   = "NamespaceReady"
	ConditionDatabaseReady    = "DatabaseReady"
	ConditionBackupsHealthy   = "BackupsHealthy"
	ConditionCertificateReady = "CertificateReady"
	ConditionAppReady         = "AppReady"
)

// TenantStatus is what the operator observed of a tenant's instance.
type TenantStatus struct {
	// ObservedGeneration is the generation the conditions describe. The API server defaults it
	// (and status) to 0 on a new Tenant, so kstatus (Flux, kubectl wait-like tools) sees a Tenant
	// the operator has not reconciled yet as InProgress rather than Current.
	// +optional
	// +kubebuilder:default=0
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling, Stalled and one per part of the instance.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Namespace the tenant's objects live in.
	// +optional
	Namespace string `json:"namespace,omitempty"`

	// URL of the booking site.
	// +optional
	URL string `json:"url,omitempty"`

	// ClassName is the TenantClass the tenant was provisioned with (resolved when spec.className is empty).
	// +optional
	ClassName string `json:"className,omitempty"`

	// Security are the security settings the app runs with (defaults filled in), as the operator
	// last rolled them out to the app's pods.
	// +optional
	Security *SecuritySpec `json:"security,omitempty"`

	// SMTP is the mail server the app sends through, from the class's spec.smtp (defaults filled
	// in, no credentials), as the operator last rolled it out to the app's pods. Absent when the
	// class configures no mail server: the app then sends no e-mail.
	// +optional
	SMTP *SMTPStatus `json:"smtp,omitempty"`

	// OwnerSetup is the state of the owner setup Job, present while spec.owner is set. Its log
	// (kubectl -n <namespace> logs job/<jobName>) holds the one-time setup link.
	// +optional
	OwnerSetup *OwnerSetupStatus `json:"ownerSetup,omitempty"`

	// LastSuccessfulBackup is when the last backup completed, as reported by CloudNativePG.
	// +optional
	LastSuccessfulBackup *metav1.Time `json:"lastSuccessfulBackup,omitempty"`

	// RestoreTest is the state of the latest automatic restore test (spec.postgres.backup.restoreTest).
	// +optional
	RestoreTest *RestoreTestStatus `json:"restoreTest,omitempty"`

	// Versions is what the tenant runs, as observed, for fleet upgrades: each image is reported
	// once all of the tenant's pods of that part run it, so during a rollout it still names the
	// old one.
	// +optional
	Versions *TenantVersions `json:"versions,omitempty"`
}

// Phases of a restore test.
const (
	RestoreTestRunning   = "Running"
	RestoreTestSucceeded = "Succeeded"
	RestoreTestFailed    = "Failed"
)

// RestoreTestStatus is the state of a tenant's latest restore test.
type RestoreTestStatus struct {
	// Phase is Running, Succeeded or Failed.
	Phase string `json:"phase"`
	// StartedAt is when the latest test started.
	StartedAt metav1.Time `json:"startedAt"`
	// FinishedAt is when it ended (unset while Running).
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// LastSucceededAt is when a test last succeeded; it stays when a later one fails.
	// +optional
	LastSucceededAt *metav1.Time `json:"lastSucceededAt,omitempty"`
	// Message says what happened, for people.
	// +optional
	Message string `json:"message,omitempty"`
}

// TenantVersions are the images a tenant runs.
type TenantVersions struct {
	// App is the booking app's image.
	// +optional
	App string `json:"app,omitempty"`
	// Postgres is the PostgreSQL image of the tenant's database cluster.
	// +optional
	Postgres string `json:"postgres,omitempty"`
}

// Tenant is one customer's isolated booking instance: a namespace with its own database,
// certificate, network policies and booking app.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=tn
// +kubebuilder:validation:XValidation:rule="!has(self.spec.restore) || self.spec.restore.fromTenant != self.metadata.name",message="spec.restore.fromTenant must name another tenant: a tenant's own backup path must start empty"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 40",message="metadata.name must be at most 40 characters long: the tenant's namespace is tenant-<name>"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit (no dots)"
// +kubebuilder:printcolumn:name="Host",type=string,JSONPath=`.spec.host`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Backups",type=string,JSONPath=`.status.conditions[?(@.type=="BackupsHealthy")].status`
// +kubebuilder:printcolumn:name="Last Backup",type=date,JSONPath=`.status.lastSuccessfulBackup`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="App",type=string,JSONPath=`.status.versions.app`,priority=1
// +kubebuilder:printcolumn:name="Postgres",type=string,JSONPath=`.status.versions.postgres`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Tenant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec TenantSpec `json:"spec"`

	// Status is what the operator observed: {observedGeneration: 0} until it first reconciles the
	// Tenant (the API server's default, so GitOps tools wait for it).
	// +kubebuilder:default={}
	Status TenantStatus `json:"status,omitempty"`
}

// NamespaceName is the namespace a tenant's objects live in.
func (t *Tenant) NamespaceName() string { return TenantNamespace(t.Name) }

// TenantNamespace is the namespace of the tenant named name: tenant-<name>.
func TenantNamespace(name string) string { return "tenant-" + name }

// TenantList is a list of Tenants.
// +kubebuilder:object:root=true
type TenantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Tenant `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Tenant{}, &TenantList{})
}
