package scim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/scim/resource"
)

// Prefix is the path under which SCIM is served.
const Prefix = "/scim/v2"

// contentType is the media type of every response.
const contentType = "application/scim+json"

// Defaults.
const (
	// DefaultMaxBodyBytes is the request body limit (1 MiB, the SCIM library's
	// own bulk maxPayloadSize).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxResults caps a list page (filter.maxResults in
	// /ServiceProviderConfig). Okta pages with count=100.
	DefaultMaxResults = 200
	// DefaultBurst is the per-token bucket size when Options.Burst is 0: an IdP
	// pushing a group sends a few dozen requests at once.
	DefaultBurst = 50
	// maxScan caps how many candidates a filter that cannot be answered by the
	// store's indexes may examine; beyond it the request gets 400 tooMany.
	maxScan = 50000
)

// Options configures the SCIM handler.
type Options struct {
	// Service answers every request. Required.
	Service *bridge.Service
	// Tokens are the accepted bearer tokens' digests. At least one is required.
	Tokens []TokenHash
	// PublicURL is the externally visible SCIM base URL, e.g.
	// "https://bridge.example.com/scim/v2", used for Location and meta.location.
	// When empty it is derived from each request (scheme from TLS or
	// X-Forwarded-Proto, host from the Host header).
	PublicURL string
	// MaxBodyBytes limits request bodies; DefaultMaxBodyBytes when 0.
	MaxBodyBytes int64
	// MaxResults caps list pages; DefaultMaxResults when 0.
	MaxResults int
	// Logger receives the access log and errors (ids, no personal data).
	Logger *zap.Logger
	// AllowCIDRs, when non-empty, admits only clients from these networks;
	// others get 403 with a SCIM error body (before authentication). The client
	// is the TCP peer; see TrustProxyCIDRs.
	AllowCIDRs []netip.Prefix
	// TrustProxyCIDRs are the networks of reverse proxies whose X-Forwarded-For
	// header is believed when checking AllowCIDRs: the header is read from the
	// right, skipping trusted proxies, and the first other address is the
	// client. Empty means the header is ignored.
	TrustProxyCIDRs []netip.Prefix
	// RequestsPerSecond limits each bearer token's request rate (a token bucket
	// per token); 0 means no limit. A request over the limit gets 429 with a
	// SCIM error body and Retry-After in whole seconds.
	RequestsPerSecond float64
	// Burst is the bucket size of the per-token limit: requests a token may make
	// at once after being idle; DefaultBurst when 0.
	Burst int
	// Throttled, when set, is called once per request answered 429 by the
	// per-token limit (for metrics). It must not block.
	Throttled func()
	// Observe, when set, is called once per request with the resource type
	// ("User", "Group", "Schema", "ResourceType", "ServiceProviderConfig",
	// "Search" for the server root and /.search, "other"), method, status and
	// duration (for metrics). Every value comes from a small fixed set, whatever
	// the client sends (unauthenticated requests included): methods other than
	// GET, POST, PUT, PATCH, DELETE, HEAD and OPTIONS are "other", and a status
	// outside the set the bridge answers with is reported as the first status
	// of its class (200, 300, 400 or 500); see methodLabel and statusLabel.
	Observe func(resource, method string, status int, d time.Duration)
}

// allowStringValues turns on the SCIM library's coercion of "True"/"False"
// strings (Entra ID sends them). The switch is a process-wide variable in the
// library, so it is set exactly once, before the first server is built.
var allowStringValues sync.Once

// handler is the SCIM HTTP handler.
type handler struct {
	svc        *bridge.Service
	log        *zap.Logger
	auth       authenticator
	publicURL  string
	maxBody    int64
	maxResults int
	observe    func(string, string, int, time.Duration)
	allowList  allowList
	limiter    *limiter // nil: no per-token limit
	throttled  func()
	users      *resource.Schema
	groups     *resource.Schema
	spc        scim.ServiceProviderConfig

	mu      sync.Mutex
	servers map[string]scim.Server // per base URL, bounded
}

// NewHandler returns the SCIM HTTP handler (SCIM under Prefix).
func NewHandler(opts Options) (http.Handler, error) {
	if opts.Service == nil {
		return nil, errors.New("scim: Options.Service is required")
	}
	if len(opts.Tokens) == 0 {
		return nil, errors.New("scim: at least one bearer token is required")
	}
	if opts.PublicURL != "" {
		u, err := url.Parse(opts.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("scim: public URL must be an absolute http(s) URL")
		}
	}
	if opts.RequestsPerSecond < 0 || math.IsNaN(opts.RequestsPerSecond) || math.IsInf(opts.RequestsPerSecond, 0) {
		return nil, errors.New("scim: RequestsPerSecond must be a finite number, 0 or more")
	}
	if opts.Burst < 0 {
		return nil, errors.New("scim: Burst must not be negative")
	}
	allowStringValues.Do(func() { schema.SetAllowStringValues(true) })
	h := &handler{
		svc: opts.Service, log: opts.Logger, auth: authenticator{tokens: opts.Tokens},
		publicURL: strings.TrimRight(opts.PublicURL, "/"), maxBody: opts.MaxBodyBytes,
		maxResults: opts.MaxResults, observe: opts.Observe, throttled: opts.Throttled,
		allowList: allowList{allow: opts.AllowCIDRs, trustProxy: opts.TrustProxyCIDRs},
		users:     resource.UserSchema(), groups: resource.GroupSchema(),
		servers: map[string]scim.Server{},
	}
	if opts.RequestsPerSecond > 0 {
		burst := opts.Burst
		if burst == 0 {
			burst = DefaultBurst
		}
		h.limiter = newLimiter(opts.RequestsPerSecond, burst, nil)
	}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	h.log = h.log.Named("scim")
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.maxResults <= 0 {
		h.maxResults = DefaultMaxResults
	}
	h.spc = scim.ServiceProviderConfig{
		DocumentationURI: optional.NewString("https://github.com/scim-bridge/scim-bridge#scim-and-idp-setup"),
		AuthenticationSchemes: []scim.AuthenticationScheme{{
			Type: scim.AuthenticationTypeOauthBearerToken, Name: "Bearer token",
			Description: "A token configured in SCIM_BRIDGE_SCIM_TOKENS, sent as 'Authorization: Bearer <token>'.",
			Primary:     true,
		}},
		MaxResults: h.maxResults, SupportFiltering: true, SupportPatch: true,
	}
	// Build one server now so that a schema problem fails at start, not on a request.
	if _, err := h.newServer(""); err != nil {
		return nil, err
	}

	r := gin.New()
	r.Use(h.recovery, h.requestID, h.accessLog)
	if len(h.allowList.allow) > 0 {
		r.Use(h.checkClient)
	}
	chain := []gin.HandlerFunc{h.authenticate}
	if h.limiter != nil {
		chain = append(chain, h.throttle)
	}
	chain = append(chain, h.limitBody)
	api := r.Group(Prefix, chain...)
	api.Any("/*path", h.dispatch)
	r.NoRoute(func(c *gin.Context) {
		writeError(c.Writer, http.StatusNotFound, "", "Not found. SCIM is served under "+Prefix+".")
	})
	r.HandleMethodNotAllowed = false
	return r, nil
}

func (h *handler) newServer(baseURL string) (scim.Server, error) {
	userType := scim.ResourceType{
		ID: optional.NewString("User"), Name: "User", Endpoint: "/Users",
		Description: optional.NewString("User Account"), Schema: h.users.Core(),
		SchemaExtensions: extensions(h.users), Handler: userHandler{h},
	}
	groupType := scim.ResourceType{
		ID: optional.NewString("Group"), Name: "Group", Endpoint: "/Groups",
		Description: optional.NewString("Group; a group whose name matches a BigCommerce store grants access to it"),
		Schema:      h.groups.Core(), SchemaExtensions: extensions(h.groups), Handler: groupHandler{h},
	}
	opts := []scim.ServerOption{scim.WithLogger(libLogger{h.log})}
	if baseURL != "" {
		opts = append(opts, scim.WithBaseURL(baseURL))
	}
	spc := h.spc
	srv, err := scim.NewServer(&scim.ServerArgs{ServiceProviderConfig: &spc, ResourceTypes: []scim.ResourceType{userType, groupType}}, opts...)
	if err != nil {
		return scim.Server{}, fmt.Errorf("build SCIM server: %w", err)
	}
	return srv, nil
}

func extensions(s *resource.Schema) []scim.SchemaExtension {
	var out []scim.SchemaExtension
	for _, e := range s.Extensions() {
		out = append(out, scim.SchemaExtension{Schema: e})
	}
	return out
}

// serverFor returns the library server rendering locations under baseURL. The
// library fixes its base URL at construction, so servers are cached per base URL
// (a handful: one per host name clients use).
func (h *handler) serverFor(baseURL string) (scim.Server, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.servers[baseURL]; ok {
		return s, nil
	}
	s, err := h.newServer(baseURL)
	if err != nil {
		return scim.Server{}, err
	}
	if len(h.servers) < 16 {
		h.servers[baseURL] = s
	}
	return s, nil
}

// baseURL is the absolute SCIM base URL for r.
func (h *handler) baseURL(r *http.Request) string {
	if h.publicURL != "" {
		return h.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := strings.ToLower(r.Header.Get("X-Forwarded-Proto")); p == "https" || p == "http" {
		scheme = p
	}
	host := r.Host
	if host == "" || strings.ContainsAny(host, "/\\ @?#") {
		host = "localhost"
	}
	return scheme + "://" + host + Prefix
}

// Context keys for per-request values.
type ctxKey int

const (
	paramsKey ctxKey = iota
	tokenKey
	tokenHashKey
)

// queryParams are the list and projection parameters the bridge handles itself;
// they are removed from the URL before the library sees it.
type queryParams struct {
	filter     string
	hasFilter  bool
	attributes []string
	excluded   []string
	ifMatch    string
}

func paramsFrom(ctx context.Context) queryParams {
	p, _ := ctx.Value(paramsKey).(queryParams)
	return p
}

func (h *handler) recovery(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			h.log.Error("panic while serving a SCIM request", zap.String("request_id", bridge.RequestID(c.Request.Context())),
				zap.String("panic", fmt.Sprintf("%T", v)), zap.Stack("stack"))
			if !c.Writer.Written() {
				writeError(c.Writer, http.StatusInternalServerError, "", "Internal error; the bridge logged it with this request's id.")
			}
			c.Abort()
		}
	}()
	c.Next()
}

func (h *handler) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-Id")
	if !validRequestID(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Header("X-Request-Id", id)
	c.Request = c.Request.WithContext(bridge.WithRequestID(c.Request.Context(), id))
	c.Next()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// accessLog logs one line per request: method, route template, status, duration,
// request id and token fingerprint. Never the raw path or query: filters carry
// emails.
func (h *handler) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	d := time.Since(start)
	res, route := routeOf(c.Request.URL.Path)
	status := c.Writer.Status()
	method := methodLabel(c.Request.Method)
	fields := []zap.Field{
		zap.String("method", method), zap.String("route", route), zap.Int("status", status),
		zap.Duration("duration", d), zap.String("request_id", bridge.RequestID(c.Request.Context())),
	}
	if fp, ok := c.Request.Context().Value(tokenKey).(string); ok {
		fields = append(fields, zap.String("token_fingerprint", fp))
	}
	switch {
	case status >= 500:
		h.log.Error("scim request", fields...)
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusTooManyRequests:
		h.log.Warn("scim request", fields...)
	default:
		h.log.Info("scim request", fields...)
	}
	if h.observe != nil {
		h.observe(res, method, statusLabel(status), d)
	}
}

// methodLabel is the method as metrics and the access log name it: one of the
// methods SCIM clients use, or "other" (a client may send any token as the
// method, and each would otherwise become a new metric series).
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodHead, http.MethodOptions:
		return m
	}
	return "other"
}

// statusLabel is the status as metrics report it: the statuses the bridge
// answers with are themselves, any other is the first status of its class,
// and a status outside 100-599 is 500.
func statusLabel(s int) int {
	switch s {
	case http.StatusOK, http.StatusCreated, http.StatusNoContent, http.StatusMovedPermanently, http.StatusNotModified,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect,
		http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusMethodNotAllowed,
		http.StatusConflict, http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
		http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusNotImplemented, http.StatusServiceUnavailable:
		return s
	}
	if s < 100 || s > 599 {
		return http.StatusInternalServerError
	}
	return s / 100 * 100
}

// routeOf maps a request path to its resource type and a route template.
func routeOf(path string) (resourceType, route string) {
	rest, ok := strings.CutPrefix(path, Prefix)
	if !ok {
		return "other", "other"
	}
	rest = strings.Trim(rest, "/")
	if rest == "" || rest == ".search" {
		return "Search", Prefix + "/" + rest
	}
	head, tail, hasTail := strings.Cut(rest, "/")
	res, known := routeNames[head]
	switch {
	case !known:
		return "other", Prefix + "/other"
	case hasTail && tail == ".search":
		return res, Prefix + "/" + head + "/.search"
	case hasTail && tail != "":
		return res, Prefix + "/" + head + "/{id}"
	}
	return res, Prefix + "/" + head
}

// routeNames maps the first path segment to a resource type label.
var routeNames = map[string]string{"Users": "User", "Groups": "Group", "Schemas": "Schema", "ResourceTypes": "ResourceType", "ServiceProviderConfig": "ServiceProviderConfig"}

func (h *handler) authenticate(c *gin.Context) {
	t, ok := h.auth.check(c.GetHeader("Authorization"))
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="scim-bridge"`)
		writeError(c.Writer, http.StatusUnauthorized, "", "Authentication failed: send 'Authorization: Bearer <token>' with a token configured in SCIM_BRIDGE_SCIM_TOKENS.")
		c.Abort()
		return
	}
	ctx := context.WithValue(c.Request.Context(), tokenKey, t.Fingerprint())
	ctx = context.WithValue(ctx, tokenHashKey, t)
	c.Request = c.Request.WithContext(bridge.WithActor(ctx, "scim:"+t.Fingerprint()))
	c.Next()
}

func (h *handler) limitBody(c *gin.Context) {
	if c.Request.ContentLength > h.maxBody {
		writeError(c.Writer, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("Request body too large: the limit is %d bytes.", h.maxBody))
		c.Abort()
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, h.maxBody)
	c.Next()
}

// dispatch routes a SCIM request: the bridge serves /ServiceProviderConfig and
// list queries itself; the library serves the rest after the bridge has taken
// over the parameters it handles and normalised the body.
func (h *handler) dispatch(c *gin.Context) {
	r := c.Request
	path := dispatchPath(c)
	if !checkMethod(c, path) {
		return
	}
	p, q := takeParams(r)

	if path == "/ServiceProviderConfig" {
		writeJSON(c.Writer, http.StatusOK, h.serviceProviderConfig())
		return
	}

	var body []byte
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		var ok bool
		if body, ok = h.readBody(c, path); !ok {
			return
		}
	}
	r2 := libraryRequest(r, path, p, q, body)

	if r.Method == http.MethodPost && isSearch(path) {
		h.search(c.Writer, r2, strings.TrimSuffix(path, "/.search"), body)
		return
	}
	if r.Method == http.MethodGet && (path == "/Users" || path == "/Groups" || path == "/") {
		h.list(c.Writer, r2, path, q)
		return
	}
	h.serveLibrary(c, r2, path, p)
}

// dispatchPath returns the request's path below Prefix. A trailing slash
// names the same endpoint ("/Users/" is the collection; the library would
// look up the id "").
func dispatchPath(c *gin.Context) string {
	path := strings.TrimRight(c.Param("path"), "/")
	if path == "" {
		path = "/"
	}
	return path
}

// checkMethod answers 405 with an Allow header and reports false when path
// does not accept the request's method.
func checkMethod(c *gin.Context, path string) bool {
	r := c.Request
	if allow, ok := allowedMethods(path); ok && !strings.Contains(allow, r.Method) {
		c.Header("Allow", allow)
		writeError(c.Writer, http.StatusMethodNotAllowed, "", fmt.Sprintf("Method %s is not allowed here; allowed: %s.", r.Method, allow))
		return false
	}
	return true
}

// takeParams reads the query parameters the bridge handles itself and
// returns them with the rest of the query, from which they are removed so
// that the library does not apply them a second time.
func takeParams(r *http.Request) (queryParams, url.Values) {
	q := r.URL.Query()
	p := queryParams{
		filter: q.Get("filter"), attributes: splitList(q.Get("attributes")),
		excluded: splitList(q.Get("excludedAttributes")), ifMatch: r.Header.Get("If-Match"),
	}
	_, p.hasFilter = q["filter"]
	q.Del("filter")
	q.Del("attributes")
	q.Del("excludedAttributes")
	return p, q
}

// readBody reads and checks the body of a POST, PUT or PATCH to path and
// returns it, normalised for the resource's schema where one applies. When
// the body is unacceptable it writes the error response and reports false.
func (h *handler) readBody(c *gin.Context, path string) ([]byte, bool) {
	r := c.Request
	if mt := r.Header.Get("Content-Type"); mt != "" {
		if parsed, _, err := mime.ParseMediaType(mt); err != nil || (parsed != "application/json" && parsed != contentType) {
			writeError(c.Writer, http.StatusUnsupportedMediaType, "", "Send the body as application/scim+json or application/json.")
			return nil, false
		}
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(c.Writer, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("Request body too large: the limit is %d bytes.", h.maxBody))
			return nil, false
		}
		writeError(c.Writer, http.StatusBadRequest, scimerrors.ScimTypeInvalidSyntax, "The request body could not be read.")
		return nil, false
	}
	s := h.schemaFor(path)
	if isSearch(path) {
		s = nil
	}
	if err := resource.CheckBody(r.Method, raw, s != nil); err != nil {
		writeSCIMError(c.Writer, err)
		return nil, false
	}
	body := raw
	if s != nil {
		if fixed, err := resource.NormalizeBody(s, r.Method, raw); err == nil {
			body = fixed
		}
	}
	return body, true
}

// libraryRequest returns a copy of r for the handlers: it carries p in its
// context, the normalised path, the remaining query q and, when not nil, body
// in place of the body already read.
func libraryRequest(r *http.Request, path string, p queryParams, q url.Values, body []byte) *http.Request {
	ctx := context.WithValue(r.Context(), paramsKey, p)
	r2 := r.Clone(ctx)
	r2.URL.Path = path
	r2.URL.RawPath = ""
	r2.URL.RawQuery = q.Encode()
	if body != nil {
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
	}
	return r2
}

// serveLibrary has the SCIM library serve r2, projecting the rendered
// resource when the request names attributes to return or exclude.
func (h *handler) serveLibrary(c *gin.Context, r2 *http.Request, path string, p queryParams) {
	srv, err := h.serverFor(h.baseURL(c.Request))
	if err != nil {
		h.log.Error("build SCIM server", zap.Error(err))
		writeError(c.Writer, http.StatusInternalServerError, "", "Internal error; the bridge logged it with this request's id.")
		return
	}
	s := h.schemaFor(path)
	if s == nil || (len(p.attributes) == 0 && len(p.excluded) == 0) {
		srv.ServeHTTP(c.Writer, r2)
		return
	}
	// The library adds meta (and id, schemas) to every resource it renders;
	// the handlers' projection cannot take meta out, so the rendered resource
	// is projected once more.
	buf := &bufferedResponse{header: c.Writer.Header()}
	srv.ServeHTTP(buf, r2)
	buf.writeProjected(c.Writer, s, p.attributes, p.excluded)
}

// isSearch reports whether path is a search endpoint (RFC 7644 §3.4.3).
func isSearch(path string) bool {
	return path == "/.search" || path == "/Users/.search" || path == "/Groups/.search"
}

// bufferedResponse holds a response of the SCIM library so it can be rewritten.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// writeProjected writes a successful resource response projected by s
// (attributes and excludedAttributes, RFC 7644 §3.9); anything else as it was.
func (b *bufferedResponse) writeProjected(w http.ResponseWriter, s *resource.Schema, attributes, excluded []string) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	raw := b.body.Bytes()
	if b.status >= 200 && b.status < 300 && len(raw) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var doc map[string]any
		if err := dec.Decode(&doc); err == nil && doc != nil {
			if out, err := json.Marshal(s.Project(doc, attributes, excluded)); err == nil {
				raw = out
			}
		}
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(b.status)
	_, _ = w.Write(raw)
}

// allowedMethods returns the methods allowed on a known endpoint.
func allowedMethods(path string) (string, bool) {
	switch {
	case path == "/Users" || path == "/Groups":
		return "GET, POST", true
	case isSearch(path):
		return "POST", true
	case path == "/":
		return "GET", true
	case strings.HasPrefix(path, "/Users/") || strings.HasPrefix(path, "/Groups/"):
		return "GET, PUT, PATCH, DELETE", true
	case path == "/Schemas" || strings.HasPrefix(path, "/Schemas/"),
		path == "/ResourceTypes" || strings.HasPrefix(path, "/ResourceTypes/"),
		path == "/ServiceProviderConfig":
		return "GET", true
	}
	return "", false
}

func (h *handler) schemaFor(path string) *resource.Schema {
	switch {
	case path == "/Users" || strings.HasPrefix(path, "/Users/"):
		return h.users
	case path == "/Groups" || strings.HasPrefix(path, "/Groups/"):
		return h.groups
	}
	return nil
}

// serviceProviderConfig describes what the bridge really supports. The library
// hard-codes etag=false; the bridge implements ETags and If-Match itself.
// /Bulk is not supported; its maxOperations and maxPayloadSize carry the
// limits every request has (operations per PATCH, body bytes), the only place
// SCIM has for them.
func (h *handler) serviceProviderConfig() map[string]any {
	return map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": h.spc.DocumentationURI.Value(),
		"patch":            map[string]bool{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": resource.MaxOperations, "maxPayloadSize": h.maxBody},
		"filter":           map[string]any{"supported": true, "maxResults": h.maxResults},
		"changePassword":   map[string]bool{"supported": false},
		"sort":             map[string]bool{"supported": false},
		"etag":             map[string]bool{"supported": true},
		"authenticationSchemes": []map[string]any{{
			"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
			"description": "A token configured in SCIM_BRIDGE_SCIM_TOKENS, sent as 'Authorization: Bearer <token>'.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig"},
	}
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
