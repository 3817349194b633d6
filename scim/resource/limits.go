package resource

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	scimerrors "github.com/elimity-com/scim/errors"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// MaxOperations is the most operations one PATCH request may carry; a request
// with more is refused with 413 before any of them is looked at. Okta and
// Entra ID send a few per request (Entra up to about a thousand member
// changes in large group pushes, in several requests).
const MaxOperations = 1000

// CheckBody checks a POST, PUT or PATCH body before the SCIM library reads it,
// for what the library does not check itself. The body must be valid UTF-8
// (RFC 8259 §8.1) and exactly one JSON value, with nothing but white space
// after it (the library would accept "{…} {…}"); either failure, and JSON that
// does not parse, is 400 invalidSyntax. A PATCH may carry at most
// MaxOperations operations (413). No array may hold more than
// bridge.MaxMembers values (400 invalidValue): no limit allows more, and the
// library validates every element before the bridge could refuse them. When
// resource is set (a User or Group body, not a search request), no key or
// string may contain NUL (400 invalidValue). Errors are *errors.ScimError and
// never quote the body.
func CheckBody(method string, body []byte, resource bool) error {
	if !utf8.Valid(body) {
		return bodyError(http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, "the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return bodyError(http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, "the request body is not a JSON document")
	}
	if rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return bodyError(http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, "the request body has content after its JSON document")
	}
	if m, ok := doc.(map[string]any); ok && method == http.MethodPatch {
		if _, ops, found := findKey(m, "Operations"); found {
			if list, ok := ops.([]any); ok && len(list) > MaxOperations {
				return bodyError(http.StatusRequestEntityTooLarge, "",
					fmt.Sprintf("A PATCH request may carry at most %d operations; send the changes in several requests.", MaxOperations))
			}
		}
	}
	return checkJSON(doc, resource)
}

func bodyError(status int, t scimerrors.ScimType, detail string) error {
	return &scimerrors.ScimError{Status: status, ScimType: t, Detail: detail}
}

// checkJSON walks a decoded body for over-long arrays and, when nul is set,
// NUL in keys and strings.
func checkJSON(v any, nul bool) error {
	switch x := v.(type) {
	case string:
		if nul && strings.IndexByte(x, 0) >= 0 {
			return bodyError(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, "a string in the request contains a NUL character")
		}
	case map[string]any:
		for k, e := range x {
			if nul && strings.IndexByte(k, 0) >= 0 {
				return bodyError(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue, "an attribute name in the request contains a NUL character")
			}
			if err := checkJSON(e, nul); err != nil {
				return err
			}
		}
	case []any:
		if len(x) > bridge.MaxMembers {
			return bodyError(http.StatusBadRequest, scimerrors.ScimTypeInvalidValue,
				fmt.Sprintf("an array in the request has more than %d values", bridge.MaxMembers))
		}
		for _, e := range x {
			if err := checkJSON(e, nul); err != nil {
				return err
			}
		}
	}
	return nil
}

// storable reports whether s is a string a store can hold and compare: valid
// UTF-8 without NUL. A filter comparing with any other string compares with a
// value no resource has.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
