package simulator

import (
	"encoding/base64"
	"sort"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// Resolver sources: the Go value behind each GraphQL object.
type (
	accountRef     struct{}
	accountInfoRef struct{}
	systemRef      struct{}
	// userView is a user as seen from the account (access == nil) or from one
	// store (access and storeHash set).
	userView struct {
		u         *user
		access    *storeAccess
		storeHash string
	}
	storeView  struct{ s *store }
	appView    struct{ a *app }
	connection struct {
		edges []any // *edge
		page  pageInfo
		total int
	}
	edge struct {
		cursor string
		node   any
	}
	pageInfo struct {
		hasNext, hasPrev bool
		start, end       string
	}
	collectionInfo struct{ total int }

	addUserToAccountResult      struct{ user *user }
	removeUserFromAccountResult struct{ accountID, userID string }
	addUserToStoreResult        struct {
		storeID string
		user    *user
	}
	removeUserFromStoreResult struct {
		storeID string
		user    userView
	}
)

// resolveType maps a source value to the object type of an abstract (Node) field.
func (ex *execution) resolveType(val any) *ast.Definition {
	switch v := val.(type) {
	case accountRef:
		return ex.schema.Types["Account"]
	case userView:
		// The documented profile has a separate type for a user seen from
		// the account.
		if v.access == nil && ex.schema.Types["AccountUser"] != nil {
			return ex.schema.Types["AccountUser"]
		}
		return ex.schema.Types["User"]
	case storeView:
		return ex.schema.Types["Store"]
	case appView:
		return ex.schema.Types["App"]
	}
	return nil
}

// need returns a FORBIDDEN error when the token lacks scope.
func (ex *execution) need(scope string) *fieldError {
	if ex.scopes[scope] {
		return nil
	}
	fe := fieldErrorf(CodeForbidden, "the access token lacks the %s scope", scope)
	fe.ext = map[string]any{"requiredScope": scope}
	return fe
}

// resolve returns the value of field f on src, whose object type is typeName.
func (ex *execution) resolve(typeName string, src any, f *ast.Field, args map[string]any) (any, *fieldError) {
	switch typeName {
	case "Query":
		return ex.resolveQuery(f, args)
	case "System":
		if f.Name == "time" {
			return ex.now, nil
		}
	case "Account":
		return ex.resolveAccount(f, args)
	case "AccountInfo":
		if f.Name == "name" {
			return ex.st.accountName, nil
		}
	case "UserConnection", "AccountUserConnection", "StoreConnection", "AppsConnection",
		"UserEdge", "AccountUserEdge", "StoreEdge", "AppEdge", "PageInfo", "CollectionInfo":
		if v, ok := resolvePaging(typeName, src, f.Name); ok {
			return v, nil
		}
	case "User", "AccountUser":
		return ex.resolveUser(src.(userView), f, args)
	case "Store":
		return ex.resolveStore(src.(storeView), f, args)
	case "App":
		a := src.(appView).a
		switch f.Name {
		case "id":
			return appGlobalID(a.id), nil
		case "name":
			return a.name, nil
		}
	case "Mutation":
		// The namespaces carry no data; their fields do the work.
		return struct{}{}, nil
	case "AccountMutations", "UserMutations":
		if v, err, ok := ex.runMutation(typeName, f.Name, args); ok {
			return v, err
		}
	case "AddUserToAccountResult", "RemoveUserFromAccountResult", "AddUserToStoreResult", "RemoveUserFromStoreResult":
		if v, ok := resolveMutationResult(typeName, src, f.Name); ok {
			return v, nil
		}
	default:
		if strings.HasPrefix(typeName, "__") {
			return ex.resolveIntrospection(typeName, src, f, args)
		}
	}
	return nil, fieldErrorf(CodeInternal, "the simulator does not resolve %s.%s", typeName, f.Name)
}

// resolvePaging resolves a field of a connection, an edge, PageInfo or
// CollectionInfo. ok is false for a field it does not know.
func resolvePaging(typeName string, src any, field string) (v any, ok bool) {
	switch typeName {
	case "UserConnection", "AccountUserConnection", "StoreConnection", "AppsConnection":
		c := src.(*connection)
		switch field {
		case "pageInfo":
			return c.page, true
		case "edges":
			return c.edges, true
		case "collectionInfo":
			return collectionInfo{total: c.total}, true
		}
	case "UserEdge", "AccountUserEdge", "StoreEdge", "AppEdge":
		e := src.(*edge)
		switch field {
		case "cursor":
			return e.cursor, true
		case "node":
			return e.node, true
		}
	case "PageInfo":
		p := src.(pageInfo)
		switch field {
		case "hasNextPage":
			return p.hasNext, true
		case "hasPreviousPage":
			return p.hasPrev, true
		case "startCursor":
			return nullIfEmpty(p.start), true
		case "endCursor":
			return nullIfEmpty(p.end), true
		}
	case "CollectionInfo":
		if field == "totalItems" {
			return src.(collectionInfo).total, true
		}
	}
	return nil, false
}

// runMutation runs a mutation field of the AccountMutations or
// UserMutations namespace. ok is false for a field the namespace does not
// have.
func (ex *execution) runMutation(namespace, field string, args map[string]any) (v any, err *fieldError, ok bool) {
	switch namespace + "." + field {
	case "AccountMutations.addUserToAccount":
		v, err = ex.addUserToAccount(args)
	case "AccountMutations.removeUserFromAccount":
		v, err = ex.removeUserFromAccount(args)
	case "UserMutations.addUserToStore":
		v, err = ex.addUserToStore(args)
	case "UserMutations.removeUserFromStore":
		v, err = ex.removeUserFromStore(args)
	default:
		return nil, nil, false
	}
	return v, err, true
}

// resolveMutationResult resolves a field of a mutation's result. ok is
// false for a field it does not know.
func resolveMutationResult(typeName string, src any, field string) (v any, ok bool) {
	switch typeName {
	case "AddUserToAccountResult":
		switch field {
		case "account":
			return accountRef{}, true
		case "user":
			return userView{u: src.(addUserToAccountResult).user}, true
		}
	case "RemoveUserFromAccountResult":
		r := src.(removeUserFromAccountResult)
		switch field {
		case "accountId":
			return r.accountID, true
		case "userId":
			return r.userID, true
		}
	case "AddUserToStoreResult":
		r := src.(addUserToStoreResult)
		switch field {
		case "storeId":
			return r.storeID, true
		case "user":
			return userView{u: r.user}, true
		}
	case "RemoveUserFromStoreResult":
		r := src.(removeUserFromStoreResult)
		switch field {
		case "storeId":
			return r.storeID, true
		case "user":
			return r.user, true
		}
	}
	return nil, false
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (ex *execution) resolveQuery(f *ast.Field, args map[string]any) (any, *fieldError) {
	switch f.Name {
	case "account":
		if fe := ex.need(ScopeAccountRead); fe != nil {
			return nil, fe
		}
		return accountRef{}, nil
	case "node":
		id, _ := args["id"].(string)
		n, fe := ex.lookupNode(id)
		if fe != nil {
			return nil, fe
		}
		return n, nil
	case "nodes":
		ids, _ := args["ids"].([]any)
		out := make([]any, len(ids))
		for i, raw := range ids {
			id, _ := raw.(string)
			n, fe := ex.lookupNode(id)
			if fe != nil {
				out[i] = fe
				continue
			}
			out[i] = n
		}
		return out, nil
	case "system":
		return systemRef{}, nil
	case "__schema":
		return ex.schema, nil
	case "__type":
		name, _ := args["name"].(string)
		if def := ex.schema.Types[name]; def != nil {
			return typeRef{def: def}, nil
		}
		return nil, nil
	}
	return nil, fieldErrorf(CodeInternal, "the simulator does not resolve Query.%s", f.Name)
}

// lookupNode resolves a global id to its object, nil when nothing has that id
// (malformed ids included), or FORBIDDEN when the token cannot read that kind.
// The documented profile resolves no store (nil, without a scope check).
func (ex *execution) lookupNode(id string) (any, *fieldError) {
	switch {
	case ex.documented && strings.HasPrefix(id, storeIDPrefix):
		return nil, nil
	case strings.HasPrefix(id, accountIDPrefix):
		if fe := ex.need(ScopeAccountRead); fe != nil {
			return nil, fe
		}
		if strings.EqualFold(strings.TrimPrefix(id, accountIDPrefix), ex.st.accountUUID) {
			return accountRef{}, nil
		}
	case strings.HasPrefix(id, userIDPrefix):
		if fe := ex.need(ScopeUsersRead); fe != nil {
			return nil, fe
		}
		if n, ok := parseNumericID(id, userIDPrefix); ok {
			if u := ex.st.userByID[n]; u != nil {
				return userView{u: u}, nil
			}
		}
	case strings.HasPrefix(id, storeIDPrefix):
		if fe := ex.need(ScopeStoresRead); fe != nil {
			return nil, fe
		}
		if h, ok := parseStoreID(id); ok {
			if s := ex.st.storeByHash[h]; s != nil {
				return storeView{s: s}, nil
			}
		}
	case strings.HasPrefix(id, appIDPrefix):
		if fe := ex.need(ScopeAppsRead); fe != nil {
			return nil, fe
		}
		if n, ok := parseNumericID(id, appIDPrefix); ok {
			for _, a := range ex.st.apps {
				if a.id == n {
					return appView{a: a}, nil
				}
			}
		}
	}
	return nil, nil
}

func (ex *execution) resolveAccount(f *ast.Field, args map[string]any) (any, *fieldError) {
	switch f.Name {
	case "id":
		return ex.st.accountID(), nil
	case "accountInfo":
		return accountInfoRef{}, nil
	case "users":
		if fe := ex.need(ScopeUsersRead); fe != nil {
			return nil, fe
		}
		items := make([]pageItem, 0, len(ex.st.users))
		for _, u := range ex.st.users {
			items = append(items, pageItem{key: u.id, id: userGlobalID(u.id), node: userView{u: u}})
		}
		return ex.paginate(items, args, ex.userKey)
	case "stores":
		if fe := ex.need(ScopeStoresRead); fe != nil {
			return nil, fe
		}
		items := make([]pageItem, 0, len(ex.st.stores))
		for _, s := range ex.st.stores {
			items = append(items, pageItem{key: s.index, id: storeGlobalID(s.hash), node: storeView{s: s}})
		}
		return ex.paginate(items, args, ex.storeKey)
	case "apps":
		return ex.appsConnection("", args)
	}
	return nil, fieldErrorf(CodeInternal, "the simulator does not resolve Account.%s", f.Name)
}

// appsConnection lists the account's apps, or those installed on store hash h.
func (ex *execution) appsConnection(h string, args map[string]any) (any, *fieldError) {
	if fe := ex.need(ScopeAppsRead); fe != nil {
		return nil, fe
	}
	var items []pageItem
	for _, a := range ex.st.apps {
		if h == "" || a.inStore(h) {
			items = append(items, pageItem{key: a.id, id: appGlobalID(a.id), node: appView{a: a}})
		}
	}
	return ex.paginate(items, args, ex.appKey)
}

func (ex *execution) resolveUser(v userView, f *ast.Field, args map[string]any) (any, *fieldError) {
	u := v.u
	switch f.Name {
	case "id":
		return userGlobalID(u.id), nil
	case "email":
		return u.email, nil
	case "firstName":
		return nullIfEmpty(u.firstName), nil
	case "lastName":
		return nullIfEmpty(u.lastName), nil
	case "locale":
		return nullIfEmpty(u.locale), nil
	case "lastLoginAt":
		t := u.lastLoginAt
		if v.access != nil {
			t = v.access.lastLoginAt
		}
		if t == nil {
			return nil, nil
		}
		return *t, nil
	case "permissions":
		out := []any{}
		if v.access != nil {
			for _, p := range v.access.permissions {
				out = append(out, p)
			}
		}
		return out, nil
	case "status":
		if v.access != nil {
			return v.access.status, nil
		}
		return u.status, nil
	case "updatedAt":
		if v.access != nil {
			return v.access.updatedAt, nil
		}
		return u.updatedAt, nil
	case "apps":
		if v.access == nil {
			if fe := ex.need(ScopeAppsRead); fe != nil {
				return nil, fe
			}
			return ex.paginate(nil, args, ex.appKey)
		}
		return ex.appsConnection(v.storeHash, args)
	}
	return nil, fieldErrorf(CodeInternal, "the simulator does not resolve User.%s", f.Name)
}

func (ex *execution) resolveStore(v storeView, f *ast.Field, args map[string]any) (any, *fieldError) {
	s := v.s
	switch f.Name {
	case "id":
		return storeGlobalID(s.hash), nil
	case "name":
		return s.name, nil
	case "storeHash":
		return s.hash, nil
	case "users":
		if fe := ex.need(ScopeUsersRead); fe != nil {
			return nil, fe
		}
		var items []pageItem
		for _, u := range ex.st.users {
			if a := u.access[s.hash]; a != nil {
				items = append(items, pageItem{key: u.id, id: userGlobalID(u.id), node: userView{u: u, access: a, storeHash: s.hash}})
			}
		}
		return ex.paginate(items, args, ex.userKey)
	case "apps":
		return ex.appsConnection(s.hash, args)
	}
	return nil, fieldErrorf(CodeInternal, "the simulator does not resolve Store.%s", f.Name)
}

// pageItem is one item of a connection before paging: key orders the items
// and is what a cursor resolves to.
type pageItem struct {
	key  int
	id   string
	node any
}

func (ex *execution) userKey(id string) (int, bool) { return parseNumericID(id, userIDPrefix) }
func (ex *execution) appKey(id string) (int, bool)  { return parseNumericID(id, appIDPrefix) }
func (ex *execution) storeKey(id string) (int, bool) {
	h, ok := parseStoreID(id)
	if !ok {
		return 0, false
	}
	s := ex.st.storeByHash[h]
	if s == nil {
		return 0, false
	}
	return s.index, true
}

// encodeCursor makes the opaque cursor of an item: its global id, base64url.
func encodeCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

func decodeCursor(c string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// paginate applies after/before, then first, then last (Relay's algorithm) to
// items sorted by key. Because a cursor names an item's id and the range is
// computed by key, an item added or removed between two pages neither repeats
// nor causes a skip.
func (ex *execution) paginate(items []pageItem, args map[string]any, keyOf func(string) (int, bool)) (*connection, *fieldError) {
	lo, hi := 0, len(items)
	for _, name := range []string{"after", "before"} {
		raw, ok := args[name].(string)
		if !ok {
			continue
		}
		id, ok := decodeCursor(raw)
		key := 0
		if ok {
			key, ok = keyOf(id)
		}
		if !ok {
			return nil, fieldErrorf(CodeInvalidInput, "invalid %s: not a cursor of this connection", name)
		}
		if name == "after" {
			lo = max(lo, sort.Search(len(items), func(i int) bool { return items[i].key > key }))
		} else {
			hi = min(hi, sort.Search(len(items), func(i int) bool { return items[i].key >= key }))
		}
	}
	if hi < lo {
		hi = lo
	}
	first, hasFirst := args["first"].(int)
	last, hasLast := args["last"].(int)
	if (hasFirst && first < 0) || (hasLast && last < 0) {
		return nil, fieldErrorf(CodeInvalidInput, "invalid page size: first and last must not be negative")
	}
	if ex.documented && hasFirst && first > ex.maxPage {
		return nil, fieldErrorf(CodeInvalidInput, "invalid page size: first must be between 0 and %d", ex.maxPage)
	}
	switch {
	case hasFirst:
		hi = min(hi, lo+min(first, ex.maxPage))
	case !hasLast:
		hi = min(hi, lo+ex.defPage)
	}
	if hasLast {
		lo = max(lo, hi-min(last, ex.maxPage))
	}
	c := &connection{total: len(items), edges: []any{}}
	for _, it := range items[lo:hi] {
		c.edges = append(c.edges, &edge{cursor: encodeCursor(it.id), node: it.node})
	}
	c.page.hasPrev = lo > 0
	c.page.hasNext = hi < len(items)
	if lo < hi {
		c.page.start = encodeCursor(items[lo].id)
		c.page.end = encodeCursor(items[hi-1].id)
	}
	return c, nil
}
