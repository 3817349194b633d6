package downstream

import (
	"context"
	"encoding/json"
	"slices"
	"sync"

	"go.uber.org/zap"
)

// Capabilities are what the server was found to accept beyond BigCommerce's
// documented minimum. The client always works on the minimum: the users page
// documents cursor paging with first/after, the account's users with id, email,
// firstName and lastName, a store's users with their documented fields, and
// one mutation per example request. Everything here is an optimisation the
// client detects (introspection, one request) or learns from a response, and
// drops again as soon as a document that relied on it is refused.
type Capabilities struct {
	// Introspected reports whether the server answered the introspection query
	// ([Client.Detect]); false until then, and when it refused.
	Introspected bool `json:"introspected"`
	// BackwardPaging reports that the account's users take last/before, so the
	// newest users can be found without listing the whole account. Results of
	// a backward search are never evidence that a user is absent.
	BackwardPaging bool `json:"backwardPaging"`
	// NodeStores reports that node(id:) resolves stores, so a store's users can
	// be continued by store id; without it they continue through the stores
	// connection's cursors.
	NodeStores bool `json:"nodeStores"`
	// AccountUserFields are the fields beyond id, email, firstName and lastName
	// that the account's users connection offers (for example status).
	AccountUserFields []string `json:"accountUserFields,omitempty"`
	// AddReturnsUser reports that addUserToAccount's result has a user with its
	// id, so a new user's id is known without a lookup.
	AddReturnsUser bool `json:"addReturnsUser"`
	// PageSize is the page size listings ask for.
	PageSize int `json:"pageSize"`
}

// Documented page sizes of BigCommerce's GraphQL connections.
const (
	// DocumentedPageSize is the largest page BigCommerce documents for its
	// GraphQL connections (first: 50).
	DocumentedPageSize = 50
	// documentedDefaultPage is the page size BigCommerce documents as the
	// default; a listing refused at a larger size falls back to it.
	documentedDefaultPage = 10
)

// documentedUserFields are the fields BigCommerce documents on the account's
// users; optionalAccountUserFields the store-user fields a server may also
// offer there.
var (
	documentedUserFields      = []string{"id", "email", "firstName", "lastName"}
	optionalAccountUserFields = []string{"locale", "status", "lastLoginAt", "updatedAt", "permissions"}
)

// storeUserFields are the documented fields of a store's users that the
// bridge reads (apps are not read).
const storeUserFields = "id email firstName lastName locale status lastLoginAt updatedAt permissions"

// capState holds the client's capabilities; safe for concurrent use.
type capState struct {
	mu  sync.Mutex
	cap Capabilities
	// detected is set once Detect got an answer (introspection or refusal).
	detected bool
}

// Capabilities returns a copy of what the client currently relies on.
func (c *Client) Capabilities() Capabilities {
	c.caps.mu.Lock()
	defer c.caps.mu.Unlock()
	out := c.caps.cap
	out.AccountUserFields = slices.Clone(out.AccountUserFields)
	return out
}

// Detected reports whether [Client.Detect] has run to an answer.
func (c *Client) Detected() bool {
	c.caps.mu.Lock()
	defer c.caps.mu.Unlock()
	return c.caps.detected
}

func (c *Client) withCaps(fn func(*Capabilities)) {
	c.caps.mu.Lock()
	defer c.caps.mu.Unlock()
	fn(&c.caps.cap)
}

// drop turns a capability off after a document that relied on it was refused.
func (c *Client) drop(name string, fn func(*Capabilities)) {
	c.withCaps(fn)
	c.log.Warn("BigCommerce refused an optional document shape; using the documented one", zap.String("capability", name))
}

// queryCapabilities is the introspection query Detect sends: every type with
// its fields, their arguments and (three levels of) their types, and the
// interfaces it implements.
const queryCapabilities = `query BridgeCapabilities { __schema { types { name interfaces { name } ` +
	`fields { name args { name } type { ...T } } } } } ` +
	`fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }`

// Detect asks the server, in one request, which optional shapes its schema
// offers, and sets the client's capabilities from the answer. A server that
// refuses introspection leaves the client on the documented minimum (nil
// error); a request that failed for another reason (budget, rate limit,
// transport) returns the error and Detect may be called again later.
func (c *Client) Detect(ctx context.Context, p Priority) error {
	r, s, e := c.exec(ctx, p, OpCapabilities, queryCapabilities, nil)
	_ = s
	if e != nil {
		switch e.Reason {
		case ReasonInvalidDocument, ReasonRefused, ReasonForbidden, ReasonHTTP4xx, ReasonQueryFailed:
			c.settle(Capabilities{}, false)
			c.log.Info("BigCommerce does not answer introspection; using the documented API only", zap.String("reason", e.Reason))
			return nil
		}
		return e
	}
	var out struct {
		Schema *struct {
			Types []introType `json:"types"`
		} `json:"__schema"`
	}
	if len(r.errs) > 0 || json.Unmarshal(r.data, &out) != nil || out.Schema == nil {
		c.settle(Capabilities{}, false)
		c.log.Info("BigCommerce does not answer introspection; using the documented API only")
		return nil
	}
	caps := capabilitiesFrom(out.Schema.Types)
	c.settle(caps, true)
	got := c.Capabilities()
	c.log.Info("BigCommerce capabilities detected",
		zap.Bool("backward_paging", got.BackwardPaging), zap.Bool("node_stores", got.NodeStores),
		zap.Strings("account_user_fields", got.AccountUserFields), zap.Bool("add_returns_user", got.AddReturnsUser),
		zap.Int("page_size", got.PageSize))
	return nil
}

// settle records a detection result, keeping the page size in use.
func (c *Client) settle(found Capabilities, introspected bool) {
	c.withCaps(func(cp *Capabilities) {
		page := cp.PageSize
		*cp = found
		cp.Introspected = introspected
		cp.PageSize = page
	})
	c.caps.mu.Lock()
	c.caps.detected = true
	c.caps.mu.Unlock()
}

// Introspection result shapes.
type (
	introTypeRef struct {
		Kind   string        `json:"kind"`
		Name   *string       `json:"name"`
		OfType *introTypeRef `json:"ofType"`
	}
	introField struct {
		Name string `json:"name"`
		Args []struct {
			Name string `json:"name"`
		} `json:"args"`
		Type introTypeRef `json:"type"`
	}
	introType struct {
		Name       string `json:"name"`
		Interfaces []struct {
			Name string `json:"name"`
		} `json:"interfaces"`
		Fields []introField `json:"fields"`
	}
)

// named returns the name of the innermost named type.
func (t *introTypeRef) named() string {
	for r := t; r != nil; r = r.OfType {
		if r.Name != nil && *r.Name != "" {
			return *r.Name
		}
	}
	return ""
}

// capabilitiesFrom reads the optional shapes off the schema's types.
func capabilitiesFrom(types []introType) Capabilities {
	byName := make(map[string]introType, len(types))
	for _, t := range types {
		byName[t.Name] = t
	}
	field := func(typeName, name string) (introField, bool) {
		for _, f := range byName[typeName].Fields {
			if f.Name == name {
				return f, true
			}
		}
		return introField{}, false
	}
	var caps Capabilities
	if users, ok := field("Account", "users"); ok {
		var last, before bool
		for _, a := range users.Args {
			last = last || a.Name == "last"
			before = before || a.Name == "before"
		}
		caps.BackwardPaging = last && before
		// Account.users -> connection -> edges -> edge -> node -> user type.
		if edges, ok := field(users.Type.named(), "edges"); ok {
			if node, ok := field(edges.Type.named(), "node"); ok {
				userType := node.Type.named()
				for _, f := range optionalAccountUserFields {
					if _, ok := field(userType, f); ok {
						caps.AccountUserFields = append(caps.AccountUserFields, f)
					}
				}
			}
		}
	}
	if _, ok := field("Query", "node"); ok {
		for _, i := range byName["Store"].Interfaces {
			if i.Name == "Node" {
				caps.NodeStores = true
			}
		}
	}
	if u, ok := field("AddUserToAccountResult", "user"); ok {
		if _, ok := field(u.Type.named(), "id"); ok {
			caps.AddReturnsUser = true
		}
	}
	return caps
}

// accountUserSelection is the selection of one of the account's users.
func (c *Client) accountUserSelection() string {
	caps := c.Capabilities()
	sel := "id email firstName lastName"
	for _, f := range caps.AccountUserFields {
		sel += " " + f
	}
	return sel
}

// pageSize returns the page size listings use now.
func (c *Client) pageSize() int {
	c.caps.mu.Lock()
	defer c.caps.mu.Unlock()
	return c.caps.cap.PageSize
}

// shrinkPage lowers the page size after a listing page was refused at size
// from; it reports whether a smaller size is left to try.
func (c *Client) shrinkPage(op string, from int) (int, bool) {
	if from <= documentedDefaultPage {
		return from, false
	}
	next := documentedDefaultPage
	if from > DocumentedPageSize {
		next = DocumentedPageSize
	}
	c.withCaps(func(cp *Capabilities) {
		if cp.PageSize > next {
			cp.PageSize = next
		}
	})
	c.log.Warn("BigCommerce refused a listing page; asking for smaller pages", zap.String("operation", op),
		zap.Int("from", from), zap.Int("size", next))
	return next, true
}
