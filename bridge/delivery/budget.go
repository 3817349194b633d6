package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// BudgetKey is the store state document holding the request budget.
const BudgetKey = "delivery.budget"

// ErrBudgetExhausted is returned by a non-blocking Acquire when the budget has no
// request to give at that priority now.
var ErrBudgetExhausted = errors.New("request budget exhausted")

// Budget is the account's request budget shared by every replica: a Bucket kept
// in the store and changed only inside store transactions, so a restart does not
// refill it and two replicas cannot both spend the same request. It implements
// downstream.Gate: every request the client sends takes one request from it, and
// every response's rate-limit headers correct it.
//
// Removals may spend the whole budget; additions, repairs and reads may not
// touch the reserve (a share of the capacity kept so that a leaver never waits
// behind joiners). The reserve is a share of the effective capacity: the
// configured limit, or the quota BigCommerce states in
// X-Rate-Limit-Requests-Quota when that is smaller (a reserve computed from a
// configured 70 against a real quota of 5 would leave joiners nothing).
type Budget struct {
	store  store.Store
	limit  int
	window time.Duration
	share  float64 // configured reserve share
	now    func() time.Time
	log    *zap.Logger

	mu        sync.Mutex
	last      Bucket  // the bucket as of the last transaction, for status and metrics
	minShare  float64 // reserve share raised by SetReserve (0: the configured one)
	warnedFor int     // the server quota last warned about
}

// NewBudget returns the budget for limit requests per window, keeping reserve
// (a share of the capacity, 0..1) for removals.
func NewBudget(st store.Store, limit int, window time.Duration, reserve float64, now func() time.Time, log *zap.Logger) *Budget {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	return &Budget{store: st, limit: limit, window: window, share: reserve, now: now, log: log.Named("budget"),
		last: NewBucket(limit, window, now())}
}

// SetReserve sets the share of the budget kept for removals to the larger of
// share and the configured one. The delivery engine raises it while BigCommerce
// refuses multi-mutation documents (then every removal costs a request of its
// own) and lowers it back when batching works again.
func (b *Budget) SetReserve(share float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.minShare = share
}

// Reserve returns the number of requests kept for removals: the reserve share
// of the effective capacity.
func (b *Budget) Reserve() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return max(b.minShare, b.share) * b.last.EffectiveCapacity()
}

// Floor is how many requests a request of priority p must leave in the
// bucket: removals may spend everything; additions and id lookups must leave
// the reserve; reconciliation repairs and reads (the lowest priority) must also
// leave a tenth of the capacity (at least 2 requests, at most half of what is
// not reserved), so a backlog of joiners, which keeps the bucket near the
// reserve, goes first.
func (b *Budget) Floor(p downstream.Priority) float64 {
	switch {
	case isRemoval(p):
		return 0
	case p == downstream.PriorityRepair || p == downstream.PriorityRead:
		reserve := b.Reserve()
		b.mu.Lock()
		capacity := b.last.EffectiveCapacity()
		b.mu.Unlock()
		extra := min(max(2, 0.1*capacity), max(0, capacity-reserve)/2)
		return reserve + extra
	default:
		return b.Reserve()
	}
}

// Headroom returns, as of the last transaction, how many requests a request
// of priority p could spend at now without going below its floor, and the
// effective capacity above that floor (what a full bucket would offer).
func (b *Budget) Headroom(now time.Time, p downstream.Priority) (spare, full float64) {
	floor := b.Floor(p)
	b.mu.Lock()
	bk := b.last
	b.mu.Unlock()
	return bk.Available(now) - floor, bk.EffectiveCapacity() - floor
}

// update loads the bucket, applies fn and saves it, in one transaction.
func (b *Budget) update(ctx context.Context, fn func(*Bucket, time.Time)) (Bucket, error) {
	var out Bucket
	err := b.store.Update(ctx, func(tx store.Tx) error {
		now := b.now()
		bk, err := b.load(ctx, tx, now)
		if err != nil {
			return err
		}
		fn(&bk, now)
		raw, err := json.Marshal(bk)
		if err != nil {
			return fmt.Errorf("encode budget: %w", err)
		}
		out = bk
		return tx.PutState(ctx, BudgetKey, raw)
	})
	if err == nil {
		b.mu.Lock()
		b.last = out
		b.mu.Unlock()
	}
	return out, err
}

func (b *Budget) load(ctx context.Context, tx store.Tx, now time.Time) (Bucket, error) {
	raw, err := tx.GetState(ctx, BudgetKey)
	if errors.Is(err, store.ErrNotFound) {
		return NewBucket(b.limit, b.window, now), nil
	}
	if err != nil {
		return Bucket{}, fmt.Errorf("read budget: %w", err)
	}
	var bk Bucket
	if err := json.Unmarshal(raw, &bk); err != nil {
		b.log.Warn("stored budget unreadable; starting from an empty bucket")
		bk = NewBucket(b.limit, b.window, now)
		bk.Tokens = 0
	}
	// The configured limit wins over a stored one; never hand out more than the
	// new capacity.
	if bk.Capacity != float64(b.limit) || bk.Window != b.window {
		bk.advance(now)
		bk.Capacity, bk.Window = float64(b.limit), b.window
		bk.Tokens = math.Min(bk.Tokens, bk.Capacity)
	}
	return bk, nil
}

// TryTake spends one request at priority p if the budget allows it now. When it
// does not, it returns the earliest time it could.
func (b *Budget) TryTake(ctx context.Context, p downstream.Priority) (bool, time.Time, error) {
	var (
		ok    bool
		ready time.Time
	)
	floor := b.Floor(p)
	_, err := b.update(ctx, func(bk *Bucket, now time.Time) {
		ok = bk.Take(now, floor)
		if !ok {
			ready = bk.ReadyAt(now, floor)
		}
	})
	return ok, ready, err
}

// Observe implements downstream.Gate: it corrects the budget with a response's
// rate-limit information. A 429 pauses the budget, with or without headers.
func (b *Budget) Observe(info downstream.RateInfo) {
	if !info.HasHeaders && info.Status != 429 && b.Last().Throttles == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bk, err := b.update(ctx, func(bk *Bucket, now time.Time) {
		bk.ObserveQuota(now, info.Status, info.HasHeaders, info.Left, info.Quota, info.Window, info.Reset, info.Wait())
	})
	if err != nil {
		b.log.Error("record rate-limit headers", zap.Error(err))
		return
	}
	b.warnQuota(bk)
}

// warnQuota logs once per distinct server quota that differs from the
// configured limit.
func (b *Budget) warnQuota(bk Bucket) {
	if bk.ServerQuota == 0 || bk.ServerWindow == 0 {
		return
	}
	configured := float64(b.limit) / b.window.Hours()
	observed := float64(bk.ServerQuota) / bk.ServerWindow.Hours()
	if math.Abs(configured-observed) < 1e-6 {
		return
	}
	b.mu.Lock()
	warned := b.warnedFor == bk.ServerQuota
	b.warnedFor = bk.ServerQuota
	b.mu.Unlock()
	if warned {
		return
	}
	b.log.Warn("BigCommerce states a different request quota than configured",
		zap.Int("configured_requests", b.limit), zap.Duration("configured_window", b.window),
		zap.Int("server_requests", bk.ServerQuota), zap.Duration("server_window", bk.ServerWindow),
		zap.Bool("following_server", observed < configured))
}

// Quota describes the configured and the observed request quota.
type Quota struct {
	ConfiguredRequests int      `json:"configuredRequests"`
	ConfiguredWindow   Duration `json:"configuredWindow"`
	ServerRequests     int      `json:"serverRequests,omitempty"`
	ServerWindow       Duration `json:"serverWindow,omitempty"`
	// Effective is the requests per configured window the budget works with.
	Effective float64 `json:"effective"`
	// Differs is set when the server states another rate than configured.
	Differs bool `json:"differs"`
}

// Duration is a time.Duration that encodes as its string form ("1h0m0s").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// Quota returns the configured and observed quota as of the last transaction.
func (b *Budget) Quota() Quota {
	bk := b.Last()
	q := Quota{ConfiguredRequests: b.limit, ConfiguredWindow: Duration(b.window), ServerRequests: bk.ServerQuota,
		ServerWindow: Duration(bk.ServerWindow), Effective: bk.EffectiveCapacity()}
	if bk.ServerQuota > 0 && bk.ServerWindow > 0 {
		q.Differs = math.Abs(float64(b.limit)/b.window.Seconds()-float64(bk.ServerQuota)/bk.ServerWindow.Seconds()) > 1e-9
	}
	return q
}

// Acquire implements downstream.Gate: it waits, in real time, until a
// request of priority p is available, and takes it.
func (b *Budget) Acquire(ctx context.Context, p downstream.Priority) error {
	for {
		ok, ready, err := b.TryTake(ctx, p)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		wait := min(max(ready.Sub(b.now()), 10*time.Millisecond), 5*time.Second)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Paid returns the gate of a caller that has already taken one request from
// the budget (the engine, which decides with TryTake whether to send at all):
// its first Acquire passes without spending; each later one (the halves of a
// split document, the pages of a lookup) takes a request if one is available
// now and fails with ErrBudgetExhausted otherwise, never waiting. Responses
// are observed by the budget.
func (b *Budget) Paid() downstream.Gate { return &paidGate{b: b, left: 1} }

type paidGate struct {
	b    *Budget
	mu   sync.Mutex
	left int
}

func (g *paidGate) Acquire(ctx context.Context, p downstream.Priority) error {
	g.mu.Lock()
	paid := g.left > 0
	if paid {
		g.left--
	}
	g.mu.Unlock()
	if paid {
		return nil
	}
	ok, _, err := g.b.TryTake(ctx, p)
	switch {
	case err != nil:
		return err
	case !ok:
		return ErrBudgetExhausted
	}
	return nil
}

func (g *paidGate) Observe(info downstream.RateInfo) { g.b.Observe(info) }

// Snapshot returns the bucket as of now without spending.
func (b *Budget) Snapshot(ctx context.Context) (Bucket, error) {
	return b.update(ctx, func(*Bucket, time.Time) {})
}

// Last returns the bucket as of the last transaction (no store access).
func (b *Budget) Last() Bucket {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}
