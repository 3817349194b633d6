package reconcile

import (
	"github.com/scim-bridge/scim-bridge/bridge/known"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
	"github.com/scim-bridge/scim-bridge/bridge/downstream"
)

func TestBuildReport(t *testing.T) {
	login := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("CET", 3600))
	storeLogin := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	snap := known.Snapshot{
		At: at,
		Users: []downstream.User{
			{ID: "bc/account/user/1", Email: "Owner@Example.com", FirstName: "Olive", LastName: "Owner", Locale: "en-US",
				Status: "ACTIVE", LastLoginAt: &login, Permissions: []string{}},
			{ID: "bc/account/user/2", Email: "ann@example.com", Status: "INVITED"},
			{ID: "bc/account/user/3", Email: "nostore@example.com", Status: "ACTIVE"},
		},
		StoreUsers: []downstream.StoreUsers{
			{Store: downstream.Store{Hash: "zzz", Name: "Zed"}, Users: []downstream.User{
				{ID: "bc/account/user/1", Email: "owner@example.com", Status: "ACTIVE", Permissions: []string{"Manage_Users", "Manage_Orders"}, LastLoginAt: &storeLogin},
			}},
			{Store: downstream.Store{Hash: "abc", Name: "Alpha"}, Users: []downstream.User{
				{ID: "bc/account/user/1", Email: "owner@example.com", Status: "ACTIVE", Permissions: []string{"Manage_Users"}},
				{ID: "bc/account/user/2", Email: "ann@example.com", Status: "INVITED"},
				// Listed in a store but missing from the account listing (a race).
				{ID: "bc/account/user/4", Email: "late@example.com", FirstName: "Late", Status: "INVITED", Locale: "fr-FR"},
			}},
		},
	}
	desired := []bridge.Desired{
		{UserID: "u2", ExternalID: "okta-2", Email: "ann@example.com", Present: true, Stores: []string{"abc", "zzz"}},
		{UserID: "u0", Email: "ann@example.com", Present: false},
		{UserID: "u5", ExternalID: "okta-5", Email: "joiner@example.com", Present: true, Stores: []string{"abc"}},
		{UserID: "u6", Email: "leaver@example.com", Present: false},
		{UserID: "u7", Present: true}, // no email: not reportable
		{UserID: "u8", Email: "nostore@example.com", Present: false},
		{UserID: "u9", Email: "nostore@example.com", Present: false},
	}
	rep := BuildReport(desired, snap)

	require.Equal(t, at, rep.GeneratedAt)
	require.Equal(t, []ReportStore{{Hash: "abc", Name: "Alpha", Users: 3}, {Hash: "zzz", Name: "Zed", Users: 1}}, rep.Stores)
	// joiner@ is missing; leaver@ is deactivated and absent, as intended;
	// nostore@ is deactivated and still there.
	require.Equal(t, ReportSummary{BigCommerceUsers: 4, Managed: 2, Unmanaged: 2, MissingFromBigCommerce: 1,
		DeactivatedAbsent: 1, DeactivatedPresent: 1}, rep.Summary)

	var emails []string
	for _, u := range rep.Users {
		emails = append(emails, u.Email)
	}
	require.Equal(t, []string{"ann@example.com", "joiner@example.com", "late@example.com", "leaver@example.com",
		"nostore@example.com", "owner@example.com"}, emails)
	byEmail := map[string]ReportUser{}
	for _, u := range rep.Users {
		byEmail[u.Email] = u
	}

	utcLogin := login.UTC()
	require.Equal(t, ReportUser{
		Email: "owner@example.com", InBigCommerce: true, BigCommerceID: "bc/account/user/1", FirstName: "Olive", LastName: "Owner",
		Status: "ACTIVE", Locale: "en-US", LastLoginAt: &utcLogin,
		Stores: []StoreAccess{
			{Hash: "abc", Name: "Alpha", Status: "ACTIVE", Permissions: []string{"Manage_Users"}},
			{Hash: "zzz", Name: "Zed", Status: "ACTIVE", Permissions: []string{"Manage_Orders", "Manage_Users"}, LastLoginAt: &storeLogin},
		},
	}, byEmail["owner@example.com"], "unmanaged, with every store, permissions sorted, times in UTC")

	ann := byEmail["ann@example.com"]
	require.True(t, ann.Managed)
	require.Equal(t, "u2", ann.SCIMID, "the present SCIM user wins over a deactivated one")
	require.Equal(t, "okta-2", ann.ExternalID)
	require.Equal(t, IdPActive, ann.IdPState)
	require.Equal(t, []string{"abc", "zzz"}, ann.GrantedStores)
	require.Len(t, ann.Stores, 1)
	require.Equal(t, []string{}, ann.Stores[0].Permissions, "no permissions is an empty list, not null")

	late := byEmail["late@example.com"]
	require.True(t, late.InBigCommerce)
	require.Equal(t, "Late", late.FirstName)
	require.Equal(t, "fr-FR", late.Locale)
	require.False(t, late.Managed)

	require.Equal(t, ReportUser{Email: "joiner@example.com", Managed: true, SCIMID: "u5", ExternalID: "okta-5", IdPState: IdPActive,
		GrantedStores: []string{"abc"}, Stores: []StoreAccess{}}, byEmail["joiner@example.com"], "known to the IdP, missing from BigCommerce")
	require.Equal(t, IdPDeactivated, byEmail["leaver@example.com"].IdPState)
	require.False(t, byEmail["leaver@example.com"].InBigCommerce)

	nostore := byEmail["nostore@example.com"]
	require.Equal(t, "u8", nostore.SCIMID, "among deactivated users the smallest id is reported")
	require.Equal(t, IdPDeactivated, nostore.IdPState)
	require.Equal(t, []StoreAccess{}, nostore.Stores)
	require.Empty(t, nostore.GrantedStores, "a deactivated user is granted nothing")
}

func TestBuildReportOfAnEmptyAccount(t *testing.T) {
	rep := BuildReport(nil, known.Snapshot{})
	require.Empty(t, rep.Users)
	require.NotNil(t, rep.Users, "renders as [] in JSON")
	require.Equal(t, ReportSummary{}, rep.Summary)
}
