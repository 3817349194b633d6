package bridge

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

func TestGroupStats(t *testing.T) {
	cases := []struct {
		name             string
		mapping          Mapping
		groups           []string
		mapped, unmapped int
	}{
		{name: "no groups", mapping: Mapping{ByName: true}},
		{name: "by store name and hash, case-insensitively", mapping: Mapping{ByName: true},
			groups: []string{"Plant Market", "GARDEN TOOLS", "ghi789", "Marketing"}, mapped: 3, unmapped: 1},
		{name: "explicit entries only", mapping: Mapping{Explicit: map[string]string{"Shop Admins": "abc123"}},
			groups: []string{"shop admins", "Plant Market"}, mapped: 1, unmapped: 1},
		{name: "explicit entry for a store the catalog does not list", mapping: Mapping{Explicit: map[string]string{"Ghost": "zzz999"}, ByName: true},
			groups: []string{"Ghost", "Seed Library", "Everyone"}, mapped: 2, unmapped: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc, err := NewService(Options{Store: storetest.NewSQLite(t), Mapping: tc.mapping})
			require.NoError(t, err)
			_, err = svc.SetCatalog(t.Context(), []CatalogStore{{Hash: "abc123", Name: "Plant Market"}, {Hash: "def456", Name: "Garden Tools"}, {Hash: "ghi789", Name: "Seed Library"}})
			require.NoError(t, err)
			for _, name := range tc.groups {
				_, err := svc.CreateGroup(t.Context(), map[string]any{"displayName": name}, nil)
				require.NoError(t, err)
			}
			mapped, unmapped, err := svc.GroupStats(t.Context())
			require.NoError(t, err)
			require.Equal(t, tc.mapped, mapped, "mapped")
			require.Equal(t, tc.unmapped, unmapped, "unmapped")
		})
	}

	t.Run("a closed store is an error", func(t *testing.T) {
		st := storetest.NewSQLite(t)
		svc, err := NewService(Options{Store: st})
		require.NoError(t, err)
		require.NoError(t, st.Close())
		// The SQLite store blocks on a closed pool until the context ends.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		_, _, err = svc.GroupStats(ctx)
		require.Error(t, err)
	})
}
