package downstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestErrorStringRedactsAndFormats(t *testing.T) {
	tests := []struct {
		name    string
		err     *Error
		want    string
		notWant []string
	}{
		{
			name: "rate limited",
			err:  &Error{Class: ClassRateLimited, Reason: ReasonRateLimited, Status: 429, RetryAfter: 50 * time.Second},
			want: "downstream rate_limited: rate_limited status 429 retry after 50s",
		},
		{
			name: "field error",
			err:  &Error{Class: ClassPermanent, Reason: ReasonStoreNotFound, Code: "STORE_NOT_FOUND", Status: 200, Detail: "addUserToStore: code STORE_NOT_FOUND"},
			want: "downstream permanent: store_not_found (code STORE_NOT_FOUND) status 200: addUserToStore: code STORE_NOT_FOUND",
		},
		{
			name:    "emails in detail are redacted",
			err:     &Error{Class: ClassPermanent, Reason: ReasonUnknown, Detail: "user Jane.Doe+ops@Example.co.uk, and <x@y.z>"},
			want:    "downstream permanent: unknown: user <redacted>, and <<redacted>>",
			notWant: []string{"Jane.Doe", "Example.co.uk", "x@y.z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.err.Error()
			require.Equal(t, tt.want, got)
			for _, s := range tt.notWant {
				require.NotContains(t, got, s)
			}
		})
	}
}

func TestErrorIsByClass(t *testing.T) {
	tests := []struct {
		class Class
		is    error
		isNot []error
	}{
		{class: ClassRateLimited, is: ErrRateLimited, isNot: []error{ErrTransient, ErrPermanent}},
		{class: ClassTransient, is: ErrTransient, isNot: []error{ErrRateLimited, ErrPermanent}},
		{class: ClassPermanent, is: ErrPermanent, isNot: []error{ErrRateLimited, ErrTransient}},
	}
	for _, tt := range tests {
		t.Run(tt.class.String(), func(t *testing.T) {
			err := fmt.Errorf("deliver batch: %w", &Error{Class: tt.class, Reason: ReasonUnknown})
			require.ErrorIs(t, err, tt.is)
			for _, other := range tt.isNot {
				require.NotErrorIs(t, err, other)
			}
			var de *Error
			require.ErrorAs(t, err, &de)
			require.Equal(t, tt.class, de.Class)
		})
	}
	canceled := transportError(canceledContext(t), errors.New("whatever"))
	require.ErrorIs(t, canceled, context.Canceled)
	require.ErrorIs(t, canceled, ErrTransient)
	require.Equal(t, ReasonCanceled, canceled.Reason)
}

func canceledContext(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}

func TestReasonsAreBoundedLabels(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Reasons() {
		require.False(t, seen[r], "duplicate reason %s", r)
		seen[r] = true
		require.Equal(t, r, sanitizeCode(r), "reason %q must be label-safe", r)
		require.Equal(t, strings.ToLower(r), r)
	}
}

func TestSanitizeCode(t *testing.T) {
	tests := map[string]string{
		"USER_NOT_FOUND":         "USER_NOT_FOUND",
		"graphql.parse-failed":   "graphql.parse-failed",
		"user a@b.c not found":   "",
		"":                       "",
		strings.Repeat("A", 65):  "",
		"CODE\nINJECTED":         "",
		"x@example.com":          "",
		"RATE_LIMITED_2024_v1.2": "RATE_LIMITED_2024_v1.2",
	}
	for in, want := range tests {
		require.Equal(t, want, sanitizeCode(in), "input %q", in)
	}
}

func TestClassifyFieldError(t *testing.T) {
	tests := []struct {
		name    string
		kind    OpKind
		code    string
		message string
		outcome Outcome
		reason  string
		class   Class
	}{
		{name: "already in account", kind: OpAddToAccount, code: "USER_ALREADY_EXISTS", outcome: AlreadyDone},
		{name: "already in store", kind: OpAddToStore, code: "USER_ALREADY_IN_STORE", outcome: AlreadyDone},
		{name: "removal of unknown user", kind: OpRemoveFromAccount, code: "USER_NOT_FOUND", outcome: AlreadyDone},
		{name: "store removal of unknown user", kind: OpRemoveFromStore, code: "USER_NOT_FOUND", outcome: AlreadyDone},
		{name: "store removal without access", kind: OpRemoveFromStore, code: "USER_NOT_IN_STORE", outcome: AlreadyDone},
		{name: "store add for non-member", kind: OpAddToStore, code: "USER_NOT_FOUND", outcome: Failed, reason: ReasonNotInAccount, class: ClassPermanent},
		{name: "unknown store", kind: OpAddToStore, code: "STORE_NOT_FOUND", outcome: Failed, reason: ReasonStoreNotFound, class: ClassPermanent},
		{name: "unknown store on removal", kind: OpRemoveFromStore, code: "STORE_NOT_FOUND", outcome: Failed, reason: ReasonStoreNotFound, class: ClassPermanent},
		{name: "invalid input", kind: OpAddToAccount, code: "INVALID_INPUT", outcome: Failed, reason: ReasonInvalidInput, class: ClassPermanent},
		{name: "owner", kind: OpRemoveFromAccount, code: "CANNOT_REMOVE_OWNER", outcome: Failed, reason: ReasonCannotRemoveOwner, class: ClassPermanent},
		{name: "scope", kind: OpRemoveFromAccount, code: "FORBIDDEN", outcome: Failed, reason: ReasonForbidden, class: ClassPermanent},
		{name: "internal", kind: OpAddToAccount, code: "INTERNAL_SERVER_ERROR", outcome: Failed, reason: ReasonServerError, class: ClassTransient},
		{name: "already code on a removal is not idempotent success", kind: OpRemoveFromAccount, code: "USER_ALREADY_EXISTS", outcome: Failed, reason: ReasonUnknown, class: ClassPermanent},

		{name: "keyword already", kind: OpAddToAccount, message: "User is already a member of this account", outcome: AlreadyDone},
		{name: "keyword already, unknown code", kind: OpAddToStore, code: "DUPLICATE", message: "The user already has access", outcome: AlreadyDone},
		{name: "keyword store not found", kind: OpAddToStore, message: "Store xyz not found", outcome: Failed, reason: ReasonStoreNotFound, class: ClassPermanent},
		{name: "keyword unknown store", kind: OpRemoveFromStore, message: "Unknown store", outcome: Failed, reason: ReasonStoreNotFound, class: ClassPermanent},
		{name: "keyword user not found on removal", kind: OpRemoveFromAccount, message: "User not found", outcome: AlreadyDone},
		{name: "keyword user not found in store on removal", kind: OpRemoveFromStore, message: "user not found in store", outcome: AlreadyDone},
		{name: "keyword no access on store removal", kind: OpRemoveFromStore, message: "User does not have access to that store", outcome: AlreadyDone},
		{name: "keyword not a member on store add", kind: OpAddToStore, message: "u@example.com is not a member of the account", outcome: Failed, reason: ReasonNotInAccount, class: ClassPermanent},
		{name: "keyword owner", kind: OpRemoveFromAccount, message: "The account owner cannot be removed", outcome: Failed, reason: ReasonCannotRemoveOwner, class: ClassPermanent},
		{name: "keyword scope", kind: OpAddToAccount, message: "Missing scope: users write", outcome: Failed, reason: ReasonForbidden, class: ClassPermanent},
		{name: "keyword invalid", kind: OpAddToAccount, message: "Invalid email address", outcome: Failed, reason: ReasonInvalidInput, class: ClassPermanent},
		{name: "nothing recognisable", kind: OpAddToAccount, message: "Something odd happened", outcome: Failed, reason: ReasonUnknown, class: ClassPermanent},
		{name: "unknown code, no message", kind: OpAddToAccount, code: "WEIRD", outcome: Failed, reason: ReasonUnknown, class: ClassPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outcome, e := classifyFieldError(tt.kind, tt.code, tt.message, http.StatusOK)
			require.Equal(t, tt.outcome, outcome)
			if outcome != Failed {
				require.Nil(t, e)
				return
			}
			require.NotNil(t, e)
			require.Equal(t, tt.reason, e.Reason)
			require.Equal(t, tt.class, e.Class)
			require.Equal(t, http.StatusOK, e.Status)
			if tt.message != "" {
				require.NotContains(t, e.Error(), tt.message, "server text must not be copied")
			}
			require.NotContains(t, e.Error(), "@")
		})
	}
}

func TestParseRateInfo(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		header map[string]string
		want   RateInfo
		wait   time.Duration
	}{
		{
			name:   "no headers",
			status: 200,
			want:   RateInfo{Status: 200, At: at},
		},
		{
			name:   "ordinary response",
			status: 200,
			header: map[string]string{
				"X-Rate-Limit-Time-Window-Ms": "3600000", "X-Rate-Limit-Time-Reset-Ms": "1200500",
				"X-Rate-Limit-Requests-Quota": "70", "X-Rate-Limit-Requests-Left": "69",
			},
			want: RateInfo{Status: 200, Quota: 70, Left: 69, Window: time.Hour, Reset: 1200500 * time.Millisecond, HasHeaders: true, At: at},
			wait: 1200500 * time.Millisecond,
		},
		{
			name:   "429, retry-after longer",
			status: 429,
			header: map[string]string{"x-retry-after": "50", "x-rate-limit-time-reset-ms": "49500", "X-Rate-Limit-Requests-Left": "0"},
			want:   RateInfo{Status: 429, RetryAfter: 50 * time.Second, Reset: 49500 * time.Millisecond, HasHeaders: true, At: at},
			wait:   50 * time.Second,
		},
		{
			name:   "429, reset longer",
			status: 429,
			header: map[string]string{"X-Retry-After": "1", "X-Rate-Limit-Time-Reset-Ms": "90000"},
			want:   RateInfo{Status: 429, RetryAfter: time.Second, Reset: 90 * time.Second, HasHeaders: true, At: at},
			wait:   90 * time.Second,
		},
		{
			name:   "standard Retry-After as a date",
			status: 503,
			header: map[string]string{"Retry-After": at.Add(30 * time.Second).Format(http.TimeFormat)},
			want:   RateInfo{Status: 503, RetryAfter: 30 * time.Second, HasHeaders: true, At: at},
			wait:   30 * time.Second,
		},
		{
			name:   "garbage is ignored",
			status: 200,
			header: map[string]string{"X-Rate-Limit-Requests-Left": "lots", "X-Retry-After": "-5", "X-Rate-Limit-Time-Reset-Ms": "1e300"},
			want:   RateInfo{Status: 200, At: at},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tt.header {
				h.Set(k, v)
			}
			got := parseRateInfo(tt.status, h, at)
			require.Equal(t, tt.want, got)
			require.Equal(t, tt.wait, got.Wait())
		})
	}
}

func TestNewValidatesOptions(t *testing.T) {
	const token = "tok-SECRET-123"
	tests := []struct {
		name    string
		opts    Options
		wantErr []string
	}{
		{name: "valid", opts: Options{AccountUUID: "u-1", Token: token}},
		{name: "missing uuid", opts: Options{Token: token}, wantErr: []string{"AccountUUID"}},
		{name: "missing token", opts: Options{AccountUUID: "u-1"}, wantErr: []string{"Token"}},
		{name: "missing both", opts: Options{}, wantErr: []string{"AccountUUID", "Token"}},
		{name: "token with a line break", opts: Options{AccountUUID: "u-1", Token: token + "\nX-Evil: 1"}, wantErr: []string{"Token"}},
		{name: "uuid with a slash", opts: Options{AccountUUID: "u/../x", Token: token}, wantErr: []string{"AccountUUID"}},
		{name: "relative base url", opts: Options{BaseURL: "api.bigcommerce.com", AccountUUID: "u", Token: token}, wantErr: []string{"BaseURL"}},
		{name: "negative page size", opts: Options{AccountUUID: "u", Token: token, PageSize: -1}, wantErr: []string{"PageSize"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			if len(tt.wantErr) == 0 {
				require.NoError(t, err)
				require.NotNil(t, c)
				require.Equal(t, DefaultPageSize, c.pageSize())
				return
			}
			require.Error(t, err)
			require.Nil(t, c)
			for _, s := range tt.wantErr {
				require.Contains(t, err.Error(), s)
			}
			require.NotContains(t, err.Error(), "SECRET")
		})
	}
}
