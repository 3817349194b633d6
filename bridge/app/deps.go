package app

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/delivery"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/backend"
	"github.com/scim-bridge/scim-bridge/config"
)

// Options tune how the components are built.
type Options struct {
	// Version is the build's version: in /status, scim_bridge_build_info and
	// the User-Agent of BigCommerce requests.
	Version string
	// Exclusive locks a SQLite store against a second serving process (New
	// always sets it; operator commands leave it unset).
	Exclusive bool
	// OnCommit, when set, is called after every committed SCIM write.
	OnCommit func()
	// Now is the clock of every time the bridge records or plans by (SCIM
	// writes, delivery, the request budget, reconciliation, the access
	// history); time.Now when nil. Tests run the bridge on a simulated clock.
	Now func() time.Time
}

// Deps are the components built from a configuration, shared by the running
// bridge and the one-shot operator commands (reconcile, report, dead-letters).
type Deps struct {
	Config   config.Config
	Log      *zap.Logger
	Registry *prometheus.Registry
	Store    store.Store
	Service  *bridge.Service
	Budget   *delivery.Budget
	Client   *downstream.Client
	Rate     config.RateLimit
	Now      func() time.Time
	Version  string
}

// Open opens the store and builds the service, the request budget and the
// BigCommerce client, whose requests are counted on the Registry.
func Open(ctx context.Context, cfg config.Config, log *zap.Logger, o Options) (*Deps, error) {
	rate, err := config.ParseRateLimit(cfg.BigCommerce.RateLimit)
	if err != nil {
		return nil, err
	}
	source, err := bridge.ParseEmailSource(cfg.Mapping.EmailSource)
	if err != nil {
		return nil, err
	}
	st, err := backend.OpenWith(ctx, cfg.Database.Value(), log, backend.Options{Exclusive: o.Exclusive})
	if err != nil {
		return nil, err
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	d := &Deps{Config: cfg, Log: log, Registry: prometheus.NewRegistry(), Store: st, Rate: rate, Now: now, Version: o.Version}
	d.Service, err = bridge.NewService(bridge.Options{
		Store: st, Logger: log, EmailSource: source, OnCommit: o.OnCommit, Now: now,
		Mapping: bridge.Mapping{Explicit: cfg.Mapping.Groups, ByName: cfg.Mapping.MatchStoreNames},
	})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	d.Budget = delivery.NewBudget(st, rate.N, rate.Window, cfg.Delivery.Reserve, d.Now, log)
	d.Client, err = NewClient(cfg, d.Budget, log, o.Version, downstream.NewMetrics(d.Registry).Observe)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the store.
func (d *Deps) Close() error { return d.Store.Close() }

// NewClient is the BigCommerce client of a configuration, spending through
// gate and reporting every HTTP request to observe (nil: none).
func NewClient(cfg config.Config, gate downstream.Gate, log *zap.Logger, version string,
	observe func(operation string, status int, reason string, d time.Duration),
) (*downstream.Client, error) {
	return downstream.New(downstream.Options{
		BaseURL: cfg.BigCommerce.APIURL, AccountUUID: cfg.BigCommerce.AccountUUID, Token: cfg.BigCommerce.Token.Value(),
		HTTPClient: &http.Client{Timeout: cfg.BigCommerce.Timeout}, Gate: gate, Logger: log,
		PageSize: cfg.BigCommerce.PageSize, Observe: observe, UserAgent: "scim-bridge/" + version,
	})
}

// CountIntents is the number of intents in a state.
func (d *Deps) CountIntents(ctx context.Context, state store.IntentState) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var n int
	err := d.Store.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.CountIntents(ctx, state)
		return err
	})
	return n, err
}
