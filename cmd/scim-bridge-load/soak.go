package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/app"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/scim"
)

// soakOptions describe a soak run: many concurrent SCIM clients against the
// whole bridge over real TCP, for a fixed time.
type soakOptions struct {
	Clients        int           `json:"clients"`
	Duration       time.Duration `json:"-"`
	Database       string        `json:"-"` // "" = a fresh SQLite file in a temporary directory
	UsersPerClient int           `json:"usersPerClient"`
	LogLevel       string        `json:"logLevel"`
	Seed           uint64        `json:"seed"`
}

// Request kinds of the soak's IdP mix. Each has one expected status.
const (
	kindExistsCheck = "exists-check"     // Okta: GET /Users?filter=userName eq "…" before a create (and for a known user)
	kindCreate      = "create"           // POST /Users, Okta body
	kindDuplicate   = "create-duplicate" // POST /Users of an existing userName: 409
	kindProfile     = "patch-profile"    // Entra: PATCH with paths and active "True"
	kindGroupAdd    = "group-add"        // PATCH /Groups/{id} add members
	kindGroupRemove = "group-remove"     // PATCH /Groups/{id} remove a member (Okta filter path or Entra value array)
	kindGet         = "get"              // GET /Users/{id}
	kindGetMissing  = "get-missing"      // GET /Users/{id} of a deleted or unknown id: 404
	kindList        = "list-page"        // GET /Users?startIndex=…&count=100
	kindGroupLookup = "group-lookup"     // Entra: GET /Groups?filter=displayName eq "…"&excludedAttributes=members
	kindDeactivate  = "deactivate"       // Okta: path-less PATCH {"active":false}
	kindDelete      = "delete"           // DELETE /Users/{id}
)

// soakKinds lists the kinds in report order.
var soakKinds = []string{kindExistsCheck, kindCreate, kindDuplicate, kindProfile, kindGroupAdd, kindGroupRemove,
	kindGet, kindGetMissing, kindList, kindGroupLookup, kindDeactivate, kindDelete}

// soakGroups are the shared groups every client adds its users to and removes
// them from: three named like the simulator's stores (mapped, so membership
// changes become delivery intents) and two unmapped ones. Many clients
// changing the same few groups is what an IdP's group push looks like.
var soakGroups = []string{"Plant Market", "Garden Tools", "Seed Library", "Soak Contractors", "Soak Auditors"}

// latencySummary is a latency distribution in milliseconds.
type latencySummary struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50Ms"`
	P95Ms float64 `json:"p95Ms"`
	P99Ms float64 `json:"p99Ms"`
	MaxMs float64 `json:"maxMs"`
}

// kindSummary is what one request kind saw.
type kindSummary struct {
	Statuses map[string]int `json:"statuses"`
	Latency  latencySummary `json:"latency"`
}

// memSample is the process's memory at one moment.
type memSample struct {
	// RSSBytes is VmRSS from /proc/self/status (0 where there is no /proc).
	RSSBytes uint64 `json:"rssBytes"`
	// HeapInuseBytes is the Go heap in use (runtime.MemStats.HeapInuse).
	HeapInuseBytes uint64 `json:"heapInuseBytes"`
}

// soakFailure is one request that did not get its expected answer.
type soakFailure struct {
	Kind      string `json:"kind"`
	Method    string `json:"method"`
	Route     string `json:"route"`
	Status    int    `json:"status"` // 0: no HTTP answer (see Error)
	Want      int    `json:"want"`
	RequestID string `json:"requestId,omitempty"`
	Error     string `json:"error,omitempty"`
	Body      string `json:"body,omitempty"`
	// Log holds the bridge's warn and error entries for this request id.
	Log []string `json:"log,omitempty"`
}

// soakReport is what a soak run measured.
type soakReport struct {
	Options         soakOptions            `json:"options"`
	Store           string                 `json:"store"`
	DurationSeconds float64                `json:"durationSeconds"`
	ElapsedSeconds  float64                `json:"elapsedSeconds"`
	Requests        int                    `json:"requests"`
	PerSecond       float64                `json:"requestsPerSecond"`
	ServerErrors    int                    `json:"serverErrors"`    // 5xx answers
	TransportErrors int                    `json:"transportErrors"` // no answer: refused, reset, timeout
	Unexpected      int                    `json:"unexpected"`      // other answers than the kind's expected status
	Statuses        map[string]int         `json:"statuses"`
	Latency         latencySummary         `json:"latency"`
	Kinds           map[string]kindSummary `json:"kinds"`
	Failures        []soakFailure          `json:"failures,omitempty"` // the first few
	UsersCreated    int                    `json:"usersCreated"`
	UsersDeleted    int                    `json:"usersDeleted"`
	// MemoryBefore is taken once the bridge serves and the shared groups
	// exist, after a GC; MemoryPeak is the highest of the once-a-second samples
	// (RSS and heap each on its own); MemoryAfter is taken when the clients
	// stop, before the bridge shuts down. The clients run in the same process,
	// so these include the load generator.
	MemoryBefore  memSample `json:"memoryBefore"`
	MemoryPeak    memSample `json:"memoryPeak"`
	MemoryAfter   memSample `json:"memoryAfter"`
	HeapAfterGC   uint64    `json:"heapInuseAfterGCBytes"`
	OutboxPending int       `json:"outboxPending"`
	Downstream    struct {
		Requests    int `json:"requests"`
		RateLimited int `json:"rateLimited"`
	} `json:"downstream"`
	// LogCounts counts the bridge's log entries by "level logger: message" at
	// LogLevel and above; LogSamples are the first warn and error entries.
	LogCounts   map[string]int `json:"logCounts"`
	LogSamples  []string       `json:"logSamples,omitempty"`
	Interrupted bool           `json:"interrupted,omitempty"`
	BridgeError string         `json:"bridgeError,omitempty"`
}

// failed reports whether the run broke a soak target.
func (r *soakReport) failed() bool {
	return r.ServerErrors > 0 || r.TransportErrors > 0 || r.Unexpected > 0 || r.BridgeError != "" || r.Requests == 0
}

func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := soakOptions{}
	fs.IntVar(&o.Clients, "clients", 200, "concurrent SCIM clients, each with its own HTTP connection")
	fs.DurationVar(&o.Duration, "duration", time.Minute, "how long the clients send requests")
	fs.StringVar(&o.Database, "database", "", "store: sqlite:PATH or postgres://... used as is (default: a fresh SQLite file in a temporary directory)")
	fs.IntVar(&o.UsersPerClient, "users-per-client", 10, "users each client keeps; it deletes some and creates new ones as it goes")
	fs.StringVar(&o.LogLevel, "log-level", "info", "the bridge's log level (entries are counted by message and reported)")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed of the clients' choices")
	logFile := fs.String("log-file", "", "also write the bridge's JSON log to this `file` (default: encoded and discarded, as production would write it)")
	output := fs.String("output", "text", "text or json")
	cpuProfile := fs.String("cpu-profile", "", "write a CPU profile of the whole run (bridge and clients) to this `file`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: scim-bridge-load soak [flags]

Starts the BigCommerce simulator (70 requests per hour) and the whole bridge on 127.0.0.1, then runs
concurrent SCIM clients for a fixed time, each with its own keep-alive connection and an Okta / Entra ID
mix: existence checks, creates, profile PATCHes, group membership PATCHes on a few shared groups, reads,
list pages, deactivations, deletes, and expected 409 and 404 answers. Reports requests per second, status
codes, latency percentiles overall and per kind, memory before, at peak and after, and the outbox depth.
Exits 1 when any request got a 5xx, no answer, or another status than expected.

A --database given is used as is: with PostgreSQL, select a fresh schema with search_path in the URL.

Flags:`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if o.Clients < 1 || o.Duration <= 0 || o.UsersPerClient < 1 {
		fmt.Fprintln(stderr, "scim-bridge-load soak: --clients, --duration and --users-per-client must be positive")
		return exitUsage
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintln(stderr, "scim-bridge-load soak: --output must be text or json")
		return exitUsage
	}
	logOut, closeOutputs, err := openSoakOutputs(*logFile, *cpuProfile)
	defer closeOutputs()
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge-load soak: %v\n", err)
		return exitError
	}
	rep, err := soak(ctx, o, logOut, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge-load soak: %v\n", err)
		return exitError
	}
	writeReport(stdout, *output, rep, func() { printSoak(stdout, rep) })
	if rep.failed() {
		printSoakFailure(stderr, rep)
		return exitError
	}
	return exitOK
}

// openSoakOutputs opens what the soak flags ask for: the bridge's log in
// logFile, buffered, and a CPU profile in cpuProfile, started. closeAll
// stops the profile, flushes the log and closes both, also after an error.
func openSoakOutputs(logFile, cpuProfile string) (logOut io.Writer, closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			return nil, closeAll, err
		}
		closers = append(closers, func() { _ = f.Close() })
		bw := bufio.NewWriter(f)
		closers = append(closers, func() { _ = bw.Flush() })
		logOut = &lockedWriter{w: bw}
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return logOut, closeAll, err
		}
		closers = append(closers, func() { _ = f.Close() })
		if err := pprof.StartCPUProfile(f); err != nil {
			return logOut, closeAll, err
		}
		closers = append(closers, pprof.StopCPUProfile)
	}
	return logOut, closeAll, nil
}

// printSoakFailure says on w which soak targets the run broke.
func printSoakFailure(w io.Writer, rep *soakReport) {
	fmt.Fprintf(w, "scim-bridge-load soak: FAILED: %d requests, %d 5xx, %d without answer, %d unexpected statuses",
		rep.Requests, rep.ServerErrors, rep.TransportErrors, rep.Unexpected)
	if rep.BridgeError != "" {
		fmt.Fprintf(w, "; the bridge stopped with: %s", rep.BridgeError)
	}
	fmt.Fprintln(w)
}

// soak runs the bridge and the clients and measures. logOut, when set, receives
// the bridge's JSON log; progress, when set, a line every 10 seconds.
func soak(ctx context.Context, o soakOptions, logOut, progress io.Writer) (*soakReport, error) {
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	database, cleanup, err := soakDatabase(o)
	if err != nil {
		return nil, err
	}
	defer cleanup()

	// BigCommerce's real budget: delivery runs as in production, within 70
	// requests an hour; the soak measures the SCIM side.
	sim, err := simulator.New(simulator.Options{RateLimit: 70, RateWindow: time.Hour})
	if err != nil {
		return nil, err
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer func() { _ = simSrv.Close() }()

	var raw [24]byte
	_, _ = rand.Read(raw[:])
	token := "soak-" + hex.EncodeToString(raw[:])
	runID := hex.EncodeToString(raw[:3])

	tally := newLogTally()
	b, err := startSoakBridge(ctx, o, database, token, sim, simLn.Addr().String(), tally, logOut)
	if err != nil {
		return nil, err
	}
	defer b.stop()

	setup := newSoakClient(-1, b.base, token, runID, nil, o, nil)
	if err := setup.waitReady(ctx, b.done); err != nil {
		return nil, err
	}
	groups, err := setup.sharedGroups(ctx)
	if err != nil {
		return nil, err
	}

	rep := &soakReport{Options: o, Store: soakStoreType(database), DurationSeconds: o.Duration.Seconds(), Statuses: map[string]int{},
		Kinds: map[string]kindSummary{}}
	runtime.GC()
	rep.MemoryBefore = sampleMemory()
	stopSampling := sampleMemoryPeak(ctx, rep.MemoryBefore)
	shared := &soakShared{groups: groups}
	start := time.Now()
	stopProgress := reportSoakProgress(ctx, progress, start, shared)
	clients := runSoakClients(ctx, o, b.base, token, runID, groups, shared, start.Add(o.Duration))
	elapsed := time.Since(start)
	peak := stopSampling()
	stopProgress()
	rep.addMemoryAfter(peak)
	rep.Interrupted = ctx.Err() != nil
	if n, err := b.app.CountIntents(context.WithoutCancel(ctx), store.IntentPending); err == nil {
		rep.OutboxPending = n
	} else {
		rep.OutboxPending = -1
	}
	if runErr := b.stop(); runErr != nil {
		rep.BridgeError = runErr.Error()
	}
	st := sim.Stats()
	rep.Downstream.Requests, rep.Downstream.RateLimited = st.Counted, st.RateLimited

	rep.ElapsedSeconds = elapsed.Seconds()
	rep.addClients(clients)
	rep.addShared(shared, tally, elapsed)
	return rep, nil
}

// soakStoreType names the store of a database URL for the report: sqlite
// or postgres.
func soakStoreType(database string) string {
	storeType, _, _ := strings.Cut(strings.ToLower(database), ":")
	if storeType == "postgresql" {
		return "postgres"
	}
	return storeType
}

// addMemoryAfter records memory as the clients stop: a sample, the peak
// with that sample, and the heap in use after a GC.
func (r *soakReport) addMemoryAfter(peak memSample) {
	r.MemoryAfter = sampleMemory()
	r.MemoryPeak = memSample{RSSBytes: max(peak.RSSBytes, r.MemoryAfter.RSSBytes), HeapInuseBytes: max(peak.HeapInuseBytes, r.MemoryAfter.HeapInuseBytes)}
	runtime.GC()
	r.HeapAfterGC = sampleMemory().HeapInuseBytes
}

// soakDatabase returns the store a soak runs on: o.Database as is, or a
// fresh SQLite file in a temporary directory that cleanup removes.
func soakDatabase(o soakOptions) (database string, cleanup func(), err error) {
	if o.Database != "" {
		return o.Database, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "scim-bridge-soak-")
	if err != nil {
		return "", nil, err
	}
	return "sqlite:" + filepath.Join(dir, "soak.db"), func() { _ = os.RemoveAll(dir) }, nil
}

// soakBridge is the whole bridge a soak runs against, serving SCIM and
// telemetry on 127.0.0.1.
type soakBridge struct {
	app *app.App
	// base is the SCIM base URL.
	base    string
	stopApp context.CancelFunc
	// done receives what the bridge's Run returned.
	done    chan error
	stopped bool
	runErr  error
}

// startSoakBridge configures the bridge as production would, on the store
// database and against the simulator at simAddr within 70 requests an
// hour, with one SCIM token for all clients, and starts it. Its log goes
// through tally to logOut.
func startSoakBridge(ctx context.Context, o soakOptions, database, token string, sim *simulator.Server, simAddr string, tally *logTally, logOut io.Writer) (*soakBridge, error) {
	scimLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	telLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = scimLn.Close()
		return nil, err
	}
	cfg := soakConfig(o, database, token, sim, simAddr, scimLn.Addr().String(), telLn.Addr().String())
	if err := cfg.Validate(); err != nil {
		_, _ = scimLn.Close(), telLn.Close()
		return nil, fmt.Errorf("soak configuration: %w", err)
	}
	log, err := tally.logger(cfg.Log, logOut)
	if err != nil {
		_, _ = scimLn.Close(), telLn.Close()
		return nil, err
	}
	appCtx, stopApp := context.WithCancel(ctx)
	a, err := app.New(appCtx, cfg, log, app.Options{Version: version})
	if err != nil {
		stopApp()
		_, _ = scimLn.Close(), telLn.Close()
		return nil, err
	}
	b := &soakBridge{app: a, base: "http://" + cfg.Listen + scim.Prefix, stopApp: stopApp, done: make(chan error, 1)}
	go func() { b.done <- a.Run(appCtx, scimLn, telLn) }()
	return b, nil
}

// soakConfig is the bridge's configuration for a soak.
func soakConfig(o soakOptions, database, token string, sim *simulator.Server, simAddr, scimAddr, telAddr string) config.Config {
	cfg := config.Default()
	cfg.Listen, cfg.TelemetryListen = scimAddr, telAddr
	cfg.Database = config.Secret(database)
	cfg.SCIM.Tokens = []config.Secret{config.Secret(token)}
	cfg.SCIM.RequestsPerSecond = 0 // one token for all clients: no per-token limit
	cfg.BigCommerce.APIURL = "http://" + simAddr
	cfg.BigCommerce.AccountUUID = sim.AccountUUID()
	cfg.BigCommerce.Token = config.Secret(simulator.DefaultToken)
	cfg.BigCommerce.RateLimit = "70/1h"
	cfg.Log.Level = o.LogLevel
	return cfg
}

// stop stops the bridge once and returns the error its Run returned; later
// calls return the same.
func (b *soakBridge) stop() error {
	if !b.stopped {
		b.stopped = true
		b.stopApp()
		b.runErr = <-b.done
	}
	return b.runErr
}

// sampleMemoryPeak samples memory once a second, from the sample start on,
// until the returned stop, which returns the highest RSS and heap seen.
func sampleMemoryPeak(ctx context.Context, start memSample) (stop func() memSample) {
	ctx, cancel := context.WithCancel(ctx)
	peak := start
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m := sampleMemory()
				peak.RSSBytes, peak.HeapInuseBytes = max(peak.RSSBytes, m.RSSBytes), max(peak.HeapInuseBytes, m.HeapInuseBytes)
			}
		}
	}()
	return func() memSample {
		cancel()
		<-sampled
		return peak
	}
}

// reportSoakProgress writes the counters to progress (when not nil) every
// ten seconds until the returned stop.
func reportSoakProgress(ctx context.Context, progress io.Writer, start time.Time, shared *soakShared) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if progress != nil {
					fmt.Fprintf(progress, "soak: %s, %d requests, %d 5xx, %d without answer, %d unexpected\n",
						time.Since(start).Round(time.Second), shared.requests.Load(), shared.serverErrors.Load(),
						shared.transportErrors.Load(), shared.unexpected.Load())
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// runSoakClients runs o.Clients clients against the bridge at base until
// end and returns them once all have stopped.
func runSoakClients(ctx context.Context, o soakOptions, base, token, runID string, groups []soakGroup, shared *soakShared, end time.Time) []*soakClient {
	clients := make([]*soakClient, o.Clients)
	var wg sync.WaitGroup
	for i := range clients {
		clients[i] = newSoakClient(i, base, token, runID, groups, o, shared)
		wg.Add(1)
		go func(c *soakClient) {
			defer wg.Done()
			c.loop(ctx, end)
		}(clients[i])
	}
	wg.Wait()
	return clients
}

// addClients adds the clients' latencies, statuses and user counts to the
// report, overall and per kind of request.
func (r *soakReport) addClients(clients []*soakClient) {
	all := []time.Duration{}
	byKind := map[string][]time.Duration{}
	for _, c := range clients {
		for k, ds := range c.latencies {
			byKind[k] = append(byKind[k], ds...)
			all = append(all, ds...)
		}
		for k, codes := range c.statuses {
			ks := r.Kinds[k]
			if ks.Statuses == nil {
				ks.Statuses = map[string]int{}
			}
			for code, n := range codes {
				ks.Statuses[code] += n
				r.Statuses[code] += n
			}
			r.Kinds[k] = ks
		}
		r.UsersCreated += c.created
		r.UsersDeleted += c.deleted
	}
	for k, ds := range byKind {
		ks := r.Kinds[k]
		ks.Latency = summarize(ds)
		r.Kinds[k] = ks
	}
	r.Latency = summarize(all)
}

// addShared adds the clients' shared counters and failures to the report,
// each failure with the bridge's log entries for its request, and the log
// counts.
func (r *soakReport) addShared(shared *soakShared, tally *logTally, elapsed time.Duration) {
	r.Requests = int(shared.requests.Load())
	r.PerSecond = float64(r.Requests) / elapsed.Seconds()
	r.ServerErrors = int(shared.serverErrors.Load())
	r.TransportErrors = int(shared.transportErrors.Load())
	r.Unexpected = int(shared.unexpected.Load())
	r.Failures = shared.failures
	for i := range r.Failures {
		r.Failures[i].Log = tally.forRequest(r.Failures[i].RequestID)
	}
	r.LogCounts, r.LogSamples = tally.snapshot()
}

type soakShared struct {
	groups          []soakGroup
	requests        atomic.Int64
	serverErrors    atomic.Int64
	transportErrors atomic.Int64
	unexpected      atomic.Int64
	liveUsers       atomic.Int64

	mu       sync.Mutex
	failures []soakFailure
}

// maxFailures bounds the failures kept in the report; the counters count all.
const maxFailures = 20

func (s *soakShared) fail(f soakFailure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) < maxFailures {
		s.failures = append(s.failures, f)
	}
}

// soakGroup is one shared group.
type soakGroup struct {
	id, name string
}

// soakUser is a user one client owns.
type soakUser struct {
	id, email string
	active    bool
	groups    map[int]bool // indexes into the shared groups
}

// soakClient is one IdP connection. It is used by one goroutine.
type soakClient struct {
	n         int
	base      string
	token     string
	runID     string
	http      *http.Client
	rng       *mrand.Rand
	groups    []soakGroup
	shared    *soakShared
	perClient int

	seq       int
	live      []*soakUser
	deleted   int
	created   int
	gone      []string // ids this client deleted, for 404 probes
	latencies map[string][]time.Duration
	statuses  map[string]map[string]int
}

func newSoakClient(n int, base, token, runID string, groups []soakGroup, o soakOptions, shared *soakShared) *soakClient {
	if shared == nil {
		shared = &soakShared{}
	}
	return &soakClient{
		n: n, base: base, token: token, runID: runID, groups: groups, shared: shared, perClient: o.UsersPerClient,
		// Its own transport: its own keep-alive connection, as every IdP
		// worker has.
		http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute, DisableCompression: true,
		}},
		rng:       mrand.New(mrand.NewPCG(o.Seed, uint64(n+1))),
		latencies: map[string][]time.Duration{},
		statuses:  map[string]map[string]int{},
	}
}

// soakAnswer is one response.
type soakAnswer struct {
	status int
	body   []byte
	ok     bool // the expected status
}

// do sends one request and records it under kind. route is the path template
// reported with failures.
func (c *soakClient) do(ctx context.Context, kind, method, route, path, body string, want int) soakAnswer {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		c.shared.fail(soakFailure{Kind: kind, Method: method, Route: route, Want: want, Error: err.Error()})
		c.shared.transportErrors.Add(1)
		return soakAnswer{}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json")
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	t0 := time.Now()
	res, err := c.http.Do(req)
	var raw []byte
	if err == nil {
		raw, err = io.ReadAll(res.Body)
		_ = res.Body.Close()
	}
	d := time.Since(t0)
	if ctx.Err() != nil {
		return soakAnswer{} // interrupted: not counted
	}
	c.shared.requests.Add(1)
	if err != nil {
		c.shared.transportErrors.Add(1)
		c.count(kind, "error", d)
		c.shared.fail(soakFailure{Kind: kind, Method: method, Route: route, Want: want, Error: err.Error()})
		return soakAnswer{}
	}
	c.count(kind, strconv.Itoa(res.StatusCode), d)
	a := soakAnswer{status: res.StatusCode, body: raw, ok: res.StatusCode == want}
	if res.StatusCode >= 500 {
		c.shared.serverErrors.Add(1)
	} else if !a.ok {
		c.shared.unexpected.Add(1)
	}
	if !a.ok {
		c.shared.fail(soakFailure{Kind: kind, Method: method, Route: route, Status: res.StatusCode, Want: want,
			RequestID: res.Header.Get("X-Request-Id"), Body: truncate(string(raw), 300)})
	}
	return a
}

// wrong records an answer with the expected status but the wrong content.
func (c *soakClient) wrong(kind, method, route, what string) {
	c.shared.unexpected.Add(1)
	c.shared.fail(soakFailure{Kind: kind, Method: method, Route: route, Error: what})
}

func (c *soakClient) count(kind, status string, d time.Duration) {
	c.latencies[kind] = append(c.latencies[kind], d)
	m := c.statuses[kind]
	if m == nil {
		m = map[string]int{}
		c.statuses[kind] = m
	}
	m[status]++
}

// waitReady waits until the bridge answers SCIM (it checks the BigCommerce
// credentials before serving).
func (c *soakClient) waitReady(ctx context.Context, done <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/ServiceProviderConfig", nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.token)
		res, err := c.http.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			_ = res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-done:
			return fmt.Errorf("the bridge stopped before serving: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("the bridge did not answer SCIM within 30s")
		}
	}
}

// sharedGroups finds or creates the shared groups (a database may be reused).
func (c *soakClient) sharedGroups(ctx context.Context) ([]soakGroup, error) {
	var out []soakGroup
	for _, name := range soakGroups {
		a := c.do(ctx, kindGroupLookup, http.MethodGet, "/Groups?filter", "/Groups?excludedAttributes=members&filter="+
			url.QueryEscape(fmt.Sprintf("displayName eq %q", name)), "", http.StatusOK)
		var list struct {
			Resources []struct {
				ID string `json:"id"`
			} `json:"Resources"`
		}
		if !a.ok || json.Unmarshal(a.body, &list) != nil {
			return nil, fmt.Errorf("look up a shared group: status %d", a.status)
		}
		if len(list.Resources) > 0 {
			out = append(out, soakGroup{id: list.Resources[0].ID, name: name})
			continue
		}
		a = c.do(ctx, "setup", http.MethodPost, "/Groups", "/Groups",
			fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":%q}`, name), http.StatusCreated)
		id := jsonString(a.body, "id")
		if !a.ok || id == "" {
			return nil, fmt.Errorf("create a shared group: status %d", a.status)
		}
		out = append(out, soakGroup{id: id, name: name})
	}
	return out, nil
}

// loop runs the client's IdP mix until end. While the client holds fewer users
// than its share, every other iteration onboards one, so the whole mix runs
// from the start rather than after a create-only ramp.
func (c *soakClient) loop(ctx context.Context, end time.Time) {
	for ctx.Err() == nil && time.Now().Before(end) {
		if len(c.live) == 0 || len(c.live) < c.perClient && c.rng.IntN(2) == 0 {
			c.onboard(ctx)
			continue
		}
		c.step(ctx)
	}
}

// onboard is Okta's create: existence check, POST, group push of one group,
// and now and then a retried POST answered 409.
func (c *soakClient) onboard(ctx context.Context) {
	c.seq++
	email := fmt.Sprintf("soak-%s-c%d-u%d@soak.example", c.runID, c.n, c.seq)
	a := c.do(ctx, kindExistsCheck, http.MethodGet, "/Users?filter", "/Users?filter="+url.QueryEscape(fmt.Sprintf("userName eq %q", email))+"&startIndex=1&count=100", "", http.StatusOK)
	if !a.ok {
		return
	}
	if n := jsonNumber(a.body, "totalResults"); n != 0 {
		c.wrong(kindExistsCheck, http.MethodGet, "/Users?filter", fmt.Sprintf("a new userName matched %v users", n))
	}
	body := c.userBody(email)
	a = c.do(ctx, kindCreate, http.MethodPost, "/Users", "/Users", body, http.StatusCreated)
	id := jsonString(a.body, "id")
	if !a.ok || id == "" {
		return
	}
	u := &soakUser{id: id, email: email, active: true, groups: map[int]bool{}}
	c.live = append(c.live, u)
	c.created++
	c.shared.liveUsers.Add(1)
	if c.rng.IntN(10) == 0 {
		c.do(ctx, kindDuplicate, http.MethodPost, "/Users", "/Users", body, http.StatusConflict)
	}
	c.groupAdd(ctx, u)
}

// step does one operation on one of the client's users.
func (c *soakClient) step(ctx context.Context) {
	i := c.rng.IntN(len(c.live))
	u := c.live[i]
	switch r := c.rng.IntN(100); {
	case r < 15:
		c.profile(ctx, u)
	case r < 30:
		a := c.do(ctx, kindGet, http.MethodGet, "/Users/{id}", "/Users/"+u.id, "", http.StatusOK)
		if a.ok && jsonString(a.body, "id") != u.id {
			c.wrong(kindGet, http.MethodGet, "/Users/{id}", "another user's document")
		}
	case r < 38:
		a := c.do(ctx, kindExistsCheck, http.MethodGet, "/Users?filter", "/Users?filter="+url.QueryEscape(fmt.Sprintf("userName eq %q", u.email)), "", http.StatusOK)
		if a.ok && jsonNumber(a.body, "totalResults") != 1 {
			c.wrong(kindExistsCheck, http.MethodGet, "/Users?filter", "an existing userName did not match exactly one user")
		}
	case r < 46:
		total := max(1, int(c.shared.liveUsers.Load())-100)
		c.do(ctx, kindList, http.MethodGet, "/Users?startIndex", fmt.Sprintf("/Users?startIndex=%d&count=100", 1+c.rng.IntN(total)), "", http.StatusOK)
	case r < 58:
		c.groupAdd(ctx, u)
	case r < 66:
		c.groupRemove(ctx, u)
	case r < 71:
		g := c.groups[c.rng.IntN(len(c.groups))]
		a := c.do(ctx, kindGroupLookup, http.MethodGet, "/Groups?filter", "/Groups?excludedAttributes=members&filter="+
			url.QueryEscape(fmt.Sprintf("displayName eq %q", g.name)), "", http.StatusOK)
		if a.ok && jsonNumber(a.body, "totalResults") != 1 {
			c.wrong(kindGroupLookup, http.MethodGet, "/Groups?filter", "a shared group did not match exactly once")
		}
	case r < 81:
		if !u.active {
			c.profile(ctx, u) // Entra's update sends active "True"
			return
		}
		a := c.do(ctx, kindDeactivate, http.MethodPatch, "/Users/{id}", "/Users/"+u.id,
			fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","value":{"active":false}}]}`, patchOp), http.StatusOK)
		if a.ok {
			u.active = false
		}
	case r < 85:
		id := "00000000-0000-4000-8000-" + fmt.Sprintf("%012x", c.rng.Uint64()&0xffffffffffff)
		if len(c.gone) > 0 && c.rng.IntN(2) == 0 {
			id = c.gone[c.rng.IntN(len(c.gone))]
		}
		c.do(ctx, kindGetMissing, http.MethodGet, "/Users/{id}", "/Users/"+id, "", http.StatusNotFound)
	case r < 89:
		c.do(ctx, kindDuplicate, http.MethodPost, "/Users", "/Users", c.userBody(u.email), http.StatusConflict)
	default:
		a := c.do(ctx, kindDelete, http.MethodDelete, "/Users/{id}", "/Users/"+u.id, "", http.StatusNoContent)
		if a.ok {
			c.live = slices.Delete(c.live, i, i+1)
			c.deleted++
			c.shared.liveUsers.Add(-1)
			if len(c.gone) < 50 {
				c.gone = append(c.gone, u.id)
			}
		}
	}
}

func (c *soakClient) userBody(email string) string {
	given, family := fmt.Sprintf("Given%d", c.seq), fmt.Sprintf("Family%d", c.n)
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"name":{"givenName":%q,"familyName":%q},`+
		`"emails":[{"primary":true,"value":%q,"type":"work"}],"displayName":"%s %s","locale":"en-US","externalId":"ext-%s","active":true}`,
		email, given, family, email, given, family, strings.TrimSuffix(email, "@soak.example"))
}

// profile is Entra ID's update: value-path and attribute-path replaces, and
// active as the string "True".
func (c *soakClient) profile(ctx context.Context, u *soakUser) {
	body := fmt.Sprintf(`{"schemas":[%q],"Operations":[`+
		`{"op":"Replace","path":"emails[type eq \"work\"].value","value":%q},`+
		`{"op":"Replace","path":"name.familyName","value":"Family%d"},`+
		`{"op":"Replace","path":"displayName","value":"Soak User %d"},`+
		`{"op":"Replace","path":"active","value":"True"}]}`, patchOp, u.email, c.rng.IntN(1000), c.rng.IntN(1000))
	if a := c.do(ctx, kindProfile, http.MethodPatch, "/Users/{id}", "/Users/"+u.id, body, http.StatusOK); a.ok {
		u.active = true
	}
}

// groupAdd pushes u into a shared group it is not in (Okta's body).
func (c *soakClient) groupAdd(ctx context.Context, u *soakUser) {
	var free []int
	for i := range c.groups {
		if !u.groups[i] {
			free = append(free, i)
		}
	}
	if len(free) == 0 {
		c.groupRemove(ctx, u)
		return
	}
	gi := free[c.rng.IntN(len(free))]
	body := fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"add","path":"members","value":[{"value":%q,"display":%q}]}]}`, patchOp, u.id, u.email)
	if a := c.do(ctx, kindGroupAdd, http.MethodPatch, "/Groups/{id}", "/Groups/"+c.groups[gi].id, body, http.StatusNoContent); a.ok {
		u.groups[gi] = true
	}
}

// groupRemove removes u from one of its groups, as Okta (filter path) or Entra
// ID (value array) does.
func (c *soakClient) groupRemove(ctx context.Context, u *soakUser) {
	var in []int
	for i := range c.groups {
		if u.groups[i] {
			in = append(in, i)
		}
	}
	if len(in) == 0 {
		c.groupAdd(ctx, u)
		return
	}
	gi := in[c.rng.IntN(len(in))]
	body := fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"remove","path":"members[value eq \"%s\"]"}]}`, patchOp, u.id)
	if c.rng.IntN(2) == 0 {
		body = fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"Remove","path":"members","value":[{"value":%q}]}]}`, patchOp, u.id)
	}
	if a := c.do(ctx, kindGroupRemove, http.MethodPatch, "/Groups/{id}", "/Groups/"+c.groups[gi].id, body, http.StatusNoContent); a.ok {
		delete(u.groups, gi)
	}
}

func jsonString(raw []byte, key string) string {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

func jsonNumber(raw []byte, key string) float64 {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return -1
	}
	f, err := strconv.ParseFloat(string(m[key]), 64)
	if err != nil {
		return -1
	}
	return f
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// summarize computes the percentiles of ds (sorted in place).
func summarize(ds []time.Duration) latencySummary {
	if len(ds) == 0 {
		return latencySummary{}
	}
	slices.Sort(ds)
	q := func(p float64) float64 {
		i := int(float64(len(ds))*p+0.999999) - 1
		return ms(ds[min(max(i, 0), len(ds)-1)])
	}
	return latencySummary{Count: len(ds), P50Ms: q(0.50), P95Ms: q(0.95), P99Ms: q(0.99), MaxMs: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// sampleMemory reads the resident set size and the Go heap in use.
func sampleMemory() memSample {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return memSample{RSSBytes: readRSS(), HeapInuseBytes: m.HeapInuse}
}

// readRSS returns VmRSS from /proc/self/status in bytes, 0 when unavailable.
func readRSS() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// logTally counts the bridge's log entries by level, logger and message, keeps
// the first warn and error entries, and indexes warn and error entries by
// request id so a failed request can be shown with its log lines.
type logTally struct {
	mu        sync.Mutex
	counts    map[string]int
	samples   []string
	byRequest map[string][]string
}

// Bounds of what logTally keeps besides its counts.
const (
	maxLogSamples    = 20
	maxLogRequests   = 2000
	maxLogPerRequest = 5
)

func newLogTally() *logTally {
	return &logTally{counts: map[string]int{}, byRequest: map[string][]string{}}
}

// logger is the bridge's logger: the JSON log (to w, or encoded and discarded
// when w is nil) teed with the tally.
func (t *logTally) logger(c config.Log, w io.Writer) (*zap.Logger, error) {
	if w == nil {
		w = io.Discard
	}
	out, err := app.NewLogger(c, w)
	if err != nil {
		return nil, err
	}
	var level zapcore.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		return nil, err
	}
	return zap.New(zapcore.NewTee(out.Core(), &tallyCore{LevelEnabler: level, tally: t})), nil
}

func (t *logTally) record(e zapcore.Entry, fields []zapcore.Field) {
	key := e.Level.String() + " " + e.LoggerName + ": " + e.Message
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts[key]++
	if e.Level < zapcore.WarnLevel {
		return
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range fields {
		f.AddTo(enc)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s: %s", e.Level, e.LoggerName, e.Message)
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k != "stack" {
			fmt.Fprintf(&b, " %s=%v", k, enc.Fields[k])
		}
	}
	line := b.String()
	if len(t.samples) < maxLogSamples {
		t.samples = append(t.samples, line)
	}
	if id, ok := enc.Fields["request_id"].(string); ok && id != "" {
		if _, seen := t.byRequest[id]; seen || len(t.byRequest) < maxLogRequests {
			if len(t.byRequest[id]) < maxLogPerRequest {
				t.byRequest[id] = append(t.byRequest[id], line)
			}
		}
	}
}

func (t *logTally) forRequest(id string) []string {
	if id == "" {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.byRequest[id])
}

func (t *logTally) snapshot() (map[string]int, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	counts := make(map[string]int, len(t.counts))
	for k, v := range t.counts {
		counts[k] = v
	}
	return counts, slices.Clone(t.samples)
}

// tallyCore is a zapcore.Core feeding a logTally.
type tallyCore struct {
	zapcore.LevelEnabler
	fields []zapcore.Field
	tally  *logTally
}

func (c *tallyCore) With(fields []zapcore.Field) zapcore.Core {
	return &tallyCore{LevelEnabler: c.LevelEnabler, fields: append(slices.Clip(c.fields), fields...), tally: c.tally}
}

func (c *tallyCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *tallyCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if len(c.fields) > 0 {
		fields = append(slices.Clip(c.fields), fields...)
	}
	c.tally.record(e, fields)
	return nil
}

func (c *tallyCore) Sync() error { return nil }

// lockedWriter serializes writes: zap's JSON core does not lock its writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func printSoak(w io.Writer, r *soakReport) {
	o := r.Options
	fmt.Fprintf(w, "SCIM soak: %d clients for %s on %s, %d users per client, delivery at 70 requests/hour (seed %d)\n\n",
		o.Clients, time.Duration(r.DurationSeconds*float64(time.Second)), r.Store, o.UsersPerClient, o.Seed)
	fmt.Fprintf(w, "  requests                 %d in %.1fs (%.0f per second)\n", r.Requests, r.ElapsedSeconds, r.PerSecond)
	fmt.Fprintf(w, "  5xx                      %d\n", r.ServerErrors)
	fmt.Fprintf(w, "  without answer           %d\n", r.TransportErrors)
	fmt.Fprintf(w, "  unexpected statuses      %d\n", r.Unexpected)
	fmt.Fprintf(w, "  statuses                 %s\n", formatCounts(r.Statuses))
	fmt.Fprintf(w, "  latency (all)            p50 %.1fms  p95 %.1fms  p99 %.1fms  max %.1fms\n",
		r.Latency.P50Ms, r.Latency.P95Ms, r.Latency.P99Ms, r.Latency.MaxMs)
	fmt.Fprintf(w, "  users created / deleted  %d / %d\n", r.UsersCreated, r.UsersDeleted)
	fmt.Fprintf(w, "  memory (RSS / Go heap)   before %s / %s, peak %s / %s, after %s / %s (heap after GC %s)\n",
		mib(r.MemoryBefore.RSSBytes), mib(r.MemoryBefore.HeapInuseBytes), mib(r.MemoryPeak.RSSBytes), mib(r.MemoryPeak.HeapInuseBytes),
		mib(r.MemoryAfter.RSSBytes), mib(r.MemoryAfter.HeapInuseBytes), mib(r.HeapAfterGC))
	fmt.Fprintf(w, "  outbox pending at end    %d intents\n", r.OutboxPending)
	fmt.Fprintf(w, "  downstream               %d requests counted, %d answered 429\n", r.Downstream.Requests, r.Downstream.RateLimited)
	if r.Interrupted {
		fmt.Fprintln(w, "  interrupted              the run was stopped early")
	}
	if r.BridgeError != "" {
		fmt.Fprintf(w, "  bridge error             %s\n", r.BridgeError)
	}
	fmt.Fprintf(w, "\n  %-18s %8s %9s %9s %9s %9s  %s\n", "kind", "count", "p50 ms", "p95 ms", "p99 ms", "max ms", "statuses")
	for _, k := range soakKinds {
		ks, ok := r.Kinds[k]
		if !ok {
			continue
		}
		l := ks.Latency
		fmt.Fprintf(w, "  %-18s %8d %9.1f %9.1f %9.1f %9.1f  %s\n", k, l.Count, l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs, formatCounts(ks.Statuses))
	}
	fmt.Fprintln(w, "\n  bridge log entries (level logger: message):")
	keys := make([]string, 0, len(r.LogCounts))
	for k := range r.LogCounts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "    %8d  %s\n", r.LogCounts[k], k)
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "\n  first %d failed requests:\n", len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintf(w, "    %s %s %s: got %d, want %d", f.Kind, f.Method, f.Route, f.Status, f.Want)
			if f.RequestID != "" {
				fmt.Fprintf(w, " (request id %s)", f.RequestID)
			}
			if f.Error != "" {
				fmt.Fprintf(w, ": %s", f.Error)
			}
			if f.Body != "" {
				fmt.Fprintf(w, "\n      body: %s", f.Body)
			}
			for _, l := range f.Log {
				fmt.Fprintf(w, "\n      log: %s", l)
			}
			fmt.Fprintln(w)
		}
	}
	if len(r.LogSamples) > 0 {
		fmt.Fprintln(w, "\n  first warn/error log entries:")
		for _, l := range r.LogSamples {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}
