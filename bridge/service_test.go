package bridge

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// TestBuildUserActive: only a create defaults to active; otherwise an absent
// active keeps the current state.
func TestBuildUserActive(t *testing.T) {
	s := &Service{source: EmailAuto}
	attrs := func() map[string]any { return map[string]any{"userName": "a@example.com"} }
	u, err := s.buildUser(attrs(), nil)
	require.NoError(t, err)
	require.True(t, u.Active)
	for _, cur := range []bool{false, true} {
		u, err = s.buildUser(attrs(), &store.User{Active: cur})
		require.NoError(t, err)
		require.Equal(t, cur, u.Active)
		require.Equal(t, cur, u.Attributes["active"])
	}
	with := attrs()
	with["active"] = true
	u, err = s.buildUser(with, &store.User{Active: false})
	require.NoError(t, err)
	require.True(t, u.Active, "an explicit active true activates")
}
