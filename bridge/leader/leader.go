// Package leader runs work on exactly one replica at a time: the one holding
// the store's named lease. The delivery engine and scheduled reconciliation run
// only there; the other replicas serve SCIM and wait.
package leader

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Elector keeps trying to take the lease and runs the work while it holds it.
type Elector struct {
	store  store.Store
	name   string
	holder string
	ttl    time.Duration
	log    *zap.Logger
	leader atomic.Bool
	epoch  atomic.Int64
	// OnChange, when set, is called with true when leadership is gained and
	// false when it is lost.
	OnChange func(bool)
	// Tick, when set, replaces a time.Ticker as the source of the renewal
	// ticks (every ttl/3), so a test can drive Run on a simulated clock. Set
	// it before Run.
	Tick func(d time.Duration) <-chan time.Time
}

// New returns an Elector for the named lease; holder identifies this replica.
// The lease is renewed every ttl/3; a replica that stops renewing loses it when
// ttl has passed, and another replica takes over.
func New(st store.Store, name, holder string, ttl time.Duration, log *zap.Logger) *Elector {
	if log == nil {
		log = zap.NewNop()
	}
	return &Elector{store: st, name: name, holder: holder, ttl: ttl, log: log.Named("leader")}
}

// IsLeader reports whether this replica holds the lease.
func (e *Elector) IsLeader() bool { return e.leader.Load() }

// Epoch returns the lease epoch this replica holds (0 when not leader).
func (e *Elector) Epoch() int64 { return e.epoch.Load() }

// Work is run while this replica holds the lease; lease is the lease it holds
// (its epoch fences what the work records, see store.Tx.CheckLease).
type Work func(ctx context.Context, lease store.Lease) error

// Run runs work (each function in its own goroutine) whenever this replica
// holds the lease, cancelling it as soon as the lease cannot be renewed. It
// returns when ctx ends, after the work has stopped and the lease is released.
func (e *Elector) Run(ctx context.Context, work ...Work) error {
	var tick <-chan time.Time
	if e.Tick != nil {
		tick = e.Tick(e.ttl / 3)
	} else {
		t := time.NewTicker(e.ttl / 3)
		defer t.Stop()
		tick = t.C
	}
	var (
		cancel context.CancelFunc
		wg     sync.WaitGroup
	)
	stop := func() {
		if cancel != nil {
			cancel()
			wg.Wait()
			cancel = nil
		}
		if e.leader.Swap(false) {
			e.epoch.Store(0)
			e.log.Info("leadership lost")
			if e.OnChange != nil {
				e.OnChange(false)
			}
		}
	}
	defer func() {
		stop()
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := e.store.ReleaseLease(rctx, e.name, e.holder); err != nil {
			e.log.Warn("release lease", zap.Error(err))
		}
	}()
	for {
		lease, ok, err := e.tryLease(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			e.log.Warn("lease renewal failed", zap.Error(err))
			stop()
		case !ok:
			stop()
		case !e.leader.Load() || lease.Epoch != e.epoch.Load():
			stop() // a new epoch means someone else held it meanwhile
			e.leader.Store(true)
			e.epoch.Store(lease.Epoch)
			e.log.Info("leadership acquired", zap.Int64("epoch", lease.Epoch))
			if e.OnChange != nil {
				e.OnChange(true)
			}
			wctx, c := context.WithCancel(ctx)
			cancel = c // called by stop(), here or when Run returns
			held := lease
			for _, w := range work {
				wg.Go(func() {
					if err := w(wctx, held); err != nil && !errors.Is(err, context.Canceled) {
						e.log.Error("leader work stopped", zap.Error(err))
					}
				})
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
	}
}

func (e *Elector) tryLease(ctx context.Context) (store.Lease, bool, error) {
	c, cancel := context.WithTimeout(ctx, e.ttl/3)
	defer cancel()
	return e.store.TryLease(c, e.name, e.holder, e.ttl)
}
