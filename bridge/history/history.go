// Package history reads the access history: one entry per change of a
// person's BigCommerce access that the bridge confirmed, observed or gave up
// on (see store.AccessChange). The entries are written by the delivery
// engine, in the transaction that settles the intents behind them, and by
// every complete listing of the account (reconciliation), so they cannot
// disagree with delivery. This package replays them: who could reach which
// store at a moment ([AsOf]), since when and granted by which request
// ([Grants]), how long after the IdP's request each removal took effect
// ([Removals]), and prunes them after the retention period ([Prune]).
//
// The history holds personal data (emails) by design. It is read only
// through the command line; nothing here logs it or exports it as a metric.
package history

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// pageSize is how many entries one read transaction returns.
const pageSize = 5000

// Load reads every entry matching f, in sequence order, a page per read
// transaction (f.AfterSeq and f.Limit are used for paging).
func Load(ctx context.Context, st store.Store, f store.HistoryFilter) ([]store.AccessChange, error) {
	var out []store.AccessChange
	for {
		page := f
		page.Limit = pageSize
		var got []store.AccessChange
		err := st.View(ctx, func(tx store.Tx) error {
			var err error
			got, err = tx.ListHistory(ctx, page)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read access history: %w", err)
		}
		out = append(out, got...)
		if len(got) < pageSize {
			return out, nil
		}
		f.AfterSeq = got[len(got)-1].Seq
	}
}

// Access is what one person could reach at a moment.
type Access struct {
	// InAccount says whether the person was a user of the account.
	InAccount bool
	// Stores are the hashes of the stores the person could reach, sorted.
	Stores []string
}

// State is everyone's access at a moment, by email.
type State map[string]Access

// counts reports whether an entry changed (or confirmed) access: dead
// letters never happened.
func counts(c store.AccessChange) bool { return c.Outcome != store.HistoryDead }

// Apply replays one entry onto a person's access. A dead letter changes
// nothing.
func Apply(a Access, c store.AccessChange) Access {
	if !counts(c) {
		return a
	}
	switch c.Change {
	case store.AccountAdd:
		a.InAccount = true
	case store.AccountRemove:
		a = Access{}
	case store.StoreAdd:
		// Store access needs the account: an addition of someone not in it
		// (never written by the bridge, which records the account first)
		// has no effect.
		if a.InAccount && !slices.Contains(a.Stores, c.StoreHash) {
			a.Stores = append(slices.Clone(a.Stores), c.StoreHash)
			slices.Sort(a.Stores)
		}
	case store.StoreRemove:
		if i := slices.Index(a.Stores, c.StoreHash); i >= 0 {
			a.Stores = slices.Delete(slices.Clone(a.Stores), i, i+1)
			if len(a.Stores) == 0 {
				a.Stores = nil
			}
		}
	}
	return a
}

// AsOf replays the entries (in sequence order, as Load returns them) that
// took effect at or before t: everyone's access at t, as far as the bridge
// knew it. People without access are left out.
func AsOf(entries []store.AccessChange, t time.Time) State {
	s := State{}
	for _, c := range entries {
		if !counts(c) || c.At.After(t) {
			continue
		}
		s[c.Email] = Apply(s[c.Email], c)
	}
	for email, a := range s {
		if !a.InAccount {
			delete(s, email)
		}
	}
	return s
}

// ByStore returns, per store hash, the sorted emails that could reach it.
func (s State) ByStore() map[string][]string {
	out := map[string][]string{}
	for email, a := range s {
		for _, h := range a.Stores {
			out[h] = append(out[h], email)
		}
	}
	for h := range out {
		sort.Strings(out[h])
	}
	return out
}

// Grant is the start of a person's current, uninterrupted access to a store.
type Grant struct {
	// At is when BigCommerce confirmed (or a listing showed) the access.
	At time.Time
	// RequestID, Source and Cause name what granted it.
	RequestID, Source, Cause string
}

// Grants returns, per email and store hash, when the access that still
// holds after the last entry began and what granted it. An addition that
// found the access already in effect does not restart it.
func Grants(entries []store.AccessChange) map[string]map[string]Grant {
	out := map[string]map[string]Grant{}
	state := State{}
	for _, c := range entries {
		if !counts(c) {
			continue
		}
		before := state[c.Email]
		after := Apply(before, c)
		state[c.Email] = after
		g := out[c.Email]
		for _, h := range before.Stores {
			if !slices.Contains(after.Stores, h) {
				delete(g, h)
			}
		}
		for _, h := range after.Stores {
			if slices.Contains(before.Stores, h) {
				continue
			}
			if g == nil {
				g = map[string]Grant{}
				out[c.Email] = g
			}
			g[h] = Grant{At: c.At, RequestID: c.RequestID, Source: c.Source, Cause: c.Cause}
		}
		if g != nil && len(g) == 0 {
			delete(out, c.Email)
		}
	}
	return out
}

// Removal is one removal the IdP asked for and its outcome.
type Removal struct {
	store.AccessChange
	// Latency is from the IdP's request to BigCommerce's confirmation; zero
	// when Confirmed is false.
	Latency time.Duration
	// Confirmed is false for a removal the bridge gave up on (dead letter):
	// the person kept the access.
	Confirmed bool
}

// IsDeprovision reports whether a change of this source and kind takes
// access away at the IdP's request: its latency is deprovisioning evidence.
func IsDeprovision(source string, kind store.IntentKind) bool {
	return source == store.SourceSCIM && (kind == store.AccountRemove || kind == store.StoreRemove)
}

// Removals returns the deprovisioning evidence among the entries: every
// account or store removal a SCIM request asked for, with its latency.
func Removals(entries []store.AccessChange) []Removal {
	var out []Removal
	for _, c := range entries {
		if !IsDeprovision(c.Source, c.Change) {
			continue
		}
		r := Removal{AccessChange: c, Confirmed: counts(c)}
		r.Latency, _ = Latency(c)
		out = append(out, r)
	}
	return out
}

// Latency returns how long after the IdP's request the entry took effect, and
// whether that applies (a confirmed entry somebody asked for).
func Latency(c store.AccessChange) (time.Duration, bool) {
	if !counts(c) || c.RequestedAt.IsZero() || c.Outcome == store.HistoryObserved {
		return 0, false
	}
	return max(c.At.Sub(c.RequestedAt), 0), true
}
