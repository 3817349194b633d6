package postgres_test

import (
	"testing"

	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

func TestRetention(t *testing.T) {
	storetest.RunRetention(t, newStore)
}
