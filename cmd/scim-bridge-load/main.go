// Command scim-bridge-load holds the load generators of scim-bridge, kept out
// of the production binary: "bench" measures delivery (how many BigCommerce
// requests, how long joiners and leavers wait) on a simulated clock, "soak"
// runs concurrent IdP clients against a whole bridge and reports latency,
// errors and memory. Run "scim-bridge-load help" for the list.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/cmd/internal/cli"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Exit statuses.
const (
	exitOK    = cli.ExitOK
	exitError = cli.ExitError
	exitUsage = cli.ExitUsage
)

// command is one row of the command table. run returns the process exit
// status.
type command struct {
	name    string
	summary string
	run     cli.RunFunc
}

func commands() []command {
	return []command{
		{"bench", "the delivery benchmark (simulated clock, 70 requests/hour)", runBench},
		{"soak", "concurrent SCIM clients against the whole bridge: latency, errors and memory", runSoak},
		{"readmix", "an IdP read mix (userName eq, GET by id, pages of 100) against a running bridge", runReadmix},
		{"longlife", "a year of IdP traffic through the store and the service with pruning on: size, memory, step and reconcile times", runLonglife},
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run dispatches args (without the program name) and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	d := cli.Dispatcher{
		Program:  "scim-bridge-load",
		Synopsis: "scim-bridge-load COMMAND [flags]",
		Footer:   `Run "scim-bridge-load COMMAND -h" for a command's flags.`,
	}
	for _, c := range commands() {
		d.Commands = append(d.Commands, cli.Command{Name: c.name, Summary: c.summary, Run: c.run})
	}
	return d.Run(args, stdout, stderr)
}

// parseFlags is cli.ParseFlags for this program.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer) (code int, ok bool) {
	return cli.ParseFlags("scim-bridge-load", fs, args, stdout, stderr)
}

// userJSON is a SCIM user with one work email.
func userJSON(email string, active bool) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":%q,"emails":[{"primary":true,"value":%q,"type":"work"}],"active":%t}`, email, email, active)
}

const patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// activeJSON is a PATCH that sets active.
func activeJSON(active bool) string {
	return fmt.Sprintf(`{"schemas":[%q],"Operations":[{"op":"replace","value":{"active":%t}}]}`, patchOp, active)
}

// bcStores is the simulator's users: email -> store hashes.
func bcStores(sim *simulator.Server) map[string][]string { return sim.StoresByEmail() }

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// writeReport prints a run's report: indented JSON when output is "json",
// else the command's text form.
func writeReport(w io.Writer, output string, rep any, text func()) {
	if output != "json" {
		text()
		return
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}
