// Package simclock is a simulated clock for tests and the delivery benchmark:
// its time moves only when the caller moves it, so code that takes a Now
// function (and, where it waits, an After or Tick function) runs
// deterministically and as fast as the machine allows.
//
// A Clock is safe for concurrent use. Its zero value is a clock standing at
// the zero time.Time, ready to use; New starts it elsewhere.
package simclock

import (
	"sync"
	"time"
)

// Clock is a simulated clock. Now reports its time; Advance and Set move it
// forward (never back), firing the channels of After and Tick whose time has
// come.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*waiter
}

// waiter is a channel returned by After (period 0) or Tick.
type waiter struct {
	at     time.Time
	period time.Duration
	c      chan time.Time
}

// New returns a clock standing at start.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now returns the clock's time. It has the signature of time.Now, so c.Now
// can be passed wherever a clock function is expected.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d; a d of zero or less does nothing.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moveTo(c.now.Add(d))
}

// Set moves the clock to t if t is later than its time and does nothing
// otherwise: simulated time, like real time, never goes back, so several
// callers that each jump to the next deadline they know of cannot undo each
// other's jumps.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.moveTo(t)
}

// After is time.After on the simulated clock: the channel receives the
// clock's time once the clock has reached d from now (at once when d <= 0).
func (c *Clock) After(d time.Duration) <-chan time.Time {
	return c.add(d, 0)
}

// Tick is time.Tick on the simulated clock: the channel receives the clock's
// time each time the clock passes another multiple of d from now. Like a
// time.Ticker it holds one tick, and drops ticks a slow receiver has not
// taken; a jump over several periods delivers one tick. Tick panics if d <= 0.
func (c *Clock) Tick(d time.Duration) <-chan time.Time {
	if d <= 0 {
		panic("simclock: non-positive Tick period")
	}
	return c.add(d, d)
}

func (c *Clock) add(d, period time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &waiter{at: c.now.Add(d), period: period, c: make(chan time.Time, 1)}
	c.waiters = append(c.waiters, w)
	c.fire()
	return w.c
}

// moveTo moves the clock to t if t is later; c.mu is held.
func (c *Clock) moveTo(t time.Time) {
	if !t.After(c.now) {
		return
	}
	c.now = t
	c.fire()
}

// fire delivers to every waiter whose time has come, forgets the fired After
// channels and schedules each ticker's next tick; c.mu is held. Sends never
// block: each channel has room for one value, and a ticker whose last tick is
// still unread drops the new one, as time.Ticker does.
func (c *Clock) fire() {
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		select {
		case w.c <- c.now:
		default:
		}
		if w.period > 0 {
			w.at = w.at.Add((c.now.Sub(w.at)/w.period + 1) * w.period)
			kept = append(kept, w)
		}
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}
