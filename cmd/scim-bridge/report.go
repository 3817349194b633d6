package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/app"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/history"
	"github.com/scim-bridge/scim-bridge/bridge/reconcile"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// retryPolicy bounds the retries of a failed listing.
type retryPolicy struct {
	// attempts is the most tries of one listing (the first included).
	attempts int
	// first is the wait before the first retry; each later one doubles it.
	first time.Duration
	// maxWait is the longest wait; a 429 asking for longer ends the command.
	maxWait time.Duration
}

// reportRetry is the report's policy: 3 retries within about 14 s, or as long
// as a 429 asks when that is under 2 minutes (tests shorten it).
var reportRetry = retryPolicy{attempts: 4, first: 2 * time.Second, maxWait: 2 * time.Minute}

// retryingReader is a known.Reader that retries a listing failing for a
// passing reason (downstream.ClassTransient: 5xx, timeouts, dropped
// connections; downstream.ClassRateLimited: 429) with exponential backoff.
// Every request still goes through the client's gate, the shared budget. A
// retried listing starts again from its first page: a partial listing is
// never used.
type retryingReader struct {
	inner    known.Reader
	policy   retryPolicy
	onRetry  func(what string, attempt int, wait time.Duration, err error)
	requests int // spent, over every attempt
}

// ListAccountUsers implements known.Reader.
func (r *retryingReader) ListAccountUsers(ctx context.Context, p downstream.Priority) ([]downstream.User, int, error) {
	before := r.requests
	var out []downstream.User
	err := r.retry(ctx, "listing the account's users", func() (int, error) {
		var n int
		var err error
		out, n, err = r.inner.ListAccountUsers(ctx, p)
		return n, err
	})
	return out, r.requests - before, err
}

// ListStoreUsers implements known.Reader.
func (r *retryingReader) ListStoreUsers(ctx context.Context, p downstream.Priority) ([]downstream.StoreUsers, int, error) {
	before := r.requests
	var out []downstream.StoreUsers
	err := r.retry(ctx, "listing the stores' users", func() (int, error) {
		var n int
		var err error
		out, n, err = r.inner.ListStoreUsers(ctx, p)
		return n, err
	})
	return out, r.requests - before, err
}

func (r *retryingReader) retry(ctx context.Context, what string, call func() (int, error)) error {
	wait := r.policy.first
	for attempt := 1; ; attempt++ {
		n, err := call()
		r.requests += n
		var de *downstream.Error
		if err == nil || attempt >= r.policy.attempts || !errors.As(err, &de) ||
			(de.Class != downstream.ClassTransient && de.Class != downstream.ClassRateLimited) {
			return err
		}
		w := max(wait, de.RetryAfter)
		if w > r.policy.maxWait {
			return fmt.Errorf("%w (BigCommerce asks to wait %s: run the command again later)", err, de.RetryAfter.Round(time.Second))
		}
		if r.onRetry != nil {
			r.onRetry(what, attempt, w, err)
		}
		t := time.NewTimer(w)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
}

// readPriority is the priority of every listing request of reconcile and
// report: the lowest, and never allowed into the budget's removal reserve.
const readPriority = downstream.PriorityRead

const reportUsage = `Usage: scim-bridge report [flags]

Writes the compliance report: every BigCommerce user of the account with each
store they can reach (permissions, status, last login there), their status,
locale and last login, whether the IdP manages them (with the SCIM id and
externalId when it does), plus the users the IdP knows (with an email) that
BigCommerce lacks.

It reads the account's users and every store's users through the shared
request budget at the lowest priority (BigCommerce allows 70 requests per hour
for the whole account) and says before it starts how many requests that
should cost; on a terminal it shows progress. A listing that fails for a
passing reason (a 5xx answer, a timeout, a dropped connection, a 429) is
retried up to 3 times, waiting 2s, 4s, then 8s (and at least as long as a 429
asks, when that is under 2 minutes); the retries go through the same budget.
It changes nothing: no intent, no known state. It needs the same
configuration and database as serve.

A deactivated IdP user is expected to be absent from BigCommerce: the
summary counts such users apart from the active users BigCommerce lacks, and
their rows list no granted stores (idp_state says "deactivated").

CSV: one row per (user, store) access, and one row with empty store columns
for a user who reaches no store. Columns: email, in_bigcommerce,
bigcommerce_user_id, first_name, last_name, status, locale, last_login_at,
managed, scim_id, external_id, idp_state, granted_stores, store_hash,
store_name, store_status, store_permissions, store_last_login_at, granted_at,
granted_by (when the access history knows when that store access began and
the id of the SCIM request or reconciliation run behind it). Lists are
separated by ";", times are RFC 3339 UTC, and a cell that starts with =, +, -,
@, tab or carriage return gets a leading ' so spreadsheets do not run it as a
formula. JSON: {"generatedAt","stores","users","summary"} (see the reconcile
package's Report type).

The report holds personal data: --output FILE is written with mode 0600.

Exit status: 0 written, 1 error (nothing written), 2 usage or configuration error.

Flags (-name and --name both work):
`

// runReport implements "scim-bridge report".
func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var (
		cf     configFlags
		format string
		output string
	)
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), reportUsage)
		fs.PrintDefaults()
	}
	cf.register(fs)
	fs.StringVar(&format, "format", "csv", "report format: csv or json")
	fs.StringVar(&output, "output", "-", "write the report to `FILE` (mode 0600) instead of standard output (-)")
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if !noArguments(fs, stderr) {
		return exitUsage
	}
	if format != "csv" && format != "json" {
		fmt.Fprintf(stderr, "scim-bridge report: --format %q: want csv or json\n", format)
		return exitUsage
	}
	if output == "" {
		fmt.Fprintln(stderr, "scim-bridge report: --output needs a file name (or - for standard output)")
		return exitUsage
	}

	d, code := openDeps(ctx, &cf, "report", stderr)
	if d == nil {
		return code
	}
	defer func() { _ = d.Close() }()
	cfg := d.Config

	est, err := reconcile.EstimateRead(ctx, d.Store, cfg.BigCommerce.PageSize)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge report: %v\n", err)
		return exitError
	}
	printEstimate(ctx, stderr, "report", est, d)
	reader, progress, err := retryingReadClient(d, stderr, "report")
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge report: %v\n", err)
		return exitError
	}
	progress.expect(est.Requests)
	snap, err := known.Read(ctx, reader, readPriority, d.Now)
	progress.done()
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge report: read BigCommerce: %v\nNo report was written (%s spent).\n", err, countOf(snap.Requests, "request", "requests"))
		return exitError
	}
	rep, err := buildAccessReport(ctx, d, snap)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge report: %v\n", err)
		return exitError
	}
	data, err := renderReport(rep, format)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge report: render: %v\n", err)
		return exitError
	}
	where, err := writeReportTo(stdout, output, data)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge report: write: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stderr, "scim-bridge report: %s; %s spent (estimated %d); written to %s\n",
		summaryText(rep), countOf(snap.Requests, "request", "requests"), est.Requests, where)
	return exitOK
}

// retryingReadClient is the BigCommerce reader of the read-only commands
// (cmd names the command in messages): it shows progress on stderr and
// retries passing failures (5xx, timeouts, 429) as reportRetry allows,
// saying so on stderr.
func retryingReadClient(d *app.Deps, stderr io.Writer, cmd string) (*retryingReader, *progressGate, error) {
	client, progress, err := readClient(d, stderr, cmd)
	if err != nil {
		return nil, nil, err
	}
	return &retryingReader{inner: client, policy: reportRetry, onRetry: func(what string, attempt int, wait time.Duration, err error) {
		progress.done()
		fmt.Fprintf(stderr, "scim-bridge %s: %s failed (%v); retrying in %s (attempt %d of %d)\n",
			cmd, what, err, wait, attempt+1, reportRetry.attempts)
	}}, progress, nil
}

// buildAccessReport compares the SCIM users with the account as read in
// snap and adds since when each access was granted, from the history.
func buildAccessReport(ctx context.Context, d *app.Deps, snap known.Snapshot) (reconcile.Report, error) {
	desired, err := d.Service.Desired(ctx)
	if err != nil {
		return reconcile.Report{}, fmt.Errorf("read the SCIM users: %w", err)
	}
	rep := reconcile.BuildReport(desired, snap)
	entries, err := history.Load(ctx, d.Store, store.HistoryFilter{})
	if err != nil {
		return reconcile.Report{}, err
	}
	rep.AddGrants(history.Grants(entries))
	return rep, nil
}

// renderReport renders the report as indented JSON or as CSV.
func renderReport(rep reconcile.Report, format string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if format == "json" {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = writeReportCSV(&buf, rep)
	}
	return buf.Bytes(), err
}

// writeReportTo writes data to stdout when output is "-", else to the
// private file output, and says where for the summary line.
func writeReportTo(stdout io.Writer, output string, data []byte) (where string, err error) {
	if output == "-" {
		_, err = stdout.Write(data)
		return "standard output", err
	}
	return output, writePrivateFile(output, data)
}

// summaryText is the report's one-line summary. Users the IdP deactivated
// are not "missing" when BigCommerce lacks them (that is the point of
// deactivating them); the ones BigCommerce still has are.
func summaryText(rep reconcile.Report) string {
	s := rep.Summary
	parts := []string{
		fmt.Sprintf("%s (%d managed, %d unmanaged) in %s", countOf(s.BigCommerceUsers, "BigCommerce user", "BigCommerce users"),
			s.Managed, s.Unmanaged, countOf(len(rep.Stores), "store", "stores")),
		fmt.Sprintf("%s missing from BigCommerce", countOf(s.MissingFromBigCommerce, "active IdP user", "active IdP users")),
	}
	if stillThere := s.DeactivatedPresent; stillThere > 0 {
		parts = append(parts, fmt.Sprintf("%s still in BigCommerce (delivery or reconciliation removes %s)",
			countOf(stillThere, "deactivated IdP user", "deactivated IdP users"), plural(stillThere, "it", "them")))
	}
	if goneAsWanted := s.DeactivatedAbsent; goneAsWanted > 0 {
		parts = append(parts, fmt.Sprintf("%s absent from BigCommerce, as intended", countOf(goneAsWanted, "deactivated IdP user", "deactivated IdP users")))
	}
	return strings.Join(parts, "; ")
}

// reportHeader are the CSV columns (see reportUsage).
var reportHeader = []string{
	"email", "in_bigcommerce", "bigcommerce_user_id", "first_name", "last_name", "status", "locale", "last_login_at",
	"managed", "scim_id", "external_id", "idp_state", "granted_stores",
	"store_hash", "store_name", "store_status", "store_permissions", "store_last_login_at",
	"granted_at", "granted_by",
}

func writeReportCSV(w io.Writer, rep reconcile.Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(reportHeader); err != nil {
		return err
	}
	for _, u := range rep.Users {
		user := []string{
			u.Email, strconv.FormatBool(u.InBigCommerce), u.BigCommerceID, u.FirstName, u.LastName, u.Status, u.Locale,
			timeCell(u.LastLoginAt), strconv.FormatBool(u.Managed), u.SCIMID, u.ExternalID, u.IdPState,
			strings.Join(u.GrantedStores, ";"),
		}
		stores := u.Stores
		if len(stores) == 0 {
			stores = []reconcile.StoreAccess{{}}
		}
		for _, s := range stores {
			row := append(append([]string(nil), user...),
				s.Hash, s.Name, s.Status, strings.Join(s.Permissions, ";"), timeCell(s.LastLoginAt),
				timeCell(s.GrantedAt), s.GrantedBy)
			for i := range row {
				row[i] = safeCell(row[i])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func timeCell(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// safeCell defuses spreadsheet formula injection (OWASP "CSV injection"): names
// come from BigCommerce and may have been typed by anyone with a control-panel
// account.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writePrivateFile writes data to path with mode 0600, atomically: a
// temporary file in the same directory, renamed over path.
func writePrivateFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// readClient returns the BigCommerce client reconcile and report read with:
// the configured client, whose gate is the shared budget, wrapped so that each
// request shows as progress when w is a terminal (and nothing otherwise).
func readClient(d *app.Deps, w io.Writer, cmd string) (*downstream.Client, *progressGate, error) {
	g := &progressGate{inner: d.Budget, cmd: cmd}
	if app.IsTerminal(w) {
		g.w = w
	}
	c, err := app.NewClient(d.Config, g, d.Log, version, nil)
	if err != nil {
		return nil, nil, err
	}
	return c, g, nil
}

// progressGate is a downstream.Gate that passes every request to the budget
// and, when w is set, shows "request n of about N" on one rewritten line.
type progressGate struct {
	inner downstream.Gate
	cmd   string
	w     io.Writer

	mu       sync.Mutex
	n, total int
}

func (g *progressGate) expect(n int) {
	g.mu.Lock()
	g.total = n
	g.mu.Unlock()
}

func (g *progressGate) show(state string) {
	if g.w == nil {
		return
	}
	g.mu.Lock()
	n, total := g.n, g.total
	g.mu.Unlock()
	fmt.Fprintf(g.w, "\rscim-bridge %s: request %d of about %d %s\x1b[K", g.cmd, n, max(total, n), state)
}

// Acquire implements downstream.Gate.
func (g *progressGate) Acquire(ctx context.Context, p downstream.Priority) error {
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
	g.show("(waiting for the budget)")
	err := g.inner.Acquire(ctx, p)
	g.show("sent")
	return err
}

// Observe implements downstream.Gate.
func (g *progressGate) Observe(info downstream.RateInfo) { g.inner.Observe(info) }

// done ends the progress line.
func (g *progressGate) done() {
	if g.w == nil {
		return
	}
	g.mu.Lock()
	n := g.n
	g.mu.Unlock()
	if n > 0 {
		fmt.Fprintln(g.w)
	}
}
