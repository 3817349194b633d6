package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/history"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

const historyUsage = `Usage: scim-bridge history [--email E] [--store HASH] [--since T] [--until T]
                           [--as-of T] [--format text|csv|json] [--output FILE] [flags]

Prints the access history: one entry per change of a person's BigCommerce
access (account added or removed, store granted or revoked) with its cause —
the SCIM request id and kind (user.create, user.deactivate, user.delete,
group.update, ...), the reconciliation run, or the operator command — when it
was asked for, and when BigCommerce confirmed it. Outcomes: applied,
already (BigCommerce answered it was in effect), observed (a listing or an
answer showed a change the bridge did not make, such as access that predates
the bridge or a change made in the control panel), dead (the bridge gave up:
the person's access did not change; see "scim-bridge dead-letters").

For each removal the IdP asked for, latency_seconds is the time from the
request (deactivation, DELETE, group removal) to BigCommerce's confirmation:
deprovisioning evidence. The text format ends with a summary of those
latencies against delivery.deprovision_slo.

--store HASH shows that store's grants and revocations, and the account
removals that took it from someone who had it. --since and --until (RFC 3339,
or a date YYYY-MM-DD meaning its midnight UTC) bound the time of the entries
shown; --until is exclusive.

--as-of T prints who could reach each store at T instead, from the history
alone (with when each access began and what granted it), and the account
users without store access. The history starts with the bridge's first
complete listing of the account (its first reconciliation); entries are
pruned after retention.history, keeping those that still say who has access.

The history holds personal data (emails). It is read only through this
command: it is never logged nor exported on /metrics or /status. --output
FILE is written with mode 0600. It needs the same configuration and database
as serve, and sends no request to BigCommerce.

Exit status: 0 printed, 1 error, 2 usage or configuration error.

Flags (-name and --name both work):
`

// historyRow is one entry as the command prints it.
type historyRow struct {
	Seq            int64      `json:"seq"`
	At             time.Time  `json:"at"`
	Email          string     `json:"email"`
	StoreHash      string     `json:"storeHash,omitempty"`
	Change         string     `json:"change"`
	Outcome        string     `json:"outcome"`
	Source         string     `json:"source"`
	RequestID      string     `json:"requestId,omitempty"`
	Cause          string     `json:"cause,omitempty"`
	SCIMID         string     `json:"scimId,omitempty"`
	RequestedAt    *time.Time `json:"requestedAt,omitempty"`
	LatencySeconds *float64   `json:"latencySeconds,omitempty"`
}

// removalSummary is the deprovisioning evidence of the entries shown.
type removalSummary struct {
	Removals   int     `json:"removals"`
	Confirmed  int     `json:"confirmed"`
	Dead       int     `json:"dead"`
	OverSLO    int     `json:"overSlo"`
	SLOSeconds float64 `json:"sloSeconds"`
	P50Seconds float64 `json:"p50Seconds"`
	P95Seconds float64 `json:"p95Seconds"`
	MaxSeconds float64 `json:"maxSeconds"`
}

// asOfAccess is one person's access to one store at the --as-of moment.
type asOfAccess struct {
	StoreHash string     `json:"storeHash"`
	Email     string     `json:"email"`
	GrantedAt *time.Time `json:"grantedAt,omitempty"`
	GrantedBy string     `json:"grantedBy,omitempty"`
	Cause     string     `json:"grantedCause,omitempty"`
}

// historyQuery is what the history command was asked for.
type historyQuery struct {
	cf                 configFlags
	email, store       string
	since, until, asOf time.Time
	format, output     string
}

// parseHistoryFlags reads the command line; ok is false with the exit status
// when the command must stop (help, usage error).
func parseHistoryFlags(args []string, stdout, stderr io.Writer) (q historyQuery, code int, ok bool) {
	fs := flag.NewFlagSet("history", flag.ContinueOnError)
	q.cf.register(fs)
	fs.StringVar(&q.email, "email", "", "show only this person (their BigCommerce email)")
	fs.StringVar(&q.store, "store", "", "show only this store (its hash)")
	since := fs.String("since", "", "show entries at or after `TIME` (RFC 3339 or YYYY-MM-DD)")
	until := fs.String("until", "", "show entries before `TIME` (RFC 3339 or YYYY-MM-DD)")
	asOf := fs.String("as-of", "", "print who could reach each store at `TIME` (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&q.format, "format", "text", "text, csv or json")
	fs.StringVar(&q.output, "output", "-", "write to `FILE` (mode 0600) instead of standard output (-)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), historyUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return q, code, false
	}
	if !noArguments(fs, stderr) {
		return q, exitUsage, false
	}
	fail := func(format string, a ...any) (historyQuery, int, bool) {
		fmt.Fprintf(stderr, "scim-bridge history: "+format+"\n", a...)
		return q, exitUsage, false
	}
	switch q.format {
	case "text", "csv", "json":
	default:
		return fail("--format %q: want text, csv or json", q.format)
	}
	if q.output == "" {
		return fail("--output needs a file name (or - for standard output)")
	}
	for _, v := range []struct {
		name, value string
		dst         *time.Time
	}{{"since", *since, &q.since}, {"until", *until, &q.until}, {"as-of", *asOf, &q.asOf}} {
		if v.value == "" {
			continue
		}
		t, err := parseHistoryTime(v.value)
		if err != nil {
			return fail("--%s %q: %v", v.name, v.value, err)
		}
		*v.dst = t
	}
	if *asOf != "" && (*since != "" || *until != "") {
		return fail("--as-of prints one moment; it cannot be combined with --since or --until")
	}
	if !q.since.IsZero() && !q.until.IsZero() && !q.until.After(q.since) {
		return fail("--until must be later than --since")
	}
	q.email = strings.ToLower(strings.TrimSpace(q.email))
	return q, exitOK, true
}

func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	q, code, ok := parseHistoryFlags(args, stdout, stderr)
	if !ok {
		return code
	}
	d, code := openDeps(ctx, &q.cf, "history", stderr)
	if d == nil {
		return code
	}
	defer func() { _ = d.Close() }()
	failed := func(what string, err error) int {
		fmt.Fprintf(stderr, "scim-bridge history: %s%v\n", what, err)
		return exitError
	}
	entries, err := history.Load(ctx, d.Store, store.HistoryFilter{Email: q.email})
	if err != nil {
		return failed("", err)
	}
	var baseline bool
	err = d.Store.View(ctx, func(tx store.Tx) error {
		_, err := tx.GetState(ctx, known.HistoryBaselineKey)
		baseline = err == nil
		if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
		return err
	})
	if err != nil {
		return failed("", err)
	}
	if !baseline {
		fmt.Fprintln(stderr, "scim-bridge history: no complete listing of the account is recorded yet: access that predates the bridge appears after the first reconciliation (scim-bridge reconcile)")
	}
	if cutoff := d.Now().Add(-d.Config.Retention.History); !q.asOf.IsZero() && q.asOf.Before(cutoff) {
		fmt.Fprintf(stderr, "scim-bridge history: %s is older than retention.history (%s): entries before %s may have been pruned\n",
			q.asOf.Format(time.RFC3339), d.Config.Retention.History, cutoff.Format(time.RFC3339))
	}

	var buf bytes.Buffer
	if !q.asOf.IsZero() {
		access, members := asOfRows(entries, q.asOf, q.store)
		err = writeAsOf(&buf, q.format, q.asOf, access, members)
	} else {
		shown := selectHistory(entries, q.store, q.since, q.until)
		rows := make([]historyRow, len(shown))
		for i, c := range shown {
			rows[i] = rowOf(c)
		}
		err = writeHistory(&buf, q.format, rows, summarize(history.Removals(shown), d.Config.Delivery.DeprovisionSLO))
	}
	if err != nil {
		return failed("render: ", err)
	}
	if q.output == "-" {
		_, err = stdout.Write(buf.Bytes())
	} else {
		err = writePrivateFile(q.output, buf.Bytes())
	}
	if err != nil {
		return failed("write: ", err)
	}
	return exitOK
}

// parseHistoryTime reads RFC 3339 or a date (its midnight UTC).
func parseHistoryTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want RFC 3339 (2026-01-31T17:00:00Z) or a date (2026-01-31)")
}

// selectHistory picks the entries to print. The whole history of the people
// concerned is replayed so that --store can tell which account removals took
// that store from someone.
func selectHistory(entries []store.AccessChange, hash string, since, until time.Time) []store.AccessChange {
	state := history.State{}
	var out []store.AccessChange
	for _, c := range entries {
		had := state[c.Email]
		state[c.Email] = history.Apply(had, c)
		if hash != "" && c.StoreHash != hash && (c.Change != store.AccountRemove || !slices.Contains(had.Stores, hash)) {
			continue
		}
		if (!since.IsZero() && c.At.Before(since)) || (!until.IsZero() && !c.At.Before(until)) {
			continue
		}
		out = append(out, c)
	}
	return out
}

func rowOf(c store.AccessChange) historyRow {
	r := historyRow{Seq: c.Seq, At: c.At, Email: c.Email, StoreHash: c.StoreHash, Change: string(c.Change), Outcome: c.Outcome,
		Source: c.Source, RequestID: c.RequestID, Cause: c.Cause, SCIMID: c.UserID}
	if !c.RequestedAt.IsZero() {
		t := c.RequestedAt
		r.RequestedAt = &t
	}
	if l, ok := history.Latency(c); ok {
		s := l.Seconds()
		r.LatencySeconds = &s
	}
	return r
}

// summarize is the deprovisioning evidence: the SCIM-requested removals,
// their latencies and how many missed the SLO (a dead one always does: the
// person kept access).
func summarize(removals []history.Removal, slo time.Duration) removalSummary {
	s := removalSummary{Removals: len(removals), SLOSeconds: slo.Seconds()}
	var lat []float64
	for _, r := range removals {
		if !r.Confirmed {
			s.Dead++
			s.OverSLO++
			continue
		}
		s.Confirmed++
		if r.RequestedAt.IsZero() {
			continue
		}
		lat = append(lat, r.Latency.Seconds())
		if r.Latency > slo {
			s.OverSLO++
		}
	}
	if len(lat) > 0 {
		sort.Float64s(lat)
		at := func(q float64) float64 { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
		s.P50Seconds, s.P95Seconds, s.MaxSeconds = at(0.5), at(0.95), lat[len(lat)-1]
	}
	return s
}

var historyHeader = []string{"seq", "at", "email", "store_hash", "change", "outcome", "source", "request_id", "cause",
	"scim_id", "requested_at", "latency_seconds"}

func writeHistory(w io.Writer, format string, rows []historyRow, sum removalSummary) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []historyRow{}
		}
		return enc.Encode(struct {
			Changes  []historyRow   `json:"changes"`
			Removals removalSummary `json:"removals"`
		}{rows, sum})
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(historyHeader); err != nil {
			return err
		}
		for _, r := range rows {
			if err := cw.Write(historyCells(r)); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tAT\tEMAIL\tSTORE\tCHANGE\tOUTCOME\tCAUSE\tREQUEST\tLATENCY")
	for _, r := range rows {
		c := historyCells(r)
		latency := ""
		if r.LatencySeconds != nil {
			latency = (time.Duration(*r.LatencySeconds * float64(time.Second))).Round(time.Second).String()
		}
		store := c[3]
		if store == "" {
			store = "(account)"
		}
		cause := c[8]
		if cause == "" {
			cause = c[6]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c[0], c[1], c[2], store, c[4], c[5], cause, c[7], latency)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s asked for by the IdP: %d confirmed, %d dead (access kept); latency p50 %s, p95 %s, max %s; %d over the SLO of %s\n",
		countOf(sum.Removals, "removal", "removals"), sum.Confirmed, sum.Dead, seconds(sum.P50Seconds), seconds(sum.P95Seconds),
		seconds(sum.MaxSeconds), sum.OverSLO, seconds(sum.SLOSeconds))
	return nil
}

func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

func historyCells(r historyRow) []string {
	cells := []string{strconv.FormatInt(r.Seq, 10), r.At.UTC().Format(time.RFC3339), r.Email, r.StoreHash, r.Change,
		r.Outcome, r.Source, r.RequestID, r.Cause, r.SCIMID, timeCell(r.RequestedAt), ""}
	if r.LatencySeconds != nil {
		cells[11] = strconv.FormatFloat(*r.LatencySeconds, 'f', 3, 64)
	}
	for i := range cells {
		cells[i] = safeCell(cells[i])
	}
	return cells
}

// asOfRows is who could reach each store at t (one store when hash is set),
// with the grant of each access, and the account users without store access.
func asOfRows(entries []store.AccessChange, t time.Time, hash string) ([]asOfAccess, []string) {
	var upTo []store.AccessChange
	for _, c := range entries {
		if !c.At.After(t) {
			upTo = append(upTo, c)
		}
	}
	state := history.AsOf(upTo, t)
	grants := history.Grants(upTo)
	byStore := state.ByStore()
	hashes := make([]string, 0, len(byStore))
	for h := range byStore {
		if hash == "" || h == hash {
			hashes = append(hashes, h)
		}
	}
	sort.Strings(hashes)
	var rows []asOfAccess
	for _, h := range hashes {
		for _, email := range byStore[h] {
			r := asOfAccess{StoreHash: h, Email: email}
			if g, ok := grants[email][h]; ok {
				at := g.At
				r.GrantedAt, r.GrantedBy, r.Cause = &at, g.RequestID, g.Cause
			}
			rows = append(rows, r)
		}
	}
	var members []string
	for email, a := range state {
		if len(a.Stores) == 0 && hash == "" {
			members = append(members, email)
		}
	}
	sort.Strings(members)
	return rows, members
}

func writeAsOf(w io.Writer, format string, t time.Time, rows []asOfAccess, members []string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []asOfAccess{}
		}
		if members == nil {
			members = []string{}
		}
		return enc.Encode(struct {
			AsOf                time.Time    `json:"asOf"`
			Access              []asOfAccess `json:"access"`
			AccountWithoutStore []string     `json:"accountUsersWithoutStores"`
		}{t, rows, members})
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write([]string{"as_of", "store_hash", "email", "granted_at", "granted_by", "granted_cause"}); err != nil {
			return err
		}
		for _, r := range rows {
			row := []string{t.Format(time.RFC3339), r.StoreHash, r.Email, timeCell(r.GrantedAt), r.GrantedBy, r.Cause}
			for i := range row {
				row[i] = safeCell(row[i])
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		for _, m := range members {
			if err := cw.Write([]string{t.Format(time.RFC3339), "", safeCell(m), "", "", ""}); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
	fmt.Fprintf(w, "Access as of %s (from the access history)\n\n", t.Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STORE\tEMAIL\tGRANTED AT\tGRANTED BY")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.StoreHash, r.Email, timeCell(r.GrantedAt), strings.TrimSpace(r.Cause+" "+r.GrantedBy))
	}
	for _, m := range members {
		fmt.Fprintf(tw, "(no store)\t%s\t\t\n", m)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	stores := map[string]bool{}
	for _, r := range rows {
		stores[r.StoreHash] = true
	}
	fmt.Fprintf(w, "\n%s to %s; %s in the account without store access\n",
		countOf(len(rows), "access", "accesses"), countOf(len(stores), "store", "stores"), countOf(len(members), "user", "users"))
	return nil
}
