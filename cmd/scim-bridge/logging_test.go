package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/bridge/downstream"
	"github.com/scim-bridge/scim-bridge/config"
)

func TestExcludingCore(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(config.Log{Format: "json", Level: "debug", ExcludeKeys: []string{"ssn"}}, &buf)
	require.NoError(t, err)
	log = log.With(zap.String("userName", "with@example.com"), zap.String("component", "test"))
	log.Info("entry",
		zap.String("email", "field@example.com"), zap.String("user_name", "u1@example.com"), zap.String("Display-Name", "Ann Example"),
		zap.String("filter", `userName eq "f@example.com"`), zap.String("SSN", "078-05-1120"), zap.Any("body", map[string]string{"a": "b@example.com"}),
		zap.String("token", "secret-token"), zap.String("scim_id", "kept-id"), zap.Int("status", 400))
	log.Debug("debug entry", zap.String("givenName", "Ann"))
	require.NoError(t, log.Sync())
	out := buf.String()
	for _, leaked := range []string{"@example.com", "Ann Example", "078-05-1120", "secret-token", `"Ann"`} {
		require.NotContains(t, out, leaked)
	}
	for _, kept := range []string{`"scim_id":"kept-id"`, `"status":400`, `"component":"test"`, `"email":"[excluded]"`, `"userName":"[excluded]"`, `"SSN":"[excluded]"`} {
		require.Contains(t, out, kept)
	}
	require.Equal(t, 2, strings.Count(out, "\n"), "both entries written")

	var quiet bytes.Buffer
	log, err = newLogger(config.Log{Format: "console", Level: "warn"}, &quiet)
	require.NoError(t, err)
	log.Info("below the level", zap.String("email", "x@example.com"))
	log.Warn("at the level", zap.String("email", "x@example.com"))
	require.NotContains(t, quiet.String(), "below the level")
	require.Contains(t, quiet.String(), "at the level")
	require.NotContains(t, quiet.String(), "x@example.com")
}

func TestDownstreamOutcome(t *testing.T) {
	cases := []struct {
		status int
		reason string
		want   string
	}{
		{200, "", outcomeOK},
		{429, downstream.ReasonRateLimited, outcomeRateLimited},
		{200, downstream.ReasonRateLimited, outcomeRateLimited},
		{503, downstream.ReasonHTTP5xx, outcomeServerError},
		{200, downstream.ReasonServerError, outcomeServerError},
		{401, downstream.ReasonUnauthorized, outcomeClientError},
		{404, downstream.ReasonAccountNotFound, outcomeClientError},
		{200, downstream.ReasonRefused, outcomeClientError},
		{302, downstream.ReasonUnexpectedStatus, outcomeClientError},
		{0, downstream.ReasonConnection, outcomeNoResponse},
		{0, downstream.ReasonTimeout, outcomeNoResponse},
		{200, downstream.ReasonUnreadable, outcomeNoResponse},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, downstreamOutcome(tc.status, tc.reason), "%d %s", tc.status, tc.reason)
	}
	for _, r := range downstream.Reasons() {
		require.Contains(t, downstreamOutcomes, downstreamOutcome(0, r))
		require.Contains(t, downstreamOutcomes, downstreamOutcome(200, r))
	}
}
