package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// AppendHistory adds entries to the access history in order.
func (t *tx) AppendHistory(ctx context.Context, changes []store.AccessChange) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	for _, c := range changes {
		if _, err := t.exec(ctx, `INSERT INTO access_history (at, email, store_hash, change, outcome, user_id,
			source, request_id, cause, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			micros(c.At), c.Email, c.StoreHash, string(c.Change), c.Outcome, c.UserID, c.Source, c.RequestID, c.Cause,
			nullMicros(c.RequestedAt)); err != nil {
			return fmt.Errorf("append history: %w", err)
		}
	}
	return nil
}

// ListHistory returns the entries matching f in sequence order.
func (t *tx) ListHistory(ctx context.Context, f store.HistoryFilter) ([]store.AccessChange, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list history: %w", err)
	}
	conds, args := []string{"seq > ?"}, []any{f.AfterSeq}
	if f.Email != "" {
		conds, args = append(conds, "email = ?"), append(args, f.Email)
	}
	if !f.Since.IsZero() {
		conds, args = append(conds, "at >= ?"), append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "at < ?"), append(args, micros(f.Until))
	}
	limit := -1
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := t.query(ctx, `SELECT seq, at, email, store_hash, change, outcome, user_id, source, request_id,
		cause, requested_at FROM access_history WHERE `+strings.Join(conds, " AND ")+` ORDER BY seq LIMIT ?`,
		append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("list history: %w", err)
	}
	defer rows.Close()
	out := []store.AccessChange{}
	for rows.Next() {
		var (
			c         store.AccessChange
			at        int64
			change    string
			requested sql.NullInt64
		)
		if err := rows.Scan(&c.Seq, &at, &c.Email, &c.StoreHash, &change, &c.Outcome, &c.UserID, &c.Source,
			&c.RequestID, &c.Cause, &requested); err != nil {
			return nil, fmt.Errorf("list history: %w", err)
		}
		c.At, c.Change, c.RequestedAt = fromMicros(at), store.IntentKind(change), fromNullMicros(requested)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list history: %w", err)
	}
	return out, nil
}

// DeleteHistory removes the entries with these sequence numbers.
func (t *tx) DeleteHistory(ctx context.Context, seqs []int64) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("delete history: %w", err)
	}
	for rest := seqs; len(rest) > 0; {
		chunk := rest[:min(len(rest), maxParams)]
		rest = rest[len(chunk):]
		args := make([]any, len(chunk))
		for i, s := range chunk {
			args[i] = s
		}
		if _, err := t.exec(ctx, `DELETE FROM access_history WHERE seq IN (`+placeholders(len(chunk))+`)`, args...); err != nil {
			return fmt.Errorf("delete history: %w", err)
		}
	}
	return nil
}
