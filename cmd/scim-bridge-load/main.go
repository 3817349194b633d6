// Command scim-bridge-load drives load against a running scim-bridge over
// HTTP. Subcommands:
//
//	readmix   an IdP-like read mix (userName eq filter, GET by id, pages of 100)
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: scim-bridge-load readmix [flags]")
		return 2
	}
	switch args[0] {
	case "readmix":
		return runReadmix(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "scim-bridge-load: unknown command %q (want readmix)\n", args[0])
		return 2
	}
}
