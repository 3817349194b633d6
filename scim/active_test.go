package scim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// patchBody wraps operations (JSON objects) in a PatchOp message.
func patchBody(ops ...string) string {
	return `{"schemas":["` + okta + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// pendingIntents returns the pending intents in the outbox.
func (e *env) pendingIntents() []store.Intent {
	e.t.Helper()
	var out []store.Intent
	require.NoError(e.t, e.store.View(e.t.Context(), func(tx store.Tx) error {
		var err error
		out, err = tx.ListIntents(e.t.Context(), store.IntentFilter{States: []store.IntentState{store.IntentPending}})
		return err
	}))
	return out
}

// TestAbsentActiveNeverGrantsAccess: removing active, setting it to null, or
// a PUT without it keeps an inactive user inactive and queues nothing; only a
// create defaults to active.
func TestAbsentActiveNeverGrantsAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		shapes := map[string]func(id, userName string) response{
			"remove active": func(id, _ string) response {
				return e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"remove","path":"active"}`))
			},
			"replace active null": func(id, _ string) response {
				return e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"replace","value":{"active":null}}`))
			},
			"replace path active null": func(id, _ string) response {
				return e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"replace","path":"active","value":null}`))
			},
			"PUT without active": func(id, userName string) response {
				return e.do(http.MethodPut, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+userName+`","title":"Rehired?"}`)
			},
		}
		i := 0
		for name, shape := range shapes {
			t.Run(name, func(t *testing.T) {
				i++
				userName := fmt.Sprintf("inactive%d@example.com", i)
				id := e.do(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+userName+`","active":false}`).
					must(t, http.StatusCreated).str("id")
				require.Empty(t, e.pendingIntents(), "an inactive user needs nothing downstream")
				r := shape(id, userName).must(t, http.StatusOK)
				require.Equal(t, false, r.get("active"))
				r = e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
				require.Equal(t, false, r.get("active"))
				require.Empty(t, e.pendingIntents(), "no access was queued")
			})
		}
		// An active user stays active the same way, and a create without
		// active is active.
		id := e.createUser(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"default.active@example.com"}`)
		r := e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.Equal(t, true, r.get("active"))
		n := len(e.pendingIntents())
		require.Equal(t, 1, n)
		r = e.do(http.MethodPatch, "/Users/"+id, patchBody(`{"op":"remove","path":"active"}`)).must(t, http.StatusOK)
		require.Equal(t, true, r.get("active"))
		require.Len(t, e.pendingIntents(), n)
	})
}
