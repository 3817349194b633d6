package simulator

import (
	"slices"
	"strings"
)

// The four mutation fields. Each one records an Event, applied or failed, and
// counts in Stats.Operations under its field name. Error messages name ids and
// store hashes, never emails, and carry the keywords a client may read when
// there is no code (the documented profile sends none): "already", "not
// found", "not in the account", "does not exist", "no access", "owner",
// "invalid", "scope".

func (ex *execution) record(ev Event, fe *fieldError) {
	ev.At = ex.now
	ev.Request = ex.request
	ev.UserAgent = ex.userAgent
	if fe != nil {
		ev.Code = fe.code
	}
	ex.events = append(ex.events, ev)
}

func (ex *execution) fail(ev Event, fe *fieldError) (any, *fieldError) {
	ex.record(ev, fe)
	return nil, fe
}

// optionalString returns the string under key and whether it was given
// non-null.
func optionalString(m map[string]any, key string) (string, bool) {
	s, ok := m[key].(string)
	return s, ok
}

// userByEmail finds a user by email, or returns INVALID_INPUT for a malformed
// email and USER_NOT_FOUND for an unknown one.
func (ex *execution) userByEmail(email, path string) (*user, *fieldError) {
	if msg := emailProblem(email); msg != "" {
		return nil, fieldErrorf(CodeInvalidInput, "invalid %s: %s", path, msg)
	}
	u := ex.st.userByEmail[strings.ToLower(email)]
	if u == nil {
		return nil, fieldErrorf(CodeUserNotFound, "user not found: no user with this email is in the account")
	}
	return u, nil
}

// userByGlobalID finds a user by "bc/account/user/{n}", or returns
// INVALID_INPUT for a malformed id and USER_NOT_FOUND for an unknown one.
func (ex *execution) userByGlobalID(id, path string) (*user, *fieldError) {
	n, ok := parseNumericID(id, userIDPrefix)
	if !ok {
		return nil, fieldErrorf(CodeInvalidInput, "invalid %s: must look like %s{n}", path, userIDPrefix)
	}
	u := ex.st.userByID[n]
	if u == nil {
		return nil, fieldErrorf(CodeUserNotFound, "user %s is not in the account", id)
	}
	return u, nil
}

func (ex *execution) addUserToAccount(args map[string]any) (any, *fieldError) {
	ev := Event{Field: "addUserToAccount"}
	ex.opCounts[ev.Field]++
	in, _ := args["input"].(map[string]any)
	email, _ := optionalString(in, "email")
	ev.Email = email
	if fe := ex.need(ScopeUsersWrite); fe != nil {
		return ex.fail(ev, fe)
	}
	if msg := emailProblem(email); msg != "" {
		return ex.fail(ev, fieldErrorf(CodeInvalidInput, "invalid input.email: %s", msg))
	}
	if existing := ex.st.userByEmail[strings.ToLower(email)]; existing != nil {
		ev.UserID = userGlobalID(existing.id)
		return ex.fail(ev, fieldErrorf(CodeUserAlreadyExists, "a user with this email is already in the account"))
	}
	u := ex.invite(email)
	ev.UserID = userGlobalID(u.id)
	ex.record(ev, nil)
	return addUserToAccountResult{user: u}, nil
}

// invite adds email to the account as an INVITED user with no names, no
// locale and no store access.
func (ex *execution) invite(email string) *user {
	u := &user{email: email, status: StatusInvited, apiAdded: true, updatedAt: ex.now, access: map[string]*storeAccess{}}
	ex.st.insertUser(u)
	return u
}

func (ex *execution) removeUserFromAccount(args map[string]any) (any, *fieldError) {
	ev := Event{Field: "removeUserFromAccount"}
	ex.opCounts[ev.Field]++
	in, _ := args["input"].(map[string]any)
	email, byEmail := optionalString(in, "email")
	id, byID := optionalString(in, "userId")
	ev.Email, ev.UserID = email, id
	if fe := ex.need(ScopeUsersDelete); fe != nil {
		return ex.fail(ev, fe)
	}
	if byEmail == byID {
		return ex.fail(ev, fieldErrorf(CodeInvalidInput, "invalid input: give exactly one of input.email and input.userId"))
	}
	var u *user
	var fe *fieldError
	if byEmail {
		u, fe = ex.userByEmail(email, "input.email")
	} else {
		u, fe = ex.userByGlobalID(id, "input.userId")
	}
	if fe != nil {
		return ex.fail(ev, fe)
	}
	ev.Email, ev.UserID = u.email, userGlobalID(u.id)
	if u.owner {
		return ex.fail(ev, fieldErrorf(CodeCannotRemoveOwner, "user %s is the account owner and cannot be removed", ev.UserID))
	}
	ex.st.deleteUser(u)
	ex.record(ev, nil)
	return removeUserFromAccountResult{accountID: ex.st.accountID(), userID: ev.UserID}, nil
}

// storeFromID resolves a store global id: INVALID_INPUT when malformed,
// STORE_NOT_FOUND when unknown.
func (ex *execution) storeFromID(id, path string) (*store, *fieldError) {
	h, ok := parseStoreID(id)
	if !ok {
		return nil, fieldErrorf(CodeInvalidInput, "invalid %s: must look like %s{hash}", path, storeIDPrefix)
	}
	s := ex.st.storeByHash[h]
	if s == nil {
		return nil, fieldErrorf(CodeStoreNotFound, "store %s does not exist in the account", id)
	}
	return s, nil
}

func (ex *execution) addUserToStore(args map[string]any) (any, *fieldError) {
	ev := Event{Field: "addUserToStore"}
	ex.opCounts[ev.Field]++
	in, _ := args["input"].(map[string]any)
	who, _ := in["user"].(map[string]any)
	email, byEmail := optionalString(who, "email")
	id, byID := optionalString(who, "id")
	storeID, _ := optionalString(in, "storeId")
	ev.Email, ev.UserID = email, id
	if h, ok := parseStoreID(storeID); ok {
		ev.StoreHash = h
	}
	if fe := ex.need(ScopeUsersWrite); fe != nil {
		return ex.fail(ev, fe)
	}
	if byEmail == byID {
		return ex.fail(ev, fieldErrorf(CodeInvalidInput, "invalid input: give exactly one of input.user.email and input.user.id"))
	}
	s, fe := ex.storeFromID(storeID, "input.storeId")
	if fe != nil {
		return ex.fail(ev, fe)
	}
	var u *user
	if byEmail {
		// BigCommerce requires account membership only of a user named by
		// id; by email, a newcomer joins the account and the store at once.
		if msg := emailProblem(email); msg != "" {
			return ex.fail(ev, fieldErrorf(CodeInvalidInput, "invalid input.user.email: %s", msg))
		}
		if u = ex.st.userByEmail[strings.ToLower(email)]; u == nil {
			u = ex.invite(email)
			ev.AddedToAccount = true
		}
	} else {
		u, fe = ex.userByGlobalID(id, "input.user.id")
	}
	if fe != nil {
		return ex.fail(ev, fe)
	}
	ev.Email, ev.UserID = u.email, userGlobalID(u.id)
	if u.access[s.hash] != nil {
		return ex.fail(ev, fieldErrorf(CodeUserAlreadyInStore, "user %s already has access to store %s", ev.UserID, s.hash))
	}
	u.access[s.hash] = &storeAccess{
		permissions: slices.Clone(s.defaultPermissions),
		status:      u.status,
		updatedAt:   ex.now,
	}
	u.updatedAt = ex.now
	ex.record(ev, nil)
	return addUserToStoreResult{storeID: storeGlobalID(s.hash), user: u}, nil
}

func (ex *execution) removeUserFromStore(args map[string]any) (any, *fieldError) {
	ev := Event{Field: "removeUserFromStore"}
	ex.opCounts[ev.Field]++
	in, _ := args["input"].(map[string]any)
	storeID, _ := optionalString(in, "storeId")
	id, _ := optionalString(in, "userId")
	ev.UserID = id
	if h, ok := parseStoreID(storeID); ok {
		ev.StoreHash = h
	}
	if fe := ex.need(ScopeUsersDelete); fe != nil {
		return ex.fail(ev, fe)
	}
	if _, ok := parseNumericID(id, userIDPrefix); !ok {
		return ex.fail(ev, fieldErrorf(CodeInvalidInput, "invalid input.userId: must look like %s{n}", userIDPrefix))
	}
	s, fe := ex.storeFromID(storeID, "input.storeId")
	if fe != nil {
		return ex.fail(ev, fe)
	}
	u, fe := ex.userByGlobalID(id, "input.userId")
	if fe != nil {
		return ex.fail(ev, fe)
	}
	ev.Email = u.email
	if u.access[s.hash] == nil {
		return ex.fail(ev, fieldErrorf(CodeUserNotInStore, "user %s has no access to store %s", id, s.hash))
	}
	if u.owner {
		return ex.fail(ev, fieldErrorf(CodeCannotRemoveOwner, "user %s is the account owner and cannot lose access to a store", id))
	}
	delete(u.access, s.hash)
	u.updatedAt = ex.now
	ex.record(ev, nil)
	return removeUserFromStoreResult{storeID: storeGlobalID(s.hash), user: userView{u: u}}, nil
}
