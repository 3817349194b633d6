package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func tryLease(t *testing.T, s store.Store, name, holder string, ttl time.Duration) (store.Lease, bool) {
	t.Helper()
	l, ok, err := s.TryLease(t.Context(), name, holder, ttl)
	require.NoError(t, err)
	requireUTCMicros(t, l.Expires)
	return l, ok
}

func testLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Minute) // slack for a database clock that differs a little

	// A free lease is acquired at epoch 1.
	l, ok := tryLease(t, s, "leader", "replica-a", time.Hour)
	require.True(t, ok)
	require.Equal(t, "leader", l.Name)
	require.Equal(t, "replica-a", l.Holder)
	require.Equal(t, int64(1), l.Epoch)
	require.WithinRange(t, l.Expires, before.Add(time.Hour), time.Now().Add(time.Hour+time.Minute))

	// The holder renews: same epoch, expiry not earlier.
	renewed, ok := tryLease(t, s, "leader", "replica-a", 2*time.Hour)
	require.True(t, ok)
	require.Equal(t, int64(1), renewed.Epoch)
	require.True(t, renewed.Expires.After(l.Expires), "renewal extends the lease")

	// Another holder is refused and told who holds it.
	other, ok := tryLease(t, s, "leader", "replica-b", time.Hour)
	require.False(t, ok)
	require.Equal(t, "replica-a", other.Holder)
	require.Equal(t, int64(1), other.Epoch)
	require.Equal(t, renewed.Expires, other.Expires)

	// Leases are independent by name.
	l2, ok := tryLease(t, s, "reconcile", "replica-b", time.Hour)
	require.True(t, ok)
	require.Equal(t, int64(1), l2.Epoch)

	// Releasing a lease one does not hold does nothing.
	require.NoError(t, s.ReleaseLease(ctx, "leader", "replica-b"))
	require.NoError(t, s.ReleaseLease(ctx, "nonexistent", "replica-b"))
	_, ok = tryLease(t, s, "leader", "replica-b", time.Hour)
	require.False(t, ok)

	// CheckLease passes for the holder at its epoch, inside a transaction.
	update(t, s, func(tx store.Tx) error { return tx.CheckLease(ctx, renewed) })
	view(t, s, func(tx store.Tx) error { return tx.CheckLease(ctx, renewed) })

	// After a release another holder gets it at once, at a higher epoch.
	require.NoError(t, s.ReleaseLease(ctx, "leader", "replica-a"))
	l, ok = tryLease(t, s, "leader", "replica-b", time.Hour)
	require.True(t, ok)
	require.Equal(t, "replica-b", l.Holder)
	require.Equal(t, int64(2), l.Epoch)

	// The old holder is fenced off: its epoch no longer checks, and a write
	// transaction that checks first commits nothing.
	err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.CheckLease(ctx, renewed); err != nil {
			return err
		}
		return tx.PutState(ctx, "fenced", []byte("written by a stale holder"))
	})
	require.ErrorIs(t, err, store.ErrLeaseLost)
	view(t, s, func(tx store.Tx) error {
		_, err := tx.GetState(ctx, "fenced")
		require.ErrorIs(t, err, store.ErrNotFound)
		return nil
	})
	stolen := l
	stolen.Holder = "replica-a"
	require.ErrorIs(t, s.View(ctx, func(tx store.Tx) error { return tx.CheckLease(ctx, stolen) }), store.ErrLeaseLost)
	require.ErrorIs(t, s.View(ctx, func(tx store.Tx) error {
		return tx.CheckLease(ctx, store.Lease{Name: "never", Holder: "replica-a", Epoch: 1})
	}), store.ErrLeaseLost)
	update(t, s, func(tx store.Tx) error { return tx.CheckLease(ctx, l) })

	// A holder that released and re-acquires also gets a new epoch: the lease
	// passed through "nobody" in between.
	require.NoError(t, s.ReleaseLease(ctx, "leader", "replica-b"))
	l, ok = tryLease(t, s, "leader", "replica-b", time.Hour)
	require.True(t, ok)
	require.Equal(t, int64(3), l.Epoch)
}

func testLeaseExpiry(t *testing.T, s store.Store) {
	// Long enough that a loaded machine does not let the lease lapse before the
	// refusal below is checked.
	const ttl = 1500 * time.Millisecond
	l, ok := tryLease(t, s, "leader", "replica-a", ttl)
	require.True(t, ok)
	require.Equal(t, int64(1), l.Epoch)
	_, ok = tryLease(t, s, "leader", "replica-b", time.Hour)
	require.False(t, ok)

	// Expires is on the store's clock (the database's, for PostgreSQL), which
	// on a test machine is this one's.
	time.Sleep(time.Until(l.Expires) + 200*time.Millisecond)

	// Expired: another holder takes over with a higher epoch.
	l, ok = tryLease(t, s, "leader", "replica-b", time.Hour)
	require.True(t, ok)
	require.Equal(t, "replica-b", l.Holder)
	require.Equal(t, int64(2), l.Epoch)

	// The old holder is now refused.
	l, ok = tryLease(t, s, "leader", "replica-a", time.Hour)
	require.False(t, ok)
	require.Equal(t, "replica-b", l.Holder)
	require.Equal(t, int64(2), l.Epoch)
}
