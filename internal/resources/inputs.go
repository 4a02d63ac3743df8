// Package resources builds the desired Kubernetes objects of one tenant from its Tenant, its
// TenantClass and a few facts the controller looked up. Every function here is pure: the same
// inputs give the same objects, so the controller can apply them again and again (server-side
// apply) and golden files can pin what a tenant gets.
package resources

import (
	"fmt"
	"net/netip"

	discoveryv1 "k8s.io/api/discovery/v1"

	slotbookv1alpha1 "github.com/slotbook/slotbook/api/v1alpha1"
)

// Endpoint is an address and port the tenant's pods may need to reach, e.g. the kube-apiserver.
type Endpoint struct {
	Addr netip.Addr
	Port int32
}

// Inputs are everything a tenant's desired objects depend on. The controller gathers them; the
// builders only read them.
type Inputs struct {
	Tenant *slotbookv1alpha1.Tenant
	Class  *slotbookv1alpha1.TenantClass

	// SessionKey is the app's session signing key: generated once by the controller and read back
	// from the Secret on every later reconcile, so it is stable.
	SessionKey string
	// DatabasePassword is the password of the database owner `booking`, generated once like SessionKey.
	DatabasePassword string
	// BackupCredentials is the data of the class's object store credentials Secret.
	BackupCredentials map[string][]byte
	// BackupEndpointCA is the data of the class's object store CA Secret, if the class names one.
	BackupEndpointCA map[string][]byte
	// SMTPCredentials is the data of the class's SMTP credentials Secret (keys username and
	// password), if the class configures a mail server.
	SMTPCredentials map[string][]byte
	// APIServerEndpoints are the kube-apiserver addresses (from the `kubernetes` EndpointSlices),
	// which the database pods must reach.
	APIServerEndpoints []Endpoint
	// PodMonitorAvailable says the cluster serves prometheus-operator's PodMonitor kind, so a
	// class that enables monitoring gets the app's PodMonitor.
	PodMonitorAvailable bool
	// Released asks for the objects as they are left behind by a deleted Tenant with
	// deletionPolicy Retain: no owner references, labelled as retained.
	Released bool
}

func (in Inputs) validate() error {
	switch {
	case in.Tenant == nil:
		return fmt.Errorf("no tenant")
	case in.Class == nil:
		return fmt.Errorf("no tenant class")
	case in.SessionKey == "":
		return fmt.Errorf("no session key")
	case in.DatabasePassword == "":
		return fmt.Errorf("no database password")
	case in.Class.Spec.SMTP != nil && (len(in.SMTPCredentials[SMTPUsernameKey]) == 0 || len(in.SMTPCredentials[SMTPPasswordKey]) == 0):
		return fmt.Errorf("no SMTP credentials (keys %s and %s)", SMTPUsernameKey, SMTPPasswordKey)
	}
	return nil
}

// EndpointsFromSlices lists the addresses and ports of EndpointSlices (e.g. the kube-apiserver's
// `kubernetes` slices), skipping addresses that are not IPs.
func EndpointsFromSlices(slices []discoveryv1.EndpointSlice) []Endpoint {
	var endpoints []Endpoint
	for _, s := range slices {
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				addr, err := netip.ParseAddr(a)
				if err != nil {
					continue
				}
				for _, p := range s.Ports {
					if p.Port != nil {
						endpoints = append(endpoints, Endpoint{Addr: addr, Port: *p.Port})
					}
				}
			}
		}
	}
	return endpoints
}
