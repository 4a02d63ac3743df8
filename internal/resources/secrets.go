package resources

import (
	"fmt"
	"net/url"
	"path"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// SessionSecret holds the app's session signing key.
func SessionSecret(in Inputs) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: objectMeta(in, SessionSecretName, nil),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"key": []byte(in.SessionKey)},
	}
}

// DatabaseSecret holds the database owner's credentials. CloudNativePG creates the `booking`
// role from it (basic-auth keys), and the app reads `url`, which carries the libpq TLS settings
// (verify-full against the cluster's CA), so the app never talks to Postgres in plain text.
func DatabaseSecret(in Inputs) *corev1.Secret {
	return &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: objectMeta(in, DatabaseSecretName, map[string]string{"cnpg.io/reload": "true"}),
		Type:       corev1.SecretTypeBasicAuth,
		Data: map[string][]byte{
			corev1.BasicAuthUsernameKey: []byte(DatabaseOwner),
			corev1.BasicAuthPasswordKey: []byte(in.DatabasePassword),
			"url":                       []byte(DatabaseURL(in)),
		},
	}
}

// DatabaseURL is the app's connection URL: the cluster's read-write service, TLS verify-full.
func DatabaseURL(in Inputs) string {
	u := url.URL{
		Scheme: "postgresql",
		User:   url.UserPassword(DatabaseOwner, in.DatabasePassword),
		Host:   fmt.Sprintf("%s-rw.%s.svc:%d", PostgresClusterName, in.Tenant.NamespaceName(), PostgresPort),
		Path:   "/" + DatabaseName,
		RawQuery: url.Values{
			"sslmode":     {"verify-full"},
			"sslrootcert": {path.Join(postgresCAMountPath, "ca.crt")},
		}.Encode(),
	}
	return u.String()
}

// BackupCredentialsSecret is the copy of the class's object store credentials in the tenant
// namespace, where the Barman Cloud plugin can read it.
func BackupCredentialsSecret(in Inputs) *corev1.Secret {
	return copiedSecret(in, BackupCredentialsSecretName, in.BackupCredentials)
}

// BackupEndpointCASecret is the copy of the class's object store CA, or nil if it names none.
func BackupEndpointCASecret(in Inputs) *corev1.Secret {
	if in.Class.Spec.Backup.EndpointCASecretRef == nil {
		return nil
	}
	return copiedSecret(in, BackupEndpointCASecretName, in.BackupEndpointCA)
}

// Keys of the SMTP credentials Secret, in the class's namespace and in the tenant's.
const (
	SMTPUsernameKey = "username"
	SMTPPasswordKey = "password"
)

// SMTPCredentialsSecret is the copy of the class's SMTP login in the tenant namespace, which the
// app reads through secretKeyRefs; nil when the class configures no mail server. Only the two
// keys the app uses are copied.
func SMTPCredentialsSecret(in Inputs) *corev1.Secret {
	if in.Class.Spec.SMTP == nil {
		return nil
	}
	return copiedSecret(in, SMTPCredentialsSecretName, in.SMTPCredentials, SMTPUsernameKey, SMTPPasswordKey)
}

// copiedSecret is the tenant namespace's copy of a Secret the class names: all its keys, or only
// the given ones.
func copiedSecret(in Inputs, name string, data map[string][]byte, onlyKeys ...string) *corev1.Secret {
	copied := make(map[string][]byte, len(data))
	for k, v := range data {
		if len(onlyKeys) > 0 && !slices.Contains(onlyKeys, k) {
			continue
		}
		copied[k] = append([]byte(nil), v...)
	}
	return &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: objectMeta(in, name, nil),
		Type:       corev1.SecretTypeOpaque,
		Data:       copied,
	}
}
