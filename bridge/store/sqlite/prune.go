package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// OutboxStamp returns the outbox's and the known state's aggregates. MaxSeq
// reads the end of the primary key, the counts walk the intents_state index
// ranges of two states, and the known state is one small table.
func (t *tx) OutboxStamp(ctx context.Context) (store.OutboxStamp, error) {
	if err := t.check(false); err != nil {
		return store.OutboxStamp{}, fmt.Errorf("outbox stamp: %w", err)
	}
	var (
		s       store.OutboxStamp
		knownAt sql.NullInt64
	)
	if err := t.queryRow(ctx, `SELECT
		(SELECT COALESCE(MAX(seq), 0) FROM intents),
		(SELECT COUNT(*) FROM intents WHERE state = 'pending'),
		(SELECT COUNT(*) FROM intents WHERE state = 'dead'),
		(SELECT COUNT(*) FROM bc_users),
		(SELECT MAX(updated_at) FROM bc_users)`).Scan(&s.MaxSeq, &s.Pending, &s.Dead, &s.Known, &knownAt); err != nil {
		return store.OutboxStamp{}, fmt.Errorf("outbox stamp: %w", err)
	}
	s.KnownAt = fromNullMicros(knownAt)
	return s, nil
}

// ListRemovedIdentities returns the pairs the intents_removed_identity
// trigger recorded.
func (t *tx) ListRemovedIdentities(ctx context.Context) ([]store.RemovedIdentity, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list removed identities: %w", err)
	}
	rows, err := t.query(ctx, `SELECT user_id, email FROM removed_identities ORDER BY user_id, email`)
	if err != nil {
		return nil, fmt.Errorf("list removed identities: %w", err)
	}
	defer rows.Close()
	out := []store.RemovedIdentity{}
	for rows.Next() {
		var r store.RemovedIdentity
		if err := rows.Scan(&r.UserID, &r.Email); err != nil {
			return nil, fmt.Errorf("list removed identities: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list removed identities: %w", err)
	}
	return out, nil
}

// PruneIntents deletes settled intents through the intents_settled index,
// one state at a time, earliest settled first.
func (t *tx) PruneIntents(ctx context.Context, f store.PruneFilter) (int, error) {
	if err := t.check(true); err != nil {
		return 0, fmt.Errorf("prune intents: %w", err)
	}
	if err := checkPrune(f); err != nil {
		return 0, err
	}
	total := 0
	for _, st := range f.States {
		if total >= f.Limit {
			break
		}
		res, err := t.exec(ctx, `DELETE FROM intents WHERE seq IN (SELECT seq FROM intents
			WHERE state = ? AND done_at IS NOT NULL AND done_at < ? AND seq <= ? ORDER BY done_at LIMIT ?)`,
			string(st), micros(f.Before), f.MaxSeq, f.Limit-total)
		if err != nil {
			return total, fmt.Errorf("prune intents: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune intents: %w", err)
		}
		total += int(n)
	}
	return total, nil
}

// PruneAudit deletes audit events older than before through the audit_time
// index.
func (t *tx) PruneAudit(ctx context.Context, before time.Time, limit int) (int, error) {
	if err := t.check(true); err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	if limit <= 0 {
		return 0, errors.New("prune audit events: limit must be positive")
	}
	res, err := t.exec(ctx, `DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE time < ? ORDER BY time LIMIT ?)`,
		micros(before), limit)
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	return int(n), nil
}

// checkPrune refuses filters that could delete intents the outbox still needs.
func checkPrune(f store.PruneFilter) error {
	if f.Limit <= 0 {
		return errors.New("prune intents: limit must be positive")
	}
	for _, st := range f.States {
		switch st {
		case store.IntentDone, store.IntentSuperseded, store.IntentDead:
		default:
			return fmt.Errorf("prune intents: state %q is not settled", st)
		}
	}
	return nil
}
