package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// readmix kinds, in report order.
const (
	kindFilter = iota // GET /Users?filter=userName eq "..."
	kindByID          // GET /Users/{id}
	kindPage          // GET /Users?startIndex=N&count=100
	numKinds
)

var kindNames = [numKinds]string{"userName eq", "GET by id", "page of 100"}

// readmixUser is one known user: the read mix asks for it by id and by userName.
type readmixUser struct{ id, userName string }

// runReadmix runs the readmix subcommand: optionally seeds users, then runs the
// read mix once per client count and prints throughput and latencies.
func runReadmix(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, exit, ok := parseReadmix(args, stderr)
	if !ok {
		return exit
	}
	o := cfg.o
	code := 0
	var bridge []mixSummary
	if cfg.base != "" {
		fmt.Fprintln(stdout, "bridge:")
		var c int
		bridge, c = runMix(ctx, newLoadClient(cfg.base, cfg.token, o), o, stdout, stderr)
		code = max(code, c)
	}
	if cfg.floor {
		c, err := runFloorMix(ctx, o, bridge, stdout, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "readmix: floor: %v\n", err)
			return 1
		}
		code = max(code, c)
	}
	return code
}

// readmixConfig is what the readmix flags ask for.
type readmixConfig struct {
	base, token string // the bridge under test; empty base: none
	floor       bool   // also measure the library floor
	o           mixOptions
}

// parseReadmix parses and checks the readmix flags. When ok is false the
// command ends with exit: 0 after --help, 2 after a usage error (already
// reported on stderr).
func parseReadmix(args []string, stderr io.Writer) (cfg readmixConfig, exit int, ok bool) {
	fs := flag.NewFlagSet("readmix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "SCIM base URL of a running bridge, e.g. http://127.0.0.1:8080/scim/v2 (required)")
	token := fs.String("token", "", "bearer token the bridge accepts (required)")
	clientsFlag := fs.String("clients", "4,32", "comma-separated client counts; the mix runs once per count")
	duration := fs.Duration("duration", 15*time.Second, "how long each client count runs")
	seed := fs.Int("seed-users", 0, "POST this many users first (at --seed-clients) and report POSTs/s")
	seedClients := fs.Int("seed-clients", 8, "concurrent clients while seeding")
	sample := fs.Int("sample", 2000, "users sampled from the bridge for the by-id and filter requests")
	pageSize := fs.Int("page-size", 100, "count of the page requests")
	floor := fs.Bool("floor", false, "then run the same seed and mix against the library floor (the SCIM library and gin over an in-memory map: no store, no authentication) served by this process, and print the bridge's share of the floor's throughput; without --url only the floor runs")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: scim-bridge-load readmix --url URL --token TOKEN [flags]

Runs an identity provider's read mix against a running bridge: one third
GET /Users?filter=userName eq "...", one third GET /Users/{id}, one third
GET /Users?startIndex=N&count=100 at random offsets. Each client sends one
request at a time. Prints requests per second, p50 and p99 per kind and the
count of 5xx answers for each client count.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return readmixConfig{}, 0, false
		}
		return readmixConfig{}, 2, false
	}
	if (*base == "" || *token == "") && !*floor {
		fmt.Fprintln(stderr, "readmix: --url and --token are required (or --floor alone)")
		return readmixConfig{}, 2, false
	}
	clients, ok := parseClients(*clientsFlag)
	if !ok {
		fmt.Fprintf(stderr, "readmix: --clients: want positive integers such as 4,32, got %q\n", *clientsFlag)
		return readmixConfig{}, 2, false
	}
	if *seedClients < 1 || *sample < 1 || *pageSize < 1 || *duration <= 0 {
		fmt.Fprintln(stderr, "readmix: --seed-clients, --sample, --page-size and --duration must be positive")
		return readmixConfig{}, 2, false
	}
	o := mixOptions{clients: clients, duration: *duration, seed: *seed, seedClients: *seedClients, sample: *sample, pageSize: *pageSize}
	return readmixConfig{base: *base, token: *token, floor: *floor, o: o}, 0, true
}

// parseClients parses the --clients list; ok is false unless every entry is
// a positive integer.
func parseClients(list string) (clients []int, ok bool) {
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, false
		}
		clients = append(clients, n)
	}
	return clients, true
}

// runFloorMix serves the library floor on a loopback port for as long as it
// runs, runs the mix against it and prints the bridge's share of the floor's
// throughput for each client count both runs measured. It returns the mix's
// exit code, or an error when the floor cannot be served.
func runFloorMix(ctx context.Context, o mixOptions, bridge []mixSummary, stdout, stderr io.Writer) (int, error) {
	h, err := newFloor()
	if err != nil {
		return 0, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	fmt.Fprintln(stdout, "floor (the SCIM library and gin over an in-memory map, in this process):")
	floorRes, c := runMix(ctx, newLoadClient("http://"+ln.Addr().String()+"/scim/v2", "floor", o), o, stdout, stderr)
	for i := range min(len(bridge), len(floorRes)) {
		fmt.Fprintf(stdout, "bridge/floor at %d clients: %.2f of the floor's requests per second\n",
			bridge[i].clients, bridge[i].rps/floorRes[i].rps)
	}
	return c, nil
}

// mixOptions are the readmix flags one run uses.
type mixOptions struct {
	clients           []int
	duration          time.Duration
	seed, seedClients int
	sample, pageSize  int
}

// mixSummary is one client count's throughput.
type mixSummary struct {
	clients int
	rps     float64
}

func newLoadClient(base, token string, o mixOptions) *loadClient {
	maxConns := max(slices.Max(o.clients), o.seedClients)
	return &loadClient{
		base:  strings.TrimRight(base, "/"),
		token: token,
		http: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns: maxConns, MaxIdleConnsPerHost: maxConns, MaxConnsPerHost: maxConns,
				IdleConnTimeout: 90 * time.Second,
			},
		},
	}
}

// runMix seeds (when asked), samples users and runs the mix once per client
// count against one server, printing a table; it returns each count's
// throughput and the exit status.
func runMix(ctx context.Context, c *loadClient, o mixOptions, stdout, stderr io.Writer) ([]mixSummary, int) {
	if o.seed > 0 {
		start := time.Now()
		created, failed, err := c.seed(ctx, o.seed, o.seedClients)
		el := time.Since(start)
		fmt.Fprintf(stdout, "seed: %d users created, %d failed, %d clients, %s, %.0f POSTs/s\n",
			created, failed, o.seedClients, el.Round(time.Millisecond), float64(created)/el.Seconds())
		if err != nil {
			fmt.Fprintf(stderr, "readmix: seed: %v\n", err)
			return nil, 1
		}
	}

	total, users, err := c.sampleUsers(ctx, o.sample)
	if err != nil {
		fmt.Fprintf(stderr, "readmix: sample users: %v\n", err)
		return nil, 1
	}
	if len(users) == 0 {
		fmt.Fprintln(stderr, "readmix: the server has no users; seed some with --seed-users")
		return nil, 1
	}
	fmt.Fprintf(stdout, "users: %d on the server, %d sampled\n", total, len(users))

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "clients\trps\trequests\t5xx\terrors\t")
	for _, k := range kindNames {
		fmt.Fprintf(tw, "%s p50\t%s p99\t", k, k)
	}
	fmt.Fprintln(tw, "all p99\t")
	code := 0
	var out []mixSummary
	for _, n := range o.clients {
		if ctx.Err() != nil {
			break
		}
		r := c.mix(ctx, n, o.duration, total, o.pageSize, users)
		rps := float64(r.requests) / r.elapsed.Seconds()
		out = append(out, mixSummary{clients: n, rps: rps})
		fmt.Fprintf(tw, "%d\t%.0f\t%d\t%d\t%d\t", n, rps, r.requests, r.status5xx, r.errors)
		var all []time.Duration
		for k := range numKinds {
			fmt.Fprintf(tw, "%s\t%s\t", fmtMS(pct(r.lat[k], 0.50)), fmtMS(pct(r.lat[k], 0.99)))
			all = append(all, r.lat[k]...)
		}
		slices.Sort(all)
		fmt.Fprintf(tw, "%s\t\n", fmtMS(pct(all, 0.99)))
		if r.status5xx > 0 || r.errors > 0 {
			code = 1
		}
	}
	_ = tw.Flush()
	if code != 0 {
		fmt.Fprintln(stderr, "readmix: some requests failed (see 5xx and errors)")
	}
	return out, code
}

type loadClient struct {
	base, token string
	http        *http.Client
}

func (c *loadClient) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// seed POSTs n users with unique userNames from `clients` goroutines.
func (c *loadClient) seed(ctx context.Context, n, clients int) (created, failed int64, err error) {
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				name := fmt.Sprintf("load-%s-%d@example.com", run, i)
				body, _ := json.Marshal(map[string]any{
					"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
					"userName": name,
					"active":   true,
					"name":     map[string]string{"givenName": "Load", "familyName": "User" + strconv.FormatInt(i, 10)},
					"emails":   []map[string]any{{"value": name, "type": "work", "primary": true}},
				})
				st, b, err := c.do(ctx, http.MethodPost, "/Users", body)
				if err == nil && st != http.StatusCreated {
					err = fmt.Errorf("POST /Users: status %d: %.200s", st, b)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				atomic.AddInt64(&created, 1)
			}
		}()
	}
	wg.Wait()
	failed = int64(n) - created
	if failed < 0 {
		failed = 0
	}
	if e, ok := firstErr.Load().(error); ok {
		return created, failed, e
	}
	return created, failed, ctx.Err()
}

type listResponse struct {
	TotalResults int `json:"totalResults"`
	Resources    []struct {
		ID       string `json:"id"`
		UserName string `json:"userName"`
	} `json:"Resources"`
}

func (c *loadClient) list(ctx context.Context, query string) (listResponse, error) {
	var lr listResponse
	st, b, err := c.do(ctx, http.MethodGet, "/Users?"+query, nil)
	if err != nil {
		return lr, err
	}
	if st != http.StatusOK {
		return lr, fmt.Errorf("GET /Users?%s: status %d: %.200s", query, st, b)
	}
	return lr, json.Unmarshal(b, &lr)
}

// sampleUsers reads random pages of 100 until it has n users (or all of them).
func (c *loadClient) sampleUsers(ctx context.Context, n int) (int, []readmixUser, error) {
	lr, err := c.list(ctx, "count=0")
	if err != nil {
		return 0, nil, err
	}
	total := lr.TotalResults
	seen := map[string]bool{}
	var users []readmixUser
	for tries := 0; len(users) < min(n, total) && tries < n/10+total/100+10; tries++ {
		start := 1
		if total > 100 {
			start = 1 + rand.IntN(total-99)
		}
		lr, err := c.list(ctx, fmt.Sprintf("startIndex=%d&count=100", start))
		if err != nil {
			return total, users, err
		}
		for _, r := range lr.Resources {
			if !seen[r.ID] && len(users) < n {
				seen[r.ID] = true
				users = append(users, readmixUser{r.ID, r.UserName})
			}
		}
	}
	return total, users, nil
}

type mixResult struct {
	requests, status5xx, errors int
	elapsed                     time.Duration
	lat                         [numKinds][]time.Duration
}

// mix runs the read mix with n clients for d.
func (c *loadClient) mix(ctx context.Context, n int, d time.Duration, total, pageSize int, users []readmixUser) mixResult {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	results := make([]mixResult, n)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range n {
		wg.Add(1)
		go func(r *mixResult, seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 0x5c1))
			for {
				kind := rng.IntN(numKinds)
				u := users[rng.IntN(len(users))]
				var path string
				switch kind {
				case kindFilter:
					path = "/Users?filter=" + url.QueryEscape(`userName eq "`+u.userName+`"`)
				case kindByID:
					path = "/Users/" + url.PathEscape(u.id)
				case kindPage:
					startIndex := 1
					if total > pageSize {
						startIndex = 1 + rng.IntN(total-pageSize+1)
					}
					path = fmt.Sprintf("/Users?startIndex=%d&count=%d", startIndex, pageSize)
				}
				t0 := time.Now()
				st, _, err := c.do(ctx, http.MethodGet, path, nil)
				el := time.Since(t0)
				if ctx.Err() != nil {
					return // the run ended mid-request: not counted
				}
				r.requests++
				switch {
				case err != nil:
					r.errors++
				case st >= 500:
					r.status5xx++
				case st != http.StatusOK:
					r.errors++
				}
				r.lat[kind] = append(r.lat[kind], el)
			}
		}(&results[w], uint64(w)+uint64(time.Now().UnixNano()))
	}
	wg.Wait()
	var out mixResult
	out.elapsed = time.Since(start)
	for _, r := range results {
		out.requests += r.requests
		out.status5xx += r.status5xx
		out.errors += r.errors
		for k := range numKinds {
			out.lat[k] = append(out.lat[k], r.lat[k]...)
		}
	}
	for k := range numKinds {
		slices.Sort(out.lat[k])
	}
	return out
}

// pct returns the q-quantile of sorted (nearest rank), 0 when empty.
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func fmtMS(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + " ms"
}
