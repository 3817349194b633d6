package scim

import (
	"errors"
	"net/http"
	"strconv"
	"sync"

	scimerrors "github.com/elimity-com/scim/errors"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// errorSchema is the URN of SCIM error bodies.
const errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

// toSCIMError is the single mapping from domain errors to SCIM errors. Errors it
// does not know become a 500 whose detail says nothing about the cause (the
// cause is logged by the caller with the request id).
func toSCIMError(err error) error {
	var se scimerrors.ScimError
	var sep *scimerrors.ScimError
	var conflict *bridge.ConflictError
	var invalid *bridge.InvalidError
	switch {
	case errors.As(err, &sep) && sep != nil:
		return *sep
	case errors.As(err, &se):
		return se
	case errors.Is(err, bridge.ErrNotFound):
		return scimerrors.ScimError{Status: http.StatusNotFound, Detail: "Resource not found."}
	case errors.Is(err, bridge.ErrPrecondition):
		return scimerrors.ScimError{Status: http.StatusPreconditionFailed,
			Detail: "The resource has changed since the version given in If-Match; read it again and retry."}
	case errors.As(err, &conflict):
		detail := "The value of " + conflict.Attribute + " is already in use by another resource."
		if conflict.Reason != "" {
			detail = "The value of " + conflict.Attribute + " conflicts: " + conflict.Reason + "."
		}
		return scimerrors.ScimError{Status: http.StatusConflict, ScimType: scimerrors.ScimTypeUniqueness, Detail: detail}
	case errors.As(err, &invalid):
		return scimerrors.ScimError{Status: http.StatusBadRequest, ScimType: scimerrors.ScimTypeInvalidValue,
			Detail: invalid.Error()}
	default:
		return scimerrors.ScimError{Status: http.StatusInternalServerError,
			Detail: "Internal error; the bridge logged it with this request's id."}
	}
}

// isInternal reports whether err maps to a 500.
func isInternal(err error) bool {
	var se scimerrors.ScimError
	return errors.As(toSCIMError(err), &se) && se.Status >= 500
}

// writeError writes a SCIM error body.
func writeError(w http.ResponseWriter, status int, scimType scimerrors.ScimType, detail string) {
	body := map[string]any{"schemas": []string{errorSchema}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		body["scimType"] = string(scimType)
	}
	writeJSON(w, status, body)
}

// writeSCIMError writes err (already mapped by toSCIMError) as a SCIM error body.
func writeSCIMError(w http.ResponseWriter, err error) {
	var se scimerrors.ScimError
	if !errors.As(toSCIMError(err), &se) {
		se = scimerrors.ScimErrorInternal
	}
	writeError(w, se.Status, se.ScimType, se.Detail)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	buf := jsonBuffers.Get().(*[]byte)
	defer jsonBuffers.Put(buf)
	raw, err := appendJSON((*buf)[:0], body)
	if err != nil {
		status, raw = http.StatusInternalServerError, []byte(`{"schemas":["`+errorSchema+`"],"status":"500"}`)
	} else if cap(raw) <= maxPooledBuffer {
		*buf = raw
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}

// jsonBuffers holds response buffers for writeJSON; one larger than
// maxPooledBuffer (a page of many groups with their members) is not kept.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

const maxPooledBuffer = 1 << 20

// libLogger adapts the SCIM library's error logger to zap. The library passes
// resources and error texts that can hold personal data, so only the message
// (its first argument, a fixed string) is logged.
type libLogger struct{ log *zap.Logger }

func (l libLogger) Error(args ...any) {
	msg := "scim library error"
	if len(args) > 0 {
		if s, ok := args[0].(string); ok {
			msg = s
		}
	}
	l.log.Error(msg)
}
