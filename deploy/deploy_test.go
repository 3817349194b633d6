package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/scim-bridge/scim-bridge/config"
)

// The tests run in deploy/; the repository root is one level up.
const root = ".."

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return raw
}

// --- Kubernetes objects, only the fields the tests look at. ---

type object struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	StringData map[string]string `yaml:"stringData"`
	Spec       yaml.Node         `yaml:"spec"`
}

type deploymentSpec struct {
	Replicas *int `yaml:"replicas"`
	Strategy struct {
		Type string `yaml:"type"`
	} `yaml:"strategy"`
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Template podTemplate `yaml:"template"`
}

type cronJobSpec struct {
	ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
	JobTemplate       struct {
		Spec struct {
			BackoffLimit *int        `yaml:"backoffLimit"`
			Template     podTemplate `yaml:"template"`
		} `yaml:"spec"`
	} `yaml:"jobTemplate"`
}

type podTemplate struct {
	Metadata struct {
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
	} `yaml:"metadata"`
	Spec podSpec `yaml:"spec"`
}

type podSpec struct {
	AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
	EnableServiceLinks           *bool `yaml:"enableServiceLinks"`
	SecurityContext              struct {
		RunAsNonRoot   *bool  `yaml:"runAsNonRoot"`
		RunAsUser      *int64 `yaml:"runAsUser"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
	Volumes    []volume    `yaml:"volumes"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe   *probe `yaml:"livenessProbe"`
	ReadinessProbe  *probe `yaml:"readinessProbe"`
	StartupProbe    *probe `yaml:"startupProbe"`
	SecurityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type volume struct {
	Name                  string         `yaml:"name"`
	EmptyDir              map[string]any `yaml:"emptyDir"`
	PersistentVolumeClaim *struct {
		ClaimName string `yaml:"claimName"`
	} `yaml:"persistentVolumeClaim"`
	Projected *struct {
		Sources []struct {
			Secret *struct {
				Name  string `yaml:"name"`
				Items []struct {
					Key  string `yaml:"key"`
					Path string `yaml:"path"`
				} `yaml:"items"`
			} `yaml:"secret"`
		} `yaml:"sources"`
	} `yaml:"projected"`
}

type serviceSpec struct {
	Selector map[string]string `yaml:"selector"`
	Ports    []struct {
		Name       string `yaml:"name"`
		Port       int    `yaml:"port"`
		TargetPort string `yaml:"targetPort"`
	} `yaml:"ports"`
}

type pdbSpec struct {
	MinAvailable int `yaml:"minAvailable"`
	Selector     struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
}

func decodeObjects(t *testing.T, path string) []object {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, path)))
	var objs []object
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err, path)
		if o.Kind != "" {
			objs = append(objs, o)
		}
	}
	require.NotEmpty(t, objs, "%s holds no Kubernetes objects", path)
	return objs
}

func findObjects(objs []object, kind string) []object {
	var out []object
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func decodeSpec[T any](t *testing.T, o object) T {
	t.Helper()
	var spec T
	require.NoError(t, o.Spec.Decode(&spec), "spec of %s %s", o.Kind, o.Metadata.Name)
	return spec
}

// subset reports whether every label of sel is in labels with the same value.
func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// requireSecurePod checks the chart's secure defaults on a pod.
func requireSecurePod(t *testing.T, where string, pod podSpec) {
	t.Helper()
	sc := pod.SecurityContext
	require.NotNil(t, sc.RunAsNonRoot, where)
	require.True(t, *sc.RunAsNonRoot, "%s: runAsNonRoot", where)
	require.NotNil(t, sc.RunAsUser, where)
	require.EqualValues(t, 65532, *sc.RunAsUser, "%s: runAsUser", where)
	require.Equal(t, "RuntimeDefault", sc.SeccompProfile.Type, "%s: seccompProfile", where)
	require.NotNil(t, pod.AutomountServiceAccountToken, "%s: automountServiceAccountToken must be set", where)
	require.False(t, *pod.AutomountServiceAccountToken, "%s: the bridge never calls the Kubernetes API", where)
	require.NotNil(t, pod.EnableServiceLinks, "%s: enableServiceLinks must be set", where)
	require.False(t, *pod.EnableServiceLinks, "%s: service links would inject SCIM_BRIDGE_* variables", where)
	require.NotEmpty(t, pod.Containers, where)
	emptyDirs := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.EmptyDir != nil {
			emptyDirs[v.Name] = true
		}
	}
	for _, c := range pod.Containers {
		csc := c.SecurityContext
		require.NotNil(t, csc.ReadOnlyRootFilesystem, "%s/%s", where, c.Name)
		require.True(t, *csc.ReadOnlyRootFilesystem, "%s/%s: readOnlyRootFilesystem", where, c.Name)
		require.NotNil(t, csc.AllowPrivilegeEscalation, "%s/%s", where, c.Name)
		require.False(t, *csc.AllowPrivilegeEscalation, "%s/%s: allowPrivilegeEscalation", where, c.Name)
		require.Equal(t, []string{"ALL"}, csc.Capabilities.Drop, "%s/%s: capabilities.drop", where, c.Name)
		tmp := false
		for _, m := range c.VolumeMounts {
			if m.MountPath == "/tmp" {
				tmp = emptyDirs[m.Name]
			}
		}
		require.True(t, tmp, "%s/%s: /tmp must be an emptyDir (the root file system is read-only)", where, c.Name)
	}
}

// configFiles maps each file path the pod can read under the config mount
// (/etc/scim-bridge/...) to the Secret key it comes from.
func configFiles(t *testing.T, where string, pod podSpec, c container) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.Projected == nil {
				continue
			}
			require.True(t, m.ReadOnly, "%s: %s must be mounted read-only", where, m.MountPath)
			for _, s := range v.Projected.Sources {
				require.NotNil(t, s.Secret, "%s: the config volume holds Secrets only", where)
				for _, it := range s.Secret.Items {
					files[m.MountPath+"/"+it.Path] = s.Secret.Name + "/" + it.Key
				}
			}
		}
	}
	return files
}

// placeholderSecrets are the contents written for secrets given by file when
// the configuration is loaded in a test: plausible values of the right form.
var placeholderSecrets = map[string]string{
	"bigcommerce-token": "test-bigcommerce-token\n",
	"scim-tokens":       "# rotation: old and new\nsha256:" + strings.Repeat("ab", 32) + "\nsha256:" + strings.Repeat("cd", 32) + "\n",
	"database-url":      "postgres://scim_bridge:secret@postgres.example.internal:5432/scim_bridge?sslmode=verify-full\n",
}

var configPathRE = regexp.MustCompile(`/etc/scim-bridge/[A-Za-z0-9_./-]+`)

// loadMountedConfig loads config.yaml as the pod would see it: every file it
// names must be provided by the pod's config volume; those files are replaced
// by placeholders in a temporary directory, then the configuration is loaded,
// resolved and validated.
func loadMountedConfig(t *testing.T, where, configYAML string, files map[string]string) config.Config {
	t.Helper()
	dir := t.TempDir()
	for _, p := range configPathRE.FindAllString(configYAML, -1) {
		_, ok := files[p]
		require.True(t, ok, "%s: the configuration names %s but no volume provides it (has %v)", where, p, files)
		content, ok := placeholderSecrets[filepath.Base(p)]
		require.True(t, ok, "%s: no placeholder for %s", where, p)
		local := filepath.Join(dir, strings.TrimPrefix(p, "/etc/scim-bridge/"))
		require.NoError(t, os.MkdirAll(filepath.Dir(local), 0o700))
		require.NoError(t, os.WriteFile(local, []byte(content), 0o600))
	}
	path := filepath.Join(dir, "config.yaml")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(configYAML, "/etc/scim-bridge", dir)), 0o600))
	cfg, err := config.Load(path, func(string) string { return "" })
	require.NoError(t, err, "%s: config.yaml does not load", where)
	require.NoError(t, errors.Join(cfg.Resolve(), cfg.Validate()), "%s: config.yaml is not valid", where)
	return cfg
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	require.GreaterOrEqual(t, i, 0, addr)
	p, err := strconv.Atoi(addr[i+1:])
	require.NoError(t, err, addr)
	return p
}

func TestRenderedManifests(t *testing.T) {
	cases := []struct {
		file       string
		replicas   int
		strategy   string
		pdb        bool
		pvc        bool
		databaseIs string
	}{
		{file: "manifests/sqlite.yaml", replicas: 1, strategy: "Recreate", pvc: true, databaseIs: "sqlite:/var/lib/scim-bridge/"},
		{file: "manifests/postgres.yaml", replicas: 2, strategy: "RollingUpdate", pdb: true, databaseIs: "postgres://"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			objs := decodeObjects(t, tc.file)
			for _, o := range objs {
				require.Equal(t, "scim-bridge", o.Metadata.Namespace, "%s %s has no namespace", o.Kind, o.Metadata.Name)
			}
			deps := findObjects(objs, "Deployment")
			require.Len(t, deps, 1)
			dep := decodeSpec[deploymentSpec](t, deps[0])
			require.NotNil(t, dep.Replicas)
			require.Equal(t, tc.replicas, *dep.Replicas)
			require.Equal(t, tc.strategy, dep.Strategy.Type)
			podLabels := dep.Template.Metadata.Labels
			require.True(t, subset(dep.Selector.MatchLabels, podLabels), "the Deployment must select its own pods")
			require.NotEmpty(t, dep.Template.Metadata.Annotations["checksum/config"], "pods roll on configuration changes")

			pod := dep.Template.Spec
			requireSecurePod(t, tc.file, pod)
			require.Len(t, pod.Containers, 1)
			c := pod.Containers[0]
			require.Equal(t, "serve", c.Args[0])
			ports := map[string]int{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			require.Equal(t, map[string]int{"scim": 8080, "telemetry": 9464}, ports)
			for name, pr := range map[string]*probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
				require.NotNil(t, pr, "%s probe", name)
				require.Equal(t, "telemetry", pr.HTTPGet.Port, "%s probe port", name)
			}
			require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
			require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)

			dataMounted := false
			for _, m := range c.VolumeMounts {
				if m.MountPath != "/var/lib/scim-bridge" {
					continue
				}
				for _, v := range pod.Volumes {
					if v.Name == m.Name && v.PersistentVolumeClaim != nil {
						dataMounted = true
					}
				}
			}
			require.Equal(t, tc.pvc, dataMounted, "PVC at /var/lib/scim-bridge")
			require.Len(t, findObjects(objs, "PersistentVolumeClaim"), map[bool]int{true: 1, false: 0}[tc.pvc])

			pdbs := findObjects(objs, "PodDisruptionBudget")
			require.Len(t, pdbs, map[bool]int{true: 1, false: 0}[tc.pdb])
			for _, o := range pdbs {
				pdb := decodeSpec[pdbSpec](t, o)
				require.True(t, subset(pdb.Selector.MatchLabels, podLabels), "the PDB must select the serve pods")
				require.Less(t, pdb.MinAvailable, tc.replicas, "a PDB that allows no disruption blocks node drains")
			}

			svcs := findObjects(objs, "Service")
			require.Len(t, svcs, 1)
			svc := decodeSpec[serviceSpec](t, svcs[0])
			require.True(t, subset(svc.Selector, podLabels), "the Service must select the serve pods")
			for _, p := range svc.Ports {
				_, ok := ports[p.TargetPort]
				require.True(t, ok, "Service port %s targets %q, which the container does not name", p.Name, p.TargetPort)
			}

			var configYAML string
			for _, s := range findObjects(objs, "Secret") {
				if v, ok := s.StringData["config.yaml"]; ok {
					configYAML = v
				}
			}
			require.NotEmpty(t, configYAML, "no Secret holds config.yaml")
			cfg := loadMountedConfig(t, tc.file, configYAML, configFiles(t, tc.file, pod, c))
			require.Equal(t, ports["scim"], portOf(t, cfg.Listen))
			require.Equal(t, ports["telemetry"], portOf(t, cfg.TelemetryListen))
			require.True(t, strings.HasPrefix(cfg.Database.Value(), tc.databaseIs), "database is %s, want %s...", cfg.Database, tc.databaseIs)
			require.True(t, slices.Contains(c.Args, "--config=/etc/scim-bridge/config.yaml"), "args %v", c.Args)
		})
	}
}

// TestReconcileCronJobExample checks deploy/examples/reconcile-cronjob.yaml
// against the chart's PostgreSQL rendering: the same secure defaults, and every
// file serve's configuration names is mounted for the Job too.
func TestReconcileCronJobExample(t *testing.T) {
	objs := decodeObjects(t, "examples/reconcile-cronjob.yaml")
	jobs := findObjects(objs, "CronJob")
	require.Len(t, jobs, 1)
	cj := decodeSpec[cronJobSpec](t, jobs[0])
	require.Equal(t, "Forbid", cj.ConcurrencyPolicy, "two reads of the account at once spend the budget twice")
	require.NotNil(t, cj.JobTemplate.Spec.BackoffLimit)
	require.Zero(t, *cj.JobTemplate.Spec.BackoffLimit)
	pod := cj.JobTemplate.Spec.Template.Spec
	requireSecurePod(t, "reconcile-cronjob", pod)
	c := pod.Containers[0]
	require.Equal(t, "reconcile", c.Args[0])
	require.Contains(t, c.Args, "--config=/etc/scim-bridge/config.yaml")

	serve := findObjects(decodeObjects(t, "manifests/postgres.yaml"), "Secret")
	var configYAML string
	for _, s := range serve {
		if v, ok := s.StringData["config.yaml"]; ok {
			configYAML = v
		}
	}
	require.NotEmpty(t, configYAML)
	loadMountedConfig(t, "reconcile-cronjob", configYAML, configFiles(t, "reconcile-cronjob", pod, c))
}

// --- Metrics the bridge registers. ---

var (
	registeredRE = regexp.MustCompile(`Namespace:\s*"scim_bridge",\s*(?:Subsystem:\s*"(\w+)",\s*)?Name:\s*"(\w+)"`)
	literalRE    = regexp.MustCompile(`"(scim_bridge_\w+)"`)
	queryRE      = regexp.MustCompile(`\bscim_bridge_\w+`)
)

// registeredMetrics returns the scim_bridge_* names the bridge's Go code
// registers (found in the source, tests excluded).
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "deploy" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range registeredRE.FindAllStringSubmatch(string(src), -1) {
			name := "scim_bridge_" + m[2]
			if m[1] != "" {
				name = "scim_bridge_" + m[1] + "_" + m[2]
			}
			names[name] = true
		}
		for _, m := range literalRE.FindAllStringSubmatch(string(src), -1) {
			names[m[1]] = true
		}
		return nil
	})
	require.NoError(t, err)
	require.True(t, names["scim_bridge_leader"] && names["scim_bridge_outbox_pending_operations"],
		"the metric scan found too little (%d names): did the registration style change?", len(names))
	return names
}

// requireKnownMetrics fails when query uses a scim_bridge_* series the bridge
// does not export (histogram series _bucket, _sum and _count included).
func requireKnownMetrics(t *testing.T, known map[string]bool, where, query string) []string {
	t.Helper()
	var used []string
	for _, name := range queryRE.FindAllString(query, -1) {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && known[b] {
				base = b
			}
		}
		require.True(t, known[base], "%s uses %s, which the bridge does not export", where, name)
		used = append(used, base)
	}
	return used
}

// --- Alert rules. ---

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name           string `yaml:"name"`
		AlertRuleTests []struct {
			Alertname string           `yaml:"alertname"`
			ExpAlerts []map[string]any `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func TestAlertRules(t *testing.T) {
	raw := readFile(t, "prometheus/alerts.yaml")
	require.Equal(t, string(raw), string(readFile(t, "helm/scim-bridge/files/alerts.yaml")),
		"the chart's files/alerts.yaml must be a copy of deploy/prometheus/alerts.yaml: run .ci/render-manifests")
	var rf ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&rf))
	require.NotEmpty(t, rf.Groups)

	known := registeredMetrics(t)
	alerts := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			name := r.Alert
			require.NotEmpty(t, name, "only alerting rules here")
			require.False(t, alerts[name], "alert %s defined twice", name)
			alerts[name] = true
			require.Regexp(t, `^ScimBridge[A-Z][A-Za-z]+$`, name)
			require.Contains(t, []string{"critical", "warning", "info"}, r.Labels["severity"], "%s severity", name)
			require.NotEmpty(t, r.Annotations["summary"], "%s summary", name)
			require.NotEmpty(t, r.Annotations["description"], "%s description", name)
			require.Equal(t, "https://github.com/scim-bridge/scim-bridge#runbook-"+strings.ToLower(name), r.Annotations["runbook_url"], "%s runbook_url", name)
			_, err := time.ParseDuration(r.For)
			require.NoError(t, err, "%s for", name)
			used := requireKnownMetrics(t, known, name, r.Expr)
			require.NotEmpty(t, used, "%s queries no scim_bridge metric", name)
		}
	}
	for _, want := range []string{
		"ScimBridgeDown", "ScimBridgeNoLeader", "ScimBridgeBudgetExhausted", "ScimBridgeOutboxBacklog",
		"ScimBridgeRemovalsDelayed", "ScimBridgeDeadLetters", "ScimBridgeDeliveryStalled", "ScimBridgeReconcileFailing",
		"ScimBridgeReconcileStale", "ScimBridgeDriftFound", "ScimBridgeSCIMErrors", "ScimBridgeSingleMutationMode",
		"ScimBridgeDeprovisionSLOBreached",
	} {
		require.True(t, alerts[want], "alert %s is missing", want)
	}

	// Every alert has a promtool unit test in which it fires.
	var rt ruleTests
	require.NoError(t, yaml.Unmarshal(readFile(t, "prometheus/alerts_test.yaml"), &rt))
	require.Equal(t, []string{"alerts.yaml"}, rt.RuleFiles)
	fires := map[string]bool{}
	for _, tc := range rt.Tests {
		for _, a := range tc.AlertRuleTests {
			require.True(t, alerts[a.Alertname], "test %q names unknown alert %s", tc.Name, a.Alertname)
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			}
		}
	}
	for name := range alerts {
		require.True(t, fires[name], "alerts_test.yaml has no test in which %s fires", name)
	}
}

// --- Grafana dashboard. ---

type dashboardPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string `json:"expr"`
		RefID      string `json:"refId"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []dashboardPanel `json:"panels"`
}

func TestDashboard(t *testing.T) {
	var d struct {
		UID           string           `json:"uid"`
		Title         string           `json:"title"`
		SchemaVersion int              `json:"schemaVersion"`
		Panels        []dashboardPanel `json:"panels"`
		Templating    struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	raw := readFile(t, "grafana/scim-bridge-dashboard.json")
	require.True(t, json.Valid(raw), "the dashboard is not valid JSON")
	require.NoError(t, json.Unmarshal(raw, &d))
	require.Equal(t, "scim-bridge", d.UID)
	require.NotEmpty(t, d.Title)
	require.GreaterOrEqual(t, d.SchemaVersion, 36, "datasource references by uid need schema 36+")

	hasDatasourceVar := false
	for _, v := range d.Templating.List {
		if v.Name == "datasource" {
			require.Equal(t, "datasource", v.Type)
			require.Equal(t, "prometheus", v.Query)
			hasDatasourceVar = true
		}
	}
	require.True(t, hasDatasourceVar, "the data source must be a variable, so the dashboard imports anywhere")

	known := registeredMetrics(t)
	used := map[string]bool{}
	ids := map[int]bool{}
	var walk func(ps []dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			require.False(t, ids[p.ID], "panel id %d used twice", p.ID)
			ids[p.ID] = true
			require.Positive(t, p.GridPos.W, "panel %q width", p.Title)
			require.LessOrEqual(t, p.GridPos.X+p.GridPos.W, 24, "panel %q is wider than the grid", p.Title)
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			require.NotNil(t, p.Datasource, "panel %q has no data source", p.Title)
			require.Equal(t, "${datasource}", p.Datasource.UID, "panel %q must use the datasource variable", p.Title)
			require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
			for _, tg := range p.Targets {
				require.NotEmpty(t, tg.Expr, "panel %q", p.Title)
				if tg.Datasource != nil {
					require.Equal(t, "${datasource}", tg.Datasource.UID, "panel %q", p.Title)
				}
				for _, m := range requireKnownMetrics(t, known, "panel "+strconv.Quote(p.Title), tg.Expr) {
					used[m] = true
				}
			}
		}
	}
	walk(d.Panels)
	for _, want := range []string{
		"scim_bridge_scim_requests_total", "scim_bridge_scim_request_duration_seconds",
		"scim_bridge_outbox_pending_operations", "scim_bridge_outbox_oldest_pending_age_seconds",
		"scim_bridge_downstream_requests_total", "scim_bridge_downstream_operations_total",
		"scim_bridge_downstream_operations_per_request", "scim_bridge_budget_available_requests",
		"scim_bridge_budget_capacity_requests", "scim_bridge_budget_seconds_until_next_request",
		"scim_bridge_dead_letters", "scim_bridge_leader", "scim_bridge_reconcile_drift",
		"scim_bridge_reconcile_last_success_timestamp_seconds", "scim_bridge_reconcile_duration_seconds",
		"scim_bridge_delivery_single_mutation_mode",
	} {
		require.True(t, used[want], "the dashboard shows nothing of %s", want)
	}
}

// --- Docker Compose. ---

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		DependsOn   yaml.Node         `yaml:"depends_on"`
		Healthcheck *struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
	} `yaml:"services"`
}

func flagValue(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

func TestCompose(t *testing.T) {
	var cf composeFile
	require.NoError(t, yaml.Unmarshal(readFile(t, "compose/docker-compose.yaml"), &cf))
	for _, name := range []string{"postgres", "simulator", "bridge"} {
		require.Contains(t, cf.Services, name)
	}
	sim, bridge, pg := cf.Services["simulator"], cf.Services["bridge"], cf.Services["postgres"]

	require.NotNil(t, sim.Build)
	_, err := os.Stat(filepath.Join("compose", sim.Build.Context, sim.Build.Dockerfile))
	require.NoError(t, err, "the simulator's build context must hold the Dockerfile")
	require.Equal(t, sim.Image, bridge.Image, "bridge and simulator run the image built once")
	require.Equal(t, "simulate", sim.Command[0])
	require.Equal(t, "0.0.0.0:8090", flagValue(sim.Command, "listen"))
	require.Equal(t, []string{"serve"}, bridge.Command)

	var environ []string
	for k, v := range bridge.Environment {
		environ = append(environ, k+"="+v)
	}
	require.Empty(t, config.CheckEnvironment(environ), "every variable is one the bridge reads")
	cfg, err := config.LoadEnviron("", environ)
	require.NoError(t, err)
	require.NoError(t, errors.Join(cfg.Resolve(), cfg.Validate()), "the bridge's environment is not a valid configuration")

	api, err := url.Parse(cfg.BigCommerce.APIURL)
	require.NoError(t, err)
	require.Equal(t, "simulator:8090", api.Host, "the bridge must talk to the simulator")
	require.Equal(t, flagValue(sim.Command, "account-uuid"), cfg.BigCommerce.AccountUUID)
	require.Equal(t, flagValue(sim.Command, "token"), cfg.BigCommerce.Token.Value())

	db, err := url.Parse(cfg.Database.Value())
	require.NoError(t, err)
	require.Equal(t, "postgres", db.Scheme)
	require.Equal(t, "postgres:5432", db.Host)
	pw, _ := db.User.Password()
	require.Equal(t, pg.Environment["POSTGRES_USER"], db.User.Username())
	require.Equal(t, pg.Environment["POSTGRES_PASSWORD"], pw)
	require.Equal(t, "/"+pg.Environment["POSTGRES_DB"], db.Path)

	require.NotNil(t, pg.Healthcheck)
	require.Contains(t, pg.Healthcheck.Test, "pg_isready")
	var deps map[string]struct {
		Condition string `yaml:"condition"`
	}
	require.NoError(t, bridge.DependsOn.Decode(&deps))
	require.Equal(t, "service_healthy", deps["postgres"].Condition)
	require.Equal(t, "service_healthy", deps["simulator"].Condition)

	wantPorts := []string{
		"127.0.0.1:8080:" + strconv.Itoa(portOf(t, cfg.Listen)),
		"127.0.0.1:9464:" + strconv.Itoa(portOf(t, cfg.TelemetryListen)),
	}
	require.Equal(t, wantPorts, bridge.Ports)
	require.NotNil(t, bridge.Healthcheck)
	require.Equal(t, []string{"CMD", "/scim-bridge", "healthcheck"}, bridge.Healthcheck.Test,
		"the health check reads the bridge's own telemetry listener from its environment")
	require.NotNil(t, cf.Services["simulator"].Healthcheck)
}

// --- Dockerfile. ---

// dockerInstructions returns the Dockerfile's instructions, continuation lines
// joined and comments dropped.
func dockerInstructions(t *testing.T) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(readFile(t, filepath.Join(root, "Dockerfile"))))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if l, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(l + " ")
			continue
		}
		cur.WriteString(line)
		out = append(out, cur.String())
		cur.Reset()
	}
	require.NoError(t, sc.Err())
	return out
}

func TestDockerfile(t *testing.T) {
	goVersion := ""
	for _, line := range strings.Split(string(readFile(t, filepath.Join(root, "go.mod"))), "\n") {
		if v, ok := strings.CutPrefix(line, "go "); ok {
			goVersion = strings.TrimSpace(v)
		}
	}
	require.NotEmpty(t, goVersion)

	ins := dockerInstructions(t)
	var froms []string
	index := map[string]int{}
	for i, in := range ins {
		if strings.HasPrefix(in, "FROM ") {
			froms = append(froms, in)
		}
		if _, seen := index[in]; !seen {
			index[in] = i
		}
	}
	require.Len(t, froms, 2, "multi-stage: one build stage, one runtime stage")
	require.Regexp(t, `^FROM --platform=\$BUILDPLATFORM golang:`+regexp.QuoteMeta(goVersion)+`\S* AS build$`, froms[0],
		"the build stage runs on the build platform with the Go of go.mod (%s)", goVersion)
	require.Regexp(t, `^FROM gcr\.io/distroless/static-debian12:nonroot@sha256:[0-9a-f]{64}$`, froms[1],
		"the runtime is distroless static nonroot, pinned by digest")

	before := func(a, b string) {
		ia, oka := index[a]
		ib, okb := index[b]
		require.True(t, oka, "missing %q", a)
		require.True(t, okb, "missing %q", b)
		require.Less(t, ia, ib, "%q must come before %q", a, b)
	}
	before("COPY go.mod go.sum ./", "RUN go mod download")
	before("RUN go mod download", "COPY . .")
	before("ARG TARGETOS", "COPY --from=build /out/scim-bridge /scim-bridge")
	before("ARG TARGETARCH", "COPY --from=build /out/scim-bridge /scim-bridge")

	var build string
	for _, in := range ins {
		if strings.HasPrefix(in, "RUN ") && strings.Contains(in, "go build") {
			build = in
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH", "-trimpath",
		`-ldflags "-s -w -X main.version=$VERSION"`, "./cmd/scim-bridge"} {
		require.Contains(t, build, want)
	}
	for _, want := range []string{
		"USER 65532:65532", "WORKDIR /var/lib/scim-bridge", `VOLUME ["/var/lib/scim-bridge"]`,
		`ENTRYPOINT ["/scim-bridge"]`, `CMD ["serve"]`, "ARG VERSION=dev",
	} {
		require.Contains(t, ins, want)
	}
	def := config.Default()
	require.Contains(t, ins, "EXPOSE "+strconv.Itoa(portOf(t, def.Listen))+" "+strconv.Itoa(portOf(t, def.TelemetryListen)))
	labels := strings.Join(ins, "\n")
	for _, l := range []string{"org.opencontainers.image.source=", "org.opencontainers.image.version=", "org.opencontainers.image.revision="} {
		require.Contains(t, labels, l)
	}

	// Every file the build copies from the context exists and is not excluded
	// by .dockerignore.
	ignored := map[string]bool{}
	for _, line := range strings.Split(string(readFile(t, filepath.Join(root, ".dockerignore"))), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored[strings.TrimPrefix(line, "/")] = true
		}
	}
	for _, in := range ins {
		if !strings.HasPrefix(in, "COPY ") || strings.Contains(in, "--from=") {
			continue
		}
		fields := strings.Fields(in)
		for _, src := range fields[1 : len(fields)-1] {
			if src == "." {
				continue
			}
			_, err := os.Stat(filepath.Join(root, src))
			require.NoError(t, err, "COPY source %s", src)
			require.False(t, ignored[src], ".dockerignore excludes %s, which the Dockerfile copies", src)
		}
	}
	for _, needed := range []string{"go.mod", "go.sum", "cmd", "bridge", "scim", "config"} {
		require.False(t, ignored[needed], ".dockerignore excludes %s, which the build needs", needed)
	}
}
