package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/bridge/store"
)

// Client is the part of the BigCommerce client a run needs. The
// *downstream.Client built with the shared budget as its Gate satisfies it, so
// every listing request waits for the budget at downstream.PriorityRead.
type Client interface {
	// ListAccountUsers returns every user of the account and the requests spent;
	// on any failure the error and no users.
	ListAccountUsers(ctx context.Context, p downstream.Priority) ([]downstream.User, int, error)
	// ListStoreUsers returns every store with its users and the requests spent;
	// on any failure the error and no stores.
	ListStoreUsers(ctx context.Context, p downstream.Priority) ([]downstream.StoreUsers, int, error)
}

// Service is the part of the bridge's Service a run needs (*bridge.Service
// satisfies it).
type Service interface {
	// Desired returns every SCIM user's desired BigCommerce access.
	Desired(ctx context.Context) ([]bridge.Desired, error)
	// SetCatalog records the account's stores as last listed.
	SetCatalog(ctx context.Context, cat []bridge.CatalogStore) (bool, error)
}

// Options configures a Runner.
type Options struct {
	// Store is the bridge's store: outbox, known state, audit. Required.
	Store store.Store
	// Service gives the desired state and records the store catalog. Required.
	Service Service
	// Client reads BigCommerce. Required.
	Client Client
	// Policy says what a run may change.
	Policy Policy
	// Logger receives counts and ids only, never emails. Optional.
	Logger *zap.Logger
	// Metrics receives the run's metrics; NewMetrics(nil) when nil.
	Metrics *Metrics
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Interval is the time between scheduled runs (Run); 0 disables Run.
	Interval time.Duration
	// After, when set, replaces a real timer for Run's waits between runs,
	// so a test can drive Run on a simulated clock together with Now.
	After func(d time.Duration) <-chan time.Time
	// PageSize is the downstream client's page size, for the request estimate;
	// downstream.DefaultPageSize when 0.
	PageSize int
	// OnEstimate, when set, is called with the estimate before a run starts
	// reading (the reconcile command prints it). It must not block for long.
	OnEstimate func(Estimate)
	// NewRunID issues run ids (the RequestID of the run's intents and audit
	// event); random UUIDs when nil.
	NewRunID func() string
}

// Runner runs reconciliation: it reads BigCommerce within the shared budget,
// plans against the SCIM state, and puts the repairs into the outbox. It is safe
// for concurrent use; runs are serialised.
type Runner struct {
	o       Options
	log     *zap.Logger
	metrics *Metrics

	runMu sync.Mutex // serialises runs

	mu     sync.Mutex
	status Status
	floor  int64 // mark of the run in progress, -1 when none
}

// Result describes one run.
type Result struct {
	// RunID identifies the run (RequestID of its intents and audit event).
	RunID string
	// DryRun is set when nothing was to be written.
	DryRun bool
	// Outcome is OutcomeSuccess, OutcomeAborted or OutcomeFailed.
	Outcome string
	// StartedAt and Duration time the run (the wait for the budget included).
	StartedAt time.Time
	Duration  time.Duration
	// Estimate is the cost expected before reading.
	Estimate Estimate
	// RequestsSpent are the downstream requests the read spent (also when it failed).
	RequestsSpent int
	// BigCommerceUsers, Stores and SCIMUsers are the sizes compared.
	BigCommerceUsers int
	Stores           int
	SCIMUsers        int
	// Plan is the drift and its repairs (empty when the run failed).
	Plan PlanResult
	// Queued is the number of repair intents appended to the outbox (0 for dry
	// and aborted runs).
	Queued int
}

// Status summarises the runner's recent runs for /status. It holds counts and
// times only.
type Status struct {
	// Runs counts the runs since the process started.
	Runs int `json:"runs"`
	// LastRunAt is when the last run started; LastOutcome how it ended.
	LastRunAt   time.Time `json:"lastRunAt,omitzero"`
	LastOutcome string    `json:"lastOutcome,omitempty"`
	// LastSuccessAt is when the last successful run ended (after a restart, the
	// time of the last saved listing until a run succeeds).
	LastSuccessAt time.Time `json:"lastSuccessAt,omitzero"`
	// DurationSeconds is the last run's duration.
	DurationSeconds float64 `json:"durationSeconds"`
	// Drift counts the last complete run's findings by class.
	Drift map[string]int `json:"drift,omitempty"`
	// Pending counts users skipped because the delivery engine was changing them.
	Pending int `json:"pending"`
	// Queued counts the repairs the last run put into the outbox; Removals those
	// of them (or of the aborted plan) that remove access.
	Queued   int `json:"queued"`
	Removals int `json:"removals"`
	// AbortReason says why the last run was aborted.
	AbortReason string `json:"abortReason,omitempty"`
	// RequestsEstimated and RequestsSpent are the last run's read cost.
	RequestsEstimated int `json:"requestsEstimated"`
	RequestsSpent     int `json:"requestsSpent"`
	// LastError is the last failed run's error (no personal data).
	LastError string `json:"lastError,omitempty"`
	// NextRunAt is when Run will start the next run.
	NextRunAt time.Time `json:"nextRunAt,omitzero"`
}

// maxFailureRetry bounds the wait before Run retries after a failed run.
const maxFailureRetry = 15 * time.Minute

// New returns a Runner.
func New(o Options) (*Runner, error) {
	if o.Store == nil || o.Service == nil || o.Client == nil {
		return nil, errors.New("reconcile: Store, Service and Client are required")
	}
	switch o.Policy.Unmanaged {
	case "", UnmanagedReport, UnmanagedRemove:
	default:
		return nil, fmt.Errorf("reconcile: unmanaged policy %q: want %q or %q", o.Policy.Unmanaged, UnmanagedReport, UnmanagedRemove)
	}
	if o.Policy.MaxRemovals < 0 {
		return nil, errors.New("reconcile: MaxRemovals must not be negative")
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewRunID == nil {
		o.NewRunID = uuid.NewString
	}
	return &Runner{o: o, log: o.Logger.Named("reconcile"), metrics: o.Metrics, floor: -1}, nil
}

// Status returns a copy of the runner's status.
func (r *Runner) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	if s.Drift != nil {
		s.Drift = make(map[string]int, len(r.status.Drift))
		for k, v := range r.status.Drift {
			s.Drift[k] = v
		}
	}
	return s
}

// outboxMark is the outbox as a run found it before reading BigCommerce: its
// last sequence number and the emails of its pending intents by sequence
// number (an intent's email never changes, so the mark needs no other part
// of the intents, and a run never reads settled history).
type outboxMark struct {
	maxSeq  int64
	pending map[int64]string
}

// RunOnce runs one reconciliation:
//
//  1. It estimates the read's cost from the last saved listing (see
//     [EstimateRead]), logs it and passes it to Options.OnEstimate, and notes
//     the outbox's pending intents and last sequence number.
//  2. It reads the account's users and every store's users at
//     downstream.PriorityRead (through the shared budget, which never lets a
//     read take the requests kept for removals). A failed or partial read ends
//     the run with an error and nothing changed.
//  3. Unless dryRun, it records the store catalog (Service.SetCatalog) before
//     reading the desired state, so that group-to-store mappings use the
//     stores just listed; a dry run, which writes nothing, plans with the
//     catalog the store already has.
//  4. It derives the [Outbox]: Deleted are the emails SCIM-sourced
//     account.remove intents were queued for whose SCIM user no longer exists
//     (kept by the store as removed identities, so they outlive the pruned
//     intents); Pending are the emails with intents that are pending now,
//     were pending when the read started, or were appended since. The delivery engine is
//     changing those, so comparing them with the listing would report (and
//     repair) changes already on their way.
//  5. It plans ([Plan]). In a dry run it stops there. Otherwise, in one store
//     transaction (which re-derives the outbox so that a SCIM write committed
//     meanwhile wins), an aborted plan records only an audit event
//     ("reconcile.aborted"); any other plan replaces the known state with the
//     listing (delivery.SaveSnapshot, keeping the records of emails the engine
//     changed during the read, which are newer), appends the repair intents
//     (so the delivery engine's net effect, priority, batching, budget and
//     crash safety apply: reconciliation repairs go last) and an audit event
//     ("reconcile.apply").
//
// An aborted run returns its Result and a nil error; a failed run returns the
// Result so far (RequestsSpent included) and the error.
func (r *Runner) RunOnce(ctx context.Context, dryRun bool) (Result, error) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	res := Result{RunID: r.o.NewRunID(), DryRun: dryRun, StartedAt: r.o.Now()}
	err := r.run(ctx, &res)
	res.Duration = r.o.Now().Sub(res.StartedAt)
	if err != nil {
		res.Outcome = OutcomeFailed
	} else if res.Plan.Aborted {
		res.Outcome = OutcomeAborted
	} else {
		res.Outcome = OutcomeSuccess
	}
	r.record(res, err)
	return res, err
}

func (r *Runner) run(ctx context.Context, res *Result) error {
	mark, err := r.markOutbox(ctx, res)
	if err != nil {
		return fmt.Errorf("prepare reconciliation: %w", err)
	}
	r.protect(mark.maxSeq)
	defer r.protect(-1)
	r.metrics.estimated.Set(float64(res.Estimate.Requests))
	r.log.Info("reconciliation reading BigCommerce",
		zap.String("run_id", res.RunID), zap.Bool("dry_run", res.DryRun),
		zap.Int("requests_estimated", res.Estimate.Requests), zap.String("estimate_basis", res.Estimate.Basis))
	if r.o.OnEstimate != nil {
		r.o.OnEstimate(res.Estimate)
	}

	snap, err := known.Read(ctx, r.o.Client, downstream.PriorityRead, r.o.Now)
	res.RequestsSpent = snap.Requests
	r.metrics.requests.Add(float64(snap.Requests))
	if err != nil {
		return fmt.Errorf("read bigcommerce: %w", err)
	}
	res.BigCommerceUsers, res.Stores = len(snap.Users), len(snap.StoreUsers)

	if !res.DryRun {
		if _, err := r.o.Service.SetCatalog(ctx, snap.Catalog()); err != nil {
			return fmt.Errorf("record store catalog: %w", err)
		}
	}
	desired, err := r.o.Service.Desired(ctx)
	if err != nil {
		return fmt.Errorf("read desired state: %w", err)
	}
	res.SCIMUsers = len(desired)
	in := newPlanInput(desired, snap, mark, r.o.Policy)
	if res.DryRun {
		err := r.o.Store.View(ctx, func(tx store.Tx) error {
			var err error
			res.Plan, _, err = in.plan(ctx, tx)
			return err
		})
		if err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		return nil
	}
	if err := r.apply(ctx, res, in); err != nil {
		res.Queued = 0
		return fmt.Errorf("apply plan: %w", err)
	}
	return nil
}

// markOutbox estimates the run's reads into res and marks the outbox as it
// stands before BigCommerce is read: its last sequence number and the
// pending intents, so that the plan can tell what changed during the read.
func (r *Runner) markOutbox(ctx context.Context, res *Result) (outboxMark, error) {
	var mark outboxMark
	err := r.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		if res.Estimate, err = estimateIn(ctx, tx, r.o.PageSize); err != nil {
			return err
		}
		st, err := tx.OutboxStamp(ctx)
		if err != nil {
			return fmt.Errorf("read outbox stamp: %w", err)
		}
		pending, err := tx.ListIntents(ctx, store.IntentFilter{States: []store.IntentState{store.IntentPending}})
		if err != nil {
			return fmt.Errorf("list intents: %w", err)
		}
		mark = outboxMark{maxSeq: st.MaxSeq, pending: make(map[int64]string, len(pending))}
		for _, in := range pending {
			mark.pending[in.Seq] = in.Email
		}
		return nil
	})
	return mark, err
}

// planInput is what a run plans from once BigCommerce is read: the SCIM
// users (and their ids), the account, the outbox mark and the policy.
type planInput struct {
	desired []bridge.Desired
	ids     map[string]bool
	snap    known.Snapshot
	mark    outboxMark
	policy  Policy
}

// newPlanInput gathers a run's plan input and indexes the SCIM user ids.
func newPlanInput(desired []bridge.Desired, snap known.Snapshot, mark outboxMark, policy Policy) *planInput {
	ids := make(map[string]bool, len(desired))
	for _, d := range desired {
		ids[d.UserID] = true
	}
	return &planInput{desired: desired, ids: ids, snap: snap, mark: mark, policy: policy}
}

// plan reads the outbox in tx as it is now, against the mark, and plans the
// repairs. It also returns the emails whose intents changed during the read.
func (in *planInput) plan(ctx context.Context, tx store.Tx) (PlanResult, []string, error) {
	pending, err := tx.ListIntents(ctx, store.IntentFilter{States: []store.IntentState{store.IntentPending}})
	if err != nil {
		return PlanResult{}, nil, fmt.Errorf("list intents: %w", err)
	}
	since, err := tx.ListIntents(ctx, store.IntentFilter{AfterSeq: in.mark.maxSeq})
	if err != nil {
		return PlanResult{}, nil, fmt.Errorf("list intents: %w", err)
	}
	removed, err := tx.ListRemovedIdentities(ctx)
	if err != nil {
		return PlanResult{}, nil, fmt.Errorf("list removed identities: %w", err)
	}
	ob, changed := outboxFor(pending, since, removed, in.mark, in.ids)
	return Plan(in.desired, ob, in.snap, in.policy), changed, nil
}

// apply plans in one transaction and, unless the plan is aborted, saves the
// listing (but for the emails that changed meanwhile) and queues the
// repairs, with an audit event either way.
func (r *Runner) apply(ctx context.Context, res *Result, in *planInput) error {
	now := store.Truncate(r.o.Now())
	return r.o.Store.Update(ctx, func(tx store.Tx) error {
		res.Queued = 0
		p, changed, err := in.plan(ctx, tx)
		if err != nil {
			return err
		}
		res.Plan = p
		if p.Aborted {
			return tx.AppendAudit(ctx, r.audit(res, "reconcile.aborted", now))
		}
		origin := known.Origin{Source: store.SourceReconcile, RequestID: res.RunID, Cause: "reconcile.listing"}
		if err := known.Save(ctx, tx, in.snap, origin, changed...); err != nil {
			return err
		}
		if len(p.Intents) > 0 {
			intents := make([]store.Intent, len(p.Intents))
			for i, it := range p.Intents {
				it.RequestID, it.CreatedAt = res.RunID, now
				intents[i] = it
			}
			if _, err := tx.AppendIntents(ctx, intents); err != nil {
				return fmt.Errorf("append repairs: %w", err)
			}
			res.Queued = len(intents)
		}
		return tx.AppendAudit(ctx, r.audit(res, "reconcile.apply", now))
	})
}

// outboxFor derives a plan's Outbox (see RunOnce) from the intents pending
// now, those appended since the mark and the removed identities, and returns
// the emails whose intents the delivery engine settled since the mark.
func outboxFor(pending, since []store.Intent, removed []store.RemovedIdentity, mark outboxMark, scimIDs map[string]bool) (Outbox, []string) {
	changing := map[string]bool{}
	settled := map[string]bool{}
	deleted := map[string]bool{}
	stillPending := make(map[int64]bool, len(pending))
	for _, in := range pending {
		changing[in.Email] = true
		stillPending[in.Seq] = true
	}
	for _, in := range since {
		changing[in.Email] = true
		if in.State != store.IntentPending {
			settled[in.Email] = true
		}
	}
	for seq, email := range mark.pending {
		changing[email] = true
		if !stillPending[seq] {
			// Settled since the mark (pruning only ever deletes settled
			// intents, so an intent gone from the outbox was settled too).
			settled[email] = true
		}
	}
	for _, r := range removed {
		if !scimIDs[r.UserID] {
			deleted[r.Email] = true
		}
	}
	return Outbox{Deleted: sortedKeys(deleted), Pending: sortedKeys(changing)}, sortedKeys(settled)
}

// protect records the mark of the run in progress (-1: none) for PruneFloor.
func (r *Runner) protect(maxSeq int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.floor = maxSeq
}

// PruneFloor returns the highest sequence number of the intents that may be
// pruned without harm to the run in progress: a run plans with the intents
// appended after its mark, settled or not, so while one reads BigCommerce
// (which may take hours within the budget) those stay. Without a run in
// progress every sequence number may go (math.MaxInt64).
func (r *Runner) PruneFloor() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.floor < 0 {
		return math.MaxInt64
	}
	return r.floor
}

// audit is the run's audit event: counts only.
func (r *Runner) audit(res *Result, action string, now time.Time) store.AuditEvent {
	var b strings.Builder
	fmt.Fprintf(&b, "drift=%d queued=%d removals=%d pending=%d requests=%d", res.Plan.Drift(), res.Queued,
		res.Plan.Removals, len(res.Plan.Pending), res.RequestsSpent)
	for _, c := range Classes() {
		if n := res.Plan.Counts[c]; n > 0 {
			fmt.Fprintf(&b, " %s=%d", c, n)
		}
	}
	if res.Plan.Aborted {
		fmt.Fprintf(&b, " max_removals=%d", r.o.Policy.MaxRemovals)
	}
	return store.AuditEvent{Time: now, Actor: "reconcile", Action: action, RequestID: res.RunID, Detail: b.String()}
}

// record updates the status and metrics after a run and logs its summary.
func (r *Runner) record(res Result, err error) {
	r.metrics.runs.WithLabelValues(res.Outcome).Inc()
	r.metrics.duration.Observe(res.Duration.Seconds())
	end := res.StartedAt.Add(res.Duration)

	r.mu.Lock()
	defer r.mu.Unlock()
	s := &r.status
	s.Runs++
	s.LastRunAt, s.LastOutcome = res.StartedAt, res.Outcome
	s.DurationSeconds = res.Duration.Seconds()
	s.RequestsEstimated, s.RequestsSpent = res.Estimate.Requests, res.RequestsSpent
	if err != nil {
		s.LastError = err.Error()
		return
	}
	s.LastError = ""
	s.Drift = make(map[string]int, len(res.Plan.Counts))
	for _, c := range Classes() {
		n := res.Plan.Counts[c]
		s.Drift[string(c)] = n
		r.metrics.drift.WithLabelValues(string(c)).Set(float64(n))
	}
	s.Pending, s.Queued, s.Removals, s.AbortReason = len(res.Plan.Pending), res.Queued, res.Plan.Removals, res.Plan.Reason
	r.metrics.pending.Set(float64(len(res.Plan.Pending)))
	if res.Outcome == OutcomeSuccess {
		s.LastSuccessAt = end
		r.metrics.lastSuccess.Set(float64(end.UnixNano()) / 1e9)
	}
	if res.Queued > 0 {
		for _, in := range res.Plan.Intents {
			r.metrics.repairs.WithLabelValues(string(in.Kind)).Inc()
		}
	}

	fields := []zap.Field{
		zap.String("run_id", res.RunID), zap.String("outcome", res.Outcome), zap.Bool("dry_run", res.DryRun),
		zap.Duration("duration", res.Duration), zap.Int("requests_estimated", res.Estimate.Requests),
		zap.Int("requests_spent", res.RequestsSpent), zap.Int("bigcommerce_users", res.BigCommerceUsers),
		zap.Int("scim_users", res.SCIMUsers), zap.Int("pending", len(res.Plan.Pending)),
		zap.Int("removals", res.Plan.Removals), zap.Int("queued", res.Queued),
	}
	for _, c := range Classes() {
		fields = append(fields, zap.Int(string(c), res.Plan.Counts[c]))
	}
	if res.Plan.Aborted {
		r.log.Warn("reconciliation aborted by the removal cap: nothing applied",
			append(fields, zap.Int("max_removals", r.o.Policy.MaxRemovals))...)
		return
	}
	r.log.Info("reconciliation run finished", fields...)
}

// Run runs a reconciliation every Interval until ctx ends and then returns nil;
// with Interval 0 it returns at once. The first run is due one Interval after
// the last saved listing (at once when there is none), so restarts and leader
// changes do not re-read the account early. A failed run is retried after
// Interval or 15 minutes, whichever is shorter. Only the replica holding the
// leader lease should call Run. Run waits in real time (unless Options.After
// says otherwise).
func (r *Runner) Run(ctx context.Context) error {
	if r.o.Interval <= 0 {
		return nil
	}
	next := r.o.Now()
	if at, ok, err := r.lastListing(ctx); err != nil {
		r.log.Warn("read the time of the last listing; running now", zap.Error(err))
	} else if ok {
		next = at.Add(r.o.Interval)
		r.mu.Lock()
		if r.status.LastSuccessAt.IsZero() {
			r.status.LastSuccessAt = at
		}
		r.mu.Unlock()
		r.metrics.lastSuccess.Set(float64(at.UnixNano()) / 1e9)
	}
	for {
		r.mu.Lock()
		r.status.NextRunAt = next
		r.mu.Unlock()
		if wait := next.Sub(r.o.Now()); wait > 0 && r.o.After != nil {
			select {
			case <-ctx.Done():
				return nil
			case <-r.o.After(wait):
			}
		} else if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		_, err := r.RunOnce(ctx, false)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.log.Error("reconciliation run failed; nothing was changed", zap.Error(err))
			next = r.o.Now().Add(min(r.o.Interval, maxFailureRetry))
			continue
		}
		next = r.o.Now().Add(r.o.Interval)
	}
}

// lastListing returns the time of the last saved listing, if any.
func (r *Runner) lastListing(ctx context.Context) (time.Time, bool, error) {
	var raw []byte
	err := r.o.Store.View(ctx, func(tx store.Tx) error {
		var err error
		raw, err = tx.GetState(ctx, known.SnapshotKey)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	var doc struct {
		At time.Time `json:"at"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.At.IsZero() {
		return time.Time{}, false, nil
	}
	return doc.At, true, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
