package resource

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestProjectUser(t *testing.T) {
	s := UserSchema()
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	const doc = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"u","password":"secret",
	  "name":{"givenName":"G","familyName":"F"},"emails":[{"value":"a@x.com","type":"work"},{"value":"b@x.com","type":"home"}],
	  "active":true,"custom":"c",
	  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m1","displayName":"Boss"}},
	  "urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User":{"syncState":"synced"},
	  "meta":{"resourceType":"User","version":"W/\"1\""}}`
	tests := []struct {
		name          string
		attrs, exclud []string
		want          string
	}{
		{"default drops password only", nil, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"u",
		  "name":{"givenName":"G","familyName":"F"},"emails":[{"value":"a@x.com","type":"work"},{"value":"b@x.com","type":"home"}],
		  "active":true,"custom":"c",
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m1","displayName":"Boss"}},
		  "urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User":{"syncState":"synced"},
		  "meta":{"resourceType":"User","version":"W/\"1\""}}`},
		{"entra attributes=id", []string{"id"}, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1"}`},
		{"list in one entry, any case", []string{"USERNAME, Emails"}, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"u",
		  "emails":[{"value":"a@x.com","type":"work"},{"value":"b@x.com","type":"home"}]}`},
		{"sub-attribute", []string{"name.givenName", "emails.value"}, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
		  "name":{"givenName":"G"},"emails":[{"value":"a@x.com"},{"value":"b@x.com"}]}`},
		{"whole extension", []string{ent}, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m1","displayName":"Boss"}}}`},
		{"qualified sub-attribute", []string{ent + ":manager.value"}, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}}`},
		{"unqualified extension attribute", []string{"department"}, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`},
		{"core URN prefix", []string{"urn:ietf:params:scim:schemas:core:2.0:User:userName"}, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"u"}`},
		{"password is never returned", []string{"password", "userName"}, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"u"}`},
		{"unknown names are ignored", []string{"bogus", "name.bogus"}, []string{"nothing"}, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1"}`},
		{"exclusions", nil, []string{"emails", "name.familyName", "id", "schemas", "meta", ent, "urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User:syncState", "custom"},
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"u","name":{"givenName":"G"},"active":true}`},
		{"excluding a sub-attribute of each element", nil, []string{"emails.type", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName"},
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"u","name":{"givenName":"G","familyName":"F"},
			 "emails":[{"value":"a@x.com"},{"value":"b@x.com"}],"active":true,"custom":"c",
			 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m1"}},
			 "urn:ietf:params:scim:schemas:extension:scim-bridge:2.0:User":{"syncState":"synced"},"meta":{"resourceType":"User","version":"W/\"1\""}}`},
		{"attributes and exclusions together", []string{"name"}, []string{"name.givenName"}, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1",
		  "name":{"familyName":"F"}}`},
		{"meta is returned when named", []string{"userName", "meta.version"}, nil, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"u",
		  "meta":{"version":"W/\"1\""}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := mustJSON(t, doc)
			pristine := deepCopyMap(in)
			got := s.Project(in, tc.attrs, tc.exclud)
			require.Equal(t, mustJSON(t, tc.want), roundTrip(t, got))
			require.Equal(t, pristine, in)
		})
	}
}

func TestProjectGroup(t *testing.T) {
	s := GroupSchema()
	doc := mustJSON(t, sampleGroup)
	got := s.Project(doc, nil, []string{"members"})
	require.NotContains(t, got, "members")
	require.Equal(t, "Test SCIMv2", got["displayName"])
	require.Contains(t, s.Project(doc, nil, nil), "members")
	got = s.Project(doc, []string{"id"}, []string{"members"})
	require.Equal(t, []string{"id", "schemas"}, sortedKeys(got), "meta is returned by default only")
}
