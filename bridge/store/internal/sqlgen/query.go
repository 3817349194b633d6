package sqlgen

import "github.com/scim-bridge/scim-bridge/bridge/store"

// UserColumns is the select list of a user row (alias u), in the order both
// backends scan it.
const UserColumns = `u.id, u.user_name, u.external_id, u.display_name, u.active, u.bc_email, u.emails,
	u.attributes, u.version, u.created, u.modified, u.sync_state, u.sync_last_synced_at, u.sync_bc_user_id,
	u.sync_last_error`

// GroupColumns is the select list of a group row (alias g).
const GroupColumns = `g.id, g.display_name, g.external_id, g.attributes, g.version, g.created, g.modified`

// NeedCount reports whether the total of a list query must be counted
// separately: not when the page itself shows where the matches end.
func NeedCount(q store.Query, got int) bool {
	if q.Limit == 0 {
		return true
	}
	if q.Limit < 0 || got < q.Limit {
		// The page ran out of matches; the total is offset+got unless the offset
		// skipped past the end (got == 0 with an offset).
		return got == 0 && q.Offset > 0
	}
	return true
}

// Dedupe returns ids without repeats, in first-seen order.
func Dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// BCUserColumns is the column list of a known-state row (table bc_users).
const BCUserColumns = `email, user_id, in_account, stores, account_in_doubt, stores_in_doubt, updated_at`

// BCUserUpsert is the conflict clause that turns an insert of a known-state
// row into a replacement of the row with the same email.
const BCUserUpsert = ` ON CONFLICT (email) DO UPDATE SET user_id = excluded.user_id, in_account = excluded.in_account,
	stores = excluded.stores, account_in_doubt = excluded.account_in_doubt,
	stores_in_doubt = excluded.stores_in_doubt, updated_at = excluded.updated_at`

// NonNil returns s, or an empty list for nil, so that a list column stores
// [] rather than NULL.
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
