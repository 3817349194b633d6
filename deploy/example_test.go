package deploy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/scim-bridge/scim-bridge/config"
)

const exampleConfig = root + "/deploy/examples/scim-bridge.example.yaml"

// exampleKeys returns every setting of the example file with the comment
// written above it: mapping keys whose value is not a section.
func exampleKeys(t *testing.T) map[string]string {
	t.Helper()
	var doc yaml.Node
	require.NoError(t, yaml.Unmarshal(readFile(t, exampleConfig), &doc))
	sections := map[string]bool{}
	for _, k := range config.Keys() {
		if i := strings.LastIndex(k, "."); i > 0 {
			sections[k[:i]] = true
		}
	}
	out := map[string]string{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				path := prefix + k.Value
				if v.Kind == yaml.MappingNode && sections[path] {
					walk(v, path+".")
					continue
				}
				out[path] = k.HeadComment
			}
		}
	}
	walk(&doc, "")
	return out
}

// TestExampleConfigHasEveryKey keeps the example configuration from rotting:
// it sets every key of the schema (config.Keys), each with a comment that
// gives its default and its environment variable (or says there is none), and
// every value it shows is the default unless its comment says "Example".
func TestExampleConfigHasEveryKey(t *testing.T) {
	keys := exampleKeys(t)
	envs := map[string]string{}
	for _, e := range config.Environment() {
		envs[e.Field] = e.Name
	}
	for _, k := range config.Keys() {
		comment, ok := keys[k]
		require.True(t, ok, "%s lacks the key %s", exampleConfig, k)
		require.Contains(t, comment, "Default", "the comment above %s gives its default", k)
		if env := envs[k]; env != "" {
			require.Contains(t, comment, "Environment: "+env, "the comment above %s names its variable", k)
		} else {
			require.Contains(t, comment, "No environment variable", "the comment above %s says it has no variable", k)
		}
	}
	require.Len(t, keys, len(config.Keys()), "the example has keys the schema lacks")

	token := filepath.Join(t.TempDir(), "bigcommerce-token")
	require.NoError(t, os.WriteFile(token, []byte("bc-token-for-the-example\n"), 0o600))
	c, err := config.LoadEnviron(exampleConfig, []string{"SCIM_BRIDGE_BC_TOKEN_FILE=" + token})
	require.NoError(t, err)
	require.NoError(t, c.Resolve())
	require.NoError(t, c.Validate())
	require.Empty(t, c.Warnings(), "the example is unsuspicious")

	def := config.Default()
	for _, k := range config.Keys() {
		if strings.Contains(keys[k], "Example") {
			continue
		}
		want, got := def.ValueString(k), c.ValueString(k)
		if k == "bigcommerce.token" {
			continue // read from the token file above
		}
		require.Equal(t, want, got, "%s shows %q but the default is %q; say \"Example\" in its comment if that is meant", k, got, want)
	}
}
