package downstream

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Class tells the delivery engine what to do with a failure.
//
// The zero value is not a valid class, so an [Error] that was never classified
// is visible as such.
type Class int

const (
	// ClassRateLimited means the server refused the request because the
	// account's request budget is spent; retry after [Error.RetryAfter].
	ClassRateLimited Class = iota + 1
	// ClassTransient means the request may or may not have been applied (5xx,
	// timeout, dropped connection, unreadable response); retrying is safe
	// because every operation is idempotent through [AlreadyDone].
	ClassTransient
	// ClassPermanent means retrying the same request cannot succeed (bad
	// credentials, unknown store, invalid input, refused document).
	ClassPermanent
)

// String returns the class name used in error strings and metric labels.
func (c Class) String() string {
	switch c {
	case ClassRateLimited:
		return "rate_limited"
	case ClassTransient:
		return "transient"
	case ClassPermanent:
		return "permanent"
	default:
		return "unclassified"
	}
}

// Reasons are the bounded values of [Error.Reason]; they are safe to use as
// metric labels. [Reasons] lists them all.
const (
	// ReasonRateLimited means HTTP 429 (or a RATE_LIMITED error code).
	ReasonRateLimited = "rate_limited"
	// ReasonTimeout means the request or the response timed out.
	ReasonTimeout = "timeout"
	// ReasonConnection means the connection failed, was reset or closed before a
	// complete response arrived.
	ReasonConnection = "connection"
	// ReasonCanceled means the caller's context was canceled.
	ReasonCanceled = "canceled"
	// ReasonBudget means [Gate.Acquire] refused the request (no HTTP request was sent).
	ReasonBudget = "budget"
	// ReasonHTTP5xx means the server answered with a 5xx status.
	ReasonHTTP5xx = "http_5xx"
	// ReasonServerError means the server reported an internal error inside a 200
	// response (code INTERNAL_SERVER_ERROR).
	ReasonServerError = "server_error"
	// ReasonUnreadable means the response body could not be read or decoded.
	ReasonUnreadable = "unreadable_response"
	// ReasonUnexpectedStatus means the server answered with a status the client
	// does not expect (1xx, 2xx other than 200/201, or a redirect, which the
	// client never follows because the token would travel with it).
	ReasonUnexpectedStatus = "unexpected_status"
	// ReasonUnexpectedResponse means the response was JSON but not of the shape the
	// query asked for.
	ReasonUnexpectedResponse = "unexpected_response"
	// ReasonInconsistentRead means a listing saw the account change under it (a
	// store vanished between pages, a cursor did not advance).
	ReasonInconsistentRead = "inconsistent_read"
	// ReasonUnauthorized means HTTP 401, the token is wrong or revoked.
	ReasonUnauthorized = "unauthorized"
	// ReasonForbidden means HTTP 403, or a FORBIDDEN error code (missing scope).
	ReasonForbidden = "forbidden"
	// ReasonAccountNotFound means HTTP 404: the account UUID is wrong, or the
	// API base URL does not point at BigCommerce's API (so the path is unknown).
	ReasonAccountNotFound = "account_not_found"
	// ReasonHTTP4xx means any other 4xx status.
	ReasonHTTP4xx = "http_4xx"
	// ReasonRefused means the server refused a document for its size or
	// complexity that cannot be made smaller: a single operation, or a listing
	// page of one item.
	ReasonRefused = "refused"
	// ReasonInvalidDocument means the server rejected the document (parse or
	// validation error); a bug in the client or a schema change.
	ReasonInvalidDocument = "invalid_document"
	// ReasonQueryFailed means a read query came back with field errors.
	ReasonQueryFailed = "query_failed"
	// ReasonNotInAccount means [OpAddToStore] named a user who is not in the
	// account; the engine adds the user to the account first.
	ReasonNotInAccount = "not_in_account"
	// ReasonStoreNotFound means the store hash is unknown to the account.
	ReasonStoreNotFound = "store_not_found"
	// ReasonInvalidInput means the server (or the client, before sending) found the
	// operation's input invalid, for example a malformed email.
	ReasonInvalidInput = "invalid_input"
	// ReasonCannotRemoveOwner means the operation would remove the account owner.
	ReasonCannotRemoveOwner = "cannot_remove_owner"
	// ReasonUnknown means a field error the client cannot classify, or a field
	// that returned neither data nor an error.
	ReasonUnknown = "unknown"
)

// Reasons returns every value [Error.Reason] can take, for pre-creating metric
// label series.
func Reasons() []string {
	return []string{
		ReasonRateLimited, ReasonTimeout, ReasonConnection, ReasonCanceled, ReasonBudget,
		ReasonHTTP5xx, ReasonServerError, ReasonUnreadable, ReasonUnexpectedStatus,
		ReasonUnexpectedResponse, ReasonInconsistentRead, ReasonUnauthorized, ReasonForbidden,
		ReasonAccountNotFound, ReasonHTTP4xx, ReasonRefused, ReasonInvalidDocument,
		ReasonQueryFailed, ReasonNotInAccount, ReasonStoreNotFound, ReasonInvalidInput,
		ReasonCannotRemoveOwner, ReasonUnknown,
	}
}

// Error is a classified downstream failure, either of a whole request (returned
// by [Client.Apply] and the listing methods) or of one operation
// ([Result.Err]).
//
// Its text never contains the API token, an email address, or text of the
// server's error messages: Detail is written by this package, and [Error.Error]
// redacts anything that looks like an email address as a second line of defence.
type Error struct {
	// Class is what the engine should do next.
	Class Class
	// Reason is one of the Reason* constants: a bounded set, usable as a metric label.
	Reason string
	// Code is the server's extensions.code when there was one (for example
	// USER_NOT_FOUND), kept only if it looks like a code (letters, digits, "_",
	// "-", "."; at most 64 characters).
	Code string
	// Status is the HTTP status of the response, 0 when none arrived.
	Status int
	// RetryAfter is how long to wait before retrying: for a 429 the longer of
	// X-Retry-After and X-Rate-Limit-Time-Reset-Ms (BigCommerce's guidance);
	// otherwise X-Retry-After when the server sent one, else 0.
	RetryAfter time.Duration
	// Detail is a short explanation written by this package (never server text).
	Detail string
	// Limit is, for a document refused for its number of mutations, how many
	// the server says it accepts (extensions.limit), or 0 when it did not say.
	Limit int

	cause error
}

// Error formats the error without the token, emails, or server message text.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("downstream ")
	b.WriteString(e.Class.String())
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Code != "" {
		b.WriteString(" (code ")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.Status != 0 {
		b.WriteString(" status ")
		b.WriteString(strconv.Itoa(e.Status))
	}
	if e.RetryAfter > 0 {
		b.WriteString(" retry after ")
		b.WriteString(e.RetryAfter.String())
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return redactEmails(b.String())
}

// Unwrap returns the underlying cause when it is one the caller may test for:
// context.Canceled or context.DeadlineExceeded, or the error returned by
// [Gate.Acquire]. Transport errors are not kept (their text names the URL).
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is the sentinel of e's class ([ErrRateLimited],
// [ErrTransient], [ErrPermanent]), so errors.Is works by class.
func (e *Error) Is(target error) bool {
	s, ok := target.(classSentinel)
	return ok && Class(s) == e.Class
}

// classSentinel is the type of the class sentinels; an unexported type keeps
// them comparable only through errors.Is.
type classSentinel Class

func (s classSentinel) Error() string { return "downstream " + Class(s).String() }

// Sentinels for errors.Is: every [*Error] matches the sentinel of its class.
var (
	// ErrRateLimited matches errors of class [ClassRateLimited].
	ErrRateLimited error = classSentinel(ClassRateLimited)
	// ErrTransient matches errors of class [ClassTransient].
	ErrTransient error = classSentinel(ClassTransient)
	// ErrPermanent matches errors of class [ClassPermanent].
	ErrPermanent error = classSentinel(ClassPermanent)
)

// emailPattern matches anything that looks like an email address: a run of
// non-delimiter characters, "@", another run. Deliberately broad: a false
// positive only hides a harmless word.
var emailPattern = regexp.MustCompile(`[^\s@"'<>()\[\]{},;:]+@[^\s@"'<>()\[\]{},;:]+`)

// redactEmails replaces anything that looks like an email address.
func redactEmails(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	return emailPattern.ReplaceAllString(s, "<redacted>")
}

// sanitizeCode returns code if it looks like an error code, else "".
func sanitizeCode(code string) string {
	if code == "" || len(code) > 64 {
		return ""
	}
	for _, r := range code {
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
		default:
			return ""
		}
	}
	return code
}
