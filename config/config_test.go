package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadFileThenEnvironment(t *testing.T) {
	c, err := Load("testdata/valid.yaml", env(map[string]string{
		"SCIM_BRIDGE_LISTEN":             ":9000",
		"SCIM_BRIDGE_BC_MAX_BATCH":       "25",
		"SCIM_BRIDGE_RECONCILE_INTERVAL": "0",
	}))
	require.NoError(t, err)
	require.Equal(t, ":9000", c.Listen, "environment overrides the file")
	require.Equal(t, "sqlite:/tmp/bridge.db", c.Database.Value(), "file overrides the default")
	require.Equal(t, ":9464", c.TelemetryListen, "default kept")
	require.Equal(t, 25, c.BigCommerce.MaxBatch)
	require.Equal(t, time.Duration(0), c.Reconcile.Interval)
	require.Equal(t, "abc123", c.Mapping.Groups["Plant Market Admins"])
	require.NoError(t, c.Validate())
}

func TestLoadRejectsUnknownKeys(t *testing.T) {
	_, err := Load("testdata/unknown-key.yaml", nil)
	require.ErrorContains(t, err, "bigcomerce")
}

func TestLoadReportsBadEnvironmentValues(t *testing.T) {
	_, err := Load("", env(map[string]string{"SCIM_BRIDGE_BC_MAX_BATCH": "many", "SCIM_BRIDGE_RECONCILE_INTERVAL": "soon"}))
	require.ErrorContains(t, err, "SCIM_BRIDGE_BC_MAX_BATCH: want a whole number")
	require.ErrorContains(t, err, "SCIM_BRIDGE_RECONCILE_INTERVAL: want a duration")
}

func TestValidateListsEveryProblem(t *testing.T) {
	c := Default()
	c.Listen = "nope"
	c.BigCommerce.RateLimit = "70 per hour"
	c.Log.Level = "loud"
	err := c.Validate()
	require.Error(t, err)
	for _, want := range []string{"listen:", "scim.tokens:", "bigcommerce.account_uuid:", "bigcommerce.token:", "bigcommerce.rate_limit:", "log.level:"} {
		require.Contains(t, err.Error(), want)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	const token = "super-secret-value-123"
	c := Default()
	c.BigCommerce.Token = Secret(token)
	c.SCIM.Tokens = []Secret{Secret(token)}
	y, err := yaml.Marshal(c)
	require.NoError(t, err)
	j, err := json.Marshal(c)
	require.NoError(t, err)
	for _, rendered := range []string{string(y), string(j), fmt.Sprintf("%v %+v %#v %s", c, c, c, c.BigCommerce.Token)} {
		require.NotContains(t, rendered, token)
		require.Contains(t, rendered, "secret")
	}
	require.Equal(t, token, c.BigCommerce.Token.Value())
}

func TestParseRateLimit(t *testing.T) {
	r, err := ParseRateLimit("70/1h")
	require.NoError(t, err)
	require.Equal(t, RateLimit{N: 70, Window: time.Hour}, r)
	for _, bad := range []string{"70", "0/1h", "x/1h", "70/soon", "70/-1h"} {
		_, err := ParseRateLimit(bad)
		require.Error(t, err, bad)
	}
	require.True(t, strings.HasPrefix(RateLimit{N: 5, Window: time.Minute}.String(), "5/1m"))
}
