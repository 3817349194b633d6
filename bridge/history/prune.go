package history

import (
	"context"
	"fmt"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// pruneBatch is how many old entries one pruning transaction looks at.
const pruneBatch = 1000

// Prune deletes the entries older than cutoff that no longer matter for
// anyone's access after cutoff, a batch per transaction, and returns how many
// it deleted. An old entry is kept while it is what makes a person's access
// hold (see obsolete), so [AsOf] and [Grants] for any moment after cutoff give
// the same answer with or without the pruned entries; a person whose access
// ended before cutoff has no entry left from before it. Entries are looked at
// in sequence order, so an addition is always pruned no later than the
// removal that undid it.
//
// Each batch is decided in a read transaction and deleted in a short write
// one, so the SQLite writer is held only for the deletes. That is safe
// because entries are only ever appended: a later entry can make an old one
// obsolete, never needed again (obsolete looks only at later entries, and
// new ones are newer than cutoff).
func Prune(ctx context.Context, st store.Store, cutoff time.Time) (int, error) {
	deleted := 0
	var after int64
	for {
		var seqs []int64
		var last int64
		var done bool
		err := st.View(ctx, func(tx store.Tx) error {
			seqs, last, done = nil, 0, false
			old, err := tx.ListHistory(ctx, store.HistoryFilter{Until: cutoff, AfterSeq: after, Limit: pruneBatch})
			if err != nil {
				return err
			}
			done = len(old) < pruneBatch
			if len(old) == 0 {
				return nil
			}
			last = old[len(old)-1].Seq
			byEmail := map[string][]store.AccessChange{}
			for _, c := range old {
				if _, ok := byEmail[c.Email]; ok {
					continue
				}
				if byEmail[c.Email], err = tx.ListHistory(ctx, store.HistoryFilter{Email: c.Email}); err != nil {
					return err
				}
			}
			for _, c := range old {
				if obsolete(c, byEmail[c.Email], cutoff) {
					seqs = append(seqs, c.Seq)
				}
			}
			return nil
		})
		if err == nil && len(seqs) > 0 {
			err = st.Update(ctx, func(tx store.Tx) error { return tx.DeleteHistory(ctx, seqs) })
		}
		if err != nil {
			return deleted, fmt.Errorf("prune access history: %w", err)
		}
		deleted += len(seqs)
		if done {
			return deleted, nil
		}
		after = last
	}
}

// obsolete reports whether c (older than cutoff) can go without changing
// any answer for a moment after cutoff: a dead letter; a removal (what it
// removed is older still, and goes with it); an addition that a later
// removal of the same person undid (a store removal of the same store, or an
// account removal). An addition that still holds stays, so the access it
// gave and when it was granted are still known.
func obsolete(c store.AccessChange, person []store.AccessChange, cutoff time.Time) bool {
	if !counts(c) || c.Change == store.AccountRemove || c.Change == store.StoreRemove {
		return true
	}
	for _, later := range person {
		if later.Seq <= c.Seq || !counts(later) || !later.At.Before(cutoff) {
			continue
		}
		if later.Change == store.AccountRemove || (later.Change == store.StoreRemove && c.Change == store.StoreAdd && later.StoreHash == c.StoreHash) {
			return true
		}
	}
	return false
}
