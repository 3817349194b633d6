package resource

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
)

func TestUserSchema(t *testing.T) {
	s := UserSchema()
	require.Equal(t, "User", s.Name())
	require.Equal(t, UserURN, s.Core().ID)
	var urns []string
	for _, e := range s.Extensions() {
		urns = append(urns, e.ID)
	}
	require.Equal(t, []string{EnterpriseURN, SyncExtensionURN}, urns)
	for _, e := range s.SchemaExtensions() {
		require.False(t, e.Required)
	}
	require.Equal(t, store.UserFields, s.Fields())

	sync := s.ExtensionAttributes(SyncExtensionURN)
	var names []string
	for _, a := range sync {
		names = append(names, a.Name)
		require.Equal(t, MutabilityReadOnly, a.Mutability, a.Name)
		require.True(t, a.ReadOnly())
		require.NotEmpty(t, s.extension(SyncExtensionURN).def.Attributes[len(names)-1].Description())
	}
	require.Equal(t, []string{"syncState", "lastSyncedAt", "bigcommerceUserId", "bigcommerceEmail", "lastError"}, names)

	// Core and Extensions return copies.
	c := s.Core()
	c.Attributes = c.Attributes[:0]
	require.NotEmpty(t, s.Core().Attributes)
}

func TestLookup(t *testing.T) {
	us, gs := UserSchema(), GroupSchema()
	tests := []struct {
		schema                     *Schema
		path, canonical, typ, urn  string
		multi, caseExact, readOnly bool
		returned                   string
	}{
		{us, "USERNAME", "userName", TypeString, UserURN, false, false, false, ReturnedDefault},
		{us, "name.GIVENNAME", "name.givenName", TypeString, UserURN, false, false, false, ReturnedDefault},
		{us, "emails", "emails", TypeComplex, UserURN, true, false, false, ReturnedDefault},
		{us, "emails.value", "emails.value", TypeString, UserURN, false, false, false, ReturnedDefault},
		{us, "id", "id", TypeString, UserURN, false, true, true, ReturnedAlways},
		{us, "schemas", "schemas", TypeString, UserURN, true, false, false, ReturnedAlways},
		{us, "externalId", "externalId", TypeString, UserURN, false, true, false, ReturnedDefault},
		{us, "meta.lastModified", "meta.lastModified", TypeDateTime, UserURN, false, false, true, ReturnedDefault},
		{us, "password", "password", TypeString, UserURN, false, false, false, ReturnedNever},
		{us, "groups.value", "groups.value", TypeString, UserURN, false, true, true, ReturnedDefault},
		{us, "manager", EnterpriseURN + ":manager", TypeComplex, EnterpriseURN, false, false, false, ReturnedDefault},
		{us, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:Manager.Value", EnterpriseURN + ":manager.value", TypeString, EnterpriseURN, false, true, false, ReturnedDefault},
		{us, "manager.displayName", EnterpriseURN + ":manager.displayName", TypeString, EnterpriseURN, false, false, true, ReturnedDefault},
		{us, "urn:ietf:params:scim:schemas:core:2.0:User:active", "active", TypeBoolean, UserURN, false, false, false, ReturnedDefault},
		{us, SyncExtensionURN + ":lastSyncedAt", SyncExtensionURN + ":lastSyncedAt", TypeDateTime, SyncExtensionURN, false, false, true, ReturnedDefault},
		{gs, "members.value", "members.value", TypeString, GroupURN, false, true, false, ReturnedDefault},
		{gs, "displayName", "displayName", TypeString, GroupURN, false, false, false, ReturnedDefault},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			a, ok := tc.schema.Lookup(tc.path)
			require.True(t, ok)
			require.Equal(t, tc.canonical, a.Path)
			require.Equal(t, tc.typ, a.Type)
			require.Equal(t, tc.urn, a.SchemaURN)
			require.Equal(t, tc.multi, a.MultiValued)
			require.Equal(t, tc.caseExact, a.CaseExact)
			require.Equal(t, tc.readOnly, a.ReadOnly())
			require.Equal(t, tc.returned, a.Returned)
		})
	}
	for _, bad := range []string{"", "bogus", "name.bogus", "urn:x:y:userName", "userName.x", "members"} {
		_, ok := us.Lookup(bad)
		require.False(t, ok, bad)
	}
	a, _ := us.Lookup("userName")
	require.Equal(t, "server", a.Uniqueness)
	require.True(t, a.Required)
}

// TestSchemasServedByElimity checks that elimity publishes the sync extension
// built from this package's schema definitions.
func TestSchemasServedByElimity(t *testing.T) {
	srv := newElimity(t)
	code, body, _ := serve(srv, http.MethodGet, "/Schemas/"+SyncExtensionURN, nil)
	require.Equal(t, http.StatusOK, code)
	var doc struct {
		ID         string
		Attributes []struct {
			Name, Mutability, Description, Type string
		}
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	require.Equal(t, SyncExtensionURN, doc.ID)
	require.Len(t, doc.Attributes, 5)
	for _, a := range doc.Attributes {
		require.Equal(t, MutabilityReadOnly, a.Mutability)
		require.NotEmpty(t, a.Description)
	}
	code, body, _ = serve(srv, http.MethodGet, "/ResourceTypes/User", nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), SyncExtensionURN)
}

func TestHelpers(t *testing.T) {
	doc := mustJSON(t, `{"userName":"u","displayName":7,"active":"False","emails":[
	  {"value":"a@x.com","type":"work","primary":"True"},{"value":""},{"type":"home"},"junk",{"value":"b@x.com"}],
	  "members":[{"value":"u1"},{"value":"u1"},{"value":"u2"},{}]}`)
	require.Equal(t, []store.Email{{Value: "a@x.com", Type: "work", Primary: true}, {Value: "b@x.com"}}, Emails(doc))
	active, ok := Active(doc)
	require.True(t, ok)
	require.False(t, active)
	_, ok = Active(map[string]any{})
	require.False(t, ok)
	require.Equal(t, "u", String(doc, "USERNAME"))
	require.Equal(t, "", String(doc, "displayName"))
	require.Equal(t, []string{"u1", "u2"}, MemberIDs(doc))
	require.Nil(t, Emails(map[string]any{}))
	require.Equal(t, []store.Email{{Value: "s@x.com"}}, Emails(mustJSON(t, `{"emails":{"value":"s@x.com"}}`)))
}

func TestWritable(t *testing.T) {
	s := UserSchema()
	doc := mustJSON(t, `{"schemas":["x"],"id":"u1","meta":{"created":"x"},"userName":"u","password":"p","groups":[{"value":"g"}],"custom":1,
	  "roles":null,"title":"","ims":[],"name":{"givenName":"","familyName":"F"},"emails":[{"value":"a@x.com","display":""},{"type":""}],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","division":"","manager":{"value":"m","displayName":"Boss"}},
	  "urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User":{"syncState":"synced"}}`)
	pristine := deepCopyMap(doc)
	got := s.Writable(doc)
	require.Equal(t, mustJSON(t, `{"userName":"u","custom":1,"name":{"familyName":"F"},"emails":[{"value":"a@x.com"}],
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m"}}}`), roundTrip(t, got))
	require.Empty(t, s.Writable(mustJSON(t, `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{}}`)))
	require.Equal(t, pristine, doc)
}

func TestSchemaDescribesLimits(t *testing.T) {
	a, ok := UserSchema().Lookup("emails.value")
	require.True(t, ok)
	require.Equal(t, "server", a.Uniqueness)
	d, ok := GroupSchema().Lookup("members.display")
	require.True(t, ok)
	require.True(t, d.ReadOnly())
}
