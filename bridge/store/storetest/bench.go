package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// BenchUsers is the number of users BenchUserNameEq stores.
const BenchUsers = 100_000

// FillUsers stores n users (user-000000 ... with userNames
// Bench-000000@Example.com ..., one work email each) in one transaction and
// returns how long that took.
func FillUsers(tb testing.TB, s store.Store, n int) time.Duration {
	tb.Helper()
	ctx := tb.Context()
	start := time.Now()
	require.NoError(tb, s.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			if err := tx.CreateUser(ctx, benchUser(i)); err != nil {
				return err
			}
		}
		return nil
	}))
	return time.Since(start)
}

func benchUser(i int) store.User {
	name := fmt.Sprintf("Bench-%06d@Example.com", i)
	return store.User{
		ID:          fmt.Sprintf("user-%06d", i),
		UserName:    name,
		ExternalID:  fmt.Sprintf("00u%06d", i),
		DisplayName: fmt.Sprintf("Bench User %d", i),
		Active:      i%10 != 0,
		Emails:      []store.Email{{Value: name, Type: "work", Primary: true}},
		BCEmail:     fmt.Sprintf("bench-%06d@example.com", i),
		Attributes: map[string]any{
			"userName": name,
			"name":     map[string]any{"givenName": "Bench", "familyName": fmt.Sprintf("User %d", i)},
			"emails":   []any{map[string]any{"value": name, "type": "work", "primary": true}},
		},
		Version:  1,
		Created:  t0,
		Modified: t0,
	}
}

// BenchUserNameEq measures a SCIM "userName eq" lookup (the IdPs' most
// frequent query) among BenchUsers users: one View with ListUsers, filter on
// userName in another case than stored, Limit 100. The fixture is built once
// (b.Loop runs the benchmark function a single time).
func BenchUserNameEq(b *testing.B, s store.Store) {
	took := FillUsers(b, s, BenchUsers)
	b.Logf("stored %d users in %s", BenchUsers, took.Round(time.Millisecond))
	ctx := b.Context()
	i := 0
	for b.Loop() {
		i = (i + 7919) % BenchUsers // spread lookups over the table
		name := fmt.Sprintf("BENCH-%06d@EXAMPLE.COM", i)
		err := s.View(ctx, func(tx store.Tx) error {
			users, total, err := tx.ListUsers(ctx, store.Query{
				Filter: store.Cond{Field: store.FieldUserName, Op: store.OpEq, Value: name},
				Limit:  100,
			})
			if err != nil {
				return err
			}
			if total != 1 || len(users) != 1 {
				return fmt.Errorf("lookup %d: got %d users, total %d", i, len(users), total)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
