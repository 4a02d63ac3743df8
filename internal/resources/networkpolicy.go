package resources

import (
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// Names of the tenant's NetworkPolicies: one default-deny, then one policy per allowed flow, so
// `kubectl get netpol` reads like the list of what may talk to what.
const (
	NetpolDefaultDeny           = "default-deny"
	NetpolAllowDNS              = "allow-dns"
	NetpolIngressToApp          = "allow-ingress-controller-to-app"
	NetpolAppToPostgres         = "allow-app-to-postgres"
	NetpolPostgresFromApp       = "allow-postgres-from-app"
	NetpolPostgresReplication   = "allow-postgres-replication"
	NetpolOperatorToPostgres    = "allow-cnpg-operator-to-postgres"
	NetpolPostgresToAPIServer   = "allow-postgres-to-apiserver"
	NetpolPostgresToObjectStore = "allow-postgres-to-object-store"
	NetpolAppToSMTP             = "allow-smtp"
	NetpolMonitoring            = "allow-monitoring"
	NetpolACMESolver            = "allow-ingress-controller-to-acme-solver"
)

// defaultCNPGOperatorNamespace is where CloudNativePG's manifests install the operator.
const defaultCNPGOperatorNamespace = "cnpg-system"

var (
	ingressAndEgress = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	ingressOnly      = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egressOnly       = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
)

// NetworkPolicies isolate the tenant namespace: everything is denied, then only the flows the
// booking instance needs are allowed.
func NetworkPolicies(in Inputs) []*networkingv1.NetworkPolicy {
	appPods := metav1.LabelSelector{MatchLabels: appSelectorLabels(in)}
	// The database's clients: the app's pods and the owner setup Job's (which must not carry the
	// app's labels, or they would become endpoints of the app Service).
	databaseClients := metav1.LabelSelector{
		MatchLabels: map[string]string{appInstanceLabel: in.Tenant.Name},
		MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: appNameLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{AppName, ownerSetupName},
		}},
	}
	// The tenant's database and, while a restore test runs, its throw-away cluster: both need the
	// API server, the object store and CloudNativePG's status checks.
	postgresPods := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: cnpgClusterLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{PostgresClusterName, RestoreTestClusterName},
	}}}

	policies := []*networkingv1.NetworkPolicy{
		netpol(in, NetpolDefaultDeny, metav1.LabelSelector{}, ingressAndEgress, nil, nil),
		netpol(in, NetpolAllowDNS, metav1.LabelSelector{}, egressOnly, nil, []networkingv1.NetworkPolicyEgressRule{{
			To: []networkingv1.NetworkPolicyPeer{{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: "kube-system"}},
				PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
			}},
			Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolUDP, 53), port(corev1.ProtocolTCP, 53)},
		}}),
		netpol(in, NetpolIngressToApp, *appPods.DeepCopy(), ingressOnly, []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: in.Class.Spec.Ingress.ControllerNamespaceSelector.DeepCopy()}},
			Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, AppHTTPPort)},
		}}, nil),
		// Both ends of app → Postgres: the app (and the owner setup Job) may connect out, Postgres may accept.
		netpol(in, NetpolAppToPostgres, *databaseClients.DeepCopy(), egressOnly, nil, []networkingv1.NetworkPolicyEgressRule{{
			To:    []networkingv1.NetworkPolicyPeer{{PodSelector: postgresPods.DeepCopy()}},
			Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, PostgresPort)},
		}}),
		netpolIngress(in, NetpolPostgresFromApp, *postgresPods.DeepCopy(), []networkingv1.NetworkPolicyPeer{{PodSelector: databaseClients.DeepCopy()}},
			port(corev1.ProtocolTCP, PostgresPort)),
		// Streaming replication and the instance manager's status checks between instances.
		netpol(in, NetpolPostgresReplication, *postgresPods.DeepCopy(), ingressAndEgress, []networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{PodSelector: postgresPods.DeepCopy()}},
			Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, PostgresPort), port(corev1.ProtocolTCP, PostgresStatusPort)},
		}}, []networkingv1.NetworkPolicyEgressRule{{
			To:    []networkingv1.NetworkPolicyPeer{{PodSelector: postgresPods.DeepCopy()}},
			Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, PostgresPort), port(corev1.ProtocolTCP, PostgresStatusPort)},
		}}),
		netpolIngress(in, NetpolOperatorToPostgres, *postgresPods.DeepCopy(),
			[]networkingv1.NetworkPolicyPeer{{NamespaceSelector: cnpgOperatorNamespaceSelector(in)}},
			port(corev1.ProtocolTCP, PostgresStatusPort), port(corev1.ProtocolTCP, PostgresPort)),
	}
	// cert-manager's ACME HTTP-01 solver pods run in the tenant namespace while a certificate is
	// issued from an ACME issuer; the ingress controller must reach them.
	policies = append(policies, netpol(in, NetpolACMESolver,
		metav1.LabelSelector{MatchLabels: map[string]string{"acme.cert-manager.io/http01-solver": "true"}}, ingressOnly,
		[]networkingv1.NetworkPolicyIngressRule{{
			From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: in.Class.Spec.Ingress.ControllerNamespaceSelector.DeepCopy()}},
			Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, 8089)},
		}}, nil))
	if p := postgresToAPIServer(in, postgresPods); p != nil {
		policies = append(policies, p)
	}
	if p := postgresToObjectStore(in, postgresPods); p != nil {
		policies = append(policies, p)
	}
	if p := appToSMTP(in, appPods); p != nil {
		policies = append(policies, p)
	}
	if sel := in.Class.Spec.Monitoring.NamespaceSelector; sel != nil {
		policies = append(policies, netpol(in, NetpolMonitoring, metav1.LabelSelector{}, ingressOnly, []networkingv1.NetworkPolicyIngressRule{{
			From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel.DeepCopy()}},
			Ports: []networkingv1.NetworkPolicyPort{
				port(corev1.ProtocolTCP, AppMetricsPort), port(corev1.ProtocolTCP, PostgresMetricsPort),
			},
		}}, nil))
	}
	return policies
}

func cnpgOperatorNamespaceSelector(in Inputs) *metav1.LabelSelector {
	if sel := in.Class.Spec.Postgres.OperatorNamespaceSelector; sel != nil {
		return sel.DeepCopy()
	}
	return &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: defaultCNPGOperatorNamespace}}
}

// postgresToAPIServer lets the instance manager reach the kube-apiserver at the addresses the
// `kubernetes` EndpointSlices list. Without known endpoints there is no rule to write.
func postgresToAPIServer(in Inputs, postgresPods metav1.LabelSelector) *networkingv1.NetworkPolicy {
	if len(in.APIServerEndpoints) == 0 {
		return nil
	}
	endpoints := slices.Clone(in.APIServerEndpoints)
	slices.SortFunc(endpoints, func(a, b Endpoint) int {
		if c := a.Addr.Compare(b.Addr); c != 0 {
			return c
		}
		return int(a.Port - b.Port)
	})
	var peers []networkingv1.NetworkPolicyPeer
	var ports []networkingv1.NetworkPolicyPort
	for _, e := range endpoints {
		peer := networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: netip.PrefixFrom(e.Addr, e.Addr.BitLen()).String()}}
		if !slices.ContainsFunc(peers, func(p networkingv1.NetworkPolicyPeer) bool { return p.IPBlock.CIDR == peer.IPBlock.CIDR }) {
			peers = append(peers, peer)
		}
		p := port(corev1.ProtocolTCP, e.Port)
		if !slices.ContainsFunc(ports, func(q networkingv1.NetworkPolicyPort) bool { return q.Port.IntVal == e.Port }) {
			ports = append(ports, p)
		}
	}
	return netpol(in, NetpolPostgresToAPIServer, *postgresPods.DeepCopy(), egressOnly, nil,
		[]networkingv1.NetworkPolicyEgressRule{{To: peers, Ports: ports}})
}

// postgresToObjectStore lets the Barman Cloud sidecar ship WAL and base backups.
func postgresToObjectStore(in Inputs, postgresPods metav1.LabelSelector) *networkingv1.NetworkPolicy {
	backup := in.Class.Spec.Backup
	var peers []networkingv1.NetworkPolicyPeer
	for _, cidr := range backup.EgressCIDRs {
		peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
	}
	if len(peers) == 0 {
		return nil // an egress rule without peers would allow every destination
	}
	portNumbers := backup.EgressPorts
	if len(portNumbers) == 0 {
		portNumbers = []int32{443, 9000}
	}
	var ports []networkingv1.NetworkPolicyPort
	for _, p := range portNumbers {
		ports = append(ports, port(corev1.ProtocolTCP, p))
	}
	return netpol(in, NetpolPostgresToObjectStore, *postgresPods.DeepCopy(), egressOnly, nil,
		[]networkingv1.NetworkPolicyEgressRule{{To: peers, Ports: ports}})
}

// appToSMTP lets the app's pods (not the owner setup Job's) reach the class's mail server: its
// addresses, its port. nil when the class configures no mail server.
func appToSMTP(in Inputs, appPods metav1.LabelSelector) *networkingv1.NetworkPolicy {
	smtp := EffectiveSMTP(in.Class)
	if smtp == nil || len(smtp.EgressCIDRs) == 0 {
		return nil // an egress rule without peers would allow every destination
	}
	var peers []networkingv1.NetworkPolicyPeer
	for _, cidr := range smtp.EgressCIDRs {
		peers = append(peers, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr}})
	}
	return netpol(in, NetpolAppToSMTP, *appPods.DeepCopy(), egressOnly, nil, []networkingv1.NetworkPolicyEgressRule{{
		To:    peers,
		Ports: []networkingv1.NetworkPolicyPort{port(corev1.ProtocolTCP, smtp.Port)},
	}})
}

func netpol(in Inputs, name string, pods metav1.LabelSelector, types []networkingv1.PolicyType,
	ingress []networkingv1.NetworkPolicyIngressRule, egress []networkingv1.NetworkPolicyEgressRule) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   typeMeta("networking.k8s.io/v1", "NetworkPolicy"),
		ObjectMeta: objectMeta(in, name, nil),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: pods,
			PolicyTypes: slices.Clone(types),
			Ingress:     ingress,
			Egress:      egress,
		},
	}
}

func netpolIngress(in Inputs, name string, pods metav1.LabelSelector, from []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) *networkingv1.NetworkPolicy {
	return netpol(in, name, pods, ingressOnly, []networkingv1.NetworkPolicyIngressRule{{From: from, Ports: ports}}, nil)
}

func port(protocol corev1.Protocol, number int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(protocol), Port: ptr.To(intstr.FromInt32(number))}
}
