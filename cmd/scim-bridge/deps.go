package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/delivery"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/backend"
	"github.com/scim-bridge/scim-bridge/config"
)

// configFlags are the flags every configuration-driven command accepts. Flags
// override the environment, which overrides the file.
type configFlags struct {
	path            string
	listen          string
	telemetryListen string
	database        string
	logFormat       string
	logLevel        string
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "config", "", "YAML configuration `file` (default: $"+config.EnvConfigFile+"; its settings are overridden by SCIM_BRIDGE_* variables and by flags)")
	fs.StringVar(&f.listen, "listen", "", "SCIM listener `address` (SCIM_BRIDGE_LISTEN)")
	fs.StringVar(&f.telemetryListen, "telemetry-listen", "", "telemetry listener `address` (SCIM_BRIDGE_TELEMETRY_LISTEN)")
	fs.StringVar(&f.database, "database", "", "store: sqlite:PATH or postgres://... (SCIM_BRIDGE_DATABASE)")
	fs.StringVar(&f.logFormat, "log-format", "", "json or console (SCIM_BRIDGE_LOG_FORMAT)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (SCIM_BRIDGE_LOG_LEVEL)")
}

// read reads the configuration (file, environment, flags) without resolving
// or validating it. An unreadable file or a YAML syntax error leaves it
// unusable (fatal); problems the loader could skip (unknown keys and
// variables, values of the wrong type, bad flag values) are returned with the
// configuration.
func (f *configFlags) read(environ []string) (cfg config.Config, fatal, problems error) {
	cfg, err := config.LoadEnviron(f.path, environ)
	if err != nil && !errors.Is(err, config.ErrPartial) {
		return cfg, err, nil
	}
	errs := []error{err}
	for _, o := range []struct{ v, key, flag string }{
		{f.listen, "listen", "--listen"}, {f.telemetryListen, "telemetry_listen", "--telemetry-listen"},
		{f.database, "database", "--database"}, {f.logFormat, "log.format", "--log-format"}, {f.logLevel, "log.level", "--log-level"},
	} {
		if o.v != "" {
			errs = append(errs, cfg.Set(o.key, o.v, o.flag))
		}
	}
	return cfg, nil, errors.Join(errs...)
}

// load reads the configuration (file, environment, flags), resolves secrets
// given by file, and validates it, returning every problem at once (one per
// line, each starting with the variable, the flag or the field path that set
// the value).
func (f *configFlags) load(environ []string) (config.Config, error) {
	cfg, fatal, problems := f.read(environ)
	if fatal != nil {
		return cfg, fatal
	}
	return cfg, errors.Join(problems, cfg.Resolve(), cfg.Validate())
}

// configError prints configuration problems one per line with a hint.
func configError(w io.Writer, cmd string, err error) int {
	fmt.Fprintf(w, "scim-bridge %s: the configuration has problems:\n", cmd)
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "  - %s\n", line)
	}
	fmt.Fprintln(w, `Fix them in the file given with --config, in the SCIM_BRIDGE_* environment or in flags; "scim-bridge validate" checks a configuration.`)
	return exitUsage
}

// newLogger builds the process logger: JSON (default) or console, to w, behind
// the key-excluding core (logging.go) with c.ExcludeKeys added to its list.
// The console format colours the level only when w is a terminal, so files
// and pipes get no escape sequences.
func newLogger(c config.Log, w io.Writer) (*zap.Logger, error) {
	level, err := parseLevel(c.Level)
	if err != nil {
		return nil, err
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if c.Format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		if isTerminal(w) {
			encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	return zap.New(newExcludingCore(zapcore.NewCore(enc, zapcore.AddSync(w), level), c.ExcludeKeys)), nil
}

func parseLevel(s string) (zapcore.Level, error) {
	var level zapcore.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return level, fmt.Errorf("log level %q: %w", s, err)
	}
	return level, nil
}

// openDeps loads the configuration and builds the components for a one-shot
// command (reconcile, report, dead-letters), printing what went wrong. On
// failure it returns nil and the exit status the command should return. Its
// logger writes plain text lines for people (see newCommandLogger), never
// JSON: the command's own output is for a terminal.
func openDeps(ctx context.Context, cf *configFlags, cmd string, stderr io.Writer) (*deps, int) {
	cfg, err := cf.load(os.Environ())
	if err != nil {
		return nil, configError(stderr, cmd, err)
	}
	log, err := newCommandLogger(cfg.Log, cmd, stderr)
	if err != nil {
		return nil, configError(stderr, cmd, err)
	}
	d, err := buildDeps(ctx, cfg, log, nil, false)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge %s: %v\n", cmd, err)
		return nil, exitError
	}
	return d, exitOK
}

// deps are the components built from a configuration, shared by serve,
// reconcile, report and dead-letters.
type deps struct {
	cfg    config.Config
	log    *zap.Logger
	reg    *prometheus.Registry
	store  store.Store
	svc    *bridge.Service
	budget *delivery.Budget
	client *downstream.Client
	rate   config.RateLimit
	now    func() time.Time
}

// buildDeps opens the store and builds the service, the budget and the
// BigCommerce client. notify, when set, is called after every committed SCIM
// write. exclusive is set by the serving commands: a SQLite store is then
// locked against a second serving process.
func buildDeps(ctx context.Context, cfg config.Config, log *zap.Logger, notify func(), exclusive bool) (*deps, error) {
	rate, err := config.ParseRateLimit(cfg.BigCommerce.RateLimit)
	if err != nil {
		return nil, err
	}
	source, err := bridge.ParseEmailSource(cfg.Mapping.EmailSource)
	if err != nil {
		return nil, err
	}
	st, err := backend.OpenWith(ctx, cfg.Database.Value(), log, backend.Options{Exclusive: exclusive})
	if err != nil {
		return nil, err
	}
	d := &deps{cfg: cfg, log: log, reg: prometheus.NewRegistry(), store: st, rate: rate, now: time.Now}
	d.svc, err = bridge.NewService(bridge.Options{
		Store: st, Logger: log, EmailSource: source, OnCommit: notify,
		Mapping: bridge.Mapping{Explicit: cfg.Mapping.Groups, ByName: cfg.Mapping.MatchStoreNames},
	})
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	d.budget = delivery.NewBudget(st, rate.N, rate.Window, cfg.Delivery.Reserve, d.now, log)
	d.client, err = newObservedDownstreamClient(cfg, d.budget, log, newDownstreamMetrics(d.reg).observe)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return d, nil
}

func (d *deps) Close() error { return d.store.Close() }

// newDownstreamClient is the BigCommerce client of a configuration, spending
// through gate.
func newDownstreamClient(cfg config.Config, gate downstream.Gate, log *zap.Logger) (*downstream.Client, error) {
	return newObservedDownstreamClient(cfg, gate, log, nil)
}

// newObservedDownstreamClient is newDownstreamClient reporting every HTTP
// request to observe (nil: none).
func newObservedDownstreamClient(cfg config.Config, gate downstream.Gate, log *zap.Logger,
	observe func(operation string, status int, reason string, d time.Duration),
) (*downstream.Client, error) {
	return downstream.New(downstream.Options{
		BaseURL: cfg.BigCommerce.APIURL, AccountUUID: cfg.BigCommerce.AccountUUID, Token: cfg.BigCommerce.Token.Value(),
		HTTPClient: &http.Client{Timeout: cfg.BigCommerce.Timeout}, Gate: gate, Logger: log,
		PageSize: cfg.BigCommerce.PageSize, Observe: observe, UserAgent: "scim-bridge/" + version,
	})
}
