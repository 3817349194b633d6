package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/simclock"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// backlog appends n pending account additions in batches.
func backlog(tb testing.TB, st store.Store, n int) {
	tb.Helper()
	const chunk = 5000
	for i := 0; i < n; i += chunk {
		batch := make([]store.Intent, 0, chunk)
		for j := i; j < min(n, i+chunk); j++ {
			batch = append(batch, store.Intent{Kind: store.AccountAdd, Email: fmt.Sprintf("user%07d@example.com", j), UserID: fmt.Sprintf("u%07d", j), Source: store.SourceSCIM})
		}
		require.NoError(tb, st.Update(tb.Context(), func(tx store.Tx) error {
			_, err := tx.AppendIntents(tb.Context(), batch)
			return err
		}))
	}
}

// exhaust spends the whole budget, so nothing can be delivered.
func exhaust(tb testing.TB, b *Budget) {
	tb.Helper()
	for {
		ok, _, err := b.TryTake(tb.Context(), downstream.PriorityAccountRemoval)
		require.NoError(tb, err)
		if !ok {
			return
		}
	}
}

// BenchmarkIdleStep times one step of an engine whose outbox holds a large
// backlog it cannot deliver (the budget is spent) while nothing changes: the
// state an idle bridge sits in, stepping once per PollInterval.
func BenchmarkIdleStep(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st := storetest.NewSQLite(b)
			r := newBenchRig(b, st)
			backlog(b, st, n)
			exhaust(b, r.budget)
			for range 3 {
				_, err := r.eng.Step(b.Context())
				require.NoError(b, err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := r.eng.Step(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// idleRig is an engine on a simulator and a simulated clock, for tests and
// benchmarks that take a testing.TB.
type idleRig struct {
	clock  *simclock.Clock
	store  store.Store
	budget *Budget
	eng    *Engine
	svc    *bridge.Service
	sim    *simulator.Server
}

func newBenchRig(tb testing.TB, st store.Store, opts ...func(*Options)) *idleRig {
	tb.Helper()
	c := simclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	sim, err := simulator.New(simulator.Options{RateLimit: 70, RateWindow: time.Hour, Now: c.Now})
	require.NoError(tb, err)
	ts := httptest.NewServer(sim)
	tb.Cleanup(ts.Close)
	log := zap.NewNop()
	budget := NewBudget(st, 70, time.Hour, 0.15, c.Now, log)
	client, err := downstream.New(downstream.Options{BaseURL: ts.URL, AccountUUID: sim.AccountUUID(), Token: simulator.DefaultToken, Gate: budget, Logger: log})
	require.NoError(tb, err)
	svc, err := bridge.NewService(bridge.Options{Store: st, Now: c.Now, Mapping: bridge.Mapping{ByName: true}, Logger: log})
	require.NoError(tb, err)
	o := Options{Store: st, Client: client, Budget: budget, Service: svc, Logger: log, Now: c.Now,
		MaxBatch: 50, RemovalLinger: 5 * time.Second, AdditionLinger: 30 * time.Second, Rand: func() float64 { return 0.5 }}
	for _, opt := range opts {
		opt(&o)
	}
	eng, err := New(o)
	require.NoError(tb, err)
	return &idleRig{clock: c, store: st, budget: budget, eng: eng, svc: svc, sim: sim}
}

// countingStore counts the reads of the outbox window's pending intents.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	lists int
}

type countingTx struct {
	store.Tx
	s *countingStore
}

func (s *countingStore) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.View(ctx, func(tx store.Tx) error { return fn(countingTx{tx, s}) })
}

func (s *countingStore) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(countingTx{tx, s}) })
}

func (s *countingStore) count() int { s.mu.Lock(); defer s.mu.Unlock(); return s.lists }

func (t countingTx) PendingIntentsOf(ctx context.Context, emails []string) ([]store.Intent, error) {
	t.s.mu.Lock()
	t.s.lists++
	t.s.mu.Unlock()
	return t.Tx.PendingIntentsOf(ctx, emails)
}

// An engine that cannot deliver its backlog re-reads the outbox only when
// something it plans on changed: an intent appended (by any replica, without
// Notify), an intent retried, the known state written, Notify, or a minute.
func TestIdleEngineReadsTheOutboxOnlyOnChange(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			raw := b.New(t)
			st := &countingStore{Store: raw}
			r := newBenchRig(t, st)
			backlog(t, raw, 200)
			exhaust(t, r.budget)
			step := func() time.Time {
				t.Helper()
				next, err := r.eng.Step(t.Context())
				require.NoError(t, err)
				return next
			}
			step()
			lists := st.count()
			require.Positive(t, lists)
			for range 20 {
				r.clock.Advance(time.Second)
				require.True(t, step().After(r.clock.Now()), "the budget is spent: nothing to do now")
			}
			require.Equal(t, lists, st.count(), "nothing changed: the cached plan is used")

			changes := []struct {
				name string
				fn   func()
			}{
				{"append", func() { backlog(t, raw, 201) }},
				{"notify", r.eng.Notify},
				{"known", func() {
					require.NoError(t, raw.Update(t.Context(), func(tx store.Tx) error {
						return tx.PutBCUser(t.Context(), store.BCUser{Email: "user0000001@example.com", UpdatedAt: r.clock.Now()})
					}))
				}},
				{"dead letter retried", func() {
					var in store.Intent
					require.NoError(t, raw.Update(t.Context(), func(tx store.Tx) error {
						pending, err := tx.ListIntents(t.Context(), store.IntentFilter{States: []store.IntentState{store.IntentPending}, Limit: 1})
						in = pending[0]
						in.State, in.DoneAt = store.IntentDead, r.clock.Now()
						return errors.Join(err, tx.UpdateIntent(t.Context(), in, store.IntentPending))
					}))
					step()
					lists = st.count()
					r.clock.Advance(time.Second)
					require.NoError(t, raw.Update(t.Context(), func(tx store.Tx) error {
						in.State, in.DoneAt, in.Attempts = store.IntentPending, time.Time{}, 0
						return tx.UpdateIntent(t.Context(), in, store.IntentDead)
					}))
				}},
				{"a minute", func() { r.clock.Advance(time.Minute) }},
			}
			for _, c := range changes {
				// Past the engine's shortest time between two reads.
				r.clock.Advance(time.Second)
				lists = st.count()
				c.fn()
				lists = st.count()
				step()
				require.Equal(t, lists+1, st.count(), "%s: the outbox is read again", c.name)
				step()
				require.Equal(t, lists+1, st.count(), "%s: and then cached again", c.name)
			}
		})
	}
}

// A cached plan still delivers what becomes due: once the budget refills,
// the backlog drains as it would without the cache.
func TestIdleEngineDeliversWhenTheBudgetRefills(t *testing.T) {
	st := storetest.NewSQLite(t)
	r := newBenchRig(t, st)
	backlog(t, st, 120)
	exhaust(t, r.budget)
	for range 10 {
		next, err := r.eng.Step(t.Context())
		require.NoError(t, err)
		r.clock.Set(next)
	}
	start := r.clock.Now()
	for r.clock.Now().Sub(start) < 3*time.Hour {
		next, err := r.eng.Step(t.Context())
		require.NoError(t, err)
		var n int
		require.NoError(t, st.View(t.Context(), func(tx store.Tx) error {
			n, err = tx.CountIntents(t.Context(), store.IntentPending)
			return err
		}))
		if n == 0 {
			return
		}
		r.clock.Set(next)
	}
	t.Fatal("backlog not delivered")
}
