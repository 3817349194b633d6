package scim

import (
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/scim/resource"
)

// Schema URNs of the resources and list responses.
const (
	userSchemaURN  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupSchemaURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
	listSchemaURN  = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
)

// etag renders a resource version as a weak entity tag (meta.version and ETag).
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// precondition turns an If-Match header into a check of the stored version.
// Weak and strong forms compare equal; "*" matches any existing resource.
func precondition(header string) bridge.Precondition {
	header = strings.TrimSpace(header)
	if header == "" {
		return nil
	}
	var tags []string
	for _, t := range strings.Split(header, ",") {
		tags = append(tags, strings.TrimPrefix(strings.TrimSpace(t), "W/"))
	}
	return func(v int64) bool {
		want := `"` + strconv.FormatInt(v, 10) + `"`
		for _, t := range tags {
			if t == "*" || t == want {
				return true
			}
		}
		return false
	}
}

// userDoc is the full SCIM representation of a user (id, schemas, meta, groups
// and the bridge's sync extension included): what GET returns before
// projection, and what filters are evaluated against.
func userDoc(v bridge.UserView, base string) map[string]any {
	doc := maps.Clone(v.Attributes)
	if doc == nil {
		doc = map[string]any{}
	}
	doc["id"] = v.ID
	doc["schemas"] = []any{userSchemaURN, resource.EnterpriseURN, resource.SyncExtensionURN}
	doc["meta"] = meta("User", base+"/Users/"+v.ID, v.Created, v.Modified, v.Version)
	if len(v.Groups) > 0 {
		groups := make([]any, 0, len(v.Groups))
		for _, g := range v.Groups {
			groups = append(groups, map[string]any{"value": g.ID, "display": g.DisplayName, "$ref": base + "/Groups/" + g.ID, "type": "direct"})
		}
		doc["groups"] = groups
	}
	sync := map[string]any{"syncState": syncState(v.Sync.State)}
	if !v.Sync.LastSyncedAt.IsZero() {
		sync["lastSyncedAt"] = v.Sync.LastSyncedAt.UTC().Format(time.RFC3339)
	}
	if v.Sync.BigCommerceUserID != "" {
		sync["bigcommerceUserId"] = v.Sync.BigCommerceUserID
	}
	if v.BCEmail != "" {
		sync["bigcommerceEmail"] = v.BCEmail
	}
	if v.Sync.LastError != "" {
		sync["lastError"] = v.Sync.LastError
	}
	doc[resource.SyncExtensionURN] = sync
	return doc
}

func syncState(s string) string {
	if s == "" {
		return store.SyncPending
	}
	return s
}

// groupDoc is the full SCIM representation of a group; members are included
// when they were loaded.
func groupDoc(v bridge.GroupView, base string) map[string]any {
	doc := maps.Clone(v.Attributes)
	if doc == nil {
		doc = map[string]any{}
	}
	doc["id"] = v.ID
	doc["schemas"] = []any{groupSchemaURN}
	doc["meta"] = meta("Group", base+"/Groups/"+v.ID, v.Created, v.Modified, v.Version)
	if v.MembersLoaded {
		members := make([]any, 0, len(v.Members))
		for _, m := range v.Members {
			members = append(members, map[string]any{"value": m.UserID, "display": m.UserName, "$ref": base + "/Users/" + m.UserID, "type": "User"})
		}
		doc["members"] = members
	}
	return doc
}

func meta(resourceType, location string, created, modified time.Time, version int64) map[string]any {
	return map[string]any{
		"resourceType": resourceType,
		"created":      created.UTC().Format(time.RFC3339),
		"lastModified": modified.UTC().Format(time.RFC3339),
		"version":      etag(version),
		"location":     location,
	}
}

// libResource hands a projected representation to the SCIM library, which adds
// id, schemas and meta back itself (with the same values).
func libResource(doc map[string]any, id string, created, modified time.Time, version int64) scim.Resource {
	attrs := maps.Clone(doc)
	delete(attrs, "id")
	delete(attrs, "schemas")
	delete(attrs, "meta")
	c, m := created.UTC(), modified.UTC()
	return scim.Resource{ID: id, Attributes: attrs, Meta: scim.Meta{Created: &c, LastModified: &m, Version: etag(version)}}
}

// wants reports whether attribute name (a top-level attribute) is part of the
// response under the request's attributes/excludedAttributes parameters.
func wants(p queryParams, name string) bool {
	for _, e := range p.excluded {
		if strings.EqualFold(e, name) {
			return false
		}
	}
	if len(p.attributes) == 0 {
		return true
	}
	for _, a := range p.attributes {
		head, _, _ := strings.Cut(a, ".")
		if strings.EqualFold(a, name) || strings.EqualFold(head, name) ||
			strings.HasSuffix(strings.ToLower(a), ":"+strings.ToLower(name)) {
			return true
		}
	}
	return false
}

// memberIDs extracts the user ids of a SCIM members value.
func memberIDs(v any) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, &bridge.InvalidError{Attribute: "members", Reason: "must be an array"}
	}
	ids := make([]string, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, &bridge.InvalidError{Attribute: "members", Reason: "each member must be an object with a value"}
		}
		id, _ := m["value"].(string)
		if id == "" {
			return nil, &bridge.InvalidError{Attribute: "members", Reason: "each member needs a non-empty value (a user id)"}
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// pagination parses startIndex and count as RFC 7644 §3.4.2.4 and the SCIM
// library do: startIndex < 1 is 1, negative count is 0, count is capped at max.
func pagination(q map[string][]string, max int) (start, count int, err error) {
	start, count = 1, max
	var bad []string
	if v := first(q, "startIndex"); v != "" {
		n, e := strconv.Atoi(v)
		if e != nil {
			bad = append(bad, "startIndex")
		} else if n > 1 {
			start = n
		}
	}
	if v := first(q, "count"); v != "" {
		n, e := strconv.Atoi(v)
		switch {
		case e != nil:
			bad = append(bad, "count")
		case n < 0:
			count = 0
		case n < max:
			count = n
		}
	}
	if len(bad) > 0 {
		suffix := ""
		if len(bad) > 1 {
			suffix = "s"
		}
		return 0, 0, &badRequest{detail: "Bad Request. Invalid parameter" + suffix + " provided in request: " + strings.Join(bad, ", ") + "."}
	}
	return start, count, nil
}

func first(q map[string][]string, key string) string {
	if v := q[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

type badRequest struct{ detail string }

func (e *badRequest) Error() string { return e.detail }

func writeBadRequest(w http.ResponseWriter, e *badRequest) {
	writeError(w, http.StatusBadRequest, "", e.detail)
}
