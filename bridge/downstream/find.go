package downstream

import (
	"context"
	"encoding/json"
	"strings"

	"go.uber.org/zap"
)

// queryAccountUsersBackward pages the account's users from the end.
const queryAccountUsersBackward = "query BridgeAccountUsersBackward($last: Int!, $before: String) { account { " +
	"users(last: $last, before: $before) { pageInfo { hasPreviousPage startCursor } " +
	"edges { node { " + userFields + " } } } } }"

// FindAccountUsers looks up the account users with the given emails (compared
// case-insensitively) and returns those found, keyed by lower-cased email, with
// the number of requests spent. The bridge needs a user's id for
// removeUserFromStore, and users it added recently are the newest, so it pages
// the account's users backwards (last/before) and stops as soon as every email
// is found. BigCommerce does not document backward paging; if the server refuses
// it, FindAccountUsers falls back to a full forward listing.
func (c *Client) FindAccountUsers(ctx context.Context, p Priority, emails []string) (map[string]User, int, error) {
	want := make(map[string]bool, len(emails))
	for _, e := range emails {
		want[strings.ToLower(e)] = true
	}
	found := make(map[string]User, len(want))
	if len(want) == 0 {
		return found, 0, nil
	}
	var (
		n      int
		before *string
	)
	for page := 0; page < maxPages; page++ {
		r, s, e := c.exec(ctx, p, "BridgeAccountUsersBackward", queryAccountUsersBackward,
			map[string]any{"last": c.pageSize, "before": before})
		n += s.requests
		if e == nil && len(r.errs) > 0 {
			e = readError(r)
		}
		if e != nil {
			if e.Reason != ReasonInvalidDocument && e.Reason != ReasonQueryFailed && e.Reason != ReasonRefused {
				return nil, n, e
			}
			c.log.Warn("backward paging refused, listing all account users", zap.String("reason", e.Reason))
			all, m, err := c.ListAccountUsers(ctx, p)
			n += m
			if err != nil {
				return nil, n, err
			}
			for _, u := range all {
				if k := strings.ToLower(u.Email); want[k] {
					found[k] = u
				}
			}
			return found, n, nil
		}
		var out struct {
			Account *struct {
				Users *struct {
					PageInfo struct {
						HasPreviousPage bool    `json:"hasPreviousPage"`
						StartCursor     *string `json:"startCursor"`
					} `json:"pageInfo"`
					wireUserConnection
				} `json:"users"`
			} `json:"account"`
		}
		if err := json.Unmarshal(r.data, &out); err != nil || out.Account == nil || out.Account.Users == nil {
			return nil, n, unexpected("account users missing")
		}
		users, err := decodeUsers(&out.Account.Users.wireUserConnection)
		if err != nil {
			return nil, n, err
		}
		for _, u := range users {
			if k := strings.ToLower(u.Email); want[k] {
				found[k] = u
			}
		}
		pi := out.Account.Users.PageInfo
		if len(found) == len(want) || !pi.HasPreviousPage {
			return found, n, nil
		}
		if pi.StartCursor == nil || *pi.StartCursor == "" || (before != nil && *before == *pi.StartCursor) {
			return nil, n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "cursor did not advance"}
		}
		next := *pi.StartCursor
		before = &next
	}
	return nil, n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "listing did not end"}
}
