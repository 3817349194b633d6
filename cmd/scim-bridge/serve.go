package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/app"
	"io"
	"net"
	"os"
	"runtime/debug"
	"text/tabwriter"

	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/config"
)

const serveUsage = `Usage: scim-bridge serve [flags]

Runs the bridge: SCIM under /scim/v2, telemetry, and (on the replica holding
the store's lease) delivery to BigCommerce and scheduled reconciliation.

Settings come from the defaults, then the YAML file given with --config (or
named by SCIM_BRIDGE_CONFIG), then the SCIM_BRIDGE_* environment variables
below, then these flags. An unknown key or SCIM_BRIDGE_* variable is an error
(SCIM_BRIDGE_TEST_* and the variables Kubernetes injects for Services named
scim-bridge... are left alone). "scim-bridge validate" checks a configuration
without starting anything.

Flags (-name and --name both work):
`

// serveGCPercent is the garbage collector's target for serve unless GOGC is
// set: a serving bridge keeps a few megabytes live and allocates per request,
// so with Go's default (100) it collected about 60 times a second under an
// IdP's read mix of 32 clients. Letting the heap grow to five times the live
// data costs tens of megabytes and bought a fifth more throughput.
const serveGCPercent = 400

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), serveUsage)
		fs.PrintDefaults()
		fmt.Fprintln(fs.Output())
		writeEnvironmentHelp(fs.Output())
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if !noArguments(fs, stderr) {
		return exitUsage
	}
	cfg, err := cf.load(os.Environ())
	if err != nil {
		return configError(stderr, "serve", err)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	log, err := app.NewLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge serve: %v\n", err)
		return exitUsage
	}
	defer func() { _ = log.Sync() }()
	log.Info("scim-bridge starting", zap.String("version", version), zap.String("config_file", configFileName(cf.path)),
		zap.String("store", app.DescribeStore(cfg.Database.Value())), zap.String("bigcommerce_api", app.GraphQLEndpoint(cfg.BigCommerce)))
	for _, w := range cfg.Warnings() {
		log.Warn("configuration warning: "+w, zap.String("check", "scim-bridge validate"))
	}
	a, err := app.New(ctx, cfg, log, app.Options{Version: version})
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		fmt.Fprintf(stderr, "scim-bridge serve: %v\n", err)
		return exitError
	}
	scimLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = a.Close()
		fmt.Fprintf(stderr, "scim-bridge serve: listen on %s (%s): %v\n", cfg.Listen, cfg.Origin("listen").Describe(), err)
		return exitError
	}
	telLn, err := net.Listen("tcp", cfg.TelemetryListen)
	if err != nil {
		_ = scimLn.Close()
		_ = a.Close()
		fmt.Fprintf(stderr, "scim-bridge serve: listen on %s (%s): %v\n", cfg.TelemetryListen, cfg.Origin("telemetry_listen").Describe(), err)
		return exitError
	}
	if err := a.Run(ctx, scimLn, telLn); err != nil {
		log.Error("stopped", zap.Error(err))
		fmt.Fprintf(stderr, "scim-bridge serve: %v\n", err)
		return exitError
	}
	return exitOK
}

// configFileName is the configuration file a command reads, for messages.
func configFileName(path string) string {
	if path == "" {
		path = os.Getenv(config.EnvConfigFile)
	}
	if path == "" {
		return "none"
	}
	return path
}

// writeEnvironmentHelp lists every SCIM_BRIDGE_* variable with its default
// and the YAML key it sets.
func writeEnvironmentHelp(w io.Writer) {
	fmt.Fprintln(w, `Environment variables (each sets the YAML key shown; "-": no default):`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  VARIABLE\tDEFAULT\tYAML KEY")
	fmt.Fprintf(tw, "  %s\t-\t(the configuration file, when --config is not given)\n", config.EnvConfigFile)
	for _, e := range config.Environment() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Name, helpDefault(e.Default), e.Field)
	}
	_ = tw.Flush()
}

func helpDefault(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
