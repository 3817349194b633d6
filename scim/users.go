package scim

import (
	"net/http"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// userHandler serves /Users for the SCIM library.
type userHandler struct{ h *handler }

var _ scim.ResourceHandler = userHandler{}

func (u userHandler) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	v, err := u.h.svc.CreateUser(r.Context(), u.h.users.Writable(attrs))
	if err != nil {
		return scim.Resource{}, u.h.fail(r, "create user", err)
	}
	return u.render(r, v), nil
}

func (u userHandler) Get(r *http.Request, id string) (scim.Resource, error) {
	if id == "" {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	v, err := u.h.svc.GetUser(r.Context(), id)
	if err != nil {
		return scim.Resource{}, u.h.fail(r, "get user", err)
	}
	return u.render(r, v), nil
}

// GetAll is never called: list queries are served by handler.list.
func (u userHandler) GetAll(*http.Request, scim.ListRequestParams) (scim.Page, error) {
	return scim.Page{}, scimerrors.ScimErrorInternal
}

func (u userHandler) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	pre := precondition(paramsFrom(r.Context()).ifMatch)
	next := u.h.users.Writable(attrs)
	v, err := u.h.svc.UpdateUser(r.Context(), id, pre, func(bridge.UserView) (map[string]any, error) {
		return next, nil
	})
	if err != nil {
		return scim.Resource{}, u.h.fail(r, "replace user", err)
	}
	return u.render(r, v), nil
}

func (u userHandler) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	pre := precondition(paramsFrom(r.Context()).ifMatch)
	v, err := u.h.svc.UpdateUser(r.Context(), id, pre, func(cur bridge.UserView) (map[string]any, error) {
		next, _, err := u.h.users.ApplyPatchContext(r.Context(), cur.Attributes, ops)
		return next, err
	})
	if err != nil {
		return scim.Resource{}, u.h.fail(r, "patch user", err)
	}
	// Users PATCH answers 200 with the resource: Okta and Entra's validator read
	// the values back from it.
	return u.render(r, v), nil
}

func (u userHandler) Delete(r *http.Request, id string) error {
	pre := precondition(paramsFrom(r.Context()).ifMatch)
	if err := u.h.svc.DeleteUser(r.Context(), id, pre); err != nil {
		return u.h.fail(r, "delete user", err)
	}
	return nil
}

func (u userHandler) render(r *http.Request, v bridge.UserView) scim.Resource {
	p := paramsFrom(r.Context())
	doc := u.h.users.Project(userDoc(v, u.h.baseURL(r)), p.attributes, p.excluded)
	return libResource(doc, v.ID, v.Created, v.Modified, v.Version)
}

// fail maps err to a SCIM error; internal errors are logged with the request id
// (their text may come from a database driver, so it is not sent to the client).
func (h *handler) fail(r *http.Request, op string, err error) error {
	switch {
	case isInternal(err) && r.Context().Err() != nil:
		// The client went away (or its deadline passed) while the work ran:
		// nobody receives the answer, and it is no fault of the bridge.
		h.log.Info(op+": request ended before the work finished", zap.String("request_id", bridge.RequestID(r.Context())))
	case isInternal(err):
		h.log.Error(op, zap.String("request_id", bridge.RequestID(r.Context())), zap.Error(err))
	}
	return toSCIMError(err)
}
