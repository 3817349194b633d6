package bridge

import (
	"context"
	"fmt"
	"reflect"
	"sort"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// SetCatalog records the account's stores as last listed. When the change alters
// which store a group grants (a store was created, renamed or deleted in
// BigCommerce), the members of those groups get the intents that follow, in the
// same transaction. It reports whether the catalog changed.
func (s *Service) SetCatalog(ctx context.Context, cat []CatalogStore) (bool, error) {
	changed := false
	err := s.write(ctx, func(tx store.Tx) error {
		changed = false
		old, err := LoadCatalog(ctx, tx)
		if err != nil {
			return err
		}
		next := append([]CatalogStore(nil), cat...)
		sort.Slice(next, func(i, j int) bool { return next[i].Hash < next[j].Hash })
		if reflect.DeepEqual(old, next) || (len(old) == 0 && len(next) == 0) {
			return nil
		}
		changed = true
		if err := SaveCatalog(ctx, tx, next); err != nil {
			return err
		}
		t, err := s.begin(ctx, tx, s.clock())
		if err != nil {
			return err
		}
		oldR, newR := s.mapping.resolverFor(old), t.r
		groups, _, err := tx.ListGroups(ctx, store.Query{Limit: -1})
		if err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
		affected := map[string]bool{}
		for _, g := range groups {
			if oldR.storeFor(g.DisplayName) == newR.storeFor(g.DisplayName) {
				continue
			}
			members, err := tx.GroupMembers(ctx, g.ID)
			if err != nil {
				return err
			}
			for _, m := range members {
				affected[m.UserID] = true
			}
		}
		changes := make(map[string]accessChange, len(affected))
		for id := range affected {
			u, err := tx.GetUser(ctx, id)
			if err != nil {
				return err
			}
			refs, err := t.names.userGroups(ctx, id)
			if err != nil {
				return err
			}
			t.r = oldR
			before := t.access(u, t.storesOf(refs))
			t.r = newR
			changes[id] = accessChange{user: u, before: before, after: t.access(u, t.storesOf(refs))}
		}
		return t.finish("", "catalog.update", "", changes)
	})
	return changed, err
}
