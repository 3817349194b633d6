package simulator

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// User and store-access statuses (the UserStatus enum of the schema).
const (
	StatusActive   = "ACTIVE"
	StatusInvited  = "INVITED"
	StatusInactive = "INACTIVE"
)

// noPermissionRequired is what addUserToStore grants in a store whose seed has
// no defaultPermissions.
const noPermissionRequired = "No_Permission_Required"

// Global id prefixes, as BigCommerce documents them.
const (
	accountIDPrefix = "bc/account/account/"
	userIDPrefix    = "bc/account/user/"
	storeIDPrefix   = "bc/account/store/"
	appIDPrefix     = "bc/account/app/"
)

// State is a deep copy of the simulated account, as returned by Snapshot.
type State struct {
	// Account is the account itself.
	Account Account
	// Stores are the stores in seed order.
	Stores []Store
	// Users are the users by ascending numeric id.
	Users []User
	// Apps are the apps by ascending numeric id.
	Apps []App
}

// Account describes the simulated account.
type Account struct {
	// ID is the global id, "bc/account/account/{uuid}".
	ID string
	// UUID is the account UUID of the URL path.
	UUID string
	// Name is accountInfo.name.
	Name string
}

// Store is one store of the account.
type Store struct {
	// ID is the global id, "bc/account/store/{hash}".
	ID string
	// Hash is the store hash.
	Hash string
	// Name is the store name.
	Name string
	// DefaultPermissions are what addUserToStore grants in this store.
	DefaultPermissions []string
}

// User is one control-panel user of the account.
type User struct {
	// ID is the global id, "bc/account/user/{n}".
	ID string
	// Email is the email as first given.
	Email string
	// FirstName is empty when unknown (served as null).
	FirstName string
	// LastName is empty when unknown (served as null).
	LastName string
	// Locale is empty when unknown (served as null).
	Locale string
	// Status is ACTIVE, INVITED or INACTIVE.
	Status string
	// Owner reports whether the user owns the account.
	Owner bool
	// AddedByAPI reports whether addUserToAccount created the user.
	AddedByAPI bool
	// LastLoginAt is the account-level last sign-in, nil when never.
	LastLoginAt *time.Time
	// UpdatedAt is when the user was seeded or added.
	UpdatedAt time.Time
	// Stores maps each store hash the user can reach to its access.
	Stores map[string]StoreAccess
}

// StoreAccess is a user's access to one store.
type StoreAccess struct {
	// Permissions are the user's permissions in the store.
	Permissions []string
	// Status is ACTIVE, INVITED or INACTIVE.
	Status string
	// LastLoginAt is the last sign-in to the store, nil when never.
	LastLoginAt *time.Time
	// UpdatedAt is when the access was seeded or granted.
	UpdatedAt time.Time
}

// App is one app owned by the account.
type App struct {
	// ID is the global id, "bc/account/app/{n}".
	ID string
	// Name is the app name.
	Name string
	// Stores are the hashes of the stores the app is installed on.
	Stores []string
}

// state is the mutable in-memory account. Server.mu guards it.
type state struct {
	accountUUID string
	accountName string

	stores      []*store
	storeByHash map[string]*store

	users       []*user // ascending id
	userByID    map[int]*user
	userByEmail map[string]*user // lower-cased email
	nextUserID  int

	apps []*app // ascending id
}

type store struct {
	index              int
	hash               string
	name               string
	defaultPermissions []string
}

type user struct {
	id          int
	email       string
	firstName   string
	lastName    string
	locale      string
	status      string
	owner       bool
	apiAdded    bool
	lastLoginAt *time.Time
	updatedAt   time.Time
	access      map[string]*storeAccess
}

type storeAccess struct {
	permissions []string
	status      string
	lastLoginAt *time.Time
	updatedAt   time.Time
}

type app struct {
	id     int
	name   string
	stores map[string]bool
}

// newState builds the account from a validated seed. now stamps updatedAt.
func newState(seed *Seed, accountUUID string, now time.Time) *state {
	st := &state{
		accountUUID: accountUUID,
		accountName: seed.Account.Name,
		storeByHash: map[string]*store{},
		userByID:    map[int]*user{},
		userByEmail: map[string]*user{},
		nextUserID:  1,
	}
	for i, s := range seed.Stores {
		sp := &store{index: i, hash: s.Hash, name: s.Name, defaultPermissions: slices.Clone(s.DefaultPermissions)}
		if len(sp.defaultPermissions) == 0 {
			sp.defaultPermissions = []string{noPermissionRequired}
		}
		st.stores = append(st.stores, sp)
		st.storeByHash[s.Hash] = sp
	}
	for _, su := range seed.Users {
		status := su.Status
		if status == "" {
			status = StatusActive
		}
		locale := su.Locale
		if locale == "" {
			locale = "en-US"
		}
		u := &user{
			email: su.Email, firstName: su.FirstName, lastName: su.LastName, locale: locale,
			status: status, owner: su.Owner, lastLoginAt: cloneTime(su.LastLoginAt),
			updatedAt: now, access: map[string]*storeAccess{},
		}
		for _, h := range su.Stores {
			perms := slices.Clone(su.Permissions)
			if perms == nil {
				if su.Owner {
					perms = OwnerPermissions()
				} else {
					perms = slices.Clone(st.storeByHash[h].defaultPermissions)
				}
			}
			u.access[h] = &storeAccess{permissions: perms, status: status, lastLoginAt: cloneTime(su.LastLoginAt), updatedAt: now}
		}
		st.insertUser(u)
	}
	for i, sa := range seed.Apps {
		a := &app{id: i + 1, name: sa.Name}
		if sa.Stores != nil {
			a.stores = map[string]bool{}
			for _, h := range sa.Stores {
				a.stores[h] = true
			}
		}
		st.apps = append(st.apps, a)
	}
	return st
}

// insertUser gives u the next id and adds it. Ids only grow, so st.users stays sorted.
func (st *state) insertUser(u *user) {
	u.id = st.nextUserID
	st.nextUserID++
	st.users = append(st.users, u)
	st.userByID[u.id] = u
	st.userByEmail[strings.ToLower(u.email)] = u
}

// deleteUser removes u and, with it, all of its store access.
func (st *state) deleteUser(u *user) {
	delete(st.userByID, u.id)
	delete(st.userByEmail, strings.ToLower(u.email))
	st.users = slices.DeleteFunc(st.users, func(x *user) bool { return x == u })
}

func (st *state) accountID() string { return accountIDPrefix + st.accountUUID }

// inStore reports whether a is installed on the store with hash h.
func (a *app) inStore(h string) bool { return a.stores == nil || a.stores[h] }

// snapshot returns a deep copy for Server.Snapshot.
func (st *state) snapshot() State {
	out := State{Account: Account{ID: st.accountID(), UUID: st.accountUUID, Name: st.accountName}}
	for _, s := range st.stores {
		out.Stores = append(out.Stores, Store{
			ID: storeGlobalID(s.hash), Hash: s.hash, Name: s.name,
			DefaultPermissions: slices.Clone(s.defaultPermissions),
		})
	}
	for _, u := range st.users {
		cu := User{
			ID: userGlobalID(u.id), Email: u.email, FirstName: u.firstName, LastName: u.lastName,
			Locale: u.locale, Status: u.status, Owner: u.owner, AddedByAPI: u.apiAdded,
			LastLoginAt: cloneTime(u.lastLoginAt), UpdatedAt: u.updatedAt,
			Stores: make(map[string]StoreAccess, len(u.access)),
		}
		for h, a := range u.access {
			cu.Stores[h] = StoreAccess{
				Permissions: slices.Clone(a.permissions), Status: a.status,
				LastLoginAt: cloneTime(a.lastLoginAt), UpdatedAt: a.updatedAt,
			}
		}
		out.Users = append(out.Users, cu)
	}
	for _, a := range st.apps {
		ca := App{ID: appGlobalID(a.id), Name: a.name}
		for _, s := range st.stores {
			if a.inStore(s.hash) {
				ca.Stores = append(ca.Stores, s.hash)
			}
		}
		out.Apps = append(out.Apps, ca)
	}
	return out
}

func cloneTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := t.UTC()
	return &c
}

func userGlobalID(id int) string       { return userIDPrefix + strconv.Itoa(id) }
func appGlobalID(id int) string        { return appIDPrefix + strconv.Itoa(id) }
func storeGlobalID(hash string) string { return storeIDPrefix + hash }

// parseNumericID parses "{prefix}{n}" with n a positive decimal without sign or
// leading zeros.
func parseNumericID(id, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" || rest[0] == '0' {
		return 0, false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return 0, false
	}
	return n, true
}

// parseStoreID parses "bc/account/store/{hash}".
func parseStoreID(id string) (string, bool) {
	rest, ok := strings.CutPrefix(id, storeIDPrefix)
	if !ok || !storeHashPattern.MatchString(rest) {
		return "", false
	}
	return rest, true
}
