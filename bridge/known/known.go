// Package known is what the bridge knows of BigCommerce's state: per email,
// whether the user is in the account, the stores the user can reach and which
// of those facts are in doubt (a request whose answer was lost), plus whether a
// complete listing of the account was ever saved. Delivery reads it to plan
// and records what BigCommerce answered; reconciliation and the report replace
// it with a complete read ([Read], [Save]).
package known

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// SnapshotKey is the state document recording the last complete listing of the
// account's users (JSON: {"at": time}). With a snapshot, an email the bridge has
// no record of is known to be absent from the account.
const SnapshotKey = "bc.snapshot"

// HistoryBaselineKey is the state document recording that a complete
// listing was recorded in the access history (JSON: {"at": time}).
const HistoryBaselineKey = "history.baseline"

type snapshotDoc struct {
	At time.Time `json:"at"`
}

// Set is what the bridge knows about the emails of one delivery step.
type Set struct {
	users    map[string]store.BCUser
	snapshot bool
}

// Lookup returns what is known about email, and whether that is known: an
// email with no record is known to be absent once a complete listing was saved.
func (k Set) Lookup(email string) (store.BCUser, bool) {
	if u, ok := k.users[email]; ok {
		return u, true
	}
	return store.BCUser{Email: email}, k.snapshot
}

// Load reads what the bridge knows about the given emails.
func Load(ctx context.Context, tx store.Tx, emails []string) (Set, error) {
	users, err := tx.GetBCUsers(ctx, emails)
	if err != nil {
		return Set{}, fmt.Errorf("read known users: %w", err)
	}
	_, err = tx.GetState(ctx, SnapshotKey)
	switch {
	case err == nil:
		return Set{users: users, snapshot: true}, nil
	case errors.Is(err, store.ErrNotFound):
		return Set{users: users}, nil
	default:
		return Set{}, fmt.Errorf("read snapshot: %w", err)
	}
}

// Snapshot is a complete read of the account: its users, the stores and who can
// reach each store.
type Snapshot struct {
	At         time.Time
	Users      []downstream.User
	StoreUsers []downstream.StoreUsers
	Requests   int
}

// Reader is the part of the downstream client a snapshot needs.
type Reader interface {
	ListAccountUsers(ctx context.Context, p downstream.Priority) ([]downstream.User, int, error)
	ListStoreUsers(ctx context.Context, p downstream.Priority) ([]downstream.StoreUsers, int, error)
}

// Read lists the account's users and every store's users. Any failure
// returns an error and no snapshot: a partial read is never acted on. The
// snapshot's time is when the read started: what it shows is at least that
// recent.
func Read(ctx context.Context, r Reader, p downstream.Priority, now func() time.Time) (Snapshot, error) {
	at := now()
	users, n1, err := r.ListAccountUsers(ctx, p)
	if err != nil {
		return Snapshot{Requests: n1}, fmt.Errorf("list account users: %w", err)
	}
	stores, n2, err := r.ListStoreUsers(ctx, p)
	if err != nil {
		return Snapshot{Requests: n1 + n2}, fmt.Errorf("list store users: %w", err)
	}
	return Snapshot{At: at, Users: users, StoreUsers: stores, Requests: n1 + n2}, nil
}

// Known returns the snapshot as the bridge's known-state records.
func (s Snapshot) Known() []store.BCUser {
	byEmail := map[string]*store.BCUser{}
	for _, u := range s.Users {
		e := strings.ToLower(u.Email)
		byEmail[e] = &store.BCUser{Email: e, UserID: u.ID, InAccount: true, UpdatedAt: s.At}
	}
	for _, su := range s.StoreUsers {
		for _, u := range su.Users {
			e := strings.ToLower(u.Email)
			k, ok := byEmail[e]
			if !ok {
				// Seen in a store but not in the account listing (a listing race):
				// trust the store listing.
				k = &store.BCUser{Email: e, UserID: u.ID, InAccount: true, UpdatedAt: s.At}
				byEmail[e] = k
			}
			k.Stores = append(k.Stores, su.Store.Hash)
		}
	}
	out := make([]store.BCUser, 0, len(byEmail))
	for _, k := range byEmail {
		sort.Strings(k.Stores)
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out
}

// Catalog returns the snapshot's stores as the bridge's store catalog.
func (s Snapshot) Catalog() []bridge.CatalogStore {
	out := make([]bridge.CatalogStore, 0, len(s.StoreUsers))
	for _, su := range s.StoreUsers {
		out = append(out, bridge.CatalogStore{Hash: su.Store.Hash, Name: su.Store.Name})
	}
	return out
}

// Save replaces the bridge's known state with a complete snapshot, and
// records in the access history every change of access the snapshot shows
// against what the bridge knew (observed by o, at the snapshot's time).
//
// Targets in doubt stay in doubt: a request whose answer was lost may have
// been applied after the listing read that user, so only BigCommerce's answer
// to the request that is sent again settles them. The records of the emails
// in keep stand as they are: the delivery engine changed them after the
// listing was read, so the listing is older news for them.
func Save(ctx context.Context, tx store.Tx, s Snapshot, o Origin, keep ...string) error {
	old, err := tx.ListBCUsers(ctx)
	if err != nil {
		return fmt.Errorf("read known users: %w", err)
	}
	next := s.Known()
	byEmail := make(map[string]int, len(next))
	for i, k := range next {
		byEmail[k.Email] = i
	}
	kept := make(map[string]bool, len(keep))
	for _, e := range keep {
		kept[e] = true
	}
	oldByEmail := make(map[string]store.BCUser, len(old))
	for _, prev := range old {
		oldByEmail[prev.Email] = prev
		i, ok := byEmail[prev.Email]
		switch {
		case kept[prev.Email]:
			if ok {
				next[i] = prev
			} else {
				next = append(next, prev)
			}
			continue
		case !prev.AccountInDoubt && len(prev.StoresInDoubt) == 0:
			continue
		case !ok:
			next = append(next, store.BCUser{Email: prev.Email, UpdatedAt: s.At})
			i = len(next) - 1
			byEmail[prev.Email] = i
		}
		next[i].AccountInDoubt, next[i].StoresInDoubt = prev.AccountInDoubt, prev.StoresInDoubt
	}
	// The first complete listing the access history sees (a new install, or
	// an upgrade from a version without it) records everyone's access as
	// observed, so the history starts from what BigCommerce had.
	_, err = tx.GetState(ctx, HistoryBaselineKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		oldByEmail, old = map[string]store.BCUser{}, nil
	case err != nil:
		return fmt.Errorf("read history baseline: %w", err)
	}
	var history []store.AccessChange
	seen := make(map[string]bool, len(next))
	for _, n := range next {
		seen[n.Email] = true
		history = append(history, Changes(oldByEmail[n.Email], n, s.At, o)...)
	}
	for _, prev := range old {
		if !seen[prev.Email] {
			history = append(history, Changes(prev, store.BCUser{Email: prev.Email}, s.At, o)...)
		}
	}
	if err := tx.AppendHistory(ctx, history); err != nil {
		return fmt.Errorf("record observed access: %w", err)
	}
	if err := tx.ReplaceBCUsers(ctx, next); err != nil {
		return fmt.Errorf("save known users: %w", err)
	}
	raw, err := json.Marshal(snapshotDoc{At: s.At.UTC()})
	if err != nil {
		return err
	}
	if err := tx.PutState(ctx, HistoryBaselineKey, raw); err != nil {
		return err
	}
	return tx.PutState(ctx, SnapshotKey, raw)
}
