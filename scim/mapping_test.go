package scim

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

const okta = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// TestMappingTableIntents walks every row of the SCIM-to-BigCommerce mapping
// (package bridge) with Okta's request shapes and asserts the intents committed with each change.
func TestMappingTableIntents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		n := len(e.intents())
		step := func(want ...string) {
			t.Helper()
			got := e.intentsAfter(n)
			if want == nil {
				want = []string{}
			}
			if got == nil {
				got = []string{}
			}
			// Order across users is arbitrary; per-user order is Diff's (unit-tested).
			require.ElementsMatch(t, want, got)
			n = len(e.intents())
		}

		// User created, active (default): account add.
		ann := e.createUser(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Ann.Lee@Example.com","name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"primary":true,"value":"ann.lee@example.com","type":"work"}],"password":"1mz050nq","groups":[],"locale":"en-US"}`)
		step("account.add ann.lee@example.com")

		// User created inactive: nothing until activated.
		bob := e.createUser(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@example.com","active":false}`)
		step()

		// Group created (named like a store), empty: nothing.
		r := e.do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market","members":[]}`).must(t, http.StatusCreated)
		plant := r.str("id")
		step()

		// Okta group push: remove-then-add in one request; adds store access for
		// the active member only.
		e.do(http.MethodPatch, "/Groups/"+plant, `{"schemas":["`+okta+`"],"Operations":[
			{"op":"remove","path":"members[value eq \"nobody\"]"},
			{"op":"add","path":"members","value":[{"value":"`+ann+`","display":"ann"},{"value":"`+bob+`","display":"bob"}]}]}`).must(t, http.StatusNoContent)
		step("store.add ann.lee@example.com abc123")

		// Okta rename with the id inside the value: to an unmapped name, the store
		// access goes.
		e.do(http.MethodPatch, "/Groups/"+plant, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","value":{"id":"`+plant+`","displayName":"Plant Crew"}}]}`).must(t, http.StatusNoContent)
		step("store.remove ann.lee@example.com abc123")
		// ... and back to a store's hash (case-insensitive): granted again.
		e.do(http.MethodPatch, "/Groups/"+plant, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","value":{"id":"`+plant+`","displayName":"ABC123"}}]}`).must(t, http.StatusNoContent)
		step("store.add ann.lee@example.com abc123")

		// Activation of bob (Okta path-less replace): account add, then the store
		// access of its current groups.
		e.do(http.MethodPatch, "/Users/"+bob, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","value":{"active":true}}]}`).must(t, http.StatusOK)
		step("account.add bob@example.com", "store.add bob@example.com abc123")

		// Profile-only changes (name, title, externalId, enterprise): nothing downstream.
		e.do(http.MethodPatch, "/Users/"+ann, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","value":{"name.givenName":"Annie","title":"Engineer","externalId":"00ujl29u0le5T6Aj10h7","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"R&D"}}]}`).must(t, http.StatusOK)
		step()

		// Email (the BigCommerce identity) changes: remove old, add new, restore stores.
		e.do(http.MethodPatch, "/Users/"+ann, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","path":"userName","value":"ann.new@example.com"}]}`).must(t, http.StatusOK)
		step("account.remove ann.lee@example.com", "account.add ann.new@example.com", "store.add ann.new@example.com abc123")

		// Second mapped group: Okta "Push Now" full replace.
		r = e.do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Garden Tools"}`).must(t, http.StatusCreated)
		garden := r.str("id")
		e.do(http.MethodPatch, "/Groups/"+garden, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","path":"members","value":[{"value":"`+ann+`"},{"value":"`+bob+`"}]}]}`).must(t, http.StatusNoContent)
		step("store.add ann.new@example.com def456", "store.add bob@example.com def456")

		// AIW: PUT the group with the full member list (bob leaves).
		e.do(http.MethodPut, "/Groups/"+garden, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Garden Tools","members":[{"value":"`+ann+`","display":"ann"}]}`).must(t, http.StatusOK)
		step("store.remove bob@example.com def456")

		// Deactivation (Okta AIW: PUT with active false): account removal only.
		e.do(http.MethodPut, "/Users/"+bob, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bob@example.com","active":false,"groups":[],"meta":{"created":"04-12-2018 00:00:00","version":"v1.0"},"password":"x"}`).must(t, http.StatusOK)
		step("account.remove bob@example.com")
		// Membership changes of an inactive user: nothing downstream.
		e.do(http.MethodPatch, "/Groups/"+plant, `{"schemas":["`+okta+`"],"Operations":[{"op":"remove","path":"members[value eq \"`+bob+`\"]"}]}`).must(t, http.StatusNoContent)
		step()

		// Mapped group deleted: its members lose the store.
		e.do(http.MethodDelete, "/Groups/"+garden, nil).must(t, http.StatusNoContent)
		step("store.remove ann.new@example.com def456")

		// DELETE of an active user: account removal; 404 afterwards.
		e.do(http.MethodDelete, "/Users/"+ann, nil).must(t, http.StatusNoContent)
		step("account.remove ann.new@example.com")
		e.do(http.MethodGet, "/Users/"+ann, nil).must(t, http.StatusNotFound)

		// Every intent carries its request id, source and the SCIM user.
		for _, in := range e.intents() {
			require.Equal(t, "scim", in.Source)
			require.NotEmpty(t, in.RequestID)
			require.NotEmpty(t, in.UserID)
			require.Equal(t, "pending", string(in.State))
		}
	})
}

// TestUnmappedGroupsAndUsersWithoutEmail covers the cases with no downstream
// effect and the sync state that explains them.
func TestUnmappedGroupsAndUsersWithoutEmail(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		id := e.createUser(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jdoe"}`)
		require.Empty(t, e.intents(), "no email, no BigCommerce identity")
		r := e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		sync := "urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User"
		require.Equal(t, "failed", r.str(sync+".syncState"))
		require.Contains(t, r.str(sync+".lastError"), "no usable email")

		// Adding a work email gives it an identity: account add, state pending.
		r = e.do(http.MethodPatch, "/Users/"+id, `{"schemas":["`+okta+`"],"Operations":[{"op":"add","path":"emails[type eq \"work\"].value","value":"jdoe@example.com"}]}`).must(t, http.StatusOK)
		require.Equal(t, "pending", r.str(sync+".syncState"))
		require.Equal(t, []string{"account.add jdoe@example.com"}, e.intentsAfter(0))

		g := e.do(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Marketing","members":[{"value":"`+id+`"}]}`).must(t, http.StatusCreated)
		require.Len(t, g.get("members"), 1)
		require.Len(t, e.intents(), 1, "an unmapped group has no downstream effect")
		r = e.do(http.MethodGet, "/Users/"+id, nil).must(t, http.StatusOK)
		require.Equal(t, "Marketing", r.str("groups.0.display"))
	})
}

// TestSharedEmailConflicts: two active users cannot share a BigCommerce
// identity (they would fight over one control-panel account).
func TestSharedEmailConflicts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		a := e.createUser(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jdoe","emails":[{"value":"j.doe@example.com","primary":true}]}`)
		r := e.do(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"J.Doe@Example.com"}`).must(t, http.StatusConflict)
		require.Equal(t, "uniqueness", r.str("scimType"))
		require.Contains(t, r.str("detail"), "emails")
		// Inactive, it may exist; activating it conflicts until the other leaves.
		b := e.createUser(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"J.Doe@Example.com","active":false}`)
		e.do(http.MethodPatch, "/Users/"+b, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","value":{"active":true}}]}`).must(t, http.StatusConflict)
		e.do(http.MethodPatch, "/Users/"+a, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","value":{"active":false}}]}`).must(t, http.StatusOK)
		e.do(http.MethodPatch, "/Users/"+b, `{"schemas":["`+okta+`"],"Operations":[{"op":"replace","value":{"active":true}}]}`).must(t, http.StatusOK)
		require.Equal(t, []string{"account.add j.doe@example.com", "account.remove j.doe@example.com", "account.add j.doe@example.com"}, e.intentsAfter(0))
	})
}
