package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// OutboxStamp returns the outbox's and the known state's aggregates: the end
// of the primary key, two index ranges of intents_state, and the small known
// state table.
func (t *tx) OutboxStamp(ctx context.Context) (store.OutboxStamp, error) {
	if err := t.check(false); err != nil {
		return store.OutboxStamp{}, fmt.Errorf("outbox stamp: %w", err)
	}
	var (
		s       store.OutboxStamp
		knownAt *time.Time
	)
	if err := t.q.QueryRow(ctx, `SELECT
		(SELECT COALESCE(max(seq), 0) FROM intents),
		(SELECT count(*) FROM intents WHERE state = 'pending'),
		(SELECT count(*) FROM intents WHERE state = 'dead'),
		(SELECT count(*) FROM bc_users),
		(SELECT max(updated_at) FROM bc_users)`).Scan(&s.MaxSeq, &s.Pending, &s.Dead, &s.Known, &knownAt); err != nil {
		return store.OutboxStamp{}, fmt.Errorf("outbox stamp: %w", t.fail(err))
	}
	s.KnownAt = fromNullTime(knownAt)
	return s, nil
}

// ListRemovedIdentities returns the pairs the intents_removed_identity
// trigger recorded.
func (t *tx) ListRemovedIdentities(ctx context.Context) ([]store.RemovedIdentity, error) {
	if err := t.check(false); err != nil {
		return nil, fmt.Errorf("list removed identities: %w", err)
	}
	rows, err := t.q.Query(ctx, `SELECT user_id, email FROM removed_identities ORDER BY user_id COLLATE "C", email COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("list removed identities: %w", t.fail(err))
	}
	defer rows.Close()
	out := []store.RemovedIdentity{}
	for rows.Next() {
		var r store.RemovedIdentity
		if err := rows.Scan(&r.UserID, &r.Email); err != nil {
			return nil, fmt.Errorf("list removed identities: %w", t.fail(err))
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list removed identities: %w", t.fail(err))
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
		tag, err := t.q.Exec(ctx, `DELETE FROM intents WHERE seq IN (SELECT seq FROM intents
			WHERE state = $1 AND done_at IS NOT NULL AND done_at < $2 AND seq <= $3 ORDER BY done_at LIMIT $4)`,
			string(st), timeArg(f.Before), f.MaxSeq, f.Limit-total)
		if err != nil {
			return total, fmt.Errorf("prune intents: %w", t.fail(err))
		}
		total += int(tag.RowsAffected())
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
	tag, err := t.q.Exec(ctx, `DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE time < $1 ORDER BY time LIMIT $2)`,
		timeArg(before), limit)
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", t.fail(err))
	}
	return int(tag.RowsAffected()), nil
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
