package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/app"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/reconcile"
)

// exitDrift is the status of "reconcile" when drift remains: found in a dry
// run, left in place by policy, or not applied because the run was aborted by
// the removal cap (see the reconcile package documentation).
const exitDrift = 3

const reconcileUsage = `Usage: scim-bridge reconcile [flags]

Runs one reconciliation and exits: reads every BigCommerce user of the account
and every store's users (all pages) through the shared request budget at the
lowest priority, compares them with what the IdP wants, and (unless --dry-run)
puts the repairs into the outbox, where the delivery engine of "scim-bridge
serve" applies them after the IdP's own changes. A failed or partial read
changes nothing. Before reading it prints the number of requests it expects
to spend (BigCommerce allows 70 per hour for the whole account).

It needs the same configuration and database as serve (the same --config
file and SCIM_BRIDGE_* variables); reconcile.unmanaged,
reconcile.protected_emails and reconcile.max_removals set the policy. The plan lists emails: it is meant for your terminal or CI log,
not for shared logs.

Exit status:
  0  the run succeeded and nothing is left unrepaired (in sync, or every drift
     found was queued for repair)
  1  error: the read failed or was partial, or the store failed; nothing changed
  2  usage or configuration error
  3  drift remains: found in a dry run, left in place by policy (unmanaged
     users under reconcile.unmanaged "report"), or the run was aborted because
     it needed more removals than --max-removals (nothing applied)

Flags (-name and --name both work):
`

// runReconcile implements "scim-bridge reconcile".
func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		cf          configFlags
		dryRun      bool
		output      string
		maxRemovals = -1
	)
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), reconcileUsage)
		fs.PrintDefaults()
	}
	cf.register(fs)
	fs.BoolVar(&dryRun, "dry-run", false, "print the plan and change nothing")
	fs.StringVar(&output, "output", "text", "plan format: text or json (stable field names)")
	fs.Func("max-removals", "the most account and store removals (`N`) one run may queue; above it nothing is applied (default: reconcile.max_removals, 10 unless configured)",
		func(s string) error {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return errors.New("want a whole number, 0 or more")
			}
			maxRemovals = n
			return nil
		})
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if !noArguments(fs, stderr) {
		return exitUsage
	}
	if output != "text" && output != "json" {
		fmt.Fprintf(stderr, "scim-bridge reconcile: --output %q: want text or json\n", output)
		return exitUsage
	}

	d, code := openDeps(ctx, &cf, "reconcile", stderr)
	if d == nil {
		return code
	}
	defer func() { _ = d.Close() }()
	cfg, log := d.Config, d.Log

	policy := reconcile.Policy{Unmanaged: cfg.Reconcile.Unmanaged, Protected: cfg.Reconcile.ProtectedEmails, MaxRemovals: cfg.Reconcile.MaxRemovals}
	if maxRemovals >= 0 {
		policy.MaxRemovals = maxRemovals
	}
	reader, progress, err := retryingReadClient(d, stderr, "reconcile")
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge reconcile: %v\n", err)
		return exitError
	}
	runner, err := reconcile.New(reconcile.Options{
		Store: d.Store, Service: d.Service, Client: reader, Policy: policy, Logger: log,
		Metrics: reconcile.NewMetrics(d.Registry), Now: d.Now, PageSize: cfg.BigCommerce.PageSize,
		OnEstimate: func(e reconcile.Estimate) {
			printEstimate(ctx, stderr, "reconcile", e, d)
			progress.expect(e.Requests)
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge reconcile: %v\n", err)
		return exitUsage
	}
	res, err := runner.RunOnce(ctx, dryRun)
	progress.done()
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge reconcile: %v\nNothing was changed (%s spent).\n", err, countOf(res.RequestsSpent, "request", "requests"))
		return exitError
	}
	code = reconcileExit(res)
	if err := writeReconcilePlan(stdout, output, res, policy, code); err != nil {
		fmt.Fprintf(stderr, "scim-bridge reconcile: write the plan: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stderr, "scim-bridge reconcile: %s spent (estimated %d)\n", countOf(res.RequestsSpent, "request", "requests"), res.Estimate.Requests)
	return code
}

// writeReconcilePlan writes the run's plan in the output format: JSON with
// the exit status it ends with, or text.
func writeReconcilePlan(w io.Writer, output string, res reconcile.Result, policy reconcile.Policy, code int) error {
	if output == "json" {
		return writeReconcileJSON(w, res, policy, code)
	}
	return writeReconcileText(w, res, policy)
}

// reconcileExit maps a completed run to the command's exit status.
func reconcileExit(res reconcile.Result) int {
	switch {
	case res.Plan.Aborted:
		return exitDrift
	case res.DryRun && res.Plan.Drift() > 0:
		return exitDrift
	case !res.DryRun && res.Plan.Unrepaired() > 0:
		return exitDrift
	}
	return exitOK
}

// printEstimate says, before a read, how many requests it should cost and
// whether the budget will make it wait.
func printEstimate(ctx context.Context, w io.Writer, cmd string, e reconcile.Estimate, d *app.Deps) {
	if e.Basis == reconcile.BasisMinimum {
		fmt.Fprintf(w, "scim-bridge %s: reading BigCommerce will spend at least %s (no earlier listing is saved, so the account's size is unknown)\n",
			cmd, countOf(e.Requests, "request", "requests"))
	} else {
		fmt.Fprintf(w, "scim-bridge %s: reading BigCommerce will spend about %s (%d pages of account users, %d of stores, %d continuations; last listing: %s in %s)\n",
			cmd, countOf(e.Requests, "request", "requests"), e.AccountPages, e.StorePages, e.Continuations,
			countOf(e.Users, "user", "users"), countOf(e.Stores, "store", "stores"))
	}
	if d == nil || d.Budget == nil {
		return
	}
	b, err := d.Budget.Snapshot(ctx)
	if err != nil {
		return
	}
	now := d.Now()
	usable := int(b.Available(now) - d.Budget.Floor(readPriority))
	if usable < e.Requests {
		every := d.Rate.Window / time.Duration(max(d.Rate.N, 1))
		fmt.Fprintf(w, "scim-bridge %s: the budget (%s) allows about %d read requests now (the rest is kept for removals); the read waits for the others, one every %s\n",
			cmd, d.Rate, max(usable, 0), every.Round(time.Second))
	}
}

// reconcileJSON is the --output json document. Field names are stable.
type reconcileJSON struct {
	RunID            string               `json:"runId"`
	DryRun           bool                 `json:"dryRun"`
	Outcome          string               `json:"outcome"`
	ExitStatus       int                  `json:"exitStatus"`
	StartedAt        time.Time            `json:"startedAt"`
	DurationSeconds  float64              `json:"durationSeconds"`
	Requests         requestsJSON         `json:"requests"`
	BigCommerceUsers int                  `json:"bigcommerceUsers"`
	Stores           int                  `json:"stores"`
	SCIMUsers        int                  `json:"scimUsers"`
	Counts           map[string]int       `json:"counts"`
	Drift            int                  `json:"drift"`
	Unrepaired       int                  `json:"unrepaired"`
	Removals         int                  `json:"removals"`
	MaxRemovals      int                  `json:"maxRemovals"`
	Unmanaged        string               `json:"unmanagedPolicy"`
	Aborted          bool                 `json:"aborted"`
	AbortReason      string               `json:"abortReason,omitempty"`
	Queued           int                  `json:"queued"`
	Items            []reconcile.Item     `json:"items"`
	Pending          []string             `json:"pending"`
	Estimate         reconcile.Estimate   `json:"estimate"`
	Repairs          []reconcileRepairOut `json:"repairs"`
}

type requestsJSON struct {
	Estimated int `json:"estimated"`
	Spent     int `json:"spent"`
}

type reconcileRepairOut struct {
	Kind   string `json:"kind"`
	Email  string `json:"email"`
	Store  string `json:"store,omitempty"`
	SCIMID string `json:"scimId,omitempty"`
}

func writeReconcileJSON(w io.Writer, res reconcile.Result, policy reconcile.Policy, code int) error {
	out := reconcileJSON{
		RunID: res.RunID, DryRun: res.DryRun, Outcome: res.Outcome, ExitStatus: code,
		StartedAt: res.StartedAt.UTC(), DurationSeconds: res.Duration.Seconds(),
		Requests:         requestsJSON{Estimated: res.Estimate.Requests, Spent: res.RequestsSpent},
		BigCommerceUsers: res.BigCommerceUsers, Stores: res.Stores, SCIMUsers: res.SCIMUsers,
		Counts: map[string]int{}, Drift: res.Plan.Drift(), Unrepaired: res.Plan.Unrepaired(),
		Removals: res.Plan.Removals, MaxRemovals: policy.MaxRemovals, Unmanaged: unmanagedPolicy(policy),
		Aborted: res.Plan.Aborted, AbortReason: res.Plan.Reason, Queued: res.Queued,
		Items: res.Plan.Items, Pending: res.Plan.Pending, Estimate: res.Estimate, Repairs: []reconcileRepairOut{},
	}
	for _, c := range reconcile.Classes() {
		out.Counts[string(c)] = res.Plan.Counts[c]
	}
	if out.Items == nil {
		out.Items = []reconcile.Item{}
	}
	if out.Pending == nil {
		out.Pending = []string{}
	}
	for _, in := range res.Plan.Intents {
		out.Repairs = append(out.Repairs, reconcileRepairOut{Kind: string(in.Kind), Email: in.Email, Store: in.StoreHash, SCIMID: in.UserID})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func unmanagedPolicy(p reconcile.Policy) string {
	if p.Unmanaged == "" {
		return reconcile.UnmanagedReport
	}
	return p.Unmanaged
}

// actionText describes an item's action for people.
func actionText(it reconcile.Item, policy reconcile.Policy) string {
	switch it.Action {
	case "account.add":
		return "add to the account"
	case "account.remove":
		return "remove from the account"
	case "store.add":
		return "grant store access"
	case "store.remove":
		return "revoke store access"
	}
	switch it.Class {
	case reconcile.ClassProtected:
		return "none (protected)"
	case reconcile.ClassUnmanaged:
		return fmt.Sprintf("none (reconcile.unmanaged is %q)", unmanagedPolicy(policy))
	}
	return "none"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeReconcileText(w io.Writer, res reconcile.Result, policy reconcile.Policy) error {
	var b strings.Builder
	mode := "apply"
	if res.DryRun {
		mode = "dry run"
	}
	fmt.Fprintf(&b, "Reconciliation (%s) %s, run %s\n", mode, res.StartedAt.UTC().Format(time.RFC3339), res.RunID)
	fmt.Fprintf(&b, "BigCommerce: %s in %s; IdP: %s; requests: %d spent, %d estimated\n\n",
		countOf(res.BigCommerceUsers, "user", "users"), countOf(res.Stores, "store", "stores"),
		countOf(res.SCIMUsers, "SCIM user", "SCIM users"), res.RequestsSpent, res.Estimate.Requests)

	if len(res.Plan.Items) > 0 {
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLASS\tEMAIL\tSTORE\tSCIM ID\tACTION")
		for _, it := range res.Plan.Items {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", it.Class, it.Email, dash(it.Store), dash(it.UserID), actionText(it, policy))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	if len(res.Plan.Pending) > 0 {
		fmt.Fprintf(&b, "Not compared, changes to them wait in the outbox for the delivery engine (%d):\n", len(res.Plan.Pending))
		for _, e := range res.Plan.Pending {
			fmt.Fprintf(&b, "  %s\n", e)
		}
		b.WriteString("\n")
	}
	var counts []string
	for _, c := range reconcile.Classes() {
		if n := res.Plan.Counts[c]; n > 0 && c.IsDrift() {
			counts = append(counts, fmt.Sprintf("%s %d", c, n))
		}
	}
	if len(counts) == 0 {
		b.WriteString("Drift: none\n")
	} else {
		fmt.Fprintf(&b, "Drift: %d (%s)\n", res.Plan.Drift(), strings.Join(counts, ", "))
	}
	if n := res.Plan.Counts[reconcile.ClassProtected]; n > 0 {
		fmt.Fprintf(&b, "Protected emails found (never touched): %d\n", n)
	}
	fmt.Fprintf(&b, "Removals: %d (cap %d)\n", res.Plan.Removals, policy.MaxRemovals)

	repairs := len(res.Plan.Intents)
	switch {
	case res.Plan.Aborted:
		fmt.Fprintf(&b, "ABORTED: %s.\nReview the plan; if the removals are intended, run again with a larger --max-removals.\n", res.Plan.Reason)
	case res.DryRun && repairs > 0:
		fmt.Fprintf(&b, "Dry run: %s would be queued; nothing was changed. Run without --dry-run to queue %s.\n",
			countOf(repairs, "repair", "repairs"), plural(repairs, "it", "them"))
	case res.DryRun:
		b.WriteString("Dry run: nothing to repair; nothing was changed.\n")
	case res.Queued > 0:
		fmt.Fprintf(&b, "Queued %s in the outbox (run %s); the delivery engine applies %s after the IdP's own changes.\n",
			countOf(res.Queued, "repair", "repairs"), res.RunID, plural(res.Queued, "it", "them"))
	default:
		b.WriteString("Nothing to repair.\n")
	}
	if n := res.Plan.Counts[reconcile.ClassUnmanaged]; n > 0 && unmanagedPolicy(policy) == reconcile.UnmanagedReport && !res.Plan.Aborted {
		fmt.Fprintf(&b, "%s left in place (reconcile.unmanaged is \"report\"): add %s to the IdP, list %s in reconcile.protected_emails, or set reconcile.unmanaged to \"remove\".\n",
			countOf(n, "unmanaged user", "unmanaged users"), plural(n, "it", "them"), plural(n, "it", "them"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
