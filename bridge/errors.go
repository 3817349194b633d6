package bridge

import (
	"errors"
	"fmt"
)

// Errors returned by the Service, tested with errors.Is. Their text never
// contains attribute values (no personal data), only attribute names and ids.
var (
	// ErrNotFound reports that the addressed user or group does not exist.
	ErrNotFound = errors.New("resource not found")
	// ErrPrecondition reports that an If-Match precondition did not hold.
	ErrPrecondition = errors.New("precondition failed: the resource has changed")
	// ErrConflict reports a uniqueness violation; see ConflictError.
	ErrConflict = errors.New("uniqueness conflict")
	// ErrInvalid reports an invalid resource; see InvalidError.
	ErrInvalid = errors.New("invalid resource")
)

// ConflictError names the attribute whose value is already taken.
type ConflictError struct {
	Attribute string
	Reason    string
}

func (e *ConflictError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("%s: %s", e.Attribute, e.Reason)
	}
	return fmt.Sprintf("%s is already in use", e.Attribute)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// InvalidError describes why a resource was refused. Reason never quotes the
// offending value.
type InvalidError struct {
	Attribute string
	Reason    string
}

func (e *InvalidError) Error() string { return fmt.Sprintf("%s: %s", e.Attribute, e.Reason) }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }
