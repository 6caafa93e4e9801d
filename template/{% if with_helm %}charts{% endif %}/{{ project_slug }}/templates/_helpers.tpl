{{/* Names, labels and shared pod settings of the chart. */}}

{{/* The chart's name, or nameOverride. */}}
{{- define "app.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: fullnameOverride, else release-chart (once if they overlap). */}}
{{- define "app.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* chart-version, as the helm.sh/chart label wants it. */}}
{{- define "app.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels every object carries. */}}
{{- define "app.labels" -}}
helm.sh/chart: {{ include "app.chart" . }}
{{ include "app.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the service's pods (never change them on upgrade). */}}
{{- define "app.selectorLabels" -}}
app.kubernetes.io/name: {{ include "app.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The service account the pods run as. */}}
{{- define "app.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "app.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository@digest when a digest is set, else repository:tag (tag defaults to appVersion). */}}
{{- define "app.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The training image: trainImage.repository (default <image.repository>-train) by its own
     digest when set, else by trainImage.tag, image.tag, then appVersion. */}}
{{- define "app.trainImage" -}}
{{- $repository := default (printf "%s-train" .Values.image.repository) .Values.trainImage.repository }}
{{- if .Values.trainImage.digest }}
{{- printf "%s@%s" $repository .Values.trainImage.digest }}
{{- else }}
{{- printf "%s:%s" $repository (.Values.trainImage.tag | default .Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/* The service's image: the lean one with its baked ONNX export, or the training image when
     the model comes from the MLflow registry (loading it needs MLflow and scikit-learn). */}}
{{- define "app.serverImage" -}}
{{- if eq .Values.model.source "registry" }}
{{- include "app.trainImage" . }}
{{- else }}
{{- include "app.image" . }}
{{- end }}
{{- end }}

{{/* Pod-level security: the image's fixed non-root user, default seccomp profile. */}}
{{- define "app.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Container-level security: read-only root, no privilege escalation, no capabilities. */}}
{{- define "app.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Environment: the ConfigMap, then the existing Secret named in values (if any). */}}
{{- define "app.envFrom" -}}
- configMapRef:
    name: {{ include "app.fullname" . }}
{{- with .Values.existingSecret }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end }}

{{/* checkov annotations (with reasons) for the checks a setting rules out; `image`: the
     reference the pod runs; `secretEnv`: whether the pod takes the existing Secret as
     environment variables. */}}
{{- define "app.checkovSkips" -}}
{{- $root := .root }}
{{- if not (contains "@" .image) }}
checkov.io/skip1: CKV_K8S_43=Pinned by tag until a digest is set; a build's digest is only known once pushed
{{- end }}
{{- if and .secretEnv $root.Values.existingSecret }}
checkov.io/skip2: CKV_K8S_35=MLflow and boto3 read credentials from environment variables, so the Secret is env
{{- end }}
{{- end }}

{{/* Whether canary.model names a version of the registered model (served from the registry). */}}
{{- define "app.canaryFromRegistry" -}}
{{- if regexMatch "^[0-9]+$" (toString .Values.canary.model) }}true{{ end }}
{{- end }}

{{/* The canary's image: canary.image.repository (default: the stable track's repository, the
     training image's when the canary loads from the registry) by canary.image.digest when set,
     else by canary.image.tag, then the stable track's tag. */}}
{{- define "app.canaryImage" -}}
{{- $registry := or (eq .Values.model.source "registry") (include "app.canaryFromRegistry" .) }}
{{- $stable := include "app.image" . }}
{{- $defaultRepository := .Values.image.repository }}
{{- $defaultTag := default .Chart.AppVersion .Values.image.tag }}
{{- if $registry }}
{{- $defaultRepository = default (printf "%s-train" .Values.image.repository) .Values.trainImage.repository }}
{{- $defaultTag = .Values.trainImage.tag | default .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
{{- $repository := default $defaultRepository .Values.canary.image.repository }}
{{- if .Values.canary.image.digest }}
{{- printf "%s@%s" $repository .Values.canary.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default $defaultTag .Values.canary.image.tag) }}
{{- end }}
{{- end }}

{{/* The canary's model as container env entries, or nothing when it serves the stable track's:
     a version N of the registered model in model.uri (models:/<name>/N), or a directory in
     the canary's image (MODEL_DIR). */}}
{{- define "app.canaryModelEnv" -}}
{{- $model := toString .Values.canary.model }}
{{- if include "app.canaryFromRegistry" . }}
- name: MODEL_DIR
  value: ""
- name: MODEL_URI
  value: {{ printf "%s/%s" (regexReplaceAll "[@/][^@/:]*$" .Values.model.uri "") $model | quote }}
{{- else if $model }}
- name: MODEL_DIR
  value: {{ $model | quote }}
{{- end }}
{{- end }}

{{/* Replicas of the canary for `stable` replicas of the stable track (replicaCount, or an
     HPA bound), at least one. Without gatewayRoute the pod ratio is the traffic share: the
     whole number nearest to stable x weight / (100 - weight) (halves up). With it the route
     holds the share and the pods are capacity: that number rounded up. */}}
{{- define "app.canaryReplicas" -}}
{{- $weight := int .root.Values.canary.weight }}
{{- $rest := sub 100 $weight }}
{{- $share := mul (int .stable) $weight }}
{{- if .root.Values.canary.gatewayRoute.enabled }}
{{- max 1 (div (add $share (sub $rest 1)) $rest) }}
{{- else }}
{{- max 1 (div (add (mul 2 $share) $rest) (mul 2 $rest)) }}
{{- end }}
{{- end }}
