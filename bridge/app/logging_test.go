package app

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/scim-bridge/scim-bridge/config"
)

func TestExcludingCore(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(config.Log{Format: "json", Level: "debug", ExcludeKeys: []string{"ssn"}}, &buf)
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
	log, err = NewLogger(config.Log{Format: "console", Level: "warn"}, &quiet)
	require.NoError(t, err)
	log.Info("below the level", zap.String("email", "x@example.com"))
	log.Warn("at the level", zap.String("email", "x@example.com"))
	require.NotContains(t, quiet.String(), "below the level")
	require.Contains(t, quiet.String(), "at the level")
	require.NotContains(t, quiet.String(), "x@example.com")
}

// TestConsoleColoursOnlyOnTerminals: --log-format console writes ANSI colour
// codes to a terminal and none to files, pipes or /dev/null.
func TestConsoleColoursOnlyOnTerminals(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), "bridge.log"))
	require.NoError(t, err)
	defer file.Close()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer devNull.Close()
	var buf bytes.Buffer
	for name, out := range map[string]io.Writer{"file": file, "pipe": w, "/dev/null": devNull, "buffer": &buf} {
		require.False(t, IsTerminal(out), name)
	}

	log, err := NewLogger(config.Log{Format: "console", Level: "info"}, file)
	require.NoError(t, err)
	log.Warn("to a file")
	require.NoError(t, file.Sync())
	raw, err := os.ReadFile(file.Name())
	require.NoError(t, err)
	require.Contains(t, string(raw), "WARN\tto a file")
	require.NotContains(t, string(raw), "\x1b[", "no escape sequences in a file")

	master, slave := openPTY(t)
	require.True(t, IsTerminal(slave), "a pseudo-terminal is a terminal")
	log, err = NewLogger(config.Log{Format: "console", Level: "info"}, slave)
	require.NoError(t, err)
	log.Warn("to a terminal")
	got := make([]byte, 4096)
	n, err := master.Read(got)
	require.NoError(t, err)
	require.Contains(t, string(got[:n]), "\x1b[33mWARN\x1b[0m", "the level is coloured on a terminal")
}

// TestCommandLogger: one-shot commands log plain text lines, warnings and
// errors only unless the level is debug, never JSON, and still exclude
// personal-data keys.
func TestCommandLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewCommandLogger(config.Log{Format: "json", Level: "info"}, "report", &buf)
	require.NoError(t, err)
	log.Named("sqlite").Info("store opened", zap.Int("migrations_applied", 2))
	log.Warn("BigCommerce slow", zap.String("reason", "timeout"), zap.Int("attempt", 2), zap.String("email", "x@example.com"))
	log.With(zap.String("run_id", "r1")).Error("read failed", zap.Error(errors.New("boom")))
	require.Equal(t, "scim-bridge report: warn: BigCommerce slow (reason=timeout, attempt=2, email=[excluded])\n"+
		"scim-bridge report: error: read failed (run_id=r1, error=boom)\n", buf.String())

	buf.Reset()
	log, err = NewCommandLogger(config.Log{Level: "debug"}, "reconcile", &buf)
	require.NoError(t, err)
	log.Debug("details")
	require.Equal(t, "scim-bridge reconcile: debug: details\n", buf.String(), "debug asks for everything")
	buf.Reset()
	log, err = NewCommandLogger(config.Log{Level: "error"}, "reconcile", &buf)
	require.NoError(t, err)
	log.Warn("quiet")
	require.Empty(t, buf.String())
}

// TestOneShotCommandsPrintNoJSON: report, reconcile and dead-letters keep
// JSON log lines out of their human output, at the default log level too.
