package leader

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/simclock"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// leaseAttempt is one answer of TryLease.
type leaseAttempt struct {
	holder   string
	acquired bool
}

// attemptStore reports every TryLease answer, so a test knows when a replica
// has acted on a tick of the simulated clock.
type attemptStore struct {
	store.Store
	attempts chan leaseAttempt
}

func (s *attemptStore) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, bool, error) {
	lease, ok, err := s.Store.TryLease(ctx, name, holder, ttl)
	select {
	case s.attempts <- leaseAttempt{holder: holder, acquired: ok && err == nil}:
	case <-ctx.Done():
	}
	return lease, ok, err
}

// next returns the next n attempts, in any order.
func (s *attemptStore) next(t *testing.T, n int) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for range n {
		select {
		case a := <-s.attempts:
			got[a.holder] = a.acquired
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d of %d lease attempts", len(got), n)
		}
	}
	return got
}

func TestOneLeaderAndTakeover(t *testing.T) {
	// The renewal ticks come from a simulated clock; the lease is stored
	// for an hour of real time, so it cannot expire while the test runs and
	// only the ticks the test makes decide who tries when.
	const ttl = time.Hour
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := &attemptStore{Store: b.New(t), attempts: make(chan leaseAttempt, 8)}
			clk := simclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
			var running atomic.Int32
			var maxRunning atomic.Int32
			var epochs sync.Map
			work := func(ctx context.Context, lease store.Lease) error {
				epochs.Store(lease.Holder, lease.Epoch)
				n := running.Add(1)
				for {
					if m := maxRunning.Load(); n > m && !maxRunning.CompareAndSwap(m, n) {
						continue
					}
					break
				}
				<-ctx.Done()
				running.Add(-1)
				return ctx.Err()
			}
			a := New(st, "delivery", "replica-a", ttl, nil)
			a.Tick = clk.Tick
			b := New(st, "delivery", "replica-b", ttl, nil)
			b.Tick = clk.Tick
			actx, acancel := context.WithCancel(t.Context())
			aDone := make(chan struct{})
			go func() { _ = a.Run(actx, work); close(aDone) }()
			require.Equal(t, map[string]bool{"replica-a": true}, st.next(t, 1))
			require.Eventually(t, a.IsLeader, 2*time.Second, 10*time.Millisecond)
			bctx, bcancel := context.WithCancel(t.Context())
			bDone := make(chan struct{})
			defer func() { bcancel(); <-bDone }()
			go func() { _ = b.Run(bctx, work); close(bDone) }()
			require.Equal(t, map[string]bool{"replica-b": false}, st.next(t, 1))
			// A whole ttl of renewals: A keeps the lease, B keeps asking.
			for range 3 {
				clk.Advance(ttl / 3)
				require.Equal(t, map[string]bool{"replica-a": true, "replica-b": false}, st.next(t, 2))
			}
			require.True(t, a.IsLeader())
			require.False(t, b.IsLeader(), "only one replica leads")
			epochA := a.Epoch()

			// A stops (and releases): B takes over with a higher epoch.
			acancel()
			<-aDone
			clk.Advance(ttl / 3)
			require.Equal(t, map[string]bool{"replica-b": true}, st.next(t, 1))
			require.Eventually(t, b.IsLeader, 3*time.Second, 10*time.Millisecond)
			require.Greater(t, b.Epoch(), epochA)
			// B's work starts in its own goroutine after B became leader.
			require.Eventually(t, func() bool { _, ok := epochs.Load("replica-b"); return ok }, 3*time.Second, time.Millisecond)
			require.Equal(t, int32(1), maxRunning.Load(), "the work never ran on two replicas at once")
			got, _ := epochs.Load("replica-b")
			require.Equal(t, b.Epoch(), got, "the work gets the lease it runs under")
		})
	}
}
