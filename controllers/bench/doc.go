// Package bench benchmarks the Tenant controller against a real kube-apiserver and etcd
// (envtest): provisioning throughput compared with a raw server-side-apply ceiling, reconcile
// latency, API writes of a steady-state resync and the manager's memory.
//
// Run it with `make bench-operator` (BENCH_TENANTS=1000 for more tenants); see
// docs/benchmarks.md for what is measured and how.
package bench
