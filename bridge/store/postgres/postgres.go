package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use by goroutines and by several processes sharing the database.
type Store struct {
	pool   *pgxpool.Pool
	logger *zap.Logger
}

var _ store.Store = (*Store)(nil)

const (
	// retryFor bounds how long Update keeps running fn again when PostgreSQL
	// aborts the transaction for a serialization failure or deadlock. Under
	// SERIALIZABLE such aborts are the normal way contention is resolved, and
	// under a burst (an IdP pushing many members into one group) a transaction
	// may lose several rounds. The bound is time, not a count, because what
	// matters is the caller's patience: IdPs wait 60 s for an answer, and an
	// answered 500 makes them retry the whole request later. The context's
	// deadline, when sooner, wins.
	retryFor = 20 * time.Second
	// backoffBase and backoffMax shape the jittered exponential wait between
	// attempts (2ms, 4ms, ... capped at 250ms, each scaled by a random factor in
	// [0.5, 1)), so that contending transactions spread out instead of colliding
	// again in lockstep.
	backoffBase = 2 * time.Millisecond
	backoffMax  = 250 * time.Millisecond
)

// SQLSTATE codes the backend acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
)

// defaultMaxConns is the pool size when the DSN does not set pool_max_conns.
const defaultMaxConns = 16

// Open connects to the PostgreSQL database at dsn (a postgres:// URL or any
// connection string pgx accepts) and applies the schema migrations.
func Open(ctx context.Context, dsn string, logger *zap.Logger) (*Store, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	logger = logger.Named("postgres")
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	// pgx's default pool (max(4, CPUs) connections) makes SCIM reads queue behind
	// writes under IdP bursts; 16 per replica unless the DSN says otherwise
	// (pool_max_conns).
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	applied, err := migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	logger.Info("store opened", zap.Int("migrations_applied", applied), zap.Int32("max_connections", cfg.MaxConns))
	return &Store{pool: pool, logger: logger}, nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Update runs fn in a SERIALIZABLE transaction and commits if it returns nil,
// re-running fn after serialization failures and deadlocks (see the package
// documentation).
func (s *Store) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	deadline := time.Now().Add(retryFor)
	for attempt := 1; ; attempt++ {
		err := s.run(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable}, false, fn)
		if err == nil || !retryable(err) || time.Now().After(deadline) {
			return err
		}
		wait := retryWait(attempt)
		s.logger.Debug("retrying transaction", zap.Int("attempt", attempt), zap.String("sqlstate", sqlState(err)),
			zap.Duration("backoff", wait))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("retry transaction: %w", context.Cause(ctx))
		case <-timer.C:
		}
	}
}

// retryWait is the jittered wait before attempt+1: backoffBase doubled per
// attempt up to backoffMax, of which a random upper half. The doubling stops
// at backoffMax, so the shift never overflows however many attempts the
// retryFor deadline allows (a transaction failing for seconds once reached
// attempt 44, where 2ms<<43 wrapped around and the wait became invalid).
func retryWait(attempt int) time.Duration {
	wait := backoffBase
	for i := 1; i < attempt && wait < backoffMax; i++ {
		wait *= 2
	}
	wait = min(wait, backoffMax)
	return wait/2 + mrand.N(wait/2)
}

// View runs fn in a REPEATABLE READ, READ ONLY transaction.
func (s *Store) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, true, fn)
}

func (s *Store) run(ctx context.Context, opts pgx.TxOptions, readOnly bool, fn func(tx store.Tx) error) error {
	pgTx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	t := &tx{q: pgTx, readOnly: readOnly}
	committed := false
	defer func() {
		t.done = true
		if !committed {
			// Also reached when fn panics. The rollback must run even when ctx is
			// what ended the transaction.
			_ = pgTx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	fnErr := fn(t)
	if t.retryErr != nil {
		// A statement failed with a serialization failure or deadlock: the
		// transaction is doomed whatever fn made of that error, and running fn
		// again is the remedy.
		return t.retryErr
	}
	if fnErr != nil {
		return fnErr
	}
	// Once fn is done, the outcome is decided: a cancelled ctx would make pgx
	// close the connection mid-COMMIT and leave the outcome unknown.
	if err := pgTx.Commit(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	committed = true
	return nil
}

// retryable reports whether err is a serialization failure or a deadlock.
func retryable(err error) bool {
	switch sqlState(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	}
	return false
}

// sqlState returns the SQLSTATE of a PostgreSQL error in err's chain, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// TryLease acquires or renews the named lease; see store.Store. Expiry is judged
// by the database clock.
func (s *Store) TryLease(ctx context.Context, name, holder string, ttl time.Duration) (store.Lease, bool, error) {
	if holder == "" {
		return store.Lease{}, false, errors.New("try lease: empty holder")
	}
	// A few rounds cover a lease that is released or expires between the
	// refused upsert and the read of its holder.
	for range 3 {
		lease := store.Lease{Name: name}
		// One statement, serialised on the lease row: a new row starts at epoch 1;
		// an existing row is taken over only if the holder is the same (renewal,
		// same epoch) or the lease is free or expired (new holder, epoch + 1).
		err := s.pool.QueryRow(ctx, `INSERT INTO leases AS l (name, holder, epoch, expires)
			VALUES ($1, $2, 1, now() + $3 * interval '1 microsecond')
			ON CONFLICT (name) DO UPDATE SET
				holder = excluded.holder,
				epoch = CASE WHEN l.holder = excluded.holder THEN l.epoch ELSE l.epoch + 1 END,
				expires = excluded.expires
			WHERE l.holder = excluded.holder OR l.holder = '' OR l.expires <= now()
			RETURNING holder, epoch, expires`, name, holder, ttl.Microseconds()).
			Scan(&lease.Holder, &lease.Epoch, &lease.Expires)
		if err == nil {
			lease.Expires = store.Truncate(lease.Expires)
			return lease, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.Lease{}, false, fmt.Errorf("try lease %s: %w", name, err)
		}
		var free bool
		err = s.pool.QueryRow(ctx, `SELECT holder, epoch, expires, holder = '' OR expires <= now() FROM leases
			WHERE name = $1`, name).Scan(&lease.Holder, &lease.Epoch, &lease.Expires, &free)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return store.Lease{}, false, fmt.Errorf("try lease %s: %w", name, err)
		}
		if err == nil && !free {
			lease.Expires = store.Truncate(lease.Expires)
			return lease, false, nil
		}
	}
	return store.Lease{}, false, fmt.Errorf("try lease %s: lease changed hands repeatedly while being acquired", name)
}

// ReleaseLease gives the lease up if holder holds it. The row stays (with no
// holder) so that the next holder's epoch is higher.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE leases SET holder = '', expires = now() WHERE name = $1 AND holder = $2`,
		name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// Ping writes and deletes a probe row in one committed transaction.
func (s *Store) Ping(ctx context.Context) error {
	var b [8]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO probe (token, at) VALUES ($1, now())`, token); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM probe WHERE token = $1`, token)
		return err
	})
	if err != nil {
		return fmt.Errorf("ping postgres store: %w", err)
	}
	return nil
}

// timeArg encodes a time for a timestamptz parameter, truncated to microseconds.
func timeArg(t time.Time) time.Time { return store.Truncate(t) }

// nullTimeArg encodes an optional time: the zero time is NULL.
func nullTimeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return store.Truncate(t)
}

// fromNullTime decodes an optional timestamptz.
func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return store.Truncate(*t)
}
