package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Unfiltered pages read through the position cache are the pages OFFSET
// gives, with the same total, whatever creates and deletes happened since the
// cache was built, in read and in write transactions.
func TestUserPositionsMatchOffset(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), zap.NewNop())
	require.NoError(t, err)
	defer s.Close()
	rng := rand.New(rand.NewPCG(7, 11))
	var ids []string
	next := 0
	create := func(tx store.Tx, n int) {
		for range n {
			id := fmt.Sprintf("u%05d", next)
			next++
			u := store.User{ID: id, UserName: id + "@example.com", Active: true, Attributes: map[string]any{"userName": id + "@example.com"},
				Version: 1, Created: time.Unix(0, 0), Modified: time.Unix(0, 0)}
			require.NoError(t, tx.CreateUser(ctx, u))
			ids = append(ids, id)
		}
	}
	remove := func(tx store.Tx, n int) {
		for range min(n, len(ids)) {
			i := rng.IntN(len(ids))
			require.NoError(t, tx.DeleteUser(ctx, ids[i]))
			ids = append(ids[:i], ids[i+1:]...)
		}
	}
	// want is the page by OFFSET on the table, the reference.
	want := func(x store.Tx, offset, limit int) ([]string, int) {
		raw := x.(*tx)
		rows, err := raw.query(ctx, `SELECT id FROM users ORDER BY seq LIMIT ? OFFSET ?`, limit, offset)
		require.NoError(t, err)
		defer rows.Close()
		got := []string{}
		for rows.Next() {
			var id string
			require.NoError(t, rows.Scan(&id))
			got = append(got, id)
		}
		var n int
		require.NoError(t, raw.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n))
		return got, n
	}
	check := func(tx store.Tx, round int) {
		for range 8 {
			offset := rng.IntN(len(ids) + 300)
			limit := 1 + rng.IntN(120)
			page, total, err := tx.ListUsers(ctx, store.Query{Offset: offset, Limit: limit})
			require.NoError(t, err)
			wantIDs, wantTotal := want(tx, offset, limit)
			gotIDs := []string{}
			for _, u := range page {
				gotIDs = append(gotIDs, u.ID)
			}
			require.Equal(t, wantTotal, total, "round %d: total", round)
			require.Equal(t, wantIDs, gotIDs, "round %d: page at %d, %d", round, offset, limit)
		}
		_, total, err := tx.ListUsers(ctx, store.Query{Limit: 0})
		require.NoError(t, err)
		require.Equal(t, len(ids), total, "round %d: count only", round)
	}
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error { create(tx, 2000); return nil }))
	for round := range 60 {
		if rng.IntN(2) == 0 {
			s.positions.mu.Lock()
			s.positions.triedAt = time.Time{} // let the next read rebuild
			s.positions.mu.Unlock()
		}
		require.NoError(t, s.View(ctx, func(tx store.Tx) error { check(tx, round); return nil }))
		require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
			switch rng.IntN(3) {
			case 0:
				create(tx, rng.IntN(1200))
			case 1:
				remove(tx, rng.IntN(40))
			default:
				create(tx, rng.IntN(50))
				remove(tx, rng.IntN(5))
			}
			check(tx, round) // a write transaction sees its own changes
			return nil
		}))
	}
	// A write transaction that rolls back leaves nothing in the cache or the
	// counts.
	before := len(ids)
	err = s.Update(ctx, func(tx store.Tx) error {
		remove(tx, 10)
		create(tx, 10)
		return context.Canceled
	})
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, s.View(ctx, func(tx store.Tx) error {
		_, total, err := tx.ListUsers(ctx, store.Query{Limit: 0})
		require.Equal(t, before, total)
		return err
	}))
}
