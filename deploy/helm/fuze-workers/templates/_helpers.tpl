{{/* fuze-workers chart helpers: names, labels, the image, the secret KEDA reads, the start-up invariants. */}}

{{- define "fuze-workers.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name; Deployments append "-<set>" (set names are at most 20 characters). */}}
{{- define "fuze-workers.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "fuze-workers.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "fuze-workers.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fuze-workers.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "fuze-workers.labels" -}}
helm.sh/chart: {{ include "fuze-workers.chart" . }}
{{ include "fuze-workers.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: fuze-workers
{{- end }}

{{/* Selector labels of one processor set: (dict "root" $ "set" $name). */}}
{{- define "fuze-workers.setSelectorLabels" -}}
{{ include "fuze-workers.selectorLabels" .root }}
app.kubernetes.io/component: {{ .set }}
{{- end }}

{{- define "fuze-workers.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fuze-workers.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "fuze-workers.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The secret holding REDIS_PASSWORD for KEDA: keda.redis.auth.secretName, the chart's Secret, or the first envFrom secretRef. */}}
{{- define "fuze-workers.redisAuthSecret" -}}
{{- $refs := list }}
{{- range .Values.envFrom }}
{{- if .secretRef }}
{{- $refs = append $refs .secretRef }}
{{- end }}
{{- end }}
{{- if .Values.keda.redis.auth.secretName }}
{{- .Values.keda.redis.auth.secretName }}
{{- else if .Values.secret.create }}
{{- include "fuze-workers.fullname" . }}-secrets
{{- else if $refs }}
{{- first $refs }}
{{- else }}
{{- fail "keda.redis.auth.enabled needs a secret: set keda.redis.auth.secretName, secret.create, or an envFrom secretRef" }}
{{- end }}
{{- end }}

{{/*
The Redis stream of one partition, as src/streams/keys.ts builds it (README "Event wire format"):
{<QUEUE_PREFIX>:<domain>:<partition>}:events. (dict "prefix" $prefix "domain" $domain "partition" $i)
*/}}
{{- define "fuze-workers.partitionStream" -}}
{{- printf "{%s:%s:%d}:events" .prefix .domain .partition }}
{{- end }}

{{/*
What the schema cannot check: Kubernetes must not SIGKILL a pod before the worker's own shutdown deadline
(SHUTDOWN_GRACE_MS of every set, plus the 5 s STOP_MARGIN_MS of src/main.ts), and KEDA's min must not exceed max.
*/}}
{{- define "fuze-workers.checkInvariants" -}}
{{- $stopMarginMs := 5000 }}
{{- $graceSeconds := int .Values.terminationGracePeriodSeconds }}
{{- range $name, $set := .Values.processorSets }}
{{- $shutdownMs := int (index (default (dict) $set.env) "SHUTDOWN_GRACE_MS" | default $.Values.config.SHUTDOWN_GRACE_MS) }}
{{- if le (mul $graceSeconds 1000) (add $shutdownMs $stopMarginMs) }}
{{- fail (printf "terminationGracePeriodSeconds=%d is not above SHUTDOWN_GRACE_MS=%d + %d ms shutdown margin (processor set %s)" $graceSeconds $shutdownMs $stopMarginMs $name) }}
{{- end }}
{{- $keda := default (dict) $set.keda }}
{{- if and $keda.enabled (gt (int $keda.minReplicaCount) (int $keda.maxReplicaCount)) }}
{{- fail (printf "processorSets.%s.keda: minReplicaCount is above maxReplicaCount" $name) }}
{{- end }}
{{- end }}
{{- end }}
