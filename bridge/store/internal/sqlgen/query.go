package sqlgen

import (
	"cmp"
	"slices"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

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

// SeqEmail is one pending intent's sequence number and email.
type SeqEmail struct {
	Seq   int64
	Email string
}

// FirstEmails returns the first limit distinct emails of pending intents of
// kinds (of any kind when kinds is empty), ordered by each email's earliest
// intent. page returns, in sequence order, at most n pending intents of one
// kind ("" for any) after the sequence number after; FirstEmails pages
// through each kind's range only until it has limit distinct emails there,
// so a window of the outbox costs about its own size, not the backlog's.
func FirstEmails(limit int, kinds []store.IntentKind, page func(kind store.IntentKind, after int64, n int) ([]SeqEmail, error)) ([]string, error) {
	if limit <= 0 {
		return []string{}, nil
	}
	if len(kinds) == 0 {
		kinds = []store.IntentKind{""}
	}
	first := map[string]int64{}
	n := max(limit, 100)
	for _, kind := range kinds {
		found := 0
		seen := map[string]bool{}
		for after := int64(0); found < limit; {
			rows, err := page(kind, after, n)
			if err != nil {
				return nil, err
			}
			for _, r := range rows {
				after = r.Seq
				if seen[r.Email] {
					continue
				}
				seen[r.Email] = true
				found++
				if s, ok := first[r.Email]; !ok || r.Seq < s {
					first[r.Email] = r.Seq
				}
			}
			if len(rows) < n {
				break
			}
		}
	}
	emails := make([]string, 0, len(first))
	for e := range first {
		emails = append(emails, e)
	}
	slices.SortFunc(emails, func(a, b string) int { return cmp.Compare(first[a], first[b]) })
	if len(emails) > limit {
		emails = emails[:limit]
	}
	return emails, nil
}
