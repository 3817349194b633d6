// Package retention deletes what the bridge no longer needs to remember:
// settled intents (done, superseded, and dead letters nobody retried) some
// time after they settled, audit events some time after they happened, and
// access-history entries older than the history retention that no longer say
// who has access (see history.Prune; that pass runs once a day).
//
// What must outlive the outbox is kept elsewhere by the store: the known
// BigCommerce state, and the identities of deleted SCIM users
// (store.Tx.ListRemovedIdentities), so pruning never changes what
// reconciliation or delivery decide. Pending intents are never deleted, and
// neither are the intents a reconciliation in progress plans with (see
// Options.Floor).
//
// A Pruner deletes in batches of Options.Batch rows, one short transaction
// each with a pause between them, so the single SQLite writer is never held
// for long and SCIM writes go on meanwhile. Only the replica holding the
// leader lease should run it.
package retention

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/history"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Kinds of pruned rows, the values of the metric's kind label.
const (
	KindDone       = "done"
	KindSuperseded = "superseded"
	KindDead       = "dead"
	KindAudit      = "audit"
	KindHistory    = "history"
)

// historyEvery is how often the access history is pruned: its retention is
// counted in years, and each pass re-reads the old entries that still hold.
const historyEvery = 24 * time.Hour

// Options configures a Pruner.
type Options struct {
	// Store is the bridge's store. Required.
	Store store.Store
	// Intents is how long a settled intent stays after it settled (its
	// DoneAt); 0 keeps intents forever.
	Intents time.Duration
	// Audit is how long an audit event stays; 0 keeps them forever.
	Audit time.Duration
	// History is how long access-history entries are kept (see
	// history.Prune); 0 keeps them forever.
	History time.Duration
	// Floor returns the highest sequence number that may be pruned (the
	// reconcile runner's PruneFloor); no limit when nil.
	Floor func() int64
	// Interval is the time between passes of Run (default 10m).
	Interval time.Duration
	// Batch is the most rows one transaction deletes (default 1000).
	Batch int
	// Pause is the wait between two batches of a pass (default 20ms), which
	// leaves the writer to SCIM requests.
	Pause time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger receives counts only. Optional.
	Logger *zap.Logger
	// Registerer receives the metrics; none when nil.
	Registerer prometheus.Registerer
}

// Pruner deletes expired rows. It is safe for concurrent use, though passes
// are meant to run from one goroutine (Run).
type Pruner struct {
	o           Options
	log         *zap.Logger
	pruned      *prometheus.CounterVec
	historyDone time.Time // when the access history was last pruned
}

// Result counts the rows one pass deleted, by kind.
type Result map[string]int

// New returns a Pruner.
func New(o Options) (*Pruner, error) {
	if o.Store == nil {
		return nil, errors.New("retention: Store is required")
	}
	if o.Intents < 0 || o.Audit < 0 || o.History < 0 {
		return nil, errors.New("retention: retention periods must not be negative")
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 1000
	}
	if o.Pause <= 0 {
		o.Pause = 20 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Floor == nil {
		o.Floor = func() int64 { return math.MaxInt64 }
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	p := &Pruner{o: o, log: o.Logger.Named("retention")}
	p.pruned = promauto.With(o.Registerer).NewCounterVec(prometheus.CounterOpts{
		Namespace: "scim_bridge", Name: "pruned_total",
		Help: "Rows deleted after their retention period: settled intents by state (done, superseded, dead), audit events (audit) and access-history entries (history).",
	}, []string{"kind"})
	for _, k := range []string{KindDone, KindSuperseded, KindDead, KindAudit, KindHistory} {
		p.pruned.WithLabelValues(k)
	}
	return p, nil
}

// Once runs one pass: it deletes every expired row, a batch per transaction,
// and returns the counts (also when it stops early with an error).
func (p *Pruner) Once(ctx context.Context) (Result, error) {
	res := Result{}
	now := p.o.Now()
	if p.o.Intents > 0 {
		before := store.Truncate(now.Add(-p.o.Intents))
		for _, k := range []struct {
			kind  string
			state store.IntentState
		}{{KindDone, store.IntentDone}, {KindSuperseded, store.IntentSuperseded}, {KindDead, store.IntentDead}} {
			err := p.batches(ctx, k.kind, res, func(tx store.Tx) (int, error) {
				return tx.PruneIntents(ctx, store.PruneFilter{States: []store.IntentState{k.state}, Before: before,
					MaxSeq: p.o.Floor(), Limit: p.o.Batch})
			})
			if err != nil {
				return res, err
			}
		}
	}
	if p.o.Audit > 0 {
		before := store.Truncate(now.Add(-p.o.Audit))
		err := p.batches(ctx, KindAudit, res, func(tx store.Tx) (int, error) {
			return tx.PruneAudit(ctx, before, p.o.Batch)
		})
		if err != nil {
			return res, err
		}
	}
	if p.o.History > 0 && now.Sub(p.historyDone) >= historyEvery {
		n, err := history.Prune(ctx, p.o.Store, store.Truncate(now.Add(-p.o.History)))
		res[KindHistory] += n
		p.pruned.WithLabelValues(KindHistory).Add(float64(n))
		if err != nil {
			return res, err
		}
		p.historyDone = now
	}
	return res, nil
}

// batches runs del in its own transaction until a batch deletes less than a
// full one, pausing between batches.
func (p *Pruner) batches(ctx context.Context, kind string, res Result, del func(tx store.Tx) (int, error)) error {
	for {
		var n int
		err := p.o.Store.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = del(tx)
			return err
		})
		if err != nil {
			return fmt.Errorf("prune %s: %w", kind, err)
		}
		res[kind] += n
		p.pruned.WithLabelValues(kind).Add(float64(n))
		if n < p.o.Batch {
			return nil
		}
		t := time.NewTimer(p.o.Pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Run runs a pass at once and then every Interval until ctx ends, and
// returns nil then. A failed pass is logged and retried at the next
// interval. Run waits in real time.
func (p *Pruner) Run(ctx context.Context) error {
	for {
		res, err := p.Once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.log.Warn("pruning stopped; retrying at the next interval", zap.Error(err))
		} else if total := res[KindDone] + res[KindSuperseded] + res[KindDead] + res[KindAudit] + res[KindHistory]; total > 0 {
			p.log.Info("pruned expired rows", zap.Int(KindDone, res[KindDone]), zap.Int(KindSuperseded, res[KindSuperseded]),
				zap.Int(KindDead, res[KindDead]), zap.Int(KindAudit, res[KindAudit]), zap.Int(KindHistory, res[KindHistory]))
		}
		t := time.NewTimer(p.o.Interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}
