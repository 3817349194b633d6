// Package backend opens a store.Store from a database string. It is the one
// place that imports both store backends, so that the rest of the program (and
// the package dependency rules checked by cmd/scim-bridge's layout test) see only the store seam.
//
// Accepted forms:
//
//	sqlite:PATH                     SQLite database file at PATH (relative or absolute),
//	                                e.g. sqlite:scim-bridge.db or sqlite:/var/lib/scim-bridge/scim-bridge.db
//	postgres://...  postgresql://...  PostgreSQL connection URL as understood by pgx
//	                                (query parameters such as sslmode, search_path,
//	                                pool_max_conns are honoured)
//
// "sqlite://..." is refused on purpose: URL-style SQLite names disagree between
// tools on how many slashes make a path absolute, and PATH after "sqlite:" is
// never ambiguous.
package backend

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/postgres"
	"github.com/scim-bridge/scim-bridge/bridge/store/sqlite"
)

// accepted names the forms Open accepts, for error messages.
const accepted = `"sqlite:PATH", "postgres://..." or "postgresql://..."`

// Options tunes OpenWith.
type Options struct {
	// Exclusive makes a SQLite store hold an exclusive lock on PATH.lock until
	// Close, so that a second serving process on the same file fails at once
	// (SQLite mode runs one process). PostgreSQL ignores it.
	Exclusive bool
}

// Open opens the store named by database (see the package documentation for the
// forms) and applies its schema migrations. Error messages never repeat the
// database string, which may hold a password.
func Open(ctx context.Context, database string, logger *zap.Logger) (store.Store, error) {
	return OpenWith(ctx, database, logger, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, database string, logger *zap.Logger, opts Options) (store.Store, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	scheme, rest, found := strings.Cut(database, ":")
	if !found {
		scheme = ""
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		if strings.HasPrefix(rest, "//") {
			return nil, fmt.Errorf("open store: use sqlite:PATH, not sqlite://, for example sqlite:/var/lib/scim-bridge/scim-bridge.db")
		}
		if rest == "" {
			return nil, errors.New("open store: sqlite:PATH needs a path")
		}
		s, err := sqlite.OpenWith(ctx, rest, logger, sqlite.Options{Exclusive: opts.Exclusive})
		if err != nil {
			return nil, err
		}
		return s, nil
	case "postgres", "postgresql":
		if !strings.HasPrefix(rest, "//") {
			return nil, fmt.Errorf("open store: database must be %s", accepted)
		}
		s, err := postgres.Open(ctx, database, logger)
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		if strings.HasPrefix(rest, "//") && looksLikeScheme(scheme) {
			return nil, fmt.Errorf("open store: unsupported database type %q; use %s", scheme, accepted)
		}
		return nil, fmt.Errorf("open store: unsupported database; use %s", accepted)
	}
}

// looksLikeScheme reports whether s is a short URL-scheme-like word. Only such a
// word followed by "//" is repeated in an error: anything else before a colon
// could be a user name or a password.
func looksLikeScheme(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return true
}
