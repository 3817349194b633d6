package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/app"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/config"
	"github.com/scim-bridge/scim-bridge/scim"
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var o demoOptions
	fs.StringVar(&o.dir, "dir", "scim-bridge-demo", "working `directory` (the SQLite store and the log file; recreated on each run)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "SCIM listener (a free port is picked when this one is taken)")
	fs.StringVar(&o.telemetryListen, "telemetry-listen", "127.0.0.1:9464", "telemetry listener (a free port is picked when taken)")
	fs.StringVar(&o.rate, "rate-limit", "70/1m", "the simulated account's request budget: BigCommerce's 70 per hour, accelerated 60x")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: scim-bridge demo [flags]

A zero-configuration trial: the BigCommerce simulator and the bridge in one
process, no SCIM_BRIDGE_* variable or configuration file is read. It prints
the SCIM base URL, a bearer token and curl commands to try, then every
mutation the simulated BigCommerce receives. Ctrl-C stops it.

Flags (-name and --name both work):`)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if !noArguments(fs, stderr) {
		return exitUsage
	}
	var err error
	if o.limit, err = config.ParseRateLimit(o.rate); err != nil {
		fmt.Fprintf(stderr, "scim-bridge demo: --rate-limit: %v\n", err)
		return exitUsage
	}
	if err := demo(ctx, o, stdout); err != nil {
		fmt.Fprintf(stderr, "scim-bridge demo: %v\n", err)
		return exitError
	}
	fmt.Fprintln(stdout, "\nDemo stopped. The store is in", o.dir, "(it is recreated on the next run).")
	return exitOK
}

// demoOptions are the demo's flags.
type demoOptions struct {
	dir, listen, telemetryListen, rate string
	limit                              config.RateLimit
}

// demo recreates the working directory, starts the simulator and the bridge
// in front of it, prints the walkthrough and every mutation the simulator
// receives, and runs until ctx ends.
func demo(ctx context.Context, o demoOptions, stdout io.Writer) error {
	if err := freshDir(o.dir); err != nil {
		return err
	}
	sim, err := simulator.New(simulator.Options{RateLimit: o.limit.N, RateWindow: o.limit.Window})
	if err != nil {
		return err
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	simSrv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer func() { _ = simSrv.Close() }()
	simURL := "http://" + simLn.Addr().String()

	var raw [24]byte
	_, _ = rand.Read(raw[:])
	token := "demo-" + hex.EncodeToString(raw[:])
	cfg := demoConfig(o, sim, simURL, token)
	scimLn, err := listenOrAny(o.listen, "SCIM", stdout)
	if err != nil {
		return err
	}
	telLn, err := listenOrAny(o.telemetryListen, "telemetry", stdout)
	if err != nil {
		return err
	}
	cfg.Listen, cfg.TelemetryListen = scimLn.Addr().String(), telLn.Addr().String()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("internal configuration error: %w", err)
	}
	logFile, err := os.Create(filepath.Join(o.dir, "bridge.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	log, err := app.NewLogger(cfg.Log, logFile)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, cfg, log, app.Options{Version: version})
	if err != nil {
		return err
	}
	printWalkthrough(stdout, "http://"+cfg.Listen+scim.Prefix, "http://"+cfg.TelemetryListen, simURL, token, o.dir, o.limit)
	go feed(ctx, stdout, sim)
	return a.Run(ctx, scimLn, telLn)
}

// demoConfig is the bridge's configuration for the demo: a SQLite store in
// the working directory, the simulator at simURL within the demo's budget,
// short lingers so that changes show quickly, and a console log.
func demoConfig(o demoOptions, sim *simulator.Server, simURL, token string) config.Config {
	cfg := config.Default()
	cfg.Database = config.Secret("sqlite:" + filepath.Join(o.dir, "bridge.db"))
	cfg.SCIM.Tokens = []config.Secret{config.Secret(token)}
	cfg.BigCommerce.APIURL = simURL
	cfg.BigCommerce.AccountUUID = sim.AccountUUID()
	cfg.BigCommerce.Token = config.Secret(simulator.DefaultToken)
	cfg.BigCommerce.RateLimit = o.rate
	cfg.Delivery.RemovalLinger = 2 * time.Second
	cfg.Delivery.AdditionLinger = 5 * time.Second
	cfg.Log.Format = "console"
	return cfg
}

// freshDir creates dir and removes a previous demo's store: the simulator starts
// from its default seed on every run, so the store must too.
func freshDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, f := range []string{"bridge.db", "bridge.db-wal", "bridge.db-shm", "bridge.log"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove the previous demo's %s: %w", f, err)
		}
	}
	return nil
}

// listenOrAny listens on addr or, when that port is taken, on a free port of
// the same host, and then says so on w (what names the listener).
func listenOrAny(addr, what string, w io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	host, _, _ := net.SplitHostPort(addr)
	ln, err2 := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err2 != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	fmt.Fprintf(w, "scim-bridge demo: %s is busy, so the %s listener uses %s instead (the URLs below have it).\n", addr, what, ln.Addr())
	return ln, nil
}

func printWalkthrough(w io.Writer, base, tel, sim, token, dir string, limit config.RateLimit) {
	hdr := `-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/scim+json"`
	fmt.Fprintf(w, `scim-bridge demo: the bridge and a simulated BigCommerce account in one process.

  SCIM base URL   %s
  Bearer token    %s
  Telemetry       %s/metrics  %s/status
  BigCommerce     simulated at %s (stats: %s/_simulator/stats)
  Request budget  %s: BigCommerce allows 70 per hour; the demo runs 60x faster so you see results in seconds.
  Store and log   %s/

The simulated account has three stores: "Plant Market" (abc123), "Garden Tools" (def456), "Seed Library" (ghi789).
A SCIM group named like a store grants access to it. Try this in another terminal:

  export SCIM=%s TOKEN=%s

  # 1. Okta creates a user: the bridge answers at once and queues "add to the account".
  curl -s -X POST "$SCIM/Users" %s -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ann.lee@example.com","name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"primary":true,"value":"ann.lee@example.com","type":"work"}],"active":true}' | tee /tmp/ann.json
  USER_ID=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' /tmp/ann.json)

  # 2. Okta pushes the group "Plant Market" with Ann in it: she gets that store.
  curl -s -X POST "$SCIM/Groups" %s -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Plant Market","members":[{"value":"'"$USER_ID"'"}]}'

  # 3. See her sync state (pending, then synced) and what BigCommerce received (printed below as it happens).
  curl -s "$SCIM/Users/$USER_ID" -H "Authorization: Bearer $TOKEN" | grep -o '"syncState":"[a-z]*"'

  # 4. Okta deactivates her: the removal jumps any queue and reaches BigCommerce within seconds.
  curl -s -X PATCH "$SCIM/Users/$USER_ID" %s -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}'

  # 5. Look at the budget, the queue and the deliveries.
  curl -s %s/status

What BigCommerce receives (Ctrl-C stops the demo):
`, base, token, tel, tel, sim, sim, limit, dir, base, token, hdr, hdr, hdr, tel)
}

// feed prints each mutation BigCommerce (the simulator) receives.
func feed(ctx context.Context, w io.Writer, sim *simulator.Server) {
	seen := 0
	t := time.NewTicker(300 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		events := sim.Log()
		for _, ev := range events[seen:] {
			target := ev.Email
			if ev.StoreHash != "" {
				target += " in store " + ev.StoreHash
			}
			if target == "" {
				target = ev.UserID
			}
			outcome := "applied"
			if ev.Code != "" {
				outcome = strings.ToLower(ev.Code)
			}
			fmt.Fprintf(w, "  %s  BigCommerce request #%d: %s %s (%s)\n", ev.At.Local().Format("15:04:05"), ev.Request, ev.Field, target, outcome)
		}
		seen = len(events)
	}
}
