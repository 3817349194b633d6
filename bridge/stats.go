package bridge

import (
	"context"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// GroupStats counts the SCIM groups that grant a BigCommerce store (mapped: an
// explicit mapping entry, or a name matching a store of the last catalog when
// matching by name is on) and those that do not (unmapped groups are ordinary
// SCIM groups with no downstream effect). It reads one snapshot of the store
// and returns counts only.
func (s *Service) GroupStats(ctx context.Context) (mapped, unmapped int, err error) {
	err = s.store.View(ctx, func(tx store.Tx) error {
		mapped, unmapped = 0, 0
		r, err := s.mapping.resolver(ctx, tx)
		if err != nil {
			return err
		}
		groups, _, err := tx.ListGroups(ctx, store.Query{Limit: -1})
		if err != nil {
			return err
		}
		for _, g := range groups {
			if r.storeFor(g.DisplayName) != "" {
				mapped++
			} else {
				unmapped++
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return mapped, unmapped, nil
}
