package downstream

import (
	"context"
	"encoding/json"
	"strings"

	"go.uber.org/zap"
)

// accountUsersBackwardQuery pages the account's users from the end.
func accountUsersBackwardQuery(fields string) string {
	return "query BridgeAccountUsersBackward($last: Int!, $before: String) { account { " +
		"users(last: $last, before: $before) { pageInfo { hasPreviousPage startCursor } " +
		"edges { node { " + fields + " } } } } }"
}

// FindAccountUsers looks for the account users with the given emails
// (compared case-insensitively) among the newest users, paging the account's
// users backwards (last/before), and returns those found, keyed by lower-cased
// email, with the number of requests spent. The bridge needs a user's id for
// removeUserFromStore, and users it added recently are the newest.
//
// BigCommerce does not document backward paging: without
// [Capabilities.BackwardPaging] FindAccountUsers sends nothing and finds
// nothing, and a server that refuses it turns the capability off. An email it
// does not find is never evidence that the user is not in the account (the
// server might have ignored the arguments); only a complete listing
// ([Client.ListAccountUsers], [Client.FindStoreUsers]) is.
func (c *Client) FindAccountUsers(ctx context.Context, p Priority, emails []string) (map[string]User, int, error) {
	want := make(map[string]bool, len(emails))
	for _, e := range emails {
		want[strings.ToLower(e)] = true
	}
	found := make(map[string]User, len(want))
	if len(want) == 0 || !c.Capabilities().BackwardPaging {
		return found, 0, nil
	}
	var (
		n      int
		before *string
	)
	query := accountUsersBackwardQuery("id email")
	for page := 0; page < maxBackwardPages; page++ {
		r, s, e := c.exec(ctx, p, OpAccountUsersBackward, query, map[string]any{"last": c.pageSize(), "before": before})
		n += s.requests
		if e == nil && len(r.errs) > 0 {
			e = readError(r)
		}
		if e != nil {
			if isShapeRefusal(e) {
				c.drop("backward paging", func(cp *Capabilities) { cp.BackwardPaging = false })
				c.log.Debug("backward paging refused", zap.String("reason", e.Reason))
				return found, n, nil
			}
			return nil, n, e
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
	// Not among the newest: the caller lists the store instead.
	return found, n, nil
}

// maxBackwardPages bounds a backward search: it is worth it for recently
// added users only.
const maxBackwardPages = 4
