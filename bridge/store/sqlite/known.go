package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/internal/sqlgen"
)

// knownChunk bounds the bound parameters of one IN list.
const knownChunk = 500

func scanBCUser(sc scanner) (store.BCUser, error) {
	var (
		u      store.BCUser
		stores string
		doubt  string
		inAcct bool
		at     int64
	)
	if err := sc.Scan(&u.Email, &u.UserID, &inAcct, &stores, &u.AccountInDoubt, &doubt, &at); err != nil {
		return u, err
	}
	u.InAccount, u.UpdatedAt = inAcct, fromMicros(at)
	if err := json.Unmarshal([]byte(stores), &u.Stores); err != nil {
		return u, fmt.Errorf("decode stores: %w", err)
	}
	if err := json.Unmarshal([]byte(doubt), &u.StoresInDoubt); err != nil {
		return u, fmt.Errorf("decode stores in doubt: %w", err)
	}
	if len(u.Stores) == 0 {
		u.Stores = nil
	}
	if len(u.StoresInDoubt) == 0 {
		u.StoresInDoubt = nil
	}
	return u, nil
}

const bcUserColumns = sqlgen.BCUserColumns

// GetBCUsers returns the known-state records of the given emails that exist.
func (t *tx) GetBCUsers(ctx context.Context, emails []string) (map[string]store.BCUser, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("get known users: %w", err)
	}
	out := make(map[string]store.BCUser, len(emails))
	for start := 0; start < len(emails); start += knownChunk {
		chunk := emails[start:min(start+knownChunk, len(emails))]
		rows, err := t.query(ctx, `SELECT `+bcUserColumns+` FROM bc_users WHERE email IN (`+placeholders(len(chunk))+`)`, anySlice(chunk)...)
		if err != nil {
			return nil, fmt.Errorf("get known users: %w", err)
		}
		for rows.Next() {
			u, err := scanBCUser(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("get known users: %w", err)
			}
			out[u.Email] = u
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("get known users: %w", err)
		}
	}
	return out, nil
}

// PutBCUser creates or replaces one known-state record.
func (t *tx) PutBCUser(ctx context.Context, u store.BCUser) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("put known user: %w", err)
	}
	return t.insertBCUser(ctx, u, true)
}

func (t *tx) insertBCUser(ctx context.Context, u store.BCUser, upsert bool) error {
	raw, err := json.Marshal(sqlgen.NonNil(u.Stores))
	if err != nil {
		return fmt.Errorf("put known user: %w", err)
	}
	doubt, err := json.Marshal(sqlgen.NonNil(u.StoresInDoubt))
	if err != nil {
		return fmt.Errorf("put known user: %w", err)
	}
	q := `INSERT INTO bc_users (` + bcUserColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?)`
	if upsert {
		q += sqlgen.BCUserUpsert
	}
	if _, err := t.exec(ctx, q, strings.ToLower(u.Email), u.UserID, u.InAccount, string(raw), u.AccountInDoubt, string(doubt),
		micros(store.Truncate(u.UpdatedAt))); err != nil {
		return fmt.Errorf("put known user: %w", err)
	}
	return nil
}

// ReplaceBCUsers replaces every known-state record by users.
func (t *tx) ReplaceBCUsers(ctx context.Context, users []store.BCUser) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("replace known users: %w", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM bc_users`); err != nil {
		return fmt.Errorf("replace known users: %w", err)
	}
	for _, u := range users {
		if err := t.insertBCUser(ctx, u, true); err != nil {
			return fmt.Errorf("replace known users: %w", err)
		}
	}
	return nil
}

// ListBCUsers returns every known-state record ordered by email.
func (t *tx) ListBCUsers(ctx context.Context) ([]store.BCUser, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list known users: %w", err)
	}
	rows, err := t.query(ctx, `SELECT `+bcUserColumns+` FROM bc_users ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("list known users: %w", err)
	}
	defer rows.Close()
	out := []store.BCUser{}
	for rows.Next() {
		u, err := scanBCUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list known users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}
