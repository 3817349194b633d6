package downstream

import (
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// The contract suite runs the real client against the simulator on every
// `go test`, and against a real BigCommerce account when the variables below
// are set, so the simulator cannot drift from the real API unnoticed. It
// asserts only what both servers must share: response shapes, id formats,
// idempotent outcomes, and paging to the end.
//
// Against a real account the read-only half costs about 10 requests of the
// account's 70 per hour, the mutating half about 15 more.
const (
	envAccountUUID  = "SCIM_BRIDGE_TEST_BC_ACCOUNT_UUID"
	envToken        = "SCIM_BRIDGE_TEST_BC_TOKEN"
	envAPIURL       = "SCIM_BRIDGE_TEST_BC_API_URL"
	envScratchEmail = "SCIM_BRIDGE_TEST_BC_SCRATCH_EMAIL"
	envScratchStore = "SCIM_BRIDGE_TEST_BC_SCRATCH_STORE"
)

// contractTarget is one server the suite runs against.
type contractTarget struct {
	accountUUID string
	// newClient returns a client with the given page size (0 = default).
	newClient func(t *testing.T, pageSize int) *Client
	// scratchEmail and scratchStore are safe to add and remove; empty skips
	// the mutating tests with skipMutating as the reason.
	scratchEmail, scratchStore string
	skipMutating               string
}

func TestContractSimulator(t *testing.T) {
	for _, profile := range simulator.Profiles() {
		t.Run(profile, func(t *testing.T) { contractSimulator(t, profile) })
	}
}

func contractSimulator(t *testing.T, profile string) {
	sim, base := startSimulator(t, simulator.Options{Profile: profile})
	runContract(t, contractTarget{
		accountUUID: sim.AccountUUID(),
		newClient: func(t *testing.T, pageSize int) *Client {
			return simClient(t, sim, base, func(o *Options) { o.PageSize = pageSize })
		},
		// The default seed's "Seed Library" store has only the owner.
		scratchEmail: "contract.scratch@example.com",
		scratchStore: "ghi789",
	})
}

func TestContractBigCommerce(t *testing.T) {
	uuid, token := os.Getenv(envAccountUUID), os.Getenv(envToken)
	if uuid == "" || token == "" {
		t.Skipf("set %s and %s to run the contract suite against a real BigCommerce account "+
			"(optional %s; mutating tests also need %s, an address safe to add and remove, and %s, a store hash)",
			envAccountUUID, envToken, envAPIURL, envScratchEmail, envScratchStore)
	}
	target := contractTarget{
		accountUUID: uuid,
		newClient: func(t *testing.T, pageSize int) *Client {
			c, err := New(Options{
				BaseURL:     os.Getenv(envAPIURL),
				AccountUUID: uuid,
				Token:       token,
				PageSize:    pageSize,
				HTTPClient:  &http.Client{Timeout: 30 * time.Second},
			})
			require.NoError(t, err)
			return c
		},
		scratchEmail: os.Getenv(envScratchEmail),
		scratchStore: os.Getenv(envScratchStore),
	}
	if target.scratchEmail == "" || target.scratchStore == "" {
		target.scratchEmail, target.scratchStore = "", ""
		target.skipMutating = "read-only run: mutating contract tests need " + envScratchEmail +
			" (an address safe to add to and remove from the account) and " + envScratchStore + " (a store hash)"
	}
	runContract(t, target)
}

var (
	userIDPattern = regexp.MustCompile(`^bc/account/user/\d+$`)
	appIDPattern  = regexp.MustCompile(`^bc/account/app/\d+$`)
)

func runContract(t *testing.T, target contractTarget) {
	// Each capability the client may detect is probed, so the first run
	// against a real account tells which of them BigCommerce offers: the log
	// shows the detected set, and each detected one must work as detected (a
	// capability that fails is dropped by the client and reported here).
	t.Run("capabilities", func(t *testing.T) {
		c := target.newClient(t, 0)
		require.NoError(t, c.Detect(t.Context(), PriorityRead))
		require.True(t, c.Detected())
		caps := c.Capabilities()
		t.Logf("capabilities: %+v", caps)

		users, _, err := c.ListAccountUsers(t.Context(), PriorityRead)
		require.NoError(t, err)
		require.NotEmpty(t, users)
		require.Equal(t, caps.AccountUserFields, c.Capabilities().AccountUserFields, "the account users' extra fields work as detected")

		if caps.BackwardPaging {
			newest := users[len(users)-1]
			found, _, err := c.FindAccountUsers(t.Context(), PriorityRead, []string{newest.Email})
			require.NoError(t, err)
			require.True(t, c.Capabilities().BackwardPaging, "backward paging works as detected")
			require.Equal(t, newest.ID, found[strings.ToLower(newest.Email)].ID)
		}

		stores, _, err := c.ListStores(t.Context(), PriorityRead)
		require.NoError(t, err)
		require.NotEmpty(t, stores)
		listed, _, err := c.ListStoreUsers(t.Context(), PriorityRead)
		require.NoError(t, err)
		// One store's users, by node(id:) when detected (dropped when the
		// server does not resolve stores) and by the stores connection.
		for _, byNode := range []bool{caps.NodeStores, false} {
			c.withCaps(func(cp *Capabilities) { cp.NodeStores = byNode })
			su, _, err := c.FindStoreUsers(t.Context(), PriorityRead, listed[0].Store.Hash)
			require.NoError(t, err)
			require.ElementsMatch(t, userIDs(listed[0].Users), userIDs(su.Users), "by node %v", byNode)
			if byNode {
				t.Logf("node(id:) on stores: %v", c.Capabilities().NodeStores)
			}
		}
	})

	t.Run("account", func(t *testing.T) {
		info, err := target.newClient(t, 0).Account(t.Context(), PriorityRead)
		require.NoError(t, err)
		require.Equal(t, accountIDPrefix+target.accountUUID, info.ID)
		require.NotEmpty(t, info.Name)
	})

	t.Run("account users", func(t *testing.T) {
		users, requests, err := target.newClient(t, 0).ListAccountUsers(t.Context(), PriorityRead)
		require.NoError(t, err)
		require.NotEmpty(t, users, "an account has at least its owner")
		requirePages(t, len(users), DefaultPageSize, requests)
		requireUsers(t, users)

		// Paging to the end with a small page gives the same users.
		pageSize := max(1, (len(users)+2)/3)
		paged, requests, err := target.newClient(t, pageSize).ListAccountUsers(t.Context(), PriorityRead)
		require.NoError(t, err)
		requirePages(t, len(paged), pageSize, requests)
		require.Equal(t, userIDs(users), userIDs(paged))
	})

	t.Run("stores and their users", func(t *testing.T) {
		c := target.newClient(t, 0)
		stores, requests, err := c.ListStores(t.Context(), PriorityRead)
		require.NoError(t, err)
		require.NotEmpty(t, stores)
		requirePages(t, len(stores), DefaultPageSize, requests)
		hashes := map[string]bool{}
		for _, s := range stores {
			require.Equal(t, storeIDPrefix+s.Hash, s.ID)
			require.NotEmpty(t, s.Name)
			require.False(t, hashes[s.Hash], "store listed twice")
			hashes[s.Hash] = true
		}

		accountUsers, _, err := c.ListAccountUsers(t.Context(), PriorityRead)
		require.NoError(t, err)
		known := map[string]bool{}
		for _, u := range accountUsers {
			known[u.ID] = true
		}
		storeUsers, requests, err := c.ListStoreUsers(t.Context(), PriorityRead)
		require.NoError(t, err)
		require.GreaterOrEqual(t, requests, 1)
		require.Len(t, storeUsers, len(stores))
		for i, su := range storeUsers {
			require.Equal(t, stores[i], su.Store, "same stores, same order")
			require.Len(t, su.Users, su.Total, "store %s: every user listed", su.Store.Hash)
			requireUsers(t, su.Users)
			for _, u := range su.Users {
				require.True(t, known[u.ID], "a store user is a user of the account")
				require.NotEmpty(t, u.Status)
				require.NotNil(t, u.Permissions)
			}
		}
	})

	t.Run("apps", func(t *testing.T) {
		apps, requests, err := target.newClient(t, 0).ListApps(t.Context(), PriorityRead)
		require.NoError(t, err)
		requirePages(t, len(apps), DefaultPageSize, requests)
		for _, a := range apps {
			require.Regexp(t, appIDPattern, a.ID)
			require.NotEmpty(t, a.Name)
		}
	})

	t.Run("idempotent mutations", func(t *testing.T) {
		if target.scratchEmail == "" {
			t.Skip(target.skipMutating)
		}
		runMutatingContract(t, target)
	})
}

func runMutatingContract(t *testing.T, target contractTarget) {
	c := target.newClient(t, 0)
	email, store := target.scratchEmail, target.scratchStore
	apply := func(t *testing.T, ops ...Op) Batch {
		t.Helper()
		b, err := c.Apply(t.Context(), PriorityRepair, ops)
		require.NoError(t, err)
		require.Len(t, b.Results, len(ops))
		require.GreaterOrEqual(t, b.Requests, 1)
		for i, r := range b.Results {
			require.Equal(t, ops[i], r.Op)
		}
		return b
	}
	outcomes := func(b Batch) []Outcome {
		out := make([]Outcome, len(b.Results))
		for i, r := range b.Results {
			out[i] = r.Outcome
		}
		return out
	}
	t.Cleanup(func() {
		// Best effort: leave the account as found. t.Context is already
		// canceled when cleanups run, hence a fresh context.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = c.Apply(ctx, PriorityRepair, []Op{{Kind: OpRemoveFromAccount, Email: email}})
	})

	// A clean start: removing is idempotent.
	b := apply(t, Op{Kind: OpRemoveFromAccount, Email: email})
	require.Contains(t, []Outcome{Applied, AlreadyDone}, b.Results[0].Outcome)

	// By email, BigCommerce documents no membership check: the user is added
	// to the account with the store (a server that requires membership
	// refuses with not_in_account instead). Either way, start clean again.
	b = apply(t, Op{Kind: OpAddToStore, Email: email, StoreHash: store})
	if b.Results[0].Outcome == Failed {
		require.Equal(t, ReasonNotInAccount, b.Results[0].Err.Reason)
	} else {
		require.Equal(t, Applied, b.Results[0].Outcome)
		users, _, err := c.ListAccountUsers(t.Context(), PriorityRead)
		require.NoError(t, err)
		require.NotEmpty(t, findUser(users, email), "added to the account with the store")
		require.Equal(t, Applied, apply(t, Op{Kind: OpRemoveFromAccount, Email: email}).Results[0].Outcome)
	}

	// Account and store in one call (split by the client if the server refuses
	// two mutations per document): both applied, then both already done.
	both := []Op{{Kind: OpAddToAccount, Email: email}, {Kind: OpAddToStore, Email: email, StoreHash: store}}
	require.Equal(t, []Outcome{Applied, Applied}, outcomes(apply(t, both...)))
	require.Equal(t, []Outcome{AlreadyDone, AlreadyDone}, outcomes(apply(t, both...)))

	// The user shows up in the account and in the store with one id.
	users, _, err := c.ListAccountUsers(t.Context(), PriorityRead)
	require.NoError(t, err)
	id := findUser(users, email)
	require.Regexp(t, userIDPattern, id)
	storeUsers, _, err := c.ListStoreUsers(t.Context(), PriorityRead)
	require.NoError(t, err)
	found := false
	for _, su := range storeUsers {
		if su.Store.Hash == store {
			require.Equal(t, id, findUser(su.Users, email))
			found = true
		}
	}
	require.True(t, found, "scratch store not listed")

	// Store removal by id: applied (the response names the user), then already done.
	b = apply(t, Op{Kind: OpRemoveFromStore, StoreHash: store, UserID: id})
	require.Equal(t, Applied, b.Results[0].Outcome)
	require.Equal(t, id, b.Results[0].UserID)
	require.Equal(t, AlreadyDone, apply(t, Op{Kind: OpRemoveFromStore, StoreHash: store, UserID: id}).Results[0].Outcome)

	// Account removal: applied, then already done.
	b = apply(t, Op{Kind: OpRemoveFromAccount, Email: email})
	require.Equal(t, Applied, b.Results[0].Outcome)
	require.Equal(t, AlreadyDone, apply(t, Op{Kind: OpRemoveFromAccount, Email: email}).Results[0].Outcome)
	users, _, err = c.ListAccountUsers(t.Context(), PriorityRead)
	require.NoError(t, err)
	require.Empty(t, findUser(users, email))
}

// requirePages checks that a listing of n items with the given page size
// took ceil(n/size) requests (at least one); a trailing empty page is
// tolerated, since BigCommerce does not document hasNextPage on a full last page.
func requirePages(t *testing.T, n, size, requests int) {
	t.Helper()
	want := max(1, (n+size-1)/size)
	require.Contains(t, []int{want, want + 1}, requests, "%d items, page size %d", n, size)
}

func requireUsers(t *testing.T, users []User) {
	t.Helper()
	ids, emails := map[string]bool{}, map[string]bool{}
	for _, u := range users {
		require.Regexp(t, userIDPattern, u.ID)
		require.False(t, ids[u.ID], "user listed twice")
		ids[u.ID] = true
		require.Contains(t, u.Email, "@")
		e := strings.ToLower(u.Email)
		require.False(t, emails[e], "email listed twice")
		emails[e] = true
	}
}

func userIDs(users []User) []string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}

func findUser(users []User, email string) string {
	for _, u := range users {
		if strings.EqualFold(u.Email, email) {
			return u.ID
		}
	}
	return ""
}
