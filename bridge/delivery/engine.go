package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// singleModeReserve is the budget share kept for removals while BigCommerce
// accepts one mutation per request.
const singleModeReserve = 0.5

// Service is what the engine needs from the bridge's service
// (*bridge.Service).
type Service interface {
	// SetCatalog records the account's stores as last listed.
	SetCatalog(ctx context.Context, cat []bridge.CatalogStore) (bool, error)
	// DesiredStores returns the stores the given SCIM users' groups grant.
	DesiredStores(ctx context.Context, userIDs []string) (map[string][]string, error)
}

// Options configures an Engine.
type Options struct {
	Store   store.Store
	Client  *downstream.Client
	Budget  *Budget
	Service Service // receives store catalog changes, gives desired stores
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
	// AdditionLinger is the longest an addition waits for a full batch while
	// the budget is tight. With more than half the budget (above the reserve)
	// to spare, additions go at once, up to two requests per AdditionLinger (a
	// joiner and its group's store), so a lone joiner does not wait.
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
	// ShutdownGrace is how long a request in flight when Run's context ends may
	// still take to be answered and recorded (default 10s): a request cut off
	// after it was sent leaves its operations in doubt.
	ShutdownGrace time.Duration
	// Rand returns a number in [0,1) for backoff jitter; math/rand when nil.
	Rand func() float64
	// DeprovisionSLO is how long after the IdP's request a removal should be
	// confirmed by BigCommerce (default 15m); later ones are counted as SLO
	// breaches, pending ones past it as overdue.
	DeprovisionSLO time.Duration
	// Window bounds how many emails one plan covers (default 1000): the
	// emails with the earliest pending removals and, as many again, those
	// with the earliest pending intents of any kind, each with every pending
	// intent it has. A plan is exact for the emails it covers (one email's net
	// effect never depends on another's), so a backlog larger than the window
	// costs each step the window, not the backlog, and waits its turn in
	// order; a request carries at most MaxBatch operations anyway.
	Window int
	// ReplanEvery is the shortest time between two reads of the outbox that
	// only new SCIM writes ask for (default 1s, like PollInterval): a burst of writes is
	// planned in rounds instead of once per write. A step after the engine's
	// own write reads at once.
	ReplanEvery time.Duration
}

// earlyPerLinger is how many requests additions may spend at once, without
// lingering, per AdditionLinger while the budget has requests to spare.
const earlyPerLinger = 2

// Engine drains the outbox into BigCommerce: net effect, priority, batching,
// budget, retries and dead letters. Only the replica holding the delivery lease
// may run it. Step does one unit of work and says when to call it again, so the
// engine can run in real time (Run) or on a simulated clock (benchmarks).
type Engine struct {
	o       Options
	log     *zap.Logger
	metrics *Metrics
	wake    chan struct{}
	lease   atomic.Pointer[store.Lease]

	mu             sync.Mutex
	status         Status
	recentAdds     []time.Time // addition requests within the last AdditionLinger
	lookupAt       time.Time   // next id lookup allowed at
	lookupAttempts int
	detectAt       time.Time
	detectAttempts int

	// planMu guards cached (the inputs and plan of the last step that wrote
	// nothing) and its split; changed is set by Notify.
	planMu  sync.Mutex
	cached  *cachedPlan
	changed atomic.Bool
	// beyond is the last count of pending intents beyond the window, made at
	// countedAt.
	beyond    map[store.IntentKind]int
	countedAt time.Time
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
	// InDoubt counts pending operations whose last request went unanswered.
	InDoubt       int       `json:"inDoubt"`
	OldestPending time.Time `json:"oldestPending,omitzero"`
	Requests      int       `json:"requests"`
	Operations    int       `json:"operations"`
	Lookups       int       `json:"lookups"`
	CatalogAt     time.Time `json:"catalogAt,omitzero"`
	// Capabilities are what BigCommerce was found to accept beyond its
	// documented minimum; CapabilitiesAt when they were detected.
	Capabilities   downstream.Capabilities `json:"capabilities"`
	CapabilitiesAt time.Time               `json:"capabilitiesAt,omitzero"`
	maxBatch       int
	probeEvery     time.Duration
	multiAccepted  bool // the server accepted a document of several mutations
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
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.DeprovisionSLO <= 0 {
		o.DeprovisionSLO = 15 * time.Minute
	}
	if o.Window <= 0 {
		o.Window = 1000
	}
	if o.ReplanEvery <= 0 {
		o.ReplanEvery = time.Second
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	o.Metrics.slo.Set(o.DeprovisionSLO.Seconds())
	e := &Engine{o: o, log: o.Logger.Named("delivery"), metrics: o.Metrics, wake: make(chan struct{}, 1)}
	e.status = Status{BatchMode: "batched", MaxBatch: o.MaxBatch, maxBatch: o.MaxBatch}
	return e, nil
}

// Notify wakes a running engine: new intents were committed. It never blocks.
func (e *Engine) Notify() {
	e.changed.Store(true)
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
		if errors.Is(err, store.ErrLeaseLost) {
			return err
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

// RunLeased is Run under a lease: every result the engine records is written
// only while the store still shows this lease (holder and epoch), so a replica
// that lost the lease during a handover cannot overwrite what the new leader
// recorded. It returns store.ErrLeaseLost when the lease was taken over.
func (e *Engine) RunLeased(ctx context.Context, lease store.Lease) error {
	e.lease.Store(&lease)
	defer e.lease.Store(nil)
	return e.Run(ctx)
}

// Step does at most one downstream request's worth of work: it settles what
// needs no request, sends a batch, or learns missing user ids. It returns
// when it wants to be called again (now, when more can be done at once).
//
// Order within a step: the store catalog and the server's capabilities when
// they are due (reads, never from the reserve); then a batch when one is due
// and holds removals (a leaver never waits behind an id lookup); then an id
// lookup for store removals that need one (its own backoff, never from the
// reserve); then a batch of additions when one is due.
//
// A step that wrote nothing and wants to be called later leaves what it
// loaded in a cache, and the next step plans on it again unless the outbox
// stamp (store.OutboxStamp) changed, Notify fired, or it is older than
// planMaxAge; so an engine waiting for the budget with a large backlog reads
// a few aggregates per PollInterval instead of the whole outbox.
func (e *Engine) Step(ctx context.Context) (at time.Time, err error) {
	now := e.o.Now()
	defer func() {
		if err != nil || !at.After(now) {
			e.dropPlan()
		}
	}()
	if done, err := e.refreshCatalog(ctx, now); done || err != nil {
		return now, err
	}
	if done, err := e.detect(ctx, now); done || err != nil {
		return now, err
	}
	e.observeCapabilities()

	loaded, wait, err := e.loadPlan(ctx, now)
	if err != nil {
		return now, err
	}
	if loaded == nil {
		return wait, nil
	}
	plan, state := loaded.plan, loaded.state
	e.observeQueue(plan, state, loaded.beyond, now)
	if len(plan.Settled) > 0 || len(plan.Append) > 0 {
		if err := e.settle(ctx, plan, now); err != nil {
			return now, err
		}
		return now, nil
	}
	if len(plan.Ops) == 0 {
		return now.Add(e.o.PollInterval), nil
	}

	e.planMu.Lock()
	eligible, needID, next := loaded.split(now)
	e.planMu.Unlock()

	maxBatch, probe := e.batchSize(now, len(eligible))
	due, removals, wake := e.due(dueSample(eligible, maxBatch), maxBatch, len(loaded.beyond) > 0, now)
	if !due {
		next = earliest(next, wake)
	}
	if due && removals {
		return e.trySend(ctx, eligible, maxBatch, probe, now, next)
	}
	if len(needID) > 0 {
		sent, at, err := e.lookup(ctx, needID, now)
		if err != nil || sent {
			return now, err
		}
		next = earliest(next, at)
	}
	if due {
		return e.trySend(ctx, eligible, maxBatch, probe, now, next)
	}
	return next, nil
}

// trySend takes a request from the budget for the batch of the eligible
// operations and sends it, or returns when the budget allows it.
func (e *Engine) trySend(ctx context.Context, eligible []PlannedOp, maxBatch int, probe bool, now, next time.Time) (time.Time, error) {
	batch := selectBatch(eligible, maxBatch)
	if len(batch) == 0 {
		return next, nil
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
	if hasAddition(batch) {
		e.mu.Lock()
		e.recentAdds = append(e.recentAdds, now)
		e.mu.Unlock()
	}
	return now, e.send(ctx, top, batch, probe, now)
}

// collapsedUsers returns the SCIM users whose pending account removal is
// followed by a pending re-addition (MakePlan needs their desired stores).
func collapsedUsers(pending []store.Intent) []string {
	sorted := append([]store.Intent(nil), pending...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Seq < sorted[j].Seq })
	removed := map[string]bool{}
	seen := map[string]bool{}
	var ids []string
	for _, in := range sorted {
		switch in.Kind {
		case store.AccountRemove:
			removed[in.Email] = true
		case store.AccountAdd:
			if removed[in.Email] && in.UserID != "" && !seen[in.UserID] {
				seen[in.UserID] = true
				ids = append(ids, in.UserID)
			}
		}
	}
	return ids
}

func hasAddition(batch []PlannedOp) bool {
	for _, op := range batch {
		if !isRemoval(op.Priority) {
			return true
		}
	}
	return false
}

// due decides whether a batch should go now: a removal that waited its linger,
// a full batch, an addition that waited its linger, or an addition while the
// budget has requests to spare. more says the outbox holds more than the
// planned window, so any batch is as full as it can be. It reports whether the
// batch holds a due removal, and returns when to look again otherwise.
func (e *Engine) due(eligible []PlannedOp, maxBatch int, more bool, now time.Time) (due, removals bool, wake time.Time) {
	wake = now.Add(24 * time.Hour)
	var rem, others []PlannedOp
	for _, op := range eligible {
		if isRemoval(op.Priority) {
			rem = append(rem, op)
		} else {
			others = append(others, op)
		}
	}
	if len(rem) > 0 {
		linger := e.o.RemovalLinger
		if len(others) == 0 {
			linger = min(linger, time.Second)
		}
		at := oldest(rem).Add(linger)
		if !now.Before(at) {
			return true, true, now
		}
		wake = earliest(wake, at)
	}
	if len(others) >= maxBatch || len(rem)+len(others) >= maxBatch || (more && len(rem)+len(others) > 0) {
		return true, len(rem) > 0, now
	}
	if len(others) > 0 {
		if e.spare(now) {
			return true, len(rem) > 0, now
		}
		at := oldest(others).Add(e.o.AdditionLinger)
		if !now.Before(at) {
			return true, len(rem) > 0, now
		}
		wake = earliest(wake, at)
	}
	return false, false, wake
}

// spare reports whether additions may go without lingering: the budget has
// more than half of what it offers above the reserve, and fewer than
// earlyPerLinger addition requests went within the last AdditionLinger (so a
// burst of joiners, which keeps sending full batches, still waits for them).
func (e *Engine) spare(now time.Time) bool {
	spare, full := e.o.Budget.Headroom(now, downstream.PriorityAccountAdd)
	if full <= 0 || spare-1 < full/2 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	recent := e.recentAdds[:0]
	for _, t := range e.recentAdds {
		if now.Sub(t) < e.o.AdditionLinger {
			recent = append(recent, t)
		}
	}
	e.recentAdds = recent
	return len(recent) < earlyPerLinger
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
// outcome. Before the request goes out its targets are marked in doubt in the
// store, so a crash, a timeout or a cancel between sending and recording
// leaves evidence that BigCommerce may have applied it. Once sent, the
// request may finish for ShutdownGrace after ctx ends.
func (e *Engine) send(ctx context.Context, top downstream.Priority, batch []PlannedOp, probe bool, now time.Time) error {
	ops := make([]downstream.Op, len(batch))
	for i, op := range batch {
		ops[i] = op.Op
	}
	if err := e.markSent(ctx, batch, now); err != nil {
		return fmt.Errorf("mark batch in doubt: %w", err)
	}
	sctx, cancel := e.graceful(ctx)
	defer cancel()
	res, err := e.o.Client.WithGate(e.o.Budget.Paid()).Apply(sctx, top, ops)
	e.observeBatch(res, len(ops))
	e.learn(res, probe, now)
	var reqErr *downstream.Error
	if err != nil && !errors.As(err, &reqErr) {
		reqErr = &downstream.Error{Class: downstream.ClassTransient, Reason: downstream.ReasonUnknown}
	}
	// The SCIM requests whose changes this batch carries (ids only), so one
	// request id leads from the IdP's call to BigCommerce's answer.
	ids := make([]string, 0, min(len(batch), 50))
	for _, op := range batch {
		if id := op.Latest.RequestID; id != "" && len(ids) < 50 {
			ids = append(ids, id)
		}
	}
	counts := map[string]int{}
	for _, r := range res.Results {
		counts[r.Outcome.String()]++
	}
	fields := []zap.Field{zap.Int("operations", len(ops)), zap.String("priority", top.String()), zap.Int("requests", res.Requests),
		zap.Int("applied", counts[downstream.Applied.String()]), zap.Int("already_done", counts[downstream.AlreadyDone.String()]),
		zap.Int("failed", counts[downstream.Failed.String()]), zap.Strings("request_ids", ids)}
	if reqErr != nil {
		e.log.Warn("batch not delivered", append(fields, zap.String("reason", reqErr.Reason))...)
	} else {
		e.log.Info("batch delivered", fields...)
	}
	if err := e.record(sctx, batch, res, reqErr, now); err != nil {
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

// graceful returns a context that is not canceled with ctx but ShutdownGrace
// after it: a request already sent may still be answered and recorded.
func (e *Engine) graceful(ctx context.Context) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(e.o.ShutdownGrace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-sctx.Done():
		}
	})
	return sctx, func() { stop(); cancel() }
}

// markSent records, before a request goes out, that its targets are in doubt.
func (e *Engine) markSent(ctx context.Context, batch []PlannedOp, now time.Time) error {
	return e.persist(ctx, func(tx store.Tx) error {
		emails := make([]string, 0, len(batch))
		for _, op := range batch {
			emails = append(emails, op.Op.Email)
		}
		known, err := tx.GetBCUsers(ctx, emails)
		if err != nil {
			return err
		}
		for _, op := range batch {
			k, ok := known[op.Op.Email]
			if !ok {
				k = store.BCUser{Email: op.Op.Email, UpdatedAt: now}
			}
			switch op.Op.Kind {
			case downstream.OpAddToAccount, downstream.OpRemoveFromAccount:
				k.AccountInDoubt = true
			default:
				k.StoresInDoubt = addString(k.StoresInDoubt, op.Op.StoreHash)
			}
			known[op.Op.Email] = k
		}
		for _, email := range dedupe(emails) {
			if err := tx.PutBCUser(ctx, known[email]); err != nil {
				return err
			}
		}
		return nil
	})
}

// outcome is what happened to one planned operation.
type outcome int

const (
	outcomeDone outcome = iota
	outcomeRetry
	outcomeNotSent // budget ran out while a refused batch was being split, a 429, or cut off at shutdown
	outcomeDead
)

// record writes the results of a batch in one transaction: intents settled,
// retried with backoff or dead-lettered, known state and sync state updated.
// Targets whose request went unanswered stay in doubt.
func (e *Engine) record(ctx context.Context, batch []PlannedOp, res downstream.Batch, reqErr *downstream.Error, now time.Time) error {
	var (
		dead    int
		history []store.AccessChange
	)
	// When BigCommerce answered: the time its confirmations carry in the
	// access history.
	answered := store.Truncate(e.o.Now())
	err := e.persist(ctx, func(tx store.Tx) error {
		dead, history = 0, history[:0]
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
				entries, err := e.applied(ctx, tx, op, r, now, answered)
				if err != nil {
					return err
				}
				history = append(history, entries...)
			case outcomeRetry, outcomeDead:
				attempts := op.Latest.Attempts + 1
				if oc == outcomeRetry && attempts >= e.o.MaxAttempts {
					oc = outcomeDead
				}
				if oc == outcomeDead {
					dead++
				}
				entries, err := e.failed(ctx, tx, op, oc, attempts, reason, r, now, answered)
				if err != nil {
					return err
				}
				history = append(history, entries...)
			case outcomeNotSent:
			}
			for _, u := range op.UserIDs {
				if users[u] != outcomeDead {
					users[u] = oc
				}
			}
		}
		if err := tx.AppendHistory(ctx, history); err != nil {
			return fmt.Errorf("record access history: %w", err)
		}
		return e.syncUsers(ctx, tx, users, now)
	})
	if err != nil {
		return fmt.Errorf("record delivery results: %w", err)
	}
	if dead > 0 {
		e.metrics.deadLettered.Add(float64(dead))
	}
	e.observeDeprovision(history)
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
		// Not sent (the budget ran out mid-split) or cut off at shutdown after
		// the grace period: no attempt is counted; the target stays in doubt.
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

// updateIntent applies a delivery outcome to one pending intent. An intent
// that is no longer pending was settled by someone else since it was planned
// (an operator's command, or another replica before this one lost the lease):
// its outcome stands.
func (e *Engine) updateIntent(ctx context.Context, tx store.Tx, in store.Intent) error {
	err := tx.UpdateIntent(ctx, in, store.IntentPending)
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		e.log.Debug("intent settled elsewhere meanwhile", zap.Int64("seq", in.Seq))
		return nil
	}
	return err
}

// applied settles an operation's intents and records BigCommerce's answer as
// the known state of its target (no longer in doubt) and as an entry of the
// access history, confirmed at answered.
func (e *Engine) applied(ctx context.Context, tx store.Tx, op PlannedOp, r downstream.Result, now, answered time.Time) ([]store.AccessChange, error) {
	for _, seq := range op.Seqs {
		in := op.Latest
		in.Seq = seq
		in.State, in.DoneAt, in.LastError = store.IntentSuperseded, now, ""
		if seq == op.Latest.Seq {
			in.State = store.IntentDone
		}
		if err := e.updateIntent(ctx, tx, in); err != nil {
			return nil, err
		}
	}
	_, _, err := e.putKnown(ctx, tx, op.Op.Email, now, func(k *store.BCUser) {
		switch op.Op.Kind {
		case downstream.OpAddToAccount:
			k.InAccount, k.AccountInDoubt = true, false
		case downstream.OpRemoveFromAccount:
			k.InAccount, k.Stores, k.UserID = false, nil, ""
			k.AccountInDoubt, k.StoresInDoubt = false, nil
		case downstream.OpAddToStore:
			k.InAccount = true
			k.Stores = addString(k.Stores, op.Op.StoreHash)
			k.StoresInDoubt = removeString(k.StoresInDoubt, op.Op.StoreHash)
		case downstream.OpRemoveFromStore:
			k.Stores = removeString(k.Stores, op.Op.StoreHash)
			k.StoresInDoubt = removeString(k.StoresInDoubt, op.Op.StoreHash)
		}
		if r.UserID != "" && op.Op.Kind != downstream.OpRemoveFromAccount {
			k.UserID = r.UserID
		}
	})
	if err != nil {
		return nil, err
	}
	outcome := store.HistoryApplied
	if r.Outcome == downstream.AlreadyDone {
		outcome = store.HistoryAlready
	}
	return []store.AccessChange{opEntry(op, outcome, answered)}, nil
}

// opEntry is the access-history entry of an operation's outcome.
func opEntry(op PlannedOp, outcome string, at time.Time) store.AccessChange {
	in := op.Latest
	return store.AccessChange{At: at, Email: op.Op.Email, StoreHash: op.Op.StoreHash, Change: in.Kind, Outcome: outcome,
		UserID: in.UserID, Source: in.Source, RequestID: in.RequestID, Cause: in.Cause, RequestedAt: op.Since}
}

// putKnown changes the known-state record of email with fn and returns it
// before and after.
func (e *Engine) putKnown(ctx context.Context, tx store.Tx, email string, now time.Time, fn func(*store.BCUser)) (before, after store.BCUser, err error) {
	known, err := tx.GetBCUsers(ctx, []string{email})
	if err != nil {
		return before, after, err
	}
	k, ok := known[email]
	if !ok {
		k = store.BCUser{Email: email}
	}
	before = k
	before.Stores = slices.Clone(k.Stores)
	fn(&k)
	k.UpdatedAt = now
	return before, k, tx.PutBCUser(ctx, k)
}

// failed schedules a retry with jittered exponential backoff, or dead-letters
// (an access-history entry: the change never happened). A permanent failure
// BigCommerce answered for the operation is evidence about its target (the
// store does not exist, the user is not in the account, the owner cannot be
// removed, the input or the token was refused): the target is no longer in
// doubt, and a change of access the answer shows is recorded as observed.
func (e *Engine) failed(ctx context.Context, tx store.Tx, op PlannedOp, oc outcome, attempts int, reason string, r downstream.Result, now, answered time.Time) ([]store.AccessChange, error) {
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
		if err := e.updateIntent(ctx, tx, in); err != nil {
			return nil, err
		}
	}
	var entries []store.AccessChange
	if r.Err != nil && r.Err.Class == downstream.ClassPermanent && r.Err.Status != 0 {
		before, after, err := e.putKnown(ctx, tx, op.Op.Email, now, func(k *store.BCUser) { answeredFailure(k, op.Op, r.Err.Reason) })
		if err != nil {
			return nil, err
		}
		entries = known.Changes(before, after, answered, known.Origin{Source: store.SourceDelivery, RequestID: op.Latest.RequestID, Cause: "bigcommerce.answer"})
	}
	if oc == outcomeDead {
		e.log.Warn("intent dead-lettered", zap.Int64("seq", op.Latest.Seq), zap.String("kind", string(op.Latest.Kind)),
			zap.String("reason", reason), zap.Int("attempts", attempts), zap.String("request_id", op.Latest.RequestID))
		entries = append(entries, opEntry(op, store.HistoryDead, answered))
		return entries, tx.AppendAudit(ctx, store.AuditEvent{Time: now, Actor: "delivery", Action: "intent.dead", ResourceType: "Intent",
			ResourceID: fmt.Sprint(op.Latest.Seq), RequestID: op.Latest.RequestID, Detail: "reason=" + reason})
	}
	return entries, nil
}

// answeredFailure records what a permanent failure BigCommerce answered tells
// about the operation's target.
func answeredFailure(k *store.BCUser, op downstream.Op, reason string) {
	store := op.Kind == downstream.OpAddToStore || op.Kind == downstream.OpRemoveFromStore
	switch reason {
	case downstream.ReasonStoreNotFound:
		k.Stores = removeString(k.Stores, op.StoreHash)
	case downstream.ReasonNotInAccount:
		k.InAccount, k.Stores, k.AccountInDoubt, k.StoresInDoubt = false, nil, false, nil
		return
	case downstream.ReasonCannotRemoveOwner:
		k.InAccount = true
	case downstream.ReasonInvalidInput, downstream.ReasonForbidden, downstream.ReasonUnauthorized:
	default:
		return // no evidence: the target stays in doubt
	}
	if store {
		k.StoresInDoubt = removeString(k.StoresInDoubt, op.StoreHash)
	} else {
		k.AccountInDoubt = false
	}
}

// backoff is exponential from RetryBackoff, capped at 30 min, with ±50 % jitter.
func (e *Engine) backoff(attempts int) time.Duration {
	d := e.o.RetryBackoff << min(attempts-1, 8)
	d = min(d, 30*time.Minute)
	return time.Duration(float64(d) * (0.5 + e.o.Rand()))
}

// settle records intents resolved without a request, and appends the intents
// the plan adds, in one transaction.
func (e *Engine) settle(ctx context.Context, p Plan, now time.Time) error {
	err := e.persist(ctx, func(tx store.Tx) error {
		users := map[string]outcome{}
		for _, s := range p.Settled {
			if err := e.updateIntent(ctx, tx, store.Intent{Seq: s.Seq, State: s.State, DoneAt: now}); err != nil {
				return err
			}
			if s.UserID != "" {
				users[s.UserID] = outcomeDone
			}
		}
		if len(p.Append) > 0 {
			if _, err := tx.AppendIntents(ctx, p.Append); err != nil {
				return fmt.Errorf("append store removals: %w", err)
			}
			for _, in := range p.Append {
				if in.UserID != "" {
					users[in.UserID] = outcomeRetry // pending again
				}
			}
		}
		return e.syncUsers(ctx, tx, users, now)
	})
	if err != nil {
		return fmt.Errorf("settle intents: %w", err)
	}
	e.metrics.settled.Add(float64(len(p.Settled)))
	if len(p.Append) > 0 {
		e.log.Info("store removals queued for users reactivated before their removal was delivered", zap.Int("removals", len(p.Append)))
	}
	return nil
}

// syncUsers moves the sync state of users whose intents just changed: failed
// when one was dead-lettered, synced when none is pending any more, pending
// when new ones were queued.
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
			switch {
			case len(left) == 0 && users[id] == outcomeDone:
				next.State, next.LastError, next.LastSyncedAt = store.SyncSynced, "", now
			case len(left) > 0 && next.State == store.SyncSynced:
				next.State = store.SyncPending
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

// lookup learns the BigCommerce ids that store removals need. A lookup never
// spends the budget's reserve (it goes at PriorityLookup), has its own
// backoff, and settles nothing by itself: a user found gets its id; a user
// absent from a complete listing of the store is recorded as without access
// to it, which the next plan settles as already in effect; a backward search
// that did not find a user is no evidence at all. It reports whether it spent
// a request, or when it can next try.
func (e *Engine) lookup(ctx context.Context, ops []PlannedOp, now time.Time) (bool, time.Time, error) {
	if ok, at, err := e.takeLookup(ctx, now); !ok {
		return false, at, err
	}
	r := newIDLookup(ops)
	err := e.askLookup(ctx, r)
	e.metrics.requests.WithLabelValues("lookup").Add(float64(r.requests))
	e.mu.Lock()
	e.status.Lookups++
	e.mu.Unlock()
	if err != nil {
		return true, e.lookupFailed(r, err, now), nil
	}
	e.mu.Lock()
	e.lookupAttempts, e.lookupAt = 0, time.Time{}
	e.mu.Unlock()
	return true, now, e.recordLookup(ctx, r, now)
}

// idLookup is one id lookup: the emails asked about and BigCommerce's
// answer.
type idLookup struct {
	// hash is the store whose users may be listed: that of the first store
	// removal, so one lookup costs at most one listing.
	hash string
	// emails are all the emails whose ids are wanted; inStore those of them
	// whose removal is from hash, which a complete listing of it settles.
	emails, inStore []string
	found           map[string]downstream.User
	// listed is the complete listing of hash, nil when none was asked for
	// or it failed.
	listed   *downstream.StoreUsers
	requests int
}

// takeLookup takes a request for a lookup from the budget. When it cannot (the
// lookup's backoff, the budget, or an error) it reports false and when to try
// again.
func (e *Engine) takeLookup(ctx context.Context, now time.Time) (bool, time.Time, error) {
	e.mu.Lock()
	at := e.lookupAt
	e.mu.Unlock()
	if now.Before(at) {
		return false, at, nil
	}
	p := downstream.PriorityLookup
	ok, ready, err := e.o.Budget.TryTake(ctx, p)
	if err != nil {
		return false, now, err
	}
	if !ok {
		e.metrics.budgetWaits.WithLabelValues(p.String()).Inc()
		return false, ready, nil
	}
	return true, now, nil
}

// newIDLookup collects the emails of the store removals that need an id.
func newIDLookup(ops []PlannedOp) *idLookup {
	r := &idLookup{hash: ops[0].Op.StoreHash}
	for _, op := range ops {
		r.emails = append(r.emails, op.Op.Email)
		if op.Op.StoreHash == r.hash {
			r.inStore = append(r.inStore, op.Op.Email)
		}
	}
	r.emails, r.inStore = dedupe(r.emails), dedupe(r.inStore)
	return r
}

// askLookup searches the account for the emails and, when that did not find
// every email removed from r.hash, lists the store completely: only a
// complete listing is evidence that a user is not there. It counts the
// requests spent in r.requests, also on failure.
func (e *Engine) askLookup(ctx context.Context, r *idLookup) error {
	p := downstream.PriorityLookup
	paid := e.o.Client.WithGate(e.o.Budget.Paid())
	found, n, err := paid.FindAccountUsers(ctx, p, r.emails)
	r.found = found
	r.requests += n
	if err != nil || allFound(found, r.inStore) {
		return err
	}
	su, n, err := paid.FindStoreUsers(ctx, p, r.hash)
	r.requests += n
	var de *downstream.Error
	switch {
	case err == nil:
		r.listed = &su
	case errors.As(err, &de) && de.Reason == downstream.ReasonStoreNotFound:
		// The account has no such store: nobody has access to it.
		r.listed, err = &downstream.StoreUsers{Store: downstream.Store{Hash: r.hash}}, nil
	}
	return err
}

// lookupFailed schedules the next lookup after a failed one and returns when
// that is.
func (e *Engine) lookupFailed(r *idLookup, err error, now time.Time) time.Time {
	e.mu.Lock()
	var de *downstream.Error
	if errors.As(err, &de) && (de.Reason == downstream.ReasonBudget || de.Class == downstream.ClassRateLimited) {
		// The budget ran out between the lookup's requests: no fault of
		// the lookup; it goes again when the budget allows.
		e.lookupAt = now
	} else {
		e.lookupAttempts++
		e.lookupAt = now.Add(e.backoff(e.lookupAttempts))
	}
	next := e.lookupAt
	e.mu.Unlock()
	e.log.Warn("could not learn BigCommerce user ids", zap.Int("users", len(r.emails)), zap.Int("requests", r.requests), zap.Error(err))
	e.setError(err)
	return next
}

// recordLookup writes what the lookup found to the known state, with the
// observed change in the access history, in one transaction.
func (e *Engine) recordLookup(ctx context.Context, r *idLookup, now time.Time) error {
	return e.persist(ctx, func(tx store.Tx) error {
		byEmail, listedHas := r.evidence()
		for _, email := range r.emails {
			if err := e.recordLookedUp(ctx, tx, r, email, byEmail, listedHas, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// evidence indexes the lookup's answer by lower-case email: every user found
// by either request, and whether the store listing has it.
func (r *idLookup) evidence() (byEmail map[string]downstream.User, listedHas map[string]bool) {
	byEmail = map[string]downstream.User{}
	for k, u := range r.found {
		byEmail[k] = u
	}
	listedHas = map[string]bool{}
	if r.listed != nil {
		for _, u := range r.listed.Users {
			k := strings.ToLower(u.Email)
			listedHas[k] = true
			byEmail[k] = u
		}
	}
	return byEmail, listedHas
}

// recordLookedUp updates the known state of one email from the lookup's
// evidence: a user found gets its id and is in the account; a user removed
// from r.hash gets its access to it from the listing, which also clears the
// doubt. An email with neither is left as it was: no evidence either way.
func (e *Engine) recordLookedUp(ctx context.Context, tx store.Tx, r *idLookup, email string, byEmail map[string]downstream.User, listedHas map[string]bool, now time.Time) error {
	u, hit := byEmail[email]
	inListing := r.listed != nil && slices.Contains(r.inStore, email)
	if !hit && !inListing {
		return nil // no evidence either way
	}
	before, after, err := e.putKnown(ctx, tx, email, now, func(k *store.BCUser) {
		if hit {
			k.UserID, k.InAccount = u.ID, true
		}
		if inListing {
			if listedHas[email] {
				k.Stores = addString(k.Stores, r.hash)
			} else {
				k.Stores = removeString(k.Stores, r.hash)
			}
			k.StoresInDoubt = removeString(k.StoresInDoubt, r.hash)
		}
	})
	if err != nil {
		return err
	}
	observed := known.Changes(before, after, store.Truncate(now), known.Origin{Source: store.SourceDelivery, Cause: "bigcommerce.lookup"})
	if err := tx.AppendHistory(ctx, observed); err != nil {
		return fmt.Errorf("record observed access: %w", err)
	}
	return nil
}

// allFound reports whether found has every one of emails.
func allFound(found map[string]downstream.User, emails []string) bool {
	for _, e := range emails {
		if _, ok := found[e]; !ok {
			return false
		}
	}
	return true
}

// detect asks BigCommerce, once, which optional shapes it accepts (one read
// request, never from the reserve). A failure is retried with backoff; until
// then the client works on the documented minimum. It reports whether it
// spent a request.
func (e *Engine) detect(ctx context.Context, now time.Time) (bool, error) {
	if e.o.Client.Detected() {
		return false, nil
	}
	e.mu.Lock()
	at := e.detectAt
	e.mu.Unlock()
	if now.Before(at) {
		return false, nil
	}
	ok, _, err := e.o.Budget.TryTake(ctx, downstream.PriorityRead)
	if err != nil || !ok {
		return false, err
	}
	err = e.o.Client.WithGate(e.o.Budget.Paid()).Detect(ctx, downstream.PriorityRead)
	e.metrics.requests.WithLabelValues("capabilities").Inc()
	e.mu.Lock()
	if err != nil {
		e.detectAttempts++
		e.detectAt = now.Add(e.backoff(e.detectAttempts + 1))
	} else {
		e.status.CapabilitiesAt = now
	}
	e.mu.Unlock()
	if err != nil {
		e.log.Warn("could not ask BigCommerce for its capabilities; using the documented API", zap.Error(err))
	}
	e.observeCapabilities()
	return true, nil
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
	stores, n, err := e.o.Client.WithGate(e.o.Budget.Paid()).ListStores(ctx, downstream.PriorityRead)
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
	defer e.observeCapabilities()
	e.mu.Lock()
	defer e.mu.Unlock()
	if res.Accepted > 1 {
		e.status.multiAccepted = true
	}
	if len(res.Refused) > 0 && res.Accepted <= 1 {
		e.status.multiAccepted = false
	}
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
// budget). fn must be safe to run again (it only sets states). Under a lease
// (RunLeased) the transaction first checks that the lease is still this
// engine's, and fails with store.ErrLeaseLost, without retrying, otherwise.
func (e *Engine) persist(ctx context.Context, fn func(tx store.Tx) error) error {
	delay, deadline := 50*time.Millisecond, time.Now().Add(time.Minute)
	lease := e.lease.Load()
	for {
		err := e.o.Store.Update(ctx, func(tx store.Tx) error {
			if lease != nil {
				if err := tx.CheckLease(ctx, *lease); err != nil {
					return err
				}
			}
			return fn(tx)
		})
		if err == nil || ctx.Err() != nil || errors.Is(err, store.ErrLeaseLost) || time.Now().After(deadline) {
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

func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := list[:0:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
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

// planMaxAge bounds how long a step reuses a cached plan without re-reading
// the outbox even though its stamp did not change: the stamp covers the
// intents and the known state, but the desired stores of users whose removal
// and re-addition collapse also follow group and catalog changes that append
// no intent. One full read a minute keeps an idle engine's cost small.
const planMaxAge = time.Minute

// cachedPlan is what a step loaded and planned, and the outbox stamp it was
// loaded under.
type cachedPlan struct {
	stamp  store.OutboxStamp
	loaded time.Time
	plan   Plan
	state  known.Set
	// beyond counts, per kind, the pending intents outside the window the
	// plan covers (nil when it covers the whole outbox).
	beyond map[store.IntentKind]int

	// The operations split by split at splitAt, valid until splitUntil (the
	// earliest retry backoff then still in the future, zero when none).
	splitAt, splitUntil time.Time
	eligible, needID    []PlannedOp
}

// split divides the plan's operations at now into those eligible to send,
// store removals that need a user id first, and those still in their retry
// backoff, whose earliest end (or now+24h) is returned as next. The split
// changes only when a backoff ends, so it is kept until then.
func (c *cachedPlan) split(now time.Time) (eligible, needID []PlannedOp, next time.Time) {
	never := now.Add(24 * time.Hour)
	if c.splitAt.IsZero() || now.Before(c.splitAt) || (!c.splitUntil.IsZero() && !now.Before(c.splitUntil)) {
		c.eligible, c.needID, c.splitUntil = nil, nil, time.Time{}
		for _, op := range c.plan.Ops {
			switch {
			case op.NotBefore.After(now):
				if c.splitUntil.IsZero() || op.NotBefore.Before(c.splitUntil) {
					c.splitUntil = op.NotBefore
				}
			case op.NeedsUserID:
				c.needID = append(c.needID, op)
			default:
				c.eligible = append(c.eligible, op)
			}
		}
		c.splitAt = now
	}
	next = never
	if !c.splitUntil.IsZero() {
		next = earliest(next, c.splitUntil)
	}
	return c.eligible, c.needID, next
}

// dueSample returns the part of eligible that due needs to decide as it
// would on all of it: the first maxBatch removals and the first maxBatch
// other operations (the counts due compares with maxBatch), plus the oldest
// of each kind (the lingers it computes), in their order in eligible. With a
// large backlog this spares due copying every operation on every step.
func dueSample(eligible []PlannedOp, maxBatch int) []PlannedOp {
	if len(eligible) <= 2*maxBatch+2 {
		return eligible
	}
	var (
		nRem, nOther     int
		oldRem, oldOther = -1, -1
		keep             = make([]bool, len(eligible))
	)
	for i, op := range eligible {
		if isRemoval(op.Priority) {
			if nRem < maxBatch {
				keep[i] = true
			}
			nRem++
			if oldRem < 0 || op.Since.Before(eligible[oldRem].Since) {
				oldRem = i
			}
		} else {
			if nOther < maxBatch {
				keep[i] = true
			}
			nOther++
			if oldOther < 0 || op.Since.Before(eligible[oldOther].Since) {
				oldOther = i
			}
		}
	}
	for _, i := range []int{oldRem, oldOther} {
		if i >= 0 {
			keep[i] = true
		}
	}
	sample := make([]PlannedOp, 0, 2*maxBatch+2)
	for i, k := range keep {
		if k {
			sample = append(sample, eligible[i])
		}
	}
	return sample
}

// dropPlan forgets the cached plan: the step that called it wrote, failed, or
// wants to be called again at once.
func (e *Engine) dropPlan() {
	e.planMu.Lock()
	e.cached = nil
	e.planMu.Unlock()
}

// loadPlan returns the plan of the outbox window with the known state it
// was made with: the cached one when the outbox stamp shows no change since
// it was loaded, otherwise one freshly read (the window's pending intents,
// their known state, the desired stores of collapsed users) and planned. A
// change that only SCIM writes made (the cached plan is from a step that
// wrote nothing) is read at most once per ReplanEvery: until then loadPlan
// returns no plan and when to look again.
func (e *Engine) loadPlan(ctx context.Context, now time.Time) (*cachedPlan, time.Time, error) {
	e.planMu.Lock()
	defer e.planMu.Unlock()
	if c := e.cached; c != nil && e.changed.Load() && !now.Before(c.loaded) && now.Sub(c.loaded) < e.o.ReplanEvery {
		return nil, c.loaded.Add(e.o.ReplanEvery), nil
	}
	notified := e.changed.Swap(false)
	var (
		pending []store.Intent
		state   known.Set
		stamp   store.OutboxStamp
		beyond  map[store.IntentKind]int
	)
	reuse, throttled := false, false
	err := e.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if stamp, err = tx.OutboxStamp(ctx); err != nil {
			return err
		}
		if c := e.cached; c != nil && !now.Before(c.loaded) && now.Sub(c.loaded) < planMaxAge {
			if !notified && c.stamp == stamp {
				reuse = true
				return nil
			}
			if now.Sub(c.loaded) < e.o.ReplanEvery {
				throttled = true
				return nil
			}
		}
		if pending, beyond, err = e.window(ctx, tx, stamp, now); err != nil {
			return err
		}
		state, err = known.Load(ctx, tx, emailsOf(pending))
		return err
	})
	if err != nil {
		e.cached = nil
		return nil, now, fmt.Errorf("load outbox: %w", err)
	}
	if reuse {
		return e.cached, now, nil
	}
	if throttled {
		e.changed.Store(true)
		return nil, e.cached.loaded.Add(e.o.ReplanEvery), nil
	}
	var desired map[string][]string
	if ids := collapsedUsers(pending); len(ids) > 0 {
		if desired, err = e.o.Service.DesiredStores(ctx, ids); err != nil {
			e.cached = nil
			return nil, now, fmt.Errorf("load desired stores: %w", err)
		}
	}
	e.cached = &cachedPlan{stamp: stamp, loaded: now, plan: MakePlan(pending, state, desired), state: state, beyond: beyond}
	return e.cached, now, nil
}

// removalKinds are the intent kinds whose emails the window always covers
// first.
var removalKinds = []store.IntentKind{store.AccountRemove, store.StoreRemove}

// window reads the pending intents of the emails one plan covers (see
// Options.Window) and, when they are not the whole outbox, how many pending
// intents of each kind lie beyond (counted at most once per beyondEvery).
func (e *Engine) window(ctx context.Context, tx store.Tx, stamp store.OutboxStamp, now time.Time) ([]store.Intent, map[store.IntentKind]int, error) {
	removals, err := tx.PendingEmails(ctx, e.o.Window, removalKinds...)
	if err != nil {
		return nil, nil, err
	}
	first, err := tx.PendingEmails(ctx, e.o.Window)
	if err != nil {
		return nil, nil, err
	}
	pending, err := tx.PendingIntentsOf(ctx, dedupe(append(removals, first...)))
	if err != nil {
		return nil, nil, err
	}
	if len(pending) >= stamp.Pending {
		return pending, nil, nil
	}
	if e.beyond != nil && !now.Before(e.countedAt) && now.Sub(e.countedAt) < beyondEvery {
		return pending, e.beyond, nil
	}
	beyond, err := tx.CountPendingByKind(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, in := range pending {
		beyond[in.Kind]--
	}
	for k, n := range beyond {
		if n <= 0 {
			delete(beyond, k)
		}
	}
	if len(beyond) == 0 {
		beyond = map[store.IntentKind]int{}
	}
	e.beyond, e.countedAt = beyond, now
	return pending, beyond, nil
}

// beyondEvery is how long the counts of pending intents beyond the window
// are reused before they are counted again: counting reads the whole pending
// backlog's index, which would cost a busy step more than its window does.
const beyondEvery = 30 * time.Second
