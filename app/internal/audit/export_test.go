package audit

// Internals for the tests of package audit_test (external, because they need a database from
// pgtest, which imports store, which imports audit).
var CanonicalJSON = canonicalJSON

func ComputeHash(r Record) ([32]byte, error) { return r.computeHash() }
