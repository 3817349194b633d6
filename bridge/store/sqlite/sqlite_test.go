package sqlite_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/sqlite"
	"github.com/scim-bridge/scim-bridge/bridge/store/storetest"
)

func newStore(t *testing.T) store.Store { return storetest.NewSQLite(t) }

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestConcurrency(t *testing.T) {
	storetest.RunConcurrency(t, newStore)
}

func BenchmarkListUsersUserNameEq(b *testing.B) {
	storetest.BenchUserNameEq(b, storetest.NewSQLite(b))
}

// TestClosedStoreFailsFast: after Close, transactions and Ping fail at once
// instead of waiting for a connection that will never come back.
func TestClosedStoreFailsFast(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "closed.db"), nil)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	start := time.Now()
	require.Error(t, s.Ping(t.Context()))
	require.Error(t, s.View(t.Context(), func(store.Tx) error { return nil }))
	require.Error(t, s.Update(t.Context(), func(store.Tx) error { return nil }))
	require.Less(t, time.Since(start), time.Second)
}

// TestErrorsNameNoIDs: error texts never carry the ids a caller passed (they
// come from SCIM clients and end up in logs), whether the id is unknown or
// bytes the database refuses.
func TestErrorsNameNoIDs(t *testing.T) {
	s := newStore(t)
	for _, id := range []string{"jane.leak@example.com", "jane.leak\x00@example.com", "jane.leak@example.com\xff"} {
		calls := map[string]func(tx store.Tx) error{
			"GetUser":    func(tx store.Tx) error { _, err := tx.GetUser(t.Context(), id); return err },
			"DeleteUser": func(tx store.Tx) error { return tx.DeleteUser(t.Context(), id) },
			"SetUserSync": func(tx store.Tx) error {
				return tx.SetUserSync(t.Context(), id, store.SyncState{State: store.SyncSynced})
			},
			"GetGroup":      func(tx store.Tx) error { _, err := tx.GetGroup(t.Context(), id); return err },
			"DeleteGroup":   func(tx store.Tx) error { return tx.DeleteGroup(t.Context(), id) },
			"GroupMembers":  func(tx store.Tx) error { _, err := tx.GroupMembers(t.Context(), id); return err },
			"UserGroups":    func(tx store.Tx) error { _, err := tx.UserGroups(t.Context(), id); return err },
			"AddMembers":    func(tx store.Tx) error { return tx.AddMembers(t.Context(), id, []string{id}) },
			"RemoveMembers": func(tx store.Tx) error { return tx.RemoveMembers(t.Context(), id, []string{id}) },
		}
		for name, call := range calls {
			err := s.Update(t.Context(), call)
			if err != nil {
				require.NotContains(t, err.Error(), "jane.leak", name)
			}
		}
	}
}

// TestExclusiveOpen: while one store holds a database exclusively, a second
// exclusive open fails at once saying why and what to do, a non-exclusive
// open (an operator command) still works, and Close releases the lock.
func TestExclusiveOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.db")
	first, err := sqlite.OpenWith(t.Context(), path, nil, sqlite.Options{Exclusive: true})
	require.NoError(t, err)

	start := time.Now()
	second, err := sqlite.OpenWith(t.Context(), path, nil, sqlite.Options{Exclusive: true})
	require.Nil(t, second)
	require.ErrorIs(t, err, sqlite.ErrInUse)
	require.Less(t, time.Since(start), 2*time.Second, "fails at once, without waiting for the lock")
	for _, want := range []string{path, "already in use by another scim-bridge process", "(pid " + strconv.Itoa(os.Getpid()) + ")",
		"SQLite mode runs one process", "PostgreSQL"} {
		require.Contains(t, err.Error(), want)
	}

	op, err := sqlite.Open(t.Context(), path, nil)
	require.NoError(t, err, "operator commands open without the lock")
	require.NoError(t, op.Ping(t.Context()))
	require.NoError(t, op.Close())

	require.NoError(t, first.Close())
	again, err := sqlite.OpenWith(t.Context(), path, nil, sqlite.Options{Exclusive: true})
	require.NoError(t, err, "Close released the lock")
	require.NoError(t, again.Close())
}

// holdEnv names the database a re-executed test binary holds exclusively
// (TestExclusiveOpenAcrossProcesses).
const holdEnv = "SCIM_BRIDGE_TEST_SQLITE_HOLD"

// TestExclusiveOpenAcrossProcesses: a second process gets ErrInUse naming the
// first one's pid, and the lock goes away with the process.
func TestExclusiveOpenAcrossProcesses(t *testing.T) {
	if path := os.Getenv(holdEnv); path != "" {
		s, err := sqlite.OpenWith(t.Context(), path, nil, sqlite.Options{Exclusive: true})
		require.NoError(t, err)
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin
		require.NoError(t, s.Close())
		return
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestExclusiveOpenAcrossProcesses$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)

	_, err = sqlite.OpenWith(t.Context(), path, nil, sqlite.Options{Exclusive: true})
	require.ErrorIs(t, err, sqlite.ErrInUse)
	require.Contains(t, err.Error(), "(pid "+strconv.Itoa(cmd.Process.Pid)+")")
	op, err := sqlite.Open(t.Context(), path, nil)
	require.NoError(t, err)
	require.NoError(t, op.Close())

	require.NoError(t, stdin.Close())
	_, _ = io.Copy(io.Discard, stdout)
	require.NoError(t, cmd.Wait())
	s, err := sqlite.OpenWith(t.Context(), path, nil, sqlite.Options{Exclusive: true})
	require.NoError(t, err)
	require.NoError(t, s.Close())
}
