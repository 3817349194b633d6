package main

import (
	"fmt"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// Request bodies and simulator views shared by the benchmark and the tests.

func userJSON(email string, active bool) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"emails":[{"primary":true,"value":%q,"type":"work"}],"active":%t}`, email, email, active)
}

const patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

func activeJSON(active bool) string {
	return fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","value":{"active":%t}}]}`, patchOp, active)
}

// bcState is the simulator's users: email -> store hashes.
func bcState(sim *simulator.Server) map[string][]string { return sim.StoresByEmail() }

func sameSet(a, b []string) bool {
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
