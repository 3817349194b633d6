package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"go.uber.org/zap"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: scim-bridge serve [flags]\n\nRuns the bridge: SCIM under /scim/v2, telemetry, and (on the leader) delivery and reconciliation.\nSettings: --config FILE, then SCIM_BRIDGE_* variables, then these flags.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, err := cf.load(os.Getenv)
	if err != nil {
		return configError(stderr, "serve", err)
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge serve: %v\n", err)
		return exitUsage
	}
	defer func() { _ = log.Sync() }()
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		log.Error("cannot start", zap.Error(err))
		fmt.Fprintf(stderr, "scim-bridge serve: %v\n", err)
		return exitError
	}
	scimLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = a.Close()
		fmt.Fprintf(stderr, "scim-bridge serve: listen on %s: %v\n", cfg.Listen, err)
		return exitError
	}
	telLn, err := net.Listen("tcp", cfg.TelemetryListen)
	if err != nil {
		_ = scimLn.Close()
		_ = a.Close()
		fmt.Fprintf(stderr, "scim-bridge serve: listen on %s: %v\n", cfg.TelemetryListen, err)
		return exitError
	}
	if err := a.run(ctx, scimLn, telLn); err != nil {
		log.Error("stopped", zap.Error(err))
		fmt.Fprintf(stderr, "scim-bridge serve: %v\n", err)
		return exitError
	}
	return exitOK
}
