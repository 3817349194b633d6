package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

func TestBucketRefillAndFloor(t *testing.T) {
	b := NewBucket(70, time.Hour, t0)
	// Additions keep a reserve of 10: they may take 60 of the 70.
	for i := range 60 {
		require.True(t, b.Take(t0, 10), "take %d", i)
	}
	require.False(t, b.Take(t0, 10), "the reserve is not for additions")
	// Removals may spend the reserve.
	for i := range 10 {
		require.True(t, b.Take(t0, 0), "removal %d", i)
	}
	require.False(t, b.Take(t0, 0), "empty")
	// One token per 3600/70 s = 51.43 s.
	ready := b.ReadyAt(t0, 0)
	require.InDelta(t, (3600.0 / 70), ready.Sub(t0).Seconds(), 0.01)
	require.False(t, b.Take(ready.Add(-time.Millisecond), 0))
	require.True(t, b.Take(ready, 0))
	// An addition must wait until 11 tokens are there: 11 refills.
	require.InDelta(t, 11*(3600.0/70), b.ReadyAt(ready, 10).Sub(ready).Seconds(), 0.01)
}

func TestBucketNeverExceedsCapacity(t *testing.T) {
	b := NewBucket(5, time.Minute, t0)
	require.InDelta(t, 5, b.Available(t0.Add(time.Hour)), 1e-9)
}

func TestBucketFollowsServerLeft(t *testing.T) {
	b := NewBucket(70, time.Hour, t0)
	// Another client spent most of the server's window: 3 left, reset in 20 min.
	b.Observe(t0, 200, true, 3, 20*time.Minute, 0)
	require.InDelta(t, 3, b.Available(t0), 1e-9)
	require.True(t, b.Take(t0, 0))
	require.True(t, b.Take(t0, 0))
	require.True(t, b.Take(t0, 0))
	require.False(t, b.Take(t0, 0), "the server has nothing left in this window")
	require.Equal(t, t0.Add(20*time.Minute), b.ReadyAt(t0, 0), "ready when the server's window resets")
	// After the reset the bucket's own state rules again.
	require.True(t, b.Take(t0.Add(20*time.Minute), 0))
}

func TestBucketPausesOn429(t *testing.T) {
	b := NewBucket(70, time.Hour, t0)
	b.Observe(t0, 429, true, 0, 90*time.Second, 90*time.Second)
	require.False(t, b.Take(t0.Add(89*time.Second), 0))
	require.Equal(t, t0.Add(90*time.Second), b.ReadyAt(t0, 0).Truncate(time.Second).Add(0))
	require.True(t, b.Take(t0.Add(91*time.Second), 0), "tokens refilled during the pause")
}
