package resources

import (
	cmv1 "github.com/cert-manager/cert-manager/pkg/apis/certmanager/v1"
	cmmeta "github.com/cert-manager/cert-manager/pkg/apis/meta/v1"
)

// Certificate is the TLS certificate of the tenant's public host, issued by the class's issuer.
// It is an explicit Certificate (not the ingress-shim annotation) so its readiness shows in the
// Tenant's status, and the private key is rotated on every renewal.
func Certificate(in Inputs) *cmv1.Certificate {
	ref := in.Class.Spec.TLS.IssuerRef
	kind, group := ref.Kind, ref.Group
	if kind == "" {
		kind = cmv1.ClusterIssuerKind
	}
	if group == "" {
		group = "cert-manager.io"
	}
	return &cmv1.Certificate{
		TypeMeta:   typeMeta(cmv1.SchemeGroupVersion.String(), cmv1.CertificateKind),
		ObjectMeta: objectMeta(in, CertificateName, nil),
		Spec: cmv1.CertificateSpec{
			SecretName: TLSSecretName,
			DNSNames:   []string{in.Tenant.Spec.Host},
			IssuerRef:  cmmeta.IssuerReference{Name: ref.Name, Kind: kind, Group: group},
			PrivateKey: &cmv1.CertificatePrivateKey{
				RotationPolicy: cmv1.RotationPolicyAlways,
				Algorithm:      cmv1.ECDSAKeyAlgorithm,
				Size:           256,
			},
			SecretTemplate: &cmv1.CertificateSecretTemplate{Labels: tenantLabels(in)},
		},
	}
}
