package reconcile

import (
	"github.com/scim-bridge/scim-bridge/bridge/history"
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
)

// IdP states of a managed user in the compliance report.
const (
	// IdPActive means the IdP wants the user in BigCommerce.
	IdPActive = "active"
	// IdPDeactivated means the IdP knows the user but deactivated it.
	IdPDeactivated = "deactivated"
)

// Report is the compliance report: who can reach which store. It holds
// personal data (emails, names) and is meant for the operator's file or
// terminal, never for logs.
type Report struct {
	// GeneratedAt is when BigCommerce was read.
	GeneratedAt time.Time `json:"generatedAt"`
	// Stores are the account's stores, ordered by hash.
	Stores []ReportStore `json:"stores"`
	// Users are every BigCommerce user of the account, and every user the IdP
	// knows with an email that BigCommerce lacks, ordered by email.
	Users []ReportUser `json:"users"`
	// Summary counts the users.
	Summary ReportSummary `json:"summary"`
}

// ReportStore is one store of the account.
type ReportStore struct {
	Hash string `json:"hash"`
	Name string `json:"name"`
	// Users is the number of users who can reach it.
	Users int `json:"users"`
}

// ReportSummary counts the report's users.
type ReportSummary struct {
	// BigCommerceUsers are the users in BigCommerce; Managed those of them the
	// IdP knows; Unmanaged the others.
	BigCommerceUsers int `json:"bigcommerceUsers"`
	Managed          int `json:"managed"`
	Unmanaged        int `json:"unmanaged"`
	// MissingFromBigCommerce are the active IdP users (with an email) that
	// BigCommerce lacks.
	MissingFromBigCommerce int `json:"missingFromBigCommerce"`
	// DeactivatedAbsent are the deactivated IdP users BigCommerce lacks, as
	// intended; DeactivatedPresent those it still has (delivery or
	// reconciliation removes them).
	DeactivatedAbsent  int `json:"deactivatedAbsent"`
	DeactivatedPresent int `json:"deactivatedPresent"`
}

// ReportUser is one user of the report.
type ReportUser struct {
	// Email is the BigCommerce identity (lower-cased).
	Email string `json:"email"`
	// InBigCommerce is false for users only the IdP knows.
	InBigCommerce bool `json:"inBigCommerce"`
	// BigCommerceID is "bc/account/user/N" when in BigCommerce.
	BigCommerceID string `json:"bigcommerceId,omitempty"`
	// FirstName, LastName, Status, Locale and LastLoginAt are BigCommerce's
	// account-level values (from a store listing when the account listing
	// lacked the user).
	FirstName   string     `json:"firstName,omitempty"`
	LastName    string     `json:"lastName,omitempty"`
	Status      string     `json:"status,omitempty"`
	Locale      string     `json:"locale,omitempty"`
	LastLoginAt *time.Time `json:"lastLoginAt,omitempty"`
	// Managed says whether the IdP knows the user; SCIMID, ExternalID and
	// IdPState (IdPActive or IdPDeactivated) are set when it does.
	Managed    bool   `json:"managed"`
	SCIMID     string `json:"scimId,omitempty"`
	ExternalID string `json:"externalId,omitempty"`
	IdPState   string `json:"idpState,omitempty"`
	// GrantedStores are the hashes of the stores the user's IdP groups grant;
	// none for a deactivated user, whatever its groups say.
	GrantedStores []string `json:"grantedStores,omitempty"`
	// Stores are the stores the user can reach, ordered by hash.
	Stores []StoreAccess `json:"stores"`
}

// StoreAccess is one user's access to one store.
type StoreAccess struct {
	Hash        string     `json:"hash"`
	Name        string     `json:"name"`
	Status      string     `json:"status,omitempty"`
	Permissions []string   `json:"permissions"`
	LastLoginAt *time.Time `json:"lastLoginAt,omitempty"`
	// GrantedAt is when the access began, as far as the access history
	// knows (BigCommerce's confirmation, or the listing that first showed
	// it); GrantedBy is the id of the request or run behind it, and
	// GrantedCause its kind. Empty when the history does not know.
	GrantedAt    *time.Time `json:"grantedAt,omitempty"`
	GrantedBy    string     `json:"grantedBy,omitempty"`
	GrantedCause string     `json:"grantedCause,omitempty"`
}

// AddGrants fills in each store access's grant from the access history's
// grants (see history.Grants): email to store hash to grant.
func (r *Report) AddGrants(grants map[string]map[string]history.Grant) {
	for i := range r.Users {
		u := &r.Users[i]
		for j := range u.Stores {
			s := &u.Stores[j]
			if g, ok := grants[strings.ToLower(u.Email)][s.Hash]; ok {
				at := g.At
				s.GrantedAt, s.GrantedBy, s.GrantedCause = &at, g.RequestID, g.Cause
			}
		}
	}
}

// BuildReport builds the compliance report from a complete read of BigCommerce
// and the desired state of every SCIM user. It does no I/O.
//
// A BigCommerce user is managed when a SCIM user has its email; when several
// do (a present one and deactivated ones), the present one is reported, else
// the one with the smallest SCIM id. SCIM users without an email are left out:
// they cannot be in BigCommerce.
func BuildReport(desired []bridge.Desired, actual known.Snapshot) Report {
	rep := Report{GeneratedAt: actual.At.UTC()}
	users := reportUsers{}
	for _, u := range actual.Users {
		users.user(u)
	}
	for _, su := range actual.StoreUsers {
		rep.Stores = append(rep.Stores, ReportStore{Hash: su.Store.Hash, Name: su.Store.Name, Users: len(su.Users)})
		for _, u := range su.Users {
			users.user(u).addStore(su.Store, u)
		}
	}
	sort.Slice(rep.Stores, func(i, j int) bool { return rep.Stores[i].Hash < rep.Stores[j].Hash })
	rep.matchOwners(users, reportOwners(desired))
	rep.Users = make([]ReportUser, 0, len(users))
	for _, e := range sortedKeys(users) {
		rep.Users = append(rep.Users, *users[e])
	}
	return rep
}

// reportOwners picks, per lower-case email, the SCIM user the report
// shows: a present one before a deactivated one, then the lowest id.
func reportOwners(desired []bridge.Desired) map[string]bridge.Desired {
	owner := map[string]bridge.Desired{}
	for _, d := range desired {
		e := strings.ToLower(d.Email)
		if e == "" {
			continue
		}
		cur, ok := owner[e]
		if !ok || (d.Present && !cur.Present) || (d.Present == cur.Present && d.UserID < cur.UserID) {
			owner[e] = d
		}
	}
	return owner
}

// reportUsers are the report's users by lower-case email.
type reportUsers map[string]*ReportUser

// user returns the report user of a BigCommerce user, adding it on first
// sight. BigCommerce documents status, locale and lastLoginAt on a store's
// users only: each sighting fills in what the account's listing did not
// give, and keeps the latest login.
func (users reportUsers) user(u downstream.User) *ReportUser {
	e := strings.ToLower(u.Email)
	ru, ok := users[e]
	if !ok {
		ru = &ReportUser{
			Email: e, InBigCommerce: true, BigCommerceID: u.ID, FirstName: u.FirstName, LastName: u.LastName,
			Status: u.Status, Locale: u.Locale, LastLoginAt: utcPtr(u.LastLoginAt), Stores: []StoreAccess{},
		}
		users[e] = ru
	}
	if ru.Status == "" {
		ru.Status = u.Status
	}
	if ru.Locale == "" {
		ru.Locale = u.Locale
	}
	if t := utcPtr(u.LastLoginAt); t != nil && (ru.LastLoginAt == nil || t.After(*ru.LastLoginAt)) {
		ru.LastLoginAt = t
	}
	return ru
}

// addStore records the user's access to store as the store's listing of u
// shows it, with the permissions sorted.
func (ru *ReportUser) addStore(s downstream.Store, u downstream.User) {
	perms := slices.Clone(u.Permissions)
	if perms == nil {
		perms = []string{}
	}
	sort.Strings(perms)
	ru.Stores = append(ru.Stores, StoreAccess{
		Hash: s.Hash, Name: s.Name, Status: u.Status, Permissions: perms, LastLoginAt: utcPtr(u.LastLoginAt),
	})
}

// manage marks the user as managed by the SCIM user d, with the stores the
// IdP grants when d is active.
func (ru *ReportUser) manage(d bridge.Desired) {
	ru.Managed, ru.SCIMID, ru.ExternalID = true, d.UserID, d.ExternalID
	ru.IdPState = IdPDeactivated
	if d.Present {
		ru.IdPState = IdPActive
		ru.GrantedStores = slices.Clone(d.Stores)
	}
}

// matchOwners matches the account's users with their SCIM owners, adds the
// SCIM users missing from the account, and counts both in the summary.
func (rep *Report) matchOwners(users reportUsers, owner map[string]bridge.Desired) {
	for e, ru := range users {
		rep.Summary.BigCommerceUsers++
		if d, ok := owner[e]; ok {
			ru.manage(d)
			rep.Summary.Managed++
			if !d.Present {
				rep.Summary.DeactivatedPresent++
			}
		} else {
			rep.Summary.Unmanaged++
		}
		sort.Slice(ru.Stores, func(i, j int) bool { return ru.Stores[i].Hash < ru.Stores[j].Hash })
	}
	for e, d := range owner {
		if _, ok := users[e]; ok {
			continue
		}
		ru := &ReportUser{Email: e, Stores: []StoreAccess{}}
		ru.manage(d)
		users[e] = ru
		if d.Present {
			rep.Summary.MissingFromBigCommerce++
		} else {
			rep.Summary.DeactivatedAbsent++
		}
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
