package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/internal/sqlgen"
)

const bcUserColumns = sqlgen.BCUserColumns

func scanBCUser(row pgx.Row) (store.BCUser, error) {
	var u store.BCUser
	if err := row.Scan(&u.Email, &u.UserID, &u.InAccount, &u.Stores, &u.AccountInDoubt, &u.StoresInDoubt, &u.UpdatedAt); err != nil {
		return u, err
	}
	u.UpdatedAt = u.UpdatedAt.UTC()
	if len(u.Stores) == 0 {
		u.Stores = nil
	}
	if len(u.StoresInDoubt) == 0 {
		u.StoresInDoubt = nil
	}
	return u, nil
}

// GetBCUsers returns the known-state records of the given emails that exist.
func (t *tx) GetBCUsers(ctx context.Context, emails []string) (map[string]store.BCUser, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("get known users: %w", err)
	}
	out := make(map[string]store.BCUser, len(emails))
	if len(emails) == 0 {
		return out, nil
	}
	rows, err := t.q.Query(ctx, `SELECT `+bcUserColumns+` FROM bc_users WHERE email = ANY($1)`, emails)
	if err != nil {
		return nil, fmt.Errorf("get known users: %w", t.fail(err))
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanBCUser(rows)
		if err != nil {
			return nil, fmt.Errorf("get known users: %w", t.fail(err))
		}
		out[u.Email] = u
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("get known users: %w", t.fail(err))
	}
	return out, nil
}

// PutBCUser creates or replaces one known-state record.
func (t *tx) PutBCUser(ctx context.Context, u store.BCUser) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("put known user: %w", err)
	}
	if _, err := t.q.Exec(ctx, `INSERT INTO bc_users (`+bcUserColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`+sqlgen.BCUserUpsert,
		strings.ToLower(u.Email), u.UserID, u.InAccount, sqlgen.NonNil(u.Stores), u.AccountInDoubt, sqlgen.NonNil(u.StoresInDoubt),
		timeArg(u.UpdatedAt)); err != nil {
		return fmt.Errorf("put known user: %w", t.fail(err))
	}
	return nil
}

// ReplaceBCUsers replaces every known-state record by users.
func (t *tx) ReplaceBCUsers(ctx context.Context, users []store.BCUser) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("replace known users: %w", err)
	}
	if _, err := t.q.Exec(ctx, `DELETE FROM bc_users`); err != nil {
		return fmt.Errorf("replace known users: %w", t.fail(err))
	}
	rows := make([][]any, 0, len(users))
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		email := strings.ToLower(u.Email)
		if seen[email] {
			continue
		}
		seen[email] = true
		rows = append(rows, []any{email, u.UserID, u.InAccount, sqlgen.NonNil(u.Stores), u.AccountInDoubt, sqlgen.NonNil(u.StoresInDoubt), timeArg(u.UpdatedAt)})
	}
	if _, err := t.q.CopyFrom(ctx, pgx.Identifier{"bc_users"}, strings.Split(strings.ReplaceAll(bcUserColumns, " ", ""), ","),
		pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("replace known users: %w", t.fail(err))
	}
	return nil
}

// ListBCUsers returns every known-state record ordered by email.
func (t *tx) ListBCUsers(ctx context.Context) ([]store.BCUser, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list known users: %w", err)
	}
	rows, err := t.q.Query(ctx, `SELECT `+bcUserColumns+` FROM bc_users ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("list known users: %w", t.fail(err))
	}
	defer rows.Close()
	out := []store.BCUser{}
	for rows.Next() {
		u, err := scanBCUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list known users: %w", t.fail(err))
		}
		out = append(out, u)
	}
	return out, t.fail(rows.Err())
}
