package simulator

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadSeed(t *testing.T) {
	t.Run("the seed file format with every optional field", func(t *testing.T) {
		const doc = `{
		  "account": {"uuid": "11111111-2222-4333-8444-555555555555", "name": "Acme"},
		  "stores": [{"hash": "abc123", "name": "Plant Market", "defaultPermissions": ["View_Orders"]}, {"hash": "zz9", "name": "Other"}],
		  "users": [
		    {"email": "boss@example.com", "firstName": "B", "lastName": "Oss", "stores": ["abc123", "zz9"], "owner": true},
		    {"email": "x@example.com", "stores": ["abc123"], "locale": "fr-FR", "permissions": ["Manage_Orders"],
		     "status": "INVITED", "lastLoginAt": "2024-06-01T10:00:00+02:00"}
		  ],
		  "apps": [{"name": "One"}, {"name": "Two", "stores": ["zz9"]}]
		}`
		seed, err := LoadSeed(strings.NewReader(doc))
		require.NoError(t, err)
		h := newHarness(t, Options{Seed: seed})
		require.Equal(t, "11111111-2222-4333-8444-555555555555", h.srv.AccountUUID())
		snap := h.srv.Snapshot()
		require.Equal(t, Account{ID: "bc/account/account/11111111-2222-4333-8444-555555555555", UUID: "11111111-2222-4333-8444-555555555555", Name: "Acme"}, snap.Account)
		require.Equal(t, []string{"View_Orders"}, snap.Stores[0].DefaultPermissions)
		require.Equal(t, []string{"No_Permission_Required"}, snap.Stores[1].DefaultPermissions)
		boss := snap.Users[0]
		require.True(t, boss.Owner)
		require.Equal(t, OwnerPermissions(), boss.Stores["zz9"].Permissions)
		x := snap.Users[1]
		login := time.Date(2024, time.June, 1, 8, 0, 0, 0, time.UTC)
		require.Equal(t, User{
			ID: "bc/account/user/2", Email: "x@example.com", Locale: "fr-FR", Status: StatusInvited,
			LastLoginAt: &login, UpdatedAt: h.clock.Now(),
			Stores: map[string]StoreAccess{"abc123": {Permissions: []string{"Manage_Orders"}, Status: StatusInvited, LastLoginAt: &login, UpdatedAt: h.clock.Now()}},
		}, x)
		require.Equal(t, []App{{ID: "bc/account/app/1", Name: "One", Stores: []string{"abc123", "zz9"}}, {ID: "bc/account/app/2", Name: "Two", Stores: []string{"zz9"}}}, snap.Apps)
	})

	t.Run("Options.AccountUUID wins over the seed", func(t *testing.T) {
		srv, err := New(Options{AccountUUID: "override", Seed: smallSeed()})
		require.NoError(t, err)
		require.Equal(t, "override", srv.AccountUUID())
		require.Equal(t, "http://h/accounts/override/graphql", srv.URL("http://h/"))
	})

	t.Run("the server keeps its own copy of the seed", func(t *testing.T) {
		seed := smallSeed()
		srv, err := New(Options{Seed: seed})
		require.NoError(t, err)
		seed.Users[0].Permissions[0] = "Changed"
		seed.Stores[0].Name = "Changed"
		snap := srv.Snapshot()
		require.Equal(t, "Plant Market", snap.Stores[0].Name)
		require.Equal(t, []string{"Manage_Users"}, snap.Users[0].Stores["abc123"].Permissions)
	})

	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown key names the key", `{"account":{"name":"A"},"stores":[],"users":[],"colour":"red"}`, []string{`unknown field "colour"`}},
		{"unknown nested key", `{"account":{"name":"A"},"stores":[{"hash":"a","name":"A","owner":"x"}],"users":[]}`, []string{`unknown field "owner"`}},
		{"trailing data", `{"account":{"name":"A"},"stores":[],"users":[]} {}`, []string{"after the JSON object"}},
		{"not JSON", `account: A`, []string{"decode seed"}},
		{"wrong type", `{"account":{"name":"A"},"stores":"abc","users":[]}`, []string{"decode seed"}},
		{"every problem at once", `{
		  "account": {"name": " ", "uuid": "a/b"},
		  "stores": [{"hash": "abc123", "name": "A"}, {"hash": "abc123", "name": ""}, {"hash": "has space", "name": "B"}, {"hash": "", "name": "C"}],
		  "users": [
		    {"email": "a@example.com", "stores": ["abc123", "nope", "abc123"], "owner": true},
		    {"email": "A@EXAMPLE.COM", "owner": true, "status": "GONE"},
		    {"email": "no-at-sign"},
		    {"email": "two@@example.com"},
		    {"email": ""},
		    {"email": "b@example.com", "permissions": [""]}
		  ],
		  "apps": [{"name": "", "stores": ["missing"]}]
		}`, []string{
			"seed: account.name: required",
			"seed: account.uuid: must be one URL path segment",
			"seed: stores[1].hash: duplicates stores[0].hash",
			"seed: stores[1].name: required",
			"seed: stores[2].hash: may contain only letters",
			"seed: stores[3].hash: required",
			`seed: users[0].stores[1]: unknown store hash "nope"`,
			`seed: users[0].stores[2]: store hash "abc123" listed twice`,
			"seed: users[1].email: duplicates users[0].email",
			"seed: users[1].owner: users[0] is already the owner",
			"seed: users[1].status: must be ACTIVE, INVITED or INACTIVE",
			"seed: users[2].email: not an email address",
			"seed: users[3].email: not an email address",
			"seed: users[4].email: required",
			"seed: users[5].permissions[0]: empty permission name",
			"seed: apps[0].name: required",
			`seed: apps[0].stores[0]: unknown store hash "missing"`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSeed(strings.NewReader(tc.doc))
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
			require.NotContains(t, err.Error(), "example.com", "seed errors name indexes, not emails")
		})
	}

	t.Run("New rejects an invalid seed", func(t *testing.T) {
		_, err := New(Options{Seed: &Seed{Account: SeedAccount{Name: "A"}, Users: []SeedUser{{Email: "bad"}}}})
		require.ErrorContains(t, err, "users[0].email")
	})

	t.Run("a seed file from disk", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "seed.json")
		require.NoError(t, os.WriteFile(path, []byte(`{"account":{"uuid":"u1","name":"N"},"stores":[{"hash":"abc123","name":"Plant Market"}],
		  "users":[{"email":"a@example.com","firstName":"A","lastName":"B","stores":["abc123"]}]}`), 0o600))
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		seed, err := LoadSeed(f)
		require.NoError(t, err)
		require.Equal(t, "u1", seed.Account.UUID)
	})
}

func TestDefaultSeed(t *testing.T) {
	seed := DefaultSeed()
	require.NoError(t, seed.Validate())
	require.Equal(t, "Simulated Account", seed.Account.Name)
	require.Equal(t, DefaultAccountUUID, seed.Account.UUID)
	require.Len(t, seed.Stores, 3)
	require.Equal(t, "abc123", seed.Stores[0].Hash)
	require.Equal(t, "Plant Market", seed.Stores[0].Name)
	require.Len(t, seed.Apps, 2)

	srv, err := New(Options{})
	require.NoError(t, err)
	snap := srv.Snapshot()
	var owners, ordinary int
	for _, u := range snap.Users {
		if u.Owner {
			owners++
			require.Len(t, u.Stores, 3, "the owner is in every store")
			for _, a := range u.Stores {
				require.Greater(t, len(a.Permissions), 10, "the owner has a broad permission list")
				require.True(t, slices.Contains(a.Permissions, "Manage_Users"))
			}
		} else {
			ordinary++
		}
	}
	require.Equal(t, 1, owners)
	require.Equal(t, 2, ordinary)

	// DefaultSeed returns a fresh copy each time.
	seed.Stores[0].Name = "Changed"
	require.Equal(t, "Plant Market", DefaultSeed().Stores[0].Name)
}
