package bridge

import (
	"context"
	"errors"
	"sort"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Desired is what one SCIM user should have in BigCommerce, as reconciliation
// and the compliance report compare it with what BigCommerce has.
type Desired struct {
	UserID     string
	ExternalID string
	// Email is the BigCommerce identity ("" when the user has none).
	Email string
	// Present is true when the user should be in the account.
	Present bool
	// Stores are the hashes of the stores the user's groups grant (sorted),
	// whether or not the user is present.
	Stores []string
}

// Desired returns every SCIM user's desired BigCommerce access, read in one
// snapshot of the store.
func (s *Service) Desired(ctx context.Context) ([]Desired, error) {
	var out []Desired
	err := s.store.View(ctx, func(tx store.Tx) error {
		r, err := s.mapping.resolver(ctx, tx)
		if err != nil {
			return err
		}
		t := &txn{s: s, ctx: ctx, tx: tx, r: r, names: newGroupNames(tx)}
		users, _, err := tx.ListUsers(ctx, store.Query{Limit: -1})
		if err != nil {
			return err
		}
		out = make([]Desired, 0, len(users))
		for _, u := range users {
			groups, err := t.names.userGroups(ctx, u.ID)
			if err != nil {
				return err
			}
			stores := sortedKeys(t.storesOf(groups))
			a := t.access(u, nil)
			out = append(out, Desired{UserID: u.ID, ExternalID: u.ExternalID, Email: u.BCEmail, Present: a.Present, Stores: stores})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
		return nil
	})
	return out, err
}

// DesiredStores returns, for each of the given SCIM users that exists, the
// hashes of the stores its groups grant (sorted), read in one snapshot of the
// store. Users that do not exist are left out.
func (s *Service) DesiredStores(ctx context.Context, userIDs []string) (map[string][]string, error) {
	out := make(map[string][]string, len(userIDs))
	err := s.store.View(ctx, func(tx store.Tx) error {
		clear(out)
		r, err := s.mapping.resolver(ctx, tx)
		if err != nil {
			return err
		}
		t := &txn{s: s, ctx: ctx, tx: tx, r: r, names: newGroupNames(tx)}
		for _, id := range userIDs {
			if _, err := tx.GetUser(ctx, id); errors.Is(err, store.ErrNotFound) {
				continue
			} else if err != nil {
				return err
			}
			groups, err := t.names.userGroups(ctx, id)
			if err != nil {
				return err
			}
			out[id] = sortedKeys(t.storesOf(groups))
		}
		return nil
	})
	return out, err
}
