package downstream

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDownstreamOutcome(t *testing.T) {
	cases := []struct {
		status int
		reason string
		want   string
	}{
		{200, "", outcomeOK},
		{429, ReasonRateLimited, outcomeRateLimited},
		{200, ReasonRateLimited, outcomeRateLimited},
		{503, ReasonHTTP5xx, outcomeServerError},
		{200, ReasonServerError, outcomeServerError},
		{401, ReasonUnauthorized, outcomeClientError},
		{404, ReasonAccountNotFound, outcomeClientError},
		{200, ReasonRefused, outcomeClientError},
		{302, ReasonUnexpectedStatus, outcomeClientError},
		{0, ReasonConnection, outcomeNoResponse},
		{0, ReasonTimeout, outcomeNoResponse},
		{200, ReasonUnreadable, outcomeNoResponse},
	}
	for _, tc := range cases {
		require.Equal(t, tc.want, requestOutcome(tc.status, tc.reason), "%d %s", tc.status, tc.reason)
	}
	for _, r := range Reasons() {
		require.Contains(t, requestOutcomes, requestOutcome(0, r))
		require.Contains(t, requestOutcomes, requestOutcome(200, r))
	}
}
