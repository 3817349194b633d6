package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRetention(t *testing.T) {
	c, err := Load("testdata/conf.good.yaml", nil)
	require.NoError(t, err)
	require.Equal(t, 30*24*time.Hour, c.Retention.Intents)
	require.Equal(t, 400*24*time.Hour, c.Retention.Audit)
	defaults := map[string]string{}
	for _, e := range Environment() {
		defaults[e.Name] = e.Default
	}
	require.Equal(t, "720h", defaults["SCIM_BRIDGE_INTENT_RETENTION"])
	require.Equal(t, "9600h", defaults["SCIM_BRIDGE_AUDIT_RETENTION"])

	c, err = Load("testdata/conf.good.yaml", env(map[string]string{
		"SCIM_BRIDGE_INTENT_RETENTION": "2160h", "SCIM_BRIDGE_AUDIT_RETENTION": "8760h",
	}))
	require.NoError(t, err)
	require.NoError(t, c.Validate())
	require.Equal(t, 90*24*time.Hour, c.Retention.Intents)
	require.Equal(t, 365*24*time.Hour, c.Retention.Audit)

	// Too short: the error names the variable it came from.
	c, err = Load("testdata/conf.good.yaml", env(map[string]string{
		"SCIM_BRIDGE_INTENT_RETENTION": "10m", "SCIM_BRIDGE_AUDIT_RETENTION": "59m",
	}))
	require.NoError(t, err)
	err = c.Validate()
	require.ErrorContains(t, err, "SCIM_BRIDGE_INTENT_RETENTION: must be at least 1h")
	require.ErrorContains(t, err, "SCIM_BRIDGE_AUDIT_RETENTION: must be at least 1h")

	_, err = Load("testdata/conf.good.yaml", env(map[string]string{"SCIM_BRIDGE_INTENT_RETENTION": "a month"}))
	require.ErrorContains(t, err, "SCIM_BRIDGE_INTENT_RETENTION: want a duration")
}
