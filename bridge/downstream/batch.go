package downstream

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	graphql "github.com/hasura/go-graphql-client"
	"go.uber.org/zap"
)

// OpKind is the kind of a mutation. The zero value is invalid.
type OpKind int

const (
	// OpAddToAccount adds (invites) a user to the account by email.
	OpAddToAccount OpKind = iota + 1
	// OpRemoveFromAccount removes a user, and with it all store access, from
	// the account, by email or user id.
	OpRemoveFromAccount
	// OpAddToStore gives a user of the account access to a store.
	OpAddToStore
	// OpRemoveFromStore removes a user's access to a store, by user id.
	OpRemoveFromStore
)

// String returns the GraphQL mutation field of the kind.
func (k OpKind) String() string {
	switch k {
	case OpAddToAccount:
		return "addUserToAccount"
	case OpRemoveFromAccount:
		return "removeUserFromAccount"
	case OpAddToStore:
		return "addUserToStore"
	case OpRemoveFromStore:
		return "removeUserFromStore"
	default:
		return "invalidOp"
	}
}

// isAdd reports whether the kind grants access.
func (k OpKind) isAdd() bool { return k == OpAddToAccount || k == OpAddToStore }

// Op is one mutation of a batch.
type Op struct {
	// Kind is the mutation.
	Kind OpKind
	// Email is the BigCommerce identity: required for adds and for account
	// removal unless UserID is given instead.
	Email string
	// StoreHash names the store of a store op; a full store id
	// ("bc/account/store/{hash}") is accepted too.
	StoreHash string
	// UserID is the user's global id ("bc/account/user/N"): required for
	// OpRemoveFromStore; for OpRemoveFromAccount an alternative to Email (Email
	// wins when both are set, since BigCommerce refuses both at once);
	// OpAddToStore uses Email, as BigCommerce recommends, unless only UserID is given.
	UserID string
}

// Outcome is the result of one op. The zero value is never returned.
type Outcome int

const (
	// Applied means the server made the change.
	Applied Outcome = iota + 1
	// AlreadyDone means the server reported the target already in the desired
	// state (already a member, already removed).
	AlreadyDone
	// Failed means the op did not take effect; [Result.Err] says why.
	Failed
)

// String returns the outcome's name, usable as a metric label.
func (o Outcome) String() string {
	switch o {
	case Applied:
		return "applied"
	case AlreadyDone:
		return "already_done"
	case Failed:
		return "failed"
	default:
		return "unknown"
	}
}

// Result is the outcome of one op.
type Result struct {
	// Op is the op, as given.
	Op Op
	// Outcome is what happened.
	Outcome Outcome
	// Err is set when Outcome is Failed.
	Err *Error
	// UserID is the user's global id when the response named it
	// (removeUserFromAccount and removeUserFromStore return it).
	UserID string
}

// Batch is the outcome of one [Client.Apply] call.
type Batch struct {
	// Results has one entry per op, in input order.
	Results []Result
	// Requests is the number of HTTP requests sent: 1 unless the server
	// refused the document and the client split it.
	Requests int
	// Splits counts documents refused for size or complexity and split.
	Splits int
	// Refused lists the op counts of the refused documents, in order.
	Refused []int
	// Accepted is the size of the largest document the server accepted in this
	// call (0 when none was).
	Accepted int
	// Rate is the rate-limit state of the last response.
	Rate RateInfo
}

// Apply sends ops as one aliased mutation document and returns a result per
// op. Mutation fields run in document order, which is the input order.
//
// If the server refuses the document for its size or complexity, Apply splits
// it into halves (first half first) and sends each, recursively; a single op
// that is still refused fails with reason [ReasonRefused]. Each request goes
// through the Gate with priority p.
//
// Ops that are invalid before sending (a missing email, store or user id) fail
// with reason [ReasonInvalidInput] and are not sent. When a request fails as a
// whole (rate limited, transient, unauthorized, invalid document), Apply
// returns that *Error together with the Batch so far: results of halves that
// already completed are kept, every other op is Failed with that error.
func (c *Client) Apply(ctx context.Context, p Priority, ops []Op) (Batch, error) {
	b := Batch{Results: make([]Result, len(ops))}
	done := make([]bool, len(ops))
	pending := make([]int, 0, len(ops))
	for i, op := range ops {
		b.Results[i].Op = op
		if e := op.validate(); e != nil {
			b.Results[i].Outcome, b.Results[i].Err = Failed, e
			done[i] = true
			continue
		}
		pending = append(pending, i)
	}
	if len(pending) == 0 {
		return b, nil
	}
	if e := c.applyDocument(ctx, p, ops, pending, &b, done); e != nil {
		for i := range b.Results {
			if !done[i] {
				b.Results[i].Outcome, b.Results[i].Err = Failed, e
			}
		}
		return b, e
	}
	if ce := c.log.Check(zap.DebugLevel, "downstream batch done"); ce != nil {
		var applied, already, failed int
		for _, r := range b.Results {
			switch r.Outcome {
			case Applied:
				applied++
			case AlreadyDone:
				already++
			default:
				failed++
			}
		}
		ce.Write(zap.Int("ops", len(ops)), zap.Int("requests", b.Requests), zap.Int("splits", b.Splits),
			zap.Int("applied", applied), zap.Int("already_done", already), zap.Int("failed", failed))
	}
	return b, nil
}

// applyDocument sends the ops at indexes idx, in order, as few documents as
// the server accepts. It starts with one document for all of them. When the
// server refuses a document for its size, the rest are tried again in smaller
// documents: of the size the server says it accepts (a TOO_MANY_MUTATIONS
// "limit"), else half the refused size; once a size is accepted the remaining
// ops go in documents of that size. A refusal thus costs a few requests
// (logarithmic in the batch size, one when the server states its limit), never
// one per op.
//
// BigCommerce documents one mutation per request and no error codes, so any
// document-level error on a document of several operations counts as such a
// refusal, whatever its message says; and a one-operation document refused
// while it used an optional selection ([Capabilities.AddReturnsUser]) is sent
// again in the documented shape. Only a one-operation document in the
// documented shape that the server refuses fails its operation
// (invalid_document).
func (c *Client) applyDocument(ctx context.Context, p Priority, ops []Op, idx []int, b *Batch, done []bool) *Error {
	size := len(idx)
	for len(idx) > 0 {
		n := min(size, len(idx))
		chunk := idx[:n]
		withUser := c.Capabilities().AddReturnsUser
		query, vars := buildMutation(ops, chunk, withUser)
		r, s, e := c.exec(ctx, p, OpApply, query, vars)
		b.Requests += s.requests
		if s.responded {
			b.Rate = s.rate
		}
		if e != nil {
			if e.Reason == ReasonInvalidDocument && n == 1 && withUser && usesOptionalSelection(ops, chunk) {
				c.drop("user in addUserToAccount result", func(cp *Capabilities) { cp.AddReturnsUser = false })
				continue
			}
			if e.Reason != ReasonRefused && e.Reason != ReasonInvalidDocument {
				return e
			}
			if n == 1 {
				// Refused in the documented shape, alone: this operation fails
				// (permanently), the others still go.
				i := chunk[0]
				b.Results[i].Outcome, b.Results[i].Err = Failed, e
				done[i] = true
				idx = idx[1:]
				continue
			}
			b.Splits++
			b.Refused = append(b.Refused, n)
			size = n / 2
			if e.Limit >= 1 && e.Limit < n {
				size = e.Limit
			}
			c.log.Warn("downstream refused batch, splitting",
				zap.Int("size", n), zap.Int("next_size", size), zap.String("code", e.Code), zap.Int("status", e.Status))
			continue
		}
		unclear := c.readMutationResults(r, ops, chunk, b, done)
		b.Accepted = max(b.Accepted, n)
		idx = idx[n:]
		if len(unclear) > 0 {
			// Errors without a path in a document of several operations cannot be
			// told apart: those operations go again, one per document (they are
			// idempotent, so one that did apply comes back already done).
			for _, i := range unclear {
				done[i] = false
			}
			size = 1
			idx = append(unclear, idx...)
		}
	}
	return nil
}

// usesOptionalSelection reports whether the document for the ops at idx
// selects something beyond the documented result shapes.
func usesOptionalSelection(ops []Op, idx []int) bool {
	for _, i := range idx {
		if ops[i].Kind == OpAddToAccount {
			return true
		}
	}
	return false
}

// validate checks what the client can check without the server.
func (op Op) validate() *Error {
	var missing string
	switch op.Kind {
	case OpAddToAccount:
		if op.Email == "" {
			missing = "email"
		}
	case OpRemoveFromAccount:
		if op.Email == "" && op.UserID == "" {
			missing = "email or user id"
		}
	case OpAddToStore:
		switch {
		case op.StoreHash == "":
			missing = "store hash"
		case op.Email == "" && op.UserID == "":
			missing = "email or user id"
		}
	case OpRemoveFromStore:
		switch {
		case op.StoreHash == "":
			missing = "store hash"
		case op.UserID == "":
			missing = "user id"
		}
	default:
		return &Error{Class: ClassPermanent, Reason: ReasonInvalidInput, Detail: "unknown op kind " + strconv.Itoa(int(op.Kind))}
	}
	if missing != "" {
		return &Error{Class: ClassPermanent, Reason: ReasonInvalidInput, Detail: op.Kind.String() + " needs " + missing}
	}
	return nil
}

// storeIDPrefix and userIDPrefix are BigCommerce's global id prefixes.
const (
	storeIDPrefix   = "bc/account/store/"
	userIDPrefix    = "bc/account/user/"
	accountIDPrefix = "bc/account/account/"
)

// storeID returns the global id of a store hash (or a store id as given).
func storeID(hash string) string {
	if strings.HasPrefix(hash, storeIDPrefix) {
		return hash
	}
	return storeIDPrefix + hash
}

// Mutation inputs, sent as variables (never interpolated into the document).
type (
	addToAccountInput struct {
		Email string `json:"email"`
	}
	removeFromAccountInput struct {
		Email  string `json:"email,omitempty"`
		UserID string `json:"userId,omitempty"`
	}
	userIdentityInput struct {
		Email string `json:"email,omitempty"`
		ID    string `json:"id,omitempty"`
	}
	addToStoreInput struct {
		User    userIdentityInput `json:"user"`
		StoreID string            `json:"storeId"`
	}
	removeFromStoreInput struct {
		StoreID string `json:"storeId"`
		UserID  string `json:"userId"`
	}
)

// Per-kind document pieces. Selections are minimal (complexity: each
// mutation field costs 100 + its selection, about 103 in all by the
// simulator's formula) and documented: addUserToAccount returns the account
// (plus the new user where the server offers it, withUser),
// removeUserFromAccount the user id, addUserToStore the store id and
// removeUserFromStore the store id and the user.
func mutationParts(k OpKind, withUser bool) (inputType, namespace, selection string) {
	switch k {
	case OpAddToAccount:
		if withUser {
			return "AddUserToAccountInput!", "account", "{ account { id } user { id } }"
		}
		return "AddUserToAccountInput!", "account", "{ account { id } }"
	case OpRemoveFromAccount:
		return "RemoveUserFromAccountInput!", "account", "{ userId }"
	case OpAddToStore:
		return "AddUserToStoreInput!", "user", "{ storeId }"
	default:
		return "RemoveUserFromStoreInput!", "user", "{ storeId user { id } }"
	}
}

// buildMutation renders the ops at indexes idx as one document with root
// fields aliased m0, m1, ... and inputs $i0, $i1, ... in the same order.
func buildMutation(ops []Op, idx []int, withUser bool) (string, map[string]any) {
	var head, body strings.Builder
	head.Grow(32 + 40*len(idx))
	body.Grow(80 * len(idx))
	vars := make(map[string]any, len(idx))
	head.WriteString("mutation BridgeApply(")
	body.WriteString(") {")
	var num [20]byte
	for k, i := range idx {
		op := ops[i]
		n := strconv.AppendInt(num[:0], int64(k), 10)
		inputType, namespace, selection := mutationParts(op.Kind, withUser)
		if k > 0 {
			head.WriteString(", ")
		}
		head.WriteString("$i")
		head.Write(n)
		head.WriteString(": ")
		head.WriteString(inputType)

		body.WriteString(" m")
		body.Write(n)
		body.WriteString(": ")
		body.WriteString(namespace)
		body.WriteString(" { ")
		body.WriteString(op.Kind.String())
		body.WriteString("(input: $i")
		body.Write(n)
		body.WriteString(") ")
		body.WriteString(selection)
		body.WriteString(" }")

		vars["i"+string(n)] = mutationInput(op)
	}
	body.WriteString(" }")
	head.WriteString(body.String())
	return head.String(), vars
}

func mutationInput(op Op) any {
	switch op.Kind {
	case OpAddToAccount:
		return addToAccountInput{Email: op.Email}
	case OpRemoveFromAccount:
		if op.Email != "" {
			return removeFromAccountInput{Email: op.Email}
		}
		return removeFromAccountInput{UserID: op.UserID}
	case OpAddToStore:
		if op.Email != "" {
			return addToStoreInput{User: userIdentityInput{Email: op.Email}, StoreID: storeID(op.StoreHash)}
		}
		return addToStoreInput{User: userIdentityInput{ID: op.UserID}, StoreID: storeID(op.StoreHash)}
	default:
		return removeFromStoreInput{StoreID: storeID(op.StoreHash), UserID: op.UserID}
	}
}

// mutationPayload is the union of the mutation result fields the client
// selects that it reads (the user id, where the mutation returns one).
type mutationPayload struct {
	UserID string `json:"userId"`
	User   *struct {
		ID string `json:"id"`
	} `json:"user"`
}

// aliasResult is the value of one alias mK: the namespace object with the
// one mutation field selected under it; a null field stays nil.
type aliasResult struct {
	AddUserToAccount      *mutationPayload `json:"addUserToAccount"`
	RemoveUserFromAccount *mutationPayload `json:"removeUserFromAccount"`
	AddUserToStore        *mutationPayload `json:"addUserToStore"`
	RemoveUserFromStore   *mutationPayload `json:"removeUserFromStore"`
}

// field returns the result of the mutation field of kind k, nil when absent or null.
func (a *aliasResult) field(k OpKind) *mutationPayload {
	if a == nil {
		return nil
	}
	switch k {
	case OpAddToAccount:
		return a.AddUserToAccount
	case OpRemoveFromAccount:
		return a.RemoveUserFromAccount
	case OpAddToStore:
		return a.AddUserToStore
	case OpRemoveFromStore:
		return a.RemoveUserFromStore
	default:
		return nil
	}
}

// readMutationResults turns data and field errors into per-op results. A
// field error without a path belongs to the only operation of a one-operation
// document; in a document of several it belongs to none that can be told, and
// the operations without a result are returned (unclear) to be sent again.
func (c *Client) readMutationResults(r reply, ops []Op, idx []int, b *Batch, done []bool) (unclear []int) {
	var root map[string]*aliasResult
	if err := json.Unmarshal(r.data, &root); err != nil {
		root = nil // every op without an error below has no result
	}
	fieldErrs := make(map[int]graphql.Error, len(r.errs))
	pathless := 0
	for _, ge := range r.errs {
		k, ok := aliasIndex(ge.Path)
		if len(ge.Path) == 0 {
			if len(idx) > 1 {
				pathless++
				continue
			}
			k, ok = 0, true
		}
		if !ok {
			continue // a path that names no alias of the document
		}
		if k >= len(idx) {
			continue
		}
		if _, seen := fieldErrs[k]; !seen {
			fieldErrs[k] = ge
		}
	}
	for k, i := range idx {
		op := ops[i]
		res := &b.Results[i]
		done[i] = true
		if ge, ok := fieldErrs[k]; ok {
			res.Outcome, res.Err = classifyFieldError(op.Kind, errorCode(ge), ge.Message, r.status)
			continue
		}
		pl := root["m"+strconv.Itoa(k)].field(op.Kind)
		if pl == nil {
			if pathless > 0 {
				unclear = append(unclear, i)
				continue
			}
			// Neither data nor an error: the outcome is unknown, so the
			// operation is in doubt and goes again later.
			res.Outcome = Failed
			res.Err = &Error{Class: ClassTransient, Reason: ReasonUnknown, Status: r.status, Detail: op.Kind.String() + ": no result and no error"}
			continue
		}
		res.Outcome = Applied
		switch {
		case pl.UserID != "":
			res.UserID = pl.UserID
		case pl.User != nil:
			res.UserID = pl.User.ID
		}
	}
	return unclear
}

// aliasIndex parses the first path element "mK" of a field error.
func aliasIndex(path []any) (int, bool) {
	if len(path) == 0 {
		return 0, false
	}
	s, ok := path[0].(string)
	if !ok || len(s) < 2 || s[0] != 'm' {
		return 0, false
	}
	k, err := strconv.Atoi(s[1:])
	if err != nil || k < 0 {
		return 0, false
	}
	return k, true
}

// Field error codes (the simulator's reading of BigCommerce; see the package doc).
const (
	codeUserAlreadyExists  = "USER_ALREADY_EXISTS"
	codeUserAlreadyInStore = "USER_ALREADY_IN_STORE"
	codeUserNotFound       = "USER_NOT_FOUND"
	codeUserNotInStore     = "USER_NOT_IN_STORE"
	codeStoreNotFound      = "STORE_NOT_FOUND"
	codeInvalidInput       = "INVALID_INPUT"
	codeCannotRemoveOwner  = "CANNOT_REMOVE_OWNER"
)

// classifyFieldError maps one field error of an op to its outcome: first by
// code, then, when the code is absent or unknown, by message keywords. The
// message is only read, never copied into the error.
func classifyFieldError(kind OpKind, code, message string, status int) (Outcome, *Error) {
	fail := func(class Class, reason, detail string) (Outcome, *Error) {
		return Failed, &Error{Class: class, Reason: reason, Code: code, Status: status, Detail: kind.String() + ": " + detail}
	}
	permanent := func(reason string) (Outcome, *Error) {
		return fail(ClassPermanent, reason, "code "+code)
	}
	switch code {
	case codeUserAlreadyExists, codeUserAlreadyInStore:
		if kind.isAdd() {
			return AlreadyDone, nil
		}
	case codeUserNotFound:
		switch kind {
		case OpRemoveFromAccount, OpRemoveFromStore:
			return AlreadyDone, nil
		case OpAddToStore:
			return permanent(ReasonNotInAccount)
		}
	case codeUserNotInStore:
		if kind == OpRemoveFromStore {
			return AlreadyDone, nil
		}
	case codeStoreNotFound:
		return permanent(ReasonStoreNotFound)
	case codeInvalidInput:
		return permanent(ReasonInvalidInput)
	case codeCannotRemoveOwner:
		return permanent(ReasonCannotRemoveOwner)
	case codeForbidden:
		return permanent(ReasonForbidden)
	case codeUnauth:
		return permanent(ReasonUnauthorized)
	case codeRateLimited:
		return fail(ClassRateLimited, ReasonRateLimited, "code "+code)
	case codeInternal:
		return fail(ClassTransient, ReasonServerError, "code "+code)
	}

	// Tolerant reading of the message (BigCommerce documents no error payloads).
	m := strings.ToLower(message)
	byKeyword := func(reason, kw string) (Outcome, *Error) {
		return fail(ClassPermanent, reason, "message mentions "+strconv.Quote(kw))
	}
	if strings.Contains(m, "already") {
		return AlreadyDone, nil
	}
	if kw := firstKeyword(m, "owner"); kw != "" && !kind.isAdd() {
		return byKeyword(ReasonCannotRemoveOwner, kw)
	}
	if strings.Contains(m, "store") {
		if kw := firstKeyword(m, "not found", "does not exist", "doesn't exist", "unknown", "no such"); kw != "" &&
			!strings.Contains(m, "user") {
			return byKeyword(ReasonStoreNotFound, "store "+kw)
		}
	}
	if kw := firstKeyword(m, "not found", "does not exist", "doesn't exist", "no such", "unknown user",
		"not a member", "not in the account", "not in account", "not in store", "not in the store",
		"no access", "does not have access", "doesn't have access"); kw != "" {
		switch kind {
		case OpRemoveFromAccount, OpRemoveFromStore:
			return AlreadyDone, nil
		case OpAddToStore:
			return byKeyword(ReasonNotInAccount, kw)
		}
	}
	if kw := firstKeyword(m, "permission", "forbidden", "scope", "not authorized", "unauthorized", "access denied"); kw != "" {
		return byKeyword(ReasonForbidden, kw)
	}
	if kw := firstKeyword(m, "invalid", "malformed", "must be", "required"); kw != "" {
		return byKeyword(ReasonInvalidInput, kw)
	}
	detail := "unrecognised error"
	if code != "" {
		detail = "unrecognised code " + code
	}
	return fail(ClassPermanent, ReasonUnknown, detail)
}

// firstKeyword returns the first of kws contained in m, or "".
func firstKeyword(m string, kws ...string) string {
	for _, kw := range kws {
		if strings.Contains(m, kw) {
			return kw
		}
	}
	return ""
}
