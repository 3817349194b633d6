// Package deploy holds no code the bridge runs: it is the home of the
// deployment files (the Helm chart in helm/scim-bridge, the manifests rendered
// from it, the Docker Compose file, the Grafana dashboard and the Prometheus
// alert rules) and of the tests that keep them consistent with the bridge:
// that the configuration the chart renders loads and validates, that the pods
// run with the secure defaults, that every metric the alerts and the dashboard
// query is one the bridge exports, that the Compose file's environment is
// valid, and that the Dockerfile builds what CI builds.
//
// The manifests are rendered by .ci/render-manifests and checked against a
// fresh render by .ci/check-deploy, which also runs helm lint and promtool;
// the tests here need neither tool and run with "go test ./...".
package deploy
