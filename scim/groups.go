package scim

import (
	"maps"
	"net/http"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// groupHandler serves /Groups for the SCIM library.
type groupHandler struct{ h *handler }

var _ scim.ResourceHandler = groupHandler{}

func (g groupHandler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ids, err := memberIDs(attrs["members"])
	if err != nil {
		return scim.Resource{}, g.h.fail(r, "create group", err)
	}
	v, err := g.h.svc.CreateGroup(r.Context(), g.h.groups.Writable(attrs), ids)
	if err != nil {
		return scim.Resource{}, g.h.fail(r, "create group", err)
	}
	return g.render(r, v), nil
}

func (g groupHandler) Get(r *http.Request, id string) (scim.Resource, error) {
	if id == "" {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	v, err := g.h.svc.GetGroup(r.Context(), id, wants(paramsFrom(r.Context()), "members"))
	if err != nil {
		return scim.Resource{}, g.h.fail(r, "get group", err)
	}
	return g.render(r, v), nil
}

// GetAll is never called: list queries are served by handler.list.
func (g groupHandler) GetAll(*http.Request, scim.ListRequestParams) (scim.Page, error) {
	return scim.Page{}, scimerrors.ScimErrorInternal
}

func (g groupHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	ids, err := memberIDs(attrs["members"])
	if err != nil {
		return scim.Resource{}, g.h.fail(r, "replace group", err)
	}
	pre := precondition(paramsFrom(r.Context()).ifMatch)
	next := g.h.groups.Writable(attrs)
	v, err := g.h.svc.UpdateGroup(r.Context(), id, pre, func(bridge.GroupView) (map[string]any, []string, error) {
		return next, ids, nil
	})
	if err != nil {
		return scim.Resource{}, g.h.fail(r, "replace group", err)
	}
	return g.render(r, v), nil
}

func (g groupHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	p := paramsFrom(r.Context())
	v, err := g.h.svc.UpdateGroup(r.Context(), id, precondition(p.ifMatch), func(cur bridge.GroupView) (map[string]any, []string, error) {
		doc := maps.Clone(cur.Attributes)
		if doc == nil {
			doc = map[string]any{}
		}
		members := make([]any, 0, len(cur.Members))
		for _, m := range cur.Members {
			members = append(members, map[string]any{"value": m.UserID, "display": m.UserName})
		}
		doc["members"] = members
		next, _, err := g.h.groups.ApplyPatch(doc, ops)
		if err != nil {
			return nil, nil, err
		}
		ids, err := memberIDs(next["members"])
		return next, ids, err
	})
	if err != nil {
		return scim.Resource{}, g.h.fail(r, "patch group", err)
	}
	// Groups PATCH answers 204 (Entra advises against returning every member)
	// unless the client asked for attributes.
	if len(p.attributes) == 0 {
		return scim.Resource{}, nil
	}
	return g.render(r, v), nil
}

func (g groupHandler) Delete(r *http.Request, id string) error {
	pre := precondition(paramsFrom(r.Context()).ifMatch)
	if err := g.h.svc.DeleteGroup(r.Context(), id, pre); err != nil {
		return g.h.fail(r, "delete group", err)
	}
	return nil
}

func (g groupHandler) render(r *http.Request, v bridge.GroupView) scim.Resource {
	p := paramsFrom(r.Context())
	doc := g.h.groups.Project(groupDoc(v, g.h.baseURL(r)), p.attributes, p.excluded)
	return libResource(doc, v.ID, v.Created, v.Modified, v.Version)
}
