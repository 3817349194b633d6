package apptest

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/scim-bridge/scim-bridge/bridge/app"
	"github.com/scim-bridge/scim-bridge/config"
)

// Options tune [Start].
type Options struct {
	// App are the options of app.New (the version the bridge reports, its
	// clock, ...).
	App app.Options
	// Logger is the bridge's logger; a zaptest logger on the test when nil.
	Logger *zap.Logger
}

// Bridge is a bridge running in the test's process.
type Bridge struct {
	// App is the running assembly (its store, registry, reconciliation runner).
	App *app.App
	// SCIMURL is the SCIM base URL, http://127.0.0.1:PORT/scim/v2.
	SCIMURL string
	// TelemetryURL is the telemetry listener, http://127.0.0.1:PORT.
	TelemetryURL string
	// Client talks SCIM to the bridge with the first token of the
	// configuration.
	Client Client

	stopOnce sync.Once
	stop     func()
}

// Start validates cfg, builds the bridge with app.New and runs it on two
// listeners of its own on 127.0.0.1 (cfg.Listen and cfg.TelemetryListen are
// not used). The bridge stops when the test ends, or at [Bridge.Stop]; either
// fails the test if the bridge's Run returned an error.
func Start(tb testing.TB, cfg config.Config, o Options) *Bridge {
	tb.Helper()
	require.NoError(tb, cfg.Validate())
	log := o.Logger
	if log == nil {
		log = zaptest.NewLogger(tb)
	}
	ctx, cancel := context.WithCancel(tb.Context())
	a, err := app.New(ctx, cfg, log, o.App)
	if err != nil {
		cancel()
		require.NoError(tb, err)
	}
	scimLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	telLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, scimLn, telLn) }()
	b := &Bridge{
		App:          a,
		SCIMURL:      "http://" + scimLn.Addr().String() + "/scim/v2",
		TelemetryURL: "http://" + telLn.Addr().String(),
	}
	token := ""
	if len(cfg.SCIM.Tokens) > 0 {
		token = cfg.SCIM.Tokens[0].Value()
	}
	b.Client = NewClient(b.SCIMURL, token)
	b.stop = func() {
		cancel()
		require.NoError(tb, <-done)
	}
	tb.Cleanup(b.Stop)
	return b
}

// Stop stops the bridge and waits until it has shut down (its last log lines
// written). Stopping twice is allowed.
func (b *Bridge) Stop() { b.stopOnce.Do(b.stop) }
