package scim

import (
	"maps"
	"net/http"
	"strings"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	filter "github.com/scim2/filter-parser/v2"

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
	if _, err := g.h.svc.UpdateGroup(r.Context(), id, pre, false, func(bridge.GroupView) (map[string]any, bridge.MemberChange, error) {
		return next, bridge.MemberChange{Set: true, Members: ids}, nil
	}); err != nil {
		return scim.Resource{}, g.h.fail(r, "replace group", err)
	}
	return g.reread(r, id)
}

func (g groupHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	p := paramsFrom(r.Context())
	delta, rest, ok := memberDelta(ops)
	_, err := g.h.svc.UpdateGroup(r.Context(), id, precondition(p.ifMatch), !ok, func(cur bridge.GroupView) (map[string]any, bridge.MemberChange, error) {
		doc := maps.Clone(cur.Attributes)
		if doc == nil {
			doc = map[string]any{}
		}
		if ok {
			// Only named members join or leave: apply the other operations to
			// the attributes and hand the members over as a delta.
			next := doc
			if len(rest) > 0 {
				var err error
				if next, _, err = g.h.groups.ApplyPatchContext(r.Context(), doc, rest); err != nil {
					return nil, bridge.MemberChange{}, err
				}
			}
			return next, delta, nil
		}
		members := make([]any, 0, len(cur.Members))
		for _, m := range cur.Members {
			members = append(members, map[string]any{"value": m.UserID, "display": m.UserName})
		}
		doc["members"] = members
		next, _, err := g.h.groups.ApplyPatchContext(r.Context(), doc, ops)
		if err != nil {
			return nil, bridge.MemberChange{}, err
		}
		ids, err := memberIDs(next["members"])
		return next, bridge.MemberChange{Set: true, Members: ids}, err
	})
	if err != nil {
		return scim.Resource{}, g.h.fail(r, "patch group", err)
	}
	// Groups PATCH answers 204 (Entra advises against returning every member)
	// unless the client asked for attributes.
	if len(p.attributes) == 0 {
		return scim.Resource{}, nil
	}
	return g.reread(r, id)
}

// reread renders the group as stored, with members when the response shows them.
func (g groupHandler) reread(r *http.Request, id string) (scim.Resource, error) {
	v, err := g.h.svc.GetGroup(r.Context(), id, wants(paramsFrom(r.Context()), "members"))
	if err != nil {
		return scim.Resource{}, g.h.fail(r, "get group", err)
	}
	return g.render(r, v), nil
}

// memberDelta reads PATCH operations that only add or remove named members
// (Okta's add and "members[value eq x]" removal, Entra's add and value-list
// removal) as a delta, in order, so a write touches only those users; the
// other operations (displayName, externalId, ...) are returned for ApplyPatch.
// ok is false when any operation needs the whole member list (replace,
// removing all members, other filters, members inside a path-less value).
func memberDelta(ops []scim.PatchOperation) (bridge.MemberChange, []scim.PatchOperation, bool) {
	add, remove := map[string]bool{}, map[string]bool{}
	var order []string
	var rest []scim.PatchOperation
	mark := func(id string, adding bool) {
		if !add[id] && !remove[id] {
			order = append(order, id)
		}
		add[id], remove[id] = adding, !adding
	}
	for _, op := range ops {
		if op.Path == nil {
			if m, isMap := op.Value.(map[string]any); isMap {
				for k := range m {
					if strings.EqualFold(k, "members") {
						return bridge.MemberChange{}, nil, false
					}
				}
			}
			rest = append(rest, op)
			continue
		}
		if !strings.EqualFold(op.Path.AttributePath.AttributeName, "members") {
			rest = append(rest, op)
			continue
		}
		if op.Path.AttributePath.SubAttribute != nil || op.Path.SubAttribute != nil {
			return bridge.MemberChange{}, nil, false
		}
		switch {
		case op.Op == scim.PatchOperationAdd && op.Path.ValueExpression == nil:
			ids, err := memberIDs(op.Value)
			if err != nil || len(ids) == 0 {
				return bridge.MemberChange{}, nil, false
			}
			for _, id := range ids {
				mark(id, true)
			}
		case op.Op == scim.PatchOperationRemove && op.Path.ValueExpression != nil:
			// Only members[value eq "id"] names one member; any other filter
			// (or, not, other sub-attributes) is evaluated by the filter engine
			// against the member list.
			e, isAttr := op.Path.ValueExpression.(*filter.AttributeExpression)
			if !isAttr || e == nil {
				return bridge.MemberChange{}, nil, false
			}
			id, isString := e.CompareValue.(string)
			if !isString || strings.IndexByte(id, '\\') >= 0 || !strings.EqualFold(string(e.Operator), string(filter.EQ)) ||
				!strings.EqualFold(e.AttributePath.AttributeName, "value") || e.AttributePath.SubAttribute != nil || e.AttributePath.URIPrefix != nil {
				return bridge.MemberChange{}, nil, false
			}
			mark(id, false)
		case op.Op == scim.PatchOperationRemove && op.Value != nil:
			ids, err := memberIDs(op.Value)
			if err != nil || len(ids) == 0 {
				return bridge.MemberChange{}, nil, false
			}
			for _, id := range ids {
				mark(id, false)
			}
		default:
			return bridge.MemberChange{}, nil, false
		}
	}
	var mc bridge.MemberChange
	for _, id := range order {
		if add[id] {
			mc.Add = append(mc.Add, id)
		} else {
			mc.Remove = append(mc.Remove, id)
		}
	}
	return mc, rest, true
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
