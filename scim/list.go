package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/scim/resource"
)

// list serves GET /Users and GET /Groups: filter (pushed down to the store's
// indexes where possible), page, project, and render a ListResponse whose
// itemsPerPage is the number of resources in the page.
func (h *handler) list(w http.ResponseWriter, r *http.Request, path string, q url.Values) {
	start, count, err := pagination(q, h.maxResults)
	if err != nil {
		var br *badRequest
		errors.As(err, &br)
		writeBadRequest(w, br)
		return
	}
	p := paramsFrom(r.Context())
	s := h.users
	if path == "/Groups" {
		s = h.groups
	}
	var f *resource.Filter
	if p.hasFilter {
		if f, err = s.CompileFilter(p.filter); err != nil {
			writeSCIMError(w, err)
			return
		}
	}
	base := h.baseURL(r)
	var (
		docs  []map[string]any
		total int
	)
	if path == "/Users" {
		docs, total, err = h.listUsers(r, f, start, count, base)
	} else {
		docs, total, err = h.listGroups(r, f, start, count, base, wants(p, "members"))
	}
	if err != nil {
		writeSCIMError(w, h.fail(r, "list", err))
		return
	}
	resources := make([]any, 0, len(docs))
	for _, d := range docs {
		resources = append(resources, s.Project(d, p.attributes, p.excluded))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":      []string{listSchemaURN},
		"totalResults": total,
		"startIndex":   start,
		"itemsPerPage": len(resources),
		"Resources":    resources,
	})
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
