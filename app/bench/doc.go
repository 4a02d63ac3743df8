// Package bench benchmarks the booking app (the real `slotbook serve` binary, as a separate
// process) against one throwaway PostgreSQL server (app/internal/pgtest, TLS): the pgbench
// single-row insert ceiling of that server, booking throughput through the HTTP API, a contention
// run that must end without double bookings, availability latency, and the app's resident memory.
//
// Run it with `make bench-app`; see docs/benchmarks.md for what is measured and how. A plain
// `go test ./...` compiles it and runs nothing (it is a benchmark, BenchmarkApp).
package bench
