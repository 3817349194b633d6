package apptest

import (
	"fmt"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// PatchOp is the schema of a SCIM PATCH request.
const PatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// UserJSON is a SCIM User with email as userName and primary work email.
func UserJSON(email string, active bool) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"emails":[{"primary":true,"value":%q,"type":"work"}],"active":%t}`, email, email, active)
}

// ActiveJSON is a PATCH that sets a user's active flag.
func ActiveJSON(active bool) string {
	return fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","value":{"active":%t}}]}`, PatchOp, active)
}

// AddMembersJSON is a PATCH that adds the users ids to a group.
func AddMembersJSON(ids ...string) string {
	var m []string
	for _, id := range ids {
		m = append(m, fmt.Sprintf(`{"value":%q}`, id))
	}
	return fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"add","path":"members","value":[%s]}]}`, PatchOp, strings.Join(m, ","))
}

// RemoveMemberJSON is a PATCH that removes the user id from a group.
func RemoveMemberJSON(id string) string {
	return fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"remove","path":"members[value eq \"%s\"]"}]}`, PatchOp, id)
}

// BCState is the simulator's users: email -> store hashes.
func BCState(sim *simulator.Server) map[string][]string { return sim.StoresByEmail() }

// SameSet reports whether a and b hold the same strings (each once).
func SameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}
