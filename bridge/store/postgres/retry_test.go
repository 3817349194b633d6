package postgres

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The wait between retries stays within (0, backoffMax] for every attempt the
// deadline allows, long after the doubling would overflow.
func TestRetryWaitIsBounded(t *testing.T) {
	for attempt := 1; attempt <= 500; attempt++ {
		for range 20 {
			w := retryWait(attempt)
			require.Positive(t, w, "attempt %d", attempt)
			require.LessOrEqual(t, w, backoffMax, "attempt %d", attempt)
		}
	}
	require.Less(t, retryWait(1), backoffBase+1, "the first wait is at most backoffBase")
}
