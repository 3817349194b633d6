package main

import (
	"context"
	"flag"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/app"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/config"
)

const validateUsage = `Usage: scim-bridge validate [--config FILE] [flags]

Checks a configuration exactly as serve reads it (the file, then SCIM_BRIDGE_*
variables, then flags; secrets given by file are read) and lists every
problem at once, one per line, each starting with where the value came from:
the environment variable or flag that set it, else its field path (with the
line of the file). Unknown keys and unknown SCIM_BRIDGE_* variables are
problems too. A valid configuration is summarised without secrets, followed
by warnings about values that are legal but probably a mistake (serve logs
the same warnings at start).
Nothing is opened or contacted: no database, no listener, and no request to
BigCommerce unless --check-bigcommerce is given.

--check-bigcommerce spends one request of the account's budget (70 per hour)
on the same account query serve runs at start, to tell a wrong token, a
missing scope or an unknown account apart. The request is not recorded in the
bridge's stored budget, which corrects itself from BigCommerce's rate-limit
headers on its next request.

Exit status:
  0  the configuration is valid, warnings or not (and BigCommerce accepted
     it, when checked)
  1  --check-bigcommerce could not reach BigCommerce
  2  the configuration has problems, or BigCommerce refused the token, its
     scopes or the account

Flags (-name and --name both work):
`

// runValidate implements "scim-bridge validate".
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return validateCommand(ctx, args, stdout, stderr, os.Environ())
}

func validateCommand(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), validateUsage)
		fs.PrintDefaults()
	}
	var cf configFlags
	cf.register(fs)
	checkBC := fs.Bool("check-bigcommerce", false, "also send one account query to BigCommerce to check the token, its scopes and the account")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scim-bridge validate: unexpected argument %q: use --config FILE\n", fs.Arg(0))
		return exitUsage
	}
	cfg, err := cf.load(environ)
	if err != nil {
		problems := strings.Split(err.Error(), "\n")
		for _, p := range problems {
			fmt.Fprintln(stdout, p)
		}
		fmt.Fprintf(stderr, "scim-bridge validate: %d %s; fix %s in the file given with --config, in the SCIM_BRIDGE_* environment or in flags\n",
			len(problems), plural(len(problems), "problem", "problems"), plural(len(problems), "it", "them"))
		return exitUsage
	}
	fmt.Fprintln(stdout, "configuration is valid")
	fmt.Fprintln(stdout)
	writeSummary(stdout, configFileName(cf.path), cfg)
	if warnings := cfg.Warnings(); len(warnings) > 0 {
		fmt.Fprintf(stdout, "\n%s:\n", countOf(len(warnings), "warning", "warnings"))
		for _, w := range warnings {
			fmt.Fprintf(stdout, "  - %s\n", w)
		}
	}
	if !*checkBC {
		return exitOK
	}
	return checkBigCommerce(ctx, stdout, stderr, cfg)
}

// checkBigCommerce runs serve's startup credential check once, without the
// budget (validate opens no store).
func checkBigCommerce(ctx context.Context, stdout, stderr io.Writer, cfg config.Config) int {
	client, err := app.NewClient(cfg, nil, zap.NewNop(), version, nil)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge validate: %v\n", err)
		return exitUsage
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.BigCommerce.Timeout+5*time.Second)
	defer cancel()
	info, err := client.Account(cctx, downstream.PriorityRead)
	if err == nil {
		fmt.Fprintf(stdout, "\nBigCommerce accepted the token and the account (account id %s).\n", info.ID)
		return exitOK
	}
	if cerr := app.CredentialError(cfg, err); cerr != nil {
		fmt.Fprintf(stdout, "\n%v\n", cerr)
		return exitUsage
	}
	// *downstream.Error texts carry no token, email or server text.
	fmt.Fprintf(stderr, "scim-bridge validate: BigCommerce could not be checked: %v\n", err)
	return exitError
}

// writeSummary prints what a valid configuration sets up, never a secret: the
// store shows its type and location without credentials, tokens are counted.
func writeSummary(w io.Writer, path string, c config.Config) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "  %s\t%s\n", k, fmt.Sprintf(format, args...)) }
	if path != "none" {
		row("config file", "%s (overridden by SCIM_BRIDGE_* variables and flags)", path)
	} else {
		row("config file", "none (defaults, SCIM_BRIDGE_* variables and flags)")
	}
	tls := "off"
	if c.TLS.CertFile != "" {
		tls = "on, reloaded when the files change"
	}
	row("SCIM listener", "%s, SCIM under /scim/v2, TLS %s", c.Listen, tls)
	if c.SCIM.PublicURL != "" {
		row("SCIM public URL", "%s", c.SCIM.PublicURL)
	} else {
		row("SCIM public URL", "derived from each request's Host header")
	}
	hashed := 0
	for _, t := range c.SCIM.Tokens {
		if strings.HasPrefix(t.Value(), "sha256:") {
			hashed++
		}
	}
	tokens := fmt.Sprintf("%d (%d as sha256: digests", len(c.SCIM.Tokens), hashed)
	if plain := len(c.SCIM.Tokens) - hashed; plain > 0 {
		tokens += fmt.Sprintf(", %d plain: prefer the sha256: form that \"scim-bridge token\" prints", plain)
	}
	row("SCIM tokens", "%s)", tokens)
	if c.SCIM.RequestsPerSecond > 0 {
		row("SCIM rate limit", "%g requests/s per token, bursts of %d, then 429 with Retry-After", c.SCIM.RequestsPerSecond, c.SCIM.Burst)
	} else {
		row("SCIM rate limit", "off")
	}
	switch {
	case len(c.SCIM.AllowCIDRs) == 0:
		row("SCIM clients", "any address")
	case len(c.SCIM.TrustProxyCIDRs) > 0:
		row("SCIM clients", "%s; X-Forwarded-For believed from %s", strings.Join(c.SCIM.AllowCIDRs, ", "), strings.Join(c.SCIM.TrustProxyCIDRs, ", "))
	default:
		row("SCIM clients", "%s (the TCP peer address; X-Forwarded-For ignored)", strings.Join(c.SCIM.AllowCIDRs, ", "))
	}
	row("telemetry listener", "%s (/metrics, /healthz, /readyz, /status)", c.TelemetryListen)
	row("store", "%s", app.DescribeStore(c.Database.Value()))
	row("BigCommerce", "%s (account %s), API token from %s", app.GraphQLEndpoint(c.BigCommerce), c.BigCommerce.AccountUUID, c.Origin("bigcommerce.token").Describe())
	row("request budget", "%s, %.0f%% kept for removals, up to %d operations per request", c.BigCommerce.RateLimit, c.Delivery.Reserve*100, c.BigCommerce.MaxBatch)
	mapping := fmt.Sprintf("%d explicit %s", len(c.Mapping.Groups), plural(len(c.Mapping.Groups), "entry", "entries"))
	if c.Mapping.MatchStoreNames {
		mapping += "; a group named like a store (name or hash) grants it"
	}
	row("group mapping", "%s; BigCommerce email from %s", mapping, c.Mapping.EmailSource)
	if c.Reconcile.Interval > 0 {
		row("reconciliation", "every %s, unmanaged users: %s, at most %d removals per run, %d protected %s",
			c.ValueString("reconcile.interval"), c.Reconcile.Unmanaged, c.Reconcile.MaxRemovals, len(c.Reconcile.ProtectedEmails),
			plural(len(c.Reconcile.ProtectedEmails), "email", "emails"))
	} else {
		row("reconciliation", "not scheduled (run \"scim-bridge reconcile\")")
	}
	row("logs", "%s, level %s", c.Log.Format, c.Log.Level)
	_ = tw.Flush()
}

// countOf is "1 user", "2 users", "0 users".
func countOf(n int, one, many string) string {
	return strconv.Itoa(n) + " " + plural(n, one, many)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
