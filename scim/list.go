package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/scim/resource"
)

// listType is one resource type a list query covers.
type listType struct {
	schema *resource.Schema
	filter *resource.Filter
	users  bool
}

// list serves GET /Users, GET /Groups and GET / (the server root, RFC 7644
// §3.4.2.1), and the searches of POST .../.search: filter (pushed down to the
// store's indexes where possible), page, project, and render a ListResponse
// whose itemsPerPage is the number of resources in the page.
//
// At the root both resource types are searched, users first, then groups,
// paged as one list. A filter is applied to each type whose schema knows
// every attribute it names; a type that does not know them contributes no
// resources (a filter neither type knows is 400 invalidFilter).
func (h *handler) list(w http.ResponseWriter, r *http.Request, path string, q url.Values) {
	start, count, err := pagination(q, h.maxResults)
	if err != nil {
		var br *badRequest
		errors.As(err, &br)
		writeBadRequest(w, br)
		return
	}
	p := paramsFrom(r.Context())
	var types []listType
	switch path {
	case "/Users":
		types = []listType{{schema: h.users, users: true}}
	case "/Groups":
		types = []listType{{schema: h.groups}}
	default:
		types = []listType{{schema: h.users, users: true}, {schema: h.groups}}
	}
	if p.hasFilter {
		var firstErr error
		kept := types[:0:0]
		for _, t := range types {
			f, err := t.schema.CompileFilter(p.filter)
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			t.filter = f
			kept = append(kept, t)
		}
		if len(kept) == 0 || (len(types) == 1 && firstErr != nil) {
			writeSCIMError(w, firstErr)
			return
		}
		types = kept
	}
	base := h.baseURL(r)
	resources := make([]any, 0, min(count, 64))
	total := 0
	for _, t := range types {
		// Skip what the types before this one already covered of the
		// requested window; take what is left of count.
		localStart := max(0, start-1-total) + 1
		var (
			docs []map[string]any
			n    int
		)
		if t.users {
			docs, n, err = h.listUsers(r, t.filter, localStart, count-len(resources), base)
		} else {
			docs, n, err = h.listGroups(r, t.filter, localStart, count-len(resources), base, wants(p, "members"))
		}
		if err != nil {
			writeSCIMError(w, h.fail(r, "list", err))
			return
		}
		for _, d := range docs {
			resources = append(resources, t.schema.Project(d, p.attributes, p.excluded))
		}
		total += n
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":      []string{listSchemaURN},
		"totalResults": total,
		"startIndex":   start,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	})
}

// search serves POST {collection}/.search (RFC 7644 §3.4.3): the body's
// filter, attributes, excludedAttributes, startIndex and count mean what the
// query parameters of a GET mean (sortBy and sortOrder are ignored, as for
// GET: sorting is not supported). collection is "/Users", "/Groups" or ""
// (the root).
func (h *handler) search(w http.ResponseWriter, r *http.Request, collection string, body []byte) {
	p, q, err := parseSearch(body)
	if err != nil {
		var br *badRequest
		if errors.As(err, &br) {
			writeBadRequest(w, br)
			return
		}
		writeSCIMError(w, err)
		return
	}
	p.ifMatch = paramsFrom(r.Context()).ifMatch
	if collection == "" {
		collection = "/"
	}
	h.list(w, r.WithContext(context.WithValue(r.Context(), paramsKey, p)), collection, q)
}

// searchRequestURN is the schema of a search request body.
const searchRequestURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// parseSearch reads a SearchRequest body (already checked by
// resource.CheckBody) into list parameters. Names are case-insensitive;
// attributes may be an array of names or one comma-separated string;
// startIndex and count are numbers (or numeric strings).
func parseSearch(body []byte) (queryParams, url.Values, error) {
	var p queryParams
	q := url.Values{}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return p, nil, scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidSyntax,
			Detail: "A search request body must be a JSON object."}
	}
	invalid := func(detail string) error {
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue, Detail: detail}
	}
	hasSchema := false
	for k, v := range doc {
		switch strings.ToLower(k) {
		case "schemas":
			list, _ := v.([]any)
			for _, u := range list {
				if u == searchRequestURN {
					hasSchema = true
				}
			}
		case "filter":
			f, ok := v.(string)
			if !ok {
				return p, nil, invalid("filter must be a string.")
			}
			p.filter, p.hasFilter = f, true
		case "attributes", "excludedattributes":
			names, ok := nameList(v)
			if !ok {
				return p, nil, invalid(k + " must be an array of attribute names.")
			}
			if strings.EqualFold(k, "attributes") {
				p.attributes = names
			} else {
				p.excluded = names
			}
		case "startindex", "count":
			key := "startIndex"
			if strings.EqualFold(k, "count") {
				key = "count"
			}
			switch n := v.(type) {
			case json.Number:
				q.Set(key, n.String())
			case string:
				q.Set(key, n)
			default:
				q.Set(key, "invalid")
			}
		}
	}
	if !hasSchema {
		return p, nil, invalid("A search request must have schemas [\"" + searchRequestURN + "\"].")
	}
	return p, q, nil
}

// nameList reads attribute names given as an array of strings or as one
// comma-separated string.
func nameList(v any) ([]string, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return splitList(x), true
	case []any:
		var out []string
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, splitList(s)...)
		}
		return out, true
	}
	return nil, false
}

// page runs a query: when the filter is exactly the store expression, the store
// pages; otherwise the store narrows the candidates and match decides.
func page[T any](ctx context.Context, f *resource.Filter, start, count int,
	query func(store.Query) ([]T, int, error), doc func(T) map[string]any,
) ([]map[string]any, int, error) {
	var pushdown store.Expr
	if f != nil {
		pushdown = f.Pushdown
	}
	if f == nil || f.Exact {
		items, total, err := query(store.Query{Filter: pushdown, Offset: start - 1, Limit: count})
		if err != nil {
			return nil, 0, err
		}
		docs := make([]map[string]any, len(items))
		for i, it := range items {
			docs[i] = doc(it)
		}
		return docs, total, nil
	}
	items, _, err := query(store.Query{Filter: pushdown, Limit: maxScan + 1})
	if err != nil {
		return nil, 0, err
	}
	if len(items) > maxScan {
		return nil, 0, scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeTooMany,
			Detail: "The filter cannot use an index and matches too many resources to examine; filter on userName, externalId, id, displayName, emails or members."}
	}
	var matched []map[string]any
	for i, it := range items {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, fmt.Errorf("filter candidates: %w", err)
			}
		}
		if d := doc(it); f.Match(d) {
			matched = append(matched, d)
		}
	}
	total := len(matched)
	lo := min(start-1, total)
	hi := min(lo+count, total)
	return matched[lo:hi], total, nil
}

func (h *handler) listUsers(r *http.Request, f *resource.Filter, start, count int, base string) ([]map[string]any, int, error) {
	return page(r.Context(), f, start, count, func(q store.Query) ([]bridge.UserView, int, error) {
		return h.svc.ListUsers(r.Context(), q)
	}, func(v bridge.UserView) map[string]any { return userDoc(v, base) })
}

func (h *handler) listGroups(r *http.Request, f *resource.Filter, start, count int, base string, members bool) ([]map[string]any, int, error) {
	// A filter evaluated in Go may look at members, so load them then.
	withMembers := members || (f != nil && !f.Exact)
	return page(r.Context(), f, start, count, func(q store.Query) ([]bridge.GroupView, int, error) {
		return h.svc.ListGroups(r.Context(), q, withMembers)
	}, func(v bridge.GroupView) map[string]any {
		d := groupDoc(v, base)
		if !members {
			delete(d, "members")
		}
		return d
	})
}
