package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/app"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/delivery"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/simclock"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/backend"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/scim"
)

// benchOptions describe the delivery benchmark.
type benchOptions struct {
	// Scenario is "burst" (joiners arriving at an IdP's assignment pace, with
	// leavers meanwhile) or "lone" (one joiner at a time, every Arrival).
	Scenario       string        `json:"scenario"`
	Profile        string        `json:"profile"`
	Joiners        int           `json:"joiners"`
	Earlier        int           `json:"earlier"`
	Leavers        int           `json:"leavers"` // of the joiners
	Arrival        time.Duration `json:"arrival"`
	MaxBatch       int           `json:"maxBatch"`
	MaxMutations   int           `json:"maxMutations"`
	Reserve        float64       `json:"reserve"`
	RemovalLinger  time.Duration `json:"removalLinger"`
	AdditionLinger time.Duration `json:"additionLinger"`
	Seed           uint64        `json:"seed"`
}

// benchReport is what the benchmark measured (simulated time).
type benchReport struct {
	Options               benchOptions    `json:"options"`
	JoinerOperations      int             `json:"joinerOperations"`
	JoinerRequests        int             `json:"joinerRequests"`
	TotalRequests         int             `json:"totalRequests"`
	RequestsByPurpose     map[string]int  `json:"requestsByPurpose"`
	RateLimited           int             `json:"rateLimited"`
	AllAppliedAfter       time.Duration   `json:"allAppliedAfter"`
	LeaversRemoved        int             `json:"leaversRemoved"`
	LeaversCancelled      int             `json:"leaversCancelledBeforeAccess"`
	LeaverLatencies       []time.Duration `json:"leaverLatencies"`
	LeaverMax             time.Duration   `json:"leaverMax"`
	LeaverP50             time.Duration   `json:"leaverP50"`
	LeaverP95             time.Duration   `json:"leaverP95"`
	BatchMode             string          `json:"batchMode"`
	WallTime              time.Duration   `json:"wallTime"`
	SCIMRequests          int             `json:"scimRequests"`
	SCIMErrors            int             `json:"scimErrors"`
	OpsPerJoinerRequestAv float64         `json:"opsPerJoinerRequest"`
	DeadLetters           int             `json:"deadLetters"`
	// JoinerLatencies are, per joiner, the time from its SCIM create to its
	// account addition in BigCommerce; StoreLatencies from its group push to
	// its store access (lone scenario).
	JoinerLatencies []time.Duration `json:"joinerLatencies,omitempty"`
	StoreLatencies  []time.Duration `json:"storeLatencies,omitempty"`
	JoinerMax       time.Duration   `json:"joinerMax"`
	StoreMax        time.Duration   `json:"storeMax"`
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := benchOptions{}
	fs.StringVar(&o.Scenario, "scenario", "burst", "burst: joiners at an IdP's assignment pace with leavers meanwhile; lone: one joiner every --arrival, default configuration")
	fs.StringVar(&o.Profile, "profile", simulator.ProfileFull, "the simulator's profile: full, or documented (only what BigCommerce documents: one mutation per request, pages of 50, no backward paging)")
	fs.IntVar(&o.Joiners, "joiners", 1000, "users created by SCIM, each put in one store group")
	fs.IntVar(&o.Earlier, "earlier", 20, "users created (and delivered) before the run; all are deactivated during it")
	fs.IntVar(&o.Leavers, "leavers", 100, "joiners deactivated at random moments while joiners are still queued")
	fs.DurationVar(&o.Arrival, "arrival", 10*time.Minute, "burst: the joiners arrive spread over this time, as Okta paces an assignment; lone: the time between two joiners")
	fs.IntVar(&o.MaxBatch, "max-batch", 50, "SCIM_BRIDGE_BC_MAX_BATCH")
	fs.IntVar(&o.MaxMutations, "max-mutations", 0, "the simulator refuses documents with more mutations (1 = one mutation per request)")
	def := config.Default().Delivery
	fs.Float64Var(&o.Reserve, "reserve", def.Reserve, "the budget share kept for removals (delivery.reserve)")
	fs.DurationVar(&o.RemovalLinger, "removal-linger", def.RemovalLinger, "delivery.removal_linger")
	fs.DurationVar(&o.AdditionLinger, "addition-linger", def.AdditionLinger, "delivery.addition_linger")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed (the run is deterministic for a seed)")
	output := fs.String("output", "text", "text or json")
	verbose := fs.Bool("v", false, "log the engine's work (debug level) to stderr")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: scim-bridge-load bench [flags]

The delivery benchmark, on a simulated clock against the simulator at 70 requests per hour.
burst (default): joiners created through the SCIM handler at Okta's pace and added to a store group, leavers
deactivated while joiners are queued; reports requests spent, time to apply everything and every leaver's latency.
lone: one joiner at a time (--joiners of them, --arrival apart) on the default configuration; reports each
joiner's time to BigCommerce.

Flags:`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if o.Scenario == "lone" {
		o.Earlier, o.Leavers = 0, 0
	}
	if o.Leavers > o.Joiners {
		fmt.Fprintln(stderr, "scim-bridge-load bench: --leavers cannot exceed --joiners")
		return exitUsage
	}
	if !slices.Contains(simulator.Profiles(), o.Profile) {
		fmt.Fprintf(stderr, "scim-bridge-load bench: unknown --profile %q (want %s)\n", o.Profile, strings.Join(simulator.Profiles(), " or "))
		return exitUsage
	}
	switch o.Scenario {
	case "burst":
	case "lone":
	default:
		fmt.Fprintf(stderr, "scim-bridge-load bench: unknown --scenario %q (want burst or lone)\n", o.Scenario)
		return exitUsage
	}
	log := zap.NewNop()
	if *verbose {
		log, _ = app.NewLogger(config.Log{Format: "console", Level: "debug"}, stderr)
	}
	rep, err := benchDelivery(ctx, o, log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge-load bench: %v\n", err)
		return exitError
	}
	writeReport(stdout, *output, rep, func() { printBench(stdout, rep) })
	return exitOK
}

type benchEvent struct {
	at     time.Duration
	kind   int // 0 create+group, 1 deactivate
	email  string
	joiner bool
}

// benchRun is one delivery benchmark: the simulated account, the bridge in
// front of it on a simulated clock, and what the run has done so far.
type benchRun struct {
	ctx      context.Context
	o        benchOptions
	progress io.Writer
	clk      *simclock.Clock
	sim      *simulator.Server
	simURL   string
	st       store.Store
	eng      *delivery.Engine
	scim     http.Handler
	rep      *benchReport
	// ids maps a user's email to its SCIM id; groupID is the store group.
	ids     map[string]string
	groupID string
	// t0 is when the schedule starts; joinAt is each joiner's offset in it
	// and deactivatedAt when each leaver was deactivated.
	t0            time.Time
	joinAt        map[string]time.Duration
	deactivatedAt map[string]time.Time
}

func benchDelivery(ctx context.Context, o benchOptions, log *zap.Logger, progress io.Writer) (*benchReport, error) {
	wallStart := time.Now()
	dir, err := os.MkdirTemp("", "scim-bridge-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	r := &benchRun{ctx: ctx, o: o, progress: progress, rep: &benchReport{Options: o, RequestsByPurpose: map[string]int{}},
		ids: map[string]string{}, joinAt: map[string]time.Duration{}, deactivatedAt: map[string]time.Time{}}
	closeAll, err := r.open(filepath.Join(dir, "bench.db"), log)
	defer closeAll()
	if err != nil {
		return nil, err
	}
	if err := r.prepare(); err != nil {
		return nil, err
	}
	logStart := len(r.sim.Log())
	statsStart := r.sim.Stats()
	if err := r.play(r.schedule()); err != nil {
		return nil, err
	}
	if err := r.measure(r.sim.Log()[logStart:], statsStart); err != nil {
		return nil, err
	}
	r.rep.DeadLetters = countState(ctx, r.st, store.IntentDead)
	r.rep.BatchMode = r.eng.Status().BatchMode
	r.rep.WallTime = time.Since(wallStart)
	return r.rep, nil
}

// open starts the simulator (70 requests an hour) and wires the store at
// path, the service, the budget, the delivery engine and the SCIM handler
// on the simulated clock. The returned function closes what was opened, also
// after an error.
func (r *benchRun) open(path string, log *zap.Logger) (closeAll func(), err error) {
	var closers []func()
	closeAll = func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}
	r.clk = simclock.New(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	o := r.o
	if r.sim, err = simulator.New(simulator.Options{RateLimit: 70, RateWindow: time.Hour, MaxMutations: o.MaxMutations, Now: r.clk.Now, Profile: o.Profile}); err != nil {
		return closeAll, err
	}
	simTS := httptest.NewServer(r.sim)
	closers = append(closers, simTS.Close)
	r.simURL = simTS.URL
	if r.st, err = backend.Open(r.ctx, "sqlite:"+path, log); err != nil {
		return closeAll, err
	}
	closers = append(closers, func() { _ = r.st.Close() })
	svc, err := bridge.NewService(bridge.Options{Store: r.st, Now: r.clk.Now, Logger: log, Mapping: bridge.Mapping{ByName: true}})
	if err != nil {
		return closeAll, err
	}
	budget := delivery.NewBudget(r.st, 70, time.Hour, o.Reserve, r.clk.Now, log)
	client, err := downstream.New(downstream.Options{BaseURL: r.simURL, AccountUUID: r.sim.AccountUUID(), Token: simulator.DefaultToken, Gate: budget, Logger: log})
	if err != nil {
		return closeAll, err
	}
	if r.eng, err = delivery.New(delivery.Options{Store: r.st, Client: client, Budget: budget, Service: svc, Logger: log, Now: r.clk.Now,
		MaxBatch: o.MaxBatch, RemovalLinger: o.RemovalLinger, AdditionLinger: o.AdditionLinger, Rand: rand.New(rand.NewPCG(o.Seed, 7)).Float64}); err != nil {
		return closeAll, err
	}
	gin.SetMode(gin.ReleaseMode)
	tok, err := scim.ParseToken("bench-token-0123456789")
	if err != nil {
		return closeAll, err
	}
	r.scim, err = scim.NewHandler(scim.Options{Service: svc, Tokens: []scim.TokenHash{tok}, Logger: log})
	return closeAll, err
}

// scimDo sends one SCIM request to the bridge's handler, counts it, and
// returns the decoded answer; an answer of 300 or more is an error.
func (r *benchRun) scimDo(method, path, body string) (map[string]any, error) {
	req := httptest.NewRequestWithContext(r.ctx, method, "http://bridge"+scim.Prefix+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench-token-0123456789")
	req.Header.Set("Content-Type", "application/scim+json")
	rec := httptest.NewRecorder()
	r.scim.ServeHTTP(rec, req)
	r.rep.SCIMRequests++
	if rec.Code >= 300 {
		r.rep.SCIMErrors++
		return nil, fmt.Errorf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
	}
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return out, nil
}

// create creates a user by SCIM and pushes it into the store group, as an
// IdP does for an assignment.
func (r *benchRun) create(email string) error {
	u, err := r.scimDo(http.MethodPost, "/Users", userJSON(email, true))
	if err != nil {
		return err
	}
	r.ids[email] = u["id"].(string)
	_, err = r.scimDo(http.MethodPatch, "/Groups/"+r.groupID, fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"add","path":"members","value":[{"value":%q,"display":%q}]}]}`, patchOp, r.ids[email], email))
	return err
}

// prepare sets the account up as it stands before the run: the store group
// and the earlier users exist and were delivered, and a reconciliation
// recorded the account. Then an hour of quiet refills the budget and closes
// the server's window, and the schedule's clock starts.
func (r *benchRun) prepare() error {
	group, err := r.scimDo(http.MethodPost, "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market"}`)
	if err != nil {
		return err
	}
	r.groupID = group["id"].(string)
	for i := range r.o.Earlier {
		if err := r.create(fmt.Sprintf("earlier%03d@corp.example", i)); err != nil {
			return err
		}
	}
	if err := r.deliverEarlier(); err != nil {
		return err
	}
	if err := r.recordAccount(); err != nil {
		return err
	}
	r.clk.Advance(time.Hour)
	r.t0 = r.clk.Now()
	return nil
}

// deliverEarlier steps the engine on the simulated clock until the outbox
// is empty.
func (r *benchRun) deliverEarlier() error {
	for i := 0; ; i++ {
		next, err := r.eng.Step(r.ctx)
		if err != nil {
			return err
		}
		if pendingCount(r.ctx, r.st) == 0 {
			return nil
		}
		if i > 10000 {
			return errors.New("the earlier users were not delivered")
		}
		r.clk.Set(next)
	}
}

// recordAccount reads the account an hour later, outside the budget, and
// saves it as an operator's listing, as a reconciliation would.
func (r *benchRun) recordAccount() error {
	free, err := downstream.New(downstream.Options{BaseURL: r.simURL, AccountUUID: r.sim.AccountUUID(), Token: simulator.DefaultToken})
	if err != nil {
		return err
	}
	r.clk.Advance(time.Hour)
	snap, err := known.Read(r.ctx, free, downstream.PriorityRead, r.clk.Now)
	if err != nil {
		return err
	}
	return r.st.Update(r.ctx, func(tx store.Tx) error {
		return known.Save(r.ctx, tx, snap, known.Origin{Source: store.SourceOperator, Cause: "bench.listing"})
	})
}

// schedule returns the run's SCIM events in time order: joiners uniformly
// over the arrival window (Okta's pace), each followed a second later by the
// group push; leavers at random moments while joiners are queued; and every
// earlier user deactivated during the run. It records each joiner's offset.
func (r *benchRun) schedule() []benchEvent {
	o := r.o
	rng := rand.New(rand.NewPCG(o.Seed, 42))
	var events []benchEvent
	for i := range o.Joiners {
		email := fmt.Sprintf("joiner%04d@corp.example", i)
		at := time.Duration(rng.Int64N(int64(o.Arrival)))
		if o.Scenario == "lone" {
			at = time.Duration(i) * o.Arrival
		}
		r.joinAt[email] = at
		events = append(events, benchEvent{at: at, email: email, joiner: true})
	}
	for _, i := range rng.Perm(o.Joiners)[:o.Leavers] {
		email := fmt.Sprintf("joiner%04d@corp.example", i)
		lo := r.joinAt[email] + 5*time.Second
		hi := o.Arrival + time.Minute
		events = append(events, benchEvent{at: lo + time.Duration(rng.Int64N(int64(max(hi-lo, time.Second)))), kind: 1, email: email, joiner: true})
	}
	for i := range o.Earlier {
		events = append(events, benchEvent{at: time.Duration(rng.Int64N(int64(o.Arrival + time.Minute))), kind: 1, email: fmt.Sprintf("earlier%03d@corp.example", i)})
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at < events[j].at })
	return events
}

// play sends the events at their moments and steps the engine whenever it
// is due before the next one, until every event is sent and the outbox is
// empty. It reports progress every five seconds of wall time.
func (r *benchRun) play(events []benchEvent) error {
	wake := r.t0
	k := 0
	lastTick := time.Now()
	for {
		if k == len(events) && pendingCount(r.ctx, r.st) == 0 {
			return nil
		}
		nextEvent := r.t0.Add(1000 * time.Hour)
		if k < len(events) {
			nextEvent = r.t0.Add(events[k].at)
		}
		if !nextEvent.After(wake) {
			r.clk.Set(nextEvent)
			for k < len(events) && !r.t0.Add(events[k].at).After(r.clk.Now()) {
				if err := r.send(events[k]); err != nil {
					return err
				}
				k++
			}
			wake = r.clk.Now()
			continue
		}
		r.clk.Set(wake)
		next, err := r.eng.Step(r.ctx)
		if err != nil {
			return err
		}
		if next.Before(r.clk.Now()) {
			next = r.clk.Now()
		}
		wake = next
		if time.Since(lastTick) > 5*time.Second && r.progress != nil {
			lastTick = time.Now()
			fmt.Fprintf(r.progress, "bench: simulated %s, %d/%d SCIM events, %d pending intents\n",
				r.clk.Now().Sub(r.t0).Round(time.Second), k, len(events), pendingCount(r.ctx, r.st))
		}
		if r.clk.Now().Sub(r.t0) > 200*time.Hour {
			return errors.New("the outbox did not drain within 200 simulated hours")
		}
	}
}

// send sends one event: a create with its group push, or a deactivation,
// whose moment it records.
func (r *benchRun) send(ev benchEvent) error {
	if ev.kind == 0 {
		return r.create(ev.email)
	}
	if _, err := r.scimDo(http.MethodPatch, "/Users/"+r.ids[ev.email], activeJSON(false)); err != nil {
		return err
	}
	r.deactivatedAt[ev.email] = r.clk.Now()
	return nil
}

// benchLog is what the simulator's log of a run shows: the mutation
// requests, and when each user was first added to the account, first given
// a store and first removed.
type benchLog struct {
	joinerReq                   map[int]int
	allReq                      map[int]bool
	addedAt, storeAt, removedAt map[string]time.Time
	last                        time.Time
}

// readBenchLog reads the simulator's log of a run and counts the joiners'
// operations into rep.
func readBenchLog(evs []simulator.Event, rep *benchReport) benchLog {
	l := benchLog{joinerReq: map[int]int{}, allReq: map[int]bool{},
		addedAt: map[string]time.Time{}, storeAt: map[string]time.Time{}, removedAt: map[string]time.Time{}}
	for _, ev := range evs {
		l.allReq[ev.Request] = true
		if ev.At.After(l.last) {
			l.last = ev.At
		}
		if ev.Code != "" {
			continue
		}
		switch ev.Field {
		case "addUserToAccount", "addUserToStore":
			if strings.HasPrefix(ev.Email, "joiner") {
				l.joinerReq[ev.Request]++
				rep.JoinerOperations++
				at := l.addedAt
				if ev.Field == "addUserToStore" {
					at = l.storeAt
				}
				if _, ok := at[ev.Email]; !ok {
					at[ev.Email] = ev.At
				}
			}
		case "removeUserFromAccount":
			if _, ok := l.removedAt[ev.Email]; !ok {
				l.removedAt[ev.Email] = ev.At
			}
		}
	}
	return l
}

// measure fills the report from the simulator's log of the run and its
// request counts since statsStart, and checks the outcome: every leaver
// removed or never added, every remaining joiner in its store.
func (r *benchRun) measure(evs []simulator.Event, statsStart simulator.Stats) error {
	rep := r.rep
	l := readBenchLog(evs, rep)
	rep.JoinerRequests = len(l.joinerReq)
	if rep.JoinerRequests > 0 {
		rep.OpsPerJoinerRequestAv = float64(rep.JoinerOperations) / float64(rep.JoinerRequests)
	}
	stats := r.sim.Stats()
	rep.TotalRequests = stats.Counted - statsStart.Counted
	rep.RateLimited = stats.RateLimited - statsStart.RateLimited
	rep.RequestsByPurpose["mutations"] = len(l.allReq)
	rep.RequestsByPurpose["other"] = rep.TotalRequests - len(l.allReq)
	rep.AllAppliedAfter = l.last.Sub(r.t0)
	if err := r.measureLeavers(l.removedAt); err != nil {
		return err
	}
	if err := r.checkJoiners(); err != nil {
		return err
	}
	if r.o.Scenario == "lone" {
		r.measureJoiners(l.addedAt, l.storeAt)
	}
	return nil
}

// measureLeavers records each leaver's time from deactivation to removal
// and its percentiles; a leaver never removed must never have been added.
func (r *benchRun) measureLeavers(removedAt map[string]time.Time) error {
	rep := r.rep
	for email, at := range r.deactivatedAt {
		if rm, ok := removedAt[email]; ok {
			rep.LeaverLatencies = append(rep.LeaverLatencies, rm.Sub(at))
			rep.LeaversRemoved++
		} else if _, inBC := bcStores(r.sim)[email]; inBC {
			return fmt.Errorf("leaver %s still in BigCommerce", email)
		} else {
			rep.LeaversCancelled++
		}
	}
	sort.Slice(rep.LeaverLatencies, func(i, j int) bool { return rep.LeaverLatencies[i] < rep.LeaverLatencies[j] })
	if n := len(rep.LeaverLatencies); n > 0 {
		rep.LeaverMax = rep.LeaverLatencies[n-1]
		rep.LeaverP50 = rep.LeaverLatencies[n/2]
		rep.LeaverP95 = rep.LeaverLatencies[min(n-1, n*95/100)]
	}
	return nil
}

// checkJoiners reports a joiner that was not deactivated and is not in
// BigCommerce with its store.
func (r *benchRun) checkJoiners() error {
	bc := bcStores(r.sim)
	for email := range r.joinAt {
		if _, left := r.deactivatedAt[email]; left {
			continue
		}
		if !sameSet(bc[email], []string{"abc123"}) {
			return fmt.Errorf("joiner %s not delivered: %v", email, bc[email])
		}
	}
	return nil
}

// measureJoiners records, per joiner in order, the time from its create to
// its account addition and to its store access (lone scenario).
func (r *benchRun) measureJoiners(addedAt, storeAt map[string]time.Time) {
	rep := r.rep
	for i := range r.o.Joiners {
		email := fmt.Sprintf("joiner%04d@corp.example", i)
		// The group push follows the create by a second (create()).
		join := r.t0.Add(r.joinAt[email])
		rep.JoinerLatencies = append(rep.JoinerLatencies, addedAt[email].Sub(join))
		rep.StoreLatencies = append(rep.StoreLatencies, storeAt[email].Sub(join))
		rep.JoinerMax = max(rep.JoinerMax, addedAt[email].Sub(join))
		rep.StoreMax = max(rep.StoreMax, storeAt[email].Sub(join))
	}
}

func pendingCount(ctx context.Context, st store.Store) int {
	return countState(ctx, st, store.IntentPending)
}

func countState(ctx context.Context, st store.Store, state store.IntentState) int {
	n := 0
	_ = st.View(ctx, func(tx store.Tx) error {
		in, err := tx.ListIntents(ctx, store.IntentFilter{States: []store.IntentState{state}})
		n = len(in)
		return err
	})
	return n
}

func printBench(w io.Writer, r *benchReport) {
	o := r.Options
	if o.Scenario == "lone" {
		fmt.Fprintf(w, `Delivery benchmark, lone joiners (simulated clock, 70 requests/hour, simulator profile %s, addition linger %s)
  %d joiners, one every %s, each created and pushed into one store group a second later

  time to the account, per joiner   max %s, all: %s  (target < 5s each)
  time to the store, per joiner     max %s, all: %s
  requests in total                 %d; 429 answers %d; dead letters %d
  wall time %s
`, o.Profile, o.AdditionLinger, o.Joiners, o.Arrival, r.JoinerMax.Round(time.Millisecond), roundAll(r.JoinerLatencies),
			r.StoreMax.Round(time.Millisecond), roundAll(r.StoreLatencies), r.TotalRequests, r.RateLimited, r.DeadLetters,
			r.WallTime.Round(time.Millisecond))
		return
	}
	mode := "batches of up to " + fmt.Sprint(o.MaxBatch)
	if o.MaxMutations > 0 {
		mode += fmt.Sprintf(", simulator refusing more than %d mutation(s) per document", o.MaxMutations)
	}
	fmt.Fprintf(w, `Delivery benchmark (simulated clock, 70 requests/hour, simulator profile %s, %s, reserve %.0f%%, removal linger %s, seed %d)
  %d joiners over %s, each into one store group; %d of them and %d earlier users deactivated meanwhile

  joiner operations applied      %d
  requests carrying them         %d  (%.1f operations per request; target <= 45 when batching)
  requests in total              %d  (%d with mutations, %d reads: catalog, capabilities, id lookups)
  429 answers                    %d
  dead letters                   %d  (target 0)
  everything applied after       %s  (target < 1h when batching)
  batch mode at the end          %s
  leavers removed from BigCommerce  %d: latency max %s, p95 %s, p50 %s (target < 60s each)
  leavers cancelled before access   %d (deactivated while their add was still queued: nothing sent)
  SCIM requests                  %d (%d errors); wall time %s
`, o.Profile, mode, o.Reserve*100, o.RemovalLinger, o.Seed, o.Joiners, o.Arrival, o.Leavers, o.Earlier,
		r.JoinerOperations, r.JoinerRequests, r.OpsPerJoinerRequestAv, r.TotalRequests, r.RequestsByPurpose["mutations"], r.RequestsByPurpose["other"],
		r.RateLimited, r.DeadLetters, r.AllAppliedAfter.Round(time.Second), r.BatchMode,
		r.LeaversRemoved, r.LeaverMax.Round(time.Millisecond), r.LeaverP95.Round(time.Millisecond), r.LeaverP50.Round(time.Millisecond),
		r.LeaversCancelled, r.SCIMRequests, r.SCIMErrors, r.WallTime.Round(time.Millisecond))
}

func roundAll(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Round(time.Millisecond).String()
	}
	return strings.Join(parts, " ")
}
