package main

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/gin-gonic/gin"
	filter "github.com/scim2/filter-parser/v2"
)

// newFloor returns the library floor the read mix is compared with: the SCIM
// library and gin over an in-memory map of users, with no store, no
// authentication, no delivery and nothing the bridge adds. userName eq
// filters are answered from a map, as an index would; other filters scan.
// What the bridge serves beyond this costs the difference.
func newFloor() (http.Handler, error) {
	h := &floorUsers{byID: map[string]*floorUser{}, byName: map[string]*floorUser{}}
	srv, err := scim.NewServer(&scim.ServerArgs{
		ServiceProviderConfig: &scim.ServiceProviderConfig{MaxResults: 200},
		ResourceTypes: []scim.ResourceType{{
			ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
			Schema: schema.CoreUserSchema(), Handler: h,
		}},
	})
	if err != nil {
		return nil, err
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Any("/scim/v2/*path", gin.WrapH(http.StripPrefix("/scim/v2", srv)))
	return r, nil
}

type floorUser struct {
	id    string
	seq   int
	attrs scim.ResourceAttributes
	at    time.Time
}

// floorUsers is the floor's scim.ResourceHandler.
type floorUsers struct {
	mu     sync.RWMutex
	byID   map[string]*floorUser
	byName map[string]*floorUser
	order  []*floorUser
}

func (f *floorUsers) resource(u *floorUser) scim.Resource {
	return scim.Resource{ID: u.id, Attributes: u.attrs, Meta: scim.Meta{Created: &u.at, LastModified: &u.at, Version: "W/\"1\""}}
}

func (f *floorUsers) Create(_ *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	name, _ := attrs["userName"].(string)
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.byName[strings.ToLower(name)]; ok {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	u := &floorUser{id: strconv.Itoa(len(f.order) + 1), seq: len(f.order), attrs: attrs, at: time.Now()}
	f.byID[u.id], f.byName[strings.ToLower(name)] = u, u
	f.order = append(f.order, u)
	return f.resource(u), nil
}

func (f *floorUsers) Get(_ *http.Request, id string) (scim.Resource, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	u, ok := f.byID[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return f.resource(u), nil
}

func (f *floorUsers) GetAll(_ *http.Request, p scim.ListRequestParams) (scim.Page, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	var matched []*floorUser
	switch {
	case p.FilterValidator == nil:
		matched = f.order
	case isUserNameEq(p.FilterValidator.GetFilter()):
		name, _ := p.FilterValidator.GetFilter().(*filter.AttributeExpression).CompareValue.(string)
		if u, ok := f.byName[strings.ToLower(name)]; ok {
			matched = []*floorUser{u}
		}
	default:
		for _, u := range f.order {
			if p.FilterValidator.PassesFilter(u.attrs) == nil {
				matched = append(matched, u)
			}
		}
	}
	page := scim.Page{TotalResults: len(matched)}
	lo := min(max(p.StartIndex, 1)-1, len(matched))
	hi := min(lo+max(p.Count, 0), len(matched))
	for _, u := range matched[lo:hi] {
		page.Resources = append(page.Resources, f.resource(u))
	}
	return page, nil
}

func isUserNameEq(e filter.Expression) bool {
	a, ok := e.(*filter.AttributeExpression)
	return ok && a.Operator == filter.EQ && strings.EqualFold(a.AttributePath.AttributeName, "userName") && a.AttributePath.SubAttribute == nil
}

var errFloorReadOnly = errors.New("the floor serves creates and reads only")

func (f *floorUsers) Replace(*http.Request, string, scim.ResourceAttributes) (scim.Resource, error) {
	return scim.Resource{}, errFloorReadOnly
}

func (f *floorUsers) Delete(*http.Request, string) error { return errFloorReadOnly }

func (f *floorUsers) Patch(*http.Request, string, []scim.PatchOperation) (scim.Resource, error) {
	return scim.Resource{}, errFloorReadOnly
}
