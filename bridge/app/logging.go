package app

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/scim-bridge/scim-bridge/config"
)

// ExcludedValue replaces the value of an excluded field. The key stays, so a
// field that should never have been logged is visible (and harmless) in the
// output and can be fixed at its source.
const ExcludedValue = "[excluded]"

// defaultExcludedKeys are log field names that would hold personal data or
// credentials: logs carry ids and counts only. No code of the bridge logs
// them on purpose; the excluding core is a safety net against one that does.
var defaultExcludedKeys = []string{
	"email", "emails", "user_name", "display_name", "name", "given_name", "family_name",
	"formatted", "nick_name", "phone", "phone_number", "phone_numbers", "address", "addresses",
	"filter", "query", "raw_query", "url", "path", "body", "payload", "attributes",
	"authorization", "token", "password", "secret", "api_key", "cookie",
}

// normalizeKey folds a field name so that "userName", "user_name" and
// "User-Name" compare equal.
func normalizeKey(k string) string {
	k = strings.ToLower(k)
	return strings.NewReplacer("_", "", "-", "", ".", "", " ", "").Replace(k)
}

// excludingCore wraps a zapcore.Core and replaces the value of every field
// whose name is excluded, in fields added with With and in each entry's own
// fields (top level only: an ObjectMarshaler's own keys are its author's
// responsibility). It is dex's excluding log handler for zap.
type excludingCore struct {
	zapcore.Core
	keys map[string]bool
}

// newExcludingCore returns core with the default excluded keys plus extra.
func newExcludingCore(core zapcore.Core, extra []string) zapcore.Core {
	keys := make(map[string]bool, len(defaultExcludedKeys)+len(extra))
	for _, k := range append(append([]string(nil), defaultExcludedKeys...), extra...) {
		if k = normalizeKey(k); k != "" {
			keys[k] = true
		}
	}
	return &excludingCore{Core: core, keys: keys}
}

func (c *excludingCore) filter(fields []zapcore.Field) []zapcore.Field {
	var out []zapcore.Field
	for i, f := range fields {
		if !c.keys[normalizeKey(f.Key)] {
			if out != nil {
				out = append(out, f)
			}
			continue
		}
		if out == nil {
			out = append(make([]zapcore.Field, 0, len(fields)), fields[:i]...)
		}
		out = append(out, zap.String(f.Key, ExcludedValue))
	}
	if out == nil {
		return fields
	}
	return out
}

// With implements zapcore.Core.
func (c *excludingCore) With(fields []zapcore.Field) zapcore.Core {
	return &excludingCore{Core: c.Core.With(c.filter(fields)), keys: c.keys}
}

// Check implements zapcore.Core: it registers this core (not the wrapped one)
// so that Write filters the entry's fields.
func (c *excludingCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

// Write implements zapcore.Core.
func (c *excludingCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	return c.Core.Write(e, c.filter(fields))
}

// NewCommandLogger is the logger of a one-shot command (report, reconcile,
// dead-letters), whose own output is for a person at a terminal: plain lines
// such as "scim-bridge report: warn: message (reason=http_5xx)" on w, never
// JSON. Informational entries are left out unless the configured level is
// debug; warnings and errors are always shown. It sits behind the same
// key-excluding core as the process logger.
func NewCommandLogger(c config.Log, cmd string, w io.Writer) (*zap.Logger, error) {
	level, err := parseLevel(c.Level)
	if err != nil {
		return nil, err
	}
	if level > zapcore.DebugLevel && level < zapcore.WarnLevel {
		level = zapcore.WarnLevel
	}
	core := &textCore{LevelEnabler: level, prefix: "scim-bridge " + cmd, out: &textSink{w: w}}
	return zap.New(newExcludingCore(core, c.ExcludeKeys)), nil
}

// textCore writes each entry as one line of text: "PREFIX: LEVEL: message
// (key=value, ...)", fields in the order they were given.
type textCore struct {
	zapcore.LevelEnabler
	prefix string
	out    *textSink
	fields []zapcore.Field
}

type textSink struct {
	mu sync.Mutex
	w  io.Writer
}

// With implements zapcore.Core.
func (c *textCore) With(fields []zapcore.Field) zapcore.Core {
	clone := *c
	clone.fields = append(append([]zapcore.Field(nil), c.fields...), fields...)
	return &clone
}

// Check implements zapcore.Core.
func (c *textCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

// Write implements zapcore.Core.
func (c *textCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	var parts []string
	for _, f := range append(append([]zapcore.Field(nil), c.fields...), fields...) {
		enc := zapcore.NewMapObjectEncoder()
		f.AddTo(enc)
		keys := make([]string, 0, len(enc.Fields))
		for k := range enc.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%v", k, enc.Fields[k]))
		}
	}
	line := fmt.Sprintf("%s: %s: %s", c.prefix, e.Level.String(), e.Message)
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	_, err := io.WriteString(c.out.w, line+"\n")
	return err
}

// Sync implements zapcore.Core.
func (c *textCore) Sync() error { return nil }

// NewLogger builds the process logger: JSON (default) or console, to w, behind
// the key-excluding core (logging.go) with c.ExcludeKeys added to its list.
// The console format colours the level only when w is a terminal, so files
// and pipes get no escape sequences.
func NewLogger(c config.Log, w io.Writer) (*zap.Logger, error) {
	level, err := parseLevel(c.Level)
	if err != nil {
		return nil, err
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey = "ts"
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if c.Format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		if IsTerminal(w) {
			encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		}
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	return zap.New(newExcludingCore(zapcore.NewCore(enc, zapcore.AddSync(w), level), c.ExcludeKeys)), nil
}

func parseLevel(s string) (zapcore.Level, error) {
	var level zapcore.Level
	if err := level.UnmarshalText([]byte(s)); err != nil {
		return level, fmt.Errorf("log level %q: %w", s, err)
	}
	return level, nil
}
