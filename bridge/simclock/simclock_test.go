package simclock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var start = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func TestNowAdvanceSet(t *testing.T) {
	var zero Clock
	require.True(t, zero.Now().IsZero(), "the zero value stands at the zero time")

	c := New(start)
	require.Equal(t, start, c.Now())
	c.Advance(time.Minute)
	require.Equal(t, start.Add(time.Minute), c.Now())
	c.Advance(-time.Hour)
	require.Equal(t, start.Add(time.Minute), c.Now(), "Advance never goes back")
	c.Set(start)
	require.Equal(t, start.Add(time.Minute), c.Now(), "Set never goes back")
	c.Set(start.Add(time.Hour))
	require.Equal(t, start.Add(time.Hour), c.Now())
}

// received returns the value waiting on ch, if any, without blocking.
func received(ch <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-ch:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestAfter(t *testing.T) {
	c := New(start)
	ch := c.After(time.Second)
	c.Advance(999 * time.Millisecond)
	_, ok := received(ch)
	require.False(t, ok, "not yet")
	c.Advance(time.Millisecond)
	v, ok := received(ch)
	require.True(t, ok)
	require.Equal(t, start.Add(time.Second), v)
	c.Advance(time.Hour)
	_, ok = received(ch)
	require.False(t, ok, "After fires once")

	v, ok = received(c.After(0))
	require.True(t, ok, "a wait of zero is over at once")
	require.Equal(t, c.Now(), v)
}

func TestTick(t *testing.T) {
	c := New(start)
	ch := c.Tick(10 * time.Second)
	c.Advance(10 * time.Second)
	v, ok := received(ch)
	require.True(t, ok)
	require.Equal(t, start.Add(10*time.Second), v)

	c.Advance(35 * time.Second) // passes three ticks: the channel holds one
	v, ok = received(ch)
	require.True(t, ok)
	require.Equal(t, start.Add(45*time.Second), v)
	_, ok = received(ch)
	require.False(t, ok, "ticks a receiver missed are dropped")

	c.Advance(4 * time.Second) // t=49s: the next tick is due at 50s
	_, ok = received(ch)
	require.False(t, ok)
	c.Advance(time.Second)
	_, ok = received(ch)
	require.True(t, ok, "ticks stay on the period's grid")

	require.Panics(t, func() { c.Tick(0) })
}
