package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

const healthcheckUsage = `Usage: scim-bridge healthcheck [--config FILE] [flags]

Probes the bridge's telemetry endpoint and exits 0 when it answers 200, 1
otherwise: the distroless image has no shell or curl, so Docker's HEALTHCHECK
and Compose run the binary itself.

It reads the configuration as serve does (the file given with --config or
named by SCIM_BRIDGE_CONFIG, the SCIM_BRIDGE_* variables, the flags) and
probes http://ADDRESS/readyz, where ADDRESS is the telemetry listener with an
unspecified host (":9464", "0.0.0.0:9464", "[::]:9464") replaced by loopback.
--url probes another endpoint instead (/healthz: alive; /readyz: the store
works).

Flags (-name and --name both work):
`

// runHealthcheck probes a telemetry endpoint and exits 0 when it answers 200.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	url := fs.String("url", "", "endpoint to probe (default: /readyz on the configured telemetry listener)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), healthcheckUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if !noArguments(fs, stderr) {
		return exitUsage
	}
	target := *url
	if target == "" {
		// Only the telemetry listener matters here: a configuration serve would
		// refuse has no serve to probe, and the probe says so by failing.
		cfg, fatal, _ := cf.read(os.Environ())
		if fatal != nil {
			fmt.Fprintf(stderr, "scim-bridge healthcheck: %v\n", fatal)
			return exitError
		}
		addr, err := probeAddress(cfg.TelemetryListen)
		if err != nil {
			fmt.Fprintf(stderr, "scim-bridge healthcheck: telemetry listener (%s): %v\n", cfg.Origin("telemetry_listen").Describe(), err)
			return exitError
		}
		target = "http://" + addr + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge healthcheck: --url: %v\n", err)
		return exitUsage
	}
	res, err := (&http.Client{Timeout: *timeout}).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge healthcheck: %v\n", err)
		return exitError
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "scim-bridge healthcheck: %s answered %d\n", target, res.StatusCode)
		return exitError
	}
	fmt.Fprintln(stdout, "ok")
	return exitOK
}

// probeAddress is the address to reach a listener bound to listen from the
// same host: an unspecified host becomes loopback.
func probeAddress(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("want HOST:PORT or :PORT, got %q", listen)
	}
	if port == "0" {
		return "", fmt.Errorf("%q picks a free port at start, which a probe cannot know: give a fixed port", listen)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	return net.JoinHostPort(host, port), nil
}
