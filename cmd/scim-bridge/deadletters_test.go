package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/backend"
)

func TestDeadLettersCommand(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "bridge.db")
	t.Setenv("SCIM_BRIDGE_DATABASE", db)
	t.Setenv("SCIM_BRIDGE_SCIM_TOKENS", e2eToken)
	t.Setenv("SCIM_BRIDGE_BC_ACCOUNT_UUID", simulator.DefaultAccountUUID)
	t.Setenv("SCIM_BRIDGE_BC_TOKEN", simulator.DefaultToken)
	t.Setenv("SCIM_BRIDGE_LOG_LEVEL", "error")

	st, err := backend.Open(t.Context(), db, nil)
	require.NoError(t, err)
	var seqs []int64
	require.NoError(t, st.Update(t.Context(), func(tx store.Tx) error {
		var err error
		seqs, err = tx.AppendIntents(t.Context(), []store.Intent{
			{Kind: store.StoreAdd, Email: "ghost@example.com", StoreHash: "nope999", Source: store.SourceSCIM},
			{Kind: store.AccountAdd, Email: "late@example.com", Source: store.SourceSCIM},
		})
		if err != nil {
			return err
		}
		for _, s := range seqs {
			if err := tx.UpdateIntent(t.Context(), store.Intent{Seq: s, State: store.IntentDead, Attempts: 8, LastError: "store_not_found", DoneAt: time.Now()}, store.IntentPending); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, st.Close())

	var out, errb bytes.Buffer
	require.Equal(t, exitOK, run([]string{"dead-letters"}, &out, &errb), errb.String())
	require.Contains(t, out.String(), "ghost@example.com")
	require.Contains(t, out.String(), "store_not_found")
	require.Contains(t, out.String(), "--retry")

	out.Reset()
	require.Equal(t, exitOK, run([]string{"dead-letters", "--retry", strconv.FormatInt(seqs[0], 10), "--output", "json"}, &out, &errb), errb.String())
	var doc struct {
		DeadLetters []struct {
			Seq     int64 `json:"seq"`
			Retried bool  `json:"retried"`
		} `json:"deadLetters"`
		Retried int `json:"retried"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	require.Equal(t, 1, doc.Retried)
	require.True(t, doc.DeadLetters[0].Retried)

	st, err = backend.Open(t.Context(), db, nil)
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.View(t.Context(), func(tx store.Tx) error {
		pending, err := tx.ListIntents(t.Context(), store.IntentFilter{States: []store.IntentState{store.IntentPending}})
		require.Len(t, pending, 1, "the retried intent is queued again")
		require.Equal(t, seqs[0], pending[0].Seq)
		require.Zero(t, pending[0].Attempts)
		return err
	}))

	out.Reset()
	require.Equal(t, exitUsage, run([]string{"dead-letters", "--retry", "x1"}, &out, &errb))

	// A sequence number that is not a dead letter (here: the one just retried,
	// and one that never existed) requeues nothing and fails.
	out.Reset()
	errb.Reset()
	missing := strconv.FormatInt(seqs[1]+1000, 10)
	require.Equal(t, exitError, run([]string{"dead-letters", "--retry", strconv.FormatInt(seqs[1], 10) + "," + strconv.FormatInt(seqs[0], 10) + "," + missing}, &out, &errb))
	require.Equal(t, "scim-bridge dead-letters: no dead letter with sequence numbers "+strconv.FormatInt(seqs[0], 10)+", "+missing+
		" (there is 1 dead letter; run \"scim-bridge dead-letters\" for the list); nothing was requeued\n", errb.String())
	require.NoError(t, st.View(t.Context(), func(tx store.Tx) error {
		dead, err := tx.ListIntents(t.Context(), store.IntentFilter{States: []store.IntentState{store.IntentDead}})
		require.Len(t, dead, 1, "the existing dead letter was not requeued either")
		require.Equal(t, seqs[1], dead[0].Seq)
		return err
	}))

	out.Reset()
	errb.Reset()
	require.Equal(t, exitOK, run([]string{"dead-letters"}, &out, &errb))
	require.Empty(t, errb.String(), "no log lines mixed into the command's output")
}
