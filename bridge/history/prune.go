package history

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

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
func Prune(ctx context.Context, st store.Store, cutoff time.Time) (int, error) {
	deleted := 0
	var after int64
	for {
		var n int
		var last int64
		var done bool
		err := st.Update(ctx, func(tx store.Tx) error {
			n, last, done = 0, 0, false
			old, err := tx.ListHistory(ctx, store.HistoryFilter{Until: cutoff, AfterSeq: after, Limit: pruneBatch})
			if err != nil {
				return err
			}
			if len(old) < pruneBatch {
				done = true
			}
			if len(old) == 0 {
				return nil
			}
			last = old[len(old)-1].Seq
			byEmail := map[string][]store.AccessChange{}
			for _, c := range old {
				if _, ok := byEmail[c.Email]; ok {
					continue
				}
				rows, err := tx.ListHistory(ctx, store.HistoryFilter{Email: c.Email})
				if err != nil {
					return err
				}
				byEmail[c.Email] = rows
			}
			var seqs []int64
			for _, c := range old {
				if obsolete(c, byEmail[c.Email], cutoff) {
					seqs = append(seqs, c.Seq)
				}
			}
			n = len(seqs)
			return tx.DeleteHistory(ctx, seqs)
		})
		if err != nil {
			return deleted, fmt.Errorf("prune access history: %w", err)
		}
		deleted += n
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

// Pruner prunes the access history once per Interval while it runs (the
// leader runs it).
type Pruner struct {
	Store store.Store
	// Retention is how long entries are kept (see Prune).
	Retention time.Duration
	// Interval between prunings (default 24h); the first is one minute after
	// Run starts, so a restart loop does not prune in a tight loop.
	Interval time.Duration
	Now      func() time.Time
	Logger   *zap.Logger
	// Pruned counts the entries deleted (nil: not counted).
	Pruned prometheus.Counter
}

// NewPrunedCounter registers scim_bridge_history_pruned_entries_total with reg.
func NewPrunedCounter(reg prometheus.Registerer) prometheus.Counter {
	return promauto.With(reg).NewCounter(prometheus.CounterOpts{Namespace: "scim_bridge", Name: "history_pruned_entries_total",
		Help: "Access-history entries deleted because they were older than the retention and no longer said who has access."})
}

// Run prunes until ctx ends. A failed pruning is logged and tried again at
// the next interval.
func (p *Pruner) Run(ctx context.Context, _ store.Lease) error {
	interval := p.Interval
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	log := p.Logger
	if log == nil {
		log = zap.NewNop()
	}
	wait := time.Minute
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = interval
		cutoff := now().Add(-p.Retention)
		n, err := Prune(ctx, p.Store, cutoff)
		if p.Pruned != nil {
			p.Pruned.Add(float64(n))
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("access history pruning failed", zap.Int("deleted", n), zap.Error(err))
			continue
		}
		if n > 0 {
			log.Info("access history pruned", zap.Int("deleted", n), zap.Time("cutoff", cutoff))
		}
	}
}
