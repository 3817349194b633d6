package delivery

import (
	"math"
	"time"
)

// Bucket is the account's request budget as the bridge models it: a token bucket
// of Capacity tokens refilled at Capacity per Window, corrected by what
// BigCommerce says in its rate-limit headers. It is a plain value (the Budget
// persists it in the store between requests); its methods take the time
// explicitly so it can be driven by a simulated clock.
//
// BigCommerce counts requests in windows of its own. The bucket alone could
// spend up to twice the quota in a window (a full bucket at the end of one window
// plus the refill), so it also remembers the server's "requests left" until the
// server's window resets, and never offers more than that.
//
// When the server states a quota (X-Rate-Limit-Requests-Quota) that is
// smaller than the configured capacity, shares of the budget (the reserve
// kept for removals) are taken of the server's quota instead (see
// EffectiveCapacity): a reserve of 15 % of a configured 70 would be more than
// a real quota of 5. The server's "requests left" already keeps the bucket
// from spending more than the server gives.
type Bucket struct {
	Capacity float64       `json:"capacity"`
	Window   time.Duration `json:"window"`
	Tokens   float64       `json:"tokens"`
	Updated  time.Time     `json:"updated"`
	// PausedUntil is set by a 429: nothing may be sent before it.
	PausedUntil time.Time `json:"pausedUntil,omitzero"`
	// ServerLeft is the server's last "requests left" (valid until ServerReset);
	// negative when unknown.
	ServerLeft  int       `json:"serverLeft"`
	ServerReset time.Time `json:"serverReset,omitzero"`
	// ServerQuota and ServerWindow are the quota the server last stated (0 when
	// it never did).
	ServerQuota  int           `json:"serverQuota,omitempty"`
	ServerWindow time.Duration `json:"serverWindow,omitempty"`
	// Throttles counts 429s in a row that came without rate-limit headers
	// (BigCommerce: the platform is under high load); each pauses twice as long
	// as the one before.
	Throttles int `json:"throttles,omitempty"`
}

// NewBucket returns a full bucket for n requests per window.
func NewBucket(n int, window time.Duration, now time.Time) Bucket {
	return Bucket{Capacity: float64(n), Window: window, Tokens: float64(n), Updated: now, ServerLeft: -1}
}

// EffectiveCapacity is the capacity shares of the budget are taken of: the
// configured capacity, or the server's stated quota when that is smaller.
func (b *Bucket) EffectiveCapacity() float64 {
	if b.ServerQuota > 0 {
		return math.Min(b.Capacity, float64(b.ServerQuota))
	}
	return b.Capacity
}

// rate is tokens per nanosecond.
func (b *Bucket) rate() float64 { return b.Capacity / float64(b.Window) }

// advance refills the bucket up to now and forgets server knowledge whose
// window has ended.
func (b *Bucket) advance(now time.Time) {
	if now.After(b.Updated) {
		b.Tokens = math.Min(b.Capacity, b.Tokens+float64(now.Sub(b.Updated))*b.rate())
		b.Updated = now
	}
	if b.ServerLeft >= 0 && !now.Before(b.ServerReset) {
		b.ServerLeft = -1
	}
}

// Available returns how many requests may be sent at now.
func (b Bucket) Available(now time.Time) float64 {
	b.advance(now)
	if now.Before(b.PausedUntil) {
		return 0
	}
	avail := b.Tokens
	if b.ServerLeft >= 0 {
		avail = math.Min(avail, float64(b.ServerLeft))
	}
	return avail
}

// Take spends one request if, after it, at least floor requests remain
// available; floor is how much of the budget this request may not touch (the
// reserve kept for removals). It reports whether it spent.
func (b *Bucket) Take(now time.Time, floor float64) bool {
	b.advance(now)
	if b.Available(now)-1 < floor-1e-9 {
		return false
	}
	b.Tokens--
	if b.ServerLeft > 0 {
		b.ServerLeft--
	}
	return true
}

// ReadyAt returns the earliest time a Take with this floor can succeed, assuming
// nothing else spends meanwhile.
func (b Bucket) ReadyAt(now time.Time, floor float64) time.Time {
	b.advance(now)
	t := now
	if now.Before(b.PausedUntil) {
		t = b.PausedUntil
	}
	if b.ServerLeft >= 0 && float64(b.ServerLeft)-1 < floor-1e-9 && b.ServerReset.After(t) {
		// The server will not give more before its window resets.
		t = b.ServerReset
	}
	need := floor + 1 - b.Tokens
	if need <= 0 {
		return t
	}
	refill := b.Updated.Add(time.Duration(math.Ceil(need / b.rate())))
	if refill.After(t) {
		t = refill
	}
	return t
}

// Header-less 429s pause for throttleBase, doubling with each one in a row, up
// to the window.
const throttleBase = 5 * time.Second

// Observe corrects the bucket with a response's rate-limit information.
// status is the HTTP status; left and reset come from X-Rate-Limit-Requests-Left
// and X-Rate-Limit-Time-Reset-Ms (hasHeaders false when absent); wait is how long
// a 429 asks to pause (the longer of X-Retry-After and the reset).
func (b *Bucket) Observe(now time.Time, status int, hasHeaders bool, left int, reset, wait time.Duration) {
	b.ObserveQuota(now, status, hasHeaders, left, 0, 0, reset, wait)
}

// ObserveQuota is Observe with the server's stated quota and window
// (X-Rate-Limit-Requests-Quota and X-Rate-Limit-Time-Window-Ms; 0 when absent).
func (b *Bucket) ObserveQuota(now time.Time, status int, hasHeaders bool, left, quota int, window, reset, wait time.Duration) {
	b.advance(now)
	if quota > 0 && window > 0 {
		b.ServerQuota, b.ServerWindow = quota, window
	}
	if status == 429 {
		if wait <= 0 {
			// No headers: BigCommerce says the platform is under high load and
			// the request may be retried later. Back off exponentially; a 429
			// to a request sent before the current pause began (several in
			// flight) does not double it again.
			if now.Before(b.PausedUntil) {
				return
			}
			wait = min(throttleBase<<min(b.Throttles, 10), b.Window)
			b.Throttles++
		} else {
			b.Throttles = 0
		}
		b.PausedUntil = now.Add(wait)
		b.Tokens = math.Min(b.Tokens, 0)
		b.ServerLeft, b.ServerReset = 0, now.Add(wait)
		return
	}
	b.Throttles = 0
	if !hasHeaders {
		return
	}
	b.ServerLeft, b.ServerReset = left, now.Add(reset)
	b.Tokens = math.Min(b.Tokens, float64(left))
}
