package bridge

import "context"

type ctxKey int

const (
	requestIDKey ctxKey = iota
	actorKey
)

// WithRequestID returns a context carrying the request id that correlates a SCIM
// request with the intents, audit events and log lines it causes.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request id carried by ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// WithActor returns a context naming who acts (for the audit trail), such as
// "scim:3f2a9c1d" for a SCIM client identified by its token fingerprint.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey, actor)
}

// Actor returns the actor carried by ctx, or "unknown".
func Actor(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey).(string); ok && a != "" {
		return a
	}
	return "unknown"
}
