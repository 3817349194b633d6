// Command scim-bridge lets an identity provider own who may sign in to a BigCommerce
// control panel: it serves SCIM 2.0 to Okta, Entra ID or any SCIM client and turns
// each change into BigCommerce Account-level GraphQL calls within the account's
// request budget. Run "scim-bridge help" for the subcommands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand. run returns the process exit status.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// Exit statuses shared by the subcommands.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func commands() []command {
	return []command{
		{"serve", "run the bridge (SCIM server, delivery, reconciliation, telemetry)", runServe},
		{"demo", "zero-configuration trial: simulator and bridge in one process", runDemo},
		{"simulate", "run the BigCommerce Account API simulator alone", runSimulate},
		{"reconcile", "run one reconciliation and exit", runReconcile},
		{"report", "write the compliance report (who can reach which store)", runReport},
		{"dead-letters", "list changes delivery gave up on, and retry them", runDeadLetters},
		{"healthcheck", "probe the telemetry endpoint (for container health checks)", runHealthcheck},
		{"token", "mint a SCIM bearer token and print its sha256: form", runToken},
		{"validate", "check a configuration and list every problem", runValidate},
		{"bench", "run the delivery benchmark (simulated clock, 70 requests/hour)", runBench},
		{"soak", "run concurrent SCIM clients against the whole bridge and report latency and memory", runSoak},
		{"version", "print the version", runVersion},
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "scim-bridge: unknown command %q; run \"scim-bridge help\" for the list\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: scim-bridge <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cs := commands()
	for _, c := range cs {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "scim-bridge <command> -h" for a command's flags.`)
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "scim-bridge %s\n", version)
	return exitOK
}
