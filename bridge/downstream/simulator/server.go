package simulator

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// Defaults of Options.
const (
	// DefaultAccountUUID is the account UUID when neither Options nor the seed names one.
	DefaultAccountUUID = "00000000-0000-4000-8000-000000000001"
	// DefaultToken is the full-scope access token when Options.Token is empty.
	DefaultToken = "sim-token"
	// DefaultRateLimit is BigCommerce's documented account limit: 70 requests per hour.
	DefaultRateLimit = 70
	// DefaultRateWindow is the rate-limit window length.
	DefaultRateWindow = time.Hour
	// DefaultMaxComplexity is BigCommerce's documented complexity limit.
	DefaultMaxComplexity = 10000
	// DefaultMaxPageSize is the full profile's largest page (first/last are clamped to it).
	DefaultMaxPageSize = 100
	// DocumentedMaxPageSize is the documented profile's largest page (a
	// larger first is refused, not clamped).
	DocumentedMaxPageSize = 50
	// DefaultPageSize is the page size when neither first nor last is given
	// (lowered to the max page size when that is smaller).
	DefaultPageSize = 10
	// MaxBodyBytes is the largest request body accepted; larger bodies get 413.
	MaxBodyBytes = 1 << 20
)

// Scope names: the parameters of BigCommerce's "Account resource scopes"
// table (Guide to API accounts).
const (
	ScopeAccountRead = "account_read"
	ScopeStoresRead  = "account_stores_read"
	ScopeAppsRead    = "account_apps_read"
	ScopeUsersRead   = "account_users_read"
	ScopeUsersWrite  = "account_users_write"
	ScopeUsersDelete = "account_users_delete"
)

// AllScopes returns every scope name; a token with all of them has full scope.
func AllScopes() []string {
	return []string{ScopeAccountRead, ScopeStoresRead, ScopeAppsRead, ScopeUsersRead, ScopeUsersWrite, ScopeUsersDelete}
}

// LegacyScopeAccountRead is the name the simulator used for ScopeAccountRead
// before it followed BigCommerce's documented parameter names. Options.Tokens
// still accepts it as ScopeAccountRead so that existing configurations keep
// working; errors always name ScopeAccountRead.
//
// Deprecated: use ScopeAccountRead.
const LegacyScopeAccountRead = "store_v2_account_read"

// Profiles of Options.Profile.
const (
	// ProfileFull (the default) is the generous reconstruction: everything the
	// documented profile serves plus backward paging, pages up to 100 items
	// that are clamped rather than refused, node on stores, the full user
	// field list everywhere, error codes in extensions and some invented
	// conveniences.
	ProfileFull = "full"
	// ProfileDocumented serves only what BigCommerce documents and, where its
	// documentation is silent, the pessimistic choice (see the package doc,
	// "Profiles").
	ProfileDocumented = "documented"
)

// Profiles returns the valid values of Options.Profile, the default first.
func Profiles() []string { return []string{ProfileFull, ProfileDocumented} }

// Values of extensions.code in error responses.
const (
	CodeUnauthenticated         = "UNAUTHENTICATED"
	CodeNotFound                = "NOT_FOUND"
	CodeMethodNotAllowed        = "METHOD_NOT_ALLOWED"
	CodePayloadTooLarge         = "PAYLOAD_TOO_LARGE"
	CodeBadRequest              = "BAD_REQUEST"
	CodeRateLimited             = "RATE_LIMITED"
	CodeInternal                = "INTERNAL_SERVER_ERROR"
	CodeParseFailed             = "GRAPHQL_PARSE_FAILED"
	CodeValidationFailed        = "GRAPHQL_VALIDATION_FAILED"
	CodeComplexityLimitExceeded = "COMPLEXITY_LIMIT_EXCEEDED"
	CodeTooManyMutations        = "TOO_MANY_MUTATIONS"
	CodeInvalidInput            = "INVALID_INPUT"
	CodeForbidden               = "FORBIDDEN"
	CodeUserAlreadyExists       = "USER_ALREADY_EXISTS"
	CodeUserNotFound            = "USER_NOT_FOUND"
	CodeCannotRemoveOwner       = "CANNOT_REMOVE_OWNER"
	CodeStoreNotFound           = "STORE_NOT_FOUND"
	CodeUserAlreadyInStore      = "USER_ALREADY_IN_STORE"
	CodeUserNotInStore          = "USER_NOT_IN_STORE"
)

// StatsPath is the test endpoint that serves Stats as JSON (GET, no auth).
const StatsPath = "/_simulator/stats"

//go:embed schema.graphql
var schemaSDL string

//go:embed schema_documented.graphql
var documentedSchemaSDL string

// SDL returns the full profile's GraphQL schema, the one the simulator
// validates every request against by default.
func SDL() string { return schemaSDL }

// SDLFor returns the GraphQL schema of profile ("" means ProfileFull), or an
// error for an unknown profile.
func SDLFor(profile string) (string, error) {
	switch profile {
	case "", ProfileFull:
		return schemaSDL, nil
	case ProfileDocumented:
		return documentedSchemaSDL, nil
	}
	return "", unknownProfile(profile)
}

func unknownProfile(p string) error {
	return fmt.Errorf("simulator: unknown profile %q (known: %s)", p, strings.Join(Profiles(), ", "))
}

// Options configures a Server. The zero value means every default.
type Options struct {
	// AccountUUID is the {uuid} of the URL path. Empty means the seed's
	// account.uuid, else DefaultAccountUUID.
	AccountUUID string
	// Token is an access token with every scope; empty means DefaultToken.
	Token string
	// Tokens adds tokens with the listed scopes (names from AllScopes). An
	// entry for Token replaces Token's full scope.
	Tokens map[string][]string
	// RateLimit is N, the counted requests allowed per window; <= 0 means DefaultRateLimit.
	RateLimit int
	// RateWindow is W, the window length; <= 0 means DefaultRateWindow.
	RateWindow time.Duration
	// MaxComplexity refuses documents scoring more; <= 0 means DefaultMaxComplexity.
	MaxComplexity int
	// MaxMutations refuses documents with more mutation fields; <= 0 means no
	// limit beyond complexity.
	MaxMutations int
	// MaxPageSize is the largest page: the full profile clamps a larger
	// first/last to it, the documented profile refuses a larger first. <= 0
	// means DefaultMaxPageSize (full) or DocumentedMaxPageSize (documented).
	MaxPageSize int
	// Profile is ProfileFull ("" means it) or ProfileDocumented; any other
	// value makes New fail.
	Profile string
	// HoldResponse makes the server wait this long (real time) after
	// executing a GraphQL request and before writing its response, as
	// SetHoldResponse does; <= 0 means no hold.
	HoldResponse time.Duration
	// Seed is the initial state; nil means DefaultSeed(). The server keeps a copy.
	Seed *Seed
	// Now is the clock for every time decision (rate windows, updatedAt, event
	// times, system.time); nil means time.Now. It is called from concurrent
	// requests, so it must be safe for concurrent use.
	Now func() time.Time
}

// Server is the simulated BigCommerce Account-level GraphQL API, an
// http.Handler. Create it with New; the zero value is also usable and behaves
// like New(Options{}). All methods are safe for concurrent use, also while
// the server is serving.
type Server struct {
	once    sync.Once
	initErr error

	uuid          string
	tokens        map[string]map[string]bool
	profile       string
	documented    bool
	schema        *ast.Schema
	now           func() time.Time
	maxComplexity int
	maxPageSize   int

	mu             sync.Mutex // guards everything below
	st             *state
	rl             rateWindow
	latency        time.Duration
	hold           time.Duration
	failRate       float64
	failRateStatus int
	failNext       int
	failNextStatus int
	dropNext       int
	overloadNext   int
	maxMutations   int
	stats          Stats
	log            []Event
}

// New returns a server for opts. It fails only for an invalid configuration:
// an unknown profile, an invalid seed, an account UUID that is not one URL
// path segment, or an unknown scope name in Tokens.
func New(opts Options) (*Server, error) {
	s := &Server{}
	s.once.Do(func() { s.initErr = s.setup(opts) })
	if s.initErr != nil {
		return nil, s.initErr
	}
	return s, nil
}

// init makes the zero value usable.
func (s *Server) init() error {
	s.once.Do(func() { s.initErr = s.setup(Options{}) })
	return s.initErr
}

func (s *Server) setup(opts Options) error {
	sdl, err := SDLFor(opts.Profile)
	if err != nil {
		return err
	}
	s.profile = opts.Profile
	if s.profile == "" {
		s.profile = ProfileFull
	}
	s.documented = s.profile == ProfileDocumented

	seed := opts.Seed
	if seed == nil {
		seed = DefaultSeed()
	}
	if err := seed.Validate(); err != nil {
		return err
	}
	seed = seed.clone()
	s.uuid = cmp.Or(opts.AccountUUID, seed.Account.UUID, DefaultAccountUUID)
	if !validAccountUUID(s.uuid) {
		return errors.New("simulator: account UUID must be one URL path segment (letters, digits, \"-\" and \"_\")")
	}

	if s.tokens, err = tokenScopes(opts.Token, opts.Tokens); err != nil {
		return err
	}

	if s.schema, err = loadSchema(sdl, s.documented); err != nil {
		return err
	}

	s.now = opts.Now
	if s.now == nil {
		s.now = time.Now
	}
	s.maxComplexity = opts.MaxComplexity
	if s.maxComplexity <= 0 {
		s.maxComplexity = DefaultMaxComplexity
	}
	s.maxPageSize = opts.MaxPageSize
	if s.maxPageSize <= 0 {
		s.maxPageSize = DefaultMaxPageSize
		if s.documented {
			s.maxPageSize = DocumentedMaxPageSize
		}
	}
	s.hold = max(0, opts.HoldResponse)
	s.maxMutations = max(0, opts.MaxMutations)
	s.rl.set(opts.RateLimit, opts.RateWindow)
	s.stats = newStats()
	s.st = newState(seed, s.uuid, s.now())
	return nil
}

// tokenScopes is the token table: token (DefaultToken when empty) with every
// scope, and each of tokens with its scopes, the legacy read scope read as
// the current one.
func tokenScopes(token string, tokens map[string][]string) (map[string]map[string]bool, error) {
	known := map[string]bool{}
	for _, sc := range AllScopes() {
		known[sc] = true
	}
	table := map[string]map[string]bool{cmp.Or(token, DefaultToken): maps.Clone(known)}
	for tok, scopes := range tokens {
		if tok == "" {
			return nil, errors.New("simulator: Tokens has an empty token")
		}
		set := map[string]bool{}
		for _, sc := range scopes {
			if sc == LegacyScopeAccountRead {
				sc = ScopeAccountRead
			}
			if !known[sc] {
				return nil, fmt.Errorf("simulator: unknown scope %q (known: %s)", sc, strings.Join(AllScopes(), ", "))
			}
			set[sc] = true
		}
		table[tok] = set
	}
	return table, nil
}

// loadSchema parses the profile's embedded schema sdl, named after its file.
func loadSchema(sdl string, documented bool) (*ast.Schema, error) {
	name := "schema.graphql"
	if documented {
		name = "schema_documented.graphql"
	}
	schema, err := gqlparser.LoadSchema(&ast.Source{Name: name, Input: sdl})
	if err != nil {
		return nil, fmt.Errorf("simulator: load embedded schema %s: %w", name, err)
	}
	return schema, nil
}

// URL returns the GraphQL endpoint under base, base + "/accounts/{uuid}/graphql".
func (s *Server) URL(base string) string {
	_ = s.init()
	return strings.TrimSuffix(base, "/") + "/accounts/" + s.uuid + "/graphql"
}

// AccountUUID returns the simulated account's UUID.
func (s *Server) AccountUUID() string {
	_ = s.init()
	return s.uuid
}

// MaxComplexity returns the complexity limit in force.
func (s *Server) MaxComplexity() int {
	_ = s.init()
	return s.maxComplexity
}

// MaxPageSize returns the largest page a connection returns.
func (s *Server) MaxPageSize() int {
	_ = s.init()
	return s.maxPageSize
}

// Profile returns the profile in force, ProfileFull or ProfileDocumented.
func (s *Server) Profile() string {
	_ = s.init()
	return s.profile
}

// SetHoldResponse makes every later GraphQL request wait d (real time, outside
// the state lock) after it was executed — state changed, counted and logged —
// and before its response is written: a response lost after BigCommerce
// applied the request. A client that goes away during the hold gets no
// response, and the change stays applied. 0 turns it off. StatsPath is never
// held.
func (s *Server) SetHoldResponse(d time.Duration) {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = max(0, d)
}

// SetLatency delays every later request to the GraphQL endpoint by d (real
// time, outside the state lock); 0 turns it off.
func (s *Server) SetLatency(d time.Duration) {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(0, d)
}

// SetFailRate answers a random share p (0..1, clamped) of the counted requests
// with HTTP status (a 5xx; anything else means 500) and executes nothing. p 0
// turns it off. In the documented profile these responses carry no
// X-Rate-Limit-* headers.
func (s *Server) SetFailRate(p float64, status int) {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRate = min(1, max(0, p))
	s.failRateStatus = serverErrorStatus(status)
}

// FailNext answers the next n counted requests with HTTP status (a 5xx;
// anything else means 500) and executes nothing. n <= 0 cancels. In the
// documented profile these responses carry no X-Rate-Limit-* headers.
func (s *Server) FailNext(n int, status int) {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = max(0, n)
	s.failNextStatus = serverErrorStatus(status)
}

// DropNext makes the next n counted requests close their connection without
// any response (they still count against the rate limit, nothing executes).
// n <= 0 cancels.
func (s *Server) DropNext(n int) {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropNext = max(0, n)
}

// OverloadNext answers the next n counted requests with 429 Too Many Requests
// without any X-Rate-Limit-* or X-Retry-After header (BigCommerce: a 429
// without the headers means the platform is under high load) and executes
// nothing. The requests count against the rate limit and in
// Stats.RateLimited. n <= 0 cancels.
func (s *Server) OverloadNext(n int) {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overloadNext = max(0, n)
}

// SetMaxMutations refuses later documents with more than n mutation fields;
// n <= 0 removes the limit.
func (s *Server) SetMaxMutations(n int) {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxMutations = max(0, n)
}

// SetRateLimit changes N and W (<= 0 means the default) and closes the
// current window, so the next counted request opens a fresh one.
func (s *Server) SetRateLimit(n int, window time.Duration) {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rl.set(n, window)
}

// StoresByEmail returns each user's email with the hashes of the stores the
// user can reach (sorted), from a snapshot of the account.
func (s *Server) StoresByEmail() map[string][]string {
	out := map[string][]string{}
	for _, u := range s.Snapshot().Users {
		stores := []string{}
		for h := range u.Stores {
			stores = append(stores, h)
		}
		slices.Sort(stores)
		out[u.Email] = stores
	}
	return out
}

// Snapshot returns a deep copy of the simulated account.
func (s *Server) Snapshot() State {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.snapshot()
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

// Log returns every mutation field that ran, applied or failed, in order.
func (s *Server) Log() []Event {
	_ = s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

func serverErrorStatus(status int) int {
	if status < 500 || status > 599 {
		return http.StatusInternalServerError
	}
	return status
}

// Event is one mutation field that ran, as returned by Log.
type Event struct {
	// At is the simulated time (Options.Now) of the request.
	At time.Time `json:"at"`
	// Request is the sequence number of the counted request (1, 2, …) that
	// carried the field; Stats.Counted is the latest.
	Request int `json:"request"`
	// Field is addUserToAccount, removeUserFromAccount, addUserToStore or removeUserFromStore.
	Field string `json:"field"`
	// Email is the user's email (as stored, or as given when no user matched).
	Email string `json:"email,omitempty"`
	// StoreHash is the store involved, if any.
	StoreHash string `json:"storeHash,omitempty"`
	// UserID is the user's global id, when known.
	UserID string `json:"userId,omitempty"`
	// Code is "" when the mutation was applied, else the error code (also
	// in the documented profile, whose responses carry no codes).
	Code string `json:"code,omitempty"`
	// AddedToAccount reports whether addUserToStore, given an email that was
	// not in the account, also added the user to the account.
	AddedToAccount bool `json:"addedToAccount,omitempty"`
	// UserAgent is the User-Agent header of the request that carried the field.
	UserAgent string `json:"userAgent,omitempty"`
}

// Stats are the server's counters, served as JSON at StatsPath.
type Stats struct {
	// Requests counts every request to the GraphQL endpoint, whatever happened
	// to it (401, 404, 429 and dropped ones included).
	Requests int `json:"requests"`
	// Counted counts the requests counted against the rate limit.
	Counted int `json:"counted"`
	// ByStatus counts GraphQL-endpoint responses by HTTP status (dropped
	// requests have none).
	ByStatus map[int]int `json:"byStatus"`
	// Operations counts executed root query fields (account, node, nodes,
	// system, __schema, __type) and mutation fields (addUserToAccount, …) by
	// field name, applied or failed.
	Operations map[string]int `json:"operations"`
	// RateLimited counts 429 responses (OverloadNext's included).
	RateLimited int `json:"rateLimited"`
	// FieldErrors counts field errors returned (errors of fields that ran;
	// the documented profile sends a mutation's without a path).
	FieldErrors int `json:"fieldErrors"`
	// Refused counts documents refused as a whole: parse, validation, operation
	// selection, variables, complexity and too many mutations.
	Refused int `json:"refused"`
	// Dropped counts connections closed without a response (DropNext).
	Dropped int `json:"dropped"`
	// MaxMutationsPerRequest is the largest number of mutation fields in one
	// executed document.
	MaxMutationsPerRequest int `json:"maxMutationsPerRequest"`
	// UserAgents counts requests to the GraphQL endpoint by their User-Agent
	// header ("" when absent). BigCommerce asks every integration to send one.
	UserAgents map[string]int `json:"userAgents"`
}

func newStats() Stats {
	return Stats{ByStatus: map[int]int{}, Operations: map[string]int{}, UserAgents: map[string]int{}}
}

func (st Stats) clone() Stats {
	st.ByStatus = maps.Clone(st.ByStatus)
	st.Operations = maps.Clone(st.Operations)
	st.UserAgents = maps.Clone(st.UserAgents)
	return st
}

// rateWindow is the fixed-window counter of one account.
type rateWindow struct {
	limit  int
	window time.Duration
	open   bool
	start  time.Time
	used   int
	// refused counts the 429s answered in the open window.
	refused int
}

func (rw *rateWindow) set(n int, w time.Duration) {
	if n <= 0 {
		n = DefaultRateLimit
	}
	if w <= 0 {
		w = DefaultRateWindow
	}
	*rw = rateWindow{limit: n, window: w}
}

// roll closes the window once it has ended.
func (rw *rateWindow) roll(now time.Time) {
	if rw.open && !now.Before(rw.start.Add(rw.window)) {
		rw.open = false
		rw.used = 0
		rw.refused = 0
	}
}

// remaining is the time until the open window ends, within [0, W].
func (rw *rateWindow) remaining(now time.Time) time.Duration {
	return min(rw.window, max(0, rw.start.Add(rw.window).Sub(now)))
}

// take counts one request. When the window is full it returns false and the
// time until the window ends.
func (rw *rateWindow) take(now time.Time) (bool, time.Duration) {
	rw.roll(now)
	if !rw.open {
		rw.open, rw.start, rw.used, rw.refused = true, now, 0, 0
	}
	if rw.used >= rw.limit {
		rw.refused++
		return false, rw.remaining(now)
	}
	rw.used++
	return true, 0
}

// rateHeaders are the X-Rate-Limit-* values of one response.
type rateHeaders struct {
	windowMs, resetMs, quota, left int64
	retryAfter                     int64 // seconds; 0 = no X-Retry-After
}

func (rw *rateWindow) headers(now time.Time) rateHeaders {
	rw.roll(now)
	h := rateHeaders{windowMs: rw.window.Milliseconds(), quota: int64(rw.limit), left: int64(rw.limit)}
	h.resetMs = h.windowMs
	if rw.open {
		h.resetMs = ceilDiv(rw.remaining(now), time.Millisecond)
		h.left = int64(rw.limit - rw.used)
	}
	return h
}

func ceilDiv(d, unit time.Duration) int64 { return int64((d + unit - 1) / unit) }

func (h rateHeaders) write(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("X-Rate-Limit-Time-Window-Ms", fmt.Sprint(h.windowMs))
	hd.Set("X-Rate-Limit-Time-Reset-Ms", fmt.Sprint(h.resetMs))
	hd.Set("X-Rate-Limit-Requests-Quota", fmt.Sprint(h.quota))
	hd.Set("X-Rate-Limit-Requests-Left", fmt.Sprint(h.left))
	if h.retryAfter > 0 {
		hd.Set("X-Retry-After", fmt.Sprint(h.retryAfter))
	}
}

// randomFloat is the source of SetFailRate's coin; math/rand/v2's top-level
// functions are safe for concurrent use.
func randomFloat() float64 { return rand.Float64() } //nolint:gosec // fault injection, not security
