package scim

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
)

// allowList admits SCIM clients by network address.
//
// The client's address is the TCP peer's, unless the peer is a trusted proxy
// (trustProxy): then X-Forwarded-For is read from right to left, skipping
// addresses that are themselves trusted proxies, and the first other address
// is the client. Reading from the right matters: everything left of the last
// trusted hop was written by the client and may be forged. A request through
// trusted proxies without the header is judged by the leftmost proxy's
// address; a hop that is not an address makes the client unknown (refused).
type allowList struct {
	allow      []netip.Prefix
	trustProxy []netip.Prefix
}

// clientAddr returns the address the allow-list judges r by.
func (a allowList) clientAddr(r *http.Request) (netip.Addr, bool) {
	peer, ok := parseRemoteAddr(r.RemoteAddr)
	if !ok || !contains(a.trustProxy, peer) {
		return peer, ok
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	for i := len(hops) - 1; i >= 0; i-- {
		addr, err := netip.ParseAddr(hops[i])
		if err != nil {
			// A trusted proxy passed on a hop that is not an address: the client
			// cannot be told, so the request is refused (never judged by values
			// further left, which a client could have written).
			return netip.Addr{}, false
		}
		addr = addr.Unmap()
		if !contains(a.trustProxy, addr) {
			return addr, true
		}
		peer = addr
	}
	return peer, true
}

// allowed reports whether r comes from an allowed network.
func (a allowList) allowed(r *http.Request) (netip.Addr, bool) {
	addr, ok := a.clientAddr(r)
	return addr, ok && contains(a.allow, addr)
}

// forwardedFor splits X-Forwarded-For header values into hops, in order.
func forwardedFor(values []string) []string {
	var hops []string
	for _, v := range values {
		for _, h := range strings.Split(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	return hops
}

func parseRemoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}

func contains(prefixes []netip.Prefix, addr netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// checkClient answers 403 to clients outside the allow-list.
func (h *handler) checkClient(c *gin.Context) {
	if addr, ok := h.allowList.allowed(c.Request); !ok {
		// The client is an IdP's server, not a person: its address is what the
		// operator needs to fix the allow-list.
		h.log.Warn("SCIM request from a network outside scim.allow_cidrs refused",
			zap.String("client_addr", addr.String()), zap.String("request_id", bridge.RequestID(c.Request.Context())))
		writeError(c.Writer, http.StatusForbidden, "", "This network address may not use the SCIM API (scim.allow_cidrs).")
		c.Abort()
		return
	}
	c.Next()
}

// limiter is a token bucket per SCIM token: each token may make rate requests
// per second on average and burst at once. It is safe for concurrent use. The
// number of buckets is bounded by the number of configured tokens, because
// only authenticated requests reach it.
type limiter struct {
	rate  float64
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[TokenHash]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	if burst < 1 {
		burst = 1
	}
	if now == nil {
		now = time.Now
	}
	return &limiter{rate: rate, burst: float64(burst), now: now, buckets: map[TokenHash]*bucket{}}
}

// take spends one request of key's bucket. When the bucket is empty it returns
// false and how long until a request is available.
func (l *limiter) take(key TokenHash) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// retryAfterSeconds is the Retry-After value for a wait: whole seconds,
// rounded up, at least 1 (Okta reads the header as an integer of seconds).
func retryAfterSeconds(wait time.Duration) int {
	return max(1, int(math.Ceil(wait.Seconds())))
}

// throttle answers 429 with Retry-After when the request's token has spent its
// rate. It runs after authenticate.
func (h *handler) throttle(c *gin.Context) {
	key, _ := c.Request.Context().Value(tokenHashKey).(TokenHash)
	ok, wait := h.limiter.take(key)
	if ok {
		c.Next()
		return
	}
	if h.throttled != nil {
		h.throttled()
	}
	secs := retryAfterSeconds(wait)
	c.Header("Retry-After", strconv.Itoa(secs))
	writeError(c.Writer, http.StatusTooManyRequests, "", fmt.Sprintf(
		"Too many requests with this token: the bridge allows %g per second (bursts of %d); retry after %d s.",
		h.limiter.rate, int(h.limiter.burst), secs))
	c.Abort()
}
