package downstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// AccountInfo describes the account the token belongs to.
type AccountInfo struct {
	// ID is the account's global id, "bc/account/account/{uuid}".
	ID string
	// Name is the account's name.
	Name string
}

// User is a control-panel user. In the account's user list the store-scoped
// fields (Permissions, and on the simulator Status and LastLoginAt) describe
// the account-level user; in a store's user list they describe the user's
// access to that store.
type User struct {
	// ID is the global id, "bc/account/user/N".
	ID string
	// Email is the user's email address: the BigCommerce identity.
	Email string
	// FirstName is the first name, "" when unknown.
	FirstName string
	// LastName is the last name, "" when unknown.
	LastName string
	// Locale is the locale, such as "en-US", "" when unknown.
	Locale string
	// Status is the user's status, such as ACTIVE or INVITED.
	Status string
	// LastLoginAt is the last sign-in time, nil when never or unknown.
	LastLoginAt *time.Time
	// UpdatedAt is the last update time, nil when unknown.
	UpdatedAt *time.Time
	// Permissions are the permission names, such as Manage_Products.
	Permissions []string
}

// Store is a store of the account.
type Store struct {
	// ID is the global id, "bc/account/store/{hash}".
	ID string
	// Hash is the store hash.
	Hash string
	// Name is the store's name.
	Name string
}

// StoreUsers is a store with every user who has access to it.
type StoreUsers struct {
	// Store is the store.
	Store Store
	// Users are the users with access, in server order.
	Users []User
	// Total is the server's count of the store's users (collectionInfo.totalItems).
	Total int
}

// App is an app of the account.
type App struct {
	// ID is the global id, "bc/account/app/N".
	ID string
	// Name is the app's name.
	Name string
}

// Nested page sizes, chosen so that every listing document stays well under
// BigCommerce's documented complexity limit of 10000. By the simulator's
// formula (each field 1; a connection 1 + first × the cost of one edge's
// selection) a user edge with the fields below costs 11, so:
//   - a user edge (node + 9 fields) costs 10, so a flat page of 100 users
//     costs 1,006; stores and apps pages far less;
//   - a stores page with nested users costs 5,226: storeUsersStores (20)
//     stores, each 261 with storeUsersNested (25) users nested;
//   - a continuation document costs 1,008 per store at 100 users, so
//     continuationStores (6) stores cost 6,048.
//
// These are the values the simulator reports in x-bc-graphql-complexity (see
// TestListingDocumentsStayUnderComplexityLimit). BigCommerce documents the
// limit but not its formula, so when a server refuses a listing document
// anyway, the listing shrinks it and asks again: half the page size for a
// flat page, half the stores for a continuation document (then half the page
// size), down to one item, logging each shrink at Warn.
const (
	storeUsersStores    = 20
	storeUsersNested    = 25
	continuationStores  = 6
	maxContinuationPage = 100
	// maxPages stops a listing whose server never says "no next page".
	maxPages = 10000
)

// userFields is the selection of a user, every field the bridge reads.
const userFields = "id email firstName lastName locale status lastLoginAt updatedAt permissions"

const (
	queryAccount = "query BridgeAccount { account { id accountInfo { name } } }"

	queryAccountUsers = "query BridgeAccountUsers($first: Int!, $after: String) { account { " +
		"users(first: $first, after: $after) { pageInfo { hasNextPage endCursor } " +
		"edges { node { " + userFields + " } } } } }"

	queryStores = "query BridgeStores($first: Int!, $after: String) { account { " +
		"stores(first: $first, after: $after) { pageInfo { hasNextPage endCursor } " +
		"edges { node { id name storeHash } } } } }"

	queryStoreUsers = "query BridgeStoreUsers($first: Int!, $after: String, $users: Int!) { account { " +
		"stores(first: $first, after: $after) { pageInfo { hasNextPage endCursor } " +
		"edges { node { id name storeHash " +
		"users(first: $users) { pageInfo { hasNextPage endCursor } collectionInfo { totalItems } " +
		"edges { node { " + userFields + " } } } } } } } }"

	queryApps = "query BridgeApps($first: Int!, $after: String) { account { " +
		"apps(first: $first, after: $after) { pageInfo { hasNextPage endCursor } " +
		"edges { node { id name } } } } }"
)

// Wire shapes.
type (
	wirePageInfo struct {
		HasNextPage bool    `json:"hasNextPage"`
		EndCursor   *string `json:"endCursor"`
	}
	wireUser struct {
		ID          string   `json:"id"`
		Email       string   `json:"email"`
		FirstName   *string  `json:"firstName"`
		LastName    *string  `json:"lastName"`
		Locale      *string  `json:"locale"`
		Status      *string  `json:"status"`
		LastLoginAt *string  `json:"lastLoginAt"`
		UpdatedAt   *string  `json:"updatedAt"`
		Permissions []string `json:"permissions"`
	}
	wireUserConnection struct {
		PageInfo       wirePageInfo `json:"pageInfo"`
		CollectionInfo *struct {
			TotalItems int `json:"totalItems"`
		} `json:"collectionInfo"`
		Edges []struct {
			Node *wireUser `json:"node"`
		} `json:"edges"`
	}
	wireStore struct {
		ID        string              `json:"id"`
		Name      string              `json:"name"`
		StoreHash string              `json:"storeHash"`
		Users     *wireUserConnection `json:"users"`
	}
)

// Account returns the account's id and name in one request; it doubles as the
// startup credential check.
func (c *Client) Account(ctx context.Context, p Priority) (AccountInfo, error) {
	var out struct {
		Account *struct {
			ID          string `json:"id"`
			AccountInfo *struct {
				Name string `json:"name"`
			} `json:"accountInfo"`
		} `json:"account"`
	}
	if _, err := c.query(ctx, p, "BridgeAccount", queryAccount, nil, &out); err != nil {
		return AccountInfo{}, err
	}
	if out.Account == nil {
		return AccountInfo{}, unexpected("account missing")
	}
	info := AccountInfo{ID: out.Account.ID}
	if out.Account.AccountInfo != nil {
		info.Name = out.Account.AccountInfo.Name
	}
	return info, nil
}

// ListAccountUsers returns every user of the account, following cursors to
// the end, and the number of requests spent. On any failure it returns the
// error and no users: a partial list must never be acted on.
func (c *Client) ListAccountUsers(ctx context.Context, p Priority) ([]User, int, error) {
	var users []User
	n, err := c.pages(ctx, p, "BridgeAccountUsers", queryAccountUsers, c.pageSize, nil, func(data json.RawMessage) (wirePageInfo, error) {
		var out struct {
			Account *struct {
				Users *wireUserConnection `json:"users"`
			} `json:"account"`
		}
		if err := json.Unmarshal(data, &out); err != nil || out.Account == nil || out.Account.Users == nil {
			return wirePageInfo{}, unexpected("account users missing")
		}
		page, err := decodeUsers(out.Account.Users)
		if err != nil {
			return wirePageInfo{}, err
		}
		users = append(users, page...)
		return out.Account.Users.PageInfo, nil
	})
	if err != nil {
		return nil, n, err
	}
	return users, n, nil
}

// ListStores returns every store of the account and the number of requests
// spent; on failure the error and no stores.
func (c *Client) ListStores(ctx context.Context, p Priority) ([]Store, int, error) {
	var stores []Store
	n, err := c.pages(ctx, p, "BridgeStores", queryStores, c.pageSize, nil, func(data json.RawMessage) (wirePageInfo, error) {
		var out struct {
			Account *struct {
				Stores *struct {
					PageInfo wirePageInfo `json:"pageInfo"`
					Edges    []struct {
						Node *wireStore `json:"node"`
					} `json:"edges"`
				} `json:"stores"`
			} `json:"account"`
		}
		if err := json.Unmarshal(data, &out); err != nil || out.Account == nil || out.Account.Stores == nil {
			return wirePageInfo{}, unexpected("stores missing")
		}
		for _, e := range out.Account.Stores.Edges {
			if e.Node == nil {
				return wirePageInfo{}, unexpected("store node missing")
			}
			stores = append(stores, Store{ID: e.Node.ID, Hash: e.Node.StoreHash, Name: e.Node.Name})
		}
		return out.Account.Stores.PageInfo, nil
	})
	if err != nil {
		return nil, n, err
	}
	return stores, n, nil
}

// ListApps returns every app of the account and the number of requests spent;
// on failure the error and no apps.
func (c *Client) ListApps(ctx context.Context, p Priority) ([]App, int, error) {
	var apps []App
	n, err := c.pages(ctx, p, "BridgeApps", queryApps, c.pageSize, nil, func(data json.RawMessage) (wirePageInfo, error) {
		var out struct {
			Account *struct {
				Apps *struct {
					PageInfo wirePageInfo `json:"pageInfo"`
					Edges    []struct {
						Node *App `json:"node"`
					} `json:"edges"`
				} `json:"apps"`
			} `json:"account"`
		}
		if err := json.Unmarshal(data, &out); err != nil || out.Account == nil || out.Account.Apps == nil {
			return wirePageInfo{}, unexpected("apps missing")
		}
		for _, e := range out.Account.Apps.Edges {
			if e.Node == nil {
				return wirePageInfo{}, unexpected("app node missing")
			}
			apps = append(apps, *e.Node)
		}
		return out.Account.Apps.PageInfo, nil
	})
	if err != nil {
		return nil, n, err
	}
	return apps, n, nil
}

// ListStoreUsers returns every store with every user who has access to it,
// and the number of requests spent; on failure the error and no data.
//
// It first pages through the stores with each store's first users nested
// (storeUsersStores stores of storeUsersNested users per request, fewer when
// PageSize is smaller), then, for the stores with more users, continues with
// node(id:) queries carrying up to continuationStores stores per request, each
// asking for PageSize users (at most maxContinuationPage).
func (c *Client) ListStoreUsers(ctx context.Context, p Priority) ([]StoreUsers, int, error) {
	type pending struct {
		index  int
		cursor string
	}
	var (
		result []StoreUsers
		more   []pending
	)
	extra := map[string]any{"users": min(c.pageSize, storeUsersNested)}
	n, err := c.pages(ctx, p, "BridgeStoreUsers", queryStoreUsers, min(c.pageSize, storeUsersStores), extra, func(data json.RawMessage) (wirePageInfo, error) {
		var out struct {
			Account *struct {
				Stores *struct {
					PageInfo wirePageInfo `json:"pageInfo"`
					Edges    []struct {
						Node *wireStore `json:"node"`
					} `json:"edges"`
				} `json:"stores"`
			} `json:"account"`
		}
		if err := json.Unmarshal(data, &out); err != nil || out.Account == nil || out.Account.Stores == nil {
			return wirePageInfo{}, unexpected("stores missing")
		}
		for _, e := range out.Account.Stores.Edges {
			if e.Node == nil || e.Node.Users == nil {
				return wirePageInfo{}, unexpected("store or its users missing")
			}
			users, err := decodeUsers(e.Node.Users)
			if err != nil {
				return wirePageInfo{}, err
			}
			su := StoreUsers{Store: Store{ID: e.Node.ID, Hash: e.Node.StoreHash, Name: e.Node.Name}, Users: users}
			if ci := e.Node.Users.CollectionInfo; ci != nil {
				su.Total = ci.TotalItems
			}
			if pi := e.Node.Users.PageInfo; pi.HasNextPage {
				if pi.EndCursor == nil || *pi.EndCursor == "" {
					return wirePageInfo{}, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "next page without a cursor"}
				}
				more = append(more, pending{index: len(result), cursor: *pi.EndCursor})
			}
			result = append(result, su)
		}
		return out.Account.Stores.PageInfo, nil
	})
	if err != nil {
		return nil, n, err
	}

	first := min(c.pageSize, maxContinuationPage)
	per := continuationStores
	for rounds := 0; len(more) > 0; rounds++ {
		if rounds >= maxPages {
			return nil, n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "store users never ended"}
		}
		group := more[:min(len(more), per)]
		query, vars := buildContinuation(len(group), first)
		for k, pe := range group {
			ks := strconv.Itoa(k)
			vars["s"+ks] = result[pe.index].Store.ID
			vars["a"+ks] = pe.cursor
		}
		var out map[string]*struct {
			Users *wireUserConnection `json:"users"`
		}
		spent, err := c.query(ctx, p, "BridgeStoreUsersMore", query, vars, &out)
		n += spent
		if err != nil {
			if !isRefused(err) || (len(group) == 1 && first == 1) {
				return nil, n, err
			}
			if len(group) > 1 {
				per = len(group) / 2
			} else {
				first /= 2
			}
			c.log.Warn("downstream refused listing page, shrinking",
				zap.String("operation", "BridgeStoreUsersMore"), zap.Int("stores", per), zap.Int("size", first))
			continue
		}
		var still []pending
		for k, pe := range group {
			node := out["s"+strconv.Itoa(k)]
			if node == nil || node.Users == nil {
				// The store vanished between pages: the read is not a snapshot.
				return nil, n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "a store disappeared while its users were listed"}
			}
			users, err := decodeUsers(node.Users)
			if err != nil {
				return nil, n, err
			}
			su := &result[pe.index]
			su.Users = append(su.Users, users...)
			if pi := node.Users.PageInfo; pi.HasNextPage {
				if pi.EndCursor == nil || *pi.EndCursor == "" || *pi.EndCursor == pe.cursor {
					return nil, n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "store users cursor did not advance"}
				}
				still = append(still, pending{index: pe.index, cursor: *pi.EndCursor})
			}
		}
		more = append(still, more[len(group):]...)
	}
	return result, n, nil
}

// buildContinuation renders a document continuing the users of count stores,
// aliased s0, s1, ...; variables $sK (store id) and $aK (cursor) are left for
// the caller to fill.
func buildContinuation(count, first int) (string, map[string]any) {
	var head, body strings.Builder
	head.WriteString("query BridgeStoreUsersMore($first: Int!")
	body.WriteString(") {")
	for k := range count {
		ks := strconv.Itoa(k)
		head.WriteString(", $s" + ks + ": ID!, $a" + ks + ": String")
		body.WriteString(" s" + ks + ": node(id: $s" + ks + ") { ... on Store { users(first: $first, after: $a" + ks +
			") { pageInfo { hasNextPage endCursor } collectionInfo { totalItems } edges { node { " + userFields + " } } } } }")
	}
	body.WriteString(" }")
	head.WriteString(body.String())
	return head.String(), map[string]any{"first": first}
}

// query sends one read document and decodes its data into out. Any GraphQL
// error fails the read.
func (c *Client) query(ctx context.Context, p Priority, opName, q string, vars map[string]any, out any) (int, error) {
	r, s, e := c.exec(ctx, p, opName, q, vars)
	if e != nil {
		return s.requests, e
	}
	if len(r.errs) > 0 {
		return s.requests, readError(r)
	}
	if err := json.Unmarshal(r.data, out); err != nil {
		return s.requests, unexpected("data does not match the query")
	}
	return s.requests, nil
}

// pages runs a cursor-paged query to the end. decode consumes one page's data
// and returns its pageInfo. It returns the number of requests spent.
func (c *Client) pages(ctx context.Context, p Priority, opName, q string, first int, extra map[string]any,
	decode func(json.RawMessage) (wirePageInfo, error),
) (int, error) {
	var (
		n     int
		after *string
	)
	for page := 0; ; page++ {
		if page >= maxPages {
			return n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: fmt.Sprintf("listing did not end after %d pages", maxPages)}
		}
		vars := make(map[string]any, 2+len(extra))
		for k, v := range extra {
			vars[k] = v
		}
		vars["first"] = first
		vars["after"] = after
		r, s, e := c.exec(ctx, p, opName, q, vars)
		n += s.requests
		if e != nil {
			if e.Reason != ReasonRefused || first <= 1 {
				return n, e
			}
			first /= 2
			c.log.Warn("downstream refused listing page, shrinking",
				zap.String("operation", opName), zap.Int("size", first))
			continue
		}
		if len(r.errs) > 0 {
			return n, readError(r)
		}
		pi, err := decode(r.data)
		if err != nil {
			return n, err
		}
		if !pi.HasNextPage {
			return n, nil
		}
		if pi.EndCursor == nil || *pi.EndCursor == "" || (after != nil && *after == *pi.EndCursor) {
			return n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "cursor did not advance"}
		}
		next := *pi.EndCursor
		after = &next
	}
}

// readError classifies field errors of a read query.
func readError(r reply) *Error {
	code := errorCode(r.errs[0])
	for _, ge := range r.errs {
		if c := errorCode(ge); c == codeForbidden {
			code = c
			break
		}
	}
	switch code {
	case codeForbidden:
		return &Error{Class: ClassPermanent, Reason: ReasonForbidden, Code: code, Status: r.status, Detail: "the token lacks a read scope"}
	case codeInternal:
		return &Error{Class: ClassTransient, Reason: ReasonServerError, Code: code, Status: r.status}
	case codeRateLimited:
		return &Error{Class: ClassRateLimited, Reason: ReasonRateLimited, Code: code, Status: r.status}
	}
	return &Error{Class: ClassPermanent, Reason: ReasonQueryFailed, Code: code, Status: r.status,
		Detail: fmt.Sprintf("query returned %d error(s)", len(r.errs))}
}

// isRefused reports whether err is a document refused for its size.
func isRefused(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Reason == ReasonRefused
}

func unexpected(detail string) *Error {
	return &Error{Class: ClassPermanent, Reason: ReasonUnexpectedResponse, Detail: detail}
}

// decodeUsers converts one page of a users connection.
func decodeUsers(conn *wireUserConnection) ([]User, error) {
	users := make([]User, 0, len(conn.Edges))
	for _, e := range conn.Edges {
		if e.Node == nil {
			return nil, unexpected("user node missing")
		}
		w := e.Node
		u := User{
			ID:          w.ID,
			Email:       w.Email,
			FirstName:   deref(w.FirstName),
			LastName:    deref(w.LastName),
			Locale:      deref(w.Locale),
			Status:      deref(w.Status),
			Permissions: w.Permissions,
		}
		if u.Permissions == nil {
			u.Permissions = []string{}
		}
		var err error
		if u.LastLoginAt, err = parseTime(w.LastLoginAt); err != nil {
			return nil, err
		}
		if u.UpdatedAt, err = parseTime(w.UpdatedAt); err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseTime parses an RFC 3339 time; nil or "" is no time.
func parseTime(s *string) (*time.Time, error) {
	if s == nil || *s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return nil, unexpected("a time is not RFC 3339")
	}
	t = t.UTC()
	return &t, nil
}
