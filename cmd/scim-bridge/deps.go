package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge/app"
	"github.com/scim-bridge/scim-bridge/config"
)

// configFlags are the flags every configuration-driven command accepts. Flags
// override the environment, which overrides the file.
type configFlags struct {
	path            string
	listen          string
	telemetryListen string
	database        string
	logFormat       string
	logLevel        string
}

func (f *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "config", "", "YAML configuration `file` (default: $"+config.EnvConfigFile+"; its settings are overridden by SCIM_BRIDGE_* variables and by flags)")
	fs.StringVar(&f.listen, "listen", "", "SCIM listener `address` (SCIM_BRIDGE_LISTEN)")
	fs.StringVar(&f.telemetryListen, "telemetry-listen", "", "telemetry listener `address` (SCIM_BRIDGE_TELEMETRY_LISTEN)")
	fs.StringVar(&f.database, "database", "", "store: sqlite:PATH or postgres://... (SCIM_BRIDGE_DATABASE)")
	fs.StringVar(&f.logFormat, "log-format", "", "json or console (SCIM_BRIDGE_LOG_FORMAT)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (SCIM_BRIDGE_LOG_LEVEL)")
}

// read reads the configuration (file, environment, flags) without resolving
// or validating it. An unreadable file or a YAML syntax error leaves it
// unusable (fatal); problems the loader could skip (unknown keys and
// variables, values of the wrong type, bad flag values) are returned with the
// configuration.
func (f *configFlags) read(environ []string) (cfg config.Config, fatal, problems error) {
	cfg, err := config.LoadEnviron(f.path, environ)
	if err != nil && !errors.Is(err, config.ErrPartial) {
		return cfg, err, nil
	}
	errs := []error{err}
	for _, o := range []struct{ v, key, flag string }{
		{f.listen, "listen", "--listen"}, {f.telemetryListen, "telemetry_listen", "--telemetry-listen"},
		{f.database, "database", "--database"}, {f.logFormat, "log.format", "--log-format"}, {f.logLevel, "log.level", "--log-level"},
	} {
		if o.v != "" {
			errs = append(errs, cfg.Set(o.key, o.v, o.flag))
		}
	}
	return cfg, nil, errors.Join(errs...)
}

// load reads the configuration (file, environment, flags), resolves secrets
// given by file, and validates it, returning every problem at once (one per
// line, each starting with the variable, the flag or the field path that set
// the value).
func (f *configFlags) load(environ []string) (config.Config, error) {
	cfg, fatal, problems := f.read(environ)
	if fatal != nil {
		return cfg, fatal
	}
	return cfg, errors.Join(problems, cfg.Resolve(), cfg.Validate())
}

// configError prints configuration problems one per line with a hint.
func configError(w io.Writer, cmd string, err error) int {
	fmt.Fprintf(w, "scim-bridge %s: the configuration has problems:\n", cmd)
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "  - %s\n", line)
	}
	fmt.Fprintln(w, `Fix them in the file given with --config, in the SCIM_BRIDGE_* environment or in flags; "scim-bridge validate" checks a configuration.`)
	return exitUsage
}

// openDeps loads the configuration and builds the components for a one-shot
// command (reconcile, report, dead-letters), printing what went wrong. On
// failure it returns nil and the exit status the command should return. Its
// logger writes plain text lines for people (see newCommandLogger), never
// JSON: the command's own output is for a terminal.
func openDeps(ctx context.Context, cf *configFlags, cmd string, stderr io.Writer) (*app.Deps, int) {
	cfg, err := cf.load(os.Environ())
	if err != nil {
		return nil, configError(stderr, cmd, err)
	}
	log, err := app.NewCommandLogger(cfg.Log, cmd, stderr)
	if err != nil {
		return nil, configError(stderr, cmd, err)
	}
	d, err := app.Open(ctx, cfg, log, app.Options{Version: version})
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge %s: %v\n", cmd, err)
		return nil, exitError
	}
	return d, exitOK
}
