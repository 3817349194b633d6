package sqlite_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/scim-bridge/scim-bridge/bridge/store"
	"github.com/scim-bridge/scim-bridge/bridge/store/sqlite"
)

// BenchmarkUpdateConcurrent measures write throughput when 1, 8 and 32
// goroutines each run Updates that append one audit event (the smallest write
// a SCIM request makes). writes/s counts committed Updates per second of wall
// time; with synchronous=FULL each commit is one fsync of the WAL.
func BenchmarkUpdateConcurrent(b *testing.B) {
	for _, g := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("goroutines=%d", g), func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), nil)
			require.NoError(b, err)
			b.Cleanup(func() { require.NoError(b, s.Close()) })
			var next atomic.Int64
			b.ResetTimer()
			start := time.Now()
			done := make(chan error, g)
			for w := range g {
				go func() {
					var err error
					for next.Add(1) <= int64(b.N) {
						if err = s.Update(b.Context(), func(tx store.Tx) error {
							return tx.AppendAudit(b.Context(), store.AuditEvent{
								Actor: "bench", Action: "bench.write", ResourceID: strconv.Itoa(w),
							})
						}); err != nil {
							break
						}
					}
					done <- err
				}()
			}
			for range g {
				require.NoError(b, <-done)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
		})
	}
}
