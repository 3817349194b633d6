package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// CatalogKey is the store state document holding the BigCommerce store catalog
// (JSON array of CatalogStore), written by the delivery engine and the
// reconciler whenever they list the account's stores.
const CatalogKey = "catalog.stores"

// CatalogStore is one BigCommerce store as the bridge last saw it.
type CatalogStore struct {
	Hash string `json:"hash"`
	Name string `json:"name"`
}

// Mapping decides which BigCommerce store, if any, a SCIM group grants.
type Mapping struct {
	// Explicit maps group display names (compared case-insensitively) to store
	// hashes. An explicit entry always wins.
	Explicit map[string]string
	// ByName, when true, maps a group whose display name equals a catalog store's
	// name or hash (case-insensitively) to that store.
	ByName bool
}

// resolver answers "which store does this group grant" within one transaction.
type resolver struct {
	explicit map[string]string // lower-cased name -> hash
	byName   map[string]string // lower-cased store name or hash -> hash
}

func (m Mapping) resolver(ctx context.Context, tx store.Tx) (*resolver, error) {
	var cat []CatalogStore
	if m.ByName {
		var err error
		if cat, err = LoadCatalog(ctx, tx); err != nil {
			return nil, err
		}
	}
	return m.resolverFor(cat), nil
}

// resolverFor returns the resolver for a given store catalog.
func (m Mapping) resolverFor(cat []CatalogStore) *resolver {
	r := &resolver{explicit: make(map[string]string, len(m.Explicit))}
	for name, hash := range m.Explicit {
		r.explicit[strings.ToLower(name)] = hash
	}
	if !m.ByName {
		return r
	}
	r.byName = make(map[string]string, 2*len(cat))
	for _, s := range cat {
		r.byName[strings.ToLower(s.Hash)] = s.Hash
	}
	// Names second so that a store whose name equals another store's hash does not
	// shadow that store.
	for _, s := range cat {
		if _, taken := r.byName[strings.ToLower(s.Name)]; !taken {
			r.byName[strings.ToLower(s.Name)] = s.Hash
		}
	}
	return r
}

// storeFor returns the store hash a group named displayName grants, or "".
func (r *resolver) storeFor(displayName string) string {
	k := strings.ToLower(displayName)
	if h, ok := r.explicit[k]; ok {
		return h
	}
	return r.byName[k]
}

// LoadCatalog reads the store catalog; an absent catalog is empty.
func LoadCatalog(ctx context.Context, tx store.Tx) ([]CatalogStore, error) {
	raw, err := tx.GetState(ctx, CatalogKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read store catalog: %w", err)
	}
	var cat []CatalogStore
	if err := json.Unmarshal(raw, &cat); err != nil {
		return nil, fmt.Errorf("decode store catalog: %w", err)
	}
	return cat, nil
}

// SaveCatalog replaces the store catalog.
func SaveCatalog(ctx context.Context, tx store.Tx, cat []CatalogStore) error {
	sorted := append([]CatalogStore(nil), cat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Hash < sorted[j].Hash })
	raw, err := json.Marshal(sorted)
	if err != nil {
		return fmt.Errorf("encode store catalog: %w", err)
	}
	return tx.PutState(ctx, CatalogKey, raw)
}
