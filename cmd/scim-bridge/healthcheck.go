package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runHealthcheck probes a telemetry endpoint and exits 0 when it answers 200:
// the distroless image has no shell or curl, so Docker's HEALTHCHECK and
// compose call the binary itself.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:9464/readyz", "endpoint to probe (/healthz: alive; /readyz: the store works)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: scim-bridge healthcheck [--url URL] [--timeout D]\n\nExits 0 when the bridge's telemetry endpoint answers 200, 1 otherwise.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
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
		fmt.Fprintf(stderr, "scim-bridge healthcheck: %s answered %d\n", *url, res.StatusCode)
		return exitError
	}
	fmt.Fprintln(stdout, "ok")
	return exitOK
}
