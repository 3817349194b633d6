package delivery

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

// A backlog larger than the planning window is delivered in turn, and a
// removal queued behind it goes out first and takes the email's earlier
// addition with it, though that addition lies beyond the additions' window.
func TestWindowPlansABacklogInTurn(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			st := b.New(t)
			r := newBenchRig(t, st, func(o *Options) { o.Window = 10 })
			leaver := "user0000055@example.com"
			var intents []store.Intent
			for i := range 60 {
				intents = append(intents, store.Intent{Kind: store.AccountAdd, Email: fmt.Sprintf("user%07d@example.com", i),
					UserID: fmt.Sprintf("u%07d", i), Source: store.SourceSCIM, CreatedAt: r.clock.Now()})
			}
			intents = append(intents, store.Intent{Kind: store.AccountRemove, Email: leaver, UserID: "u0000055", Source: store.SourceSCIM, CreatedAt: r.clock.Now()})
			require.NoError(t, st.Update(t.Context(), func(tx store.Tx) error {
				_, err := tx.AppendIntents(t.Context(), intents)
				return err
			}))

			// The first steps read the catalog and the server's capabilities.
			var next time.Time
			for i := 0; i < 5 && r.eng.Status().Pending == 0; i++ {
				var err error
				next, err = r.eng.Step(t.Context())
				require.NoError(t, err)
			}
			s := r.eng.Status()
			require.Equal(t, 60, s.Pending, "the window's operations plus the intents beyond it: 59 additions and the removal")
			require.Equal(t, 1, s.PendingByPrio[0], "the removal is planned")

			start := r.clock.Now()
			for pendingCount(t, st) > 0 {
				if r.clock.Now().Sub(start) >= 24*time.Hour {
					var left []store.Intent
					_ = st.View(t.Context(), func(tx store.Tx) error {
						left, _ = tx.ListIntents(t.Context(), store.IntentFilter{States: []store.IntentState{store.IntentPending}})
						return nil
					})
					t.Fatalf("backlog not delivered: %d pending, first %+v; status %+v; log %d", len(left), left[0], r.eng.Status(), len(r.sim.Log()))
				}
				r.clock.Set(next)
				var err error
				next, err = r.eng.Step(t.Context())
				require.NoError(t, err)
			}

			adds := map[string]int{}
			log := r.sim.Log()
			require.NotEmpty(t, log)
			require.Equal(t, "removeUserFromAccount", log[0].Field, "the removal goes first: %+v", log[0])
			require.Equal(t, leaver, log[0].Email)
			for _, ev := range log {
				if ev.Field == "addUserToAccount" && ev.Code == "" {
					adds[ev.Email]++
				}
			}
			require.Len(t, adds, 59, "every joiner but the leaver was added")
			require.NotContains(t, adds, leaver, "the leaver's addition was superseded, never sent")
			for email, n := range adds {
				require.Equal(t, 1, n, "%s added once", email)
			}
			for i := range 60 {
				if e := fmt.Sprintf("user%07d@example.com", i); e != leaver {
					require.Contains(t, adds, e)
				}
			}
		})
	}
}

// Notify after a step that wrote nothing does not read the outbox again
// before ReplanEvery has passed since the last read; then it does.
func TestNotifiedReadsAreSpaced(t *testing.T) {
	raw := storetest.NewSQLite(t)
	st := &countingStore{Store: raw}
	r := newBenchRig(t, st)
	backlog(t, raw, 20)
	exhaust(t, r.budget)
	_, err := r.eng.Step(t.Context())
	require.NoError(t, err)
	loaded := r.clock.Now()
	require.Equal(t, 1, st.count())

	r.clock.Advance(300 * time.Millisecond)
	backlog(t, raw, 21)
	r.eng.Notify()
	next, err := r.eng.Step(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, st.count(), "read again too soon")
	require.Equal(t, loaded.Add(time.Second), next, "the step asks to be called when the next read is allowed")

	r.clock.Set(next)
	_, err = r.eng.Step(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, st.count(), "the notified change is read once ReplanEvery has passed")
	require.Equal(t, 21, r.eng.Status().Pending)
}

func pendingCount(t *testing.T, st store.Store) int {
	t.Helper()
	var n int
	require.NoError(t, st.View(t.Context(), func(tx store.Tx) error {
		var err error
		n, err = tx.CountIntents(t.Context(), store.IntentPending)
		return err
	}))
	return n
}

// BenchmarkNotifiedStep times a step that must plan again because SCIM
// writes arrived (Notify, a changed stamp) while a large backlog waits for
// the budget: what every step costs during an initial sync.
func BenchmarkNotifiedStep(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st := storetest.NewSQLite(b)
			r := newBenchRig(b, st)
			backlog(b, st, n)
			exhaust(b, r.budget)
			b.ResetTimer()
			for range b.N {
				r.clock.Advance(time.Second)
				r.eng.Notify()
				if _, err := r.eng.Step(b.Context()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
