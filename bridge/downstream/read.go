package downstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
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
// BigCommerce's documented complexity limit of 10000 and within its documented
// page size of 50. By the simulator's formula (each field 1; a connection 1 +
// first × the cost of one edge's selection) a store-user edge with the fields
// below costs about 11, so:
//   - a flat page of 50 account users costs about 260 (4 fields), 460 with
//     every optional field;
//   - a stores page with nested users costs about 5,300: storeUsersStores (20)
//     stores, each about 265 with storeUsersNested (25) users nested;
//   - a continuation document costs about 560 per store at 50 users, so
//     continuationStores (6) stores cost about 3,400.
//
// BigCommerce documents the limit but not its formula, so when a server
// refuses a listing document anyway, the listing shrinks it and asks again:
// half the page size for a flat page, half the stores for a continuation
// document (then half the page size), down to one item, logging each shrink
// at Warn.
const (
	storeUsersStores    = 20
	storeUsersNested    = 25
	continuationStores  = 6
	maxContinuationPage = DocumentedPageSize
	// maxPages stops a listing whose server never says "no next page".
	maxPages = 10000
)

// The documents of the fixed-shape reads are in typed.go.

// accountUsersQuery is the forward listing of the account's users with the
// given selection of each user.
func accountUsersQuery(fields string) string {
	return "query BridgeAccountUsers($first: Int!, $after: String) { account { " +
		"users(first: $first, after: $after) { pageInfo { hasNextPage endCursor } " +
		"edges { node { " + fields + " } } } } }"
}

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
	wireStoreConnection struct {
		PageInfo wirePageInfo `json:"pageInfo"`
		Edges    []struct {
			Cursor *string    `json:"cursor"`
			Node   *wireStore `json:"node"`
		} `json:"edges"`
	}
)

// Account returns the account's id and name in one request; it doubles as the
// startup credential check.
func (c *Client) Account(ctx context.Context, p Priority) (AccountInfo, error) {
	var out accountDoc
	var raw json.RawMessage
	if _, err := c.query(ctx, p, OpAccount, queryAccount, nil, &raw); err != nil {
		return AccountInfo{}, err
	}
	if err := decodeDocument(raw, &out); err != nil {
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
// error and no users: a partial list must never be acted on. It selects the
// documented fields plus those [Client.Detect] found; if the server refuses
// that selection it retries with the documented fields only.
func (c *Client) ListAccountUsers(ctx context.Context, p Priority) ([]User, int, error) {
	total := 0
	for {
		fields := c.accountUserSelection()
		users, n, err := c.listAccountUsers(ctx, p, fields)
		total += n
		if err != nil && fields != strings.Join(documentedUserFields, " ") && isShapeRefusal(err) {
			c.drop("account user fields", func(cp *Capabilities) { cp.AccountUserFields = nil })
			continue
		}
		return users, total, err
	}
}

func (c *Client) listAccountUsers(ctx context.Context, p Priority, fields string) ([]User, int, error) {
	var users []User
	n, err := c.pages(ctx, p, OpAccountUsers, accountUsersQuery(fields), c.pageSize(), nil, func(data json.RawMessage) (wirePageInfo, error) {
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
// spent; on failure the error and no stores. It remembers each store's
// position in the stores connection (the cursor of the store before it), so
// that FindStoreUsers can go straight to a store's users.
func (c *Client) ListStores(ctx context.Context, p Priority) ([]Store, int, error) {
	var stores []Store
	positions := map[string]*string{}
	var prev *string
	n, err := c.pages(ctx, p, OpStores, queryStores, c.pageSize(), nil, func(data json.RawMessage) (wirePageInfo, error) {
		var out storesDoc
		if err := decodeDocument(data, &out); err != nil {
			return wirePageInfo{}, err
		}
		if out.Account == nil || out.Account.Stores == nil {
			return wirePageInfo{}, unexpected("stores missing")
		}
		for _, e := range out.Account.Stores.Edges {
			if e.Node == nil {
				return wirePageInfo{}, unexpected("store node missing")
			}
			stores = append(stores, Store{ID: e.Node.ID, Hash: e.Node.StoreHash, Name: e.Node.Name})
			positions[e.Node.StoreHash] = prev
			prev = e.Cursor
		}
		return out.Account.Stores.PageInfo, nil
	})
	if err != nil {
		return nil, n, err
	}
	c.positions.replace(positions)
	return stores, n, nil
}

// storePositions remembers, per store hash, the stores connection's cursor of
// the store listed before it (nil for the first store); safe for concurrent use.
type storePositions struct {
	mu  sync.Mutex
	pos map[string]*string
}

func (s *storePositions) replace(pos map[string]*string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pos = pos
}

func (s *storePositions) get(hash string) (*string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.pos[hash]
	return c, ok
}

func (s *storePositions) forget(hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pos, hash)
}

// ListApps returns every app of the account and the number of requests spent;
// on failure the error and no apps.
func (c *Client) ListApps(ctx context.Context, p Priority) ([]App, int, error) {
	var apps []App
	n, err := c.pages(ctx, p, OpApps, queryApps, c.pageSize(), nil, func(data json.RawMessage) (wirePageInfo, error) {
		var out appsDoc
		if err := decodeDocument(data, &out); err != nil {
			return wirePageInfo{}, err
		}
		if out.Account == nil || out.Account.Apps == nil {
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
// the page size is smaller), then, for the stores with more users, continues
// with up to continuationStores stores per request, each asking for a page of
// users: by node(id:) when the server resolves stores that way
// ([Capabilities.NodeStores]), otherwise through the stores connection, as
// account { stores(first: 1, after: <the cursor before that store>) }, which
// needs only the documented cursor paging.
func (c *Client) ListStoreUsers(ctx context.Context, p Priority) ([]StoreUsers, int, error) {
	var (
		result []StoreUsers
		more   []continuation
		before *string // cursor of the previous store edge
	)
	page := c.pageSize()
	extra := map[string]any{"users": min(page, storeUsersNested)}
	n, err := c.pages(ctx, p, OpStoreUsers, queryStoreUsers, min(page, storeUsersStores), extra, func(data json.RawMessage) (wirePageInfo, error) {
		var out storeUsersDoc
		if err := decodeDocument(data, &out); err != nil {
			return wirePageInfo{}, err
		}
		if out.Account == nil || out.Account.Stores == nil {
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
				more = append(more, continuation{index: len(result), storeBefore: before, cursor: *pi.EndCursor})
			}
			result = append(result, su)
			before = e.Cursor
		}
		return out.Account.Stores.PageInfo, nil
	})
	if err != nil {
		return nil, n, err
	}
	m, err := c.continueStoreUsers(ctx, p, result, more, storeUserFields)
	n += m
	if err != nil {
		return nil, n, err
	}
	return result, n, nil
}

// continuation is a store whose users continue on another page.
type continuation struct {
	index int // in the result
	// storeBefore is the stores connection's cursor of the store listed just
	// before this one (nil for the first store).
	storeBefore *string
	cursor      string // the users cursor to continue after
}

// continueStoreUsers pages on the users of the stores in more, appending them
// to result, until every store's users end.
func (c *Client) continueStoreUsers(ctx context.Context, p Priority, result []StoreUsers, more []continuation, fields string) (int, error) {
	var n int
	first := min(c.pageSize(), maxContinuationPage)
	per := continuationStores
	for rounds := 0; len(more) > 0; rounds++ {
		if rounds >= maxPages {
			return n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "store users never ended"}
		}
		group := more[:min(len(more), per)]
		// Read every round: a refusal in an earlier round may have turned
		// node(id:) off.
		byNode := c.Capabilities().NodeStores
		query, vars := continuationDocument(result, group, byNode, first, fields)
		var out map[string]json.RawMessage
		spent, err := c.query(ctx, p, OpStoreUsersContinuation, query, vars, &out)
		n += spent
		if err != nil {
			if per, first, err = c.shrinkContinuation(err, byNode, len(group), per, first); err != nil {
				return n, err
			}
			continue
		}
		conns, retry, err := c.continuationConns(out, result, group, byNode)
		if err != nil {
			return n, err
		}
		if retry {
			continue
		}
		still, err := appendContinued(result, group, conns)
		if err != nil {
			return n, err
		}
		more = append(still, more[len(group):]...)
	}
	return n, nil
}

// continuationDocument renders the document and variables continuing the
// users of the stores in group, by node(id:) when byNode, otherwise through
// the stores connection.
func continuationDocument(result []StoreUsers, group []continuation, byNode bool, first int, fields string) (string, map[string]any) {
	var query string
	var vars map[string]any
	if byNode {
		query, vars = buildNodeContinuation(len(group), first, fields)
		for k, pe := range group {
			ks := strconv.Itoa(k)
			vars["s"+ks] = result[pe.index].Store.ID
			vars["a"+ks] = pe.cursor
		}
	} else {
		query, vars = buildCursorContinuation(len(group), first, fields)
		for k, pe := range group {
			ks := strconv.Itoa(k)
			vars["c"+ks] = pe.storeBefore
			vars["a"+ks] = pe.cursor
		}
	}
	return query, vars
}

// shrinkContinuation decides how the continuation goes on after err: per
// stores of first users each. A refused node(id:) shape turns that capability
// off and keeps the sizes; any other refusal halves the number of stores,
// then the page of users, down to one store of one user. A non-nil error (one
// that is not a refusal, or a refusal at the smallest size) ends the listing.
func (c *Client) shrinkContinuation(err error, byNode bool, stores, per, first int) (int, int, error) {
	switch {
	case byNode && isShapeRefusal(err):
		c.drop("node on stores", func(cp *Capabilities) { cp.NodeStores = false })
		return per, first, nil
	case !isRefused(err) || (stores == 1 && first == 1):
		return per, first, err
	case stores > 1:
		per = stores / 2
	default:
		first /= 2
	}
	c.log.Warn("downstream refused listing page, shrinking",
		zap.String("operation", OpStoreUsersContinuation), zap.Int("stores", per), zap.Int("size", first))
	return per, first, nil
}

// continuationConns reads, in the order of group, each store's users
// connection from a continuation response. retry reports that node(id:) did
// not resolve a store, so the capability is off and the same group must go
// again through the stores connection.
func (c *Client) continuationConns(out map[string]json.RawMessage, result []StoreUsers, group []continuation, byNode bool) ([]*wireUserConnection, bool, error) {
	conns := make([]*wireUserConnection, len(group))
	for k, pe := range group {
		conn, gone, err := continuationUsers(out["s"+strconv.Itoa(k)], byNode, result[pe.index].Store.Hash)
		if err != nil {
			return nil, false, err
		}
		if gone && byNode {
			// node(id:) did not resolve a store that the listing just
			// returned: this server does not resolve stores by id. The
			// same group goes again through the stores connection.
			c.drop("node on stores", func(cp *Capabilities) { cp.NodeStores = false })
			return nil, true, nil
		}
		if gone {
			// The store vanished between pages: the read is not a snapshot.
			return nil, false, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "a store disappeared while its users were listed"}
		}
		conns[k] = conn
	}
	return conns, false, nil
}

// appendContinued appends each store's page of users in conns to its entry
// in result and returns the stores of group whose users continue further.
// A cursor that does not advance would page forever, so it fails the read.
func appendContinued(result []StoreUsers, group []continuation, conns []*wireUserConnection) ([]continuation, error) {
	var still []continuation
	for k, pe := range group {
		conn := conns[k]
		users, err := decodeUsers(conn)
		if err != nil {
			return nil, err
		}
		su := &result[pe.index]
		su.Users = append(su.Users, users...)
		if pi := conn.PageInfo; pi.HasNextPage {
			if pi.EndCursor == nil || *pi.EndCursor == "" || *pi.EndCursor == pe.cursor {
				return nil, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "store users cursor did not advance"}
			}
			next := pe
			next.cursor = *pi.EndCursor
			still = append(still, next)
		}
	}
	return still, nil
}

// continuationUsers reads one alias of a continuation document: a node (byNode)
// or an account whose stores page holds the one store hash. gone reports
// that the store was not there.
func continuationUsers(raw json.RawMessage, byNode bool, hash string) (*wireUserConnection, bool, error) {
	if byNode {
		var node *struct {
			Users *wireUserConnection `json:"users"`
		}
		if err := json.Unmarshal(raw, &node); err != nil {
			return nil, false, unexpected("data does not match the query")
		}
		if node == nil || node.Users == nil {
			return nil, true, nil
		}
		return node.Users, false, nil
	}
	var acct *struct {
		Stores *wireStoreConnection `json:"stores"`
	}
	if err := json.Unmarshal(raw, &acct); err != nil || acct == nil || acct.Stores == nil {
		return nil, false, unexpected("stores missing")
	}
	if len(acct.Stores.Edges) != 1 || acct.Stores.Edges[0].Node == nil || acct.Stores.Edges[0].Node.StoreHash != hash {
		return nil, true, nil
	}
	users := acct.Stores.Edges[0].Node.Users
	if users == nil {
		return nil, false, unexpected("store users missing")
	}
	return users, false, nil
}

// buildNodeContinuation renders a document continuing the users of count
// stores by node(id:), aliased s0, s1, ...; variables $sK (store id) and $aK
// (users cursor) are left for the caller to fill.
func buildNodeContinuation(count, first int, fields string) (string, map[string]any) {
	var head, body strings.Builder
	head.WriteString("query BridgeStoreUsersMore($first: Int!")
	body.WriteString(") {")
	for k := range count {
		ks := strconv.Itoa(k)
		head.WriteString(", $s" + ks + ": ID!, $a" + ks + ": String")
		body.WriteString(" s" + ks + ": node(id: $s" + ks + ") { ... on Store { users(first: $first, after: $a" + ks +
			") { pageInfo { hasNextPage endCursor } edges { node { " + fields + " } } } } }")
	}
	body.WriteString(" }")
	head.WriteString(body.String())
	return head.String(), map[string]any{"first": first}
}

// buildCursorContinuation renders a document continuing the users of count
// stores through the stores connection, aliased s0, s1, ...: each alias asks
// for the one store after $cK (the cursor of the store before it; null for
// the first store) and its users after $aK.
func buildCursorContinuation(count, first int, fields string) (string, map[string]any) {
	var head, body strings.Builder
	head.WriteString("query BridgeStoreUsersMore($first: Int!")
	body.WriteString(") {")
	for k := range count {
		ks := strconv.Itoa(k)
		head.WriteString(", $c" + ks + ": String, $a" + ks + ": String")
		body.WriteString(" s" + ks + ": account { stores(first: 1, after: $c" + ks + ") { edges { node { storeHash " +
			"users(first: $first, after: $a" + ks + ") { pageInfo { hasNextPage endCursor } edges { node { " + fields + " } } } } } } }")
	}
	body.WriteString(" }")
	head.WriteString(body.String())
	return head.String(), map[string]any{"first": first}
}

// FindStoreUsers lists every user of the store with this hash, with their ids
// and emails only, and returns them with the number of requests spent. The
// listing is complete (every page to the end) or it fails, so an email absent
// from it is evidence that the user has no access to that store. A store the
// account does not have fails with reason store_not_found.
func (c *Client) FindStoreUsers(ctx context.Context, p Priority, hash string) (StoreUsers, int, error) {
	const fields = "id email"
	su := StoreUsers{Store: Store{ID: storeID(hash), Hash: hash}}
	result := []StoreUsers{su}
	var n int
	if c.Capabilities().NodeStores {
		// Start at the beginning of the store's users: a continuation after no cursor.
		m, err := c.firstStorePageByNode(ctx, p, &result[0], fields)
		n += m
		if err == nil {
			return result[0], n, nil
		}
		if !isShapeRefusal(err) && !errors.Is(err, errNodeGone) {
			return StoreUsers{}, n, err
		}
		c.drop("node on stores", func(cp *Capabilities) { cp.NodeStores = false })
		result[0].Users = nil
	}
	// Find the cursor of the store before it (remembered from the last
	// listing of the stores, else one page of stores), then page its users.
	if before, ok := c.positions.get(hash); ok {
		su, m, err := c.storeUsersAfter(ctx, p, hash, before, fields)
		n += m
		if err == nil {
			su.Store.ID = result[0].Store.ID
			return su, n, nil
		}
		if !errors.Is(err, errStoreMoved) {
			return StoreUsers{}, n, err
		}
		c.positions.forget(hash)
	}
	var before *string
	found := false
	var prev *string
	m, err := c.pages(ctx, p, OpStoreCursors, queryStoreCursors, c.pageSize(), nil, func(data json.RawMessage) (wirePageInfo, error) {
		var out storesDoc
		if err := decodeDocument(data, &out); err != nil {
			return wirePageInfo{}, err
		}
		if out.Account == nil || out.Account.Stores == nil {
			return wirePageInfo{}, unexpected("stores missing")
		}
		for _, e := range out.Account.Stores.Edges {
			if e.Node == nil {
				return wirePageInfo{}, unexpected("store node missing")
			}
			if e.Node.StoreHash == hash {
				before, found = prev, true
				result[0].Store = Store{ID: e.Node.ID, Hash: hash, Name: e.Node.Name}
				return wirePageInfo{}, nil // stop paging
			}
			prev = e.Cursor
		}
		return out.Account.Stores.PageInfo, nil
	})
	n += m
	if err != nil {
		return StoreUsers{}, n, err
	}
	if !found {
		return StoreUsers{}, n, &Error{Class: ClassPermanent, Reason: ReasonStoreNotFound, Detail: "the account has no store with this hash"}
	}
	su, m2, err := c.storeUsersAfter(ctx, p, hash, before, fields)
	n += m2
	if errors.Is(err, errStoreMoved) {
		err = &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "the store moved while its users were listed"}
	}
	if err != nil {
		return StoreUsers{}, n, err
	}
	su.Store = result[0].Store
	return su, n, nil
}

// errStoreMoved reports that the store after a cursor is not the one expected.
var errStoreMoved = errors.New("the store is not where it was")

// storeUsersAfter pages through the users of the store that comes after the
// stores cursor before (nil: the first store) and checks it has this hash.
func (c *Client) storeUsersAfter(ctx context.Context, p Priority, hash string, before *string, fields string) (StoreUsers, int, error) {
	su := StoreUsers{Store: Store{ID: storeID(hash), Hash: hash}}
	query, vars := buildCursorContinuation(1, min(c.pageSize(), maxContinuationPage), fields)
	var n int
	var after *string
	for page := 0; ; page++ {
		if page >= maxPages {
			return StoreUsers{}, n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "store users never ended"}
		}
		vars["c0"], vars["a0"] = before, after
		var out map[string]json.RawMessage
		spent, err := c.query(ctx, p, OpStoreUsersContinuation, query, vars, &out)
		n += spent
		if err != nil {
			return StoreUsers{}, n, err
		}
		conn, gone, err := continuationUsers(out["s0"], false, hash)
		if err != nil {
			return StoreUsers{}, n, err
		}
		if gone {
			return StoreUsers{}, n, errStoreMoved
		}
		users, err := decodeUsers(conn)
		if err != nil {
			return StoreUsers{}, n, err
		}
		su.Users = append(su.Users, users...)
		if !conn.PageInfo.HasNextPage {
			return su, n, nil
		}
		if conn.PageInfo.EndCursor == nil || *conn.PageInfo.EndCursor == "" || (after != nil && *after == *conn.PageInfo.EndCursor) {
			return StoreUsers{}, n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "store users cursor did not advance"}
		}
		next := *conn.PageInfo.EndCursor
		after = &next
	}
}

// errNodeGone reports that node(id:) returned null for a store.
var errNodeGone = errors.New("node did not resolve the store")

// firstStorePageByNode lists a store's users by node(id:) from the start.
func (c *Client) firstStorePageByNode(ctx context.Context, p Priority, su *StoreUsers, fields string) (int, error) {
	query, vars := buildNodeContinuation(1, min(c.pageSize(), maxContinuationPage), fields)
	var n int
	var after *string
	for page := 0; ; page++ {
		if page >= maxPages {
			return n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "store users never ended"}
		}
		vars["s0"], vars["a0"] = su.Store.ID, after
		var out map[string]json.RawMessage
		spent, err := c.query(ctx, p, OpStoreUsersContinuation, query, vars, &out)
		n += spent
		if err != nil {
			return n, err
		}
		conn, gone, err := continuationUsers(out["s0"], true, su.Store.Hash)
		if err != nil {
			return n, err
		}
		if gone {
			return n, errNodeGone
		}
		users, err := decodeUsers(conn)
		if err != nil {
			return n, err
		}
		su.Users = append(su.Users, users...)
		if !conn.PageInfo.HasNextPage {
			return n, nil
		}
		if conn.PageInfo.EndCursor == nil || *conn.PageInfo.EndCursor == "" || (after != nil && *after == *conn.PageInfo.EndCursor) {
			return n, &Error{Class: ClassTransient, Reason: ReasonInconsistentRead, Detail: "store users cursor did not advance"}
		}
		next := *conn.PageInfo.EndCursor
		after = &next
	}
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
		if e == nil && len(r.errs) > 0 {
			e = readError(r)
		}
		if e != nil {
			switch {
			case e.Reason == ReasonRefused && first > 1:
				first /= 2
				c.log.Warn("downstream refused listing page, shrinking",
					zap.String("operation", opName), zap.Int("size", first))
				continue
			case isShapeRefusal(e):
				// A page larger than the server allows comes back as an error
				// BigCommerce does not document: ask for the documented sizes.
				if smaller, ok := c.shrinkPage(opName, first); ok {
					first = smaller
					continue
				}
			}
			return n, e
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

// isShapeRefusal reports whether err is the server refusing a document as
// written (validation, an argument out of range, an unknown field): what a
// server answers to a shape beyond what it offers. Authorisation, budget,
// rate-limit and transport failures are not shape refusals.
func isShapeRefusal(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Reason {
	case ReasonInvalidDocument, ReasonQueryFailed, ReasonRefused, ReasonHTTP4xx:
		return true
	}
	return false
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
