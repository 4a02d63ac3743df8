package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DefaultClassAnnotation marks the TenantClass used by Tenants that name no class, as
// ingressclass.kubernetes.io/is-default-class does for IngressClass.
const DefaultClassAnnotation = "slotbook.io/is-default-class"

// TenantClassSpec holds the platform defaults every Tenant of this class is provisioned with:
// where traffic comes from, who issues certificates, where backups go and on which nodes data lives.
type TenantClassSpec struct {
	// Ingress says how tenants' booking sites are exposed.
	Ingress IngressSpec `json:"ingress"`

	// TLS says who issues the certificates for tenants' hosts.
	TLS TLSSpec `json:"tls"`

	// Backup says where tenants' databases are backed up to.
	Backup BackupSpec `json:"backup"`

	// App holds defaults for the booking app.
	App ClassAppSpec `json:"app"`

	// Postgres holds defaults for tenants' PostgreSQL clusters.
	// +optional
	Postgres ClassPostgresSpec `json:"postgres,omitempty"`

	// Placement constrains the nodes tenants' pods run on, e.g. to keep data in the EU.
	// +optional
	Placement PlacementSpec `json:"placement,omitempty"`

	// Quota is the ResourceQuota `hard` list applied to every tenant namespace.
	// When empty, a built-in quota sized for one booking instance is used.
	// +optional
	Quota corev1.ResourceList `json:"quota,omitempty"`

	// Limits are the per-container defaults of the LimitRange in every tenant namespace.
	// +optional
	Limits LimitsSpec `json:"limits,omitempty"`

	// Monitoring says which namespaces may scrape tenants' metrics ports.
	// +optional
	Monitoring MonitoringSpec `json:"monitoring,omitempty"`

	// SMTP is the mail server tenants' booking apps send e-mail through (confirmations,
	// reminders, account links). When unset the apps get no mail settings and may not open
	// connections to any mail server.
	// +kubebuilder:validation:XValidation:rule="!isIP(self.host) || self.egressCIDRs.exists(c, isCIDR(c) && cidr(c).containsIP(self.host))",message="smtp.egressCIDRs must include smtp.host when the host is an IP address, or the apps could not reach it"
	// +optional
	SMTP *SMTPSpec `json:"smtp,omitempty"`
}

// SMTPTLSMode says how the connection to the mail server is encrypted. There is no plain-text mode.
// +kubebuilder:validation:Enum=StartTLS;Implicit
type SMTPTLSMode string

const (
	// SMTPStartTLS connects in plain text and upgrades with STARTTLS before anything else is sent
	// (submission, usually port 587); a server that does not offer STARTTLS is refused.
	SMTPStartTLS SMTPTLSMode = "StartTLS"
	// SMTPImplicitTLS speaks TLS from the first byte (SMTPS, usually port 465).
	SMTPImplicitTLS SMTPTLSMode = "Implicit"
)

// SMTPSpec is the mail server of a class's tenants. The apps always encrypt (STARTTLS or implicit
// TLS) and verify the server's certificate against the system roots.
type SMTPSpec struct {
	// Host is the mail server's DNS name or IP address (no scheme or port). With a name, the
	// addresses it resolves to must lie in egressCIDRs.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="isIP(self) || self.matches('^([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?\\\\.)*[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$')",message="smtp.host must be a DNS name such as smtp.example.com or an IP address (no scheme, port or path)"
	Host string `json:"host"`

	// Port is the mail server's TCP port: 587 (submission with STARTTLS) by default, usually 465
	// with tls: Implicit.
	// +kubebuilder:default=587
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`

	// From is the sender of tenants' mail: an address, optionally with a display name, e.g.
	// noreply@booking.example.com or Slotbook <noreply@booking.example.com>. The display name may
	// hold letters (any script), digits, spaces and . ' & + _ - (no quotes, commas or brackets).
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=320
	// +kubebuilder:validation:XValidation:rule="self.matches('^([\\\\p{L}\\\\p{N}][\\\\p{L}\\\\p{N} .\\'&+_-]{0,63} <)?[A-Za-z0-9.!#$%&\\'*+/=?^_{|}~-]+@[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\\\\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)+>?$') && self.contains('<') == self.endsWith('>')",message="smtp.from must be an e-mail address such as noreply@example.com, optionally with a display name as in Slotbook <noreply@example.com> (letters, digits, spaces and . ' & + _ - only; no quotes or commas)"
	From string `json:"from"`

	// TLS is StartTLS (the default) or Implicit. Plain-text SMTP is not offered.
	// +kubebuilder:default=StartTLS
	// +optional
	TLS SMTPTLSMode `json:"tls,omitempty"`

	// CredentialsSecretRef names the Secret with the SMTP login (keys username and password). Both
	// keys are copied into each tenant namespace (Secret smtp-credentials) and given to the app.
	CredentialsSecretRef SecretReference `json:"credentialsSecretRef"`

	// EgressCIDRs are the mail server's addresses: the apps may open connections to them on Port,
	// and to nothing else outside the cluster.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self)",message="smtp.egressCIDRs entries must be CIDRs such as 192.0.2.25/32 or 192.0.2.0/28"
	// +kubebuilder:validation:items:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="smtp.egressCIDRs entries must not have host bits set: write the network address, e.g. 192.0.2.0/28 rather than 192.0.2.25/28"
	// +kubebuilder:validation:items:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() > 0",message="smtp.egressCIDRs entries must not be /0: list the mail server's addresses, not the whole internet"
	// +listType=set
	EgressCIDRs []string `json:"egressCIDRs"`
}

// IngressSpec says how tenants' booking sites are exposed.
type IngressSpec struct {
	// ClassName is the IngressClass of every tenant's Ingress.
	// +kubebuilder:validation:MinLength=1
	ClassName string `json:"className"`

	// ControllerNamespaceSelector selects the namespace of the ingress controller, which is the only
	// source allowed to reach a tenant's app.
	// +kubebuilder:validation:XValidation:rule="(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",message="ingress.controllerNamespaceSelector must select something: an empty selector matches every namespace"
	ControllerNamespaceSelector metav1.LabelSelector `json:"controllerNamespaceSelector"`

	// ProxyCIDRs are the addresses of the ingress controller pods the app trusts for X-Forwarded-*
	// (and X-Request-Id): only requests from these peers may say which client and which scheme
	// (HTTPS) they came from. The app gets them as SLOTBOOK_TRUSTED_PROXIES. Without them the app
	// cannot tell HTTPS from HTTP behind the ingress, so its HTTP-to-HTTPS redirect and HSTS stay
	// off and rate limits count per ingress pod instead of per client. Keep the ranges narrow (the
	// ingress controller's pod CIDR or addresses): a trusted peer can claim any client address.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self)",message="ingress.proxyCIDRs entries must be CIDRs such as 10.244.0.0/16 or 10.244.1.7/32"
	// +kubebuilder:validation:items:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="ingress.proxyCIDRs entries must not have host bits set: write the network address, e.g. 10.244.0.0/16 rather than 10.244.1.7/16"
	// +kubebuilder:validation:items:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() > 0",message="ingress.proxyCIDRs entries must not be /0: trusting every address would let any client forge its address"
	// +listType=set
	// +optional
	ProxyCIDRs []string `json:"proxyCIDRs,omitempty"`
}

// TLSSpec says who issues the certificates for tenants' hosts.
type TLSSpec struct {
	// IssuerRef is the cert-manager issuer for tenants' Certificates.
	IssuerRef IssuerReference `json:"issuerRef"`
}

// IssuerReference points at a cert-manager Issuer or ClusterIssuer.
type IssuerReference struct {
	// Name of the issuer.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Kind of the issuer. An Issuer must exist in each tenant namespace; a ClusterIssuer serves all.
	// +kubebuilder:validation:Enum=ClusterIssuer;Issuer
	// +kubebuilder:default=ClusterIssuer
	// +optional
	Kind string `json:"kind,omitempty"`

	// Group of the issuer.
	// +kubebuilder:default=cert-manager.io
	// +optional
	Group string `json:"group,omitempty"`
}

// BackupSpec says where tenants' databases are backed up to (through the Barman Cloud plugin).
type BackupSpec struct {
	// DestinationPath is the object store URL backups go to, e.g. s3://bucket/prefix.
	// The tenant name is appended, so every tenant has a path of its own.
	// +kubebuilder:validation:XValidation:rule="self.matches('^(s3|gs|https)://[^/]+(/.*)?$')",message="backup.destinationPath must be an object store URL such as s3://bucket/prefix"
	// +kubebuilder:validation:MaxLength=512
	DestinationPath string `json:"destinationPath"`

	// EndpointURL is the S3 endpoint, for object stores other than AWS S3.
	// +kubebuilder:validation:XValidation:rule="self.matches('^https?://.+')",message="backup.endpointURL must be an http(s) URL"
	// +kubebuilder:validation:MaxLength=512
	// +optional
	EndpointURL string `json:"endpointURL,omitempty"`

	// EndpointCASecretRef names a Secret (key ca.crt) with the CA of the object store's certificate,
	// copied into each tenant namespace like the credentials.
	// +optional
	EndpointCASecretRef *SecretReference `json:"endpointCASecretRef,omitempty"`

	// CredentialsSecretRef names the Secret with the object store credentials (keys
	// ACCESS_KEY_ID and ACCESS_SECRET_KEY). It is copied into each tenant namespace.
	CredentialsSecretRef SecretReference `json:"credentialsSecretRef"`

	// EgressCIDRs are the object store's addresses: Postgres may open connections to them.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:XValidation:rule="isCIDR(self)",message="backup.egressCIDRs entries must be CIDRs such as 10.0.0.0/24"
	// +kubebuilder:validation:items:MaxLength=64
	// +listType=set
	EgressCIDRs []string `json:"egressCIDRs"`

	// EgressPorts are the object store's TCP ports. Defaults to 443 and 9000.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Minimum=1
	// +kubebuilder:validation:items:Maximum=65535
	// +optional
	// +listType=set
	EgressPorts []int32 `json:"egressPorts,omitempty"`
}

// SecretReference names a Secret in a namespace.
type SecretReference struct {
	// Namespace of the Secret, e.g. the operator's namespace slotbook-system.
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// ClassAppSpec holds defaults for the booking app.
type ClassAppSpec struct {
	// Image is the booking app image tenants run unless they override it.
	// +kubebuilder:validation:MinLength=1
	Image string `json:"image"`

	// ImagePullPolicy of the booking app containers.
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +kubebuilder:default=IfNotPresent
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`
}

// ClassPostgresSpec holds defaults for tenants' PostgreSQL clusters.
type ClassPostgresSpec struct {
	// StorageClassName for the database volumes; the cluster default when empty.
	// +optional
	StorageClassName string `json:"storageClassName,omitempty"`

	// ImageName is the PostgreSQL operand image; CloudNativePG's default when empty.
	// +optional
	ImageName string `json:"imageName,omitempty"`

	// OperatorNamespaceSelector selects the namespace of the CloudNativePG operator, which must reach
	// the instances' status port (8000) and PostgreSQL (5432). Defaults to cnpg-system.
	// +kubebuilder:validation:XValidation:rule="(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",message="postgres.operatorNamespaceSelector must select something: an empty selector matches every namespace"
	// +optional
	OperatorNamespaceSelector *metav1.LabelSelector `json:"operatorNamespaceSelector,omitempty"`
}

// PlacementSpec constrains the nodes tenants' pods run on.
type PlacementSpec struct {
	// NodeSelector every tenant pod (app and database) gets.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations every tenant pod (app and database) gets.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
}

// LimitsSpec are the per-container defaults of a tenant namespace's LimitRange.
type LimitsSpec struct {
	// DefaultRequest for containers that set no requests.
	// +optional
	DefaultRequest corev1.ResourceList `json:"defaultRequest,omitempty"`
	// Default limits for containers that set no limits.
	// +optional
	Default corev1.ResourceList `json:"default,omitempty"`
}

// MonitoringSpec says who may scrape tenants' metrics ports.
type MonitoringSpec struct {
	// NamespaceSelector selects the namespaces of the metrics scrapers (e.g. Prometheus): a
	// NetworkPolicy lets them reach the app's (9090) and PostgreSQL's (9187) metrics ports, and,
	// when the cluster serves prometheus-operator's PodMonitor kind, every tenant gets a PodMonitor
	// for its app. When unset no scraping is allowed and there is no PodMonitor.
	// +kubebuilder:validation:XValidation:rule="(has(self.matchLabels) && size(self.matchLabels) > 0) || (has(self.matchExpressions) && size(self.matchExpressions) > 0)",message="monitoring.namespaceSelector must select something: an empty selector matches every namespace"
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
}

// TenantClassStatus is reserved for future use.
type TenantClassStatus struct {
	// ObservedGeneration is the last generation the operator has seen.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// TenantClass holds the platform defaults for Tenants, the way StorageClass does for volumes.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=tc
// +kubebuilder:printcolumn:name="Ingress",type=string,JSONPath=`.spec.ingress.className`
// +kubebuilder:printcolumn:name="Issuer",type=string,JSONPath=`.spec.tls.issuerRef.name`
// +kubebuilder:printcolumn:name="Backups",type=string,JSONPath=`.spec.backup.destinationPath`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TenantClass struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   TenantClassSpec   `json:"spec"`
	Status TenantClassStatus `json:"status,omitempty"`
}

// IsDefault reports whether the class is annotated as the default class.
func (c *TenantClass) IsDefault() bool {
	return c.Annotations[DefaultClassAnnotation] == "true"
}

// TenantClassList is a list of TenantClasses.
// +kubebuilder:object:root=true
type TenantClassList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TenantClass `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TenantClass{}, &TenantClassList{})
}
