// Package storetest is the conformance suite every store backend passes, and the
// test helper other packages use to get a store of each kind.
//
// Backend packages call Run and RunConcurrency with a constructor for a fresh,
// empty store. Packages that test on top of the store (the SCIM service, the
// delivery engine) range over Backends, so that they run against SQLite always
// and against PostgreSQL whenever SCIM_BRIDGE_TEST_POSTGRES_DSN is set:
//
//	for _, b := range storetest.Backends(t) {
//		t.Run(b.Name, func(t *testing.T) {
//			s := b.New(t) // skips the test if the backend is unavailable
//			...
//		})
//	}
//
// Each PostgreSQL store lives in its own freshly created schema (dropped when the
// test ends), so tests and packages can share one database and run in parallel.
//
// Every sub-test of Run and RunConcurrency runs under a watchdog: if it does not
// finish in time (a deadlock), the stacks of all goroutines are printed and the
// test binary panics, rather than hanging until go test's global timeout.
package storetest
