package sqlite_test

import (
	"testing"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

func newStore(t *testing.T) store.Store { return storetest.NewSQLite(t) }

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestConcurrency(t *testing.T) {
	storetest.RunConcurrency(t, newStore)
}

func BenchmarkListUsersUserNameEq(b *testing.B) {
	storetest.BenchUserNameEq(b, storetest.NewSQLite(b))
}
