package downstream

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
)

// loadSDL loads the schema the simulator serves (reconstructed from
// BigCommerce's reference), so every document the client can send is checked
// against it without a server.
func loadSDL(t *testing.T) *ast.Schema {
	t.Helper()
	sdl, err := os.ReadFile("simulator/schema.graphql")
	require.NoError(t, err)
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: string(sdl)})
	require.NoError(t, err)
	return schema
}

func TestDocumentsValidateAgainstSchema(t *testing.T) {
	schema := loadSDL(t)
	allKinds := []Op{
		{Kind: OpAddToAccount, Email: "new.person@example.com"},
		{Kind: OpRemoveFromAccount, Email: "leaver@example.com"},
		{Kind: OpRemoveFromAccount, UserID: "bc/account/user/7"},
		{Kind: OpAddToStore, Email: "new.person@example.com", StoreHash: "abc123"},
		{Kind: OpAddToStore, UserID: "bc/account/user/9", StoreHash: "bc/account/store/def456"},
		{Kind: OpRemoveFromStore, UserID: "bc/account/user/3", StoreHash: "abc123"},
	}
	mutation, mutationVars := buildMutation(allKinds, []int{0, 1, 2, 3, 4, 5}, false)
	withUser, withUserVars := buildMutation(allKinds, []int{0, 1, 2, 3, 4, 5}, true)
	continuation, continuationVars := buildNodeContinuation(3, 50, storeUserFields)
	cursors, cursorVars := buildCursorContinuation(3, 50, "id email")
	for k := range 3 {
		continuationVars["s"+string(rune('0'+k))] = "bc/account/store/abc123"
		continuationVars["a"+string(rune('0'+k))] = "cursor"
		cursorVars["c"+string(rune('0'+k))] = nil
		cursorVars["a"+string(rune('0'+k))] = "cursor"
	}

	tests := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{name: "apply all kinds", query: mutation, vars: mutationVars},
		{name: "apply with the new user's id", query: withUser, vars: withUserVars},
		{name: "account", query: queryAccount},
		{name: "account users", query: accountUsersQuery("id email firstName lastName status"), vars: map[string]any{"first": 50, "after": nil}},
		{name: "account users backward", query: accountUsersBackwardQuery("id email"), vars: map[string]any{"last": 50, "before": nil}},
		{name: "store cursors", query: queryStoreCursors, vars: map[string]any{"first": 50, "after": nil}},
		{name: "store users continuation by cursor", query: cursors, vars: cursorVars},
		{name: "stores", query: queryStores, vars: map[string]any{"first": 100, "after": "x"}},
		{name: "store users", query: queryStoreUsers, vars: map[string]any{"first": 20, "after": nil, "users": 25}},
		{name: "store users continuation", query: continuation, vars: continuationVars},
		{name: "apps", query: queryApps, vars: map[string]any{"first": 100, "after": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQueryWithRules(schema, tt.query, nil)
			require.Empty(t, errs, "document: %s", tt.query)
			require.Len(t, doc.Operations, 1)
			// Variables go through JSON, as on the wire.
			raw, err := json.Marshal(tt.vars)
			require.NoError(t, err)
			var decoded map[string]any
			require.NoError(t, json.Unmarshal(raw, &decoded))
			_, verr := validator.VariableValues(schema, doc.Operations[0], decoded)
			require.NoError(t, verr)
		})
	}
}

func TestBuildMutationUsesAliasesAndVariablesOnly(t *testing.T) {
	ops := []Op{
		{Kind: OpAddToAccount, Email: `evil"){ x }@example.com`},
		{Kind: OpRemoveFromStore, UserID: "bc/account/user/3", StoreHash: "abc123"},
		{Kind: OpAddToStore, Email: "x@example.com", StoreHash: "abc123"},
	}
	query, vars := buildMutation(ops, []int{0, 1, 2}, false)
	require.NotContains(t, query, "example.com", "inputs must travel as variables")
	require.NotContains(t, query, "abc123")
	require.Contains(t, query, "m0: account { addUserToAccount(input: $i0)")
	require.Contains(t, query, "m1: user { removeUserFromStore(input: $i1)")
	require.Contains(t, query, "m2: user { addUserToStore(input: $i2)")
	require.Equal(t, addToAccountInput{Email: ops[0].Email}, vars["i0"])
	require.Equal(t, removeFromStoreInput{StoreID: "bc/account/store/abc123", UserID: "bc/account/user/3"}, vars["i1"])
	require.Equal(t, addToStoreInput{User: userIdentityInput{Email: "x@example.com"}, StoreID: "bc/account/store/abc123"}, vars["i2"])

	// A sub-batch renumbers its aliases from m0.
	query, vars = buildMutation(ops, []int{2}, false)
	require.Contains(t, query, "m0: user { addUserToStore(input: $i0)")
	require.NotContains(t, query, "m1")
	require.Len(t, vars, 1)
}

func TestMutationInputChoosesIdentity(t *testing.T) {
	tests := []struct {
		name string
		op   Op
		want any
	}{
		{
			name: "account removal prefers email",
			op:   Op{Kind: OpRemoveFromAccount, Email: "a@example.com", UserID: "bc/account/user/1"},
			want: removeFromAccountInput{Email: "a@example.com"},
		},
		{
			name: "account removal by id",
			op:   Op{Kind: OpRemoveFromAccount, UserID: "bc/account/user/1"},
			want: removeFromAccountInput{UserID: "bc/account/user/1"},
		},
		{
			name: "store add prefers email",
			op:   Op{Kind: OpAddToStore, Email: "a@example.com", UserID: "bc/account/user/1", StoreHash: "h"},
			want: addToStoreInput{User: userIdentityInput{Email: "a@example.com"}, StoreID: "bc/account/store/h"},
		},
		{
			name: "store add by id when only the id is known",
			op:   Op{Kind: OpAddToStore, UserID: "bc/account/user/1", StoreHash: "h"},
			want: addToStoreInput{User: userIdentityInput{ID: "bc/account/user/1"}, StoreID: "bc/account/store/h"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, mutationInput(tt.op))
			raw, err := json.Marshal(mutationInput(tt.op))
			require.NoError(t, err)
			require.False(t, strings.Contains(string(raw), `""`), "empty identity fields must be omitted: %s", raw)
		})
	}
}

func TestOpValidate(t *testing.T) {
	tests := []struct {
		name  string
		op    Op
		valid bool
	}{
		{name: "add needs email", op: Op{Kind: OpAddToAccount}},
		{name: "add with email", op: Op{Kind: OpAddToAccount, Email: "a@example.com"}, valid: true},
		{name: "account removal needs email or id", op: Op{Kind: OpRemoveFromAccount}},
		{name: "account removal by id", op: Op{Kind: OpRemoveFromAccount, UserID: "bc/account/user/1"}, valid: true},
		{name: "store add needs store", op: Op{Kind: OpAddToStore, Email: "a@example.com"}},
		{name: "store add needs identity", op: Op{Kind: OpAddToStore, StoreHash: "h"}},
		{name: "store add", op: Op{Kind: OpAddToStore, StoreHash: "h", Email: "a@example.com"}, valid: true},
		{name: "store removal needs user id", op: Op{Kind: OpRemoveFromStore, StoreHash: "h", Email: "a@example.com"}},
		{name: "store removal", op: Op{Kind: OpRemoveFromStore, StoreHash: "h", UserID: "bc/account/user/1"}, valid: true},
		{name: "zero kind", op: Op{Email: "a@example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.op.validate()
			if tt.valid {
				require.Nil(t, e)
				return
			}
			require.NotNil(t, e)
			require.Equal(t, ClassPermanent, e.Class)
			require.Equal(t, ReasonInvalidInput, e.Reason)
			require.NotContains(t, e.Error(), "a@example.com")
		})
	}
}
