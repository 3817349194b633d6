package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/delivery"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/leader"
	"github.com/scim-bridge/scim-bridge/bridge/reconcile"
	"github.com/scim-bridge/scim-bridge/bridge/retention"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/telemetry"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/scim"
)

// shutdownTimeout bounds a graceful stop: in-flight SCIM requests finish (each
// is one short transaction) and the leader's current step completes.
const shutdownTimeout = 15 * time.Second

// App is a running bridge: SCIM server, telemetry server, and, on the replica
// holding the lease, the delivery engine and scheduled reconciliation.
type App struct {
	*Deps
	engine    *delivery.Engine
	runner    *reconcile.Runner
	elector   *leader.Elector
	scim      http.Handler
	telemetry http.Handler
	leaders   []leader.Work
	status    []statusPart
	started   time.Time

	downMu     sync.Mutex
	downOK     bool
	downReason string
}

// statusPart adds a section to /status.
type statusPart struct {
	name string
	get  func(ctx context.Context) any
}

// New builds a bridge from a validated configuration. It opens the store
// exclusively (a SQLite file is locked against a second serving process).
func New(ctx context.Context, cfg config.Config, log *zap.Logger, o Options) (*App, error) {
	var engine atomic.Pointer[delivery.Engine]
	o.Exclusive = true
	o.OnCommit = func() {
		if e := engine.Load(); e != nil {
			e.Notify()
		}
	}
	d, err := Open(ctx, cfg, log, o)
	if err != nil {
		return nil, err
	}
	a := &App{Deps: d, started: time.Now(), downOK: true}
	d.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "build_info",
			Help: "Build information; the value is 1.", ConstLabels: prometheus.Labels{"version": o.Version}}, func() float64 { return 1 }))
	if err := a.setupLeaderWork(cfg, log, &engine); err != nil {
		_ = d.Close()
		return nil, err
	}
	a.setupElection(cfg, log)
	a.registerBudgetMetrics()
	if err := a.setupSCIM(cfg, log); err != nil {
		_ = d.Close()
		return nil, err
	}
	a.telemetry = telemetry.Handler(telemetry.Options{Gatherer: d.Registry, Store: d.Store, Downstream: a.downstream, Status: a.statusDoc})
	return a, nil
}

// setupLeaderWork builds what only the lease holder runs: the delivery
// engine (published in engine, so that commits wake it), scheduled
// reconciliation and retention pruning, which keeps what a reconciliation
// in progress still needs.
func (a *App) setupLeaderWork(cfg config.Config, log *zap.Logger, engine *atomic.Pointer[delivery.Engine]) error {
	d := a.Deps
	dm := delivery.NewMetrics(d.Registry)
	dm.SetConfiguredBatch(cfg.BigCommerce.MaxBatch)
	eng, err := delivery.New(delivery.Options{
		Store: d.Store, Client: d.Client, Budget: d.Budget, Service: d.Service, Logger: log, Metrics: dm,
		MaxBatch: cfg.BigCommerce.MaxBatch, RemovalLinger: cfg.Delivery.RemovalLinger,
		AdditionLinger: cfg.Delivery.AdditionLinger, MaxAttempts: cfg.Delivery.MaxAttempts, RetryBackoff: cfg.Delivery.RetryBackoff,
		DeprovisionSLO: cfg.Delivery.DeprovisionSLO, Now: d.Now,
	})
	if err != nil {
		return err
	}
	engine.Store(eng)
	a.engine = eng
	a.leaders = append(a.leaders, eng.RunLeased)

	runner, err := reconcile.New(reconcile.Options{
		Store: d.Store, Service: d.Service, Client: d.Client, Logger: log, Metrics: reconcile.NewMetrics(d.Registry),
		Interval: cfg.Reconcile.Interval, PageSize: cfg.BigCommerce.PageSize, Now: d.Now,
		Policy: reconcile.Policy{Unmanaged: cfg.Reconcile.Unmanaged, Protected: cfg.Reconcile.ProtectedEmails, MaxRemovals: cfg.Reconcile.MaxRemovals},
	})
	if err != nil {
		return err
	}
	a.runner = runner
	a.leaders = append(a.leaders, func(ctx context.Context, _ store.Lease) error { return runner.Run(ctx) })
	a.status = append(a.status, statusPart{"reconcile", func(context.Context) any { return runner.Status() }})
	pruner, err := retention.New(retention.Options{
		Store: d.Store, Intents: cfg.Retention.Intents, Audit: cfg.Retention.Audit, History: cfg.Retention.History,
		Floor: runner.PruneFloor, Now: d.Now,
		Logger: log, Registerer: d.Registry,
	})
	if err != nil {
		return err
	}
	a.leaders = append(a.leaders, func(ctx context.Context, _ store.Lease) error { return pruner.Run(ctx) })
	return nil
}

// setupElection sets up the election for the delivery lease under a
// replica id unique to this process, and the gauge that shows whether this
// replica holds it.
func (a *App) setupElection(cfg config.Config, log *zap.Logger) {
	host, _ := os.Hostname()
	var suffix [4]byte
	_, _ = rand.Read(suffix[:])
	a.elector = leader.New(a.Store, "delivery", host+"-"+hex.EncodeToString(suffix[:]), cfg.Delivery.LeaseTTL, log)
	leaderGauge := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "leader",
		Help: "1 when this replica holds the delivery lease (runs delivery and reconciliation)."})
	a.Registry.MustRegister(leaderGauge)
	a.elector.OnChange = func(l bool) { leaderGauge.Set(map[bool]float64{true: 1, false: 0}[l]) }
}

// setupSCIM builds the SCIM handler: its tokens, the networks it accepts
// and trusts, its limits and its metrics.
func (a *App) setupSCIM(cfg config.Config, log *zap.Logger) error {
	tokens := make([]scim.TokenHash, 0, len(cfg.SCIM.Tokens))
	for i, t := range cfg.SCIM.Tokens {
		h, err := scim.ParseToken(t.Value())
		if err != nil {
			return fmt.Errorf("scim.tokens[%d]: %w", i, err)
		}
		tokens = append(tokens, h)
	}
	allow, err := parseCIDRs(cfg.SCIM.AllowCIDRs, "scim.allow_cidrs")
	if err != nil {
		return err
	}
	trust, err := parseCIDRs(cfg.SCIM.TrustProxyCIDRs, "scim.trust_proxy_cidrs")
	if err != nil {
		return err
	}
	sm := scim.NewMetrics(a.Registry)
	a.Registry.MustRegister(newGroupsCollector(a.Service))
	gin.SetMode(gin.ReleaseMode)
	a.scim, err = scim.NewHandler(scim.Options{
		Service: a.Service, Tokens: tokens, PublicURL: cfg.SCIM.PublicURL, MaxBodyBytes: cfg.SCIM.MaxBodyBytes,
		MaxResults: cfg.SCIM.MaxResults, Logger: log,
		AllowCIDRs: allow, TrustProxyCIDRs: trust,
		RequestsPerSecond: cfg.SCIM.RequestsPerSecond, Burst: cfg.SCIM.Burst, Throttled: sm.Throttled, Observe: sm.Observe,
	})
	return err
}

// registerBudgetMetrics exposes the request budget as of its last change.
func (a *App) registerBudgetMetrics() {
	a.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "budget_available_requests",
			Help: "Downstream requests the budget allows now (removals may use all; other work keeps the reserve)."},
			func() float64 { return a.Budget.Last().Available(time.Now()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "budget_capacity_requests",
			Help: "Requests per window (SCIM_BRIDGE_BC_RATE_LIMIT)."}, func() float64 { return float64(a.Rate.N) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "budget_seconds_until_next_request",
			Help: "Seconds until the budget allows one more request (0 when one is available)."},
			func() float64 {
				now := time.Now()
				return max(0, a.Budget.Last().ReadyAt(now, 0).Sub(now).Seconds())
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "scim_bridge", Name: "dead_letters",
			Help: "Intents in the dead letters, waiting for an operator (scim-bridge dead-letters)."},
			func() float64 {
				n, err := a.CountIntents(context.Background(), store.IntentDead)
				if err != nil {
					return -1
				}
				return float64(n)
			}),
	)
}

// downstream reports BigCommerce's reachability as last seen.
func (a *App) downstream() (bool, string) {
	a.downMu.Lock()
	ok, reason := a.downOK, a.downReason
	a.downMu.Unlock()
	if ok {
		if st := a.engine.Status(); st.LastError != "" {
			return false, st.LastError
		}
	}
	return ok, reason
}

func (a *App) setDownstream(ok bool, reason string) {
	a.downMu.Lock()
	a.downOK, a.downReason = ok, reason
	a.downMu.Unlock()
}

// statusDoc is the /status document. Unknown times are null (never
// 0001-01-01), budget figures have two decimals, and the pending operations
// are keyed by priority name.
func (a *App) statusDoc(ctx context.Context) any {
	b := a.Budget.Last()
	now := time.Now()
	dead, _ := a.CountIntents(ctx, store.IntentDead)
	ok, reason := a.downstream()
	var next any
	if at := b.ReadyAt(now, 0); !at.After(now) {
		next = now.UTC()
	} else {
		next = at.UTC()
	}
	serverLeft := any(b.ServerLeft)
	if b.ServerLeft < 0 {
		serverLeft = nil // unknown until BigCommerce's headers say
	}
	doc := map[string]any{
		"version":   a.Version,
		"startedAt": a.started.UTC(),
		"leader":    map[string]any{"isLeader": a.elector.IsLeader(), "epoch": a.elector.Epoch()},
		"budget": map[string]any{
			"rateLimit": a.Rate.String(), "available": round2(b.Available(now)), "capacity": a.Rate.N,
			"pausedUntil": timeOrNil(b.PausedUntil), "serverLeft": serverLeft, "nextRequestAt": next,
		},
		"delivery":    deliveryStatus(a.engine.Status()),
		"quota":       a.Budget.Quota(),
		"deadLetters": dead,
		"bigcommerce": map[string]any{"reachable": ok, "reason": reason, "endpoint": GraphQLEndpoint(a.Config.BigCommerce)},
	}
	for _, p := range a.status {
		doc[p.name] = p.get(ctx)
	}
	return cleanStatus(doc)
}

// deliveryStatus is the delivery engine's status with its pending
// operations keyed by priority name ("account_removal": 2, ...) instead of
// a list indexed by priority.
func deliveryStatus(st delivery.Status) map[string]any {
	m := jsonObject(st)
	byPrio := map[string]int{}
	for i, n := range st.PendingByPrio {
		byPrio[downstream.Priority(i).String()] = n
	}
	m["pendingByPriority"] = byPrio
	return m
}

// jsonObject is v as its JSON object (its exported fields under their JSON
// names), or an empty object when v does not encode as one.
func jsonObject(v any) map[string]any {
	raw, err := json.Marshal(v)
	m := map[string]any{}
	if err == nil {
		_ = json.Unmarshal(raw, &m)
	}
	return m
}

// cleanStatus makes a status document readable: it goes through JSON (so
// every section is plain maps and lists), replaces zero times, which a
// section may still carry, with null, and rounds numbers to two decimals.
func cleanStatus(doc map[string]any) map[string]any {
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		case string:
			if strings.HasPrefix(x, "0001-01-01T00:00:00") {
				return nil
			}
		case float64:
			return round2(x)
		}
		return v
	}
	return walk(jsonObject(doc)).(map[string]any)
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// CredentialError turns the failure of the account query into the operator's
// message when it is a configuration problem (wrong token, missing scope,
// unknown account), or returns nil. Each message names where the setting to
// check came from (the variable, the file, the flag).
func CredentialError(cfg config.Config, err error) error {
	var de *downstream.Error
	if !errors.As(err, &de) {
		return nil
	}
	bc := cfg.BigCommerce
	switch de.Reason {
	case downstream.ReasonUnauthorized:
		return fmt.Errorf("BigCommerce refused the API token (401): check the token in %s; it must be an account-level API token",
			cfg.Origin("bigcommerce.token").Describe())
	case downstream.ReasonAccountNotFound:
		return fmt.Errorf("BigCommerce answered 404 (not found) for %s: either the account UUID %s is wrong (check %s) "+
			"or the API URL %s is not the API base (check %s: https://api.bigcommerce.com for BigCommerce, or the simulator's http://HOST:PORT)",
			GraphQLEndpoint(bc), bc.AccountUUID, cfg.Origin("bigcommerce.account_uuid").Describe(),
			RedactURL(bc.APIURL), cfg.Origin("bigcommerce.api_url").Describe())
	case downstream.ReasonForbidden:
		return errors.New("the BigCommerce token lacks a scope (403/FORBIDDEN): grant Account (read-only), Account Stores (read) and Account Users (read, write, delete)")
	}
	return nil
}

// parseCIDRs parses a configured list of networks (validated already).
func parseCIDRs(list []string, field string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for i, s := range list {
		p, err := config.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// checkCredentials spends one request on the account query, at start, so a
// wrong token, a missing scope or an unknown account fails loudly. It waits for
// the budget at most a few seconds; when the budget has nothing to give (a
// restart loop, say) the check is skipped rather than overspending.
func (a *App) checkCredentials(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	info, err := a.Client.Account(cctx, downstream.PriorityRead)
	var de *downstream.Error
	switch {
	case err == nil:
		a.Log.Info("BigCommerce credentials accepted", zap.String("account_id", info.ID))
		return nil
	case CredentialError(a.Config, err) != nil:
		return CredentialError(a.Config, err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &de) && de.Reason == downstream.ReasonBudget:
		a.Log.Warn("credential check skipped: the request budget has nothing to spare now")
		return nil
	default:
		reason := "unknown"
		if errors.As(err, &de) {
			reason = de.Reason
		}
		a.setDownstream(false, reason)
		a.Log.Warn("BigCommerce unreachable at start; SCIM keeps working and delivery retries", zap.String("reason", reason))
		return nil
	}
}

// Run serves until ctx ends, then shuts down gracefully.
func (a *App) Run(ctx context.Context, scimLn, telemetryLn net.Listener) error {
	defer a.Close()
	if err := a.checkCredentials(ctx); err != nil {
		return err
	}
	scimSrv := &http.Server{Handler: a.scim, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute, ErrorLog: zap.NewStdLog(a.Log.Named("http"))}
	telSrv := &http.Server{Handler: a.telemetry, ReadHeaderTimeout: 10 * time.Second, ErrorLog: zap.NewStdLog(a.Log.Named("telemetry"))}
	errc := make(chan error, 3)
	go func() { errc <- serveHTTP(scimSrv, scimLn, a.Config.TLS) }()
	go func() { errc <- serveHTTP(telSrv, telemetryLn, config.TLS{}) }()
	lctx, stopLeader := context.WithCancel(ctx)
	leaderDone := make(chan struct{})
	go func() { _ = a.elector.Run(lctx, a.leaders...); close(leaderDone) }()
	a.Log.Info("scim-bridge serving", zap.String("scim", scimLn.Addr().String()+scim.Prefix), zap.String("telemetry", telemetryLn.Addr().String()),
		zap.String("store", DescribeStore(a.Config.Database.Value())), zap.String("bigcommerce_api", GraphQLEndpoint(a.Config.BigCommerce)),
		zap.String("version", a.Version))

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	// SCIM first: every request answered 2xx has committed its intents, so the
	// outbox is consistent whenever the process stops.
	if e := scimSrv.Shutdown(sctx); e != nil {
		a.Log.Warn("SCIM server shutdown", zap.Error(e))
	}
	stopLeader()
	<-leaderDone
	_ = telSrv.Shutdown(sctx)
	return err
}

func serveHTTP(srv *http.Server, ln net.Listener, tlsCfg config.TLS) error {
	var err error
	if tlsCfg.CertFile != "" {
		srv.TLSConfig, err = newCertReloader(tlsCfg.CertFile, tlsCfg.KeyFile).tlsConfig()
		if err != nil {
			return err
		}
		err = srv.ServeTLS(ln, "", "")
	} else {
		err = srv.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Runner is the scheduled reconciliation; RunOnce runs it at once.
func (a *App) Runner() *reconcile.Runner { return a.runner }
