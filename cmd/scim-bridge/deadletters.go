package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

const deadLettersUsage = `Usage: scim-bridge dead-letters [--retry all|SEQ,...] [--output text|json] [flags]

Lists the changes delivery gave up on (permanent refusals, or
delivery.max_attempts failures in a row), with the reason for each, and with
--retry puts them back in the queue: the leader's delivery engine sends them
within its budget. It needs the same configuration and database as serve. The
list shows emails: it is meant for your terminal.

--retry SEQ,... names entries by the SEQ column of the list. When one of them
is not a dead letter (never was, or was retried already), nothing is
requeued and the command exits 1.

Exit status: 0 listed (and requeued), 1 error or unknown sequence number,
2 usage or configuration error.

Flags (-name and --name both work):
`

// errNotDead is returned from the retry transaction when a requested
// sequence number is not a dead letter, so that nothing is requeued.
var errNotDead = errors.New("not dead letters")

func runDeadLetters(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dead-letters", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	retry := fs.String("retry", "", `retry dead-lettered changes: "all" or a comma-separated list of sequence numbers`)
	output := fs.String("output", "text", "text or json")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), deadLettersUsage)
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if !noArguments(fs, stderr) {
		return exitUsage
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintln(stderr, `scim-bridge dead-letters: --output must be "text" or "json"`)
		return exitUsage
	}
	only, bad, ok := parseRetrySeqs(*retry)
	if !ok {
		fmt.Fprintf(stderr, "scim-bridge dead-letters: --retry: %q is not a sequence number; give \"all\" or numbers from the list\n", bad)
		return exitUsage
	}
	d, code := openDeps(ctx, &cf, "dead-letters", stderr)
	if d == nil {
		return code
	}
	defer func() { _ = d.Close() }()

	dead, retried, unknown, err := listDeadLetters(ctx, d.Store, *retry != "", only)
	if errors.Is(err, errNotDead) {
		seqs := make([]string, len(unknown))
		for i, n := range unknown {
			seqs[i] = strconv.FormatInt(n, 10)
		}
		fmt.Fprintf(stderr, "scim-bridge dead-letters: no dead letter with sequence %s %s (there %s %s; run \"scim-bridge dead-letters\" for the list); nothing was requeued\n",
			plural(len(unknown), "number", "numbers"), strings.Join(seqs, ", "), plural(len(dead), "is", "are"), countOf(len(dead), "dead letter", "dead letters"))
		return exitError
	}
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge dead-letters: %v\n", err)
		return exitError
	}
	if *retry != "" {
		d.Log.Info("dead letters requeued", zap.Int("count", len(retried)))
	}
	if *output == "json" {
		writeDeadLettersJSON(stdout, dead, retried)
	} else {
		printDeadLetters(stdout, dead, retried, *retry != "")
	}
	return exitOK
}

// parseRetrySeqs parses the --retry value: "" or "all" select every dead
// letter (only is nil), else a comma-separated list of sequence numbers. ok
// is false, with the bad entry, when one is not a number.
func parseRetrySeqs(retry string) (only map[int64]bool, bad string, ok bool) {
	if retry == "" || retry == "all" {
		return nil, "", true
	}
	only = map[int64]bool{}
	for _, s := range strings.Split(retry, ",") {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, s, false
		}
		only[n] = true
	}
	return only, "", true
}

// listDeadLetters lists the dead letters and, with retry, requeues those in
// only (all when only is nil) in the same transaction, with one audit event.
// When a requested sequence number is not a dead letter it returns
// errNotDead with those numbers in unknown, and nothing is requeued.
func listDeadLetters(ctx context.Context, st store.Store, retry bool, only map[int64]bool) (dead, retried []store.Intent, unknown []int64, err error) {
	err = st.Update(ctx, func(tx store.Tx) error {
		retried, unknown = retried[:0], nil
		var err error
		if dead, err = tx.ListIntents(ctx, store.IntentFilter{States: []store.IntentState{store.IntentDead}}); err != nil {
			return err
		}
		if !retry {
			return nil
		}
		if missing := notDead(only, dead); len(missing) > 0 {
			unknown = missing
			return errNotDead
		}
		now := time.Now().UTC()
		for _, in := range dead {
			if only != nil && !only[in.Seq] {
				continue
			}
			if err := requeue(ctx, tx, in); err != nil {
				return err
			}
			retried = append(retried, in)
		}
		if len(retried) == 0 {
			return nil
		}
		return tx.AppendAudit(ctx, store.AuditEvent{Time: now, Actor: "operator", Action: "intent.retry", ResourceType: "Intent",
			Detail: fmt.Sprintf("retried=%d", len(retried))})
	})
	return dead, retried, unknown, err
}

// requeue puts a dead letter back in the queue with its attempts reset, and
// marks its user's sync pending again when the user still exists.
func requeue(ctx context.Context, tx store.Tx, in store.Intent) error {
	in.State, in.Attempts, in.NextAttemptAt, in.LastError, in.DoneAt = store.IntentPending, 0, time.Time{}, "", time.Time{}
	if err := tx.UpdateIntent(ctx, in, store.IntentDead); err != nil {
		return err
	}
	if in.UserID == "" {
		return nil
	}
	u, err := tx.GetUser(ctx, in.UserID)
	if err != nil {
		return nil // the user is gone: no sync state to reset
	}
	s := u.Sync
	s.State, s.LastError = store.SyncPending, ""
	return tx.SetUserSync(ctx, u.ID, s)
}

// writeDeadLettersJSON writes the dead letters as JSON, each marked when
// this run requeued it.
func writeDeadLettersJSON(w io.Writer, dead, retried []store.Intent) {
	type item struct {
		Seq       int64     `json:"seq"`
		Kind      string    `json:"kind"`
		Email     string    `json:"email"`
		Store     string    `json:"store,omitempty"`
		UserID    string    `json:"scimUserId,omitempty"`
		Reason    string    `json:"reason"`
		Attempts  int       `json:"attempts"`
		CreatedAt time.Time `json:"createdAt"`
		DeadAt    time.Time `json:"deadAt"`
		Retried   bool      `json:"retried"`
	}
	re := map[int64]bool{}
	for _, in := range retried {
		re[in.Seq] = true
	}
	items := []item{}
	for _, in := range dead {
		items = append(items, item{in.Seq, string(in.Kind), in.Email, in.StoreHash, in.UserID, in.LastError, in.Attempts, in.CreatedAt, in.DoneAt, re[in.Seq]})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(map[string]any{"deadLetters": items, "retried": len(retried)})
}

// printDeadLetters writes the dead letters as a table, then what was
// requeued or, when nothing was asked, how to retry.
func printDeadLetters(w io.Writer, dead, retried []store.Intent, retry bool) {
	if len(dead) == 0 {
		fmt.Fprintln(w, "No dead letters: every accepted change was delivered or is still queued.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tKIND\tEMAIL\tSTORE\tREASON\tATTEMPTS\tDEAD SINCE")
	for _, in := range dead {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", in.Seq, in.Kind, in.Email, in.StoreHash, in.LastError, in.Attempts, in.DoneAt.Format(time.RFC3339))
	}
	_ = tw.Flush()
	if retry {
		fmt.Fprintf(w, "\nRequeued %s of %d; the leader's delivery engine sends them within its budget.\n", countOf(len(retried), "change", "changes"), len(dead))
	} else {
		fmt.Fprintln(w, "\nFix the cause (see REASON), then run: scim-bridge dead-letters --retry all (or --retry SEQ,...)")
	}
}

// notDead returns the requested sequence numbers (nil: all) that are not
// among the dead letters, sorted.
func notDead(requested map[int64]bool, dead []store.Intent) []int64 {
	have := map[int64]bool{}
	for _, in := range dead {
		have[in.Seq] = true
	}
	var out []int64
	for n := range requested {
		if !have[n] {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
