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

	"github.com/scim-bridge/scim-bridge/cmd/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one row of the command table. run returns the process exit
// status.
type command struct {
	name    string
	summary string
	run     cli.RunFunc
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

// run dispatches args (without the program name) and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	d := cli.Dispatcher{
		Program:  "scim-bridge",
		Synopsis: "scim-bridge <command> [flags]",
		Footer: `Run "scim-bridge <command> -h" (or "scim-bridge help <command>") for a command's flags,
"scim-bridge serve -h" for the SCIM_BRIDGE_* environment variables, and
"scim-bridge --version" for the version.`,
		Aliases:      map[string]string{"--version": "version", "-version": "version", "-v": "version"},
		HelpTopics:   true,
		HelpAnywhere: true,
	}
	for _, c := range commands() {
		d.Commands = append(d.Commands, cli.Command{Name: c.name, Summary: c.summary, Run: c.run})
	}
	return d.Run(args, stdout, stderr)
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
