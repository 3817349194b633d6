// Package deploy holds no code the bridge runs: it is the home of the
// deployment files (the Helm chart in helm/scim-bridge, the manifests rendered
// from it, the Docker Compose file, the Grafana dashboard and the Prometheus
// alert rules) and of the tests that keep them consistent with the bridge:
// that the configuration the chart renders loads and validates, that the pods
// run with the secure defaults, that every metric the alerts and the dashboard
// query is one the bridge exports, that the Compose file's environment is
// valid, that the Dockerfile builds what CI builds, and that the example
// configuration in examples/ sets every key of the schema and validates.
//
// The manifests are rendered by .ci/render-manifests and checked against a
// fresh render by .ci/check-deploy, which also runs helm lint and promtool;
// .ci/check-live-metrics runs the dashboard's queries and the alert rules in a
// real Prometheus scraping a running bridge. The tests here need none of these
// tools and run with "go test ./...".
package deploy
