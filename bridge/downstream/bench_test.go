package downstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
)

// BenchmarkApply50 sends 50 operations per Apply to the simulator, end to end
// (HTTP, parsing, validation and execution on the server side included in the
// allocations), alternating a batch of adds with a batch of removals so that
// every iteration really changes state. It reports operations per request.
func BenchmarkApply50(b *testing.B) {
	sim, base := startSimulator(b, simulator.Options{RateLimit: 1 << 30})
	c := simClient(b, sim, base, func(o *Options) { o.Logger = nopLogger() })
	adds := make([]Op, 50)
	removes := make([]Op, 50)
	for i := range adds {
		email := fmt.Sprintf("bench%02d@example.com", i)
		adds[i] = Op{Kind: OpAddToAccount, Email: email}
		removes[i] = Op{Kind: OpRemoveFromAccount, Email: email}
	}
	var ops, requests int
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		batch := adds
		if i%2 == 1 {
			batch = removes
		}
		res, err := c.Apply(b.Context(), PriorityAccountAdd, batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res.Results {
			if r.Outcome != Applied {
				b.Fatalf("op %v: %v", r.Op.Kind, r.Outcome)
			}
		}
		ops += len(batch)
		requests += res.Requests
	}
	b.ReportMetric(float64(ops)/float64(requests), "ops/request")
	b.ReportMetric(float64(sim.Stats().Requests)/float64(b.N), "server-requests/op")
}

// BenchmarkApply50ClientOnly measures the client alone: 50 operations per
// Apply against a transport that answers with a canned response, so the
// allocations are the client's (document, variables, HTTP, decoding).
func BenchmarkApply50ClientOnly(b *testing.B) {
	ops := make([]Op, 50)
	data := map[string]any{}
	for i := range ops {
		ops[i] = Op{Kind: OpAddToAccount, Email: fmt.Sprintf("bench%02d@example.com", i)}
		data["m"+strconv.Itoa(i)] = map[string]any{"addUserToAccount": map[string]any{"account": map[string]any{"id": "bc/account/account/u"}}}
	}
	body, err := json.Marshal(map[string]any{"data": data})
	if err != nil {
		b.Fatal(err)
	}
	rt := cannedTransport{body: body}
	c, err := New(Options{BaseURL: "http://bench.invalid", AccountUUID: "u", Token: "t", HTTPClient: &http.Client{Transport: rt}, Logger: nopLogger()})
	if err != nil {
		b.Fatal(err)
	}
	var n, requests int
	b.ReportAllocs()
	for b.Loop() {
		res, err := c.Apply(b.Context(), PriorityAccountAdd, ops)
		if err != nil {
			b.Fatal(err)
		}
		if res.Results[49].Outcome != Applied {
			b.Fatal("not applied")
		}
		n += len(ops)
		requests += res.Requests
	}
	b.ReportMetric(float64(n)/float64(requests), "ops/request")
}

// cannedTransport answers every request with body and rate-limit headers.
type cannedTransport struct{ body []byte }

func (t cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	_, _ = io.Copy(io.Discard, req.Body)
	_ = req.Body.Close()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Rate-Limit-Requests-Quota", "70")
	h.Set("X-Rate-Limit-Requests-Left", "69")
	h.Set("X-Rate-Limit-Time-Window-Ms", "3600000")
	h.Set("X-Rate-Limit-Time-Reset-Ms", "3599000")
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Header: h, Request: req,
		Body: io.NopCloser(bytes.NewReader(t.body)), ContentLength: int64(len(t.body)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}
