package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// The writer keeps its statement journal in memory (temp_store=MEMORY), so
// the savepoints of group commit do not write a temporary file.
func TestWriterKeepsTempStoreInMemory(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "store.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	var mode int
	require.NoError(t, s.Update(t.Context(), func(stx store.Tx) error {
		rows, err := stx.(*tx).query(t.Context(), "PRAGMA temp_store")
		if err != nil {
			return err
		}
		defer rows.Close()
		require.True(t, rows.Next())
		return rows.Scan(&mode)
	}))
	require.Equal(t, 2, mode, "PRAGMA temp_store on the writer: 2 is MEMORY")
}
