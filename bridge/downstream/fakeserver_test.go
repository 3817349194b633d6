package downstream

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// The tests in this file use a hand-written fake server for answers the
// simulator never gives, so the client's tolerant paths are exercised too:
// refusals in other shapes (a plain 413, a 400 with a code, code-less or
// differently coded messages, TOO_MANY_MUTATIONS without a limit), a single
// operation refused as a document, a 429 whose reset outlasts X-Retry-After,
// 403 and other 4xx statuses, bodies that are not GraphQL answers, and field
// errors with a server's own codes and messages that name the user. Whatever
// the simulator can produce is tested against it (apply_test.go,
// simulator_test.go).

const fakeToken = "fake-token-DO-NOT-LEAK"

// gqlRequest is a decoded GraphQL-over-HTTP request.
type gqlRequest struct {
	Query         string                     `json:"query"`
	Variables     map[string]json.RawMessage `json:"variables"`
	OperationName string                     `json:"operationName"`
}

// aliasPattern finds the aliased mutation fields of an Apply document.
var aliasPattern = regexp.MustCompile(`m(\d+): (?:account|user) \{ (\w+)\(input: \$i(\d+)\)`)

// mutationFields returns the mutation field of each alias, in alias order.
func (r gqlRequest) mutationFields() []string {
	var fields []string
	for _, m := range aliasPattern.FindAllStringSubmatch(r.Query, -1) {
		fields = append(fields, m[2])
	}
	return fields
}

// email returns the email of input $iK, if any.
func (r gqlRequest) email(k int) string {
	var in struct {
		Email string `json:"email"`
		User  struct {
			Email string `json:"email"`
		} `json:"user"`
	}
	_ = json.Unmarshal(r.Variables["i"+strconv.Itoa(k)], &in)
	if in.Email != "" {
		return in.Email
	}
	return in.User.Email
}

// successData answers every mutation field of r with a plausible result.
func successData(r gqlRequest) map[string]any {
	data := map[string]any{}
	for k, f := range r.mutationFields() {
		var res any
		switch f {
		case "addUserToAccount":
			res = map[string]any{"account": map[string]any{"id": "bc/account/account/u"}}
		case "removeUserFromAccount":
			res = map[string]any{"userId": "bc/account/user/" + strconv.Itoa(100+k)}
		case "addUserToStore":
			res = map[string]any{"storeId": "bc/account/store/h"}
		case "removeUserFromStore":
			res = map[string]any{"storeId": "bc/account/store/h", "user": map[string]any{"id": "bc/account/user/" + strconv.Itoa(100+k)}}
		}
		data["m"+strconv.Itoa(k)] = map[string]any{f: res}
	}
	return data
}

// fakeServer serves handle for every authenticated POST and counts requests.
type fakeServer struct {
	srv    *httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	emails []string // emails of the mutation inputs, in arrival order of successful documents
}

func newFakeServer(t *testing.T, handle func(w http.ResponseWriter, r gqlRequest, hit int)) *fakeServer {
	t.Helper()
	fs := &fakeServer{}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hit := int(fs.hits.Add(1))
		if req.Header.Get("X-Auth-Token") != fakeToken || req.Header.Get("Accept") != "application/json" {
			http.Error(w, "bad headers", http.StatusUnauthorized)
			return
		}
		if req.URL.Path != "/accounts/acct-1/graphql" || req.Method != http.MethodPost {
			http.Error(w, "wrong path", http.StatusNotFound)
			return
		}
		var r gqlRequest
		if err := json.NewDecoder(req.Body).Decode(&r); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		handle(w, r, hit)
	}))
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fakeServer) record(r gqlRequest) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for k := range r.mutationFields() {
		fs.emails = append(fs.emails, r.email(k))
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Rate-Limit-Requests-Quota", "70")
	w.Header().Set("X-Rate-Limit-Requests-Left", "42")
	w.Header().Set("X-Rate-Limit-Time-Window-Ms", "3600000")
	w.Header().Set("X-Rate-Limit-Time-Reset-Ms", "600000")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func newFakeClient(t *testing.T, fs *fakeServer, gate Gate, logger *zap.Logger) *Client {
	t.Helper()
	c, err := New(Options{
		BaseURL:     fs.srv.URL,
		AccountUUID: "acct-1",
		Token:       fakeToken,
		HTTPClient:  &http.Client{Timeout: 5 * time.Second},
		Gate:        gate,
		Logger:      logger,
	})
	require.NoError(t, err)
	return c
}

func TestApplySplitsOnRefusalVariants(t *testing.T) {
	tests := []struct {
		name   string
		refuse func(w http.ResponseWriter)
		code   string
	}{
		{
			name:   "HTTP 413",
			refuse: func(w http.ResponseWriter) { http.Error(w, "entity too large", http.StatusRequestEntityTooLarge) },
		},
		{
			name: "HTTP 400 with complexity code",
			refuse: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []any{map[string]any{
					"message": "too complex", "extensions": map[string]any{"code": "COMPLEXITY_LIMIT_EXCEEDED"}}}})
			},
			code: "COMPLEXITY_LIMIT_EXCEEDED",
		},
		{
			name: "code-less complexity message, data null",
			refuse: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{
					"message": "Query has complexity of 12000, which exceeds max complexity of 10000"}}})
			},
		},
		{
			name: "code-less one-mutation message, no data key",
			refuse: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{
					"message": "Only one mutation per request is allowed", "extensions": map[string]any{"code": "BAD_REQUEST"}}}})
			},
			code: "BAD_REQUEST",
		},
		{
			name: "TOO_MANY_MUTATIONS",
			refuse: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{
					"message": "at most 1 mutation fields", "extensions": map[string]any{"code": "TOO_MANY_MUTATIONS"}}}})
			},
			code: "TOO_MANY_MUTATIONS",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fs *fakeServer
			fs = newFakeServer(t, func(w http.ResponseWriter, r gqlRequest, _ int) {
				if len(r.mutationFields()) > 1 {
					tt.refuse(w)
					return
				}
				fs.record(r)
				writeJSON(w, http.StatusOK, map[string]any{"data": successData(r)})
			})
			core, logs := observer.New(zap.DebugLevel)
			gate := &recordingGate{}
			c := newFakeClient(t, fs, gate, zap.New(core))
			ops := addOps(4)

			b, err := c.Apply(t.Context(), PriorityAccountAdd, ops)
			require.NoError(t, err)
			require.Equal(t, 2, b.Splits, "no stated limit: halve the rest until a size is accepted")
			require.Equal(t, []int{4, 2}, b.Refused)
			require.Equal(t, 6, b.Requests, "2 refused documents + 4 singles")
			require.EqualValues(t, 6, fs.hits.Load())
			acquired, _ := gate.counts()
			require.Equal(t, 6, acquired, "every request, smaller documents included, goes through the gate")
			for i, r := range b.Results {
				require.Equal(t, Applied, r.Outcome, "op %d", i)
				require.Equal(t, ops[i], r.Op)
			}
			want := make([]string, len(ops))
			for i, op := range ops {
				want[i] = op.Email
			}
			require.Equal(t, want, fs.emails, "order preserved across splits")

			splits := logs.FilterMessage("downstream refused batch, splitting").All()
			require.Len(t, splits, 2)
			require.Equal(t, zap.WarnLevel, splits[0].Level)
			require.EqualValues(t, 4, splits[0].ContextMap()["size"])
			require.Equal(t, tt.code, splits[0].ContextMap()["code"])
		})
	}
}

func TestApplyWholeRequestFailuresOnOddAnswers(t *testing.T) {
	// Answers the simulator never gives; its own failures are in
	// TestApplyWholeRequestFailures.
	tests := []struct {
		name   string
		handle func(w http.ResponseWriter)
		class  Class
		reason string
		status int
		retry  time.Duration
	}{
		{
			name: "429 with a reset longer than X-Retry-After",
			handle: func(w http.ResponseWriter) {
				w.Header().Set("X-Retry-After", "1")
				w.Header().Set("X-Rate-Limit-Time-Reset-Ms", "90000")
				w.Header().Set("X-Rate-Limit-Requests-Left", "0")
				w.WriteHeader(http.StatusTooManyRequests)
			},
			class: ClassRateLimited, reason: ReasonRateLimited, status: 429, retry: 90 * time.Second,
		},
		{
			name:   "403",
			handle: func(w http.ResponseWriter) { http.Error(w, "no", http.StatusForbidden) },
			class:  ClassPermanent, reason: ReasonForbidden, status: 403,
		},
		{
			name:   "other 4xx",
			handle: func(w http.ResponseWriter) { http.Error(w, "teapot", http.StatusTeapot) },
			class:  ClassPermanent, reason: ReasonHTTP4xx, status: 418,
		},
		{
			name: "garbage body",
			handle: func(w http.ResponseWriter) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte("<html>gateway says hi</html>"))
			},
			class: ClassTransient, reason: ReasonUnreadable, status: 200,
		},
		{
			name: "truncated body",
			handle: func(w http.ResponseWriter) {
				hj, ok := w.(http.Hijacker)
				if !ok {
					return
				}
				conn, buf, err := hj.Hijack()
				if err != nil {
					return
				}
				defer conn.Close()
				_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"data\":{\"m0\":")
				_ = buf.Flush()
			},
			class: ClassTransient, reason: ReasonUnreadable, status: 200,
		},
		{
			name: "empty 200",
			handle: func(w http.ResponseWriter) {
				writeJSON(w, http.StatusOK, map[string]any{})
			},
			class: ClassTransient, reason: ReasonUnreadable, status: 200,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFakeServer(t, func(w http.ResponseWriter, _ gqlRequest, _ int) { tt.handle(w) })
			c := newFakeClient(t, fs, &recordingGate{}, nil)
			requireWholeRequestFailure(t, c, fakeToken, wholeRequestFailure{class: tt.class, reason: tt.reason, status: tt.status, retry: tt.retry})
		})
	}
}

func TestApplyDocumentRefusalIsRetriedInTheDocumentedShape(t *testing.T) {
	// A server that refuses every document with a message that says nothing
	// about size or mutations (BigCommerce documents no error payloads): a
	// document of several operations is split down to one operation per
	// document; only an operation refused alone, in the documented shape,
	// fails, and it fails alone.
	var sizes []int
	fs := newFakeServer(t, func(w http.ResponseWriter, r gqlRequest, _ int) {
		n := len(r.mutationFields())
		sizes = append(sizes, n)
		if n > 1 || r.email(0) == "bad@example.com" {
			writeJSON(w, http.StatusOK, map[string]any{"errors": []any{map[string]any{"message": "This request is not supported."}}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": successData(r)})
	})
	c := newFakeClient(t, fs, nil, nil)
	ops := []Op{
		{Kind: OpAddToAccount, Email: "a@example.com"},
		{Kind: OpAddToAccount, Email: "bad@example.com"},
		{Kind: OpAddToAccount, Email: "c@example.com"},
		{Kind: OpAddToAccount, Email: "d@example.com"},
	}
	b, err := c.Apply(t.Context(), PriorityAccountAdd, ops)
	require.NoError(t, err, "a refused shape is not a failure of the request")
	require.Equal(t, []int{4, 2, 1, 1, 1, 1}, sizes)
	require.Equal(t, 6, b.Requests)
	require.Equal(t, []int{4, 2}, b.Refused)
	require.Equal(t, 1, b.Accepted)
	for i, r := range b.Results {
		if i == 1 {
			require.Equal(t, Failed, r.Outcome)
			require.Equal(t, ReasonInvalidDocument, r.Err.Reason)
			require.Equal(t, ClassPermanent, r.Err.Class)
			require.NotContains(t, r.Err.Error(), "not supported", "server text is never copied")
			continue
		}
		require.Equal(t, Applied, r.Outcome, "op %d", i)
	}
}

func TestApplyFieldErrorsTolerantReading(t *testing.T) {
	// A server with its own codes and messages that name the user: the client
	// classifies by keyword and never copies the text.
	fs := newFakeServer(t, func(w http.ResponseWriter, r gqlRequest, _ int) {
		data := successData(r)
		var errs []any
		fail := func(k int, msg string, ext map[string]any) {
			alias := "m" + strconv.Itoa(k)
			field := r.mutationFields()[k]
			data[alias] = map[string]any{field: nil}
			e := map[string]any{"message": msg, "path": []any{alias, field}}
			if ext != nil {
				e["extensions"] = ext
			}
			errs = append(errs, e)
		}
		fail(0, "User "+r.email(0)+" already exists in account", map[string]any{"code": "DUPLICATE_USER"})
		fail(1, "Store 'nope' does not exist", nil)
		fail(2, "Jane Doe <"+r.email(2)+"> is not a member of this account", map[string]any{"code": 42})
		// 3 succeeds.
		fail(4, "Kaboom for "+r.email(4), nil)
		// 5: neither data nor error.
		data["m5"] = map[string]any{r.mutationFields()[5]: nil}
		// An error whose path names no alias of the document is ignored.
		errs = append(errs, map[string]any{"message": "stray", "path": []any{"zz", "x"}})
		writeJSON(w, http.StatusOK, map[string]any{"data": data, "errors": errs})
	})
	core, logs := observer.New(zap.DebugLevel)
	c := newFakeClient(t, fs, nil, zap.New(core))
	ops := []Op{
		{Kind: OpAddToAccount, Email: "dup.user@example.com"},
		{Kind: OpAddToStore, Email: "store.user@example.com", StoreHash: "nope"},
		{Kind: OpAddToStore, Email: "jane.doe@example.com", StoreHash: "abc"},
		{Kind: OpRemoveFromAccount, Email: "leaver@example.com"},
		{Kind: OpAddToAccount, Email: "kaboom@example.com"},
		{Kind: OpRemoveFromStore, UserID: "bc/account/user/5", StoreHash: "abc"},
	}
	b, err := c.Apply(t.Context(), PriorityRepair, ops)
	require.NoError(t, err)
	require.Equal(t, 1, b.Requests)
	type got struct {
		outcome Outcome
		reason  string
	}
	want := []got{
		{AlreadyDone, ""},
		{Failed, ReasonStoreNotFound},
		{Failed, ReasonNotInAccount},
		{Applied, ""},
		{Failed, ReasonUnknown},
		{Failed, ReasonUnknown},
	}
	for i, r := range b.Results {
		g := got{outcome: r.Outcome}
		if r.Err != nil {
			g.reason = r.Err.Reason
			require.NotContains(t, r.Err.Error(), "@", "op %d", i)
			require.NotContains(t, r.Err.Error(), "Jane")
			require.NotContains(t, r.Err.Error(), "Kaboom")
		}
		require.Equal(t, want[i], g, "op %d", i)
	}
	require.Equal(t, "bc/account/user/103", b.Results[3].UserID, "learned from removeUserFromAccount.userId")
	require.Empty(t, b.Results[2].Err.Code, "a non-string code is dropped")
	requireNoSecretsInLogs(t, logs, ops, fakeToken)
}
