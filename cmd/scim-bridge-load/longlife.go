package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/delivery"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/bridge/reconcile"
	"github.com/scim-bridge/scim-bridge/bridge/retention"
	"github.com/scim-bridge/scim-bridge/bridge/simclock"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/backend"
	"github.com/scim-bridge/scim-bridge/config"
)

// longlifeOptions describe the long-life benchmark.
type longlifeOptions struct {
	Store string `json:"store"`
	// DSN is the PostgreSQL server to create a fresh database on.
	DSN string `json:"-"`
	// People is the company's size; Groups the store groups they are in.
	People int `json:"people"`
	Groups int `json:"groups"`
	Days   int `json:"days"`
	// Joiners, Leavers and Movers happen every day; a leaver is deactivated
	// and deleted DeleteAfter days later.
	Joiners     int `json:"joiners"`
	Leavers     int `json:"leavers"`
	Movers      int `json:"movers"`
	DeleteAfter int `json:"deleteAfter"`
	// IntentRetention and AuditRetention are the retention settings.
	IntentRetention time.Duration `json:"intentRetention"`
	AuditRetention  time.Duration `json:"auditRetention"`
	Seed            uint64        `json:"seed"`
}

// longlifeSample is one measurement.
type longlifeSample struct {
	Day               int    `json:"day"`
	DBBytes           int64  `json:"dbBytes"`
	RSSBytes          int64  `json:"rssBytes"`
	HeapBytes         uint64 `json:"heapBytes"`
	Intents           int    `json:"intents"`
	Pending           int    `json:"pending"`
	Audit             int    `json:"audit"`
	Users             int    `json:"users"`
	RemovedIdentities int    `json:"removedIdentities"`
	// History is the number of access-history entries.
	History        int           `json:"history"`
	Step           time.Duration `json:"step"`
	IdleStep       time.Duration `json:"idleStep"`
	Reconcile      time.Duration `json:"reconcile"`
	ReconcileDrift int           `json:"reconcileDrift"`
}

// longlifeReport is what the benchmark measured.
type longlifeReport struct {
	Options        longlifeOptions  `json:"options"`
	Samples        []longlifeSample `json:"samples"`
	IntentsWritten int64            `json:"intentsWritten"`
	SCIMCalls      int              `json:"scimCalls"`
	Pruned         map[string]int   `json:"pruned"`
	WallTime       time.Duration    `json:"wallTime"`
}

func runLonglife(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("longlife", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := config.Default().Retention
	o := longlifeOptions{}
	fs.StringVar(&o.Store, "store", "sqlite", "sqlite (a file in a temporary directory) or postgres (a fresh database on --dsn, dropped at the end)")
	fs.StringVar(&o.DSN, "dsn", os.Getenv("SCIM_BRIDGE_TEST_POSTGRES_DSN"), "PostgreSQL URL to create the database on (default: SCIM_BRIDGE_TEST_POSTGRES_DSN)")
	fs.IntVar(&o.People, "people", 10000, "active users, kept constant: every joiner replaces a leaver")
	fs.IntVar(&o.Groups, "groups", 20, "store groups (each grants one store); everyone is in one")
	fs.IntVar(&o.Days, "days", 365, "simulated days")
	fs.IntVar(&o.Joiners, "joiners", 30, "joiners a day (created, then pushed into a group)")
	fs.IntVar(&o.Leavers, "leavers", 30, "leavers a day (deactivated; deleted --delete-after days later)")
	fs.IntVar(&o.Movers, "movers", 1350, "people moved to another group a day, pushed as one removal and one addition PATCH per group")
	fs.IntVar(&o.DeleteAfter, "delete-after", 30, "days between a leaver's deactivation and its deletion")
	fs.DurationVar(&o.IntentRetention, "intent-retention", def.Intents, "retention.intents")
	fs.DurationVar(&o.AuditRetention, "audit-retention", def.Audit, "retention.audit")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed")
	output := fs.String("output", "text", "text or json")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: scim-bridge-load longlife [flags]

A year of IdP traffic for a company through the real store and bridge.Service, on a simulated clock, with pruning
on: --people users in --groups store groups, and every day --joiners joiners, --leavers leavers (deleted later) and
--movers group moves. Each day's intents are settled directly (as delivered); on the measurement days the real
delivery engine first steps against the simulator seeded with the account as it was. PostgreSQL gets a VACUUM a
simulated day, as autovacuum would give it in a real one. Measured once seeded, once the
outbox holds a retention period of history (start) and at the end: database size, resident memory, one delivery
step with the day's backlog, one idle step, one reconciliation run (dry, reading the whole account from the
simulator), and the row counts.

Flags:`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	switch {
	case o.Store != "sqlite" && o.Store != "postgres":
		fmt.Fprintf(stderr, "scim-bridge-load longlife: unknown --store %q (want sqlite or postgres)\n", o.Store)
		return exitUsage
	case o.Store == "postgres" && o.DSN == "":
		fmt.Fprintln(stderr, "scim-bridge-load longlife: --store postgres needs --dsn or SCIM_BRIDGE_TEST_POSTGRES_DSN")
		return exitUsage
	case o.People < 2*o.Groups || o.Groups < 2 || o.Days < 1 || o.Movers > o.People/2 || o.Leavers > o.People/4 ||
		o.Joiners != o.Leavers || o.DeleteAfter < 1:
		fmt.Fprintln(stderr, "scim-bridge-load longlife: want --groups >= 2, --people >= 2*groups, --days >= 1, --movers <= people/2, --leavers <= people/4, --joiners = --leavers, --delete-after >= 1")
		return exitUsage
	}
	rep, err := longlife(ctx, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge-load longlife: %v\n", err)
		return exitError
	}
	writeReport(stdout, *output, rep, func() { printLonglife(stdout, rep) })
	return exitOK
}

// llRun is the state of one long-life run.
type llRun struct {
	o      longlifeOptions
	ctx    context.Context
	clk    *simclock.Clock
	st     store.Store
	svc    *bridge.Service
	rng    *mrand.Rand
	size   func() (int64, error)
	groups []string // group ids, index = store number
	stores []simulator.SeedStore
	// active users' group index by user id, deactivated users by day.
	member      map[string]int
	activeIDs   []string
	deactivated map[int][]string
	next        int // next person number
	rep         *longlifeReport
	pruner      *retention.Pruner
}

func longlife(ctx context.Context, o longlifeOptions, progress io.Writer) (*longlifeReport, error) {
	wall := time.Now()
	log := zap.NewNop()
	st, size, maintain, cleanup, err := openLonglifeStore(ctx, o, log)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	r := &llRun{o: o, ctx: ctx, clk: simclock.New(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)), st: st, size: size,
		rng: mrand.New(mrand.NewPCG(o.Seed, 11)), member: map[string]int{}, deactivated: map[int][]string{},
		rep: &longlifeReport{Options: o}}
	if r.svc, err = bridge.NewService(bridge.Options{Store: st, Now: r.clk.Now, Logger: log, Mapping: bridge.Mapping{ByName: true}}); err != nil {
		return nil, err
	}
	if r.pruner, err = retention.New(retention.Options{Store: st, Intents: o.IntentRetention, Audit: o.AuditRetention,
		Now: r.clk.Now, Pause: time.Millisecond}); err != nil {
		return nil, err
	}
	if err := r.seed(); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	s, err := r.sample(0, nil)
	if err != nil {
		return nil, err
	}
	r.rep.Samples = append(r.rep.Samples, s)
	startDay := int(o.IntentRetention/(24*time.Hour)) + 1
	if startDay >= o.Days {
		startDay = (o.Days + 1) / 2
	}
	pruned := retention.Result{}
	lastTick := time.Now()
	for day := 1; day <= o.Days; day++ {
		res, err := r.runDay(day, day == startDay || day == o.Days, maintain)
		if err != nil {
			return nil, err
		}
		for k, n := range res {
			pruned[k] += n
		}
		if progress != nil && time.Since(lastTick) > 15*time.Second {
			lastTick = time.Now()
			fmt.Fprintf(progress, "longlife: day %d/%d, %d intents written, %d SCIM calls, %s\n", day, o.Days,
				r.rep.IntentsWritten, r.rep.SCIMCalls, time.Since(wall).Round(time.Second))
		}
	}
	r.rep.Pruned = pruned
	r.rep.WallTime = time.Since(wall)
	return r.rep, nil
}

// runDay simulates one day: its traffic, delivery settling an hour later,
// a pruning pass and the database's maintenance. On a measured day it also
// times delivery steps and samples the store and memory. It returns what the
// pruning deleted.
func (r *llRun) runDay(day int, measure bool, maintain func() error) (retention.Result, error) {
	r.clk.Set(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC).Add(time.Duration(day) * 24 * time.Hour))
	var before []bridge.Desired
	if measure {
		var err error
		if before, err = r.svc.Desired(r.ctx); err != nil {
			return nil, err
		}
	}
	if err := r.traffic(day); err != nil {
		return nil, fmt.Errorf("day %d: %w", day, err)
	}
	var steps *longlifeSample
	if measure {
		steps = &longlifeSample{}
		if err := r.stepTimes(before, steps); err != nil {
			return nil, fmt.Errorf("day %d: delivery steps: %w", day, err)
		}
	}
	r.clk.Set(r.clk.Now().Add(time.Hour))
	if err := r.settle(); err != nil {
		return nil, fmt.Errorf("day %d: settle: %w", day, err)
	}
	res, err := r.pruner.Once(r.ctx)
	if err != nil {
		return nil, fmt.Errorf("day %d: prune: %w", day, err)
	}
	if err := maintain(); err != nil {
		return nil, fmt.Errorf("day %d: database maintenance: %w", day, err)
	}
	if measure {
		s, err := r.sample(day, steps)
		if err != nil {
			return nil, err
		}
		r.rep.Samples = append(r.rep.Samples, s)
	}
	return res, nil
}

// openLonglifeStore opens a fresh store and returns a function measuring
// its size and one removing it.
//
// maintain does what the database's background maintenance would do in a
// day: on PostgreSQL a VACUUM (which autovacuum runs on its own, but a test
// server may have it off, and a simulated day lasts a few seconds), nothing
// on SQLite, which reuses freed pages by itself.
func openLonglifeStore(ctx context.Context, o longlifeOptions, log *zap.Logger) (st store.Store, size func() (int64, error), maintain func() error, cleanup func(), err error) {
	if o.Store == "sqlite" {
		dir, err := os.MkdirTemp("", "scim-bridge-longlife-")
		if err != nil {
			return nil, nil, nil, nil, err
		}
		path := filepath.Join(dir, "bridge.db")
		st, err := backend.Open(ctx, "sqlite:"+path, log)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, nil, nil, nil, err
		}
		size := func() (int64, error) {
			var n int64
			for _, suffix := range []string{"", "-wal"} {
				fi, err := os.Stat(path + suffix)
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				if err != nil {
					return 0, err
				}
				n += fi.Size()
			}
			return n, nil
		}
		return st, size, func() error { return nil }, func() { _ = st.Close(); _ = os.RemoveAll(dir) }, nil
	}
	u, err := url.Parse(o.DSN)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("--dsn: %w", err)
	}
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	name := "scim_bridge_longlife_" + hex.EncodeToString(suffix[:])
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("connect to the postgres database: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		_ = conn.Close(ctx)
		return nil, nil, nil, nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = conn.Close(context.WithoutCancel(ctx))
	}
	fresh := *u
	fresh.Path = "/" + name
	st, err = backend.Open(ctx, fresh.String(), log)
	if err != nil {
		drop()
		return nil, nil, nil, nil, err
	}
	own, err := pgx.Connect(ctx, fresh.String())
	if err != nil {
		_ = st.Close()
		drop()
		return nil, nil, nil, nil, err
	}
	size = func() (int64, error) {
		var n int64
		err := conn.QueryRow(ctx, "SELECT pg_database_size($1)", name).Scan(&n)
		return n, err
	}
	maintain = func() error {
		_, err := own.Exec(ctx, "VACUUM (ANALYZE)")
		return err
	}
	return st, size, maintain, func() { _ = own.Close(context.WithoutCancel(ctx)); _ = st.Close(); drop() }, nil
}

func (r *llRun) email(n int) string { return fmt.Sprintf("person%06d@corp.example", n) }

// seed creates the stores, their groups and the company, and settles the
// initial sync.
func (r *llRun) seed() error {
	cat := make([]bridge.CatalogStore, r.o.Groups)
	for i := range cat {
		hash := fmt.Sprintf("store%02d", i)
		cat[i] = bridge.CatalogStore{Hash: hash, Name: "Store " + strconv.Itoa(i)}
		r.stores = append(r.stores, simulator.SeedStore{Hash: hash, Name: cat[i].Name})
	}
	if _, err := r.svc.SetCatalog(r.ctx, cat); err != nil {
		return err
	}
	for i := range r.o.Groups {
		g, err := r.svc.CreateGroup(r.ctx, map[string]any{"displayName": fmt.Sprintf("store%02d", i)}, nil)
		if err != nil {
			return err
		}
		r.groups = append(r.groups, g.ID)
	}
	if err := r.join(r.o.People); err != nil {
		return err
	}
	return r.settle()
}

// join creates n people and pushes each into a random group.
func (r *llRun) join(n int) error {
	add := make([][]string, r.o.Groups)
	for range n {
		email := r.email(r.next)
		r.next++
		u, err := r.svc.CreateUser(r.ctx, map[string]any{"userName": email, "active": true, "externalId": "okta-" + strconv.Itoa(r.next),
			"emails": []any{map[string]any{"value": email, "type": "work", "primary": true}},
			"name":   map[string]any{"givenName": "Person", "familyName": strconv.Itoa(r.next)}})
		r.rep.SCIMCalls++
		if err != nil {
			return err
		}
		g := r.rng.IntN(r.o.Groups)
		add[g] = append(add[g], u.ID)
		r.member[u.ID] = g
		r.activeIDs = append(r.activeIDs, u.ID)
	}
	for g, ids := range add {
		if err := r.members(g, ids, nil); err != nil {
			return err
		}
	}
	return nil
}

// members pushes a group change in PATCHes of at most 500 members, as an IdP
// does.
func (r *llRun) members(g int, add, remove []string) error {
	for len(add) > 0 || len(remove) > 0 {
		a, rm := add[:min(len(add), 500)], remove[:min(len(remove), 500)]
		add, remove = add[len(a):], remove[len(rm):]
		_, err := r.svc.UpdateGroup(r.ctx, r.groups[g], nil, false, func(cur bridge.GroupView) (map[string]any, bridge.MemberChange, error) {
			return cur.Attributes, bridge.MemberChange{Add: a, Remove: rm}, nil
		})
		r.rep.SCIMCalls++
		if err != nil {
			return err
		}
	}
	return nil
}

// traffic is one day of the IdP: leavers deactivated, old leavers deleted,
// joiners created and pushed, movers moved between groups.
func (r *llRun) traffic(day int) error {
	// Leavers: random active people.
	for range r.o.Leavers {
		i := r.rng.IntN(len(r.activeIDs))
		id := r.activeIDs[i]
		r.activeIDs[i] = r.activeIDs[len(r.activeIDs)-1]
		r.activeIDs = r.activeIDs[:len(r.activeIDs)-1]
		_, err := r.svc.UpdateUser(r.ctx, id, nil, func(cur bridge.UserView) (map[string]any, error) {
			a := make(map[string]any, len(cur.Attributes)+1)
			for k, v := range cur.Attributes {
				a[k] = v
			}
			a["active"] = false
			return a, nil
		})
		r.rep.SCIMCalls++
		if err != nil {
			return err
		}
		delete(r.member, id)
		r.deactivated[day] = append(r.deactivated[day], id)
	}
	for _, id := range r.deactivated[day-r.o.DeleteAfter] {
		if err := r.svc.DeleteUser(r.ctx, id, nil); err != nil {
			return err
		}
		r.rep.SCIMCalls++
	}
	delete(r.deactivated, day-r.o.DeleteAfter)
	if err := r.join(r.o.Joiners); err != nil {
		return err
	}
	// Movers: each to another random group; one removal and one addition
	// PATCH per group.
	add, remove := make([][]string, r.o.Groups), make([][]string, r.o.Groups)
	moved := map[string]bool{}
	for len(moved) < r.o.Movers {
		id := r.activeIDs[r.rng.IntN(len(r.activeIDs))]
		if moved[id] {
			continue
		}
		moved[id] = true
		from := r.member[id]
		to := (from + 1 + r.rng.IntN(r.o.Groups-1)) % r.o.Groups
		remove[from] = append(remove[from], id)
		add[to] = append(add[to], id)
		r.member[id] = to
	}
	for g := range r.o.Groups {
		if err := r.members(g, nil, remove[g]); err != nil {
			return err
		}
	}
	for g := range r.o.Groups {
		if err := r.members(g, add[g], nil); err != nil {
			return err
		}
	}
	return nil
}

// settle marks every pending intent done, as delivery would have, in
// transactions of 1,000.
func (r *llRun) settle() error {
	for {
		var pending []store.Intent
		err := r.st.View(r.ctx, func(tx store.Tx) error {
			var err error
			pending, err = tx.ListIntents(r.ctx, store.IntentFilter{States: []store.IntentState{store.IntentPending}, Limit: 1000})
			return err
		})
		if err != nil || len(pending) == 0 {
			return err
		}
		now := store.Truncate(r.clk.Now())
		err = r.st.Update(r.ctx, func(tx store.Tx) error {
			// Each intent settles as applied, with the access-history entry
			// the delivery engine writes for it (an upper bound: net effect
			// would supersede some without an entry).
			history := make([]store.AccessChange, 0, len(pending))
			for _, in := range pending {
				in.State, in.DoneAt, in.Attempts = store.IntentDone, now, in.Attempts+1
				if err := tx.UpdateIntent(r.ctx, in, store.IntentPending); err != nil {
					return err
				}
				history = append(history, store.AccessChange{At: now, Email: in.Email, StoreHash: in.StoreHash, Change: in.Kind,
					Outcome: store.HistoryApplied, UserID: in.UserID, Source: in.Source, RequestID: in.RequestID, Cause: in.Cause,
					RequestedAt: in.CreatedAt})
			}
			return tx.AppendHistory(r.ctx, history)
		})
		if err != nil {
			return err
		}
		if last := pending[len(pending)-1].Seq; last > r.rep.IntentsWritten {
			r.rep.IntentsWritten = last
		}
	}
}

// simulatorFor returns a simulator whose account holds the desired state.
func (r *llRun) simulatorFor(desired []bridge.Desired) (*simulator.Server, *httptest.Server, error) {
	seed := &simulator.Seed{Account: simulator.SeedAccount{Name: "Corp"}, Stores: r.stores}
	for _, d := range desired {
		if d.Present && d.Email != "" {
			seed.Users = append(seed.Users, simulator.SeedUser{Email: d.Email, Stores: d.Stores})
		}
	}
	sim, err := simulator.New(simulator.Options{RateLimit: 1 << 30, RateWindow: time.Hour, Now: r.clk.Now, Seed: seed})
	if err != nil {
		return nil, nil, err
	}
	return sim, httptest.NewServer(sim), nil
}

// client returns a client of the simulator behind a budget (stored afresh)
// that never waits.
func (r *llRun) client(sim *simulator.Server, ts *httptest.Server) (*downstream.Client, *delivery.Budget, error) {
	const limit = 1 << 30
	raw, err := json.Marshal(delivery.NewBucket(limit, time.Hour, r.clk.Now()))
	if err != nil {
		return nil, nil, err
	}
	if err := r.st.Update(r.ctx, func(tx store.Tx) error { return tx.PutState(r.ctx, delivery.BudgetKey, raw) }); err != nil {
		return nil, nil, err
	}
	budget := delivery.NewBudget(r.st, limit, time.Hour, 0.15, r.clk.Now, nil)
	c, err := downstream.New(downstream.Options{BaseURL: ts.URL, AccountUUID: sim.AccountUUID(), Token: simulator.DefaultToken, Gate: budget})
	return c, budget, err
}

// stepTimes times the delivery engine on the day's backlog against the
// account as it was before the day: the mean of three working steps (after
// the catalog and capability reads of a new engine), then one step waiting
// for a spent budget once the plan is cached.
func (r *llRun) stepTimes(before []bridge.Desired, s *longlifeSample) error {
	sim, ts, err := r.simulatorFor(before)
	if err != nil {
		return err
	}
	defer ts.Close()
	client, budget, err := r.client(sim, ts)
	if err != nil {
		return err
	}
	eng, err := delivery.New(delivery.Options{Store: r.st, Client: client, Budget: budget, Service: r.svc, Now: r.clk.Now,
		MaxBatch: 50, RemovalLinger: time.Second, AdditionLinger: time.Second, Rand: func() float64 { return 0.5 }})
	if err != nil {
		return err
	}
	for range 2 {
		if _, err := eng.Step(r.ctx); err != nil {
			return err
		}
	}
	r.clk.Set(r.clk.Now().Add(time.Minute))
	var total time.Duration
	for range 3 {
		t := time.Now()
		if _, err := eng.Step(r.ctx); err != nil {
			return err
		}
		total += time.Since(t)
	}
	s.Step = total / 3
	// An engine whose budget (70 requests an hour, the real one) is spent:
	// its first step loads and plans the backlog, the second waits.
	spent := delivery.NewBudget(r.st, 70, time.Hour, 0.15, r.clk.Now, nil)
	for i := 0; ; i++ {
		ok, _, err := spent.TryTake(r.ctx, downstream.PriorityAccountRemoval)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if i > 10000 {
			return errors.New("the budget does not run out")
		}
	}
	idle, err := delivery.New(delivery.Options{Store: r.st, Client: client, Budget: spent, Service: r.svc, Now: r.clk.Now,
		MaxBatch: 50, RemovalLinger: time.Second, AdditionLinger: time.Second, Rand: func() float64 { return 0.5 }})
	if err != nil {
		return err
	}
	if _, err := idle.Step(r.ctx); err != nil {
		return err
	}
	t := time.Now()
	if _, err := idle.Step(r.ctx); err != nil {
		return err
	}
	s.IdleStep = time.Since(t)
	return nil
}

// sample measures the store, the process and one reconciliation run.
func (r *llRun) sample(day int, steps *longlifeSample) (longlifeSample, error) {
	s := longlifeSample{Day: day}
	if steps != nil {
		s.Step, s.IdleStep = steps.Step, steps.IdleStep
	}
	desired, err := r.svc.Desired(r.ctx)
	if err != nil {
		return s, err
	}
	sim, ts, err := r.simulatorFor(desired)
	if err != nil {
		return s, err
	}
	defer ts.Close()
	client, _, err := r.client(sim, ts)
	if err != nil {
		return s, err
	}
	run, err := reconcile.New(reconcile.Options{Store: r.st, Service: r.svc, Client: client, Now: r.clk.Now,
		Policy: reconcile.Policy{Unmanaged: reconcile.UnmanagedReport, MaxRemovals: 10}, PageSize: 100})
	if err != nil {
		return s, err
	}
	t := time.Now()
	res, err := run.RunOnce(r.ctx, true)
	if err != nil {
		return s, fmt.Errorf("reconcile: %w", err)
	}
	s.Reconcile, s.ReconcileDrift = time.Since(t), res.Plan.Drift()

	err = r.st.View(r.ctx, func(tx store.Tx) error {
		var err error
		if s.Intents, err = tx.CountIntents(r.ctx); err != nil {
			return err
		}
		if s.Pending, err = tx.CountIntents(r.ctx, store.IntentPending); err != nil {
			return err
		}
		ev, err := tx.ListAudit(r.ctx, -1)
		if err != nil {
			return err
		}
		s.Audit = len(ev)
		if _, s.Users, err = tx.ListUsers(r.ctx, store.Query{Limit: 0}); err != nil {
			return err
		}
		ids, err := tx.ListRemovedIdentities(r.ctx)
		s.RemovedIdentities = len(ids)
		if err != nil {
			return err
		}
		// Counted a page at a time: holding a million entries would show in
		// the RSS this sample measures.
		for f := (store.HistoryFilter{Limit: 10000}); ; {
			page, err := tx.ListHistory(r.ctx, f)
			if err != nil || len(page) == 0 {
				return err
			}
			s.History += len(page)
			f.AfterSeq = page[len(page)-1].Seq
		}
	})
	if err != nil {
		return s, err
	}
	if s.DBBytes, err = r.size(); err != nil {
		return s, err
	}
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.HeapBytes = ms.HeapInuse
	s.RSSBytes = rss()
	return s, nil
}

// rss returns the process's resident set size (0 where /proc is missing).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func printLonglife(w io.Writer, r *longlifeReport) {
	o := r.Options
	fmt.Fprintf(w, `Long-life benchmark (%s; %d people in %d store groups; %d days of %d joiners, %d leavers deleted after %d days, %d movers;
  intent retention %s, audit retention %s; intents settled directly, each with the access-history entry delivery
  writes; the delivery engine measured on the day's backlog)
  intents written %d, SCIM calls %d, pruned: %d done, %d superseded, %d dead, %d audit events; wall time %s

`, o.Store, o.People, o.Groups, o.Days, o.Joiners, o.Leavers, o.DeleteAfter, o.Movers, o.IntentRetention, o.AuditRetention,
		r.IntentsWritten, r.SCIMCalls, r.Pruned[retention.KindDone], r.Pruned[retention.KindSuperseded], r.Pruned[retention.KindDead],
		r.Pruned[retention.KindAudit], r.WallTime.Round(time.Second))
	samples := append([]longlifeSample(nil), r.Samples...)
	sort.Slice(samples, func(i, j int) bool { return samples[i].Day < samples[j].Day })
	fmt.Fprintf(w, "  %-5s %10s %9s %8s %8s %8s %8s %7s %8s %10s %10s %10s %6s\n", "day", "db MiB", "rss MiB", "intents", "pending",
		"audit", "users", "deleted", "history", "step", "idle step", "reconcile", "drift")
	for _, s := range samples {
		fmt.Fprintf(w, "  %-5d %10.1f %9.1f %8d %8d %8d %8d %7d %8d %10s %10s %10s %6d\n", s.Day, float64(s.DBBytes)/(1<<20),
			float64(s.RSSBytes)/(1<<20), s.Intents, s.Pending, s.Audit, s.Users, s.RemovedIdentities, s.History,
			s.Step.Round(time.Microsecond), s.IdleStep.Round(time.Microsecond), s.Reconcile.Round(time.Millisecond), s.ReconcileDrift)
	}
	if n := len(samples); n >= 3 {
		start, end := samples[n-2], samples[n-1]
		ratio := func(a, b float64) string {
			if a == 0 {
				return "-"
			}
			return fmt.Sprintf("%.2f", b/a)
		}
		fmt.Fprintf(w, "\n  end/start (target <= 1.5): db %s, rss %s, step %s, idle step %s, reconcile %s, intents %s, audit %s\n",
			ratio(float64(start.DBBytes), float64(end.DBBytes)), ratio(float64(start.RSSBytes), float64(end.RSSBytes)),
			ratio(float64(start.Step), float64(end.Step)), ratio(float64(start.IdleStep), float64(end.IdleStep)),
			ratio(float64(start.Reconcile), float64(end.Reconcile)), ratio(float64(start.Intents), float64(end.Intents)),
			ratio(float64(start.Audit), float64(end.Audit)))
	}
}
