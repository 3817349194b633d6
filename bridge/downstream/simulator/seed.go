package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Seed is the initial state of a simulated account, in the JSON format that
// "scim-bridge simulate --seed FILE" reads:
//
//	{"account":{"uuid":"…","name":"…"},
//	 "stores":[{"hash":"abc123","name":"Plant Market"}],
//	 "users":[{"email":"…","firstName":"…","lastName":"…","stores":["abc123"]}]}
//
// plus the optional fields documented on each type. LoadSeed decodes it
// strictly; Validate lists every problem.
type Seed struct {
	// Account names the simulated account.
	Account SeedAccount `json:"account"`
	// Stores are the account's stores, in the order the stores connection lists them.
	Stores []SeedStore `json:"stores"`
	// Users are the account's control-panel users; they get ids 1, 2, … in this order.
	Users []SeedUser `json:"users"`
	// Apps are the apps owned by the account (optional); they get ids 1, 2, … in this order.
	Apps []SeedApp `json:"apps,omitempty"`
}

// SeedAccount names the simulated account.
type SeedAccount struct {
	// UUID is the account UUID used in the URL path. Optional: Options.AccountUUID
	// wins when set, and DefaultAccountUUID applies when both are empty.
	UUID string `json:"uuid,omitempty"`
	// Name is the account name served as accountInfo.name. Required.
	Name string `json:"name"`
}

// SeedStore is one store of the account.
type SeedStore struct {
	// Hash is the store hash (letters, digits, "_" and "-"); the store id is
	// "bc/account/store/{hash}". Required and unique.
	Hash string `json:"hash"`
	// Name is the store name. Required.
	Name string `json:"name"`
	// DefaultPermissions (optional) are the permissions addUserToStore grants in
	// this store; empty means ["No_Permission_Required"].
	DefaultPermissions []string `json:"defaultPermissions,omitempty"`
}

// SeedUser is one control-panel user of the account.
type SeedUser struct {
	// Email identifies the user; unique, compared case-insensitively. Required.
	Email string `json:"email"`
	// FirstName is optional; empty is served as null.
	FirstName string `json:"firstName,omitempty"`
	// LastName is optional; empty is served as null.
	LastName string `json:"lastName,omitempty"`
	// Stores lists the hashes of the stores the user can reach.
	Stores []string `json:"stores,omitempty"`
	// Owner (optional) marks the account owner; at most one user may be the
	// owner, who cannot be removed from the account or from a store.
	Owner bool `json:"owner,omitempty"`
	// Locale (optional) defaults to "en-US".
	Locale string `json:"locale,omitempty"`
	// Permissions (optional) are the user's permissions in each of its stores.
	// When absent, the owner gets OwnerPermissions and everyone else the store's
	// default permissions.
	Permissions []string `json:"permissions,omitempty"`
	// Status (optional) is ACTIVE (default), INVITED or INACTIVE; it applies to
	// the user and to each of its store accesses.
	Status string `json:"status,omitempty"`
	// LastLoginAt (optional, RFC 3339) is served as the user's lastLoginAt, both
	// at account level and in each of its stores. Absent means null.
	LastLoginAt *time.Time `json:"lastLoginAt,omitempty"`
}

// SeedApp is one app owned by the account.
type SeedApp struct {
	// Name is the app name. Required.
	Name string `json:"name"`
	// Stores (optional) lists the hashes of the stores the app is installed on;
	// absent means every store.
	Stores []string `json:"stores,omitempty"`
}

// OwnerPermissions is the broad permission list a seeded owner gets in each of
// its stores when the seed gives no permissions. BigCommerce documents about 130
// permission names; this is a representative subset, not the full list.
func OwnerPermissions() []string {
	return []string{
		"Manage_Analytics", "Manage_Apps", "Manage_Channels", "Manage_Content",
		"Manage_Customers", "Manage_Marketing", "Manage_Orders", "Manage_Payments",
		"Manage_Products", "Manage_Settings", "Manage_Shipping", "Manage_Store_Design",
		"Manage_Tax", "Manage_Users", "Export_Customers", "Export_Orders",
		"Export_Products", "Import_Customers", "Import_Products", "View_Customers",
		"View_Orders", "View_Products",
	}
}

// DefaultSeed returns the seed used when Options.Seed is nil: an account named
// "Simulated Account" (DefaultAccountUUID) with three stores (abc123 "Plant
// Market", def456 "Garden Tools", ghi789 "Seed Library"), the owner
// owner@example.com in all three with OwnerPermissions, alice@example.com in
// abc123, bob@example.com in abc123 and def456, and two apps ("Inventory Sync"
// on every store, "Order Export" on abc123). Each call returns a new copy.
func DefaultSeed() *Seed {
	ownerLogin := time.Date(2024, time.January, 15, 9, 30, 0, 0, time.UTC)
	aliceLogin := time.Date(2024, time.February, 2, 14, 5, 0, 0, time.UTC)
	return &Seed{
		Account: SeedAccount{UUID: DefaultAccountUUID, Name: "Simulated Account"},
		Stores: []SeedStore{
			{Hash: "abc123", Name: "Plant Market", DefaultPermissions: []string{"Manage_Orders", "View_Products"}},
			{Hash: "def456", Name: "Garden Tools"},
			{Hash: "ghi789", Name: "Seed Library"},
		},
		Users: []SeedUser{
			{
				Email: "owner@example.com", FirstName: "Olivia", LastName: "Owner",
				Stores: []string{"abc123", "def456", "ghi789"}, Owner: true,
				LastLoginAt: &ownerLogin,
			},
			{
				Email: "alice@example.com", FirstName: "Alice", LastName: "Anders",
				Stores: []string{"abc123"}, Locale: "en-GB",
				Permissions: []string{"Manage_Orders", "Manage_Products", "View_Customers"},
				LastLoginAt: &aliceLogin,
			},
			{
				Email: "bob@example.com", FirstName: "Bob", LastName: "Berg",
				Stores: []string{"abc123", "def456"},
			},
		},
		Apps: []SeedApp{
			{Name: "Inventory Sync"},
			{Name: "Order Export", Stores: []string{"abc123"}},
		},
	}
}

// LoadSeed decodes a seed strictly (an unknown key is an error that names it,
// and so is anything after the JSON object) and validates it.
func LoadSeed(r io.Reader) (*Seed, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var seed Seed
	if err := dec.Decode(&seed); err != nil {
		return nil, fmt.Errorf("decode seed: %w", err)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode seed: unexpected data after the JSON object")
	}
	if err := seed.Validate(); err != nil {
		return nil, err
	}
	return &seed, nil
}

// storeHashPattern is the simulator's rule for store hashes. Real hashes are
// short lower-case alphanumeric strings; the rule only has to keep the hash
// usable as the tail of a global id.
var storeHashPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Validate reports every problem of the seed at once (errors.Join), each
// prefixed with the field's path, for example "seed: users[2].stores[0]: unknown
// store hash". Messages name indexes, never emails.
func (s *Seed) Validate() error {
	var errs []error
	add := func(path, format string, args ...any) {
		errs = append(errs, fmt.Errorf("seed: %s: %s", path, fmt.Sprintf(format, args...)))
	}
	if s == nil {
		return errors.New("seed: missing")
	}
	if strings.TrimSpace(s.Account.Name) == "" {
		add("account.name", "required")
	}
	if s.Account.UUID != "" && !validAccountUUID(s.Account.UUID) {
		add("account.uuid", "must be one URL path segment (letters, digits, \"-\" and \"_\")")
	}
	hashes := map[string]int{}
	for i, st := range s.Stores {
		p := fmt.Sprintf("stores[%d]", i)
		switch {
		case st.Hash == "":
			add(p+".hash", "required")
		case !storeHashPattern.MatchString(st.Hash):
			add(p+".hash", "may contain only letters, digits, \"_\" and \"-\"")
		default:
			if j, dup := hashes[st.Hash]; dup {
				add(p+".hash", "duplicates stores[%d].hash", j)
			} else {
				hashes[st.Hash] = i
			}
		}
		if strings.TrimSpace(st.Name) == "" {
			add(p+".name", "required")
		}
		checkPermissions(p+".defaultPermissions", st.DefaultPermissions, add)
	}
	emails := map[string]int{}
	owner := -1
	for i, u := range s.Users {
		p := fmt.Sprintf("users[%d]", i)
		if msg := emailProblem(u.Email); msg != "" {
			add(p+".email", "%s", msg)
		} else if j, dup := emails[strings.ToLower(u.Email)]; dup {
			add(p+".email", "duplicates users[%d].email (emails compare case-insensitively)", j)
		} else {
			emails[strings.ToLower(u.Email)] = i
		}
		if u.Owner {
			if owner >= 0 {
				add(p+".owner", "users[%d] is already the owner; an account has at most one", owner)
			} else {
				owner = i
			}
		}
		switch u.Status {
		case "", StatusActive, StatusInvited, StatusInactive:
		default:
			add(p+".status", "must be %s, %s or %s", StatusActive, StatusInvited, StatusInactive)
		}
		checkStoreList(p+".stores", u.Stores, hashes, add)
		checkPermissions(p+".permissions", u.Permissions, add)
	}
	for i, a := range s.Apps {
		p := fmt.Sprintf("apps[%d]", i)
		if strings.TrimSpace(a.Name) == "" {
			add(p+".name", "required")
		}
		checkStoreList(p+".stores", a.Stores, hashes, add)
	}
	return errors.Join(errs...)
}

func checkStoreList(path string, list []string, hashes map[string]int, add func(string, string, ...any)) {
	seen := map[string]bool{}
	for j, h := range list {
		switch _, ok := hashes[h]; {
		case !ok:
			add(fmt.Sprintf("%s[%d]", path, j), "unknown store hash %q", h)
		case seen[h]:
			add(fmt.Sprintf("%s[%d]", path, j), "store hash %q listed twice", h)
		}
		seen[h] = true
	}
}

func checkPermissions(path string, perms []string, add func(string, string, ...any)) {
	for j, p := range perms {
		if strings.TrimSpace(p) == "" {
			add(fmt.Sprintf("%s[%d]", path, j), "empty permission name")
		}
	}
}

// emailProblem returns why email is not acceptable, or "" when it is. The
// simulator's rule (BigCommerce documents none): exactly one "@" with text on
// both sides, and no whitespace or control characters.
func emailProblem(email string) string {
	if email == "" {
		return "required"
	}
	if strings.IndexFunc(email, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "must not contain whitespace or control characters"
	}
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return `not an email address (needs exactly one "@" with text on both sides)`
	}
	return ""
}

// validAccountUUID reports whether id can serve as the {uuid} path segment.
func validAccountUUID(id string) bool {
	return id != "" && accountUUIDPattern.MatchString(id)
}

var accountUUIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// clone returns a deep copy of the seed, so the server never shares slices
// with its caller.
func (s *Seed) clone() *Seed {
	out := &Seed{Account: s.Account}
	for _, st := range s.Stores {
		st.DefaultPermissions = slices.Clone(st.DefaultPermissions)
		out.Stores = append(out.Stores, st)
	}
	for _, u := range s.Users {
		u.Stores = slices.Clone(u.Stores)
		u.Permissions = slices.Clone(u.Permissions)
		if u.LastLoginAt != nil {
			t := u.LastLoginAt.UTC()
			u.LastLoginAt = &t
		}
		out.Users = append(out.Users, u)
	}
	for _, a := range s.Apps {
		a.Stores = slices.Clone(a.Stores)
		out.Apps = append(out.Apps, a)
	}
	return out
}
