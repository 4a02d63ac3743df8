package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// appUID is the unprivileged user the app runs as (the "nonroot" user of distroless-style images).
const appUID = 65532

// AppServiceAccount is the app's identity. The app never talks to the Kubernetes API, so no
// token is mounted.
func AppServiceAccount(in Inputs) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		TypeMeta:                     typeMeta("v1", "ServiceAccount"),
		ObjectMeta:                   objectMeta(in, AppName, appSelectorLabels(in)),
		AutomountServiceAccountToken: ptr.To(false),
	}
}

// AppReplicas is the number of app pods: zero while the tenant is suspended.
func AppReplicas(t *slotbookv1alpha1.Tenant) int32 {
	switch {
	case t.Spec.Suspend:
		return 0
	case t.Spec.App.Replicas == 0:
		return 2
	default:
		return t.Spec.App.Replicas
	}
}

// EffectiveSecurity is the tenant's security settings with defaults filled in: what the app runs
// with, and what the Tenant's status reports.
func EffectiveSecurity(t *slotbookv1alpha1.Tenant) slotbookv1alpha1.SecuritySpec {
	sec := t.Spec.Security
	if sec.MFA == "" {
		sec.MFA = slotbookv1alpha1.MFAOptional
	}
	if sec.SessionIdleTimeout == "" {
		sec.SessionIdleTimeout = "15m"
	}
	if sec.PasswordMinLength == 0 {
		sec.PasswordMinLength = 12
	}
	return sec
}

// EffectiveSMTP is the class's mail server with defaults filled in (port 587, StartTLS), or nil
// when the class configures none: what the app runs with, and what the Tenant's status reports.
func EffectiveSMTP(class *slotbookv1alpha1.TenantClass) *slotbookv1alpha1.SMTPSpec {
	if class.Spec.SMTP == nil {
		return nil
	}
	smtp := class.Spec.SMTP.DeepCopy()
	if smtp.Port == 0 {
		smtp.Port = 587
	}
	if smtp.TLS == "" {
		smtp.TLS = slotbookv1alpha1.SMTPStartTLS
	}
	return smtp
}

// SMTPServer is host:port of a mail server (an IPv6 host in brackets).
func SMTPServer(smtp *slotbookv1alpha1.SMTPSpec) string {
	return net.JoinHostPort(smtp.Host, strconv.Itoa(int(smtp.Port)))
}

// smtpTLSEnv is SLOTBOOK_SMTP_TLS's value for a TLS mode.
var smtpTLSEnv = map[slotbookv1alpha1.SMTPTLSMode]string{
	slotbookv1alpha1.SMTPStartTLS:    "starttls",
	slotbookv1alpha1.SMTPImplicitTLS: "implicit",
}

// AppEnv is the app's configuration contract: exactly these variables, in this order
// (SLOTBOOK_TRUSTED_PROXIES only when the class lists ingress.proxyCIDRs, the SLOTBOOK_SMTP_*
// variables only when the class sets smtp). Every container running the app image (the
// Deployment's and the owner setup Job's) gets it through appContainer.
func AppEnv(in Inputs) []corev1.EnvVar {
	sec := EffectiveSecurity(in.Tenant)
	timeZone := in.Tenant.Spec.TimeZone
	if timeZone == "" {
		timeZone = defaultTimeZone
	}
	env := []corev1.EnvVar{
		{Name: "SLOTBOOK_DATABASE_URL", ValueFrom: secretKey(DatabaseSecretName, "url")},
		{Name: "SLOTBOOK_BASE_URL", Value: "https://" + in.Tenant.Spec.Host},
		{Name: "SLOTBOOK_SESSION_KEY", ValueFrom: secretKey(SessionSecretName, "key")},
		{Name: "SLOTBOOK_MFA", Value: string(sec.MFA)},
		{Name: "SLOTBOOK_SESSION_IDLE_TIMEOUT", Value: sec.SessionIdleTimeout},
		{Name: "SLOTBOOK_PASSWORD_MIN_LENGTH", Value: strconv.Itoa(int(sec.PasswordMinLength))},
		{Name: "SLOTBOOK_TIMEZONE", Value: timeZone},
		{Name: "SLOTBOOK_LISTEN_ADDR", Value: fmt.Sprintf(":%d", AppHTTPPort)},
		{Name: "SLOTBOOK_METRICS_ADDR", Value: fmt.Sprintf(":%d", AppMetricsPort)},
	}
	if proxies := in.Class.Spec.Ingress.ProxyCIDRs; len(proxies) > 0 {
		env = append(env, corev1.EnvVar{Name: "SLOTBOOK_TRUSTED_PROXIES", Value: strings.Join(proxies, ",")})
	}
	if smtp := EffectiveSMTP(in.Class); smtp != nil {
		env = append(env,
			corev1.EnvVar{Name: "SLOTBOOK_SMTP_HOST", Value: smtp.Host},
			corev1.EnvVar{Name: "SLOTBOOK_SMTP_PORT", Value: strconv.Itoa(int(smtp.Port))},
			corev1.EnvVar{Name: "SLOTBOOK_SMTP_FROM", Value: smtp.From},
			corev1.EnvVar{Name: "SLOTBOOK_SMTP_USERNAME", ValueFrom: secretKey(SMTPCredentialsSecretName, SMTPUsernameKey)},
			corev1.EnvVar{Name: "SLOTBOOK_SMTP_PASSWORD", ValueFrom: secretKey(SMTPCredentialsSecretName, SMTPPasswordKey)},
			corev1.EnvVar{Name: "SLOTBOOK_SMTP_TLS", Value: smtpTLSEnv[smtp.TLS]},
		)
	}
	return env
}

func secretKey(name, key string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: key,
	}}
}

// ConfigChecksum changes whenever anything the app reads at start changes (its environment and
// the secrets behind it), so that a change rolls the pods.
func ConfigChecksum(in Inputs) string {
	h := sha256.New()
	for _, e := range AppEnv(in) {
		fmt.Fprintf(h, "%s=%s\n", e.Name, e.Value)
	}
	fmt.Fprintf(h, "session=%s\ndatabase=%s\n", in.SessionKey, DatabaseURL(in))
	// Only with a mail server, so that classes without one keep their checksum (no roll).
	if in.Class.Spec.SMTP != nil {
		fmt.Fprintf(h, "smtp-username=%q\nsmtp-password=%q\n", in.SMTPCredentials[SMTPUsernameKey], in.SMTPCredentials[SMTPPasswordKey])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func appImage(in Inputs) string {
	if in.Tenant.Spec.App.Image != "" {
		return in.Tenant.Spec.App.Image
	}
	return in.Class.Spec.App.Image
}

func appResources(in Inputs) corev1.ResourceRequirements {
	r := in.Tenant.Spec.App.Resources
	if len(r.Requests) == 0 && len(r.Limits) == 0 {
		return corev1.ResourceRequirements{
			Requests: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("100m"),
				corev1.ResourceMemory: resource.MustParse("128Mi"),
			},
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
		}
	}
	return *r.DeepCopy()
}

// AppDeployment runs the booking app under the "restricted" Pod Security Standard.
func AppDeployment(in Inputs) *appsv1.Deployment {
	selector := appSelectorLabels(in)
	probe := func(path string, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: path, Port: intstr.FromString("http"),
			}},
			PeriodSeconds:    10,
			TimeoutSeconds:   3,
			FailureThreshold: failures,
		}
	}
	spread := func(key string) corev1.TopologySpreadConstraint {
		return corev1.TopologySpreadConstraint{
			MaxSkew:           1,
			TopologyKey:       key,
			WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:     &metav1.LabelSelector{MatchLabels: selector},
		}
	}
	return &appsv1.Deployment{
		TypeMeta:   typeMeta("apps/v1", "Deployment"),
		ObjectMeta: objectMeta(in, AppName, merge(selector, map[string]string{appComponentLabel: "app"})),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(AppReplicas(in.Tenant)),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      merge(selector, tenantLabels(Inputs{Tenant: in.Tenant})),
					Annotations: map[string]string{ConfigChecksumAnnotation: ConfigChecksum(in)},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName:           AppName,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              appPodSecurityContext(),
					NodeSelector:                 maps.Clone(in.Class.Spec.Placement.NodeSelector),
					Tolerations:                  cloneTolerations(in.Class.Spec.Placement.Tolerations),
					TopologySpreadConstraints:    []corev1.TopologySpreadConstraint{spread(corev1.LabelHostname), spread(corev1.LabelTopologyZone)},
					Containers:                   []corev1.Container{appServeContainer(in, probe)},
					Volumes:                      appVolumes(),
				},
			},
		},
	}
}

// appContainer runs the app image with args: the one definition of the app's environment,
// volume mounts, resources and restricted security context, shared by the Deployment and the
// owner setup Job so that `slotbook admin ...` sees exactly what `slotbook serve` sees.
func appContainer(in Inputs, args ...string) corev1.Container {
	pullPolicy := in.Class.Spec.App.ImagePullPolicy
	if pullPolicy == "" {
		pullPolicy = corev1.PullIfNotPresent
	}
	return corev1.Container{
		Name:            AppName,
		Image:           appImage(in),
		ImagePullPolicy: pullPolicy,
		Args:            args,
		Env:             AppEnv(in),
		Resources:       appResources(in),
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr.To(true),
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Privileged:               ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "postgres-ca", MountPath: postgresCAMountPath, ReadOnly: true},
			{Name: "tmp", MountPath: "/tmp"},
		},
	}
}

// appServeContainer is the Deployment's container: appContainer serving, with ports and probes.
func appServeContainer(in Inputs, probe func(path string, failures int32) *corev1.Probe) corev1.Container {
	c := appContainer(in, "serve")
	c.Ports = []corev1.ContainerPort{
		{Name: "http", ContainerPort: AppHTTPPort, Protocol: corev1.ProtocolTCP},
		{Name: "metrics", ContainerPort: AppMetricsPort, Protocol: corev1.ProtocolTCP},
	}
	c.StartupProbe = probe("/healthz", 30)
	c.LivenessProbe = probe("/healthz", 3)
	c.ReadinessProbe = probe("/readyz", 3)
	return c
}

// appVolumes back appContainer's mounts.
func appVolumes() []corev1.Volume {
	return []corev1.Volume{
		// Only the CA certificate: CloudNativePG's CA Secret also holds the CA's key.
		{Name: "postgres-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: PostgresCASecretName,
			Items:      []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
		}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
			SizeLimit: ptr.To(resource.MustParse("64Mi")),
		}}},
	}
}

// appPodSecurityContext runs app pods as the unprivileged app user ("restricted" Pod Security).
func appPodSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](appUID),
		RunAsGroup:     ptr.To[int64](appUID),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// AppService exposes the app inside the namespace (to the ingress controller and scrapers).
func AppService(in Inputs) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   typeMeta("v1", "Service"),
		ObjectMeta: objectMeta(in, AppName, appSelectorLabels(in)),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: appSelectorLabels(in),
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "metrics", Port: AppMetricsPort, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP},
			},
		},
	}
}

// AppIngress publishes the booking site on the tenant's host with the Certificate's TLS secret.
func AppIngress(in Inputs) *networkingv1.Ingress {
	host := in.Tenant.Spec.Host
	return &networkingv1.Ingress{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "Ingress"),
		ObjectMeta: objectMeta(in, AppName, appSelectorLabels(in)),
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To(in.Class.Spec.Ingress.ClassName),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{host}, SecretName: TLSSecretName}},
			Rules: []networkingv1.IngressRule{{
				Host: host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: ptr.To(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: AppName, Port: networkingv1.ServiceBackendPort{Name: "http"},
						}},
					}},
				}},
			}},
		},
	}
}

// AppPodDisruptionBudget keeps one app pod up during voluntary disruptions. With a single replica
// (or none, when suspended) a PDB would block node drains, so there is none.
func AppPodDisruptionBudget(in Inputs) *policyv1.PodDisruptionBudget {
	if AppReplicas(in.Tenant) <= 1 {
		return nil
	}
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   typeMeta("policy/v1", "PodDisruptionBudget"),
		ObjectMeta: objectMeta(in, AppName, appSelectorLabels(in)),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: ptr.To(intstr.FromInt32(1)),
			Selector:     &metav1.LabelSelector{MatchLabels: appSelectorLabels(in)},
		},
	}
}

func cloneTolerations(ts []corev1.Toleration) []corev1.Toleration {
	if ts == nil {
		return nil
	}
	out := make([]corev1.Toleration, len(ts))
	for i := range ts {
		ts[i].DeepCopyInto(&out[i])
	}
	return out
}
