package reconcile

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/delivery"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"github.com/scim-bridge/scim-bridge/bridge/simclock"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// rig is the bridge (service, budget, client, delivery engine) wired to a
// simulator on a real store, plus an ungated client that plays the store owner
// changing BigCommerce by hand.
type rig struct {
	t      testing.TB
	clock  *simclock.Clock // shared by the simulator, the budget, the service, the engine and the runner
	sim    *simulator.Server
	base   string
	store  store.Store
	svc    *bridge.Service
	budget *delivery.Budget
	client *downstream.Client
	hand   *downstream.Client
	eng    *delivery.Engine
	logs   *observer.ObservedLogs
	log    *zap.Logger
	reg    *prometheus.Registry
}

type rigOpts struct {
	seed     *simulator.Seed
	rate     int
	pageSize int
}

func newRig(t testing.TB, st store.Store, o rigOpts) *rig {
	t.Helper()
	if o.rate == 0 {
		o.rate = 70
	}
	c := simclock.New(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	sim, err := simulator.New(simulator.Options{RateLimit: o.rate, RateWindow: time.Hour, Seed: o.seed, Now: c.Now})
	require.NoError(t, err)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(zapcore.NewTee(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Core(), core))
	budget := delivery.NewBudget(st, o.rate, time.Hour, 0.15, c.Now, log)
	client, err := downstream.New(downstream.Options{BaseURL: ts.URL, AccountUUID: sim.AccountUUID(), Token: simulator.DefaultToken,
		Gate: budget, Logger: log, PageSize: o.pageSize})
	require.NoError(t, err)
	hand, err := downstream.New(downstream.Options{BaseURL: ts.URL, AccountUUID: sim.AccountUUID(), Token: simulator.DefaultToken})
	require.NoError(t, err)
	svc, err := bridge.NewService(bridge.Options{Store: st, Now: c.Now, Mapping: bridge.Mapping{ByName: true}, Logger: log})
	require.NoError(t, err)
	eng, err := delivery.New(delivery.Options{Store: st, Client: client, Budget: budget, Service: svc, Logger: log, Now: c.Now,
		MaxBatch: 50, RemovalLinger: 5 * time.Second, AdditionLinger: 30 * time.Second, Rand: func() float64 { return 0.5 }})
	require.NoError(t, err)
	return &rig{t: t, clock: c, sim: sim, base: ts.URL, store: st, svc: svc, budget: budget, client: client, hand: hand,
		eng: eng, logs: logs, log: log, reg: prometheus.NewRegistry()}
}

// runner returns a reconciliation runner on the rig's clock and budget.
func (r *rig) runner(p Policy) *Runner {
	r.t.Helper()
	run, err := New(Options{Store: r.store, Service: r.svc, Client: r.client, Policy: p, Logger: r.log,
		Metrics: NewMetrics(r.reg), Now: r.clock.Now, PageSize: 0})
	require.NoError(r.t, err)
	return run
}

// drain steps the delivery engine, jumping the clock to each wake-up, until the
// outbox is empty.
func (r *rig) drain() {
	r.t.Helper()
	start := r.clock.Now()
	for r.clock.Now().Sub(start) < 6*time.Hour {
		next, err := r.eng.Step(r.t.Context())
		require.NoError(r.t, err)
		if r.pendingIntents() == 0 {
			return
		}
		if next.After(r.clock.Now()) {
			r.clock.Set(next)
		}
	}
	r.t.Fatalf("outbox not drained: %d pending", r.pendingIntents())
}

func (r *rig) pendingIntents() int {
	return len(r.intents(store.IntentPending))
}

func (r *rig) intents(states ...store.IntentState) []store.Intent {
	r.t.Helper()
	var out []store.Intent
	require.NoError(r.t, r.store.View(r.t.Context(), func(tx store.Tx) error {
		var err error
		out, err = tx.ListIntents(r.t.Context(), store.IntentFilter{States: states})
		return err
	}))
	return out
}

func (r *rig) user(email string, active bool) string {
	r.t.Helper()
	v, err := r.svc.CreateUser(r.t.Context(), map[string]any{"userName": email, "active": active, "externalId": "okta-" + email[:3]})
	require.NoError(r.t, err)
	return v.ID
}

func (r *rig) setActive(id string, active bool) {
	r.t.Helper()
	_, err := r.svc.UpdateUser(r.t.Context(), id, nil, func(cur bridge.UserView) (map[string]any, error) {
		a := map[string]any{}
		for k, v := range cur.Attributes {
			a[k] = v
		}
		a["active"] = active
		return a, nil
	})
	require.NoError(r.t, err)
}

func (r *rig) group(name string, members ...string) string {
	r.t.Helper()
	v, err := r.svc.CreateGroup(r.t.Context(), map[string]any{"displayName": name}, members)
	require.NoError(r.t, err)
	return v.ID
}

// byHand sends mutations to the simulator directly, as a store owner would in
// the control panel, and requires each to apply.
func (r *rig) byHand(ops ...downstream.Op) {
	r.t.Helper()
	b, err := r.hand.Apply(r.t.Context(), downstream.PriorityRepair, ops)
	require.NoError(r.t, err)
	for _, res := range b.Results {
		require.Equal(r.t, downstream.Applied, res.Outcome, "%s: %v", res.Op.Kind, res.Err)
	}
}

// bcID returns the simulator's id of a user.
func (r *rig) bcID(email string) string {
	r.t.Helper()
	for _, u := range r.sim.Snapshot().Users {
		if strings.EqualFold(u.Email, email) {
			return u.ID
		}
	}
	r.t.Fatalf("no such BigCommerce user")
	return ""
}

// bc returns the simulator's users by email with the hashes of their stores.
func (r *rig) bc() map[string][]string {
	out := map[string][]string{}
	for _, u := range r.sim.Snapshot().Users {
		out[u.Email] = sortedKeys(u.Stores)
	}
	return out
}

// storeState is everything a run may write, to check that a run wrote nothing.
type storeState struct {
	Intents []store.Intent
	Known   []store.BCUser
	Audit   []store.AuditEvent
	Catalog []bridge.CatalogStore
	Snap    string
}

func (r *rig) storeState() storeState {
	r.t.Helper()
	var s storeState
	require.NoError(r.t, r.store.View(r.t.Context(), func(tx store.Tx) error {
		var err error
		if s.Intents, err = tx.ListIntents(r.t.Context(), store.IntentFilter{}); err != nil {
			return err
		}
		if s.Known, err = tx.ListBCUsers(r.t.Context()); err != nil {
			return err
		}
		if s.Audit, err = tx.ListAudit(r.t.Context(), 1000); err != nil {
			return err
		}
		if s.Catalog, err = bridge.LoadCatalog(r.t.Context(), tx); err != nil {
			return err
		}
		raw, err := tx.GetState(r.t.Context(), known.SnapshotKey)
		if err == nil {
			s.Snap = string(raw)
		}
		return nil
	}))
	return s
}

// metric returns the value of a gauge or counter with the given labels.
func (r *rig) metric(name string, labels ...string) float64 {
	r.t.Helper()
	families, err := r.reg.Gather()
	require.NoError(r.t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	r.t.Fatalf("metric %s%v not found", name, labels)
	return 0
}

// requireNoPersonalData checks that no log entry carries an email.
func (r *rig) requireNoPersonalData() {
	r.t.Helper()
	for _, e := range r.logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		require.NotContains(r.t, line, "@", "log entry %q carries an email", e.Message)
	}
}

// gateFunc is a downstream.Gate that runs a hook before the nth request.
type gateFunc struct {
	inner downstream.Gate
	mu    sync.Mutex
	n     int
	at    int
	hook  func()
}

func (g *gateFunc) Acquire(ctx context.Context, p downstream.Priority) error {
	g.mu.Lock()
	g.n++
	if g.n == g.at && g.hook != nil {
		g.hook()
	}
	g.mu.Unlock()
	return g.inner.Acquire(ctx, p)
}

func (g *gateFunc) Observe(info downstream.RateInfo) { g.inner.Observe(info) }

func newSQLite(t testing.TB) store.Store { return storetest.NewSQLite(t) }

func backends(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.New(t)) })
	}
}
