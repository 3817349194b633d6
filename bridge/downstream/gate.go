package downstream

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Priority orders requests competing for the budget. Lower values are more
// urgent: leavers lose access before joiners gain it, and reads come last.
type Priority int

const (
	// PriorityAccountRemoval is for removing users from the account (offboarding).
	PriorityAccountRemoval Priority = iota
	// PriorityStoreRemoval is for revoking store access.
	PriorityStoreRemoval
	// PriorityLookup is for finding the BigCommerce ids that store removals
	// need. It goes before additions but, unlike removals, may not spend the
	// budget's reserve.
	PriorityLookup
	// PriorityAccountAdd is for adding users to the account (onboarding).
	PriorityAccountAdd
	// PriorityStoreAdd is for granting store access.
	PriorityStoreAdd
	// PriorityRepair is for reconciliation repairs.
	PriorityRepair
	// PriorityRead is for listings and the credential check.
	PriorityRead
)

// String returns the priority's name, usable as a metric label.
func (p Priority) String() string {
	switch p {
	case PriorityAccountRemoval:
		return "account_removal"
	case PriorityStoreRemoval:
		return "store_removal"
	case PriorityLookup:
		return "lookup"
	case PriorityAccountAdd:
		return "account_add"
	case PriorityStoreAdd:
		return "store_add"
	case PriorityRepair:
		return "repair"
	case PriorityRead:
		return "read"
	default:
		return "priority_" + strconv.Itoa(int(p))
	}
}

// Gate is the request budget. Every HTTP request the client sends (mutation
// documents, listing pages, the halves of a split document) first calls
// Acquire with the caller's priority; a non-nil error stops the call before
// anything is sent. Every response that carries rate-limit headers (429s
// included) is reported to Observe, so the budget can correct itself from the
// server's view.
//
// The client calls a Gate from the goroutine that called the client method;
// a Gate shared by several goroutines must be safe for concurrent use.
type Gate interface {
	// Acquire blocks until a request of priority p may be sent, or returns an
	// error (typically ctx.Err()).
	Acquire(ctx context.Context, p Priority) error
	// Observe receives the rate-limit state reported by a response.
	Observe(info RateInfo)
}

// RateInfo is the rate-limit state a response reported.
type RateInfo struct {
	// Status is the HTTP status of the response.
	Status int
	// Quota is X-Rate-Limit-Requests-Quota: requests allowed per window.
	Quota int
	// Left is X-Rate-Limit-Requests-Left: requests left in the current window.
	Left int
	// Window is X-Rate-Limit-Time-Window-Ms: the window's length.
	Window time.Duration
	// Reset is X-Rate-Limit-Time-Reset-Ms: time until the quota refreshes.
	Reset time.Duration
	// RetryAfter is X-Retry-After (seconds; sent with a 429), or the standard
	// Retry-After header when X-Retry-After is absent.
	RetryAfter time.Duration
	// HasHeaders reports whether the response carried any rate-limit header;
	// when false the other fields (but Status and At) are zero.
	HasHeaders bool
	// At is when the client received the response.
	At time.Time
}

// Wait returns how long to pause after a 429: the longer of RetryAfter and
// Reset, as BigCommerce advises.
func (r RateInfo) Wait() time.Duration {
	return max(r.RetryAfter, r.Reset)
}

// Rate-limit header names (BigCommerce's general API headers; case-insensitive).
const (
	headerWindowMs   = "X-Rate-Limit-Time-Window-Ms"
	headerResetMs    = "X-Rate-Limit-Time-Reset-Ms"
	headerQuota      = "X-Rate-Limit-Requests-Quota"
	headerLeft       = "X-Rate-Limit-Requests-Left"
	headerXRetry     = "X-Retry-After"
	headerRetryAfter = "Retry-After"
)

// parseRateInfo reads the rate-limit headers of a response. Unparsable values
// are ignored (treated as absent) rather than failing the call.
func parseRateInfo(status int, h http.Header, at time.Time) RateInfo {
	info := RateInfo{Status: status, At: at}
	if v, ok := headerInt(h, headerQuota); ok {
		info.Quota, info.HasHeaders = v, true
	}
	if v, ok := headerInt(h, headerLeft); ok {
		info.Left, info.HasHeaders = v, true
	}
	if v, ok := headerMillis(h, headerWindowMs); ok {
		info.Window, info.HasHeaders = v, true
	}
	if v, ok := headerMillis(h, headerResetMs); ok {
		info.Reset, info.HasHeaders = v, true
	}
	if v, ok := headerSeconds(h, headerXRetry, at); ok {
		info.RetryAfter, info.HasHeaders = v, true
	} else if v, ok := headerSeconds(h, headerRetryAfter, at); ok {
		info.RetryAfter, info.HasHeaders = v, true
	}
	return info
}

func headerInt(h http.Header, name string) (int, bool) {
	f, ok := headerFloat(h, name)
	if !ok {
		return 0, false
	}
	return int(f), true
}

func headerMillis(h http.Header, name string) (time.Duration, bool) {
	f, ok := headerFloat(h, name)
	if !ok {
		return 0, false
	}
	return time.Duration(f * float64(time.Millisecond)), true
}

// headerSeconds parses a delay in seconds (integer or decimal) or, as the
// standard Retry-After allows, an HTTP date.
func headerSeconds(h http.Header, name string, now time.Time) (time.Duration, bool) {
	if f, ok := headerFloat(h, name); ok {
		return time.Duration(f * float64(time.Second)), true
	}
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// maxHeaderValue bounds parsed header values (about 100 days in milliseconds)
// so that a hostile or broken header cannot overflow a time.Duration.
const maxHeaderValue = 1e10

func headerFloat(h http.Header, name string) (float64, bool) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxHeaderValue {
		return 0, false
	}
	return f, true
}
