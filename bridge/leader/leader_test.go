package leader

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

func TestOneLeaderAndTakeover(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.New(t)
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
			a := New(st, "delivery", "replica-a", 600*time.Millisecond, nil)
			b := New(st, "delivery", "replica-b", 600*time.Millisecond, nil)
			actx, acancel := context.WithCancel(t.Context())
			aDone := make(chan struct{})
			go func() { _ = a.Run(actx, work); close(aDone) }()
			require.Eventually(t, a.IsLeader, 2*time.Second, 10*time.Millisecond)
			bctx, bcancel := context.WithCancel(t.Context())
			defer bcancel()
			go func() { _ = b.Run(bctx, work) }()
			time.Sleep(time.Second)
			require.True(t, a.IsLeader())
			require.False(t, b.IsLeader(), "only one replica leads")
			epochA := a.Epoch()

			// A stops (and releases): B takes over with a higher epoch.
			acancel()
			<-aDone
			require.Eventually(t, b.IsLeader, 3*time.Second, 10*time.Millisecond)
			require.Greater(t, b.Epoch(), epochA)
			require.Equal(t, int32(1), maxRunning.Load(), "the work never ran on two replicas at once")
			got, _ := epochs.Load("replica-b")
			require.Equal(t, b.Epoch(), got, "the work gets the lease it runs under")
		})
	}
}
