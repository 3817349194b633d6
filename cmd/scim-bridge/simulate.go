package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scim-bridge/scim-bridge/bridge/downstream/simulator"
	"github.com/scim-bridge/scim-bridge/config"
)

// simulateShutdownTimeout bounds how long "simulate" waits for in-flight
// requests (which may be sleeping in --latency or --hold-response) when it is
// asked to stop; connections still open after it are closed.
const simulateShutdownTimeout = 5 * time.Second

// simulateConfig is the parsed command line of "scim-bridge simulate".
type simulateConfig struct {
	listen        string
	opts          simulator.Options
	rateLimitText string
	seedPath      string
	failRate      float64
	failStatus    int
	latency       time.Duration
}

// profileSummary is the banner's one-line description of each profile.
func profileSummary(profile string) string {
	if profile == simulator.ProfileDocumented {
		return "only what BigCommerce documents, the pessimistic choice where it is silent"
	}
	return "the generous reconstruction"
}

// runSimulate runs the BigCommerce Account API simulator until ctx is cancelled.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, code, ok := parseSimulateFlags(args, stderr)
	if !ok {
		return code
	}
	if cfg.seedPath != "" {
		seed, err := loadSeedFile(cfg.seedPath)
		if err != nil {
			fmt.Fprintf(stderr, "scim-bridge simulate: %v\nFix the seed file (format: see \"scim-bridge simulate -h\") or leave out --seed for the default account.\n", err)
			return exitError
		}
		cfg.opts.Seed = seed
	}
	sim, err := simulator.New(cfg.opts)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge simulate: %v\n", err)
		return exitUsage
	}
	sim.SetFailRate(cfg.failRate, cfg.failStatus)
	sim.SetLatency(cfg.latency)

	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		fmt.Fprintf(stderr, "scim-bridge simulate: listen on %s: %v\nChoose another address with --listen (127.0.0.1:0 picks a free port).\n", cfg.listen, err)
		return exitError
	}
	srv := &http.Server{
		Handler:           sim,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	base := "http://" + ln.Addr().String()
	printSimulateBanner(stdout, cfg, sim, base)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		fmt.Fprintf(stderr, "scim-bridge simulate: serve: %v\n", err)
		return exitError
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), simulateShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		fmt.Fprintf(stderr, "scim-bridge simulate: shutdown: %v\n", err)
		return exitError
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "scim-bridge simulate: serve: %v\n", err)
		return exitError
	}
	fmt.Fprintln(stdout, "simulator stopped")
	return exitOK
}

// parseSimulateFlags parses and validates the flags. When ok is false the
// caller exits with code (a usage error, or 0 after -h).
// simulateUsage is the help text of simulate, before its flags.
const simulateUsage = `Usage: scim-bridge simulate [flags]

Runs an in-memory reconstruction of BigCommerce's Account-level GraphQL API
(POST /accounts/{uuid}/graphql, header X-Auth-Token) plus the test endpoint
GET /_simulator/stats. Everything is lost when it stops.

Profiles (--profile):
  full        the default: the generous reconstruction (backward paging, pages
              up to 100, node on stores, error codes, several mutations per
              document)
  documented  only what BigCommerce documents, the pessimistic choice where it
              is silent: one mutation per document, first/after paging of at
              most 50, no node on stores, errors without codes, some 429s and
              5xx without rate-limit headers

Seed file (JSON, unknown keys are errors):
  {"account":{"uuid":"…","name":"…"},
   "stores":[{"hash":"abc123","name":"Plant Market","defaultPermissions":["…"]}],
   "users":[{"email":"…","firstName":"…","lastName":"…","stores":["abc123"],
             "owner":false,"locale":"en-US","permissions":["…"],"status":"ACTIVE",
             "lastLoginAt":"2024-01-01T00:00:00Z"}],
   "apps":[{"name":"…","stores":["abc123"]}]}

Flags (-name and --name both work):
`

func parseSimulateFlags(args []string, stderr io.Writer) (cfg simulateConfig, code int, ok bool) {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), simulateUsage)
		fs.PrintDefaults()
	}
	cfg.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, exitOK, false
		}
		fmt.Fprintln(stderr, `Run "scim-bridge simulate -h" for the flags.`)
		return cfg, exitUsage, false
	}
	if problems := cfg.check(fs); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(stderr, "scim-bridge simulate: %s\n", p)
		}
		fmt.Fprintln(stderr, `Run "scim-bridge simulate -h" for the flags.`)
		return cfg, exitUsage, false
	}
	return cfg, exitOK, true
}

// register defines simulate's flags on fs, into c.
func (c *simulateConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8090", "`address` to listen on (host:port; port 0 picks a free one)")
	fs.StringVar(&c.opts.AccountUUID, "account-uuid", "", "account `UUID` in the URL path (default: the seed's, else "+simulator.DefaultAccountUUID+")")
	fs.StringVar(&c.opts.Token, "token", simulator.DefaultToken, "access `token` clients send in X-Auth-Token (full scope)")
	fs.StringVar(&c.rateLimitText, "rate-limit", "70/1h", "rate limit as `N/DURATION`, e.g. 70/1h or 5/1m")
	fs.StringVar(&c.seedPath, "seed", "", "seed `file` (JSON, format above; default: the built-in account)")
	fs.Float64Var(&c.failRate, "fail-rate", 0, "share of requests answered with --fail-status, from 0 to 1")
	fs.IntVar(&c.failStatus, "fail-status", http.StatusInternalServerError, "HTTP `status` (5xx) for --fail-rate failures")
	fs.DurationVar(&c.latency, "latency", 0, "delay added to every GraphQL request, e.g. 200ms")
	fs.IntVar(&c.opts.MaxComplexity, "max-complexity", simulator.DefaultMaxComplexity, "refuse documents whose complexity score is higher")
	fs.IntVar(&c.opts.MaxMutations, "max-mutations", 0, "refuse documents with more mutation fields; 0 = no limit beyond complexity (1 emulates a one-mutation-per-request API)")
	fs.IntVar(&c.opts.MaxPageSize, "max-page-size", 0, fmt.Sprintf("largest page a connection returns (default %d in the full profile, where larger first/last are clamped; %d in the documented profile, where a larger first is refused)",
		simulator.DefaultMaxPageSize, simulator.DocumentedMaxPageSize))
	fs.StringVar(&c.opts.Profile, "profile", simulator.ProfileFull, "simulator `profile`: "+strings.Join(simulator.Profiles(), " or ")+" (see above)")
	fs.DurationVar(&c.opts.HoldResponse, "hold-response", 0, "apply each GraphQL request, then wait this `duration` before answering, e.g. 30s (a response lost after BigCommerce applied it)")
}

// check completes c from the parsed flags of fs (the rate limit) and
// returns every problem with them, in flag order.
func (c *simulateConfig) check(fs *flag.FlagSet) []string {
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Sprintf("unexpected argument %q: simulate takes only flags", fs.Arg(0)))
	}
	n, window, err := parseRateLimit(c.rateLimitText)
	if err != nil {
		problems = append(problems, err.Error())
	}
	c.opts.RateLimit, c.opts.RateWindow = n, window
	if c.failRate < 0 || c.failRate > 1 {
		problems = append(problems, fmt.Sprintf("--fail-rate %v is outside 0..1 (0.1 fails one request in ten)", c.failRate))
	}
	if c.failStatus < 500 || c.failStatus > 599 {
		problems = append(problems, fmt.Sprintf("--fail-status %d is not a 5xx status (try 500, 502 or 503)", c.failStatus))
	}
	if c.latency < 0 {
		problems = append(problems, fmt.Sprintf("--latency %v is negative", c.latency))
	}
	if c.opts.MaxComplexity <= 0 {
		problems = append(problems, fmt.Sprintf("--max-complexity %d must be positive (BigCommerce's limit is 10000)", c.opts.MaxComplexity))
	}
	if c.opts.MaxMutations < 0 {
		problems = append(problems, fmt.Sprintf("--max-mutations %d must be 0 (no limit) or positive", c.opts.MaxMutations))
	}
	pageSizeSet := false
	fs.Visit(func(f *flag.Flag) { pageSizeSet = pageSizeSet || f.Name == "max-page-size" })
	if pageSizeSet && c.opts.MaxPageSize <= 0 {
		problems = append(problems, fmt.Sprintf("--max-page-size %d must be positive", c.opts.MaxPageSize))
	}
	if !slices.Contains(simulator.Profiles(), c.opts.Profile) {
		problems = append(problems, fmt.Sprintf("--profile %q is not a profile; choose one of: %s", c.opts.Profile, strings.Join(simulator.Profiles(), ", ")))
	}
	if c.opts.HoldResponse < 0 {
		problems = append(problems, fmt.Sprintf("--hold-response %v is negative", c.opts.HoldResponse))
	}
	if c.opts.Token == "" {
		problems = append(problems, "--token must not be empty")
	}
	return problems
}

// parseRateLimit parses N/DURATION ("70/1h", "5/1m"; a bare unit such as
// "70/h" means one of it).
func parseRateLimit(s string) (int, time.Duration, error) {
	bad := func(why string) error {
		return fmt.Errorf("--rate-limit %q: %s; want N/DURATION such as 70/1h or 5/1m", s, why)
	}
	ns, ds, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, bad("missing \"/\"")
	}
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil || n <= 0 {
		return 0, 0, bad("N must be a positive whole number")
	}
	ds = strings.TrimSpace(ds)
	d, err := time.ParseDuration(ds)
	if err != nil && ds != "" && (ds[0] < '0' || ds[0] > '9') {
		d, err = time.ParseDuration("1" + ds)
	}
	if err != nil {
		return 0, 0, bad("DURATION must be a Go duration such as 1h, 30m or 90s")
	}
	if d <= 0 {
		return 0, 0, bad("DURATION must be positive")
	}
	if d < time.Millisecond {
		return 0, 0, bad("DURATION must be at least 1ms")
	}
	return n, d, nil
}

func loadSeedFile(path string) (*simulator.Seed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open seed: %w", err)
	}
	defer f.Close()
	seed, err := simulator.LoadSeed(f)
	if err != nil {
		return nil, fmt.Errorf("seed file %s: %w", path, err)
	}
	return seed, nil
}

func printSimulateBanner(w io.Writer, cfg simulateConfig, sim *simulator.Server, base string) {
	maxMutations := "no limit beyond complexity"
	switch {
	case sim.Profile() == simulator.ProfileDocumented:
		maxMutations = "1 per document (documented profile)"
	case cfg.opts.MaxMutations > 0:
		maxMutations = strconv.Itoa(cfg.opts.MaxMutations) + " per document"
	}
	fmt.Fprintln(w, "BigCommerce Account-level GraphQL API simulator (a reconstruction, not BigCommerce)")
	fmt.Fprintf(w, "Profile:        %s (%s)\n", sim.Profile(), profileSummary(sim.Profile()))
	fmt.Fprintf(w, "GraphQL URL:    %s\n", sim.URL(base))
	fmt.Fprintf(w, "Account UUID:   %s\n", sim.AccountUUID())
	fmt.Fprintf(w, "Token:          %s (send it in X-Auth-Token)\n", cfg.opts.Token)
	fmt.Fprintf(w, "Rate limit:     %d requests per %v (%s)\n", cfg.opts.RateLimit, cfg.opts.RateWindow, cfg.rateLimitText)
	fmt.Fprintf(w, "Max complexity: %d\n", sim.MaxComplexity())
	fmt.Fprintf(w, "Max mutations:  %s\n", maxMutations)
	fmt.Fprintf(w, "Max page size:  %d\n", sim.MaxPageSize())
	fmt.Fprintf(w, "Faults:         fail rate %v (status %d), latency %v, hold response %v\n", cfg.failRate, cfg.failStatus, cfg.latency, cfg.opts.HoldResponse)
	fmt.Fprintf(w, "Stats:          %s%s\n", base, simulator.StatsPath)
	fmt.Fprintf(w, "Try:            curl -s -H 'X-Auth-Token: %s' -d '{\"query\":\"{ account { id accountInfo { name } } }\"}' %s\n",
		cfg.opts.Token, sim.URL(base))
	st := sim.Snapshot()
	fmt.Fprintf(w, "\nStores (%d):\n", len(st.Stores))
	for _, s := range st.Stores {
		fmt.Fprintf(w, "  %-12s %s\n", s.Hash, s.Name)
	}
	fmt.Fprintf(w, "Users already in the account (%d):\n", len(st.Users))
	for _, u := range st.Users {
		fmt.Fprintf(w, "  %-28s %-8s stores: %s\n", u.Email, u.Status, strings.Join(userStores(u), " "))
	}
	fmt.Fprintln(w, "\nPoint the bridge at this simulator with:")
	fmt.Fprintf(w, "  export SCIM_BRIDGE_BC_API_URL=%s\n", base)
	fmt.Fprintf(w, "  export SCIM_BRIDGE_BC_ACCOUNT_UUID=%s\n", sim.AccountUUID())
	fmt.Fprintf(w, "  export SCIM_BRIDGE_BC_TOKEN=%s\n", cfg.opts.Token)
	fmt.Fprintf(w, "  export SCIM_BRIDGE_BC_RATE_LIMIT=%s\n", config.RateLimit{N: cfg.opts.RateLimit, Window: cfg.opts.RateWindow})
}

// userStores returns the hashes of the stores u can reach, sorted.
func userStores(u simulator.User) []string {
	out := make([]string, 0, len(u.Stores))
	for h := range u.Stores {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}
