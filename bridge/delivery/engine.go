package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// singleModeReserve is the budget share kept for removals while BigCommerce
// accepts one mutation per request.
const singleModeReserve = 0.5

// Downstream is what the engine needs from the BigCommerce client.
type Downstream interface {
	Apply(ctx context.Context, p downstream.Priority, ops []downstream.Op) (downstream.Batch, error)
	FindAccountUsers(ctx context.Context, p downstream.Priority, emails []string) (map[string]downstream.User, int, error)
	ListStores(ctx context.Context, p downstream.Priority) ([]downstream.Store, int, error)
}

// Options configures an Engine.
type Options struct {
	Store   store.Store
	Client  Downstream
	Budget  *Budget
	Service *bridge.Service // receives store catalog changes
	Logger  *zap.Logger
	Metrics *Metrics
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxBatch is the most operations per request (default 50).
	MaxBatch int
	// RemovalLinger is the longest a removal waits while additions are queued,
	// so that it rides in the request their batch fills anyway instead of
	// costing one of its own. With nothing else queued a removal waits at most
	// one second (time for a burst of removals to share a request).
	RemovalLinger time.Duration
	// AdditionLinger is the longest an addition waits for a full batch.
	AdditionLinger time.Duration
	// MaxAttempts moves an intent to the dead letters after that many failed
	// attempts (default 8).
	MaxAttempts int
	// RetryBackoff is the first retry delay after a transient failure; later ones
	// double, up to 30 minutes, with ±50 % jitter (default 10s).
	RetryBackoff time.Duration
	// ProbeInterval is how long the engine keeps a smaller batch size after the
	// server refused a larger one before it tries a larger one again (default 30m).
	ProbeInterval time.Duration
	// CatalogInterval is how often the store catalog is refreshed (default 1h).
	CatalogInterval time.Duration
	// PollInterval bounds how long Run sleeps without looking at the outbox (other
	// replicas' SCIM writes arrive this way; default 1s).
	PollInterval time.Duration
	// Rand returns a number in [0,1) for backoff jitter; math/rand when nil.
	Rand func() float64
}

// Engine drains the outbox into BigCommerce: net effect, priority, batching,
// budget, retries and dead letters. Only the replica holding the delivery lease
// may run it. Step does one unit of work and says when to call it again, so the
// engine can run in real time (Run) or on a simulated clock (benchmarks).
type Engine struct {
	o       Options
	log     *zap.Logger
	metrics *Metrics
	wake    chan struct{}

	mu     sync.Mutex
	status Status
}

// Status is the engine's state for /status.
type Status struct {
	// BatchMode is "batched", or "single" after the server refused documents with
	// several mutations.
	BatchMode     string    `json:"batchMode"`
	MaxBatch      int       `json:"maxBatch"`
	ProbeAt       time.Time `json:"probeAt,omitzero"`
	LastDelivery  time.Time `json:"lastDelivery,omitzero"`
	LastError     string    `json:"lastError,omitempty"`
	Pending       int       `json:"pending"`
	PendingByPrio []int     `json:"pendingByPriority"`
	OldestPending time.Time `json:"oldestPending,omitzero"`
	Requests      int       `json:"requests"`
	Operations    int       `json:"operations"`
	CatalogAt     time.Time `json:"catalogAt,omitzero"`
	maxBatch      int
	probeEvery    time.Duration
}

// New returns an Engine.
func New(o Options) (*Engine, error) {
	if o.Store == nil || o.Client == nil || o.Budget == nil || o.Service == nil {
		return nil, errors.New("delivery: Store, Client, Budget and Service are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 50
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = 10 * time.Second
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 30 * time.Minute
	}
	if o.CatalogInterval <= 0 {
		o.CatalogInterval = time.Hour
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	e := &Engine{o: o, log: o.Logger.Named("delivery"), metrics: o.Metrics, wake: make(chan struct{}, 1)}
	e.status = Status{BatchMode: "batched", MaxBatch: o.MaxBatch, maxBatch: o.MaxBatch}
	return e, nil
}

// Notify wakes a running engine: new intents were committed. It never blocks.
func (e *Engine) Notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Status returns a copy of the engine's state.
func (e *Engine) Status() Status {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.status
	s.PendingByPrio = append([]int(nil), s.PendingByPrio...)
	return s
}

// Run steps the engine until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	for {
		next, err := e.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			e.log.Error("delivery step failed", zap.Error(err))
			e.setError(err)
			next = e.o.Now().Add(5 * time.Second)
		}
		wait := min(next.Sub(e.o.Now()), e.o.PollInterval)
		if wait <= 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-e.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// Step does at most one downstream request's worth of work: it settles what
// needs no request, learns missing user ids, or sends one batch. It returns when
// it wants to be called again (now, when more can be done at once).
func (e *Engine) Step(ctx context.Context) (time.Time, error) {
	now := e.o.Now()
	if done, err := e.refreshCatalog(ctx, now); done || err != nil {
		return now, err
	}

	var (
		pending []store.Intent
		known   knownSet
	)
	err := e.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if pending, err = tx.ListIntents(ctx, store.IntentFilter{States: []store.IntentState{store.IntentPending}}); err != nil {
			return err
		}
		known, err = loadKnown(ctx, tx, emailsOf(pending))
		return err
	})
	if err != nil {
		return now, fmt.Errorf("load outbox: %w", err)
	}
	plan := MakePlan(pending, known)
	e.observeQueue(plan, now)
	if len(plan.Settled) > 0 {
		if err := e.settle(ctx, plan.Settled, now); err != nil {
			return now, err
		}
		return now, nil
	}
	if len(plan.Ops) == 0 {
		return now.Add(e.o.PollInterval), nil
	}

	never := now.Add(24 * time.Hour)
	next := never
	var eligible, needID []PlannedOp
	for _, op := range plan.Ops {
		switch {
		case op.NotBefore.After(now):
			next = earliest(next, op.NotBefore)
		case op.NeedsUserID:
			needID = append(needID, op)
		default:
			eligible = append(eligible, op)
		}
	}
	if len(needID) > 0 {
		return e.discover(ctx, needID, now)
	}
	if len(eligible) == 0 {
		return next, nil
	}

	maxBatch, probe := e.batchSize(now, len(eligible))
	due, wake := e.due(eligible, maxBatch, now)
	if !due {
		return earliest(next, wake), nil
	}
	batch := selectBatch(eligible, maxBatch)
	if len(batch) == 0 {
		return earliest(next, wake), nil
	}
	top := batch[0].Priority
	ok, ready, err := e.o.Budget.TryTake(ctx, top)
	if err != nil {
		return now, fmt.Errorf("take budget: %w", err)
	}
	if !ok {
		e.metrics.budgetWaits.WithLabelValues(top.String()).Inc()
		return earliest(next, ready), nil
	}
	return now, e.send(ctx, top, batch, probe, now)
}

// due decides whether a batch should go now: a removal that waited its linger,
// a full batch of additions, or an addition that waited its linger. It returns
// when to look again otherwise.
func (e *Engine) due(eligible []PlannedOp, maxBatch int, now time.Time) (bool, time.Time) {
	wake := now.Add(24 * time.Hour)
	var removals, others []PlannedOp
	for _, op := range eligible {
		if isRemoval(op.Priority) {
			removals = append(removals, op)
		} else {
			others = append(others, op)
		}
	}
	if len(removals) > 0 {
		linger := e.o.RemovalLinger
		if len(others) == 0 {
			linger = min(linger, time.Second)
		}
		at := oldest(removals).Add(linger)
		if !now.Before(at) {
			return true, now
		}
		wake = earliest(wake, at)
	}
	if len(others) >= maxBatch || len(removals)+len(others) >= maxBatch {
		return true, now
	}
	if len(others) > 0 {
		at := oldest(others).Add(e.o.AdditionLinger)
		if !now.Before(at) {
			return true, now
		}
		wake = earliest(wake, at)
	}
	return false, wake
}

// selectBatch takes operations in priority order (removals first) up to max; a
// store addition goes only after the account addition it needs, in this
// request or an earlier one.
func selectBatch(eligible []PlannedOp, max int) []PlannedOp {
	var batch []PlannedOp
	adding := map[string]bool{}
	for _, op := range eligible {
		if len(batch) == max {
			break
		}
		if op.AfterAccountAdd && !adding[op.Op.Email] {
			continue
		}
		if op.Op.Kind == downstream.OpAddToAccount {
			adding[op.Op.Email] = true
		}
		batch = append(batch, op)
	}
	return batch
}

// send applies one batch (the request is already paid for) and records the
// outcome.
func (e *Engine) send(ctx context.Context, top downstream.Priority, batch []PlannedOp, probe bool, now time.Time) error {
	ops := make([]downstream.Op, len(batch))
	for i, op := range batch {
		ops[i] = op.Op
	}
	res, err := e.o.Client.Apply(WithPrepaid(ctx), top, ops)
	e.observeBatch(res, len(ops))
	if ce := e.log.Check(zap.DebugLevel, "batch delivered"); ce != nil {
		// The SCIM requests whose changes this batch carries (ids only), so one
		// request id leads from the IdP's call to BigCommerce's answer.
		ids := make([]string, 0, len(batch))
		for _, op := range batch {
			if id := op.Latest.RequestID; id != "" && len(ids) < 50 {
				ids = append(ids, id)
			}
		}
		ce.Write(zap.Int("operations", len(ops)), zap.String("priority", top.String()), zap.Int("requests", res.Requests),
			zap.Strings("request_ids", ids), zap.Bool("failed", err != nil))
	}
	e.learn(res, probe, now)
	var reqErr *downstream.Error
	if err != nil && !errors.As(err, &reqErr) {
		reqErr = &downstream.Error{Class: downstream.ClassTransient, Reason: downstream.ReasonUnknown}
	}
	if err := e.record(ctx, batch, res, reqErr, now); err != nil {
		return err
	}
	e.mu.Lock()
	e.status.LastDelivery = e.o.Now()
	e.status.Requests += res.Requests
	e.status.Operations += len(ops)
	e.status.LastError = ""
	if reqErr != nil {
		e.status.LastError = reqErr.Reason
	}
	e.mu.Unlock()
	return nil
}

// outcome is what happened to one planned operation.
type outcome int

const (
	outcomeDone outcome = iota
	outcomeRetry
	outcomeNotSent // budget ran out while a refused batch was being split
	outcomeDead
)

// record writes the results of a batch in one transaction: intents settled,
// retried with backoff or dead-lettered, known state and sync state updated.
func (e *Engine) record(ctx context.Context, batch []PlannedOp, res downstream.Batch, reqErr *downstream.Error, now time.Time) error {
	var dead int
	err := e.persist(ctx, func(tx store.Tx) error {
		dead = 0
		users := map[string]outcome{}
		for i, op := range batch {
			var r downstream.Result
			if i < len(res.Results) {
				r = res.Results[i]
			} else {
				r = downstream.Result{Outcome: downstream.Failed, Err: reqErr}
			}
			oc, reason := e.classify(r, reqErr)
			switch oc {
			case outcomeDone:
				if err := e.applied(ctx, tx, op, r, now); err != nil {
					return err
				}
			case outcomeRetry, outcomeDead:
				attempts := op.Latest.Attempts + 1
				if oc == outcomeRetry && attempts >= e.o.MaxAttempts {
					oc = outcomeDead
				}
				if oc == outcomeDead {
					dead++
				}
				if err := e.failed(ctx, tx, op, oc, attempts, reason, now); err != nil {
					return err
				}
			case outcomeNotSent:
			}
			for _, u := range op.UserIDs {
				if users[u] != outcomeDead {
					users[u] = oc
				}
			}
		}
		return e.syncUsers(ctx, tx, users, now)
	})
	if err != nil {
		return fmt.Errorf("record delivery results: %w", err)
	}
	if dead > 0 {
		e.metrics.deadLettered.Add(float64(dead))
	}
	return nil
}

// classify maps a result to what the engine does with its intents.
func (e *Engine) classify(r downstream.Result, reqErr *downstream.Error) (outcome, string) {
	switch r.Outcome {
	case downstream.Applied, downstream.AlreadyDone:
		return outcomeDone, ""
	}
	err := r.Err
	if err == nil {
		err = reqErr
	}
	if err == nil {
		return outcomeRetry, "unknown"
	}
	switch {
	case err.Reason == downstream.ReasonBudget, err.Reason == downstream.ReasonCanceled:
		// Not sent (the budget ran out mid-split) or abandoned at shutdown.
		return outcomeNotSent, err.Reason
	case err.Class == downstream.ClassRateLimited:
		// Not the operation's fault: the budget pauses; no attempt is counted.
		return outcomeNotSent, err.Reason
	case err.Class == downstream.ClassTransient, err.Reason == downstream.ReasonNotInAccount:
		return outcomeRetry, err.Reason
	default:
		return outcomeDead, err.Reason
	}
}

// applied settles an operation's intents and updates the known state.
func (e *Engine) applied(ctx context.Context, tx store.Tx, op PlannedOp, r downstream.Result, now time.Time) error {
	for _, seq := range op.Seqs {
		in := op.Latest
		in.Seq = seq
		in.State, in.DoneAt, in.LastError = store.IntentSuperseded, now, ""
		if seq == op.Latest.Seq {
			in.State = store.IntentDone
		}
		if err := tx.UpdateIntent(ctx, in); err != nil {
			return err
		}
	}
	known, err := tx.GetBCUsers(ctx, []string{op.Op.Email})
	if err != nil {
		return err
	}
	k, ok := known[op.Op.Email]
	if !ok {
		k = store.BCUser{Email: op.Op.Email}
	}
	switch op.Op.Kind {
	case downstream.OpAddToAccount:
		k.InAccount = true
	case downstream.OpRemoveFromAccount:
		k.InAccount, k.Stores, k.UserID = false, nil, ""
	case downstream.OpAddToStore:
		k.InAccount = true
		k.Stores = addString(k.Stores, op.Op.StoreHash)
	case downstream.OpRemoveFromStore:
		k.Stores = removeString(k.Stores, op.Op.StoreHash)
	}
	if r.UserID != "" && op.Op.Kind != downstream.OpRemoveFromAccount {
		k.UserID = r.UserID
	}
	k.UpdatedAt = now
	return tx.PutBCUser(ctx, k)
}

// failed schedules a retry with jittered exponential backoff, or dead-letters.
func (e *Engine) failed(ctx context.Context, tx store.Tx, op PlannedOp, oc outcome, attempts int, reason string, now time.Time) error {
	backoff := e.backoff(attempts)
	for _, seq := range op.Seqs {
		in := op.Latest
		in.Seq = seq
		in.Attempts, in.LastError = attempts, reason
		if oc == outcomeDead {
			in.State, in.DoneAt = store.IntentDead, now
		} else {
			in.State, in.NextAttemptAt = store.IntentPending, now.Add(backoff)
		}
		if err := tx.UpdateIntent(ctx, in); err != nil {
			return err
		}
	}
	if oc == outcomeDead {
		e.log.Warn("intent dead-lettered", zap.Int64("seq", op.Latest.Seq), zap.String("kind", string(op.Latest.Kind)),
			zap.String("reason", reason), zap.Int("attempts", attempts), zap.String("request_id", op.Latest.RequestID))
		return tx.AppendAudit(ctx, store.AuditEvent{Time: now, Actor: "delivery", Action: "intent.dead", ResourceType: "Intent",
			ResourceID: fmt.Sprint(op.Latest.Seq), RequestID: op.Latest.RequestID, Detail: "reason=" + reason})
	}
	return nil
}

// backoff is exponential from RetryBackoff, capped at 30 min, with ±50 % jitter.
func (e *Engine) backoff(attempts int) time.Duration {
	d := e.o.RetryBackoff << min(attempts-1, 8)
	d = min(d, 30*time.Minute)
	return time.Duration(float64(d) * (0.5 + e.o.Rand()))
}

// settle records intents resolved without a request.
func (e *Engine) settle(ctx context.Context, settled []Settle, now time.Time) error {
	err := e.persist(ctx, func(tx store.Tx) error {
		users := map[string]outcome{}
		for _, s := range settled {
			if err := tx.UpdateIntent(ctx, store.Intent{Seq: s.Seq, State: s.State, DoneAt: now}); err != nil {
				return err
			}
			if s.UserID != "" {
				users[s.UserID] = outcomeDone
			}
		}
		return e.syncUsers(ctx, tx, users, now)
	})
	if err != nil {
		return fmt.Errorf("settle intents: %w", err)
	}
	e.metrics.settled.Add(float64(len(settled)))
	return nil
}

// syncUsers moves the sync state of users whose intents just changed: failed
// when one was dead-lettered, synced when none is pending any more.
func (e *Engine) syncUsers(ctx context.Context, tx store.Tx, users map[string]outcome, now time.Time) error {
	ids := make([]string, 0, len(users))
	for id := range users {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		u, err := tx.GetUser(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted since
		}
		if err != nil {
			return err
		}
		next := u.Sync
		if u.BCEmail != "" {
			if k, err := tx.GetBCUsers(ctx, []string{u.BCEmail}); err == nil && k[u.BCEmail].UserID != "" {
				next.BigCommerceUserID = k[u.BCEmail].UserID
			}
		}
		if users[id] == outcomeDead {
			next.State, next.LastError = store.SyncFailed, "a downstream change failed permanently; see the dead letters"
		} else {
			left, err := tx.ListIntents(ctx, store.IntentFilter{UserID: id, States: []store.IntentState{store.IntentPending}, Limit: 1})
			if err != nil {
				return err
			}
			if len(left) == 0 && users[id] == outcomeDone {
				next.State, next.LastError, next.LastSyncedAt = store.SyncSynced, "", now
			}
		}
		if next != u.Sync {
			if err := tx.SetUserSync(ctx, id, next); err != nil {
				return err
			}
		}
	}
	return nil
}

// discover learns the BigCommerce ids that store removals need.
func (e *Engine) discover(ctx context.Context, ops []PlannedOp, now time.Time) (time.Time, error) {
	p := downstream.PriorityStoreRemoval
	ok, ready, err := e.o.Budget.TryTake(ctx, p)
	if err != nil {
		return now, err
	}
	if !ok {
		return ready, nil
	}
	var emails []string
	for _, op := range ops {
		emails = append(emails, op.Op.Email)
	}
	found, n, err := e.o.Client.FindAccountUsers(WithPrepaid(ctx), p, emails)
	e.metrics.requests.WithLabelValues("discovery").Add(float64(n))
	if err != nil {
		e.log.Warn("could not learn BigCommerce user ids", zap.Int("users", len(emails)), zap.Error(err))
		e.setError(err)
		return now.Add(e.backoff(1)), nil
	}
	err = e.persist(ctx, func(tx store.Tx) error {
		known, err := tx.GetBCUsers(ctx, emails)
		if err != nil {
			return err
		}
		for _, email := range emails {
			k, ok := known[email]
			if !ok {
				k = store.BCUser{Email: email}
			}
			if u, hit := found[email]; hit {
				k.UserID, k.InAccount = u.ID, true
			} else {
				// The listing ended without it: not in the account, so no store
				// access to remove.
				k.InAccount, k.Stores, k.UserID = false, nil, ""
			}
			k.UpdatedAt = now
			if err := tx.PutBCUser(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	return now, err
}

// refreshCatalog lists the account's stores when the catalog is older than
// CatalogInterval (one request, at read priority, never from the reserve) and
// hands changes to the Service. It reports whether it sent a request.
func (e *Engine) refreshCatalog(ctx context.Context, now time.Time) (bool, error) {
	e.mu.Lock()
	at := e.status.CatalogAt
	e.mu.Unlock()
	if !at.IsZero() && now.Sub(at) < e.o.CatalogInterval {
		return false, nil
	}
	ok, _, err := e.o.Budget.TryTake(ctx, downstream.PriorityRead)
	if err != nil || !ok {
		return false, err
	}
	stores, n, err := e.o.Client.ListStores(WithPrepaid(ctx), downstream.PriorityRead)
	e.metrics.requests.WithLabelValues("catalog").Add(float64(n))
	e.mu.Lock()
	e.status.CatalogAt = now
	if err != nil {
		// Try again after a retry delay, not a whole interval: group mapping by
		// store name needs the catalog.
		e.status.CatalogAt = now.Add(-e.o.CatalogInterval + e.backoff(2))
	}
	e.mu.Unlock()
	if err != nil {
		e.log.Warn("could not list stores", zap.Error(err))
		return true, nil
	}
	cat := make([]bridge.CatalogStore, len(stores))
	for i, s := range stores {
		cat[i] = bridge.CatalogStore{Hash: s.Hash, Name: s.Name}
	}
	changed, err := e.o.Service.SetCatalog(ctx, cat)
	if changed {
		e.log.Info("store catalog updated", zap.Int("stores", len(cat)))
	}
	return true, err
}

// batchSize returns the batch size to use now and whether this batch is a
// probe of a larger size than the server accepted last time. A probe is tried
// only when enough operations are eligible to fill more than the known limit.
func (e *Engine) batchSize(now time.Time, eligible int) (int, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	limit := e.status.maxBatch
	if !e.status.ProbeAt.IsZero() && !now.Before(e.status.ProbeAt) && eligible > limit {
		return min(e.o.MaxBatch, max(2, 2*limit)), true
	}
	return limit, false
}

// learn adapts the batch size to what the server did with a batch. A refusal
// lowers the limit to the size the server accepted (or below the smallest
// refused size) and schedules a probe; a refused probe doubles the wait before
// the next one (up to 8 ProbeIntervals), so a server that never batches costs
// few requests. An accepted probe raises the limit. With a limit of one
// mutation per request the budget keeps half its requests for removals.
func (e *Engine) learn(res downstream.Batch, probe bool, now time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.status.maxBatch
	switch {
	case len(res.Refused) > 0:
		smallest := res.Refused[0]
		for _, n := range res.Refused {
			smallest = min(smallest, n)
		}
		size := max(1, smallest/2)
		if res.Accepted > 0 && res.Accepted < smallest {
			size = res.Accepted
		}
		e.status.maxBatch = min(size, old)
		switch {
		case probe:
			e.status.probeEvery = min(2*e.status.probeEvery, 8*e.o.ProbeInterval)
		case e.status.probeEvery == 0:
			e.status.probeEvery = e.o.ProbeInterval
		}
		e.status.ProbeAt = now.Add(e.status.probeEvery)
		if e.status.maxBatch < old {
			e.log.Warn("BigCommerce refused multi-mutation documents; sending smaller batches",
				zap.Int("max_batch", e.status.maxBatch), zap.Int("smallest_refused", smallest), zap.Time("probe_at", e.status.ProbeAt))
		}
	case probe && res.Accepted > old:
		e.status.maxBatch = res.Accepted
		e.status.ProbeAt = now.Add(e.o.ProbeInterval)
		if e.status.maxBatch >= e.o.MaxBatch {
			e.status.ProbeAt, e.status.probeEvery = time.Time{}, 0
		}
		e.log.Info("BigCommerce accepted a larger batch", zap.Int("max_batch", e.status.maxBatch))
	default:
		return
	}
	e.status.MaxBatch = e.status.maxBatch
	single := e.status.maxBatch == 1
	e.status.BatchMode = map[bool]string{true: "single", false: "batched"}[single]
	if single {
		// Every removal now costs a request of its own: keep half the budget for
		// them (joiners, one operation per request, are slow in this mode anyway).
		e.o.Budget.SetReserve(singleModeReserve)
	} else {
		e.o.Budget.SetReserve(0)
	}
	e.metrics.batchSize.Set(float64(e.status.maxBatch))
	e.metrics.singleMode.Set(boolGauge(single))
}

func (e *Engine) setError(err error) {
	reason := "error"
	var de *downstream.Error
	if errors.As(err, &de) {
		reason = de.Reason
	}
	e.mu.Lock()
	e.status.LastError = reason
	e.mu.Unlock()
}

// persist runs fn in a store transaction and retries it for up to a minute:
// these writes record what BigCommerce already did, and losing one would mean
// sending it again (harmless, the operations are idempotent, but it spends the
// budget). fn must be safe to run again (it only sets states).
func (e *Engine) persist(ctx context.Context, fn func(tx store.Tx) error) error {
	delay, deadline := 50*time.Millisecond, time.Now().Add(time.Minute)
	for {
		err := e.o.Store.Update(ctx, fn)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		e.log.Warn("recording delivery state failed; retrying", zap.Error(err))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 2*time.Second)
	}
}

func emailsOf(intents []store.Intent) []string {
	seen := map[string]bool{}
	var out []string
	for _, in := range intents {
		if !seen[in.Email] {
			seen[in.Email] = true
			out = append(out, in.Email)
		}
	}
	return out
}

func oldest(ops []PlannedOp) time.Time {
	t := ops[0].Since
	for _, op := range ops[1:] {
		if op.Since.Before(t) {
			t = op.Since
		}
	}
	return t
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func addString(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	out := append(append([]string(nil), list...), s)
	sort.Strings(out)
	return out
}

func removeString(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
