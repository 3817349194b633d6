{{/* Chart name. */}}
{{- define "scim-bridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full resource name: the release name, plus the chart name unless it is already in it. */}}
{{- define "scim-bridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object. */}}
{{- define "scim-bridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "scim-bridge.instanceLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels naming this release's objects (the ServiceMonitor selects the Service on them). */}}
{{- define "scim-bridge.instanceLabels" -}}
app.kubernetes.io/name: {{ include "scim-bridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels of the serve pods, which the Deployment, the Service and the PDB select
on. The component keeps the reconcile CronJob's pods out of the Service and the
PDB.
*/}}
{{- define "scim-bridge.selectorLabels" -}}
{{ include "scim-bridge.instanceLabels" . }}
app.kubernetes.io/component: serve
{{- end -}}

{{/* ServiceAccount name. */}}
{{- define "scim-bridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "scim-bridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Image reference: repository:tag, or repository@digest when a digest is set. */}}
{{- define "scim-bridge.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* Replicas: exactly one in sqlite mode (single writer). */}}
{{- define "scim-bridge.replicas" -}}
{{- if eq .Values.mode "sqlite" -}}1{{- else -}}{{ int .Values.replicaCount }}{{- end -}}
{{- end -}}

{{/* Where the bridge finds its configuration and the secrets given by file. */}}
{{- define "scim-bridge.configDir" -}}/etc/scim-bridge{{- end -}}
{{- define "scim-bridge.secretsDir" -}}/etc/scim-bridge/secrets{{- end -}}
{{- define "scim-bridge.tlsDir" -}}/etc/scim-bridge/tls{{- end -}}

{{/*
Checks of the values that would otherwise fail only when the pod starts.
*/}}
{{- define "scim-bridge.validate" -}}
{{- if not (has .Values.mode (list "sqlite" "postgres")) -}}
{{- fail (printf "mode must be \"sqlite\" or \"postgres\", not %q" .Values.mode) -}}
{{- end -}}
{{- if not .Values.bigcommerce.accountUUID -}}
{{- fail "bigcommerce.accountUUID is required (the UUID in the account-level API path)" -}}
{{- end -}}
{{- if and .Values.bigcommerce.existingSecret .Values.bigcommerce.token -}}
{{- fail "set either bigcommerce.existingSecret or bigcommerce.token, not both" -}}
{{- end -}}
{{- if not (or .Values.bigcommerce.existingSecret .Values.bigcommerce.token) -}}
{{- fail "bigcommerce.existingSecret (recommended) or bigcommerce.token is required" -}}
{{- end -}}
{{- if not (or .Values.scim.tokens .Values.scim.existingSecret) -}}
{{- fail "scim.tokens or scim.existingSecret is required: mint a token with \"scim-bridge token\" and list its sha256: form" -}}
{{- end -}}
{{- if eq .Values.mode "postgres" -}}
{{- if and .Values.postgres.existingSecret .Values.postgres.url -}}
{{- fail "set either postgres.existingSecret or postgres.url, not both" -}}
{{- end -}}
{{- if not (or .Values.postgres.existingSecret .Values.postgres.url) -}}
{{- fail "mode postgres needs postgres.existingSecret (recommended) or postgres.url" -}}
{{- end -}}
{{- if lt (int .Values.replicaCount) 1 -}}
{{- fail "replicaCount must be at least 1" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.reconcileCronJob.enabled (eq .Values.mode "sqlite") -}}
{{- fail "reconcileCronJob needs mode postgres: a CronJob pod cannot share the SQLite file (run \"kubectl exec deploy/NAME -- /scim-bridge reconcile --config /etc/scim-bridge/config.yaml --dry-run\" instead)" -}}
{{- end -}}
{{- $owned := list "listen" "telemetry_listen" "database" "database_file" "tls" -}}
{{- range $k := $owned -}}
{{- if hasKey ($.Values.config | default dict) $k -}}
{{- fail (printf "config.%s is set by the chart; use the chart's values (ports, mode, postgres, tlsSecret) instead" $k) -}}
{{- end -}}
{{- end -}}
{{- range $k := list "tokens" "tokens_file" -}}
{{- if hasKey (dig "scim" dict ($.Values.config | default dict)) $k -}}
{{- fail (printf "config.scim.%s is set by the chart; use scim.tokens or scim.existingSecret" $k) -}}
{{- end -}}
{{- end -}}
{{- range $k := list "account_uuid" "token" "token_file" -}}
{{- if hasKey (dig "bigcommerce" dict ($.Values.config | default dict)) $k -}}
{{- fail (printf "config.bigcommerce.%s is set by the chart; use bigcommerce.accountUUID, bigcommerce.existingSecret or bigcommerce.token" $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
The bridge's YAML configuration file: values.config plus the keys the chart
owns (listeners, store, secrets given by file, TLS).
*/}}
{{- define "scim-bridge.config" -}}
{{- include "scim-bridge.validate" . -}}
{{- $c := deepCopy (.Values.config | default dict) -}}
{{- $_ := set $c "listen" (printf ":%d" (int .Values.ports.scim)) -}}
{{- $_ := set $c "telemetry_listen" (printf ":%d" (int .Values.ports.telemetry)) -}}
{{- if eq .Values.mode "sqlite" -}}
{{- $_ := set $c "database" (printf "sqlite:%s" .Values.sqlite.path) -}}
{{- else if .Values.postgres.existingSecret -}}
{{- $_ := set $c "database_file" (printf "%s/database-url" (include "scim-bridge.secretsDir" .)) -}}
{{- else -}}
{{- $_ := set $c "database" .Values.postgres.url -}}
{{- end -}}
{{- $scim := deepCopy (dig "scim" dict $c) -}}
{{- if .Values.scim.tokens -}}
{{- $_ := set $scim "tokens" .Values.scim.tokens -}}
{{- end -}}
{{- if .Values.scim.existingSecret -}}
{{- $_ := set $scim "tokens_file" (printf "%s/scim-tokens" (include "scim-bridge.secretsDir" .)) -}}
{{- end -}}
{{- $_ := set $c "scim" $scim -}}
{{- $bc := deepCopy (dig "bigcommerce" dict $c) -}}
{{- $_ := set $bc "account_uuid" .Values.bigcommerce.accountUUID -}}
{{- if .Values.bigcommerce.existingSecret -}}
{{- $_ := set $bc "token_file" (printf "%s/bigcommerce-token" (include "scim-bridge.secretsDir" .)) -}}
{{- else -}}
{{- $_ := set $bc "token" .Values.bigcommerce.token -}}
{{- end -}}
{{- $_ := set $c "bigcommerce" $bc -}}
{{- if .Values.tlsSecret -}}
{{- $_ := set $c "tls" (dict "cert_file" (printf "%s/tls.crt" (include "scim-bridge.tlsDir" .)) "key_file" (printf "%s/tls.key" (include "scim-bridge.tlsDir" .))) -}}
{{- end -}}
{{- toYaml $c -}}
{{- end -}}

{{/*
Volumes holding the configuration and the secrets given by file, shared by the
Deployment and the CronJob: one projected volume, mounted read-only at
/etc/scim-bridge (config.yaml, secrets/..., tls/...).
*/}}
{{- define "scim-bridge.configVolume" -}}
- name: config
  projected:
    # 0440 with fsGroup 65532: readable by the bridge's group, by nobody else.
    defaultMode: 0440
    sources:
      - secret:
          name: {{ include "scim-bridge.fullname" . }}
          items:
            - key: config.yaml
              path: config.yaml
      {{- if .Values.bigcommerce.existingSecret }}
      - secret:
          name: {{ .Values.bigcommerce.existingSecret }}
          items:
            - key: {{ .Values.bigcommerce.existingSecretKey }}
              path: secrets/bigcommerce-token
      {{- end }}
      {{- if .Values.scim.existingSecret }}
      - secret:
          name: {{ .Values.scim.existingSecret }}
          items:
            - key: {{ .Values.scim.existingSecretKey }}
              path: secrets/scim-tokens
      {{- end }}
      {{- if and (eq .Values.mode "postgres") .Values.postgres.existingSecret }}
      - secret:
          name: {{ .Values.postgres.existingSecret }}
          items:
            - key: {{ .Values.postgres.existingSecretKey }}
              path: secrets/database-url
      {{- end }}
      {{- if .Values.tlsSecret }}
      - secret:
          name: {{ .Values.tlsSecret }}
          items:
            - key: tls.crt
              path: tls/tls.crt
            - key: tls.key
              path: tls/tls.key
      {{- end }}
{{- end -}}

{{/*
GOMEMLIMIT from the container's memory limit (the soft limit the Go garbage
collector works to stay under), shared by the Deployment and the CronJob.
*/}}
{{- define "scim-bridge.goMemLimitEnv" -}}
{{- if .Values.goMemLimitFromResources -}}
- name: GOMEMLIMIT
  valueFrom:
    resourceFieldRef:
      resource: limits.memory
{{- end -}}
{{- end -}}
