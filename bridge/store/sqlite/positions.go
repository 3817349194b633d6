package sqlite

import (
	"context"
	"sync"
	"time"
)

// positionStride is the distance between two cached user positions: an
// unfiltered page skips fewer than this many index entries to reach its
// first user.
const positionStride = 256

// positionRebuildEvery bounds how often the position cache is rebuilt (a
// scan of the users_seq index); between rebuilds a page that cannot use the
// cache skips index entries up to its position, as it would without one.
const positionRebuildEvery = time.Second

// positions caches the seq of every positionStride-th user in paging (seq)
// order, so that GET /Users?startIndex=N finds its first user in a bounded
// number of steps instead of skipping N-1 index entries.
//
// A user's position changes only when a user before it is deleted: new users
// get a seq above every existing one (seq is the rowid). The cache is built
// in one read transaction together with users_stats.deletes, and a reader
// uses it only when its own snapshot shows the same deletes value; then every
// user the cache covers still exists at the position recorded, and users
// created since follow the last one covered.
type positions struct {
	mu sync.Mutex
	// valid is false until the first build.
	valid   bool
	deletes int64
	// seqs[i] is the seq of the user at 0-based position i*positionStride;
	// covered is how many users the build saw, last the seq of the final one.
	seqs    []int64
	covered int
	last    int64
	// triedAt is when a build was last started.
	triedAt time.Time
}

// start returns where a page at 0-based position offset begins in a snapshot
// whose users_stats.deletes is deletes: the users with seq >= from, skipping
// skip of them. ok is false when the cache does not describe that snapshot.
func (p *positions) start(offset int, deletes int64) (from int64, skip int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.valid || p.deletes != deletes {
		return 0, 0, false
	}
	if offset < p.covered {
		k := offset / positionStride
		return p.seqs[k], offset - k*positionStride, true
	}
	return p.last + 1, offset - p.covered, true
}

// due reports whether a build may start now (at most one per
// positionRebuildEvery), and records the attempt.
func (p *positions) due(now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.triedAt.IsZero() && now.Sub(p.triedAt) < positionRebuildEvery {
		return false
	}
	p.triedAt = now
	return true
}

// build rebuilds the cache from t's snapshot, whose users_stats.deletes is
// deletes. t must be a read-only transaction: a write transaction's view may
// still be rolled back.
func (p *positions) build(ctx context.Context, t *tx, deletes int64) error {
	rows, err := t.query(ctx, `SELECT seq FROM users INDEXED BY users_seq ORDER BY seq`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		seqs []int64
		n    int
		seq  int64
	)
	for rows.Next() {
		if err := rows.Scan(&seq); err != nil {
			return err
		}
		if n%positionStride == 0 {
			seqs = append(seqs, seq)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.valid, p.deletes, p.seqs, p.covered, p.last = true, deletes, seqs, n, seq
	return nil
}

// userStats returns users_stats in t's snapshot.
func (t *tx) userStats(ctx context.Context) (count int, deletes int64, err error) {
	err = t.queryRow(ctx, `SELECT count, deletes FROM users_stats WHERE id = 1`).Scan(&count, &deletes)
	return count, deletes, err
}

// pageStart returns where the unfiltered page at 0-based offset begins (see
// positions.start), building the cache first when it does not describe this
// read-only snapshot, or when the users created since it was built are more
// than a few strides to skip, and a build is due. ok is false when neither
// the cache nor a build can say; the caller then skips index entries.
func (t *tx) pageStart(ctx context.Context, offset int, deletes int64) (from int64, skip int, ok bool, err error) {
	p := t.positions
	if p == nil {
		return 0, 0, false, nil
	}
	from, skip, ok = p.start(offset, deletes)
	stale := !ok || skip >= 4*positionStride
	if !stale || !t.readOnly || !p.due(time.Now()) {
		return from, skip, ok, nil
	}
	if err := p.build(ctx, t, deletes); err != nil {
		return 0, 0, false, err
	}
	from, skip, ok = p.start(offset, deletes)
	return from, skip, ok, nil
}
