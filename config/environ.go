package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// EnvPrefix starts the name of every environment variable the bridge reads.
const EnvPrefix = "SCIM_BRIDGE_"

// EnvTestPrefix starts the variables reserved for the project's own test
// suite (SCIM_BRIDGE_TEST_POSTGRES_DSN and others). The bridge never reads
// them as settings and CheckEnvironment does not report them.
const EnvTestPrefix = "SCIM_BRIDGE_TEST_"

// serviceLinkPattern matches the variables Kubernetes injects into a pod for
// every Service of its namespace (enableServiceLinks, on by default): for a
// Service named "scim-bridge" or "scim-bridge-telemetry" they are
// SCIM_BRIDGE_SERVICE_HOST, SCIM_BRIDGE_SERVICE_PORT[_NAME],
// SCIM_BRIDGE_PORT_8080_TCP[_PROTO|_PORT|_ADDR], and SCIM_BRIDGE_PORT itself
// (matched separately, by its tcp:// value, because an operator could mean
// it as a setting).
var serviceLinkPattern = regexp.MustCompile(`^SCIM_BRIDGE(_[A-Z0-9_]+)?_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)$`)

var serviceLinkPortPattern = regexp.MustCompile(`^SCIM_BRIDGE(_[A-Z0-9_]+)?_PORT$`)

// ignoredVariable reports whether the SCIM_BRIDGE_* variable name (with its
// value) is none of the bridge's business: the test suite's own, or a
// Kubernetes service link.
func ignoredVariable(name, value string) bool {
	if strings.HasPrefix(name, EnvTestPrefix) || serviceLinkPattern.MatchString(name) {
		return true
	}
	if serviceLinkPortPattern.MatchString(name) {
		for _, scheme := range []string{"tcp://", "udp://", "sctp://"} {
			if strings.HasPrefix(value, scheme) {
				return true
			}
		}
	}
	return false
}

// CheckEnvironment returns one problem for every variable of environ
// ("NAME=value" strings, as os.Environ returns them) whose name starts with
// SCIM_BRIDGE_ (in any letter case) but is not one the bridge reads, each
// naming the nearest known variable when one is close, and saying so when
// the name is that of a setting that only the configuration file can set.
// Values are never shown. SCIM_BRIDGE_TEST_* and Kubernetes service links are
// not reported (see the package documentation). The problems are sorted by
// name.
func CheckEnvironment(environ []string) []error {
	known := map[string]bool{EnvConfigFile: true}
	for _, e := range Environment() {
		known[e.Name] = true
	}
	var names []string
	seen := map[string]bool{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(strings.ToUpper(name), EnvPrefix) || known[name] || seen[name] {
			continue
		}
		if ignoredVariable(name, value) {
			continue
		}
		seen[name] = true
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		errs = append(errs, fmt.Errorf("%s: %s", name, unknownVariable(name)))
	}
	return errs
}

// unknownVariable explains an unknown SCIM_BRIDGE_* name.
func unknownVariable(name string) string {
	upper := strings.ToUpper(name)
	type candidate struct {
		spelling string // what the operator may have typed
		env      string // the variable to suggest ("" when the file alone sets it)
		key      string
	}
	var cands []candidate
	hasEnv := map[string]bool{}
	for _, e := range Environment() {
		cands = append(cands,
			candidate{e.Name, e.Name, e.Field},
			// The YAML path spelt as a variable: SCIM_BRIDGE_BIGCOMMERCE_TOKEN.
			candidate{EnvPrefix + keyAsVariable(e.Field), e.Name, e.Field})
		hasEnv[e.Field] = true
	}
	cands = append(cands, candidate{EnvConfigFile, EnvConfigFile, ""})
	for _, k := range Keys() {
		if !hasEnv[k] {
			cands = append(cands, candidate{EnvPrefix + keyAsVariable(k), "", k})
		}
	}
	suffix := strings.TrimPrefix(upper, EnvPrefix)
	limit := min(3, max(1, len(suffix)/2))
	best, bestDist := candidate{}, limit+1
	for _, c := range cands {
		if d := editDistance(upper, c.spelling); d < bestDist {
			best, bestDist = c, d
		}
	}
	if bestDist > limit {
		// A known name followed by more words: SCIM_BRIDGE_CONFIG_FILE.
		for _, c := range cands {
			if strings.HasPrefix(upper, c.spelling+"_") && len(c.spelling) > len(best.spelling) {
				best, bestDist = c, 0
			}
		}
	}
	switch {
	case bestDist > limit:
		return `unknown variable: the bridge reads only the SCIM_BRIDGE_* variables "scim-bridge serve -h" lists`
	case best.env == "":
		return fmt.Sprintf("unknown variable: %s has no environment variable; set it in the configuration file (--config)", best.key)
	case best.env == name:
		return "unknown variable" // unreachable: known names are not checked
	default:
		return fmt.Sprintf("unknown variable; did you mean %s?", best.env)
	}
}

// keyAsVariable spells a YAML path the way a variable name would be:
// "bigcommerce.api_url" -> "BIGCOMMERCE_API_URL".
func keyAsVariable(key string) string {
	return strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}
