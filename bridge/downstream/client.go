package downstream

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	graphql "github.com/hasura/go-graphql-client"
	"go.uber.org/zap"
)

// DefaultBaseURL is BigCommerce's API host.
const DefaultBaseURL = "https://api.bigcommerce.com"

// DefaultPageSize is the page size listings ask for when Options.PageSize is
// 0: the largest page BigCommerce documents for its GraphQL connections.
const DefaultPageSize = DocumentedPageSize

// DefaultUserAgent is the User-Agent sent when Options.UserAgent is empty;
// BigCommerce asks integrations to identify themselves.
const DefaultUserAgent = "scim-bridge"

// Timeouts of the default HTTP client. A request carries at most one document
// of a few kilobytes, so 30 s overall is generous; the shorter phase timeouts
// make a dead peer fail fast instead of eating the whole budget of time.
const (
	defaultTimeout               = 30 * time.Second
	defaultDialTimeout           = 10 * time.Second
	defaultTLSHandshakeTimeout   = 10 * time.Second
	defaultResponseHeaderTimeout = 25 * time.Second
	defaultIdleConnTimeout       = 90 * time.Second
)

// Options configures a [Client].
type Options struct {
	// BaseURL is the API host; default [DefaultBaseURL]. The client posts to
	// BaseURL + "/accounts/" + AccountUUID + "/graphql".
	BaseURL string
	// AccountUUID is the account's UUID, shown with the account-level API account.
	AccountUUID string
	// Token is the account-level API token. It is sent only in the
	// X-Auth-Token header and never logged, printed, or put in an error.
	Token string
	// HTTPClient is optional; default: a dedicated client with a 30 s overall
	// timeout and dial, TLS and response-header timeouts. The client works on a
	// shallow copy whose redirect policy is replaced: redirects are never
	// followed, because the token header would travel with them.
	HTTPClient *http.Client
	// Gate is the request budget; nil means no gating.
	Gate Gate
	// Logger is optional; nil means zap.NewNop(). The client logs under the
	// name "downstream", never tokens, emails or server message text.
	Logger *zap.Logger
	// PageSize is the page size asked for in flat listings (account users,
	// stores, apps, and the continuation pages of a store's users); default
	// [DefaultPageSize]. Nested listings use smaller sizes (see the package doc).
	// A size the server refuses is lowered to the documented maximum (50),
	// then the documented default (10).
	PageSize int
	// UserAgent is the User-Agent header of every request, for example
	// "scim-bridge/1.4.0"; default [DefaultUserAgent].
	UserAgent string
	// Observe, when set, is called once per HTTP request the client sends
	// (failed connections included; never for a request the gate refused), after
	// the response is classified: operation is the GraphQL operation name (one
	// of [Operations]), status the HTTP status (0 when no response arrived),
	// reason the [Error.Reason] of a failed request ("" when the request as a
	// whole succeeded; per-operation field errors do not count), d the time from
	// sending to the end of the response. It must not block. Metrics use it.
	Observe func(operation string, status int, reason string, d time.Duration)
}

// Operation names the client sends (GraphQL operationName), a bounded set for
// metric labels.
const (
	OpCapabilities           = "BridgeCapabilities"
	OpApply                  = "BridgeApply"
	OpAccount                = "BridgeAccount"
	OpAccountUsers           = "BridgeAccountUsers"
	OpAccountUsersBackward   = "BridgeAccountUsersBackward"
	OpStores                 = "BridgeStores"
	OpApps                   = "BridgeApps"
	OpStoreUsers             = "BridgeStoreUsers"
	OpStoreUsersContinuation = "BridgeStoreUsersMore"
	OpStoreCursors           = "BridgeStoreCursors"
)

// Operations returns every operation name the client sends, for pre-creating
// metric label series.
func Operations() []string {
	return []string{OpCapabilities, OpApply, OpAccount, OpAccountUsers, OpAccountUsersBackward, OpStores, OpApps,
		OpStoreUsers, OpStoreUsersContinuation, OpStoreCursors}
}

// Client is a BigCommerce Account-level GraphQL client. It is safe for
// concurrent use by several goroutines.
type Client struct {
	*shared
	gate Gate
}

// shared is what the clients returned by [Client.WithGate] have in common
// with the client they came from: the connection, what Detect learned, the
// remembered store positions.
type shared struct {
	gql       *graphql.Client
	log       *zap.Logger
	now       func() time.Time
	observe   func(operation string, status int, reason string, d time.Duration)
	caps      capState
	positions storePositions
}

// WithGate returns a client that sends through gate instead of the gate it
// was built with, and shares everything else with c (the connection, the
// detected capabilities, the remembered store positions). A caller that has
// already taken a request from its budget passes a gate that knows it.
func (c *Client) WithGate(gate Gate) *Client {
	return &Client{shared: c.shared, gate: gate}
}

// New validates opts and returns a client. It sends nothing.
func New(opts Options) (*Client, error) {
	var problems []error
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	base = strings.TrimRight(base, "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		problems = append(problems, errors.New("BaseURL must be an absolute http or https URL"))
	}
	switch {
	case opts.AccountUUID == "":
		problems = append(problems, errors.New("AccountUUID is required"))
	case strings.ContainsAny(opts.AccountUUID, "/?#% \t\r\n"):
		problems = append(problems, errors.New("AccountUUID contains characters not allowed in a UUID"))
	}
	switch {
	case opts.Token == "":
		problems = append(problems, errors.New("the Token option is required"))
	case strings.ContainsAny(opts.Token, "\r\n\x00"):
		// The value itself is never echoed.
		problems = append(problems, errors.New("the Token option contains a line break or NUL"))
	}
	if opts.PageSize < 0 {
		problems = append(problems, errors.New("PageSize must not be negative"))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("new downstream client: %w", errors.Join(problems...))
	}

	hc := opts.HTTPClient
	if hc == nil {
		hc = newHTTPClient()
	} else {
		cp := *hc
		hc = &cp
	}
	hc.CheckRedirect = refuseRedirect

	logger := opts.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	pageSize := opts.PageSize
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	endpoint := base + "/accounts/" + opts.AccountUUID + "/graphql"
	c := &Client{gate: opts.Gate, shared: &shared{
		gql:     graphql.NewClient(endpoint, &doer{hc: hc, token: opts.Token, userAgent: ua}),
		log:     logger.Named("downstream"),
		now:     time.Now,
		observe: opts.Observe,
	}}
	c.caps.cap.PageSize = pageSize
	return c, nil
}

// newHTTPClient returns the dedicated default HTTP client.
func newHTTPClient() *http.Client {
	return &http.Client{
		Timeout: defaultTimeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: defaultDialTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   defaultTLSHandshakeTimeout,
			ResponseHeaderTimeout: defaultResponseHeaderTimeout,
			IdleConnTimeout:       defaultIdleConnTimeout,
			MaxIdleConns:          4,
			ForceAttemptHTTP2:     true,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		},
	}
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// recorderKey carries a *recorder in a request context.
type recorderKey struct{}

// recorder captures, for one call, what the go-graphql-client hides: whether
// a request went out, the response status and headers, and the transport error.
type recorder struct {
	sent   bool
	status int
	header http.Header
	err    error
}

// doer is the [graphql.Doer] given to go-graphql-client. It sets the
// authentication headers and records the response into the call's recorder.
type doer struct {
	hc        *http.Client
	token     string
	userAgent string
}

// Do sends req with the token and records the outcome.
func (d *doer) Do(req *http.Request) (*http.Response, error) {
	req.Header.Set("X-Auth-Token", d.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", d.userAgent)
	rec, _ := req.Context().Value(recorderKey{}).(*recorder)
	resp, err := d.hc.Do(req)
	if rec != nil {
		rec.sent = true
		if err != nil {
			rec.err = err
		} else {
			rec.status = resp.StatusCode
			rec.header = resp.Header
		}
	}
	return resp, err
}

// reply is the outcome of one HTTP request that produced a GraphQL response.
type reply struct {
	data json.RawMessage
	// errs are the server's GraphQL errors (document- or field-level).
	errs   []graphql.Error
	status int
}

// sent describes what one exec call spent and saw, also when it failed.
type sent struct {
	requests int
	rate     RateInfo
	// responded reports whether rate comes from an actual response.
	responded bool
}

// Document-level error codes the client acts on (the simulator's, and common
// GraphQL ones). Any other document-level code, GRAPHQL_PARSE_FAILED and
// GRAPHQL_VALIDATION_FAILED included, means invalid_document.
const (
	codeComplexity  = "COMPLEXITY_LIMIT_EXCEEDED"
	codeTooMany     = "TOO_MANY_MUTATIONS"
	codeRateLimited = "RATE_LIMITED"
	codeUnauth      = "UNAUTHENTICATED"
	codeForbidden   = "FORBIDDEN"
	codeInternal    = "INTERNAL_SERVER_ERROR"
)

// exec sends one document through the gate and classifies whole-request
// outcomes. A nil *Error means the server answered 200 with a GraphQL
// response that has data or field errors (errors with a path); those are in
// reply.errs. A refused document comes back as an *Error with Reason
// [ReasonRefused].
func (c *Client) exec(ctx context.Context, p Priority, opName, query string, vars map[string]any) (_ reply, s sent, e *Error) {
	if e := c.acquire(ctx, p); e != nil {
		return reply{}, s, e
	}
	rec := &recorder{}
	start := time.Now()
	data, err := c.gql.ExecRaw(context.WithValue(ctx, recorderKey{}, rec), query, vars, graphql.OperationName(opName))
	elapsed := time.Since(start)
	if rec.sent {
		s.requests = 1
		if c.observe != nil {
			// Deferred so that the observer sees the Reason this call finally
			// returns, whichever step below classifies the outcome.
			defer func() {
				reason := ""
				if e != nil {
					reason = e.Reason
				}
				c.observe(opName, rec.status, reason, elapsed)
			}()
		}
	}
	c.noteResponse(rec, &s)
	c.log.Debug("downstream request",
		zap.String("operation", opName),
		zap.Int("status", rec.status),
		zap.Duration("duration", elapsed),
		zap.Int("requests_left", s.rate.Left),
		zap.Int("document_bytes", len(query)))

	if rec.err != nil {
		return reply{}, s, transportError(ctx, rec.err)
	}
	if !rec.sent {
		// go-graphql-client failed before sending (it could not encode the
		// variables): a bug in this package, never worth retrying.
		return reply{}, s, &Error{Class: ClassPermanent, Reason: ReasonInvalidDocument, Detail: "request could not be encoded"}
	}
	if e := statusError(rec.status, err, s.rate); e != nil {
		return reply{}, s, e
	}
	r, de := decodeReply(ctx, data, err, rec.status, s.rate)
	if de != nil {
		return reply{}, s, de
	}
	return r, s, nil
}

// acquire waits for the gate's permission to send one request at priority p.
// A wait cut short by the caller's context is told apart from a refusal by
// the budget itself, because only the latter says anything about the budget.
func (c *Client) acquire(ctx context.Context, p Priority) *Error {
	if c.gate == nil {
		return nil
	}
	if err := c.gate.Acquire(ctx, p); err != nil {
		if ctx.Err() != nil {
			return &Error{Class: ClassTransient, Reason: ReasonCanceled, Detail: "waiting for the request budget", cause: ctx.Err()}
		}
		return &Error{Class: ClassTransient, Reason: ReasonBudget, Detail: "the request budget refused the request", cause: err}
	}
	return nil
}

// noteResponse records in s the rate-limit state of the response rec saw, if
// any, and reports it to the gate.
func (c *Client) noteResponse(rec *recorder, s *sent) {
	if rec.header == nil {
		return
	}
	s.responded = true
	s.rate = parseRateInfo(rec.status, rec.header, c.now())
	// Every response is reported, with or without rate-limit headers: a
	// 429 without them (BigCommerce: the platform is under high load) must
	// pause the budget too.
	if c.gate != nil {
		c.gate.Observe(s.rate)
	}
}

// statusError classifies a response by its HTTP status; nil means 200 or 201,
// whose body is decoded by [decodeReply]. err is go-graphql-client's error for
// the call, which carries the body of a 4xx.
func statusError(status int, err error, rate RateInfo) *Error {
	switch {
	case status == http.StatusOK || status == http.StatusCreated:
		return nil
	case status == http.StatusTooManyRequests:
		return &Error{Class: ClassRateLimited, Reason: ReasonRateLimited, Status: status, RetryAfter: rateLimitWait(rate), Detail: "the account's request quota is spent"}
	case status >= 500:
		return &Error{Class: ClassTransient, Reason: ReasonHTTP5xx, Status: status, RetryAfter: rate.RetryAfter}
	case status == http.StatusUnauthorized:
		return &Error{Class: ClassPermanent, Reason: ReasonUnauthorized, Status: status, Detail: "the token was not accepted"}
	case status == http.StatusForbidden:
		return &Error{Class: ClassPermanent, Reason: ReasonForbidden, Status: status, Detail: "the token lacks a required scope"}
	case status == http.StatusNotFound:
		return &Error{Class: ClassPermanent, Reason: ReasonAccountNotFound, Status: status, Detail: "no account with this UUID at this API URL"}
	case status == http.StatusRequestEntityTooLarge:
		return &Error{Class: ClassPermanent, Reason: ReasonRefused, Status: status, Detail: "document too large"}
	case status == http.StatusRequestTimeout:
		return &Error{Class: ClassTransient, Reason: ReasonTimeout, Status: status}
	case status >= 400:
		return clientError(status, err, rate)
	case status >= 300:
		// A redirect (never followed) means BaseURL is wrong.
		return &Error{Class: ClassPermanent, Reason: ReasonUnexpectedStatus, Status: status, Detail: "redirects are not followed"}
	default:
		return &Error{Class: ClassTransient, Reason: ReasonUnexpectedStatus, Status: status}
	}
}

// clientError classifies a 4xx that has no status of its own. Some GraphQL
// servers answer document errors with 400 or 422 (GraphQL over HTTP), so the
// body is read tolerantly for a refusal before settling on http_4xx.
func clientError(status int, err error, rate RateInfo) *Error {
	var ne graphql.NetworkError
	if errors.As(err, &ne) {
		var body struct {
			Errors []graphql.Error `json:"errors"`
		}
		if json.Unmarshal([]byte(ne.Body()), &body) == nil && len(body.Errors) > 0 {
			e := documentError(body.Errors, rate)
			e.Status = status
			return e
		}
	}
	return &Error{Class: ClassPermanent, Reason: ReasonHTTP4xx, Status: status}
}

// decodeReply turns the body of a 200 or 201 into a reply. err is
// go-graphql-client's error for the call: GraphQL errors, or a failure to read
// or decode the body. Errors without a path and no data make the whole
// document fail; field errors stay in the reply for the caller.
func decodeReply(ctx context.Context, data json.RawMessage, err error, status int, rate RateInfo) (reply, *Error) {
	r := reply{data: data, status: status}
	if err != nil {
		var gerrs graphql.Errors
		if !errors.As(err, &gerrs) {
			return reply{}, &Error{Class: ClassTransient, Reason: ReasonUnreadable, Status: status, Detail: "response could not be decoded"}
		}
		for _, ge := range gerrs {
			if cause := ge.Unwrap(); cause != nil {
				// Raised by go-graphql-client itself: the body could not be
				// read or decoded (truncated, timed out, not JSON).
				e := transportError(ctx, cause)
				if e.Reason == ReasonConnection {
					e.Reason, e.Detail = ReasonUnreadable, "response body could not be read or decoded"
				}
				e.Status = status
				return reply{}, e
			}
			r.errs = append(r.errs, ge)
		}
	}
	if isNull(r.data) {
		if len(r.errs) == 0 {
			return reply{}, &Error{Class: ClassTransient, Reason: ReasonUnreadable, Status: status, Detail: "response had neither data nor errors"}
		}
		if !anyPath(r.errs) {
			e := documentError(r.errs, rate)
			e.Status = status
			return reply{}, e
		}
		// Field errors whose null propagated up to data (through non-null
		// fields): the caller reads them as field errors.
	}
	return r, nil
}

// anyPath reports whether any error names a response path (a field error).
func anyPath(errs []graphql.Error) bool {
	for _, ge := range errs {
		if len(ge.Path) > 0 {
			return true
		}
	}
	return false
}

// documentError classifies errors that apply to the whole document (the
// response has no data).
func documentError(errs []graphql.Error, rate RateInfo) *Error {
	codes := make([]string, 0, len(errs))
	for _, ge := range errs {
		codes = append(codes, errorCode(ge))
	}
	for i, code := range codes {
		switch code {
		case codeComplexity, codeTooMany:
			e := &Error{Class: ClassPermanent, Reason: ReasonRefused, Code: code, Detail: "document refused for its size"}
			if code == codeTooMany {
				if l, ok := errs[i].Extensions["limit"].(float64); ok && l >= 1 && l <= 1000 {
					e.Limit = int(l)
				}
			}
			return e
		case codeRateLimited:
			return &Error{Class: ClassRateLimited, Reason: ReasonRateLimited, Code: code, RetryAfter: rateLimitWait(rate)}
		case codeUnauth:
			return &Error{Class: ClassPermanent, Reason: ReasonUnauthorized, Code: code}
		case codeInternal:
			return &Error{Class: ClassTransient, Reason: ReasonServerError, Code: code}
		case codeForbidden:
			if len(errs[i].Path) == 0 {
				return &Error{Class: ClassPermanent, Reason: ReasonForbidden, Code: code}
			}
		}
	}
	// Tolerant reading: a server that uses other codes (or none) but says why.
	for i, ge := range errs {
		if len(ge.Path) == 0 && mentionsSizeLimit(ge.Message) {
			return &Error{Class: ClassPermanent, Reason: ReasonRefused, Code: codes[i], Detail: "document refused: message mentions complexity or mutation count"}
		}
	}
	code := ""
	if len(codes) > 0 {
		code = codes[0]
	}
	return &Error{Class: ClassPermanent, Reason: ReasonInvalidDocument, Code: code, Detail: fmt.Sprintf("server rejected the document with %d error(s)", len(errs))}
}

// mentionsSizeLimit reports whether a document-level message reads like a
// refusal for complexity or mutation count.
func mentionsSizeLimit(msg string) bool {
	m := strings.ToLower(msg)
	if strings.Contains(m, "complexity") || strings.Contains(m, "too complex") || strings.Contains(m, "query cost") {
		return true
	}
	if strings.Contains(m, "mutation") {
		for _, kw := range []string{"too many", "at most", "only one", "one mutation", "limit", "exceed", "maximum", "max "} {
			if strings.Contains(m, kw) {
				return true
			}
		}
	}
	return false
}

// rateLimitWait is the wait after a 429: the longer of X-Retry-After and
// X-Rate-Limit-Time-Reset-Ms; the window length when the server sent neither.
func rateLimitWait(r RateInfo) time.Duration {
	if w := r.Wait(); w > 0 {
		return w
	}
	return r.Window
}

// errorCode returns the error's extensions.code if it looks like a code.
func errorCode(ge graphql.Error) string {
	s, _ := ge.Extensions["code"].(string)
	return sanitizeCode(s)
}

// transportError classifies a failure to get a complete response.
func transportError(ctx context.Context, err error) *Error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return &Error{Class: ClassTransient, Reason: ReasonCanceled, Detail: "the caller canceled the request", cause: context.Canceled}
	case isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{Class: ClassTransient, Reason: ReasonTimeout, Detail: "no complete response in time", cause: context.DeadlineExceeded}
	default:
		return &Error{Class: ClassTransient, Reason: ReasonConnection, Detail: connectionDetail(err)}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

// connectionDetail describes a transport error in this package's words; the
// error's own text is not used because it names the URL.
func connectionDetail(err error) string {
	var dnsErr *net.DNSError
	var tlsErr *tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before a complete response"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.As(err, &dnsErr):
		return "host name lookup failed"
	case errors.As(err, &tlsErr) || errors.As(err, &certErr):
		return "tls handshake failed"
	default:
		return "request failed before a response"
	}
}

func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}
