package resource

import (
	"net/http"
	"strings"
	"testing"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge"
)

func TestCheckBody(t *testing.T) {
	ops := func(n int) string {
		return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` +
			strings.TrimSuffix(strings.Repeat(`{"op":"remove","path":"title"},`, n), ",") + `]}`
	}
	bigArray := `{"emails":[` + strings.TrimSuffix(strings.Repeat(`"x",`, bridge.MaxMembers+1), ",") + `]}`
	cases := []struct {
		name, method, body string
		resource           bool
		status             int
		scimType           scimerrors.ScimType
	}{
		{"plain object", http.MethodPost, `{"userName":"a"}`, true, 0, ""},
		{"trailing white space", http.MethodPost, "{\"userName\":\"a\"} \n\t\r", true, 0, ""},
		{"trailing object", http.MethodPost, `{"userName":"a"} {"x":1}`, true, 400, scimerrors.ScimTypeInvalidSyntax},
		{"trailing garbage", http.MethodPut, `{"userName":"a"}x`, true, 400, scimerrors.ScimTypeInvalidSyntax},
		{"two arrays", http.MethodPatch, `[] []`, true, 400, scimerrors.ScimTypeInvalidSyntax},
		{"not JSON", http.MethodPost, `{nope`, true, 400, scimerrors.ScimTypeInvalidSyntax},
		{"empty", http.MethodPost, ``, true, 400, scimerrors.ScimTypeInvalidSyntax},
		{"invalid UTF-8", http.MethodPost, "{\"userName\":\"\xff\"}", true, 400, scimerrors.ScimTypeInvalidSyntax},
		{"overlong encoding", http.MethodPost, "{\"userName\":\"\xc0\xaf\"}", true, 400, scimerrors.ScimTypeInvalidSyntax},
		{"surrogate", http.MethodPost, "{\"userName\":\"\xed\xa0\x80\"}", true, 400, scimerrors.ScimTypeInvalidSyntax},
		{"NUL in a value", http.MethodPost, `{"userName":"a\u0000"}`, true, 400, scimerrors.ScimTypeInvalidValue},
		{"NUL in a nested key", http.MethodPost, `{"name":{"given\u0000Name":"a"}}`, true, 400, scimerrors.ScimTypeInvalidValue},
		{"NUL in a search request", http.MethodPost, `{"filter":"userName eq \"\u0000\""}`, false, 0, ""},
		{"operations at the limit", http.MethodPatch, ops(MaxOperations), true, 0, ""},
		{"too many operations", http.MethodPatch, ops(MaxOperations + 1), true, 413, ""},
		{"operations key in any case", http.MethodPatch, strings.Replace(ops(MaxOperations+1), "Operations", "operations", 1), true, 413, ""},
		{"too long an array", http.MethodPost, bigArray, true, 400, scimerrors.ScimTypeInvalidValue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckBody(tc.method, []byte(tc.body), tc.resource)
			if tc.status == 0 {
				require.NoError(t, err)
				return
			}
			var se *scimerrors.ScimError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.status, se.Status)
			require.Equal(t, tc.scimType, se.ScimType)
			require.NotContains(t, se.Detail, "userName", "details never quote the body")
		})
	}
}
