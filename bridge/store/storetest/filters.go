package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func cond(f store.Field, op store.Op, v any) store.Cond {
	return store.Cond{Field: f, Op: op, Value: v}
}

func emailCond(typ string, op store.Op, v any) store.Cond {
	return store.Cond{Field: store.FieldEmail, Op: op, Value: v, EmailType: typ}
}

func hours(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

// filterUsers is the fixture of the user filter tests. Lower-cased userNames in
// byte order: alice@example.com < bob_100%@example.com < carol < dave%x <
// åsa@example.org < ærlig.
func filterUsers() []store.User {
	mk := func(id, userName, externalID, displayName string, active bool, created, modified int, emails ...store.Email) store.User {
		return store.User{
			ID: id, UserName: userName, ExternalID: externalID, DisplayName: displayName, Active: active,
			Emails: emails, Version: 1, Created: hours(created), Modified: hours(modified),
		}
	}
	return []store.User{
		mk("user-1", "alice@example.com", "ext-A", "Alice Smith", true, 0, 10,
			store.Email{Value: "Alice@Example.com", Type: "work", Primary: true},
			store.Email{Value: "alice@home.example", Type: "home"}),
		mk("user-2", "Bob_100%@example.com", "ext-b", `Bob "The Builder" O'Neil`, false, 1, 9,
			store.Email{Value: "bob@example.com", Type: "work", Primary: true}),
		mk("user-3", "ÅSA@example.org", "", "", true, 2, 8),
		mk("user-4", "carol", "ext-%_", "ÅSA Carol", true, 3, 7,
			store.Email{Value: "CAROL@EXAMPLE.ORG", Type: "Home"}),
		mk("user-5", "dave%x", "EXT-A", "d_ve", false, 4, 6,
			store.Email{Value: "d%v@example.net"}),
		mk("user-6", "Ærlig", `x'y"z`, "Ærlig Ø", true, 5, 5,
			store.Email{Value: "ÆRLIG@EXAMPLE.NO", Type: "work"}),
	}
}

type filterCase struct {
	name   string
	filter store.Expr
	want   []string // ids in insertion order
}

func u(ns ...int) []string {
	ids := []string{}
	for _, n := range ns {
		ids = append(ids, "user-"+string(rune('0'+n)))
	}
	return ids
}

func g(ns ...int) []string {
	ids := []string{}
	for _, n := range ns {
		ids = append(ids, "group-"+string(rune('0'+n)))
	}
	return ids
}

func userFilterCases() []filterCase {
	half := 500 * time.Nanosecond
	zone := time.FixedZone("UTC+02", 2*3600)
	all := u(1, 2, 3, 4, 5, 6)
	return []filterCase{
		{"nil", nil, all},

		// id: case-exact.
		{"id eq", cond(store.FieldID, store.OpEq, "user-2"), u(2)},
		{"id eq other case", cond(store.FieldID, store.OpEq, "USER-2"), u()},
		{"id ne", cond(store.FieldID, store.OpNe, "user-2"), u(1, 3, 4, 5, 6)},
		{"id co", cond(store.FieldID, store.OpCo, "-3"), u(3)},
		{"id sw", cond(store.FieldID, store.OpSw, "user-"), all},
		{"id ew", cond(store.FieldID, store.OpEw, "6"), u(6)},
		{"id gt", cond(store.FieldID, store.OpGt, "user-4"), u(5, 6)},
		{"id ge", cond(store.FieldID, store.OpGe, "user-4"), u(4, 5, 6)},
		{"id lt", cond(store.FieldID, store.OpLt, "user-2"), u(1)},
		{"id le", cond(store.FieldID, store.OpLe, "user-2"), u(1, 2)},
		{"id pr", cond(store.FieldID, store.OpPr, nil), all},

		// userName: case-insensitive, with Unicode case folding.
		{"userName eq upper case", cond(store.FieldUserName, store.OpEq, "ALICE@EXAMPLE.COM"), u(1)},
		{"userName eq non-ASCII lower", cond(store.FieldUserName, store.OpEq, "åsa@EXAMPLE.ORG"), u(3)},
		{"userName eq non-ASCII upper", cond(store.FieldUserName, store.OpEq, "ÅSA@example.org"), u(3)},
		{"userName eq Æ", cond(store.FieldUserName, store.OpEq, "ærlig"), u(6)},
		{"userName eq with wildcard characters", cond(store.FieldUserName, store.OpEq, "bob_100%@example.com"), u(2)},
		{"userName eq no match", cond(store.FieldUserName, store.OpEq, "bob"), u()},
		{"userName ne", cond(store.FieldUserName, store.OpNe, "CAROL"), u(1, 2, 3, 5, 6)},
		{"userName co", cond(store.FieldUserName, store.OpCo, "EXAMPLE"), u(1, 2, 3)},
		{"userName co percent underscore", cond(store.FieldUserName, store.OpCo, "_100%"), u(2)},
		{"userName co percent", cond(store.FieldUserName, store.OpCo, "%"), u(2, 5)},
		{"userName co underscore", cond(store.FieldUserName, store.OpCo, "_"), u(2)},
		{"userName co non-ASCII", cond(store.FieldUserName, store.OpCo, "Åsa@"), u(3)},
		{"userName co empty", cond(store.FieldUserName, store.OpCo, ""), all},
		{"userName sw", cond(store.FieldUserName, store.OpSw, "BOB_"), u(2)},
		{"userName sw percent is literal", cond(store.FieldUserName, store.OpSw, "b%"), u()},
		{"userName sw non-ASCII", cond(store.FieldUserName, store.OpSw, "Å"), u(3)},
		{"userName sw longer than value", cond(store.FieldUserName, store.OpSw, "carol-and-more"), u()},
		{"userName sw empty", cond(store.FieldUserName, store.OpSw, ""), all},
		{"userName ew", cond(store.FieldUserName, store.OpEw, "@EXAMPLE.COM"), u(1, 2)},
		{"userName ew percent", cond(store.FieldUserName, store.OpEw, "%x"), u(5)},
		{"userName ew non-ASCII", cond(store.FieldUserName, store.OpEw, "RLIG"), u(6)},
		{"userName ew whole value", cond(store.FieldUserName, store.OpEw, "Carol"), u(4)},
		{"userName ew longer than value", cond(store.FieldUserName, store.OpEw, "xcarol"), u()},
		{"userName ew empty", cond(store.FieldUserName, store.OpEw, ""), all},
		{"userName gt", cond(store.FieldUserName, store.OpGt, "c"), u(3, 4, 5, 6)},
		{"userName gt non-ASCII", cond(store.FieldUserName, store.OpGt, "ÅSA@example.org"), u(6)},
		{"userName ge", cond(store.FieldUserName, store.OpGe, "CAROL"), u(3, 4, 5, 6)},
		{"userName lt", cond(store.FieldUserName, store.OpLt, "b"), u(1)},
		{"userName le", cond(store.FieldUserName, store.OpLe, "carol"), u(1, 2, 4)},
		{"userName pr", cond(store.FieldUserName, store.OpPr, nil), all},

		// externalId: case-exact; absent is "".
		{"externalId eq", cond(store.FieldExternalID, store.OpEq, "ext-A"), u(1)},
		{"externalId eq other case", cond(store.FieldExternalID, store.OpEq, "EXT-A"), u(5)},
		{"externalId eq quotes", cond(store.FieldExternalID, store.OpEq, `x'y"z`), u(6)},
		{"externalId eq empty matches absent", cond(store.FieldExternalID, store.OpEq, ""), u(3)},
		{"externalId ne", cond(store.FieldExternalID, store.OpNe, "ext-A"), u(2, 3, 4, 5, 6)},
		{"externalId co percent underscore", cond(store.FieldExternalID, store.OpCo, "%_"), u(4)},
		{"externalId co quote", cond(store.FieldExternalID, store.OpCo, `'y"`), u(6)},
		{"externalId sw", cond(store.FieldExternalID, store.OpSw, "ext-"), u(1, 2, 4)},
		{"externalId ew", cond(store.FieldExternalID, store.OpEw, "A"), u(1, 5)},
		{"externalId gt", cond(store.FieldExternalID, store.OpGt, "ext-a"), u(2, 6)},
		{"externalId lt", cond(store.FieldExternalID, store.OpLt, "ext-"), u(3, 5)},
		{"externalId pr", cond(store.FieldExternalID, store.OpPr, nil), u(1, 2, 4, 5, 6)},

		// displayName: case-insensitive; absent is "".
		{"displayName eq", cond(store.FieldDisplayName, store.OpEq, "alice SMITH"), u(1)},
		{"displayName eq empty matches absent", cond(store.FieldDisplayName, store.OpEq, ""), u(3)},
		{"displayName co double quotes", cond(store.FieldDisplayName, store.OpCo, `"the builder"`), u(2)},
		{"displayName co single quote", cond(store.FieldDisplayName, store.OpCo, "O'NEIL"), u(2)},
		{"displayName co underscore", cond(store.FieldDisplayName, store.OpCo, "_"), u(5)},
		{"displayName sw non-ASCII", cond(store.FieldDisplayName, store.OpSw, "åsa"), u(4)},
		{"displayName ew non-ASCII", cond(store.FieldDisplayName, store.OpEw, " ø"), u(6)},
		{"displayName ne", cond(store.FieldDisplayName, store.OpNe, "d_VE"), u(1, 2, 3, 4, 6)},
		{"displayName gt", cond(store.FieldDisplayName, store.OpGt, "B"), u(2, 4, 5, 6)},
		{"displayName ge", cond(store.FieldDisplayName, store.OpGe, "d_ve"), u(4, 5, 6)},
		{"displayName le", cond(store.FieldDisplayName, store.OpLe, "bob"), u(1, 3)},
		{"displayName lt", cond(store.FieldDisplayName, store.OpLt, "alice smith"), u(3)},
		{"displayName pr", cond(store.FieldDisplayName, store.OpPr, nil), u(1, 2, 4, 5, 6)},

		// active.
		{"active eq true", cond(store.FieldActive, store.OpEq, true), u(1, 3, 4, 6)},
		{"active eq false", cond(store.FieldActive, store.OpEq, false), u(2, 5)},
		{"active ne true", cond(store.FieldActive, store.OpNe, true), u(2, 5)},
		{"active ne false", cond(store.FieldActive, store.OpNe, false), u(1, 3, 4, 6)},
		{"active pr", cond(store.FieldActive, store.OpPr, nil), all},

		// emails.value: case-insensitive, any email matches; users without
		// emails match no emails condition.
		{"email eq", emailCond("", store.OpEq, "alice@example.com"), u(1)},
		{"email eq second email", emailCond("", store.OpEq, "ALICE@HOME.EXAMPLE"), u(1)},
		{"email eq percent", emailCond("", store.OpEq, "d%v@example.net"), u(5)},
		{"email eq non-ASCII", emailCond("", store.OpEq, "æRLIG@example.no"), u(6)},
		{"email ne", emailCond("", store.OpNe, "bob@example.com"), u(1, 4, 5, 6)},
		{"email co", emailCond("", store.OpCo, "EXAMPLE"), u(1, 2, 4, 5, 6)},
		{"email co percent", emailCond("", store.OpCo, "%"), u(5)},
		{"email co empty", emailCond("", store.OpCo, ""), u(1, 2, 4, 5, 6)},
		{"email sw", emailCond("", store.OpSw, "Bob@"), u(2)},
		{"email ew", emailCond("", store.OpEw, ".NET"), u(5)},
		{"email gt", emailCond("", store.OpGt, "c"), u(4, 5, 6)},
		{"email lt", emailCond("", store.OpLt, "b"), u(1)},
		{"email pr", emailCond("", store.OpPr, nil), u(1, 2, 4, 5, 6)},
		{"not email eq", store.Not{X: emailCond("", store.OpEq, "bob@example.com")}, u(1, 3, 4, 5, 6)},
		{"not email pr", store.Not{X: emailCond("", store.OpPr, nil)}, u(3)},

		// emails[type eq "..."].value: the type compares case-insensitively.
		{"work email eq", emailCond("work", store.OpEq, "alice@example.com"), u(1)},
		{"WORK email eq", emailCond("WORK", store.OpEq, "Alice@example.com"), u(1)},
		{"home email eq work address", emailCond("home", store.OpEq, "alice@example.com"), u()},
		{"home email eq", emailCond("home", store.OpEq, "alice@home.example"), u(1)},
		{"home email co", emailCond("HOME", store.OpCo, "example"), u(1, 4)},
		{"work email pr", emailCond("work", store.OpPr, nil), u(1, 2, 6)},
		{"work email ne", emailCond("work", store.OpNe, "bob@example.com"), u(1, 6)},
		{"other email pr", emailCond("other", store.OpPr, nil), u()},

		// Times: exact to the microsecond, in any zone.
		{"created eq", cond(store.FieldCreated, store.OpEq, hours(1)), u(2)},
		{"created eq other zone", cond(store.FieldCreated, store.OpEq, hours(1).In(zone)), u(2)},
		{"created eq sub-microsecond", cond(store.FieldCreated, store.OpEq, hours(1).Add(half)), u()},
		{"created ne", cond(store.FieldCreated, store.OpNe, hours(1)), u(1, 3, 4, 5, 6)},
		{"created ne sub-microsecond", cond(store.FieldCreated, store.OpNe, hours(1).Add(half)), all},
		{"created gt", cond(store.FieldCreated, store.OpGt, hours(1)), u(3, 4, 5, 6)},
		{"created gt just below", cond(store.FieldCreated, store.OpGt, hours(1).Add(-half)), u(2, 3, 4, 5, 6)},
		{"created ge", cond(store.FieldCreated, store.OpGe, hours(1)), u(2, 3, 4, 5, 6)},
		{"created ge sub-microsecond", cond(store.FieldCreated, store.OpGe, hours(1).Add(half)), u(3, 4, 5, 6)},
		{"created lt", cond(store.FieldCreated, store.OpLt, hours(1)), u(1)},
		{"created lt sub-microsecond", cond(store.FieldCreated, store.OpLt, hours(1).Add(half)), u(1, 2)},
		{"created le", cond(store.FieldCreated, store.OpLe, hours(1)), u(1, 2)},
		{"created le just below", cond(store.FieldCreated, store.OpLe, hours(1).Add(-half)), u(1)},
		{"created pr", cond(store.FieldCreated, store.OpPr, nil), all},
		{"lastModified lt", cond(store.FieldModified, store.OpLt, hours(7)), u(5, 6)},
		{"lastModified ge", cond(store.FieldModified, store.OpGe, hours(9)), u(1, 2)},
		{"lastModified eq", cond(store.FieldModified, store.OpEq, hours(5).In(zone)), u(6)},
		{"lastModified pr", cond(store.FieldModified, store.OpPr, nil), all},

		// Logic.
		{"and", store.And{cond(store.FieldUserName, store.OpSw, "a"), cond(store.FieldActive, store.OpEq, true)}, u(1)},
		{"or", store.Or{cond(store.FieldID, store.OpEq, "user-1"), cond(store.FieldID, store.OpEq, "user-4")}, u(1, 4)},
		{"not or", store.Not{X: store.Or{cond(store.FieldID, store.OpEq, "user-1"), cond(store.FieldID, store.OpEq, "user-4")}}, u(2, 3, 5, 6)},
		{"not not", store.Not{X: store.Not{X: cond(store.FieldID, store.OpEq, "user-3")}}, u(3)},
		{"empty and", store.And{}, all},
		{"empty or", store.Or{}, u()},
		{"not empty and", store.Not{X: store.And{}}, u()},
		{"not empty or", store.Not{X: store.Or{}}, all},
		{"not on absent value", store.Not{X: cond(store.FieldExternalID, store.OpPr, nil)}, u(3)},
		{"nested", store.And{
			store.Or{cond(store.FieldActive, store.OpEq, false), emailCond("home", store.OpPr, nil)},
			store.Not{X: cond(store.FieldExternalID, store.OpSw, "ext-")},
		}, u(5)},
		{"or of emails with types", store.Or{
			emailCond("home", store.OpEq, "carol@example.org"),
			emailCond("work", store.OpEw, ".no"),
		}, u(4, 6)},
	}
}

func testUserFilters(t *testing.T, s store.Store) {
	createUsers(t, s, filterUsers()...)
	for _, tc := range userFilterCases() {
		t.Run(tc.name, func(t *testing.T) {
			users, total := listUsers(t, s, store.Query{Filter: tc.filter, Limit: -1})
			require.Equal(t, tc.want, userIDs(users))
			require.Equal(t, len(tc.want), total)
			// The count path (Limit 0) agrees with the row path.
			_, total = listUsers(t, s, store.Query{Filter: tc.filter, Limit: 0})
			require.Equal(t, len(tc.want), total)
		})
	}
}

func testGroupFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s, filterUsers()...)
	mk := func(id, displayName, externalID string, created, modified int) store.Group {
		return store.Group{ID: id, DisplayName: displayName, ExternalID: externalID, Version: 1,
			Created: hours(created), Modified: hours(modified)}
	}
	createGroups(t, s,
		mk("group-1", "Admins", "gx-1", 0, 4),
		mk("group-2", "Plant Market", "gx-2", 1, 5),
		mk("group-3", "ÅSA Team", "", 2, 6),
		mk("group-4", "100%_Club", "gx-%", 3, 7),
	)
	update(t, s, func(tx store.Tx) error {
		if err := tx.AddMembers(ctx, "group-1", []string{"user-1", "user-2"}); err != nil {
			return err
		}
		if err := tx.AddMembers(ctx, "group-2", []string{"user-2"}); err != nil {
			return err
		}
		return tx.AddMembers(ctx, "group-4", []string{"user-4"})
	})
	all := g(1, 2, 3, 4)
	member := func(op store.Op, v any) store.Cond { return cond(store.FieldMember, op, v) }
	cases := []filterCase{
		{"nil", nil, all},
		{"id eq", cond(store.FieldID, store.OpEq, "group-3"), g(3)},
		{"id ew", cond(store.FieldID, store.OpEw, "4"), g(4)},
		{"id lt", cond(store.FieldID, store.OpLt, "group-2"), g(1)},
		{"displayName eq", cond(store.FieldDisplayName, store.OpEq, "ADMINS"), g(1)},
		{"displayName eq non-ASCII", cond(store.FieldDisplayName, store.OpEq, "åsa team"), g(3)},
		{"displayName ne", cond(store.FieldDisplayName, store.OpNe, "admins"), g(2, 3, 4)},
		{"displayName co percent underscore", cond(store.FieldDisplayName, store.OpCo, "%_"), g(4)},
		{"displayName co underscore", cond(store.FieldDisplayName, store.OpCo, "_"), g(4)},
		{"displayName sw", cond(store.FieldDisplayName, store.OpSw, "PLANT"), g(2)},
		{"displayName ew", cond(store.FieldDisplayName, store.OpEw, "club"), g(4)},
		{"displayName gt", cond(store.FieldDisplayName, store.OpGt, "b"), g(2, 3)},
		{"displayName le", cond(store.FieldDisplayName, store.OpLe, "admins"), g(1, 4)},
		{"displayName pr", cond(store.FieldDisplayName, store.OpPr, nil), all},
		{"externalId eq", cond(store.FieldExternalID, store.OpEq, "gx-1"), g(1)},
		{"externalId eq other case", cond(store.FieldExternalID, store.OpEq, "GX-1"), g()},
		{"externalId co percent", cond(store.FieldExternalID, store.OpCo, "%"), g(4)},
		{"externalId sw", cond(store.FieldExternalID, store.OpSw, "gx-"), g(1, 2, 4)},
		{"externalId pr", cond(store.FieldExternalID, store.OpPr, nil), g(1, 2, 4)},
		{"members eq", member(store.OpEq, "user-2"), g(1, 2)},
		{"members eq other case", member(store.OpEq, "USER-2"), g()},
		{"members eq unknown", member(store.OpEq, "user-9"), g()},
		{"members ne", member(store.OpNe, "user-2"), g(1, 4)},
		{"members co", member(store.OpCo, "-4"), g(4)},
		{"members sw", member(store.OpSw, "user-"), g(1, 2, 4)},
		{"members gt", member(store.OpGt, "user-2"), g(4)},
		{"members pr", member(store.OpPr, nil), g(1, 2, 4)},
		{"not members eq", store.Not{X: member(store.OpEq, "user-2")}, g(3, 4)},
		{"not members pr", store.Not{X: member(store.OpPr, nil)}, g(3)},
		{"created gt", cond(store.FieldCreated, store.OpGt, hours(1)), g(3, 4)},
		{"created le", cond(store.FieldCreated, store.OpLe, hours(1)), g(1, 2)},
		{"lastModified eq", cond(store.FieldModified, store.OpEq, hours(4)), g(1)},
		{"lastModified ne", cond(store.FieldModified, store.OpNe, hours(4)), g(2, 3, 4)},
		{"and", store.And{member(store.OpEq, "user-2"), cond(store.FieldDisplayName, store.OpSw, "p")}, g(2)},
		{"or", store.Or{member(store.OpEq, "user-4"), cond(store.FieldExternalID, store.OpEq, "")}, g(3, 4)},
		{"empty or", store.Or{}, g()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			groups, total := listGroups(t, s, store.Query{Filter: tc.filter, Limit: -1})
			require.Equal(t, tc.want, groupIDs(groups))
			require.Equal(t, len(tc.want), total)
			_, total = listGroups(t, s, store.Query{Filter: tc.filter, Limit: 0})
			require.Equal(t, len(tc.want), total)
		})
	}
}

func testInvalidFilters(t *testing.T, s store.Store) {
	ctx := t.Context()
	createUsers(t, s, newUser("user-1", "one@example.com"))
	userCases := []struct {
		name   string
		filter store.Expr
	}{
		{"group field", cond(store.FieldMember, store.OpEq, "user-1")},
		{"unknown field", cond("nickName", store.OpEq, "x")},
		{"wrong value type", cond(store.FieldUserName, store.OpEq, 5)},
		{"bool with co", cond(store.FieldActive, store.OpCo, true)},
		{"time with sw", cond(store.FieldCreated, store.OpSw, t0)},
		{"string for a time", cond(store.FieldCreated, store.OpEq, "2024-03-01T12:00:00Z")},
		{"email type on userName", store.Cond{Field: store.FieldUserName, Op: store.OpEq, Value: "x", EmailType: "work"}},
		{"unknown operator", cond(store.FieldUserName, "xx", "x")},
		{"pr with a value", cond(store.FieldUserName, store.OpPr, "x")},
		{"nested invalid", store.And{cond(store.FieldID, store.OpEq, "user-1"), store.Not{X: cond("x", store.OpEq, "y")}}},
	}
	for _, tc := range userCases {
		t.Run("users "+tc.name, func(t *testing.T) {
			err := s.View(ctx, func(tx store.Tx) error {
				_, _, err := tx.ListUsers(ctx, store.Query{Filter: tc.filter, Limit: -1})
				return err
			})
			require.Error(t, err)
			require.NotErrorIs(t, err, store.ErrNotFound)
		})
	}
	groupCases := []struct {
		name   string
		filter store.Expr
	}{
		{"userName", cond(store.FieldUserName, store.OpEq, "x")},
		{"emails", emailCond("", store.OpEq, "x")},
		{"active", cond(store.FieldActive, store.OpEq, true)},
	}
	for _, tc := range groupCases {
		t.Run("groups "+tc.name, func(t *testing.T) {
			err := s.View(ctx, func(tx store.Tx) error {
				_, _, err := tx.ListGroups(ctx, store.Query{Filter: tc.filter, Limit: -1})
				return err
			})
			require.Error(t, err)
		})
	}
	// An invalid filter does not break the transaction it ran in.
	update(t, s, func(tx store.Tx) error {
		_, _, err := tx.ListUsers(ctx, store.Query{Filter: cond("x", store.OpEq, "y")})
		require.Error(t, err)
		return tx.CreateUser(ctx, newUser("user-2", "two@example.com"))
	})
}
