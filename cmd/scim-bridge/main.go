// Command scim-bridge lets an identity provider own who may sign in to a BigCommerce
// control panel: it serves SCIM 2.0 to Okta, Entra ID or any SCIM client and turns
// each change into BigCommerce Account-level GraphQL calls within the account's
// request budget. Run "scim-bridge help" for the subcommands.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/scim-bridge/scim-bridge/cmd/internal/cli"
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
	exitOK    = cli.ExitOK
	exitError = cli.ExitError
	exitUsage = cli.ExitUsage
)

func commands() []command {
	return []command{
		{"serve", "run the bridge (SCIM server, delivery, reconciliation, telemetry)", runServe},
		{"demo", "zero-configuration trial: simulator and bridge in one process", runDemo},
		{"simulate", "run the BigCommerce Account API simulator alone", runSimulate},
		{"reconcile", "run one reconciliation and exit", runReconcile},
		{"report", "write the compliance report (who can reach which store)", runReport},
		{"dead-letters", "list changes delivery gave up on, and retry them", runDeadLetters},
		{"history", "print the access history: who could reach which store, since when, and deprovisioning latency", runHistory},
		{"healthcheck", "probe the telemetry endpoint (for container health checks)", runHealthcheck},
		{"token", "mint a SCIM bearer token and print its sha256: form", runToken},
		{"validate", "check a configuration and list every problem", runValidate},
		{"version", "print the version", runVersion},
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			return run([]string{args[1], "-h"}, stdout, stderr)
		}
		usage(stdout)
		return exitOK
	case "--version", "-version", "-v":
		return runVersion(context.Background(), args[1:], stdout, stderr)
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if helpRequested(args[1:]) {
			// Help goes to standard output and ends with status 0 for every
			// command, also for those whose flag parsing treats -h as a usage
			// error.
			if code := c.run(ctx, args[1:], stdout, stdout); code != exitUsage {
				return code
			}
			return exitOK
		}
		return c.run(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "scim-bridge: unknown command %q; run \"scim-bridge help\" for the list\n", args[0])
	return exitUsage
}

// helpRequested reports whether the leading flags of args ask for help.
func helpRequested(args []string) bool {
	for _, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") {
			return false
		}
		switch a {
		case "-h", "-help", "--help", "--h":
			return true
		}
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: scim-bridge <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	cs := commands()
	width := 0
	for _, c := range cs {
		width = max(width, len(c.name))
	}
	for _, c := range cs {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "scim-bridge <command> -h" (or "scim-bridge help <command>") for a command's flags,`)
	fmt.Fprintln(w, `"scim-bridge serve -h" for the SCIM_BRIDGE_* environment variables, and`)
	fmt.Fprintln(w, `"scim-bridge --version" for the version.`)
}

// parseFlags is cli.ParseFlags for this program.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	return cli.ParseFlags("scim-bridge", fs, args, stdout, stderr)
}

// noArguments reports an unexpected positional argument (commands take only
// flags) and returns false when there is one.
func noArguments(fs *flag.FlagSet, stderr io.Writer) bool {
	if fs.NArg() == 0 {
		return true
	}
	fmt.Fprintf(stderr, "scim-bridge %s: unexpected argument %q: %s takes only flags\n", fs.Name(), fs.Arg(0), fs.Name())
	return false
}

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: scim-bridge version (or scim-bridge --version, -v)\n\nPrints the version the binary was built as.")
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if !noArguments(fs, stderr) {
		return exitUsage
	}
	fmt.Fprintf(stdout, "scim-bridge %s\n", version)
	return exitOK
}
