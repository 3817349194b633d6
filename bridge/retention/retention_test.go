package retention

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

var now = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// fill appends, for each state, old (settled 40 days ago) and recent
// (settled a day ago) intents, plus audit events of both ages.
func fill(t *testing.T, st store.Store, perKind int) {
	t.Helper()
	old, recent := now.Add(-40*24*time.Hour), now.Add(-24*time.Hour)
	require.NoError(t, st.Update(t.Context(), func(tx store.Tx) error {
		var intents []store.Intent
		for _, state := range []store.IntentState{store.IntentPending, store.IntentDone, store.IntentSuperseded, store.IntentDead} {
			for i := range perKind {
				for _, at := range []time.Time{old, recent} {
					in := store.Intent{Kind: store.AccountAdd, Email: fmt.Sprintf("%s%d@x.io", state, i), Source: store.SourceSCIM,
						CreatedAt: old, State: state}
					if state != store.IntentPending {
						in.DoneAt = at
					}
					intents = append(intents, in)
				}
			}
		}
		if _, err := tx.AppendIntents(t.Context(), intents); err != nil {
			return err
		}
		for i := range perKind {
			for _, at := range []time.Time{now.Add(-500 * 24 * time.Hour), recent} {
				if err := tx.AppendAudit(t.Context(), store.AuditEvent{Time: at, Actor: "delivery", Action: fmt.Sprint("a", i)}); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}

func counts(t *testing.T, st store.Store) (map[store.IntentState]int, int) {
	t.Helper()
	by := map[store.IntentState]int{}
	var audit int
	require.NoError(t, st.View(t.Context(), func(tx store.Tx) error {
		for _, s := range []store.IntentState{store.IntentPending, store.IntentDone, store.IntentSuperseded, store.IntentDead} {
			n, err := tx.CountIntents(t.Context(), s)
			if err != nil {
				return err
			}
			by[s] = n
		}
		ev, err := tx.ListAudit(t.Context(), -1)
		audit = len(ev)
		return err
	}))
	return by, audit
}

func TestPruneDeletesOnlyExpiredSettledRows(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.New(t)
			fill(t, st, 5)
			reg := prometheus.NewRegistry()
			p, err := New(Options{Store: st, Intents: 30 * 24 * time.Hour, Audit: 400 * 24 * time.Hour, Batch: 2,
				Pause: time.Millisecond, Now: func() time.Time { return now }, Registerer: reg})
			require.NoError(t, err)
			res, err := p.Once(t.Context())
			require.NoError(t, err)
			require.Equal(t, Result{KindDone: 5, KindSuperseded: 5, KindDead: 5, KindAudit: 5}, res)
			by, audit := counts(t, st)
			require.Equal(t, map[store.IntentState]int{store.IntentPending: 10, store.IntentDone: 5, store.IntentSuperseded: 5, store.IntentDead: 5}, by,
				"pending intents stay whatever their age; settled ones stay within the retention")
			require.Equal(t, 5, audit)
			for _, k := range []string{KindDone, KindSuperseded, KindDead, KindAudit} {
				require.Equal(t, 5.0, testutil.ToFloat64(p.pruned.WithLabelValues(k)), k)
			}

			// A second pass finds nothing; a later clock finds the rest.
			res, err = p.Once(t.Context())
			require.NoError(t, err)
			require.Zero(t, res[KindDone]+res[KindSuperseded]+res[KindDead]+res[KindAudit])
			p.o.Now = func() time.Time { return now.Add(400 * 24 * time.Hour) }
			_, err = p.Once(t.Context())
			require.NoError(t, err)
			by, audit = counts(t, st)
			require.Equal(t, map[store.IntentState]int{store.IntentPending: 10, store.IntentDone: 0, store.IntentSuperseded: 0, store.IntentDead: 0}, by)
			require.Zero(t, audit)
		})
	}
}

func TestPruneRespectsTheFloorAndZeroRetention(t *testing.T) {
	st := storetest.NewSQLite(t)
	fill(t, st, 3)
	all := 0
	require.NoError(t, st.View(t.Context(), func(tx store.Tx) error {
		s, err := tx.OutboxStamp(t.Context())
		all = int(s.MaxSeq)
		return err
	}))
	// Nothing at or below the floor is settled-and-old except the first
	// intents of the done kind (pending ones come first in fill).
	floor := int64(6 + 2)
	p, err := New(Options{Store: st, Intents: 30 * 24 * time.Hour, Floor: func() int64 { return floor },
		Now: func() time.Time { return now }})
	require.NoError(t, err)
	res, err := p.Once(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, res[KindDone], "only the old done intent at or below the floor")
	require.Zero(t, res[KindAudit], "audit retention 0 keeps audit events")
	var left []store.Intent
	require.NoError(t, st.View(t.Context(), func(tx store.Tx) error {
		left, err = tx.ListIntents(t.Context(), store.IntentFilter{})
		return err
	}))
	require.Len(t, left, all-1)
	for _, in := range left {
		if in.Seq > floor {
			continue
		}
		require.False(t, in.State == store.IntentDone && in.DoneAt.Before(now.Add(-30*24*time.Hour)), "seq %d", in.Seq)
	}
	_, err = New(Options{Store: st, Intents: -time.Hour})
	require.Error(t, err)
}

func TestRunStopsWithItsContext(t *testing.T) {
	st := storetest.NewSQLite(t)
	fill(t, st, 2)
	p, err := New(Options{Store: st, Intents: time.Hour, Audit: time.Hour, Interval: time.Hour, Now: func() time.Time { return now }})
	require.NoError(t, err)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { done <- p.Run(ctx) }()
	require.Eventually(t, func() bool {
		by, _ := counts(t, st)
		return by[store.IntentDone] == 0
	}, 5*time.Second, 10*time.Millisecond, "the first pass runs at once")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}
