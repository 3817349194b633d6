package simulator

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// ServeHTTP serves POST /accounts/{uuid}/graphql and GET /_simulator/stats;
// every other path gets 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := s.init(); err != nil {
		writeJSON(w, http.StatusInternalServerError, errorBody("simulator misconfigured", CodeInternal))
		return
	}
	if r.URL.Path == StatsPath {
		s.serveStats(w, r)
		return
	}
	uuid, ok := graphQLPathUUID(r.URL.Path)
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody("not found", CodeNotFound))
		return
	}
	s.serveGraphQL(w, r, uuid)
}

// graphQLPathUUID extracts {uuid} from /accounts/{uuid}/graphql.
func graphQLPathUUID(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/accounts/")
	if !ok {
		return "", false
	}
	uuid, ok := strings.CutSuffix(rest, "/graphql")
	if !ok || uuid == "" || strings.Contains(uuid, "/") {
		return "", false
	}
	return uuid, true
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeJSON(w, http.StatusMethodNotAllowed, errorBody("use GET", CodeMethodNotAllowed))
		return
	}
	b, err := json.Marshal(s.Stats())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, errorBody("internal error", CodeInternal))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// lookupToken returns the token's scopes. Every known token is compared in
// constant time.
func (s *Server) lookupToken(tok string) (map[string]bool, bool) {
	var found map[string]bool
	for known, scopes := range s.tokens {
		if subtle.ConstantTimeCompare([]byte(known), []byte(tok)) == 1 {
			found = scopes
		}
	}
	return found, found != nil && tok != ""
}

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request, uuid string) {
	if !s.delay(r) {
		return
	}
	scopes, ok := s.lookupToken(r.Header.Get("X-Auth-Token"))
	if !ok {
		s.finish(w, r, http.StatusUnauthorized, s.errorBody("invalid or missing X-Auth-Token", CodeUnauthenticated))
		return
	}
	now := s.now()
	if !strings.EqualFold(uuid, s.uuid) {
		s.mu.Lock()
		h := s.rl.headers(now)
		s.mu.Unlock()
		h.write(w)
		s.finish(w, r, http.StatusNotFound, s.errorBody("account not found", CodeNotFound))
		return
	}
	a := s.admit(now)
	if s.refuseAdmission(w, r, a) {
		return
	}
	a.h.write(w)
	req, ok := s.readRequest(w, r)
	if !ok {
		return
	}
	status, out := s.execute(req, scopes, now, a.seq, a.maxMutations, w.Header())
	s.finish(w, r, status, out)
}

// delay counts the request and holds it for the configured latency. It
// returns false when the client went away meanwhile.
func (s *Server) delay(r *http.Request) bool {
	s.mu.Lock()
	s.stats.Requests++
	s.stats.UserAgents[r.UserAgent()]++
	latency := s.latency
	s.mu.Unlock()
	if latency <= 0 {
		return true
	}
	t := time.NewTimer(latency)
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		t.Stop()
		return false
	}
}

// admission is what the rate limit and the injected failures decided for
// one request.
type admission struct {
	h rateHeaders
	// limited: over the rate limit; withHeaders: its 429 carries the
	// rate-limit headers.
	limited, withHeaders bool
	// drop, overload and failStatus are injected failures: a dropped
	// connection, a high-load 429, or this 5xx status.
	drop, overload bool
	failStatus     int
	// seq numbers the counted request; maxMutations is the limit it runs
	// under.
	seq, maxMutations int
}

// admit takes the request from the rate limit and, when it is counted,
// decides whether an injected failure answers it.
func (s *Server) admit(now time.Time) admission {
	s.mu.Lock()
	defer s.mu.Unlock()
	allowed, wait := s.rl.take(now)
	a := admission{h: s.rl.headers(now)}
	if !allowed {
		a.h.retryAfter = max(1, ceilDiv(wait, time.Second))
		s.stats.RateLimited++
		// The documented profile answers only the first 429 of a window with
		// the headers; later ones look like BigCommerce's high-load 429.
		a.limited, a.withHeaders = true, !s.documented || s.rl.refused <= 1
		return a
	}
	s.stats.Counted++
	a.seq = s.stats.Counted
	switch {
	case s.dropNext > 0:
		s.dropNext--
		s.stats.Dropped++
		a.drop = true
	case s.failNext > 0:
		s.failNext--
		a.failStatus = s.failNextStatus
	case s.overloadNext > 0:
		s.overloadNext--
		s.stats.RateLimited++
		a.overload = true
	case s.failRate > 0 && randomFloat() < s.failRate:
		a.failStatus = s.failRateStatus
	}
	a.maxMutations = s.maxMutations
	return a
}

// refuseAdmission answers a request the rate limit or an injected failure
// refused, and reports whether it did.
func (s *Server) refuseAdmission(w http.ResponseWriter, r *http.Request, a admission) bool {
	switch {
	case a.limited:
		if a.withHeaders {
			a.h.write(w)
		}
		s.finish(w, r, http.StatusTooManyRequests, s.errorBody("rate limit exceeded", CodeRateLimited))
	case a.drop:
		dropConnection(w)
	case a.overload:
		s.finish(w, r, http.StatusTooManyRequests, s.errorBody("too many requests", CodeRateLimited))
	case a.failStatus != 0:
		if !s.documented {
			a.h.write(w)
		}
		s.finish(w, r, a.failStatus, s.errorBody("internal error", CodeInternal))
	default:
		return false
	}
	return true
}

// readRequest reads and decodes a POSTed GraphQL request of at most
// MaxBodyBytes. It answers a bad one and returns false.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request) (gqlRequest, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.finish(w, r, http.StatusMethodNotAllowed, s.errorBody("use POST", CodeMethodNotAllowed))
		return gqlRequest{}, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.finish(w, r, http.StatusRequestEntityTooLarge, s.errorBody("request body larger than 1 MiB", CodePayloadTooLarge))
			return gqlRequest{}, false
		}
		s.finish(w, r, http.StatusBadRequest, s.errorBody("cannot read the request body", CodeBadRequest))
		return gqlRequest{}, false
	}
	req, msg := decodeRequest(body)
	if msg != "" {
		s.finish(w, r, http.StatusBadRequest, s.errorBody(msg, CodeBadRequest))
		return gqlRequest{}, false
	}
	req.userAgent = r.UserAgent()
	return req, true
}

// finish counts the status of a GraphQL-endpoint response, holds it for the
// current SetHoldResponse duration (the request has already been executed)
// and writes it. A client that goes away during the hold gets nothing.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	s.mu.Lock()
	s.stats.ByStatus[status]++
	hold := s.hold
	s.mu.Unlock()
	if hold > 0 {
		t := time.NewTimer(hold)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	writeJSON(w, status, body)
}

// errorBody is errorBody for this server's profile: the documented profile
// sends the message only, without extensions.
func (s *Server) errorBody(msg, code string) []byte {
	if s.documented {
		return errorsBody(gqlerror.List{{Message: msg}})
	}
	return errorBody(msg, code)
}

// dropConnection closes the client connection without writing anything. When
// the connection cannot be hijacked (HTTP/2, or a ResponseWriter without
// Hijack) it aborts the handler with http.ErrAbortHandler, which net/http
// turns into a reset without a response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// errorBody is {"errors":[{"message":msg,"extensions":{"code":code}}]}.
func errorBody(msg, code string) []byte {
	return errorsBody(gqlerror.List{{Message: msg, Extensions: map[string]any{"code": code}}})
}

func errorsBody(errs gqlerror.List) []byte {
	b, err := json.Marshal(map[string]any{"errors": errs})
	if err != nil {
		return []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	return b
}

// gqlRequest is the POST body, plus the request's User-Agent.
type gqlRequest struct {
	query         string
	variables     map[string]any
	operationName string
	userAgent     string
}

// decodeRequest parses the POST body; a non-empty message means 400.
func decodeRequest(body []byte) (gqlRequest, string) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || raw == nil {
		return gqlRequest{}, `the body must be a JSON object {"query":…,"variables":…,"operationName":…}`
	}
	var req gqlRequest
	if q, ok := raw["query"]; !ok || json.Unmarshal(q, &req.query) != nil {
		return gqlRequest{}, `"query" must be a string holding a GraphQL document`
	}
	if v, ok := raw["variables"]; ok && !isJSONNull(v) {
		if json.Unmarshal(v, &req.variables) != nil || req.variables == nil {
			return gqlRequest{}, `"variables" must be a JSON object or null`
		}
	}
	if n, ok := raw["operationName"]; ok && !isJSONNull(n) {
		if json.Unmarshal(n, &req.operationName) != nil {
			return gqlRequest{}, `"operationName" must be a string or null`
		}
	}
	return req, ""
}

func isJSONNull(b json.RawMessage) bool { return string(bytes.TrimSpace(b)) == "null" }

// execute runs one GraphQL request and returns the HTTP status (200 unless
// the simulator itself failed) and the response body.
func (s *Server) execute(req gqlRequest, scopes map[string]bool, now time.Time, seq, maxMutations int, hdr http.Header) (int, []byte) {
	doc, err := parser.ParseQuery(&ast.Source{Input: req.query})
	if err != nil {
		var ge *gqlerror.Error
		if !errors.As(err, &ge) {
			ge = gqlerror.Wrap(err)
		}
		return http.StatusOK, s.refuse(CodeParseFailed, gqlerror.List{ge})
	}
	if len(doc.Operations) == 0 {
		return http.StatusOK, s.refuse(CodeParseFailed, gqlerror.List{gqlerror.Errorf("the document contains no operation")})
	}
	if errs := validator.ValidateWithRules(s.schema, doc, nil); len(errs) > 0 {
		return http.StatusOK, s.refuse(CodeValidationFailed, errs)
	}
	var op *ast.OperationDefinition
	switch {
	case req.operationName != "":
		for _, o := range doc.Operations {
			if o.Name == req.operationName {
				op = o
			}
		}
		if op == nil {
			return http.StatusOK, s.refuse(CodeValidationFailed, gqlerror.List{gqlerror.Errorf("unknown operation named %q", req.operationName)})
		}
	case len(doc.Operations) > 1:
		return http.StatusOK, s.refuse(CodeValidationFailed, gqlerror.List{gqlerror.Errorf("the document has several operations; give operationName")})
	default:
		op = doc.Operations[0]
	}
	hdr.Set("X-Bc-Graphql-Operation-Type", string(op.Operation))
	hdr.Set("X-Bc-Graphql-Operation-Name", op.Name)

	vars, err := coerceVariables(s.schema, op, req.variables)
	if err != nil {
		return http.StatusOK, s.refuse(CodeValidationFailed, gqlerror.List{gqlerror.Errorf("%s", err.Error())})
	}
	maxPage := s.maxPageSize
	ex := &execution{
		schema: s.schema, doc: doc, op: op, vars: vars, scopes: scopes, now: now, request: seq,
		maxPage: maxPage, defPage: min(DefaultPageSize, maxPage), opCounts: map[string]int{},
		documented: s.documented, userAgent: req.userAgent,
	}
	c := newCoster(ex)
	score := c.selectionCost(op.SelectionSet)
	hdr.Set("X-Bc-Graphql-Complexity", strconv.Itoa(score))
	mutations := 0
	if op.Operation == ast.Mutation {
		mutations = c.mutationCount(op.SelectionSet, false)
	}
	if s.documented && mutations > 1 {
		// Deliberately opaque: the message names neither mutations nor a
		// limit, so a client cannot learn from it that one would pass.
		return http.StatusOK, s.refuse("", gqlerror.List{gqlerror.Errorf("This request is not supported.")})
	}
	if score > s.maxComplexity {
		e := gqlerror.Errorf("the document's complexity %d exceeds the limit of %d", score, s.maxComplexity)
		e.Extensions = map[string]any{"complexity": score, "limit": s.maxComplexity}
		return http.StatusOK, s.refuse(CodeComplexityLimitExceeded, gqlerror.List{e})
	}
	if maxMutations > 0 && mutations > maxMutations {
		e := gqlerror.Errorf("the document has %d mutation fields; at most %d mutation fields are allowed per request", mutations, maxMutations)
		e.Extensions = map[string]any{"mutations": mutations, "limit": maxMutations}
		return http.StatusOK, s.refuse(CodeTooManyMutations, gqlerror.List{e})
	}

	data, bug := s.run(ex, mutations)
	if bug != nil {
		return http.StatusInternalServerError, s.errorBody(fmt.Sprintf("simulator bug: %v", bug), CodeInternal)
	}
	return http.StatusOK, responseBody(data, ex.errs)
}

// run executes ex under the state lock and records its statistics and
// events. A panic (a simulator bug) is returned instead of leaving the lock
// held; the events recorded before it are kept.
func (s *Server) run(ex *execution, mutations int) (data any, bug any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if bug = recover(); bug != nil {
			data = nil
		}
		for k, v := range ex.opCounts {
			s.stats.Operations[k] += v
		}
		s.stats.FieldErrors += len(ex.errs)
		s.stats.MaxMutationsPerRequest = max(s.stats.MaxMutationsPerRequest, mutations)
		s.log = append(s.log, ex.events...)
	}()
	ex.st = s.st
	return ex.run(), nil
}

// refuse counts a document-level failure and returns its body: errors
// without path, each with extensions.code, and no data. The documented
// profile sends each error's message only (no locations, no extensions).
func (s *Server) refuse(code string, errs gqlerror.List) []byte {
	for _, e := range errs {
		if s.documented {
			*e = gqlerror.Error{Message: e.Message}
			continue
		}
		if e.Extensions == nil {
			e.Extensions = map[string]any{}
		}
		e.Extensions["code"] = code
	}
	s.mu.Lock()
	s.stats.Refused++
	s.mu.Unlock()
	return errorsBody(errs)
}

// responseBody is {"errors":[…],"data":…}, errors first when present as the
// GraphQL spec suggests; data is null when an error propagated to the root.
func responseBody(data any, errs gqlerror.List) []byte {
	var buf bytes.Buffer
	buf.WriteByte('{')
	if len(errs) > 0 {
		b, err := json.Marshal(errs)
		if err != nil {
			return errorBody("internal error", CodeInternal)
		}
		buf.WriteString(`"errors":`)
		buf.Write(b)
		buf.WriteByte(',')
	}
	buf.WriteString(`"data":`)
	if data == nil {
		buf.WriteString("null")
	} else {
		b, err := json.Marshal(data)
		if err != nil {
			return errorBody(fmt.Sprintf("internal error: %v", err), CodeInternal)
		}
		buf.Write(b)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}
