package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// AppendHistory adds entries to the access history in order (one round trip).
func (t *tx) AppendHistory(ctx context.Context, changes []store.AccessChange) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("append history: %w", err)
	}
	if len(changes) == 0 {
		return nil
	}
	batch := &pgx.Batch{}
	for _, c := range changes {
		batch.Queue(`INSERT INTO access_history (at, email, store_hash, change, outcome, user_id, source,
			request_id, cause, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			timeArg(c.At), c.Email, c.StoreHash, string(c.Change), c.Outcome, c.UserID, c.Source, c.RequestID, c.Cause,
			nullTimeArg(c.RequestedAt))
	}
	if err := t.q.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("append history: %w", t.fail(err))
	}
	return nil
}

// ListHistory returns the entries matching f in sequence order.
func (t *tx) ListHistory(ctx context.Context, f store.HistoryFilter) ([]store.AccessChange, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list history: %w", err)
	}
	conds, args := []string{"seq > $1"}, []any{f.AfterSeq}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, cond+" $"+strconv.Itoa(len(args)))
	}
	if f.Email != "" {
		add("email =", f.Email)
	}
	if !f.Since.IsZero() {
		add("at >=", timeArg(f.Since))
	}
	if !f.Until.IsZero() {
		add("at <", timeArg(f.Until))
	}
	var limit any
	if f.Limit > 0 {
		limit = f.Limit
	}
	args = append(args, limit)
	rows, err := t.q.Query(ctx, `SELECT seq, at, email, store_hash, change, outcome, user_id, source, request_id,
		cause, requested_at FROM access_history WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY seq LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list history: %w", t.fail(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.AccessChange, error) {
		var (
			c         store.AccessChange
			change    string
			requested *time.Time
		)
		if err := r.Scan(&c.Seq, &c.At, &c.Email, &c.StoreHash, &change, &c.Outcome, &c.UserID, &c.Source,
			&c.RequestID, &c.Cause, &requested); err != nil {
			return store.AccessChange{}, err
		}
		c.At, c.Change, c.RequestedAt = store.Truncate(c.At), store.IntentKind(change), fromNullTime(requested)
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list history: %w", t.fail(err))
	}
	if out == nil {
		out = []store.AccessChange{}
	}
	return out, nil
}

// DeleteHistory removes the entries with these sequence numbers.
func (t *tx) DeleteHistory(ctx context.Context, seqs []int64) error {
	if err := t.check(true); err != nil {
		return fmt.Errorf("delete history: %w", err)
	}
	if len(seqs) == 0 {
		return nil
	}
	if _, err := t.q.Exec(ctx, `DELETE FROM access_history WHERE seq = ANY ($1)`, seqs); err != nil {
		return fmt.Errorf("delete history: %w", t.fail(err))
	}
	return nil
}
