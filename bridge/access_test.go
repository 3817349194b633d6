package bridge

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func stores(hashes ...string) map[string]bool {
	m := map[string]bool{}
	for _, h := range hashes {
		m[h] = true
	}
	return m
}

type wantIntent struct {
	kind  store.IntentKind
	email string
	store string
}

func TestDiff(t *testing.T) {
	present := func(email string, hashes ...string) Access {
		return Access{Present: true, Email: email, Stores: stores(hashes...)}
	}
	absent := func(email string) Access { return Access{Email: email} }
	cases := []struct {
		name          string
		before, after Access
		want          []wantIntent
	}{
		{"inactive stays inactive", absent("a@x.io"), absent("a@x.io"), nil},
		{"create active without groups", Access{}, present("a@x.io"), []wantIntent{{store.AccountAdd, "a@x.io", ""}}},
		{"create inactive", Access{}, absent("a@x.io"), nil},
		{"activate with two stores", absent("a@x.io"), present("a@x.io", "s2", "s1"), []wantIntent{
			{store.AccountAdd, "a@x.io", ""}, {store.StoreAdd, "a@x.io", "s1"}, {store.StoreAdd, "a@x.io", "s2"}}},
		{"deactivate removes account only", present("a@x.io", "s1"), absent("a@x.io"), []wantIntent{{store.AccountRemove, "a@x.io", ""}}},
		{"delete", present("a@x.io", "s1"), Access{}, []wantIntent{{store.AccountRemove, "a@x.io", ""}}},
		{"email change restores stores", present("a@x.io", "s1"), present("b@x.io", "s1"), []wantIntent{
			{store.AccountRemove, "a@x.io", ""}, {store.AccountAdd, "b@x.io", ""}, {store.StoreAdd, "b@x.io", "s1"}}},
		{"store moves", present("a@x.io", "s1", "s2"), present("a@x.io", "s2", "s3"), []wantIntent{
			{store.StoreRemove, "a@x.io", "s1"}, {store.StoreAdd, "a@x.io", "s3"}}},
		{"no change", present("a@x.io", "s1"), present("a@x.io", "s1"), nil},
		{"store change while inactive sends nothing", absent("a@x.io"), absent("a@x.io"), nil},
		{"lost email while active", present("a@x.io", "s1"), Access{}, []wantIntent{{store.AccountRemove, "a@x.io", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff("u1", tc.before, tc.after)
			require.Len(t, got, len(tc.want))
			for i, w := range tc.want {
				require.Equal(t, w.kind, got[i].Kind, "intent %d", i)
				require.Equal(t, w.email, got[i].Email, "intent %d", i)
				require.Equal(t, w.store, got[i].StoreHash, "intent %d", i)
				require.Equal(t, "u1", got[i].UserID)
			}
		})
	}
}

func TestBigCommerceEmail(t *testing.T) {
	emails := []store.Email{
		{Value: "home@example.org", Type: "home"},
		{Value: "Work@Example.com", Type: "work"},
		{Value: "Primary@Example.com", Type: "other", Primary: true},
	}
	cases := []struct {
		name     string
		src      EmailSource
		userName string
		emails   []store.Email
		want     string
	}{
		{"auto prefers an email userName", EmailAuto, "Jane.Doe@Example.com", emails, "jane.doe@example.com"},
		{"auto falls back to primary", EmailAuto, "jdoe", emails, "primary@example.com"},
		{"auto falls back to work", EmailAuto, "jdoe", emails[:2], "work@example.com"},
		{"auto falls back to first", EmailAuto, "jdoe", emails[:1], "home@example.org"},
		{"auto without any", EmailAuto, "jdoe", nil, ""},
		{"userName only", EmailUserName, "jdoe", emails, ""},
		{"userName only with email", EmailUserName, "j@x.io", emails, "j@x.io"},
		{"primary ignores userName", EmailPrimary, "j@x.io", emails, "primary@example.com"},
		{"entra guid userName", EmailAuto, "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee", emails[1:2], "work@example.com"},
		{"invalid primary skipped", EmailAuto, "jdoe", []store.Email{{Value: "not an email", Primary: true}, {Value: "ok@x.io"}}, "ok@x.io"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, BigCommerceEmail(tc.src, tc.userName, tc.emails))
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, ok := range map[string]bool{
		"a@b.co": true, " A@B.CO ": true, "a@": false, "@b": false, "a b@c.d": false,
		"Jane <j@x.io>": false, "plain": false, "": false, "a@b@c": false,
	} {
		_, got := NormalizeEmail(in)
		require.Equal(t, ok, got, "%q", in)
	}
}
